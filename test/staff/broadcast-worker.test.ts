/**
 * The broadcast worker with the real service: SMS through the twilio client to a fake Twilio
 * API, Telegram through telegraf to a fake Bot API, web chat into the Direct Line log. Every
 * recipient gets the message once and opted-out residents none, each channel keeps its rate,
 * pause / resume / cancel act promptly, quiet hours defer (with an injected clock), and the
 * worker's own decisions (retry, record, recover a crash's leftovers) are checked with a stub
 * notifier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { ChannelName } from '../../src/core/message.js';
import type { DeliveryRecord, ResidentRecord } from '../../src/domain/records.js';
import type { SendOutcome } from '../../src/channels/channel.js';
import type { Service } from '../../src/service.js';
import { createBroadcastWorker, type BroadcastWorker } from '../../src/staff/broadcast-worker.js';
import {
  broadcastProgress,
  cancelBroadcast,
  createBroadcast,
  deliveryBucket,
  deliveryId,
  MAX_MESSAGE_LENGTH,
  pauseBroadcast,
  resumeBroadcast,
  SMS_BROADCAST_SEGMENTS,
  withState,
  type BroadcastProgress,
} from '../../src/staff/broadcasts.js';
import type { Notification, ResidentNotifier } from '../../src/staff/resident-notifier.js';
import { startTestService } from '../support/harness.js';
import { smsSegments } from '../../src/channels/sms/gsm7.js';
import { ON_MONGODB } from '../support/test-store.js';
import { BOT_TOKEN, startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { ACCOUNT_SID, AUTH_TOKEN, startFakeTwilio, type FakeTwilio } from '../support/twilio.js';

// Rates low enough that a send delayed by a busy machine (up to a tenth of a second) cannot
// squeeze one more message into a second at the fake: the check is on the pacing, not on speed.
const SMS_RATE = 10;
const TELEGRAM_RATE = 10;
const STAFF = { username: 'coordinator', role: 'coordinator' as const };

let twilio: FakeTwilio;
let telegram: FakeTelegram;
let started: Awaited<ReturnType<typeof startTestService>>;
let service: Service;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  telegram = await startFakeTelegram();
  started = await startTestService(
    {
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_FROM: '+12175550100',
      TWILIO_MESSAGES_PER_SECOND: String(SMS_RATE),
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      QUIET_HOURS: 'off',
    },
    // Each chat gets one message: the per-chat limit is not what is measured here.
    { twilioHttpClient: twilio.httpClient, telegramRates: { globalPerSecond: TELEGRAM_RATE, perChatPerSecond: 1000 } },
  );
  service = started.service;
});
afterAll(async () => {
  await started.close();
  await twilio.close();
  await telegram.close();
});

let nextNumber = 1000;

/** Residents of one test, in a neighbourhood of their own so each test's audience is its own. */
async function seed(neighbourhood: string, counts: Partial<Record<ChannelName, { reachable: number; optedOut?: number }>>): Promise<ResidentRecord[]> {
  const residents: ResidentRecord[] = [];
  for (const [channel, { reachable, optedOut = 0 }] of Object.entries(counts) as [ChannelName, { reachable: number; optedOut?: number }][]) {
    for (let i = 0; i < reachable + optedOut; i++) {
      const n = nextNumber++;
      const address =
        channel === 'sms'
          ? `sms:+1312555${String(n).padStart(4, '0')}`
          : channel === 'telegram'
            ? `telegram:${90_000_000 + n}`
            : `webchat:w${n}${neighbourhood}`;
      residents.push({
        _id: address,
        _rev: 1,
        address,
        channel,
        locale: n % 3 === 0 ? 'es' : 'en',
        optedOut: i >= reachable,
        volunteerCalls: true,
        interests: [],
        neighbourhood,
        createdAt: new Date(),
        lastSeenAt: new Date(),
      });
    }
  }
  // Someone who did not opt in to volunteer calls: never planned.
  const bystander = `sms:+1312666${String(nextNumber++).padStart(4, '0')}`;
  await service.store.residents.insert({ ...residents[0]!, _id: bystander, address: bystander, channel: 'sms', volunteerCalls: false });
  await Promise.all(residents.map((resident) => service.store.residents.insert(resident)));
  return residents;
}

