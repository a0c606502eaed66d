/**
 * Photo uploads through Direct Line, as Web Chat sends them (multipart: the activity, then the
 * files): taken only in a report in progress or in reply to an update on the resident's report,
 * within the caps (a photo's size, a conversation's and an address's day, all stored photos), each
 * refusal a 4xx with a code and a message in the chat; and the sweep that removes uploads never
 * attached to a report while keeping those that are (or may still be).
 */
import { readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../../support/http.js';
import { referenceIn } from '../../support/harness.js';
import { ON_MONGODB } from '../../support/test-store.js';
import { changeReportStatus } from '../../../src/staff/report-desk.js';
import { clientKey } from '../../../src/channels/webchat/photo-uploads.js';
import { mediaIdIn } from '../../../src/store/media-files.js';

/** Each report on a street of its own: a second at one place would be offered as "already reported". */
let nextStreet = 20;

const HOUR = 3_600_000;
const KB = 1024;

/** A PNG's first bytes, then `size` bytes in all. */
function png(size = 64): Buffer {
  const magic = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  return Buffer.concat([magic, Buffer.alloc(Math.max(0, size - magic.length), 7)]);
}

/** An activity of the log, as far as these tests read it. */
interface Activity {
  id: string;
  replyToId?: string;
  text?: string;
  from?: { role?: string };
  attachments?: { contentUrl?: string; content?: { text?: string } }[];
}

/** What an activity says: its text, or its card's (many choices come as a card). */
const textOf = (activity: Activity) => activity.text ?? activity.attachments?.[0]?.content?.text ?? '';

/** A web chat conversation, driven over Direct Line's HTTP API. */
class Chat {
  token = '';
  conversationId = '';
  constructor(
    private readonly app: () => RunningApp,
    /** The client address it comes from (through the local proxy: `trust proxy` is loopback). */
    readonly address = '198.51.100.1',
  ) {}

  get dl(): string {
    return `${this.app().url}/v3/directline`;
  }

  async start(): Promise<this> {
    const headers = { 'x-forwarded-for': this.address };
    const generated = (await (await fetch(`${this.dl}/tokens/generate`, { method: 'POST', headers })).json()) as { token: string };
    const started = await fetch(`${this.dl}/conversations`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${generated.token}` } });
    const body = (await started.json()) as { token: string; conversationId: string };
    this.token = body.token;
    this.conversationId = body.conversationId;
    return this;
  }

  /** Posts a message; its turn is taken when this returns. */
  async say(text: string, choice?: string): Promise<string> {
    const response = await fetch(`${this.dl}/conversations/${this.conversationId}/activities`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}`, 'x-forwarded-for': this.address },
      body: JSON.stringify({ type: 'message', text, ...(choice ? { value: { choice } } : {}) }),
    });
    expect(response.status, text).toBe(200);
    const { id } = (await response.json()) as { id: string };
    return (await this.activities())
      .filter((a) => a.replyToId === id)
      .map(textOf)
      .join('\n');
  }

  /** Up to the report's photo step. */
  async toPhotoStep(): Promise<void> {
    await this.say('Report a problem', 'report');
    await this.say('Pothole', 'pothole');
    // A street of its own per resident: a second pothole at one corner is offered as already reported.
    await this.say(`Elm St and ${nextStreet++}th St`);
    expect(await this.say('Deep hole in the crosswalk')).toContain('photo');
  }

  /** Uploads photos as Web Chat does: the activity part, then the files. */
  async upload(...photos: Buffer[]): Promise<{ status: number; body: { id?: string; code?: string; error?: string }; photoIds: string[] }> {
    const form = new FormData();
    form.append('activity', new Blob([JSON.stringify({ type: 'message', from: { id: 'me' } })], { type: 'application/vnd.microsoft.activity' }));
    for (const [i, bytes] of photos.entries()) form.append('file', new Blob([bytes], { type: 'image/png' }), `photo-${i}.png`);
    const response = await fetch(`${this.dl}/conversations/${this.conversationId}/upload?userId=me`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'x-forwarded-for': this.address },
      body: form,
    });
    const body = (await response.json()) as { id?: string; code?: string; error?: string };
    const echo = body.id ? (await this.activities()).find((a) => a.id === body.id) : undefined;
    const photoIds = (echo?.attachments ?? []).map((a) => mediaIdIn(a.contentUrl ?? '')!);
    return { status: response.status, body, photoIds };
  }

  async activities(): Promise<Activity[]> {
    const response = await fetch(`${this.dl}/conversations/${this.conversationId}/activities`, { headers: { authorization: `Bearer ${this.token}` } });
    return ((await response.json()) as { activities: never[] }).activities;
  }

  /** The bot's last message. */
  async lastBotText(): Promise<string> {
    const last = (await this.activities()).filter((a) => a.from?.role === 'bot').at(-1);
    return last ? textOf(last) : '';
  }

  get owner() {
    return { conversation: `webchat:${this.conversationId}`, client: clientKey(this.address) };
  }
}

