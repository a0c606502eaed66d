/**
 * "Delete my data", end to end: residents on SMS (signed as Twilio signs), Telegram (a fake Bot
 * API) and the web chat (Direct Line, with photo uploads) report a problem and submit an idea,
 * then delete their data. Afterwards no record is keyed by their address or holds it or their
 * words, their photos answer 404, and after the maintenance step (`npm run staff -- compact`, run
 * as the operator runs it) not one byte of the data folder holds them either. On MongoDB the
 * documents of every collection (GridFS's and the revision claims included) are searched instead.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../support/http.js';
import { BOT_TOKEN, startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { ACCOUNT_SID, AUTH_TOKEN, messageSid, postTwilio, startFakeTwilio, twimlMessages } from '../support/twilio.js';
import { referenceIn } from '../support/harness.js';
import { ON_MONGODB } from '../support/test-store.js';
import { runStaffCli, type StaffCliRun } from '../support/staff-cli.js';
import { changeReportStatus } from '../../src/staff/report-desk.js';
import { handoffId, replyToHandoff } from '../../src/staff/handoff-desk.js';
import { openHandoffOf } from '../../src/pipeline/handoff-requests.js';

const PUBLIC_URL = 'https://bot.springfield.example';
const TELEGRAM_SECRET = 'telegram-webhook-secret-erasure-0123';
/** What residents write, found nowhere once they deleted their data. */
const REPORT_WORD = 'zqxblorf';
const IDEA_WORD = 'vrommplex';
const REPLY_WORD = 'glimtrask';
/** In a staff member's reply from the inbox, still waiting to be sent when the resident deletes their data. */
const STAFF_WORD = 'prundlewick';
/** Bytes that make the uploaded photos unlike any other file's. */
const PHOTO_MARK = `photo-${randomBytes(6).toString('hex')}`;
const PNG = Buffer.concat([
  Buffer.from(
    '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4fd0000000049454e44ae426082',
    'hex',
  ),
  Buffer.from(PHOTO_MARK),
]);

