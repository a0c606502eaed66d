/**
 * Photo uploads under load, against the real service as a child process (`src/main.ts`, as in
 * production) on the embedded store:
 *
 * - 12 concurrent 24 MB uploads (three 8 MB photos each, every one in a report in progress, so
 *   all of it is taken and stored) raise the server's resident memory by less than 100 MB: a
 *   photo goes to the disk as it arrives. Measured on the server process (VmRSS of
 *   /proc/<pid>/status, sampled every 20 ms), not in this one: an app run in-process would count
 *   the test's own request bodies and client buffers too, and the peak is what runs a machine out
 *   of memory. Before streaming, each request was held whole (twice, when joined): hundreds of MB.
 * - Uploads repeated until the storage cap (PHOTO_STORAGE_MB) stop there with 507, four at once
 *   at the edge included, and the media folder stays under the cap.
 *
 * Linux only (the memory is read from /proc).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startService, type ChildService } from './support/child-service.js';
import { send } from './support/client.js';

const MB = 1024 * 1024;
const onLinux = process.platform === 'linux';
const started: { service: ChildService; dataDir: string }[] = [];
afterAll(async () => {
  for (const { service, dataDir } of started) {
    await service.kill9();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

async function serviceWith(env: Record<string, string>): Promise<{ service: ChildService; dataDir: string }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-uploads-'));
  const service = await startService(
    { DATA_DIR: dataDir, CITY_NAME: 'Springfield', RATE_LIMIT_NEW_CHATS_PER_MINUTE: '0', PHOTOS_PER_ADDRESS: '0', PHOTO_MB_PER_ADDRESS: '0', ...env },
    await freePort(),
  );
  const running = { service, dataDir };
  started.push(running);
  return running;
}

/** A web chat conversation at its report's photo step. */
async function reportInProgress(url: string): Promise<{ conversationId: string; token: string }> {
  const dl = `${url}/v3/directline`;
  const generated = JSON.parse((await send({ url: `${dl}/tokens/generate` })).text) as { token: string };
  const chat = JSON.parse((await send({ url: `${dl}/conversations`, headers: { authorization: `Bearer ${generated.token}` } })).text) as {
    conversationId: string;
    token: string;
  };
  for (const [text, choice] of [['Report a problem', 'report'], ['Pothole', 'pothole'], ['Elm St and 3rd'], ['Deep hole in the crosswalk']]) {
    const posted = await send({
      url: `${dl}/conversations/${chat.conversationId}/activities`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${chat.token}` },
      body: JSON.stringify({ type: 'message', text, ...(choice ? { value: { choice } } : {}) }),
    });
    if (posted.status !== 200) throw new Error(`${text}: ${posted.status} ${posted.text}`);
  }
  return chat;
}

/** A photo of `size` bytes (a PNG's signature, then filler): one buffer, written as often as sent. */
function photoOf(size: number): Buffer {
  const photo = Buffer.alloc(size, 0x5a);
  Buffer.from('89504e470d0a1a0a', 'hex').copy(photo);
  return photo;
}

/**
 * Uploads `count` copies of `photo` as Web Chat does (multipart: the activity, then the files),
 * writing the same buffer each time so this process holds one photo, whatever the upload's size.
 */
function upload(url: string, chat: { conversationId: string; token: string }, photo: Buffer, count: number): Promise<{ status: number; text: string }> {
  const boundary = `----civicline${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="activity"; filename="blob"\r\nContent-Type: application/vnd.microsoft.activity\r\n\r\n` +
      `${JSON.stringify({ type: 'message', from: { id: 'me' } })}\r\n`,
  );
  const fileHead = (i: number) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="p${i}.png"\r\nContent-Type: image/png\r\n\r\n`);
  const parts: Buffer[] = [head];
  for (let i = 0; i < count; i++) parts.push(fileHead(i), photo, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v3/directline/conversations/${chat.conversationId}/upload?userId=me`,
      {
        method: 'POST',
        // A socket each: the uploads run side by side.
        agent: new Agent({ keepAlive: false }),
        headers: { authorization: `Bearer ${chat.token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(length) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.setTimeout(120_000, () => req.destroy(new Error('no answer within 120 s')));
    req.on('error', reject);
    void (async () => {
      for (const part of parts) if (!req.write(part)) await new Promise((drained) => req.once('drain', drained));
      req.end();
    })();
  });
}

/** The server process's resident memory now (bytes). */
function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** The bytes of the files in a folder (and its subfolders). */
function folderBytes(dir: string): number {
  let bytes = 0;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const stats = statSync(path.join(dir, name));
    if (stats.isFile()) bytes += stats.size;
  }
  return bytes;
}

describe.skipIf(!onLinux)('photo uploads under load', () => {
  it('12 concurrent 24 MB uploads raise the server’s memory by less than 100 MB', async () => {
    const { service, dataDir } = await serviceWith({});
    const pid = service.child.pid!;
    const chats = await Promise.all(Array.from({ length: 13 }, () => reportInProgress(service.url)));
    // Warm up the upload path (parsers, the media folder, JIT), then measure from a settled baseline.
    expect((await upload(service.url, chats[12]!, photoOf(512 * 1024), 1)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const baseline = rssOf(pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
    const photo = photoOf(8_000_000);
    const started = performance.now();
    const results = await Promise.all(chats.slice(0, 12).map((chat) => upload(service.url, chat, photo, 3)));
    clearInterval(sampler);
    peak = Math.max(peak, rssOf(pid));
    console.log(
      `12 concurrent uploads of 3 × 8 MB: ${Math.round(performance.now() - started)} ms; server RSS ${(baseline / MB).toFixed(0)} MB → peak ${(peak / MB).toFixed(0)} MB (+${((peak - baseline) / MB).toFixed(1)} MB)`,
    );
    expect(results.map((result) => result.status)).toEqual(Array.from({ length: 12 }, () => 200));
    // Every photo was stored, whole.
    const stored = readdirSync(path.join(dataDir, 'media')).filter((name) => statSync(path.join(dataDir, 'media', name)).size === 8_000_000);
    expect(stored).toHaveLength(36);
    expect(peak - baseline).toBeLessThan(100 * MB);
  }, 240_000);

  it('repeated uploads stop at PHOTO_STORAGE_MB with 507, and the media folder stays under it', async () => {
    const { service, dataDir } = await serviceWith({ PHOTO_STORAGE_MB: '40' });
    const media = path.join(dataDir, 'media');
    const photo = photoOf(3 * MB);
    const statuses: number[] = [];
    // Four at once, from four conversations, round after round: the last rounds reach the cap together.
    for (let round = 0; round < 6; round++) {
      const chats = await Promise.all(Array.from({ length: 4 }, () => reportInProgress(service.url)));
      const results = await Promise.all(chats.map((chat) => upload(service.url, chat, photo, 1)));
      statuses.push(...results.map((result) => result.status));
      expect(folderBytes(media)).toBeLessThanOrEqual(40 * MB);
    }
    console.log(`uploads of 3 MB against a 40 MB cap: ${statuses.join(' ')}; the folder holds ${(folderBytes(media) / MB).toFixed(1)} MB`);
    // Taken until the cap, then refused with 507 (never any other answer), and nothing more stored.
    expect(statuses.every((status) => status === 200 || status === 507)).toBe(true);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(12);
    expect(statuses.slice(-4)).toEqual([507, 507, 507, 507]);
    const full = folderBytes(media);
    const late = await reportInProgress(service.url);
    expect((await upload(service.url, late, photo, 1)).status).toBe(507);
    expect(folderBytes(media)).toBe(full);
  }, 240_000);
});
