/**
 * The job scheduler (src/staff/job-scheduler.ts) and scheduleJob (src/store/jobs.ts) against a
 * real store (the embedded one, or a fresh MongoDB database in the `mongodb` project), with
 * handlers written here that record every call:
 *
 * - two schedulers on one store run 200 jobs of 20 residents exactly once, each resident's in due
 *   order and never two of one resident at a time;
 * - a worker cut off past its lease loses the job to another, whose outcome stands (the stalled
 *   one's late outcome is not recorded); a crash's leftover (running, lease expired, a dead
 *   worker's claim) is run again, one with a live lease is not;
 * - a retryable failure is retried after a doubling backoff up to maxAttempts, then failed with
 *   its error stored without phone numbers; a non-retryable one fails at once; a resident's later
 *   job does not overtake one waiting to be retried;
 * - 'later' puts a job back pending at its new due time with no attempts counted;
 * - a kind without a handler stays pending and untouched, and does not hold up the jobs behind it;
 *   quiet hours hold back a quietHours handler, not one without, nor the jobs behind it;
 * - scheduleJob is idempotent by id, re-pends a settled job and leaves a running one;
 * - a settled job keeps neither its payload nor its place in the resident's queue.
 *
 * Clocks: `now` is injected where due times matter; leases are on the real clock (they are
 * about processes dying), so the stall test waits for one to run out, asserting no durations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/domain/records.js';
import { createJobScheduler, type JobHandler, type JobOutcome, type JobScheduler, type JobSchedulerOptions } from '../../src/staff/job-scheduler.js';
import { scheduleJob } from '../../src/store/jobs.js';
import { openStore } from '../../src/store/open-store.js';
import type { Collection, Store } from '../../src/store/store.port.js';
import { freshTestStore, ON_MONGODB, type TestStore } from '../support/test-store.js';

const logger = pino({ level: 'silent' });
const NO_QUIET_HOURS = { quietHours: null, cityTimeZone: 'America/Chicago' };
/** Jobs the scheduler looks at in one pass (BATCH in job-scheduler.ts): more than that are scheduled where it matters. */
const MORE_THAN_A_BATCH = 60;