/** FerretDB (CI's MongoDB server) makes a delivery several times slower than the embedded store. */
const WAIT_MS = ON_MONGODB ? 150_000 : 25_000;
/** A whole test's time: the waits above and the checks after them. */
const TEST_MS = ON_MONGODB ? 240_000 : 60_000;

async function waitFor(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function progressOf(id: string): Promise<BroadcastProgress> {
  const progress = await broadcastProgress(service.store, id);
  if (!progress) throw new Error(`No broadcast ${id}`);
  return progress;
}

/** How many messages each address got at the fakes (and in the web chat log), for these residents. */
async function receivedBy(residents: readonly ResidentRecord[], text: string): Promise<Map<string, number>> {
  const counts = new Map(residents.map((r) => [r.address, 0]));
  const bump = (address: string) => counts.has(address) && counts.set(address, counts.get(address)! + 1);
  for (const request of twilio.requests) if (request.form['Body']?.startsWith(text)) bump(`sms:${request.form['To']}`);
  for (const call of telegram.callsOf('sendMessage')) if (String(call.payload['text']).startsWith(text)) bump(`telegram:${call.payload['chat_id']}`);
  for (const resident of residents.filter((r) => r.channel === 'webchat')) {
    const log = await service.store.webchatActivities.find({ field: 'conversationId', equals: resident.address.slice('webchat:'.length) });
    for (const entry of log) if (String((entry.activity as { text?: string }).text).startsWith(text)) bump(resident.address);
  }
  return counts;
}

/** The most requests that fall in any window of this length. */
function busiestWindow(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[j]! < sorted[i]! - windowMs + 1) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('the broadcast worker', () => {
  it(
    'sends every recipient the message exactly once on their channel, none to opted-out residents, at each channel’s rate',
    async () => {
      const residents = await seed('Everyone', {
        sms: { reachable: 50, optedOut: 6 },
        telegram: { reachable: 50, optedOut: 6 },
        webchat: { reachable: 150, optedOut: 4 },
      });
      const text = 'Volunteers wanted: the spring clean-up';
      const { broadcast, plan } = await createBroadcast(
        service,
        { messages: { en: `${text}, Saturday 9am.`, es: `${text}, sábado 9am.` }, audience: { neighbourhoods: ['Everyone'] } },
        STAFF,
      );
      expect(plan).toEqual({ planned: 266, queued: 250, skipped: { opted_out: 16 } });

      service.broadcasts.start();
      await waitFor('the broadcast to be done', async () => (await progressOf(broadcast._id)).status === 'done');

      const received = await receivedBy(residents, text);
      for (const resident of residents) expect(received.get(resident.address), resident.channel).toBe(resident.optedOut ? 0 : 1);
      const progress = await progressOf(broadcast._id);
      expect(progress.byState).toEqual({ queued: 0, sending: 0, sent: 250, delivered: 0, failed: 0, skipped: 16 });
      expect(progress.byChannel).toEqual({
        sms: { queued: 0, sending: 0, sent: 50, delivered: 0, failed: 0, skipped: 6 },
        telegram: { queued: 0, sending: 0, sent: 50, delivered: 0, failed: 0, skipped: 6 },
        webchat: { queued: 0, sending: 0, sent: 150, delivered: 0, failed: 0, skipped: 4 },
      });
      expect(progress.byReason).toEqual({ opted_out: 16 });
      expect(progress.finishedAt).toBeInstanceOf(Date);

      // In the resident's language: Spanish speakers got the Spanish variant (in GSM-7 on SMS).
      const spanish = residents.find((r) => r.channel === 'telegram' && r.locale === 'es' && !r.optedOut)!;
      expect(telegram.callsOf('sendMessage').find((c) => `telegram:${c.payload['chat_id']}` === spanish.address)?.payload['text']).toContain('sábado');
      const spanishSms = residents.find((r) => r.channel === 'sms' && r.locale === 'es' && !r.optedOut)!;
      expect(twilio.requests.find((r) => `sms:${r.form['To']}` === spanishSms.address)?.form['Body']).toContain('sabado 9am');

      // Rate: never more in one second than the channel allows (one more for the window's edges).
      const smsTimes = twilio.requests.filter((r) => r.form['Body']?.startsWith(text)).map((r) => r.at);
      const telegramTimes = telegram
        .callsOf('sendMessage')
        .filter((c) => String(c.payload['text']).startsWith(text))
        .map((c) => c.at);
      console.info(`busiest second: ${busiestWindow(smsTimes)} SMS (rate ${SMS_RATE}), ${busiestWindow(telegramTimes)} Telegram (rate ${TELEGRAM_RATE})`);
      expect(busiestWindow(smsTimes)).toBeLessThanOrEqual(SMS_RATE + 1);
      expect(busiestWindow(telegramTimes)).toBeLessThanOrEqual(TELEGRAM_RATE + 1);
      // The lanes ran side by side: Telegram did not wait for the slower SMS lane to finish.
      expect(Math.min(...telegramTimes)).toBeLessThan(Math.max(...smsTimes) - 1000);
    },
    TEST_MS,
  );

  it(
    'ends a broadcast by SMS with the opt-out line in the resident’s language, within the segment budget; Telegram and web chat get none',
    async () => {
      const residents = await seed('OptOutLine', { sms: { reachable: 3 }, telegram: { reachable: 3 }, webchat: { reachable: 3 } });
      const [role] = await service.store.roles.find({ field: 'status', equals: 'open' }, { limit: 1 });
      const text = 'Opt-out line check';
      // The longest message staff may write, in each language, with a role (so the Yes/No is added too).
      const longest = (body: string) => `${text}: ${body.repeat(80)}`.slice(0, MAX_MESSAGE_LENGTH - 1) + '!';
      const { broadcast } = await createBroadcast(
        service,
        {
          messages: { en: longest('Bring gloves and water. '), es: longest('Trae guantes y agua, por favor. Será divertido. ') },
          audience: { neighbourhoods: ['OptOutLine'] },
          roleId: role!._id,
        },
        STAFF,
      );
      service.broadcasts.start();
      service.broadcasts.kick();
      await waitFor('the broadcast to be done', async () => (await progressOf(broadcast._id)).status === 'done');

      for (const resident of residents.filter((r) => r.channel === 'sms')) {
        const bodies = twilio.requests.filter((r) => `sms:${r.form['To']}` === resident.address).map((r) => r.form['Body'] ?? '');
        expect(bodies, resident.address).toHaveLength(1);
        const [body = ''] = bodies;
        // Folded into GSM-7 as every SMS is ("más" → "mas").
        expect(body.endsWith(resident.locale === 'es' ? '\n\nResponde STOP o PARAR para no recibir mas.' : '\n\nReply STOP to opt out.'), body.slice(-80)).toBe(
          true,
        );
        expect(body).toContain(resident.locale === 'es' ? '1. Si, inscribeme' : '1. Yes, sign me up');
        expect(smsSegments(body)).toMatchObject({ encoding: 'GSM-7' });
        expect(smsSegments(body).segments).toBeLessThanOrEqual(SMS_BROADCAST_SEGMENTS);
      }
      expect(residents.filter((r) => r.channel === 'sms').map((r) => r.locale)).toContain('es');
      const others = residents.filter((r) => r.channel !== 'sms');
      const telegramTexts = telegram
        .callsOf('sendMessage')
        .filter((c) => others.some((r) => r.address === `telegram:${c.payload['chat_id']}`))
        .map((c) => String(c.payload['text']));
      const webchatTexts: string[] = [];
      for (const resident of others.filter((r) => r.channel === 'webchat')) {
        const log = await service.store.webchatActivities.find({ field: 'conversationId', equals: resident.address.slice('webchat:'.length) });
        webchatTexts.push(...log.map((entry) => String((entry.activity as { text?: string }).text ?? '')));
      }
      expect(telegramTexts.filter((t) => t.startsWith(text))).toHaveLength(3);
      expect(webchatTexts.filter((t) => t.startsWith(text))).toHaveLength(3);
      for (const sent of [...telegramTexts, ...webchatTexts]) expect(sent).not.toMatch(/STOP|PARAR/);
    },
    TEST_MS,
  );

  it(
    'pauses promptly, resumes where it stopped, and cancel skips the rest',
    async () => {
      const residents = await seed('Pausing', { sms: { reachable: 60 } });
      const text = 'Tree planting needs hands';
      const { broadcast } = await createBroadcast(service, { messages: { en: text }, audience: { neighbourhoods: ['Pausing'] } }, STAFF);
      service.broadcasts.start();
      service.broadcasts.kick();
      const sentSoFar = async () => [...(await receivedBy(residents, text)).values()].reduce((sum, n) => sum + n, 0);

      await waitFor('some messages', async () => (await sentSoFar()) >= 10);
      await pauseBroadcast(service.store, broadcast._id, STAFF);
      await waitFor('the message in flight to finish', async () => (await progressOf(broadcast._id)).byState.sending === 0);
      const atPause = await sentSoFar();
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(await sentSoFar()).toBe(atPause);
      const paused = await progressOf(broadcast._id);
      expect(paused.status).toBe('paused');
      expect(paused.byState.sent).toBe(atPause);
      expect(paused.byState.queued).toBe(60 - atPause);

      await resumeBroadcast(service.store, broadcast._id, STAFF);
      service.broadcasts.kick();
      await waitFor('sending to go on', async () => (await sentSoFar()) >= atPause + 10);
      const { skipped } = await cancelBroadcast(service.store, broadcast._id, STAFF);
      await waitFor('the message in flight to finish', async () => (await progressOf(broadcast._id)).byState.sending === 0);
      const atCancel = await sentSoFar();
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(await sentSoFar()).toBe(atCancel);

      const progress = await progressOf(broadcast._id);
      expect(progress.status).toBe('cancelled');
      expect(progress.finishedAt).toBeInstanceOf(Date);
      expect(progress.byState).toMatchObject({ queued: 0, sending: 0, sent: atCancel, skipped: 60 - atCancel });
      expect(skipped).toBe(60 - atCancel);
      expect(progress.byReason).toEqual({ cancelled: 60 - atCancel });
      for (const count of (await receivedBy(residents, text)).values()) expect(count).toBeLessThanOrEqual(1);
    },
    TEST_MS,
  );

  it('waits out quiet hours in the city’s time zone, and a scheduled broadcast waits for its time', async () => {
    await service.broadcasts.stop();
    const residents = await seed('Quiet', { webchat: { reachable: 12 } });
    // 23:00 in New York (CITY_TIMEZONE): inside 21:00–08:00.
    let clock = new Date('2030-01-15T04:00:00Z');
    const worker = createBroadcastWorker({
      store: service.store,
      notifier: service.notifier,
      reaches: () => true,
      config: { ...service.config, quietHours: { start: 21 * 60, end: 8 * 60 } },
      logger: pino({ level: 'silent' }),
      now: () => clock,
      pollMs: 20,
    });
    const { broadcast: now } = await createBroadcast(service, { messages: { en: 'Quiet please' }, audience: { neighbourhoods: ['Quiet'] } }, STAFF, clock);
    const { broadcast: at9 } = await createBroadcast(
      service,
      { messages: { en: 'At nine' }, audience: { neighbourhoods: ['Quiet'] }, sendAt: new Date('2030-01-15T14:00:00Z') },
      STAFF,
      clock,
    );
    try {
      worker.start();
      await worker.idle();
      expect(await progressOf(now._id)).toMatchObject({ status: 'scheduled', byState: { queued: 12, sent: 0 } });

      clock = new Date('2030-01-15T13:00:00Z'); // 08:00: quiet hours are over
      await worker.idle();
      await waitFor('the first broadcast to be done', async () => (await progressOf(now._id)).status === 'done');
      expect((await progressOf(now._id)).byState.sent).toBe(12);
      expect(await progressOf(at9._id)).toMatchObject({ status: 'scheduled', byState: { queued: 12 } });
      for (const count of (await receivedBy(residents, 'Quiet please')).values()) expect(count).toBe(1);

      clock = new Date('2030-01-15T14:00:00Z'); // 09:00: its time
      await worker.idle();
      await waitFor('the scheduled broadcast to be done', async () => (await progressOf(at9._id)).status === 'done');
      for (const count of (await receivedBy(residents, 'At nine')).values()) expect(count).toBe(1);
    } finally {
      await worker.stop();
    }
  });
});

describe('the worker’s own decisions (stub notifier)', () => {
  /** A notifier that answers from a script per address, and records every call. */
  function stubNotifier(script: Record<string, SendOutcome[]>): ResidentNotifier & { calls: { address: string; key: string }[] } {
    const calls: { address: string; key: string }[] = [];
    return {
      calls,
      async notify(address: string, notification: Notification) {
        calls.push({ address, key: notification.key });
        return script[address]?.shift() ?? { state: 'sent' };
      },
    };
  }

  function workerWith(notifier: ResidentNotifier): BroadcastWorker {
    return createBroadcastWorker({
      store: service.store,
      notifier,
      reaches: () => true,
      config: { ...service.config, quietHours: null },
      logger: pino({ level: 'silent' }),
      pollMs: 20,
      retryBackoffMs: 10,
    });
  }

  it('retries what the channel calls retryable, records skips and permanent failures with their reason', async () => {
    await service.broadcasts.stop();
    const [flaky, gone, broken, fine] = await seed('Decisions', { webchat: { reachable: 4 } });
    const notifier = stubNotifier({
      [flaky!.address]: [{ state: 'failed', error: 'busy', retryable: true }],
      [gone!.address]: [{ state: 'skipped', reason: 'opted_out' }],
      [broken!.address]: [{ state: 'failed', error: '400: bad chat +13125550199', retryable: false }],
    });
    const { broadcast } = await createBroadcast(service, { messages: { en: 'Hi' }, audience: { neighbourhoods: ['Decisions'] } }, STAFF);
    const worker = workerWith(notifier);
    worker.start();
    try {
      await waitFor('done', async () => (await progressOf(broadcast._id)).status === 'done');
    } finally {
      await worker.stop();
    }
    const delivery = (resident: ResidentRecord) => service.store.deliveries.get(deliveryId(broadcast._id, resident.address));
    expect(await delivery(flaky!)).toMatchObject({ state: 'sent', attempts: 2 });
    expect(await delivery(gone!)).toMatchObject({ state: 'skipped', reason: 'opted_out', attempts: 1 });
    const failed = await delivery(broken!);
    expect(failed).toMatchObject({ state: 'failed', reason: 'send_failed', attempts: 1 });
    expect(failed?.lastError).toContain('[number]');
    expect(await delivery(fine!)).toMatchObject({ state: 'sent', attempts: 1 });
    // Every notification is keyed by its delivery, so the channel sends it once whatever happens.
    expect(notifier.calls.every((call) => call.key === deliveryId(broadcast._id, call.address))).toBe(true);
  });

  it(
    'two workers on one store (two instances) send each delivery once, and keep to the channel’s rate together',
    async () => {
      const residents = await seed('TwoInstances', { webchat: { reachable: 24 } });
      const { broadcast } = await createBroadcast(service, { messages: { en: 'Hi' }, audience: { neighbourhoods: ['TwoInstances'] } }, STAFF);
      // Stub channels pace nothing: the only pace is the one the two workers share.
      const stubs = [stubNotifier({}), stubNotifier({})];
      const times: number[] = [];
      const workers = stubs.map((stub) =>
        createBroadcastWorker({
          store: service.store,
          notifier: { notify: (address, notification) => (times.push(Date.now()), stub.notify(address, notification)) },
          reaches: () => true,
          config: { ...service.config, quietHours: null },
          logger: pino({ level: 'silent' }),
          pollMs: 20,
          rates: { webchat: 10 },
        }),
      );
      for (const worker of workers) worker.start();
      try {
        await waitFor('done', async () => (await progressOf(broadcast._id)).status === 'done');
      } finally {
        for (const worker of workers) await worker.stop();
      }
      const sent = stubs.flatMap((stub) => stub.calls.map((call) => call.address)).sort();
      expect(sent).toEqual(residents.map((r) => r.address).sort());
      // Both took part, and together they kept to 10 a second (one more for the window's edges).
      expect(stubs.every((stub) => stub.calls.length > 0)).toBe(true);
      expect(busiestWindow(times)).toBeLessThanOrEqual(11);
    },
    TEST_MS,
  );

  it('lets the broadcasts sending at once take turns: a message to a shift does not wait for a long volunteer call to finish', async () => {
    await service.broadcasts.stop();
    const everyone = await seed('TurnsCall', { webchat: { reachable: 30 } });
    const shiftVolunteers = await seed('TurnsShift', { webchat: { reachable: 2 } });
    // The long call first (at one message a second by SMS, 100,000 residents take a day), then a
    // coordinator's "we meet at the north gate" to one shift's volunteers.
    const { broadcast: call } = await createBroadcast(service, { messages: { en: 'Call' }, audience: { neighbourhoods: ['TurnsCall'] } }, STAFF);
    const { broadcast: note } = await createBroadcast(service, { messages: { en: 'Gate' }, audience: { neighbourhoods: ['TurnsShift'] } }, STAFF);
    const notifier = stubNotifier({});
    const worker = workerWith(notifier);
    worker.start();
    try {
      await waitFor('both done', async () => (await progressOf(call._id)).status === 'done' && (await progressOf(note._id)).status === 'done');
    } finally {
      await worker.stop();
    }
    const order = notifier.calls.map((entry) => entry.address);
    expect(order.slice().sort()).toEqual([...everyone, ...shiftVolunteers].map((r) => r.address).sort());
    // Both of the shift's volunteers were among the first messages, not after the 30 of the call.
    const lastOfNote = Math.max(...shiftVolunteers.map((r) => order.indexOf(r.address)));
    expect(lastOfNote).toBeLessThan(6);
  });

  it('keeps its claim through a send longer than the lease, so another worker never sends it too', async () => {
    const [slow] = await seed('LongSend', { webchat: { reachable: 1 } });
    const { broadcast } = await createBroadcast(service, { messages: { en: 'Hi' }, audience: { neighbourhoods: ['LongSend'] } }, STAFF);
    const calls: string[] = [];
    // A channel that takes three leases' time to answer, as Twilio retrying inside one send can.
    // The lease is a second, renewed every third of it: at 300 ms a renewal on a loaded CI
    // machine over FerretDB once came too late, and the other worker rightly took the delivery.
    const slowNotifier: ResidentNotifier = {
      async notify(address) {
        calls.push(address);
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        return { state: 'sent' };
      },
    };
    const options = {
      store: service.store,
      reaches: () => true,
      config: { ...service.config, quietHours: null },
      logger: pino({ level: 'silent' }),
      pollMs: 20,
      leaseMs: 1_000,
    };
    const first = createBroadcastWorker({ ...options, notifier: slowNotifier });
    const second = createBroadcastWorker({ ...options, notifier: slowNotifier });
    first.start();
    await waitFor('the first claim', async () => calls.length === 1);
    second.start();
    try {
      await waitFor('done', async () => (await progressOf(broadcast._id)).status === 'done');
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
    expect(calls).toEqual([slow!.address]);
    expect(await service.store.deliveries.get(deliveryId(broadcast._id, slow!.address))).toMatchObject({ state: 'sent', attempts: 1 });
  });

  it('leaves alone a delivery another worker holds a lease on, and takes it over once the lease has run out', async () => {
    const [held, other] = await seed('Leases', { webchat: { reachable: 2 } });
    const { broadcast } = await createBroadcast(service, { messages: { en: 'Hi' }, audience: { neighbourhoods: ['Leases'] } }, STAFF);
    // Another instance claimed this one and is sending it (its lease runs for ten more minutes).
    const id = deliveryId(broadcast._id, held!.address);
    const claimed = (await service.store.deliveries.get(id))!;
    await service.store.deliveries.replace(
      withState(claimed, 'sending', new Date(), { attempts: 1, leaseUntil: new Date(Date.now() + 600_000) }),
      claimed._rev,
    );

    const notifier = stubNotifier({ [held!.address]: [{ state: 'failed', error: 'interrupted', retryable: false, interrupted: true }] });
    const worker = workerWith(notifier);
    worker.start();
    try {
      await waitFor('the other delivery', async () => (await service.store.deliveries.get(deliveryId(broadcast._id, other!.address)))?.state === 'sent');
      await worker.idle();
      expect(notifier.calls.map((call) => call.address)).toEqual([other!.address]);
      expect(await service.store.deliveries.get(id)).toMatchObject({ state: 'sending', attempts: 1 });
      expect((await progressOf(broadcast._id)).status).toBe('sending');

      // That instance died: its lease runs out, and this worker asks the channel about it, once.
      const left = (await service.store.deliveries.get(id))!;
      await service.store.deliveries.replace({ ...left, leaseUntil: new Date(Date.now() - 1) }, left._rev);
      await waitFor('done', async () => (await progressOf(broadcast._id)).status === 'done');
    } finally {
      await worker.stop();
    }
    expect(notifier.calls.map((call) => call.address)).toEqual([other!.address, held!.address]);
    const settled = await service.store.deliveries.get(id);
    expect(settled).toMatchObject({ state: 'failed', reason: 'interrupted', attempts: 2 });
    expect(settled).not.toHaveProperty('leaseUntil');
  });

  it('after a restart, asks the channel once about a delivery left sending, and never a second time', async () => {
    const [leftOnce, leftTwice, queued] = await seed('Leftovers', { webchat: { reachable: 3 } });
    const { broadcast } = await createBroadcast(service, { messages: { en: 'Hi' }, audience: { neighbourhoods: ['Leftovers'] } }, STAFF);
    // What a crash leaves: one delivery claimed and cut off; one whose recovery was cut off too.
    const leave = async (resident: ResidentRecord, changes: Partial<DeliveryRecord>) => {
      const delivery = (await service.store.deliveries.get(deliveryId(broadcast._id, resident.address)))!;
      await service.store.deliveries.replace(withState(delivery, 'sending', new Date(), { attempts: 1, ...changes }), delivery._rev);
    };
    await leave(leftOnce!, {});
    await leave(leftTwice!, { reason: 'recovering', attempts: 2 });
    expect(await service.store.deliveries.count({ field: 'bucket', equals: deliveryBucket(broadcast._id, 'sending', 'webchat') })).toBe(2);

    const notifier = stubNotifier({ [leftOnce!.address]: [{ state: 'failed', error: 'interrupted', retryable: false, interrupted: true }] });
    const worker = workerWith(notifier);
    worker.start();
    try {
      await waitFor('done', async () => (await progressOf(broadcast._id)).status === 'done');
    } finally {
      await worker.stop();
    }
    expect(notifier.calls.map((call) => call.address).sort()).toEqual([leftOnce!.address, queued!.address].sort());
    const delivery = (resident: ResidentRecord) => service.store.deliveries.get(deliveryId(broadcast._id, resident.address));
    expect(await delivery(leftOnce!)).toMatchObject({ state: 'failed', reason: 'interrupted', attempts: 2 });
    expect(await delivery(leftTwice!)).toMatchObject({ state: 'failed', reason: 'interrupted', attempts: 2 });
    expect(await delivery(queued!)).toMatchObject({ state: 'sent', attempts: 1 });
  });
});