// The data folder outlives the service: the maintenance step and the byte search run after it stops.
const dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-erasure-'));
let app: RunningApp;
let telegram: FakeTelegram;
let appClosed = false;
beforeAll(async () => {
  telegram = await startFakeTelegram();
  app = await startTestApp(
    {
      DATA_DIR: dataDir,
      PUBLIC_URL,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
      TELEGRAM_API_ROOT: telegram.apiRoot,
    },
    { telegramRates: { perChatPerSecond: 1000, globalPerSecond: 100_000 } },
  );
  await app.service.telegram!.start();
});
afterAll(async () => {
  if (!appClosed) await app.close();
  await telegram.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A resident texting the city's number; `send` answers with the TwiML reply's text. */
class SmsResident {
  readonly phone = `+1555${String(randomInt(10_000_000)).padStart(7, '0')}`;
  readonly address = `sms:${this.phone}`;
  lastSid = '';

  async send(text: string, sid = messageSid()): Promise<string> {
    this.lastSid = sid;
    const params = { MessageSid: sid, SmsSid: sid, AccountSid: ACCOUNT_SID, From: this.phone, To: '+12175550100', Body: text, NumMedia: '0' };
    const response = await postTwilio({ appUrl: app.url, publicUrl: PUBLIC_URL, path: '/webhooks/twilio/sms', params });
    expect(response.status).toBe(200);
    return twimlMessages(response.text).join('\n');
  }
}

/** A resident in a private Telegram chat; `send` answers with what the bot sent the chat meanwhile. */
class TelegramResident {
  readonly chatId = 6_000_000_000 + randomInt(1_000_000_000);
  readonly address = `telegram:${this.chatId}`;
  private update = randomInt(100_000_000);

  async send(text: string): Promise<string> {
    const sent = () => telegram.callsOf('sendMessage').filter((call) => call.payload.chat_id === this.chatId);
    const before = sent().length;
    this.update += 1;
    const body = {
      update_id: this.update,
      message: {
        message_id: this.update,
        from: { id: this.chatId, is_bot: false, first_name: 'Ana', language_code: 'en' },
        chat: { id: this.chatId, first_name: 'Ana', type: 'private' },
        date: Math.floor(Date.now() / 1000),
        text,
      },
    };
    const response = await fetch(`${app.url}/webhooks/telegram`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return sent()
      .slice(before)
      .map((call) => String(call.payload.text))
      .join('\n');
  }
}

/** A browser on the web chat, through Direct Line (polling for the bot's answers). */
class WebChatResident {
  token = '';
  conversationId = '';

  get address(): string {
    return `webchat:${this.conversationId}`;
  }

  async start(): Promise<void> {
    const generated = await this.call('POST', '/tokens/generate');
    const started = await this.call('POST', '/conversations', generated.body, generated.body.token);
    this.token = started.body.token;
    this.conversationId = started.body.conversationId;
  }

  async say(text: string, choice?: string): Promise<string> {
    const posted = await this.call('POST', `/conversations/${this.conversationId}/activities`, {
      type: 'message',
      text,
      ...(choice ? { value: { choice } } : {}),
      from: { id: 'me' },
    });
    expect(posted.status).toBe(200);
    return this.answerTo(posted.body.id);
  }

  /** Sends a photo as Web Chat does (multipart: the activity, then the file). */
  async upload(photo = PNG): Promise<string> {
    const form = new FormData();
    const activity = { type: 'message', from: { id: 'me' }, attachments: [{ contentType: 'image/png', name: 'hole.png' }] };
    form.append('activity', new Blob([JSON.stringify(activity)], { type: 'application/vnd.microsoft.activity' }));
    form.append('file', new Blob([photo], { type: 'image/png' }), 'hole.png');
    const response = await fetch(`${app.url}/v3/directline/conversations/${this.conversationId}/upload?userId=me`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}` },
      body: form,
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    return this.answerTo((JSON.parse(text) as { id: string }).id);
  }

  private async answerTo(id: string): Promise<string> {
    for (let i = 0; i < 500; i++) {
      const log = await this.call('GET', `/conversations/${this.conversationId}/activities`);
      const answers = (log.body.activities as { replyToId?: string; text?: string }[]).filter((a) => a.replyToId === id);
      if (answers.length > 0) return answers.map((a) => a.text ?? '').join('\n');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no answer to activity ${id}`);
  }

  private async call(method: string, route: string, body?: unknown, token = this.token): Promise<{ status: number; body: any }> {
    const response = await fetch(`${app.url}/v3/directline${route}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body !== undefined && method !== 'GET' ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }
}

/** Runs `npm run staff -- <args>` as the operator does, on this test's store. */
function staffCli(args: string[]): Promise<StaffCliRun> {
  return runStaffCli(args, { DATA_DIR: dataDir, MONGODB_URI: app.service.config.mongodbUri ?? '' });
}

/** Every file under a folder. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

/** Which of the needles each file's bytes contain, as `file: needle`. */
function bytesFound(dir: string, needles: readonly string[]): string[] {
  return filesUnder(dir).flatMap((file) => {
    const bytes = readFileSync(file);
    return needles.filter((needle) => bytes.includes(Buffer.from(needle))).map((needle) => `${path.relative(dir, file)}: ${needle}`);
  });
}

/** Which of the needles the documents of each collection of the service's MongoDB database contain, as `collection: needle`. */
async function documentsFound(needles: readonly string[]): Promise<string[]> {
  const connection = await mongoose.createConnection(app.service.config.mongodbUri!).asPromise();
  try {
    const db = connection.db!;
    const found: string[] = [];
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      const documents = await db.collection(name).find({}).toArray();
      // As stored (BSON): strings as UTF-8, GridFS's chunks as their bytes.
      const bytes = Buffer.concat(documents.map((document) => mongoose.mongo.BSON.serialize(document)));
      found.push(...needles.filter((needle) => bytes.includes(Buffer.from(needle))).map((needle) => `${name}: ${needle}`));
    }
    return found;
  } finally {
    await connection.close();
  }
}

describe('delete my data', () => {
  it('leaves no record of the number when its confirmation goes out after the webhook answered', async () => {
    const twilioApi = await startFakeTwilio();
    // Every turn outlives a 1 ms TwiML deadline: replies go out through Twilio's REST API (the fake).
    const late = await startTestApp(
      { PUBLIC_URL, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_FROM: '+12175550100' },
      { twilioHttpClient: twilioApi.httpClient, smsBackoffMs: 1 },
      { twimlDeadlineMs: 1 },
    );
    try {
      const phone = `+1555${String(randomInt(10_000_000)).padStart(7, '0')}`;
      const sent = () => twilioApi.requests.filter((request) => request.form.To === phone).map((request) => request.form.Body ?? '');
      const text = async (body: string) => {
        const before = sent().length;
        const params = { MessageSid: messageSid(), AccountSid: ACCOUNT_SID, From: phone, To: '+12175550100', Body: body, NumMedia: '0' };
        expect((await postTwilio({ appUrl: late.url, publicUrl: PUBLIC_URL, path: '/webhooks/twilio/sms', params })).status).toBe(200);
        await expect.poll(() => sent().length, { timeout: 10_000 }).toBeGreaterThan(before);
        return sent().slice(before).join('\n');
      };
      expect(await text('delete my data')).toContain('Delete?');
      expect(await text('yes')).toContain('Your data is deleted');
      await expect.poll(() => late.service.store.outbound.find({ field: 'address', equals: `sms:${phone}` }), { timeout: 10_000 }).toEqual([]);
    } finally {
      await late.close();
      await twilioApi.close();
    }
  });

  it("deletes only the resident's own photos: a URL of someone else's photo in their messages stays served", async () => {
    const victim = new WebChatResident();
    await victim.start();
    await victim.say('Pothole', 'pothole');
    await victim.say('Elm St and 3rd');
    expect(await victim.say('a deep pothole')).toContain('photo');
    // Not PHOTO_MARK's photo: the last test looks for that one's bytes after its resident is erased.
    expect(await victim.upload(PNG.subarray(0, PNG.length - PHOTO_MARK.length))).toContain('1 photo');
    const ref = referenceIn(await victim.say('Yes, send it', 'yes'));
    const [photo] = (await app.service.store.reports.get(ref))!.photos;
    const served = () => fetch(photo!.url.replace(PUBLIC_URL, app.url)).then((response) => response.status);
    expect(await served()).toBe(200);

    // Someone who learned the URL types it in their own chat, then deletes their data.
    const attacker = new WebChatResident();
    await attacker.start();
    await attacker.say(`look at this ${photo!.url} and ${photo!.url.replace(PUBLIC_URL, '')}`);
    await attacker.say('delete my data');
    expect(await attacker.say('Yes, delete', 'yes')).toContain('Your data is deleted');

    expect(await served()).toBe(200);
    expect((await app.service.store.reports.get(ref))!.photos).toEqual([photo]);
  });

  it('keeps an opt-out through the deletion: the number comes back opted out, and START still works', async () => {
    const resident = new SmsResident();
    await resident.send('hello');
    await resident.send('STOP');
    // An opted-out resident cannot ask the bot (it no longer answers them): staff erase on their request.
    const erase = () => app.service.runner.erasure.erase({ address: resident.address, sourceKey: `${resident.address}|staff`, now: new Date() });
    await erase();
    expect(await app.service.store.residents.get(resident.address)).toBeNull();
    // Run again (as after an erasure that died half-way): the profile is gone, the opt-out is not.
    await erase();
    expect(await resident.send('hello again')).toBe('');
    expect(await app.service.store.residents.get(resident.address)).toMatchObject({ optedOut: true });
    expect(await resident.send('START')).toContain('Welcome back');
  });

  it('leaves no trace of the resident, their words or their photos, in records and (after compaction) on disk', async () => {
    const { store } = app.service;
    const sms = new SmsResident();
    const chat = new TelegramResident();
    const web = new WebChatResident();

    // By SMS: a report, an idea, a reply to a staff update, an opt-out and back.
    expect(await sms.send(`${REPORT_WORD} pothole on Elm St and 5th, deep`)).toContain('photo');
    await sms.send('skip');
    const smsReport = referenceIn(await sms.send('1'));
    await sms.send('I have an idea for the city');
    await sms.send(`${IDEA_WORD} benches at bus stops`);
    await sms.send(`Older riders have nowhere to sit ${IDEA_WORD}`);
    await sms.send('Eastside');
    const smsIdea = referenceIn(await sms.send('yes'), 'I');
    expect(await sms.send('STOP')).not.toBe('');
    await sms.send('START');

    // By Telegram: the same.
    await chat.send(`${REPORT_WORD} pothole on Oak St, blocks the bike lane`);
    await chat.send('1');
    await chat.send('skip');
    const telegramReport = referenceIn(await chat.send('1'));
    await chat.send('I have an idea for the city');
    await chat.send(`${IDEA_WORD} shade trees on Main`);
    await chat.send(`The square is too hot ${IDEA_WORD}`);
    await chat.send('Downtown');
    referenceIn(await chat.send('yes'), 'I');
    // Then asks for a person, who replies (the reply waits as a job: nothing runs the jobs here).
    expect(await chat.send(`talk to a person ${REPLY_WORD}`)).toContain('asked a person');
    const request = (await openHandoffOf(store, chat.address))!;
    await replyToHandoff(app.service.staff, handoffId(request), `${STAFF_WORD} which street?`, { username: 'alice', role: 'coordinator' });

    // On the web chat: a report with a photo, and a photo never attached (the report abandoned).
    await web.start();
    await web.say('Pothole', 'pothole');
    await web.say('Pine St and 2nd');
    expect(await web.say(`${REPORT_WORD} pothole, cracked all around`)).toContain('photo');
    expect(await web.upload()).toContain('1 photo');
    const webReport = referenceIn(await web.say('Yes, send it', 'yes'));
    await web.say('Graffiti', 'graffiti');
    await web.say('The library on Oak St');
    expect(await web.say(`${REPORT_WORD} tags on the wall`)).toContain('photo');
    await web.upload();
    await web.say('exit');
    const photoUrls = [
      ...new Set(
        JSON.stringify(await store.webchatActivities.find({ field: 'conversationId', equals: web.conversationId }, { limit: 1000 })).match(
          /https?:\/\/[^"]+\/v3\/directline\/media\/[A-Za-z0-9_-]{22}/g,
        ),
      ),
    ];
    expect(photoUrls).toHaveLength(2);
    for (const url of photoUrls) expect((await fetch(url.replace(PUBLIC_URL, app.url))).status).toBe(200);

    // Staff update the SMS report (sent through the SMS outbox: an outbound record); the resident replies.
    const changed = await changeReportStatus(
      app.service.staff,
      smsReport,
      { status: 'in_progress', note: 'Crew booked' },
      { username: 'alice', role: 'coordinator' },
    );
    expect(changed.notification.state).toBe('outbox');
    await sms.send(`more ${REPLY_WORD} details: it is getting wider`);
    const updates = await store.reportUpdates.find({ field: 'reportId', equals: smsReport });
    expect(updates.some((update) => update.by === 'resident' && update.note?.includes(REPLY_WORD))).toBe(true);

    const needles = [sms.phone.slice(2), String(chat.chatId), REPORT_WORD, IDEA_WORD, REPLY_WORD, STAFF_WORD, PHOTO_MARK];
    // The searches below find what is there (so that finding nothing means something).
    if (ON_MONGODB) {
      const found = await documentsFound(needles);
      expect(needles.filter((needle) => !found.some((where) => where.endsWith(`: ${needle}`)))).toEqual([]);
    }

    // Each deletes their data.
    for (const resident of [sms, chat]) {
      expect(await resident.send('delete my data')).toContain('Delete?');
      expect(await resident.send('yes')).toContain('Your data is deleted');
    }
    await web.say('delete my data');
    expect(await web.say('Yes, delete', 'yes')).toContain('Your data is deleted');
    const confirmingSid = sms.lastSid;

    // The city keeps the reports, without their author, words or photos; the ideas are gone.
    for (const ref of [smsReport, telegramReport, webReport]) {
      const report = await store.reports.get(ref);
      expect(report).toMatchObject({ category: 'pothole', description: '[deleted]', photos: [] });
      expect(report!.residentAddress).toBe('deleted');
      expect(report!.location.text).toBeTruthy();
    }
    expect(await store.ideas.get(smsIdea)).toBeNull();
    for (const resident of [sms, chat, web]) {
      expect(await store.residents.get(resident.address)).toBeNull();
      expect(await store.conversations.get(resident.address)).toBeNull();
    }
    // The consent records stay as proof, under a keyed hash of the number.
    const alias = `erased:${await app.service.runner.erasure.hash('address', sms.address)}`;
    expect((await store.consentEvents.find({ field: 'address', equals: alias })).map((event) => event.kind)).toEqual(['opt_out', 'opt_in']);
    // Twilio retrying the confirming message is answered once, not taken as a new resident's first message.
    expect(await sms.send('yes', confirmingSid)).toBe('');
    expect(await store.residents.get(sms.address)).toBeNull();
    // The web chat's conversation id stays in two places only: its log's floor (an open browser's
    // positions go on from there) and the log's one entry since, the confirmation.
    const log = await store.webchatActivities.find({ field: 'conversationId', equals: web.conversationId });
    expect(log.map((entry) => (entry.activity as { text?: string }).text)).toEqual(['Your data is deleted.']);
    if (ON_MONGODB) expect(await documentsFound([web.conversationId])).toEqual([`meta: ${web.conversationId}`, `webchatActivities: ${web.conversationId}`]);
    // Their photos, attached to a report or not, are gone.
    for (const url of photoUrls) expect((await fetch(url.replace(PUBLIC_URL, app.url))).status).toBe(404);

    if (ON_MONGODB) {
      expect(await documentsFound(needles)).toEqual([]);
      expect(await documentsFound(['Elm St and 5th'])).toEqual(['reports: Elm St and 5th']);
      const compacted = await staffCli(['compact']);
      expect(compacted.stderr).toBe('');
      expect(compacted).toMatchObject({ code: 0, stdout: expect.stringContaining('compacted') });
      expect((await staffCli(['compact', '--if-needed'])).stdout).toContain('nothing to compact');
      return;
    }
    // The maintenance step refuses while the service has the store open (it would lose its writes)...
    const refused = await staffCli(['compact']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('stop the service');
    appClosed = true;
    await app.close();
    // The deleted records are still in the store's free pages...
    expect(bytesFound(dataDir, needles).length).toBeGreaterThan(0);
    // ...until, the service stopped, the compaction leaves nothing of them in any file of the data folder.
    const compacted = await staffCli(['compact', '--if-needed']);
    expect(compacted.stderr).toBe('');
    expect(compacted).toMatchObject({ code: 0, stdout: expect.stringMatching(/^compacted .* → .* \(data deleted since /) });
    expect(bytesFound(dataDir, needles)).toEqual([]);
    expect(bytesFound(dataDir, ['Elm St and 5th'])).toEqual(['data.mdb: Elm St and 5th']);
    expect((await staffCli(['compact', '--if-needed'])).stdout).toContain('nothing to compact');
  }, 240_000);
});