let dataDir: string;
let testStore: TestStore;
let store: Store;
const schedulers: JobScheduler[] = [];
let prefix = 0;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-jobs-'));
  testStore = freshTestStore();
  store = await openStore({ dataDir, mongodbUri: testStore.env['MONGODB_URI'] });
});
afterEach(async () => {
  // Every test's schedulers stop before the next test's jobs exist.
  await Promise.all(schedulers.splice(0).map((scheduler) => scheduler.stop()));
});
afterAll(async () => {
  await store.close();
  await testStore.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Kind names of their own per test: the store is shared, and one test's jobs must not be another's. */
function kinds(...names: string[]): string[] {
  prefix += 1;
  return names.map((name) => `t${prefix}_${name}`);
}

/** A started scheduler on the test store (or a view of it); stopped after the test. */
function scheduler(options: Partial<JobSchedulerOptions> & Pick<JobSchedulerOptions, 'handlers'>): JobScheduler {
  const created = createJobScheduler({ store, config: NO_QUIET_HOURS, logger, pollMs: 50, ...options });
  created.start();
  schedulers.push(created);
  return created;
}

/** A promise with its resolver, for handlers the test lets finish. */
function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Waits until `check` holds, looking every 20 ms (for what only the real clock brings: a lease running out). */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function job(id: string): Promise<JobRecord> {
  const found = await store.jobs.get(id);
  if (!found) throw new Error(`No job ${id}`);
  return found;
}

describe('exactly once, in order', () => {
  it('two schedulers run 200 jobs of 20 residents once each, every resident in due order, one at a time', async () => {
    const [kind = ''] = kinds('work');
    const RESIDENTS = 20;
    const PER_RESIDENT = 10;
    const base = Date.now() - 60_000;
    const runs: { id: string; worker: string }[] = [];
    const order = new Map<string, string[]>();
    const busy = new Set<string>();
    const overlaps: string[] = [];

    const handlerOf = (worker: string): JobHandler => ({
      async run(record) {
        const resident = record.queueOf ?? '';
        if (busy.has(resident)) overlaps.push(`${record._id} started while ${resident} had a job running`);
        busy.add(resident);
        runs.push({ id: record._id, worker });
        order.set(resident, [...(order.get(resident) ?? []), record._id]);
        // Let the other scheduler interleave: a few turns of the event loop, sometimes a timer.
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 3)));
        busy.delete(resident);
        return { state: 'done' };
      },
    });

    // Due times interleave residents, and within a resident are scheduled out of order (last first).
    const expected = new Map<string, string[]>();
    const scheduled: Promise<boolean>[] = [];
    for (let r = 0; r < RESIDENTS; r++) {
      const address = `sms:+1217555${String(r).padStart(4, '0')}`;
      const ids = Array.from({ length: PER_RESIDENT }, (_, n) => `${kind}-${r}-${n}`);
      expected.set(address, ids);
      for (let n = PER_RESIDENT - 1; n >= 0; n--) {
        scheduled.push(scheduleJob(store, { id: ids[n]!, kind, address, dueAt: new Date(base + n * 1000 + r), payload: { n } }, new Date()));
      }
    }
    expect((await Promise.all(scheduled)).every(Boolean)).toBe(true);

    const a = scheduler({ handlers: { [kind]: handlerOf('a') } });
    const b = scheduler({ handlers: { [kind]: handlerOf('b') } });
    const ids = [...expected.values()].flat();
    // One idle scheduler may still have work come free once the other settles a resident's job.
    await until('every job is settled', async () => {
      await Promise.all([a.idle(), b.idle()]);
      return (await Promise.all(ids.map((id) => job(id)))).every((record) => record.state === 'done');
    });

    expect(overlaps).toEqual([]);
    expect(runs).toHaveLength(RESIDENTS * PER_RESIDENT);
    expect(new Set(runs.map((run) => run.id)).size).toBe(RESIDENTS * PER_RESIDENT);
    for (const [address, ids] of expected) expect(order.get(address), address).toEqual(ids);
    // Both took part (otherwise this would not test two of them).
    expect(new Set(runs.map((run) => run.worker))).toEqual(new Set(['a', 'b']));
    for (const record of await Promise.all(ids.map((id) => job(id)))) {
      expect(record).toMatchObject({ state: 'done', attempts: 1, payload: {} });
      expect(record.queueOf).toBeUndefined();
      expect(record.claimedBy).toBeUndefined();
      expect(record.leaseUntil).toBeUndefined();
    }
  });
});

