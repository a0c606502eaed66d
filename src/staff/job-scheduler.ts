/**
 * The scheduler of persisted outbound work with a due time (STYLE.md: "persisted outbound work
 * is one mechanism"): staff replies from the inbox and the idle hand-back today; reminders,
 * surveys and the Open311 outbox are further job kinds. Jobs are records (`jobs`, see
 * src/store/jobs.ts); each kind has a handler.
 *
 * - Every instance runs a scheduler. A job is claimed before it runs (`pending` → `running`, a
 *   revision-checked replace naming this worker, with a lease renewed while it runs), so two
 *   instances never run the same job; one whose lease ran out belongs to an instance that died
 *   and is run again. Handlers make that safe: those that message a resident go through the
 *   notifier with the job's id as the key, which sends once per key and reports a send a crash
 *   cut off as interrupted rather than sending it twice (as broadcast deliveries do).
 * - One resident's jobs run one at a time, in due order (`queueOf`): two staff replies are never
 *   swapped, and a hand-back never overtakes the reply before it. A job waiting to be retried
 *   keeps its place; one put off ('later') takes the place of its new due time.
 * - A kind that is not a reply to the resident waits out quiet hours (`quietHours: true`).
 *   Staff replies and hand-backs answer what the resident just wrote, so they do not, nor do
 *   they wait behind the resident's jobs that do.
 * - Jobs that may not run yet (quiet hours, a resident's earlier job, an unknown kind) are
 *   passed over: however many are due, the ones behind them still run.
 * - A failure the handler calls retryable is tried again later (backoff doubling), up to
 *   `maxAttempts`; then the job is `failed`, with the error (no phone numbers) for the dashboard.
 * - A job of a kind this version has no handler for (written by a newer one during a rolling
 *   upgrade) is left for an instance that has one.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { outboundErrorSummary as describe, redactNumbers } from '../channels/outbound-records.js';
import { isQuiet } from '../domain/quiet-hours.js';
import type { JobRecord } from '../domain/records.js';
import type { Collections } from '../store/store.port.js';

/** What running a job came to. */
export type JobOutcome =
  | { state: 'done' }
  /** Not yet: run again at `dueAt` (an idle check that found recent activity). */
  | { state: 'later'; dueAt: Date }
  | { state: 'failed'; error: string; retryable: boolean };

/** Runs the jobs of one kind. */
export interface JobHandler {
  run(job: JobRecord): Promise<JobOutcome>;
  /** Waits for quiet hours to end (messages the resident did not ask for). */
  quietHours?: boolean;
}

/** What the scheduler needs; `now` and the timings are there for tests. */
export interface JobSchedulerOptions {
  store: Pick<Collections, 'jobs'>;
  handlers: Readonly<Record<string, JobHandler>>;
  config: Pick<Config, 'quietHours' | 'cityTimeZone'>;
  logger: Logger;
  now?: () => Date;
  /** How often an idle scheduler looks for due jobs (default 1 s); `kick()` wakes it sooner. */
  pollMs?: number;
  /** How long a claim is this worker's before another may take the job over (default 60 s). */
  leaseMs?: number;
  /** Attempts at a job whose failure is retryable (default 5). */
  maxAttempts?: number;
  /** Wait before the second attempt; doubled for each next one (default 30 s). */
  retryBackoffMs?: number;
  /** How long a handler may run before its attempt counts as failed (default 5 min: a channel's own retries fit). */
  runTimeoutMs?: number;
}

/** A running (or not yet started) scheduler. */
export interface JobScheduler {
  /** Starts running due jobs; a second call does nothing. */
  start(): void;
  /** Stops claiming and resolves once the job in flight is settled. */
  stop(): Promise<void>;
  /** Looks for due jobs now (one was scheduled, or a test moved its clock). */
  kick(): void;
  /** Resolves once the scheduler has looked for due jobs since this call and found none it could run. */
  idle(): Promise<void>;
}

const DEFAULT_POLL_MS = 1000;
/** Pending jobs read first; each next page of a pass that passes jobs over is twice as large, up to MAX_PAGE. */
const BATCH = 50;
/** The largest page of pending jobs read at once (but for a run of more jobs due at one instant). */
const MAX_PAGE = 1600;
const WRITE_ATTEMPTS = 20;

