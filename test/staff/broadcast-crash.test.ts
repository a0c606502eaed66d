/**
 * A broadcast survives `kill -9` in the middle of sending: the service and its worker run in a
 * child process against a data folder and the fake Twilio and Telegram APIs of this process;
 * the child is killed without warning several times while messages go out, started again, and
 * left to finish. Nobody gets the message twice, and every recipient is accounted for.
 *
 * Why a send a kill cut off is not retried: Twilio's Messages API and Telegram's sendMessage
 * take no idempotency key. When the process dies after the provider accepted a message but
 * before we recorded that, we cannot tell "sent" from "never sent", and sending again could
 * reach the resident twice. So such a delivery ends `failed` with reason `interrupted` (it may
 * have arrived). The worker sends one message per channel at a time, so each kill leaves at most
 * one such delivery per channel; a delivery claimed but not yet handed to the provider is sent
 * normally after the restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { ChannelName } from '../../src/core/message.js';
import type { ResidentRecord } from '../../src/domain/records.js';
import { createService, type Service } from '../../src/service.js';
import { broadcastProgress, createBroadcast } from '../../src/staff/broadcasts.js';
import { BOT_TOKEN, startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { ACCOUNT_SID, AUTH_TOKEN, startFakeTwilio, type FakeTwilio } from '../support/twilio.js';
import { freshTestStore, ON_MONGODB } from '../support/test-store.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-broadcast-crash-'));
// The embedded store in dataDir, or (in the mongodb project) one MongoDB database for every child.
const testStore = freshTestStore();
const children: ChildProcess[] = [];
const TEXT = 'Sandbags needed at the river today';
/**
 * 150 residents per channel on the embedded store; 60 on FerretDB (CI's MongoDB server), where a
 * delivery costs many times more and three kills of 450 took longer than the test may.
 */
const PER_CHANNEL = ON_MONGODB ? 60 : 150;
const OPTED_OUT = 5;
/** Kill the child once this many messages in total have reached residents. */
const KILL_AFTER = ON_MONGODB ? [15, 60, 110] : [40, 130, 230];

let twilio: FakeTwilio;
let telegram: FakeTelegram;
/** Called whenever a fake receives a request, before it answers. */
let onRequest: () => void = () => {};

/** The environment of the service, in the test process and the child alike. */
function environment(): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    ...testStore.env,
    LOG_LEVEL: 'silent',
    // A killed child's claims are taken over by the next one after this lease (the default is a minute).
    BROADCAST_LEASE_SECONDS: '1',
    CITY_NAME: 'Springfield',
    QUIET_HOURS: 'off',
    SEED_DEMO_DATA: 'false',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_FROM: '+12175550100',
    TWILIO_MESSAGES_PER_SECOND: '50',
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_ROOT: telegram.apiRoot,
  };
}

/** Opens the service in this process (while no child runs), for setting up and checking. */
async function openService(): Promise<Service> {
  return createService(loadConfig(environment()), pino({ level: 'silent' }), { twilioHttpClient: twilio.httpClient });
}

beforeAll(async () => {
  twilio = await startFakeTwilio();
  telegram = await startFakeTelegram();
  watch(twilio.requests);
  watch(telegram.calls);
});

/** Calls `onRequest` as a fake records a request: before its answer is even written. */
function watch(list: unknown[]): void {
  const push = list.push.bind(list);
  list.push = (...items: unknown[]) => {
    const length = push(...items);
    onRequest();
    return length;
  };
}
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await twilio.close();
  await telegram.close();
  rmSync(dataDir, { recursive: true, force: true });
  await testStore.drop();
});

/** A running child: the process, whether it said `done`, and a promise of its exit. */
interface Child {
  process: ChildProcess;
  done: () => boolean;
  exited: Promise<number | null>;
}

function startChild(broadcastId: string): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/staff/broadcast-crash.child.ts', twilio.url, broadcastId], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...environment() },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let done = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'done') done = true;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, done: () => done, exited };
}

