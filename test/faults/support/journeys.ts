/**
 * Residents walking whole journeys (file a report, then sign up to volunteer, then again) by SMS
 * (signed Twilio webhooks) and by the web chat's JSON API, as the crash and several-instance
 * fault tests drive them, and the check of the store against what they were told.
 *
 * Residents behave like Twilio with retries on and like Telegram: a message that got no 2xx is
 * sent again, same id, until one does.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { STATE_SCHEMA } from '../../../src/engine/types.js';
import type { Store } from '../../../src/store/store.port.js';
import { AUTH_TOKEN } from '../../support/twilio.js';
import { formBody, send, sid, twilioHeaders, twimlMessages } from './client.js';

/** The public URL the services of these tests run with (Twilio signs requests to it). */
export const PUBLIC_URL = 'https://bot.springfield.example';

/** The environment of a service residents walk journeys through: on `dataDir`, or the store `storeEnv` names. */
export function journeyEnvironment(dataDir: string, storeEnv: Record<string, string>): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    ...storeEnv,
    CITY_NAME: 'Springfield',
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    PUBLIC_URL,
    QUIET_HOURS: 'off',
    // Residents here answer as fast as the service replies: the flood brake is another test's.
    RATE_LIMIT_MESSAGES_PER_MINUTE: '0',
    RATE_LIMIT_NEW_CHATS_PER_MINUTE: '0',
  };
}

/** A small seeded generator (mulberry32), so a failing kill schedule can be replayed. */
export function random(seedValue: number): () => number {
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
export interface Sent {
  id: string;
  text: string;
}

/** A resident walking journeys: file a report, then sign up to volunteer, then again. */
export abstract class Resident {
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
    // Everyone reports at 5th and Main: from the second report on, the bot offers the first.
    if (/already (?:be )?reported|You already follow/.test(r)) return 'file mine anyway';
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

export class SmsResident extends Resident {
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

export class WebResident extends Resident {
  /** Issued by the service on the first message (an invented id starts no conversation). */
  conversationId = '';
  get address(): string {
    return `web:${this.conversationId}`;
  }
  protected newId(): string {
    return randomBytes(12).toString('hex');
  }
  protected async post(base: string, message: Sent) {
    if (!this.conversationId) {
      const started = await send({ url: `${base}/chat/api/session`, headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 15_000 });
      // An instance killed mid-request: the next message asks again.
      if (started.status !== 201) return { status: started.status, reply: '' };
      this.conversationId = (JSON.parse(started.text) as { conversationId: string }).conversationId;
    }
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

/**
 * Checks the store against what residents were told: every inbound message that got a 2xx is in
 * its conversation's transcript exactly once and in the order sent; every report reference and
 * every sign-up confirmed to a resident exists, with that resident, and nothing was filed twice;
 * every conversation parses, its transcript has no gaps and matches its transcriptLength.
 */
export async function expectNothingLost(store: Store, residents: readonly Resident[]): Promise<void> {
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
}
