/**
 * Crash safety: the real service (a child process) under load from residents walking whole
 * journeys by SMS (signed Twilio webhooks) and by the web chat's JSON API, killed with SIGKILL at
 * random moments, over and over (sometimes while it is still starting), and started again on the
 * same data folder. Residents behave like Twilio with retries on and like Telegram: a message
 * that got no 2xx is sent again, same id, until one does.
 *
 * Then, with the child gone, the store is opened here and checked against what residents were
 * told: every inbound message that got a 2xx is in its conversation's transcript exactly once
 * and in the order sent; every report reference (R-XXXXX) and every volunteer sign-up confirmed
 * to a resident exists, with that resident, and nothing was filed twice; every conversation
 * parses, its transcript has no gaps and matches its transcriptLength.
 *
 * FAULTS_SEED=<n> replays the same kill schedule.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import { STATE_SCHEMA } from '../../src/engine/types.js';
import { AUTH_TOKEN } from '../support/twilio.js';
import { formBody, send, sid, twilioHeaders, twimlMessages } from './support/client.js';
import { freePort, spawnService, waitReady, type ChildService } from './support/child-service.js';
import { freshTestStore, ON_MONGODB } from '../support/test-store.js';

const PUBLIC_URL = 'https://bot.springfield.example';
const KILLS = 22;
const SMS_RESIDENTS = 36;
const WEB_RESIDENTS = 8;
const seed = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);
const dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-faults-crash-'));
// The embedded store in dataDir, or (in the mongodb project) one MongoDB database for every run.
const testStore = freshTestStore();
const running: ChildService[] = [];
/** FerretDB (CI's MongoDB server) takes turns more slowly: the service runs longer between kills there. */
const RUN_FACTOR = ON_MONGODB ? 3 : 1;

afterAll(async () => {
  for (const child of running) await child.kill9();
  rmSync(dataDir, { recursive: true, force: true });
  await testStore.drop();
});