// A child starts a whole service (tsx, NLU training) before it sends: on a loaded machine over
// FerretDB the first 15 messages once took longer than a minute.
async function waitFor(what: string, condition: () => boolean, timeoutMs = 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Broadcast messages received by each address at the two fakes. */
function receivedAtFakes(): Map<string, number> {
  const counts = new Map<string, number>();
  const bump = (address: string) => counts.set(address, (counts.get(address) ?? 0) + 1);
  for (const request of twilio.requests) if (request.form['Body']?.startsWith(TEXT)) bump(`sms:${request.form['To']}`);
  for (const call of telegram.callsOf('sendMessage')) if (String(call.payload['text']).startsWith(TEXT)) bump(`telegram:${call.payload['chat_id']}`);
  return counts;
}

const total = (counts: Map<string, number>) => [...counts.values()].reduce((sum, n) => sum + n, 0);

describe('a broadcast killed mid-send', () => {
  let broadcastId: string;
  const residents: ResidentRecord[] = [];

  beforeAll(async () => {
    const service = await openService();
    const channels: ChannelName[] = ['sms', 'telegram', 'webchat'];
    for (const channel of channels) {
      for (let i = 0; i < PER_CHANNEL + OPTED_OUT; i++) {
        const address =
          channel === 'sms' ? `sms:+1217444${String(i).padStart(4, '0')}` : channel === 'telegram' ? `telegram:${55_000_000 + i}` : `webchat:crash${i}`;
        const resident: ResidentRecord = {
          _id: address,
          _rev: 1,
          address,
          channel,
          locale: 'en',
          optedOut: i >= PER_CHANNEL,
          volunteerCalls: true,
          interests: [],
          createdAt: new Date(),
          lastSeenAt: new Date(),
        };
        residents.push(resident);
        await service.store.residents.insert(resident);
      }
    }
    const { broadcast } = await createBroadcast(
      service,
      { messages: { en: `${TEXT}. Reply if you can help.` }, audience: {} },
      { username: 'coordinator', role: 'coordinator' },
    );
    broadcastId = broadcast._id;
    await service.close();
  });

  it('sends nobody the message twice and accounts for every recipient, however often it is killed', async () => {
    // Killed the moment a fake receives a message, before it answers: the child dies with that
    // request in flight, the case that cannot be told apart from "sent". (Web chat messages are
    // only in the child's store, so the kills are timed on SMS and Telegram.)
    for (const threshold of KILL_AFTER) {
      const child = startChild(broadcastId);
      let killed = false;
      onRequest = () => {
        if (!killed && total(receivedAtFakes()) >= threshold) {
          killed = child.process.kill('SIGKILL');
        }
      };
      await waitFor(`${threshold} messages at the fakes`, () => killed || child.done());
      onRequest = () => {};
      if (!killed) child.process.kill('SIGKILL');
      await child.exited;
    }
    const last = startChild(broadcastId);
    await waitFor('the broadcast to be done', () => last.done());
    last.process.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    const service = await openService();
    try {
      const received = receivedAtFakes();
      for (const resident of residents.filter((r) => r.channel === 'webchat')) {
        const log = await service.store.webchatActivities.find({ field: 'conversationId', equals: resident.address.slice('webchat:'.length) });
        const count = log.filter((entry) => String((entry.activity as { text?: string }).text).startsWith(TEXT)).length;
        if (count > 0) received.set(resident.address, count);
      }
      const deliveries = await service.store.deliveries.find({ field: 'broadcastId', equals: broadcastId });
      const progress = (await broadcastProgress(service.store, broadcastId))!;

      // Nobody received it twice.
      expect([...received.entries()].filter(([, count]) => count > 1)).toEqual([]);
      // Everyone whose delivery is `sent` received it, exactly once; opted-out residents nothing.
      for (const delivery of deliveries) {
        if (delivery.state === 'sent') expect(received.get(delivery.address), delivery.channel).toBe(1);
        if (delivery.reason === 'opted_out') expect(received.get(delivery.address)).toBeUndefined();
      }
      // Only a send a kill cut off may be in doubt: at most one per channel per kill, and at
      // least the one whose request each kill interrupted.
      const interrupted = deliveries.filter((d) => d.state === 'failed');
      expect(interrupted.every((d) => d.reason === 'interrupted')).toBe(true);
      expect(interrupted.length).toBeGreaterThanOrEqual(KILL_AFTER.length);
      for (const channel of ['sms', 'telegram', 'webchat'] as const) {
        expect(interrupted.filter((d) => d.channel === channel).length).toBeLessThanOrEqual(KILL_AFTER.length);
      }
      // Every recipient is accounted for, and the plan adds up.
      expect(progress.status).toBe('done');
      expect(progress.byState.queued + progress.byState.sending).toBe(0);
      expect(progress.byState.sent + progress.byState.failed).toBe(3 * PER_CHANNEL);
      expect(progress.byState.skipped).toBe(3 * OPTED_OUT);
      expect(Object.values(progress.byState).reduce((sum, n) => sum + n, 0)).toBe(progress.planned);
      expect(progress.planned).toBe(3 * (PER_CHANNEL + OPTED_OUT));
      console.info(`after ${KILL_AFTER.length} kills: ${progress.byState.sent} sent, ${interrupted.length} interrupted, ${total(received)} received`);
    } finally {
      await service.close();
    }
  }, 600_000);
});
