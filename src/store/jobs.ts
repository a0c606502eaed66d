/**
 * Putting persisted outbound work in the job queue (the `jobs` collection) that every
 * instance's scheduler runs (src/staff/job-scheduler.ts). Anything may schedule: a resident's
 * turn (the idle hand-back of a conversation they handed to a person), a staff action (a reply
 * from the inbox). A job id names the work, so scheduling the same work twice is one job.
 */
import type { JobRecord } from '../domain/records.js';
import type { Collections } from './store.port.js';

/** Work to schedule. */
export interface NewJob {
  /** Names the work: the same id is one job (a retried action schedules nothing new). */
  id: string;
  kind: string;
  dueAt: Date;
  /** The resident it writes to: their jobs run one at a time, in due order. */
  address?: string;
  payload: Record<string, unknown>;
  /**
   * Work done once ever ("is it fixed?" asks each resident once per report): one that ran
   * already stays as it is, rather than pending again.
   */
  once?: boolean;
}

const SCHEDULE_ATTEMPTS = 10;

/**
 * Schedules a job: a new one is inserted; one that ran already (done, failed, cancelled) is
 * pending again with this due time and payload (a hand-off reopened has its idle check again),
 * unless it is work done `once`; one still pending or running is left as it is. Returns whether
 * this call scheduled it.
 */
export async function scheduleJob(store: Pick<Collections, 'jobs'>, job: NewJob, now: Date): Promise<boolean> {
  const record = {
    _id: job.id,
    kind: job.kind,
    dueAt: job.dueAt,
    state: 'pending' as const,
    ...(job.address ? { queueOf: job.address, address: job.address } : {}),
    payload: job.payload,
    attempts: 0,
    createdAt: now,
    updatedAt: now,
  } satisfies Omit<JobRecord, '_rev'>;
  for (let attempt = 0; attempt < SCHEDULE_ATTEMPTS; attempt++) {
    if (await store.jobs.insert(record)) return true;
    const current = await store.jobs.get(job.id);
    if (!current) continue;
    if (current.state === 'pending' || current.state === 'running' || job.once) return false;
    if (await store.jobs.replace({ ...record, createdAt: current.createdAt }, current._rev)) return true;
  }
  throw new Error(`Job ${job.kind} kept changing while scheduling it`);
}