describe('leases', () => {
  /** The jobs collection as one worker sees it: while `cutOff`, its calls wait (a worker frozen, or cut off from the database). */
  function stallable(jobs: Collection<JobRecord>) {
    let gate: { promise: Promise<void>; resolve(value: void): void } | null = null;
    const view = new Proxy(jobs, {
      get(target, name, receiver) {
        const member: unknown = Reflect.get(target, name, receiver);
        if (typeof member !== 'function') return member;
        return async (...args: unknown[]) => {
          while (gate) await gate.promise;
          return (member as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    return {
      store: { jobs: view },
      cutOff() {
        gate ??= deferred<void>();
      },
      reconnect() {
        const open = gate;
        gate = null;
        open?.resolve();
      },
    };
  }

  for (const lateFirst of [false, true]) {
    it(`a worker stalled past its lease loses the job to another, and its late outcome (${lateFirst ? 'before' : 'after'} the other's) is not recorded`, async () => {
      const [kind = ''] = kinds('stall');
      const id = `${kind}-1`;
      const address = 'sms:+13125550001';
      const stalledRun = deferred<JobOutcome>();
      const takeoverRun = deferred<JobOutcome>();
      const calls: string[] = [];
      const cut = stallable(store.jobs);

      const first = scheduler({
        store: cut.store,
        leaseMs: 300,
        handlers: {
          [kind]: {
            run() {
              calls.push('stalled');
              return stalledRun.promise;
            },
          },
        },
      });
      await scheduleJob(store, { id, kind, address, dueAt: new Date(Date.now() - 1000), payload: { text: 'hello' } }, new Date());
      first.kick();
      await until('the first worker runs the job', () => calls.length === 1);
      expect(await job(id)).toMatchObject({ state: 'running', attempts: 1 });
      cut.cutOff();

      // Its own claim is long: only the first worker's lease is meant to run out here.
      const second = scheduler({
        leaseMs: 10_000,
        handlers: {
          [kind]: {
            run(record) {
              calls.push('takeover');
              expect(record.payload).toEqual({ text: 'hello' });
              return takeoverRun.promise;
            },
          },
        },
      });
      // Only the real clock runs a lease out.
      await until('the second worker takes the job over', () => calls.length === 2);
      expect(calls).toEqual(['stalled', 'takeover']);
      const takenOver = await job(id);
      expect(takenOver).toMatchObject({ state: 'running', attempts: 2 });

      const late: JobOutcome = { state: 'failed', error: 'late outcome of the stalled worker', retryable: false };
      if (lateFirst) {
        cut.reconnect();
        stalledRun.resolve(late);
        await first.idle();
        expect(await job(id)).toMatchObject({ state: 'running', claimedBy: takenOver.claimedBy });
        takeoverRun.resolve({ state: 'done' });
        await second.idle();
      } else {
        takeoverRun.resolve({ state: 'done' });
        await second.idle();
        cut.reconnect();
        stalledRun.resolve(late);
        await first.idle();
      }

      const settled = await job(id);
      expect(settled).toMatchObject({ state: 'done', attempts: 2, payload: {} });
      expect(settled.lastError).toBeUndefined();
      expect(settled.claimedBy).toBeUndefined();
      expect(calls).toEqual(['stalled', 'takeover']);
    });
  }

  it("runs a crash's leftover (running, lease expired, a dead worker's claim) again at start; not one whose lease is live", async () => {
    const [kind = ''] = kinds('leftover');
    const calls: string[] = [];
    const at = new Date();
    const running = (id: string, leaseUntil: Date) =>
      store.jobs.insert({
        _id: id,
        kind,
        dueAt: new Date(at.getTime() - 60_000),
        state: 'running',
        queueOf: 'sms:+13125550002',
        address: 'sms:+13125550002',
        payload: { text: 'x' },
        attempts: 1,
        leaseUntil,
        claimedBy: 'a-worker-that-died',
        createdAt: at,
        updatedAt: at,
      });
    expect(await running(`${kind}-dead`, new Date(Date.now() - 5_000))).toBe(true);
    expect(await running(`${kind}-alive`, new Date(Date.now() + 3_600_000))).toBe(true);

    const worker = scheduler({
      handlers: {
        [kind]: {
          async run(record) {
            calls.push(record._id);
            return { state: 'done' };
          },
        },
      },
    });
    await worker.idle();

    expect(calls).toEqual([`${kind}-dead`]);
    expect(await job(`${kind}-dead`)).toMatchObject({ state: 'done', attempts: 2, payload: {} });
    const alive = await job(`${kind}-alive`);
    expect(alive).toMatchObject({ state: 'running', attempts: 1, claimedBy: 'a-worker-that-died', _rev: 1 });
    // Not left in the way of the next test's schedulers.
    await store.jobs.delete(alive._id);
  });

  it('fails a leftover cut off maxAttempts times instead of running it on every restart', async () => {
    const [kind = ''] = kinds('crashes');
    const calls: string[] = [];
    const at = new Date();
    await store.jobs.insert({
      _id: `${kind}-3`,
      kind,
      dueAt: new Date(at.getTime() - 60_000),
      state: 'running',
      payload: {},
      attempts: 3,
      leaseUntil: new Date(Date.now() - 5_000),
      claimedBy: 'a-worker-that-died',
      createdAt: at,
      updatedAt: at,
    });
    const worker = scheduler({ maxAttempts: 3, handlers: { [kind]: { run: async (record) => (calls.push(record._id), { state: 'done' }) } } });
    await worker.idle();
    expect(calls).toEqual([]);
    expect(await job(`${kind}-3`)).toMatchObject({ state: 'failed', lastError: 'cut off by a restart on every attempt', payload: {} });
  });

  it('counts a handler that never settles as a retryable failure after runTimeoutMs, and moves on', async () => {
    const [hangs = '', works = ''] = kinds('hangs', 'works');
    const ran: string[] = [];
    const now = new Date();
    await scheduleJob(store, { id: `${hangs}-1`, kind: hangs, dueAt: new Date(now.getTime() - 2_000), payload: {} }, now);
    await scheduleJob(store, { id: `${works}-1`, kind: works, dueAt: new Date(now.getTime() - 1_000), payload: {} }, now);
    const worker = scheduler({
      runTimeoutMs: 200,
      retryBackoffMs: 3_600_000,
      handlers: {
        [hangs]: { run: () => new Promise<JobOutcome>(() => undefined) },
        [works]: { run: async (record) => (ran.push(record._id), { state: 'done' }) },
      },
    });
    await until('the job behind the hanging one ran', () => ran.length === 1);
    await worker.idle();
    expect(await job(`${hangs}-1`)).toMatchObject({ state: 'pending', attempts: 1, lastError: 'no outcome after 200 ms' });
    expect(await job(`${works}-1`)).toMatchObject({ state: 'done' });
    await store.jobs.delete(`${hangs}-1`);
  });
});

describe('retries', () => {
  it('retries a retryable failure after a doubling backoff up to maxAttempts, then fails it with the error, phone numbers taken out', async () => {
    const [kind = ''] = kinds('flaky');
    const id = `${kind}-1`;
    let clock = Date.parse('2026-11-20T15:00:00Z');
    const attempts: number[] = [];
    const worker = scheduler({
      now: () => new Date(clock),
      maxAttempts: 3,
      retryBackoffMs: 1000,
      handlers: {
        [kind]: {
          async run(record) {
            attempts.push(record.attempts);
            return { state: 'failed', error: 'Twilio refused the message to +15551234567 (21610)', retryable: true };
          },
        },
      },
    });
    await scheduleJob(store, { id, kind, address: 'sms:+15551234567', dueAt: new Date(clock), payload: { text: 'hi' } }, new Date(clock));
    await worker.idle();
    expect(attempts).toEqual([1]);
    let record = await job(id);
    expect(record).toMatchObject({ state: 'pending', attempts: 1, queueOf: 'sms:+15551234567', payload: { text: 'hi' } });
    expect(record.dueAt.getTime()).toBe(clock + 1000);
    expect(record.lastError).toBeDefined();
    expect(record.lastError).not.toContain('5551234567');

    // Not before its time.
    clock += 999;
    await worker.idle();
    expect(attempts).toEqual([1]);

    clock += 1;
    await worker.idle();
    expect(attempts).toEqual([1, 2]);
    record = await job(id);
    expect(record).toMatchObject({ state: 'pending', attempts: 2 });
    // Doubled.
    expect(record.dueAt.getTime()).toBe(clock + 2000);

    clock += 2000;
    await worker.idle();
    expect(attempts).toEqual([1, 2, 3]);
    record = await job(id);
    expect(record).toMatchObject({ state: 'failed', attempts: 3, payload: {}, address: 'sms:+15551234567' });
    expect(record.queueOf).toBeUndefined();
    expect(record.lastError).toContain('Twilio refused the message to');
    expect(record.lastError).not.toContain('5551234567');
    expect(record.lastError).toContain('[number]');

    // Failed is final: no further attempt however long one waits.
    clock += 3_600_000;
    await worker.idle();
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('a thrown error is a retryable failure, its message without phone numbers', async () => {
    const [kind = ''] = kinds('throws');
    const id = `${kind}-1`;
    let clock = Date.parse('2026-11-20T15:00:00Z');
    let runs = 0;
    const worker = scheduler({
      now: () => new Date(clock),
      maxAttempts: 2,
      retryBackoffMs: 1000,
      handlers: {
        [kind]: {
          async run() {
            runs += 1;
            throw new Error('connection to +1 (555) 123-4567 reset');
          },
        },
      },
    });
    await scheduleJob(store, { id, kind, dueAt: new Date(clock), payload: {} }, new Date(clock));
    await worker.idle();
    expect(await job(id)).toMatchObject({ state: 'pending', attempts: 1 });
    clock += 1000;
    await worker.idle();
    expect(runs).toBe(2);
    const record = await job(id);
    expect(record).toMatchObject({ state: 'failed', attempts: 2 });
    expect(record.lastError).toContain('connection to');
    expect(record.lastError).not.toMatch(/555|4567/);
  });

  it('fails a non-retryable failure at once', async () => {
    const [kind = ''] = kinds('refused');
    const id = `${kind}-1`;
    const clock = Date.parse('2026-11-20T15:00:00Z');
    let runs = 0;
    const worker = scheduler({
      now: () => new Date(clock),
      maxAttempts: 5,
      retryBackoffMs: 1000,
      handlers: {
        [kind]: {
          async run() {
            runs += 1;
            return { state: 'failed', error: 'not sent: opted out', retryable: false };
          },
        },
      },
    });
    await scheduleJob(store, { id, kind, address: 'sms:+13125550003', dueAt: new Date(clock), payload: { text: 'x' } }, new Date(clock));
    await worker.idle();
    expect(runs).toBe(1);
    const record = await job(id);
    expect(record).toMatchObject({ state: 'failed', attempts: 1, lastError: 'not sent: opted out', payload: {} });
    expect(record.queueOf).toBeUndefined();
  });

  it("does not let a resident's later job overtake one waiting to be retried", async () => {
    const [kind = ''] = kinds('ordered');
    let clock = Date.parse('2026-11-20T15:00:00Z');
    const address = 'sms:+13125550004';
    const calls: string[] = [];
    let failFirst = true;
    const worker = scheduler({
      now: () => new Date(clock),
      maxAttempts: 3,
      retryBackoffMs: 10_000,
      handlers: {
        [kind]: {
          async run(record) {
            calls.push(record._id);
            if (record._id.endsWith('-first') && failFirst) {
              failFirst = false;
              return { state: 'failed', error: 'provider busy', retryable: true };
            }
            return { state: 'done' };
          },
        },
      },
    });
    await scheduleJob(store, { id: `${kind}-first`, kind, address, dueAt: new Date(clock), payload: {} }, new Date(clock));
    await scheduleJob(store, { id: `${kind}-second`, kind, address, dueAt: new Date(clock + 1000), payload: {} }, new Date(clock));
    // Another resident's job is not held up by this resident's retry.
    await scheduleJob(store, { id: `${kind}-other`, kind, address: 'sms:+13125550005', dueAt: new Date(clock + 1000), payload: {} }, new Date(clock));

    await worker.idle();
    expect(calls).toEqual([`${kind}-first`]);
    // The second is due, the first waits for its retry: the second waits too.
    clock += 5_000;
    await worker.idle();
    expect(calls).toEqual([`${kind}-first`, `${kind}-other`]);
    expect(await job(`${kind}-second`)).toMatchObject({ state: 'pending', attempts: 0 });

    clock += 5_000;
    await worker.idle();
    expect(calls).toEqual([`${kind}-first`, `${kind}-other`, `${kind}-first`, `${kind}-second`]);
    expect(await job(`${kind}-first`)).toMatchObject({ state: 'done', attempts: 2 });
    expect(await job(`${kind}-second`)).toMatchObject({ state: 'done', attempts: 1 });
  });
});

describe("'later'", () => {
  it('puts the job back pending at its new due time, with no attempts counted', async () => {
    const [kind = ''] = kinds('idle_check');
    const id = `${kind}-1`;
    let clock = Date.parse('2026-11-20T15:00:00Z');
    const laterAt = new Date(clock + 600_000);
    const seen: JobRecord[] = [];
    const worker = scheduler({
      now: () => new Date(clock),
      handlers: {
        [kind]: {
          async run(record) {
            seen.push(record);
            return seen.length === 1 ? { state: 'later', dueAt: laterAt } : { state: 'done' };
          },
        },
      },
    });
    await scheduleJob(store, { id, kind, address: 'sms:+13125550006', dueAt: new Date(clock), payload: { ref: 'H-1' } }, new Date(clock));
    await worker.idle();
    expect(seen).toHaveLength(1);
    const record = await job(id);
    expect(record).toMatchObject({ state: 'pending', attempts: 0, queueOf: 'sms:+13125550006', payload: { ref: 'H-1' } });
    expect(record.dueAt.toISOString()).toBe(laterAt.toISOString());
    expect(record.claimedBy).toBeUndefined();
    expect(record.leaseUntil).toBeUndefined();

    clock = laterAt.getTime() - 1;
    await worker.idle();
    expect(seen).toHaveLength(1);
    clock = laterAt.getTime();
    await worker.idle();
    expect(seen).toHaveLength(2);
    expect(seen[1]).toMatchObject({ attempts: 1, payload: { ref: 'H-1' } });
    expect(await job(id)).toMatchObject({ state: 'done', attempts: 1 });
  });
});

describe('kinds without a handler, quiet hours', () => {
  it('leaves a kind it has no handler for pending and untouched, and runs the jobs behind it', async () => {
    const [known = '', unknown = ''] = kinds('known', 'from_a_newer_version');
    const clock = Date.parse('2026-11-20T15:00:00Z');
    const calls: string[] = [];
    const unknownIds = Array.from({ length: MORE_THAN_A_BATCH }, (_, n) => `${unknown}-${n}`);
    await Promise.all(
      unknownIds.map((id, n) => scheduleJob(store, { id, kind: unknown, dueAt: new Date(clock - 60_000 + n), payload: { n } }, new Date(clock))),
    );
    await scheduleJob(store, { id: `${known}-1`, kind: known, dueAt: new Date(clock), payload: {} }, new Date(clock));
    const worker = scheduler({
      now: () => new Date(clock),
      handlers: {
        [known]: {
          async run(record) {
            calls.push(record._id);
            return { state: 'done' };
          },
        },
      },
    });
    await worker.idle();

    expect(calls).toEqual([`${known}-1`]);
    for (const [n, id] of unknownIds.entries()) {
      expect(await job(id)).toMatchObject({ state: 'pending', attempts: 0, _rev: 1, payload: { n } });
    }
    // Left for the next tests' schedulers to skip: out of the way.
    await Promise.all(unknownIds.map((id) => store.jobs.delete(id)));
  });

  it('holds back a quietHours handler during quiet hours, not one without, nor the jobs behind the held ones', async () => {
    const [reminder = '', reply = ''] = kinds('reminder', 'reply');
    // 21:00 in Springfield (America/Chicago, UTC-6 in November): inside 21:00-08:00.
    let clock = Date.parse('2026-11-21T03:00:00Z');
    const config = { quietHours: { start: 21 * 60, end: 8 * 60 }, cityTimeZone: 'America/Chicago' };
    const calls: string[] = [];
    const record = (id: string): Promise<JobOutcome> => {
      calls.push(id);
      return Promise.resolve({ state: 'done' });
    };
    const reminderIds = Array.from({ length: MORE_THAN_A_BATCH }, (_, n) => `${reminder}-${n}`);
    await Promise.all(
      reminderIds.map((id, n) =>
        scheduleJob(
          store,
          { id, kind: reminder, address: `sms:+1312556${String(n).padStart(4, '0')}`, dueAt: new Date(clock - 60_000 + n), payload: {} },
          new Date(clock),
        ),
      ),
    );
    // The reply's resident has a reminder due before it: the reply does not wait all night for it.
    const sameResident = `${reminder}-same-resident`;
    reminderIds.push(sameResident);
    await scheduleJob(store, { id: sameResident, kind: reminder, address: 'sms:+13125550007', dueAt: new Date(clock - 1000), payload: {} }, new Date(clock));
    await scheduleJob(store, { id: `${reply}-1`, kind: reply, address: 'sms:+13125550007', dueAt: new Date(clock), payload: {} }, new Date(clock));
    const worker = scheduler({
      now: () => new Date(clock),
      config,
      handlers: {
        [reminder]: { quietHours: true, run: (job) => record(job._id) },
        [reply]: { run: (job) => record(job._id) },
      },
    });
    await worker.idle();
    expect(calls).toEqual([`${reply}-1`]);
    for (const record of await Promise.all(reminderIds.map((id) => job(id)))) expect(record).toMatchObject({ state: 'pending', attempts: 0, _rev: 1 });
    // Most were there to be more than a batch: fewer to run once quiet hours end.
    const kept = [sameResident, `${reminder}-0`, `${reminder}-1`];
    await Promise.all(reminderIds.filter((id) => !kept.includes(id)).map((id) => store.jobs.delete(id)));

    // 08:00 in Springfield: quiet hours are over.
    clock = Date.parse('2026-11-21T14:00:00Z');
    await worker.idle();
    expect(calls.slice(1).sort()).toEqual([...kept].sort());
    for (const id of kept) expect(await job(id)).toMatchObject({ state: 'done', attempts: 1 });
  });

  it('runs a reply due behind more held jobs than a pass used to look at (a night of notices to a city)', async () => {
    const [notice = '', reply = ''] = kinds('notice', 'reply');
    // 23:00 in Springfield: the idea-merge notices to 7,000 supporters wait for the morning.
    const clock = Date.parse('2026-11-21T05:00:00Z');
    const config = { quietHours: { start: 21 * 60, end: 8 * 60 }, cityTimeZone: 'America/Chicago' };
    const HELD = ON_MONGODB ? 700 : 7_000;
    const calls: string[] = [];
    const noticeIds = Array.from({ length: HELD }, (_, n) => `${notice}-${n}`);
    for (let start = 0; start < HELD; start += 500) {
      await Promise.all(
        noticeIds
          .slice(start, start + 500)
          .map((id, n) =>
            scheduleJob(
              store,
              { id, kind: notice, address: `sms:+1312557${String(start + n).padStart(4, '0')}`, dueAt: new Date(clock - 600_000), payload: {} },
              new Date(clock),
            ),
          ),
      );
    }
    // Due a minute after them, for a resident of its own: nothing it should wait for.
    await scheduleJob(store, { id: `${reply}-1`, kind: reply, address: 'sms:+13125559999', dueAt: new Date(clock - 60_000), payload: {} }, new Date(clock));
    const worker = scheduler({
      now: () => new Date(clock),
      config,
      handlers: {
        [notice]: { quietHours: true, run: () => Promise.resolve({ state: 'done' }) },
        [reply]: {
          run(record) {
            calls.push(record._id);
            return Promise.resolve({ state: 'done' });
          },
        },
      },
    });
    await worker.idle();
    expect(calls).toEqual([`${reply}-1`]);
    await worker.stop();
    for (let start = 0; start < HELD; start += 500) await Promise.all(noticeIds.slice(start, start + 500).map((id) => store.jobs.delete(id)));
  });
});

describe('scheduleJob', () => {
  it('is one job for one id, pends a settled job again, and leaves a running one', async () => {
    const [kind = ''] = kinds('scheduled');
    const id = `${kind}-1`;
    const t0 = new Date('2026-11-20T15:00:00Z');
    const t1 = new Date('2026-11-20T16:00:00Z');
    const address = 'sms:+13125550008';

    expect(await scheduleJob(store, { id, kind, address, dueAt: t0, payload: { text: 'first' } }, t0)).toBe(true);
    expect(await scheduleJob(store, { id, kind, address, dueAt: t1, payload: { text: 'second' } }, t1)).toBe(false);
    let record = await job(id);
    expect(record).toMatchObject({ state: 'pending', _rev: 1, payload: { text: 'first' }, queueOf: address, address, attempts: 0 });
    expect(record.dueAt.toISOString()).toBe(t0.toISOString());
    expect(await store.jobs.count({ field: 'queueOf', equals: address })).toBe(1);

    // Settled (done, its queue place and payload gone): scheduling it again pends it with the new due time and payload.
    const done = { ...record, state: 'done' as const, attempts: 1, payload: {}, lastError: 'an earlier failure', updatedAt: t0 };
    delete done.queueOf;
    expect(await store.jobs.replace(done, record._rev)).toBe(true);
    expect(await scheduleJob(store, { id, kind, address, dueAt: t1, payload: { text: 'again' } }, t1)).toBe(true);
    record = await job(id);
    expect(record).toMatchObject({ state: 'pending', attempts: 0, payload: { text: 'again' }, queueOf: address, address });
    expect(record.dueAt.toISOString()).toBe(t1.toISOString());
    expect(record.createdAt.toISOString()).toBe(t0.toISOString());
    expect(record.lastError).toBeUndefined();

    // Running: left as it is.
    const running = { ...record, state: 'running' as const, attempts: 1, leaseUntil: new Date(Date.now() + 60_000), claimedBy: 'someone' };
    expect(await store.jobs.replace(running, record._rev)).toBe(true);
    const before = await job(id);
    expect(await scheduleJob(store, { id, kind, address, dueAt: t0, payload: { text: 'third' } }, t1)).toBe(false);
    expect(await job(id)).toEqual(before);
    await store.jobs.delete(id);
  });
});

describe('settled jobs', () => {
  it('keep neither their payload nor their place in the queue, only their address', async () => {
    const [kind = ''] = kinds('settles');
    const clock = Date.parse('2026-11-20T15:00:00Z');
    const address = 'sms:+13125550009';
    const worker = scheduler({
      now: () => new Date(clock),
      handlers: {
        [kind]: {
          async run(record) {
            return record._id.endsWith('-ok') ? { state: 'done' } : { state: 'failed', error: 'no', retryable: false };
          },
        },
      },
    });
    await scheduleJob(store, { id: `${kind}-ok`, kind, address, dueAt: new Date(clock - 2), payload: { text: 'a staff reply' } }, new Date(clock));
    await scheduleJob(store, { id: `${kind}-no`, kind, address, dueAt: new Date(clock - 1), payload: { text: 'another' } }, new Date(clock));
    expect(await store.jobs.count({ field: 'queueOf', equals: address })).toBe(2);
    await worker.idle();

    expect(await store.jobs.count({ field: 'queueOf', equals: address })).toBe(0);
    const kept = await store.jobs.find({ field: 'address', equals: address });
    expect(kept.map((record) => [record._id, record.state, record.payload]).sort()).toEqual([
      [`${kind}-no`, 'failed', {}],
      [`${kind}-ok`, 'done', {}],
    ]);
    for (const record of kept) expect(record.queueOf).toBeUndefined();
  });
});
