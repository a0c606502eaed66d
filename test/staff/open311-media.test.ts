/**
 * A forwarded report's photo as its `media_url` (issue 19): a resident uploads a photo in the web
 * chat, the report is forwarded, and the fake city server fetches the signed link from the running
 * app with no login and gets the exact bytes; the same link altered is refused (403), and once
 * past OPEN311_MEDIA_LINK_DAYS it is gone (410). Without PUBLIC_URL, or for a Telegram or MMS
 * photo (kept by the provider, behind our credentials), no media_url is sent.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import type { Service } from '../../src/service.js';
import { createMediaLinks } from '../../src/staff/media-links.js';
import { mediaIdIn } from '../../src/store/media-files.js';
import { startFakeOpen311, type FakeOpen311 } from '../support/fake-open311.js';
import { startTestService, referenceIn } from '../support/harness.js';

const DAY_MS = 86_400_000;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A PNG's first bytes, then `size` bytes in all, each run different so a mix-up shows. */
function png(size: number, fill: number): Buffer {
  const magic = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  return Buffer.concat([magic, Buffer.alloc(size - magic.length, fill)]);
}

async function cityServer(): Promise<FakeOpen311> {
  const fake = await startFakeOpen311({
    services: [{ service_code: 'pothole', service_name: 'Pothole', description: 'Holes in the road', type: 'realtime', keywords: 'hole', group: 'streets' }],
    recentRequests: 0,
    oldRequests: 0,
    fetchMedia: true,
  });
  cleanups.push(() => fake.close());
  return fake;
}

/**
 * The real app on 127.0.0.1 whose PUBLIC_URL is its own address: the port is taken first (the
 * server answers through a handler set once the app exists), so the links it signs reach it.
 * Its clock is the real one (the resident's turns run on it) moved on by `clock.shiftMs`.
 */
async function appAtItsPublicUrl(env: Record<string, string>, clock: { shiftMs: number } = { shiftMs: 0 }): Promise<{ url: string; service: Service }> {
  let handler: RequestListener = (_req, res) => res.writeHead(503).end();
  const server: Server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const started = await startTestService({ PUBLIC_URL: url, ...env }, { now: () => new Date(Date.now() + clock.shiftMs), open311TimeoutMs: 5000 });
  handler = createApp(started.service) as unknown as RequestListener;
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await started.close();
  });
  return { url, service: started.service };
}

/** A resident in the web chat (Direct Line) who reports a pothole with a photo; returns the report's reference. */
async function reportWithPhoto(url: string, photo: Buffer): Promise<string> {
  const dl = `${url}/v3/directline`;
  const generated = (await (await fetch(`${dl}/tokens/generate`, { method: 'POST' })).json()) as { token: string };
  const started = (await (await fetch(`${dl}/conversations`, { method: 'POST', headers: { authorization: `Bearer ${generated.token}` } })).json()) as {
    token: string;
    conversationId: string;
  };
  const auth = { authorization: `Bearer ${started.token}` };
  const say = async (text: string, choice?: string): Promise<string> => {
    const response = await fetch(`${dl}/conversations/${started.conversationId}/activities`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ type: 'message', text, ...(choice ? { value: { choice } } : {}) }),
    });
    expect(response.status, text).toBe(200);
    const { id } = (await response.json()) as { id: string };
    const log = (await (await fetch(`${dl}/conversations/${started.conversationId}/activities`, { headers: auth })).json()) as {
      activities: { replyToId?: string; text?: string; attachments?: { content?: { text?: string } }[] }[];
    };
    return log.activities
      .filter((a) => a.replyToId === id)
      .map((a) => a.text ?? a.attachments?.[0]?.content?.text ?? '')
      .join('\n');
  };
  await say('Report a problem', 'report');
  await say('Pothole', 'pothole');
  await say('Elm St and 5th St');
  expect(await say('Deep hole in the crosswalk')).toContain('photo');
  const form = new FormData();
  form.append('activity', new Blob([JSON.stringify({ type: 'message', from: { id: 'me' } })], { type: 'application/vnd.microsoft.activity' }));
  form.append('file', new Blob([photo], { type: 'image/png' }), 'hole.png');
  const upload = await fetch(`${dl}/conversations/${started.conversationId}/upload?userId=me`, { method: 'POST', headers: auth, body: form });
  expect(upload.status).toBe(200);
  return referenceIn(await say('Yes, send it', 'yes'));
}

/** A report filed straight through the runner, with the photos given (as a channel would store them). */
async function reportWithPhotos(service: Service, photos: { url: string; contentType: string }[]): Promise<string> {
  const result = await service.runner.run(
    { type: 'report.create', input: { description: 'Street light out', category: 'pothole', locationText: 'Oak St and 2nd', photos } },
    { address: `sms:+1555010${Math.floor(Math.random() * 9000 + 1000)}`, channel: 'sms', locale: 'en', sourceKey: randomUUID(), now: new Date() },
  );
  return (result.value as { ref: string }).ref;
}

