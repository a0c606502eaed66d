/**
 * Store faults: the store stops taking writes while the service runs. Every channel must then
 * answer with an error status its provider retries (never a 2xx for a message that was not
 * stored), /readyz must turn red, the process must not die of it (lmdb-js's unhandled rejection
 * did; see below for what still can), and once the store is back the retried messages are taken
 * (once each), /readyz is green, and nothing acknowledged is missing.
 *
 * How the embedded store is made to fail, and why that way (measured on Linux, ext4):
 * - `chmod a-w` on the LMDB file and folder does not make the store unavailable. LMDB writes
 *   through the descriptor it opened read-write at start, and permissions are checked only when
 *   a file is opened; as root (CI) they are not checked at all. Writes go on succeeding and are
 *   durable, so there is nothing to lose: the first test shows exactly that.
 * - `chattr +i` (the immutable flag) refuses every write to the file, through descriptors
 *   already open too, for root as well (EPERM): LMDB's commits fail as they would on a failing
 *   or full disk. That is the fault injected here; it needs root (CAP_LINUX_IMMUTABLE) and a
 *   file system with the flag (ext4, xfs, btrfs), and the test says so and skips where it is not.
 *
 * The service runs as a child process, as in production: a fault that kills the process (as
 * lmdb-js's unhandled commit rejection did) shows as the process gone.
 *
 * Known and not fixed here: after failed commits, lmdb-js 3.5 sometimes corrupts its native heap
 * and the process aborts (glibc: "corrupted size vs. prev_size", "malloc(): invalid next size";
 * measured: concurrent ifVersion/ifNoExists blocks that write two databases, the record and an
 * index, in one failing transaction; about one run in three here; upstream kriszyp/lmdb-js#294 is
 * the same family). Nothing acknowledged is lost then either: a dying process answers nothing
 * (providers retry a dropped connection), LMDB reopens at its last commit, and a supervisor's
 * restart brings the service back (while the disk still refuses writes, opening fails, so it
 * comes back only with the disk). So this test accepts a dead process during or after the fault,
 * starts it again as a supervisor would, and checks the guarantees that hold either way.
 *
 * MongoDB (when MONGODB_URI is set): the service reaches the server through a TCP proxy in this
 * process, which drops every connection and refuses new ones for the outage.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.port.js';
import { startTestApp, type RunningApp } from '../support/http.js';
import { BOT_TOKEN, startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { startFakeConnector, type FakeConnector } from '../support/fake-connector.js';
import { AUTH_TOKEN } from '../support/twilio.js';
import { agent, send } from './support/client.js';
import { freePort, startService, type ChildService } from './support/child-service.js';
import {
  BotFrameworkResident,
  DirectLineResident,
  PUBLIC_URL,
  SmsResident,
  TELEGRAM_SECRET,
  TelegramResident,
  WebResident,
  type Answer,
  type Reachable,
} from './support/all-channels.js';

let telegram: FakeTelegram;
let connector: FakeConnector;
const children: ChildService[] = [];
const folders: string[] = [];
// An immutable file left behind (a test cut off mid-fault) could not even be deleted by root.
process.once('exit', () => {
  for (const folder of folders) setImmutable(path.join(folder, 'data.mdb'), false);
});

beforeAll(async () => {
  telegram = await startFakeTelegram();
  connector = await startFakeConnector();
});
afterAll(async () => {
  for (const child of children) await child.kill9();
  for (const folder of folders) {
    setImmutable(path.join(folder, 'data.mdb'), false);
    rmSync(folder, { recursive: true, force: true });
  }
  await telegram.close();
  await connector.close();
});

/** Sets or clears the immutable flag; false if this machine cannot. */
function setImmutable(file: string, on: boolean): boolean {
  try {
    execFileSync('chattr', [on ? '+i' : '-i', file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether `chattr +i` works here (root, and a file system with the flag). */
function immutableFlagWorks(): boolean {
  const folder = mkdtempSync(path.join(tmpdir(), 'civicline-chattr-'));
  const probe = path.join(folder, 'probe');
  writeFileSync(probe, 'x');
  const works = setImmutable(probe, true);
  setImmutable(probe, false);
  rmSync(folder, { recursive: true, force: true });
  return works;
}

/** The service as a child process with every channel on, on a new data folder. */
async function startChild(dataDir?: string, port?: number): Promise<{ service: ChildService; dataDir: string; reach: Reachable }> {
  const folder = dataDir ?? mkdtempSync(path.join(tmpdir(), 'civicline-faults-store-'));
  if (!dataDir) folders.push(folder);
  const service = await startService(
    {
      DATA_DIR: folder,
      CITY_NAME: 'Springfield',
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      PUBLIC_URL,
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      BOT_FRAMEWORK_DEV_MODE: 'true',
    },
    port ?? (await freePort()),
  );
  children.push(service);
  return { service, dataDir: folder, reach: { app: { url: service.url }, telegram, connector, agent } };
}

async function readyz(url: string): Promise<number> {
  return (await send({ method: 'GET', url: `${url}/readyz`, timeoutMs: 15_000 })).status;
}

/** One resident per channel, each able to send a message with a given id (to retry it). */
function residentsOf(reach: Reachable) {
  const sms = new SmsResident(reach);
  const tg = new TelegramResident(reach);
  const web = new WebResident(reach);
  const bf = new BotFrameworkResident(reach);
  let updates = 600_000_000 + Math.floor(Math.random() * 1_000_000) * 10;
  return {
    all: [
      { name: 'SMS', address: sms.address, newId: () => `SM${randomBytes(16).toString('hex')}`, send: (text: string, id: string) => sms.send(text, id) },
      { name: 'Telegram', address: tg.address, newId: () => String(updates++), send: (text: string, id: string) => tg.send(text, Number(id)) },
      // A getter: the JSON chat resident's id is issued by its first message.
      {
        name: 'web JSON',
        get address() {
          return web.address;
        },
        newId: () => randomBytes(12).toString('hex'),
        send: (text: string, id: string) => web.send(text, id),
      },
      { name: 'Bot Framework', address: bf.address, newId: () => randomBytes(8).toString('hex'), send: (text: string, id: string) => bf.send(text, id) },
    ],
  };
}

/** The inbound provider ids in a conversation's transcript, checking it has no gaps. */
async function inboundOf(store: Store, address: string): Promise<string[]> {
  const conversation = await store.conversations.get(address);
  const entries = await store.transcripts.find({ field: 'conversationId', equals: address }, { order: 'asc' });
  expect(
    entries.map((e) => e.seq),
    address,
  ).toEqual(entries.map((_, i) => i));
  expect(entries.length, address).toBe(conversation?.transcriptLength ?? 0);
  return entries.filter((e) => e.direction === 'in').map((e) => e.providerMessageId ?? '');
}

const ok = (answer: Answer) => answer.status >= 200 && answer.status < 300;

describe('embedded store', () => {
  it('chmod read-only under a running service loses nothing (LMDB writes through its open file)', async () => {
    const { service, dataDir, reach } = await startChild();
    const { all } = residentsOf(reach);
    const acknowledged = new Map<string, string[]>();
    chmodSync(path.join(dataDir, 'data.mdb'), 0o444);
    chmodSync(dataDir, 0o555);
    try {
      for (const resident of all) {
        for (const text of ['hi', 'report a problem']) {
          const id = resident.newId();
          const answer = await resident.send(text, id);
          // Either refused for a retry, or taken and stored: never acknowledged and lost.
          expect([200, 500, 503], `${resident.name}: ${answer.response.text}`).toContain(answer.status);
          if (ok(answer)) acknowledged.set(resident.address, [...(acknowledged.get(resident.address) ?? []), id]);
        }
      }
    } finally {
      chmodSync(dataDir, 0o755);
      chmodSync(path.join(dataDir, 'data.mdb'), 0o644);
    }
    expect(await service.stop(), service.stderr()).toBe(0);
    const store = await openStore({ dataDir });
    try {
      for (const [address, ids] of acknowledged) {
        const inbound = await inboundOf(store, address);
        for (const id of ids)
          expect(
            inbound.filter((each) => each === id || each.endsWith(`:${id}`)),
            address,
          ).toHaveLength(1);
      }
    } finally {
      await store.close();
    }
  });

  const immutable = immutableFlagWorks();
  if (!immutable) console.log('store faults: chattr +i is not available here (needs root and ext4/xfs/btrfs): the write-failure test is skipped');

  it.skipIf(!immutable)(
    'a store that refuses writes: never a 2xx for what was not stored, /readyz red; then everything recovers',
    async () => {
      let { service, dataDir, reach } = await startChild();
      const port = Number(new URL(service.url).port);
      const dataFile = path.join(dataDir, 'data.mdb');
      const { all } = residentsOf(reach);
      const dl = new DirectLineResident(reach);
      await dl.start();
      const acknowledged = new Map<string, string[]>();
      const remember = (address: string, id: string) => acknowledged.set(address, [...(acknowledged.get(address) ?? []), id]);
      const crashes: string[] = [];
      const gone = () => service.child.exitCode !== null || service.child.signalCode !== null;
      /** After a dropped connection: whether the process is dying (its exit may take a moment to arrive). */
      const died = async () => {
        await Promise.race([service.exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
        return gone();
      };
      /** lmdb-js may abort the process after failed commits (see the module comment): start it again on the same port and folder. */
      const restartIfGone = async (when: string) => {
        if (!gone()) return;
        const { signal, code } = await service.exited;
        crashes.push(`${when}: ${signal ?? code} ${/(malloc|corrupted|free\(\)|Segmentation|Assertion)[^\n{]*/.exec(service.stderr())?.[0] ?? ''}`);
        ({ service } = await startChild(dataDir, port));
      };

      // Before: everything works.
      for (const resident of all) {
        const id = resident.newId();
        const answer = await resident.send('hi', id);
        expect(answer.status, `${resident.name}: ${answer.response.text}`).toBe(200);
        remember(resident.address, id);
      }
      expect(await readyz(service.url)).toBe(200);

      // The fault.
      expect(setImmutable(dataFile, true)).toBe(true);
      const failed: { resident: (typeof all)[number]; id: string }[] = [];
      try {
        expect(await readyz(service.url)).toBe(503);
        const newcomer = residentsOf(reach).all[0]!;
        for (const resident of [...all, newcomer]) {
          const id = resident.newId();
          const answer = await resident.send('report a problem', id);
          // An error the provider retries (Twilio with retries on or its fallback URL, Telegram and
          // the Bot Framework retry a 5xx, and a dropped connection), never a 2xx for a message that
          // was not stored. No answer at all only if the process died.
          if (answer.status === 0) expect(await died(), `${resident.name}: ${answer.response.error}`).toBe(true);
          else expect(answer.status, `${resident.name}: ${answer.status} ${answer.response.text}`).toBeGreaterThanOrEqual(500);
          if (resident !== newcomer) failed.push({ resident, id });
        }
        const dlPost = await dl.post('report a problem');
        expect(dlPost.status === 0 ? await died() : dlPost.status >= 500, `Direct Line: ${dlPost.status} ${dlPost.error ?? dlPost.text}`).toBe(true);
        if (!gone()) {
          // Still up: it answers what needs no write, and says it is not ready.
          expect((await send({ method: 'GET', url: `${service.url}/healthz` })).status).toBe(200);
          expect(await readyz(service.url)).toBe(503);
        }
      } finally {
        setImmutable(dataFile, false);
      }

      // Back: ready again, the providers' retries are taken, once, and new messages too.
      await restartIfGone('during the fault');
      expect(await readyz(service.url)).toBe(200);
      const sendSurviving = async (resident: (typeof all)[number], text: string, id: string) => {
        const answer = await resident.send(text, id);
        if (answer.status !== 0 || !(await died())) return answer;
        await restartIfGone('after the fault');
        return resident.send(text, id);
      };
      for (const { resident, id } of failed) {
        const answer = await sendSurviving(resident, 'report a problem', id);
        expect(answer.status, `${resident.name} retry: ${answer.response.error ?? answer.response.text}`).toBe(200);
        remember(resident.address, id);
        if (resident.name !== 'Telegram') expect(answer.replies.join('\n'), resident.name).toContain('What kind of problem');
      }
      for (const resident of all) {
        const id = resident.newId();
        const answer = await sendSurviving(resident, 'pothole', id);
        expect(answer.status).toBe(200);
        if (resident.name !== 'Telegram') expect(answer.replies.join('\n'), resident.name).toContain('Where is it?');
        remember(resident.address, id);
      }
      await restartIfGone('after the fault');
      expect((await dl.post('menu')).status).toBe(200);

      // A stop, a restart on the same file, and every acknowledged message is there once.
      const stopped = await service.stop();
      if (stopped !== 0) crashes.push(`on stop: ${service.child.signalCode ?? stopped}`);
      const again = await startChild(dataDir);
      expect(await readyz(again.service.url)).toBe(200);
      expect(await again.service.stop(), again.service.stderr()).toBe(0);
      const store = await openStore({ dataDir });
      try {
        for (const [address, ids] of acknowledged) {
          const inbound = await inboundOf(store, address);
          for (const id of ids)
            expect(
              inbound.filter((each) => each === id || each.endsWith(`:${id}`)),
              `${address} ${id}`,
            ).toHaveLength(1);
        }
      } finally {
        await store.close();
      }
      // Known, not ours to fix here: see the module comment (lmdb-js aborts after some failed commits).
      console.log(
        crashes.length
          ? `store faults: the process died and was started again: ${crashes.join('; ')}`
          : 'store faults: the process stayed up through the fault',
      );
    },
    90_000,
  );
});

/**
 * A TCP proxy to MongoDB that can "lose" the server: `down()` drops every connection and
 * refuses new ones; `up()` lets them through again.
 */
async function startMongoProxy(target: { host: string; port: number }): Promise<{ port: number; down(): void; up(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let available = true;
  const server: Server = createServer((client) => {
    if (!available) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    down() {
      available = false;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    up() {
      available = true;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const mongoUri = process.env.MONGODB_URI;
if (!mongoUri) console.log('store faults: MONGODB_URI is not set, so the MongoDB outage test is skipped (the embedded store is tested above)');

describe.skipIf(!mongoUri)('MongoDB store', () => {
  let proxy: Awaited<ReturnType<typeof startMongoProxy>>;
  let app: RunningApp;

  beforeAll(async () => {
    // A single host (the proxy stands in for it); a replica set's other members would be reached directly.
    const parsed = new URL(mongoUri!.replace(/^mongodb(\+srv)?:/, 'http:'));
    proxy = await startMongoProxy({ host: parsed.hostname, port: Number(parsed.port || 27017) });
    const database = `civicline_faults_${randomBytes(4).toString('hex')}`;
    const proxied = `mongodb://${parsed.username ? `${parsed.username}:${parsed.password}@` : ''}127.0.0.1:${proxy.port}/${database}?directConnection=true`;
    app = await startTestApp({ MONGODB_URI: proxied, TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_URL, RATE_LIMIT_MESSAGES_PER_MINUTE: '0' });
  });
  afterAll(async () => {
    proxy?.up();
    await app?.close();
    await proxy?.close();
  });

  it('the server goes away: 5xx within the webhook deadline, /readyz red; back: retries taken once', async () => {
    const reach: Reachable = { app: { url: app.url }, telegram, connector, agent };
    const sms = new SmsResident(reach);
    const web = new WebResident(reach);
    expect((await sms.send('hi')).status).toBe(200);
    expect((await web.send('hi')).status).toBe(200);

    proxy.down();
    const smsId = `SM${randomBytes(16).toString('hex')}`;
    const webId = randomBytes(12).toString('hex');
    try {
      expect(await readyz(app.url)).toBe(503);
      const started = Date.now();
      const texted = await sms.send('report a problem', smsId);
      // Twilio waits 15 s; an answer after our 10 s TwiML deadline would be a 200 and a lost message.
      expect(texted.status, texted.response.text).toBeGreaterThanOrEqual(500);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect((await web.send('report a problem', webId)).status).toBeGreaterThanOrEqual(500);
    } finally {
      proxy.up();
    }

    for (let i = 0; i < 50 && (await readyz(app.url)) !== 200; i++) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await readyz(app.url)).toBe(200);
    expect((await sms.send('report a problem', smsId)).replies.join('\n')).toContain('What kind of problem');
    expect((await web.send('report a problem', webId)).replies.join('\n')).toContain('What kind of problem');
    for (const [address, id] of [
      [sms.address, smsId],
      [web.address, webId],
    ] as const) {
      const inbound = await inboundOf(app.service.store, address);
      expect(inbound.filter((each) => each === id)).toHaveLength(1);
    }
  }, 120_000);
});