/** Photo files left in the embedded store's folder, partial ones included (none on MongoDB). */
function filesIn(app: RunningApp): string[] {
  if (ON_MONGODB) return [];
  try {
    return readdirSync(path.join(app.service.config.dataDir, 'media'));
  } catch {
    return [];
  }
}

describe('where a photo is taken', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startTestApp({ PHOTO_UNATTACHED_HOURS: '1' });
  });
  afterAll(() => app.close());
  const chat = (address?: string) => new Chat(() => app, address).start();

  it('refuses a photo outside a report with 409, says how to send one, and stores nothing', async () => {
    const resident = await chat();
    const before = await app.service.media.totalBytes();
    const refused = await resident.upload(png());
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('photo_not_expected');
    expect(await resident.lastBotText()).toMatch(/Photos go with a report\. To report a problem with a photo, write "report a problem"/);
    expect(await app.service.media.totalBytes()).toBe(before);
    expect((await app.service.media.usage(resident.owner, new Date(0))).conversationPhotos).toBe(0);
    // The conversation goes on as before.
    expect(await resident.say('Report a problem', 'report')).toMatch(/What kind of problem/);
  });

  it('takes one in a report in progress, into the report', async () => {
    const resident = await chat();
    await resident.toPhotoStep();
    const taken = await resident.upload(png(2 * KB), png(3 * KB));
    expect(taken.status).toBe(200);
    expect(taken.photoIds).toHaveLength(2);
    expect(await resident.lastBotText()).toContain('2 photos');
    const ref = referenceIn(await resident.say('Yes, send it', 'yes'));
    expect((await app.service.store.reports.get(ref))!.photos.map((p) => mediaIdIn(p.url))).toEqual(taken.photoIds);
    expect(await app.service.media.usage(resident.owner, new Date(0))).toEqual({ conversationPhotos: 2, clientPhotos: 2, clientBytes: 5 * KB });
    // Filed: the report is no longer in progress.
    expect((await resident.upload(png())).status).toBe(409);
  });

  it("takes one in reply to an update on the resident's report, into the report's updates", async () => {
    const resident = await chat();
    await resident.toPhotoStep();
    await resident.say('Skip', 'skip');
    const ref = referenceIn(await resident.say('Yes, send it', 'yes'));
    expect((await resident.upload(png())).status).toBe(409);
    await changeReportStatus(app.service.staff, ref, { status: 'in_progress', note: 'Crew booked' }, { username: 'alice', role: 'coordinator' });
    const taken = await resident.upload(png(4 * KB));
    expect(taken.status).toBe(200);
    const updates = await app.service.store.reportUpdates.find({ field: 'reportId', equals: ref });
    expect(updates.flatMap((update) => (update.photos ?? []).map((p) => mediaIdIn(p.url)))).toEqual(taken.photoIds);
  });

  it('refuses a photo over PHOTO_MAX_MB with 413, and keeps nothing of it', async () => {
    const resident = await chat();
    await resident.toPhotoStep();
    const before = { total: await app.service.media.totalBytes(), files: filesIn(app).length };
    // The first photo is fine and stored as it comes; the second passes the cap: both go.
    const refused = await resident.upload(png(100 * KB), png(8 * 1024 * KB + 1));
    expect(refused.status).toBe(413);
    expect(refused.body).toMatchObject({ code: 'photo_too_large', error: 'A photo may be at most 8 MB' });
    expect(await resident.lastBotText()).toBe('That photo is too large: one may be up to 8 MB. Please send a smaller one.');
    expect(await app.service.media.totalBytes()).toBe(before.total);
    expect(filesIn(app)).toHaveLength(before.files);
    expect((await app.service.media.usage(resident.owner, new Date(0))).conversationPhotos).toBe(0);
    // The report goes on: a photo of the right size is taken.
    expect((await resident.upload(png())).status).toBe(200);
  });

  it('answers a body larger than any upload may be with 413 before reading it', async () => {
    const resident = await chat();
    await resident.toPhotoStep();
    // 40 MB declared, a few bytes sent: the answer comes without the rest.
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(`${resident.dl}/conversations/${resident.conversationId}/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${resident.token}`, 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(40 * 1024 * KB) },
      });
      request.on('response', (response) => {
        resolve(response.statusCode ?? 0);
        request.destroy();
      });
      request.on('error', reject);
      request.write('--x\r\n');
    });
    expect(status).toBe(413);
    expect((await app.service.media.usage(resident.owner, new Date(0))).conversationPhotos).toBe(0);
  });

  it('answers an upload that does not say its length with 411, before reading it', async () => {
    const resident = await chat();
    await resident.toPhotoStep();
    const status = await new Promise<number>((resolve, reject) => {
      // Chunked: no Content-Length, so its size is known only once it ends.
      const request = http.request(`${resident.dl}/conversations/${resident.conversationId}/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${resident.token}`, 'content-type': 'multipart/form-data; boundary=x', 'transfer-encoding': 'chunked' },
      });
      request.on('response', (response) => {
        resolve(response.statusCode ?? 0);
        request.destroy();
      });
      request.on('error', reject);
      request.write('--x\r\n');
    });
    expect(status).toBe(411);
    expect((await app.service.media.usage(resident.owner, new Date(0))).conversationPhotos).toBe(0);
  });

  it('keeps nothing of an upload whose client goes away half-way', async () => {
    const resident = await chat();
    await resident.toPhotoStep();
    const before = { total: await app.service.media.totalBytes(), files: filesIn(app).length };
    const head = Buffer.from(
      `--x\r\nContent-Disposition: form-data; name="activity"\r\n\r\n{"type":"message"}\r\n` +
        `--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`,
    );
    const request = http.request(`${resident.dl}/conversations/${resident.conversationId}/upload`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${resident.token}`,
        'content-type': 'multipart/form-data; boundary=x',
        'content-length': String(head.length + 4 * 1024 * KB),
      },
    });
    request.on('error', () => {});
    request.write(head);
    request.write(png(2 * 1024 * KB));
    // Stored as it arrives: the photo is being written when the client goes.
    await expect
      .poll(async () =>
        (await app.service.media.pending(new Date(Date.now() + HOUR), 1000)).some((entry) => entry.conversation === resident.owner.conversation),
      )
      .toBe(true);
    request.destroy();
    await expect.poll(async () => (await app.service.media.usage(resident.owner, new Date(0))).conversationPhotos).toBe(0);
    await expect.poll(() => filesIn(app).length).toBe(before.files);
    expect(await app.service.media.totalBytes()).toBe(before.total);
    // The conversation goes on.
    expect((await resident.upload(png())).status).toBe(200);
  });

  it('sweeps uploads never attached to a report, and keeps attached ones and those a report in progress still holds', async () => {
    const filed = await chat();
    await filed.toPhotoStep();
    // A second photo replaces the first in the report: the first is never attached.
    const replaced = (await filed.upload(png(KB))).photoIds;
    const attached = (await filed.upload(png(KB))).photoIds;
    referenceIn(await filed.say('Yes, send it', 'yes'));

    const left = await chat();
    await left.toPhotoStep();
    const abandoned = (await left.upload(png(KB))).photoIds;
    await left.say('menu');

    const reporting = await chat();
    await reporting.toPhotoStep();
    const inProgress = (await reporting.upload(png(KB))).photoIds;

    const media = app.service.media;
    const status = async (id: string) => (await fetch(`${app.url}/v3/directline/media/${id}`)).status;
    // Younger than PHOTO_UNATTACHED_HOURS: nothing is decided yet.
    const early = await app.service.mediaSweep.run(Date.now());
    expect(early.removed + early.attached).toBe(0);

    const later = Date.now() + 2 * HOUR;
    await app.service.mediaSweep.run(later);
    for (const id of [...replaced, ...abandoned]) expect(await status(id), `${id} was never attached`).toBe(404);
    for (const id of [...attached, ...inProgress]) expect(await status(id), `${id} is kept`).toBe(200);
    // Attached: no longer pending, never looked at again; the one in progress stays pending.
    const pending = (await media.pending(new Date(later), 1000)).map((entry) => entry.id);
    expect(pending).toEqual(expect.arrayContaining(inProgress));
    expect(pending).not.toEqual(expect.arrayContaining(attached));
    // The resident files it after all: the next sweep finds it attached.
    referenceIn(await reporting.say('Yes, send it', 'yes'));
    await app.service.mediaSweep.run(later);
    expect(await status(inProgress[0]!)).toBe(200);
    expect((await media.pending(new Date(later), 1000)).map((entry) => entry.id)).not.toContain(inProgress[0]);
    // Past the quota window, the ledger forgets the attached ones; the photos stay.
    await app.service.mediaSweep.run(Date.now() + 25 * HOUR);
    expect((await media.usage(filed.owner, new Date(0))).conversationPhotos).toBe(0);
    expect(await status(attached[0]!)).toBe(200);
    expect(filesIn(app).filter((name) => name.endsWith('.part'))).toEqual([]);
  });

  it("keeps a photo sent when following someone else's report (in the follower's note on it)", async () => {
    const corner = `Elm St and ${nextStreet++}th St`;
    const reporter = await chat();
    await reporter.say('Report a problem', 'report');
    await reporter.say('Pothole', 'pothole');
    await reporter.say(corner);
    await reporter.say('Deep hole in the crosswalk');
    await reporter.say('Skip', 'skip');
    const ref = referenceIn(await reporter.say('Yes, send it', 'yes'));

    const follower = await chat();
    await follower.say('Report a problem', 'report');
    await follower.say('Pothole', 'pothole');
    expect(await follower.say(corner)).toContain(ref);
    expect(await follower.say(`Follow ${ref}`, `follow:${ref}`)).toContain('a photo');
    const photo = (await follower.upload(png(KB))).photoIds;
    expect(photo).toHaveLength(1);

    await app.service.mediaSweep.run(Date.now() + 2 * HOUR);
    expect((await fetch(`${app.url}/v3/directline/media/${photo[0]}`)).status).toBe(200);
  });
});

describe('the caps', () => {
  let app: RunningApp;
  beforeAll(async () => {
    // Photos of up to 10 KB; 3 a conversation; 6 photos or 50 KB an address; 100 KB in all.
    app = await startTestApp({
      PHOTO_MAX_MB: String(10 / 1024),
      PHOTOS_PER_CONVERSATION: '3',
      PHOTOS_PER_ADDRESS: '6',
      PHOTO_MB_PER_ADDRESS: String(50 / 1024),
      PHOTO_STORAGE_MB: String(100 / 1024),
    });
  });
  afterAll(() => app.close());
  const reporting = async (address: string) => {
    const chat = await new Chat(() => app, address).start();
    await chat.toPhotoStep();
    return chat;
  };

  it('a conversation may upload PHOTOS_PER_CONVERSATION photos a day, then gets 429', async () => {
    const resident = await reporting('203.0.113.1');
    for (let i = 0; i < 3; i++) expect((await resident.upload(png(KB))).status).toBe(200);
    const refused = await resident.upload(png(KB));
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('photo_quota_conversation');
    expect(await resident.lastBotText()).toMatch(/as many photos as we can take from you today/);
    expect((await app.service.media.usage(resident.owner, new Date(0))).conversationPhotos).toBe(3);
    // Two in one upload, with one left: refused whole.
    const other = await reporting('203.0.113.1');
    expect((await other.upload(png(KB), png(KB))).status).toBe(200);
    expect((await other.upload(png(KB), png(KB))).status).toBe(429);
    expect((await app.service.media.usage(other.owner, new Date(0))).conversationPhotos).toBe(2);
  });

  it('an address may upload PHOTOS_PER_ADDRESS photos and PHOTO_MB_PER_ADDRESS a day, over all its conversations', async () => {
    const [a, b, c] = [await reporting('203.0.113.2'), await reporting('203.0.113.2'), await reporting('203.0.113.2')];
    for (const resident of [a, a, a, b, b, b]) expect((await resident.upload(png(KB))).status).toBe(200);
    const refused = await c.upload(png(KB));
    expect([refused.status, refused.body.code]).toEqual([429, 'photo_quota_address']);
    // Another address is not affected.
    expect((await (await reporting('203.0.113.3')).upload(png(KB))).status).toBe(200);

    // Bytes: 9 KB photos; the fifth would pass 50 KB: refused mid-photo, nothing of it kept.
    const [d, e] = [await reporting('203.0.113.4'), await reporting('203.0.113.4')];
    for (const resident of [d, d, d, e]) expect((await resident.upload(png(9 * KB))).status).toBe(200);
    const total = await app.service.media.totalBytes();
    const over = await e.upload(png(9 * KB), png(9 * KB));
    expect([over.status, over.body.code]).toEqual([429, 'photo_quota_address']);
    expect(await app.service.media.totalBytes()).toBe(total);
    expect(await app.service.media.usage(e.owner, new Date(0))).toMatchObject({ clientPhotos: 4, clientBytes: 36 * KB });
  });

  it('all stored photos may take PHOTO_STORAGE_MB: past it every upload gets 507, and the store stays under it', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20 && statuses.at(-1) !== 507; i++) {
      const resident = await reporting(`192.0.2.${i + 1}`);
      const taken = await resident.upload(png(9 * KB), png(9 * KB));
      statuses.push(taken.status);
      if (taken.status === 507) {
        expect(taken.body.code).toBe('photo_storage_full');
        expect(await resident.lastBotText()).toMatch(/can't take photos right now/);
      }
    }
    expect(statuses.at(-1)).toBe(507);
    expect(statuses.slice(0, -1).every((status) => status === 200)).toBe(true);
    // What does not fit is refused again; what still does (a small photo) is taken.
    const resident = await reporting('192.0.2.200');
    expect((await resident.upload(png(9 * KB), png(9 * KB))).status).toBe(507);
    expect((await resident.upload(png(KB))).status).toBe(200);
    expect(await app.service.media.totalBytes()).toBeLessThanOrEqual(100 * KB);
  });
});