describe("a forwarded report's photo as media_url", () => {
  it('is a signed link the city server fetches with no login and gets the exact bytes; altered it is refused, expired it is gone', async () => {
    const fake = await cityServer();
    const clock = { shiftMs: 0 };
    const { url, service } = await appAtItsPublicUrl({ OPEN311_ENDPOINT: fake.url, OPEN311_API_KEY: fake.apiKey, OPEN311_MEDIA_LINK_DAYS: '3' }, clock);
    const photo = png(3000, 41);
    const ref = await reportWithPhoto(url, photo);
    const before = Date.now();
    service.jobs.start();
    await service.jobs.idle();

    expect(fake.received).toHaveLength(1);
    const post = fake.received[0]!;
    expect(post.status).toBe(200);
    const mediaUrl = String(post.form['media_url']);
    const photoId = mediaIdIn((await service.store.reports.get(ref))!.photos[0]!.url)!;
    const link = new URL(mediaUrl);
    expect(`${link.origin}${link.pathname}`).toBe(`${url}/media/${photoId}`);
    // Three days from when it was sent, to the second.
    const expires = Number(link.searchParams.get('expires')) * 1000;
    expect(expires).toBeGreaterThanOrEqual(Math.floor((before + 3 * DAY_MS) / 1000) * 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3 * DAY_MS);
    expect(post.media).toMatchObject({ status: 200, contentType: 'image/png' });
    const fetched = post.media as { bytes: Buffer; cacheControl: string | null };
    expect(fetched.bytes.equals(photo)).toBe(true);
    expect(fetched.cacheControl).toMatch(/^private\b/);
    // The city's copy of the request keeps the link, as any Open311 client would see it.
    expect(fake.request(post.created!.service_request_id)?.media_url).toBe(mediaUrl);

    const get = async (href: string) => {
      const response = await fetch(href);
      return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()), type: response.headers.get('content-type') ?? '' };
    };
    const altered = (change: (link: URL) => void) => {
      const copy = new URL(mediaUrl);
      change(copy);
      return copy.href;
    };
    const sig = link.searchParams.get('sig')!;
    const otherPhoto = await service.media.save(png(500, 99), 'image/png');
    for (const forged of [
      altered((l) => l.searchParams.set('expires', String(Number(l.searchParams.get('expires')) + 30 * 86_400))),
      altered((l) => l.searchParams.set('sig', `${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`)),
      altered((l) => l.searchParams.delete('sig')),
      altered((l) => (l.pathname = `/media/${otherPhoto}`)),
      `${url}/media/${photoId}`,
    ]) {
      const refused = await get(forged);
      expect(refused.status, forged).toBe(403);
      expect(refused.type).toMatch(/json/);
      expect(refused.bytes.includes(photo.subarray(0, 64))).toBe(false);
    }
    // Unchanged, it still works (as often as asked) until it expires...
    expect((await get(mediaUrl)).bytes.equals(photo)).toBe(true);
    clock.shiftMs = expires - Date.now() - 60_000;
    expect((await get(mediaUrl)).status).toBe(200);
    // ...and then it is gone.
    clock.shiftMs = expires - Date.now();
    const expired = await get(mediaUrl);
    expect(expired.status).toBe(410);
    expect(expired.bytes.includes(photo.subarray(0, 64))).toBe(false);
  });

  it('is not sent without PUBLIC_URL (nothing to link to), nor for Telegram or MMS photos kept by the provider', async () => {
    const fake = await cityServer();
    const started = await startTestService({ OPEN311_ENDPOINT: fake.url, OPEN311_API_KEY: fake.apiKey }, { open311TimeoutMs: 5000 });
    cleanups.push(() => started.close());
    const own = await started.service.media.save(png(400, 7), 'image/png');
    await reportWithPhotos(started.service, [{ url: `http://127.0.0.1/v3/directline/media/${own}`, contentType: 'image/png' }]);
    started.service.jobs.start();
    await started.service.jobs.idle();
    expect(fake.received).toHaveLength(1);
    expect(fake.received[0]!.form).not.toHaveProperty('media_url');

    const { service } = await appAtItsPublicUrl({ OPEN311_ENDPOINT: fake.url, OPEN311_API_KEY: fake.apiKey });
    const twilioMedia = 'https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages/MM1/Media/ME1';
    await reportWithPhotos(service, [{ url: 'telegram-file:AgACAgIAAxkBAAIB', contentType: 'image/jpeg' }]);
    await reportWithPhotos(service, [{ url: twilioMedia, contentType: 'image/jpeg' }]);
    service.jobs.start();
    await service.jobs.idle();
    const posts = fake.received.slice(1);
    expect(posts.map((post) => post.status)).toEqual([200, 200]);
    for (const post of posts) expect(post.form).not.toHaveProperty('media_url');
    expect(JSON.stringify(posts.map((post) => post.form))).not.toMatch(/telegram-file|twilio/);
  });
});

describe('photo links', () => {
  it('are refused under another key, and made only with PUBLIC_URL and for a photo id', () => {
    const at = new Date('2026-11-20T15:00:00Z');
    const links = createMediaLinks({ secret: Buffer.alloc(32, 1), publicUrl: 'https://bot.city.example', now: () => at });
    const id = 'AAAAAAAAAAAAAAAAAAAAAA';
    const link = new URL(links.link(id, new Date(at.getTime() + DAY_MS))!);
    const [expires, sig] = [link.searchParams.get('expires'), link.searchParams.get('sig')];
    expect(links.check(id, expires, sig)).toEqual({ state: 'valid', secondsLeft: 86_400 });
    const otherKey = createMediaLinks({ secret: Buffer.alloc(32, 2), publicUrl: 'https://bot.city.example', now: () => at });
    expect(otherKey.check(id, expires, sig)).toEqual({ state: 'forged' });
    expect(links.check(id, [expires], sig)).toEqual({ state: 'forged' });
    expect(links.check('../../etc/passwd', expires, sig)).toEqual({ state: 'forged' });
    expect(createMediaLinks({ secret: Buffer.alloc(32, 1) }).link(id, at)).toBeNull();
    expect(links.link('not an id', at)).toBeNull();
  });
});