/** Builds a scheduler; nothing runs until `start()`. */
export function createJobScheduler(options: JobSchedulerOptions): JobScheduler {
  const { store, handlers, config, logger } = options;
  const now = options.now ?? (() => new Date());
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 5;
  const retryBackoffMs = options.retryBackoffMs ?? 30_000;
  const runTimeoutMs = options.runTimeoutMs ?? 5 * 60_000;
  // A restarted process is another worker: its predecessor's claims are leftovers.
  const workerId = randomUUID();
  // Leases are about processes dying: the real clock (`now` may be a test's).
  const leaseFrom = () => new Date(Date.now() + leaseMs);

  let running = false;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let generation = 0;
  let idleAt = -1;

  function kick(): void {
    generation += 1;
    wake?.();
  }

  function nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }

  async function runLoop(): Promise<void> {
    while (running) {
      const looked = generation;
      let delay = pollMs;
      try {
        const step = await runOne();
        if (step === 'worked') continue;
        delay = Math.min(pollMs, step);
      } catch (error) {
        logger.error({ err: describe(error) }, 'job scheduler pass failed; trying again');
      }
      idleAt = looked;
      if (running) await nap(delay);
    }
  }

  /**
   * Claims and runs one job: 'worked', or how long until the next pending one is due. Due jobs
   * it may not run (a kind it has no handler for, quiet hours, a resident's earlier job) are
   * passed over, a batch at a time, so that however many of them there are they never hold up
   * the ones behind them.
   */
  async function runOne(): Promise<'worked' | number> {
    const at = now();
    const leftover = await claimLeftover();
    if (leftover) {
      await execute(leftover);
      return 'worked';
    }
    // Read a page at a time in due order, each page from the last one's due time (inclusive:
    // the jobs already looked at there are passed over), never again from the front: the jobs
    // passed over are read once per pass however many there are, and none behind them waits
    // for them (a night of thousands of held notices does not hold up a staff reply).
    let from: Date | undefined;
    let seenAtEdge = new Set<string>();
    let limit = BATCH;
    for (;;) {
      const pending = await store.jobs.find({ field: 'state', equals: 'pending' }, { order: 'asc', limit, ...(from ? { from } : {}) });
      for (const job of pending) {
        if (from && job.dueAt.getTime() === from.getTime() && seenAtEdge.has(job._id)) continue;
        if (job.dueAt.getTime() > at.getTime()) return job.dueAt.getTime() - at.getTime();
        if (!handlers[job.kind] || isHeld(job, at)) continue;
        if (job.queueOf && !(await isNextInQueue(job, at))) continue;
        const claimed = await claim(job);
        if (claimed) {
          await execute(claimed);
          return 'worked';
        }
      }
      if (pending.length < limit) break;
      const edge = pending[pending.length - 1]!.dueAt;
      // Still among jobs due at one instant (a planner schedules thousands at once): a larger
      // page from there, so the run is read in a few pages rather than over and over.
      const sameEdge = from !== undefined && edge.getTime() === from.getTime();
      if (!sameEdge) seenAtEdge = new Set();
      for (const job of pending) if (job.dueAt.getTime() === edge.getTime()) seenAtEdge.add(job._id);
      limit = sameEdge ? limit * 2 : Math.min(limit * 2, MAX_PAGE);
      from = edge;
    }
    return pollMs;
  }

  /** Whether the job ran and failed, and is pending again for its retry. */
  function waitsForRetry(job: JobRecord): boolean {
    return job.state === 'pending' && job.attempts > 0;
  }

  /** Whether quiet hours hold the job back. */
  function isHeld(job: JobRecord, at: Date): boolean {
    return Boolean(handlers[job.kind]?.quietHours) && isQuiet(config.quietHours, config.cityTimeZone, at);
  }

  /**
   * Whether the job is its resident's next: none of theirs is running, and none comes before it.
   * One waiting to be retried comes first: it keeps its place though its due time moved past the
   * jobs behind it. Then the others in due order, but for those quiet hours hold back (a reply
   * does not wait all night behind a reminder).
   */
  async function isNextInQueue(job: JobRecord, at: Date): Promise<boolean> {
    const queue = await store.jobs.find({ field: 'queueOf', equals: job.queueOf! }, { order: 'asc' });
    const retrying = waitsForRetry(job);
    let ahead = true;
    for (const other of queue) {
      if (other._id === job._id) {
        ahead = false;
        continue;
      }
      if (other.state === 'pending' && isHeld(other, at)) continue;
      if (other.state === 'running') return false;
      if (retrying ? ahead && waitsForRetry(other) : ahead || waitsForRetry(other)) return false;
    }
    // Not in the queue any more: settled meanwhile.
    return !ahead;
  }

  async function claim(job: JobRecord): Promise<JobRecord | null> {
    const claimed: JobRecord = { ...job, state: 'running', attempts: job.attempts + 1, leaseUntil: leaseFrom(), claimedBy: workerId, updatedAt: now() };
    return (await store.jobs.replace(claimed, job._rev)) ? { ...claimed, _rev: job._rev + 1 } : null;
  }

  /** A job left running by a worker whose lease ran out (a crash, a kill): this worker runs it again. */
  async function claimLeftover(): Promise<JobRecord | null> {
    const runningJobs = await store.jobs.find({ field: 'state', equals: 'running' }, { order: 'asc', limit: BATCH });
    for (const job of runningJobs) {
      if (!handlers[job.kind] || (job.leaseUntil && job.leaseUntil.getTime() > Date.now())) continue;
      const claimed = await claim(job);
      if (!claimed) continue;
      // A job that was cut off `maxAttempts` times (a handler that takes its process down, say)
      // is not run again on every restart: it fails, for staff to see.
      if (job.attempts >= maxAttempts) {
        await settle(claimed, { state: 'failed', error: 'cut off by a restart on every attempt', retryable: false });
        continue;
      }
      logger.info({ jobId: job._id, kind: job.kind }, 'job left running by a stopped instance: running it again');
      return claimed;
    }
    return null;
  }

  /** Runs a claimed job, renewing its lease meanwhile, and settles it. */
  async function execute(job: JobRecord): Promise<void> {
    let lost = false;
    const heartbeat = setInterval(() => {
      void update(job._id, (current) => {
        if (current.state !== 'running' || current.claimedBy !== workerId) {
          lost = true;
          return null;
        }
        return { ...current, leaseUntil: leaseFrom() };
      }).catch((error: unknown) => logger.warn({ jobId: job._id, err: describe(error) }, 'job lease not renewed'));
    }, leaseMs / 3);
    heartbeat.unref();
    let outcome: JobOutcome;
    let timer: NodeJS.Timeout | undefined;
    try {
      // A handler that never settles would hold its job, renewing the lease, and this scheduler
      // (one job at a time) for ever: after `runTimeoutMs` it counts as a retryable failure. If it
      // finishes later, nothing of it is recorded; a retry goes through the notifier with the
      // same key, which sends nothing twice.
      const timedOut = new Promise<JobOutcome>((resolve) => {
        timer = setTimeout(() => resolve({ state: 'failed', error: `no outcome after ${runTimeoutMs} ms`, retryable: true }), runTimeoutMs);
      });
      outcome = await Promise.race([handlers[job.kind]!.run(job), timedOut]);
    } catch (error) {
      outcome = { state: 'failed', error: describe(error).message, retryable: true };
    } finally {
      clearInterval(heartbeat);
      clearTimeout(timer);
    }
    if (lost) {
      logger.warn({ jobId: job._id, kind: job.kind }, 'job taken over by another instance');
      return;
    }
    await settle(job, outcome);
    logger.debug({ jobId: job._id, kind: job.kind, outcome: outcome.state }, 'job run');
  }

  async function settle(job: JobRecord, outcome: JobOutcome): Promise<void> {
    const at = now();
    await update(job._id, (current) => {
      if (current.state !== 'running' || current.claimedBy !== workerId) return null;
      const { leaseUntil: _lease, claimedBy: _worker, queueOf, lastError: _error, ...rest } = current;
      if (outcome.state === 'later') return { ...rest, ...(queueOf ? { queueOf } : {}), state: 'pending', dueAt: outcome.dueAt, attempts: 0, updatedAt: at };
      if (outcome.state === 'failed' && outcome.retryable && current.attempts < maxAttempts) {
        const dueAt = new Date(at.getTime() + retryBackoffMs * 2 ** Math.max(0, current.attempts - 1));
        return { ...rest, ...(queueOf ? { queueOf } : {}), state: 'pending', dueAt, lastError: redactNumbers(outcome.error).slice(0, 200), updatedAt: at };
      }
      // Settled: out of the resident's queue, and the payload (a staff reply's text) dropped.
      if (outcome.state === 'failed') return { ...rest, state: 'failed', payload: {}, lastError: redactNumbers(outcome.error).slice(0, 200), updatedAt: at };
      return { ...rest, state: 'done', payload: {}, updatedAt: at };
    });
    if (outcome.state === 'failed') logger.warn({ jobId: job._id, kind: job.kind, attempts: job.attempts }, 'job failed');
  }

  async function update(id: string, change: (current: JobRecord) => JobRecord | null): Promise<void> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const current = await store.jobs.get(id);
      if (!current) return;
      const next = change(current);
      if (!next || (await store.jobs.replace(next, current._rev))) return;
    }
    throw new Error('A job kept changing while recording it');
  }

  return {
    start() {
      if (running || loop) return;
      running = true;
      loop = runLoop();
    },
    async stop() {
      if (!loop) return;
      running = false;
      wake?.();
      await loop;
      loop = null;
    },
    kick,
    async idle() {
      kick();
      const target = generation;
      while (running && idleAt < target) await new Promise((resolve) => setTimeout(resolve, 5));
    },
  };
}