/** A small seeded generator (mulberry32), so a failing kill schedule can be replayed. */
function random(seedValue: number): () => number {
  let a = seedValue >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One message a resident sent, and whether it got a 2xx. */
interface Sent {
  id: string;
  text: string;
}

/** A resident walking journeys: file a report, then sign up to volunteer, then again. */
abstract class Resident {
  goal: 'report' | 'volunteer' = 'report';
  /** A message sent without a 2xx yet: sent again (same id) before anything new. */
  pending: Sent | null = null;
  readonly acknowledged: Sent[] = [];
  readonly reports = new Set<string>();
  readonly signups: string[] = [];
  lastReply = '';

  abstract readonly address: string;
  protected abstract post(base: string, message: Sent): Promise<{ status: number; reply: string }>;

  /** Sends the pending message, or the next one; false when no 2xx came. */
  async step(base: string): Promise<boolean> {
    this.pending ??= { id: this.newId(), text: this.nextText() };
    const { status, reply } = await this.post(base, this.pending);
    if (status < 200 || status >= 300) return false;
    this.acknowledged.push(this.pending);
    this.pending = null;
    this.lastReply = reply;
    this.notice(reply);
    return true;
  }

  protected abstract newId(): string;

  /** Records what the reply confirmed. */
  private notice(reply: string): void {
    const ref = /Your report is (R-[23456789A-HJKMNP-Z]{5})/.exec(reply)?.[1];
    if (ref) {
      this.reports.add(ref);
      this.goal = 'volunteer';
    }
    const signup = /You're (?:signed up for|on the waitlist for) (.+?)(?: \(|\. We'll)/.exec(reply)?.[1];
    if (signup) this.signups.push(signup);
    if (signup || /already signed up|just filled up|is closed now|No open volunteer roles/.test(reply)) this.goal = 'report';
  }

  /** What a resident would answer to the last reply. */
  private nextText(): string {
    const r = this.lastReply;
    if (/Continue where you left off/.test(r)) return '1';
    if (/Your report is R-|You're signed up|on the waitlist for|already signed up|just filled up|is closed now/.test(r)) return 'menu';
    if (/What kind of problem|Is it: /.test(r)) return '1';
    if (/Where is it\?/.test(r)) return '5th and Main';
    if (/Describe the problem/.test(r)) return 'a deep hole in the crosswalk';
    if (/Do you have a photo|Send a photo, or reply SKIP/.test(r)) return 'skip';
    if (/Please check:|Reply 1 to send the report/.test(r)) return '1';
    if (/What name should we give|what name should we use/.test(r)) return 'Sam Rivera';
    if (/Sign up as |Sign me up|Join the waitlist/.test(r)) return '1';
    if (/\[demo\]/.test(r)) return '1';
    if (/What would you like to do\?/.test(r)) return this.goal === 'report' ? '1' : '5';
    return 'menu';
  }
}

class SmsResident extends Resident {
  readonly address: string;
  constructor(private readonly phone: string) {
    super();
    this.address = `sms:${phone}`;
  }
  protected newId(): string {
    return sid();
  }
  protected async post(base: string, message: Sent) {
    const params = {
      MessageSid: message.id,
      SmsSid: message.id,
      AccountSid: 'AC00000000000000000000000000000000',
      From: this.phone,
      To: '+12175550100',
      Body: message.text,
      NumMedia: '0',
    };
    const path = '/webhooks/twilio/sms';
    const response = await send({
      url: `${base}${path}`,
      headers: twilioHeaders(PUBLIC_URL, path, params, AUTH_TOKEN),
      body: formBody(params),
      timeoutMs: 15_000,
    });
    return { status: response.status, reply: twimlMessages(response.text).join('\n\n') };
  }
}

class WebResident extends Resident {
  readonly conversationId = randomBytes(16).toString('base64url');
  readonly address = `web:${this.conversationId}`;
  protected newId(): string {
    return randomBytes(12).toString('hex');
  }
  protected async post(base: string, message: Sent) {
    const response = await send({
      url: `${base}/chat/api/messages`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ conversationId: this.conversationId, messageId: message.id, text: message.text }),
      timeoutMs: 15_000,
    });
    if (response.status !== 200) return { status: response.status, reply: '' };
    const replies = (JSON.parse(response.text) as { replies: { text: string; buttons?: { label: string }[] }[] }).replies;
    return { status: 200, reply: replies.map((r) => [r.text, ...(r.buttons ?? []).map((b) => b.label)].join('\n')).join('\n\n') };
  }
}

describe('crash safety', () => {
  it(`loses nothing acknowledged across ${KILLS} kill -9s under load`, async () => {
    const rand = random(seed);
    const port = await freePort();
    const env = {
      DATA_DIR: dataDir,
      ...testStore.env,
      CITY_NAME: 'Springfield',
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      PUBLIC_URL,
      QUIET_HOURS: 'off',
      // The residents here answer as fast as the service replies: the flood brake is another test's.
      RATE_LIMIT_MESSAGES_PER_MINUTE: '0',
      RATE_LIMIT_NEW_CHATS_PER_MINUTE: '0',
    };
    const residents: Resident[] = [
      ...Array.from({ length: SMS_RESIDENTS }, (_, i) => new SmsResident(`+1217556${String(i).padStart(4, '0')}`)),
      ...Array.from({ length: WEB_RESIDENTS }, () => new WebResident()),
    ];
    let acknowledgedAtKill: number[] = [];

    /** Every resident sends, one message at a time, until `until` resolves. */
    const load = async (base: string, until: Promise<void>) => {
      let stop = false;
      void until.then(() => (stop = true));
      await Promise.all(
        residents.map(async (resident) => {
          while (!stop) if (!(await resident.step(base))) await new Promise((resolve) => setTimeout(resolve, 20));
        }),
      );
    };

    for (let cycle = 0; cycle < KILLS; cycle++) {
      const child = spawnService(env, port);
      running.push(child);
      // Every fifth kill lands while the service is still starting (opening the store, seeding).
      if (cycle % 5 === 4) {
        await new Promise((resolve) => setTimeout(resolve, 150 + rand() * 1200));
        await child.kill9();
        continue;
      }
      await waitReady(child);
      const killed = new Promise<void>((resolve) => setTimeout(() => void child.kill9().then(resolve), (300 + rand() * 500) * RUN_FACTOR));
      await Promise.all([load(child.url, killed), killed]);
      expect((await child.exited).signal, child.stderr()).toBe('SIGKILL');
      acknowledgedAtKill.push(residents.reduce((sum, r) => sum + r.acknowledged.length, 0));
    }

    // One last run: every message still without a 2xx is sent again until it gets one (as a
    // provider's retries would, half a second apart), then a graceful stop. On MongoDB a write
    // that a kill cut off holds its record's next revision for STALE_CLAIM_MS (mongo.store.ts):
    // that resident's messages get a 503 until then, and a provider's retry goes through.
    const last = spawnService(env, port);
    running.push(last);
    await waitReady(last);
    await Promise.all(
      residents.map(async (resident) => {
        for (let tries = 0; resident.pending && tries < 40; tries++) {
          if (!(await resident.step(last.url))) await new Promise((resolve) => setTimeout(resolve, 500));
        }
        expect(resident.pending, resident.address).toBeNull();
        // And one more turn each, to see every conversation still works after all that.
        expect(await resident.step(last.url)).toBe(true);
      }),
    );
    expect(await last.stop(), last.stderr()).toBe(0);

    const total = residents.reduce((sum, r) => sum + r.acknowledged.length, 0);
    const confirmedReports = residents.reduce((sum, r) => sum + r.reports.size, 0);
    const confirmedSignups = residents.reduce((sum, r) => sum + r.signups.length, 0);
    console.log(
      `crash safety (seed ${seed}): ${KILLS} kills, ${total} messages acknowledged (${acknowledgedAtKill.join(', ')} at each kill), ` +
        `${confirmedReports} reports and ${confirmedSignups} sign-ups confirmed`,
    );
    // The load did reach the service between kills, and journeys were finished.
    expect(total).toBeGreaterThan(KILLS * 20);
    expect(confirmedReports).toBeGreaterThan(10);
    expect(confirmedSignups).toBeGreaterThan(5);

    const store = await openStore({ dataDir, mongodbUri: testStore.env['MONGODB_URI'] });
    try {
      for (const resident of residents) {
        const where = resident.address;
        const conversation = await store.conversations.get(where);
        expect(conversation, where).not.toBeNull();
        expect((conversation!.state as { schema?: unknown }).schema, where).toBe(STATE_SCHEMA);

        const transcript = await store.transcripts.find({ field: 'conversationId', equals: where }, { order: 'asc' });
        // No gaps, nothing beyond the conversation's own count.
        expect(
          transcript.map((entry) => entry.seq),
          where,
        ).toEqual(transcript.map((_, i) => i));
        expect(transcript.length, where).toBe(conversation!.transcriptLength);

        // Every acknowledged message is there once, in the order it was sent.
        const inbound = transcript.filter((entry) => entry.direction === 'in').map((entry) => entry.providerMessageId);
        expect(new Set(inbound).size, `${where}: a message was recorded twice`).toBe(inbound.length);
        expect(
          inbound.filter((id) => resident.acknowledged.some((sent) => sent.id === id)),
          where,
        ).toEqual(resident.acknowledged.map((sent) => sent.id));

        // Every confirmed report exists with this resident; nothing was filed twice or unseen.
        const reports = await store.reports.find({ field: 'residentAddress', equals: where });
        expect(reports.map((report) => report._id).sort(), where).toEqual([...resident.reports].sort());

        // Every confirmed sign-up exists (for a role of that title) with this resident.
        const signups = await store.signups.find({ field: 'address', equals: where });
        const titles = await Promise.all(signups.map(async (signup) => (await store.roles.get(signup.roleId))?.title ?? '?'));
        for (const title of new Set(resident.signups))
          expect(
            titles.some((t) => t.includes(title) || title.includes(t)),
            `${where}: ${title}`,
          ).toBe(true);
      }
    } finally {
      await store.close();
    }
  }, 200_000);
});
