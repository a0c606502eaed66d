/**
 * Where a report stands with the city's Open311 server (issue 19), for its staff page: waiting to
 * be forwarded (and why, during an outage), forwarded with the city's id or token, refused by the
 * city with its reason, answered with something unreadable, or not sent at all, with the last time
 * the poll read it back. Read from the report's `open311Remote` and its `open311_forward` job
 * (open311-client.ts writes both), so the page shows what the outbox really did.
 */
import type { JobRecord, ReportRecord } from '../domain/records.js';
import { open311ForwardJobId } from '../domain/open311-outbox.js';
import type { Store } from '../store/store.port.js';

/** A report's state with the city's Open311 server. */
export type Open311ForwardState =
  /** Its forward job has not succeeded yet: `failures` outages so far, the last one's error, the next try. */
  | { kind: 'waiting'; since: Date; nextTry: Date; failures: number; lastError?: string }
  /** The city's server refused it (a 4xx that was the report's), or it had no place to send: for good. */
  | { kind: 'refused'; at: Date; reason: string }
  /** Filed there. `id` or `token` as the city answered; `unreadable` when its answer was not the JSON expected. */
  | {
      kind: 'forwarded';
      sentAt: Date;
      id?: string;
      token?: string;
      unreadable: boolean;
      lastPolledAt?: Date;
      /** The city's status as last read back (`open`, `closed`). */
      cityStatus?: string;
      cityNotes?: string;
    }
  /**
   * Never sent: it came in through CivicLine's own Open311 server, was closed or merged here
   * first, had its job cancelled (its resident's data deleted), or came before forwarding was on.
   */
  | { kind: 'not-sent'; why: 'came-from-open311' | 'closed-here-first' | 'cancelled' | 'before-forwarding' };

/**
 * The report's state with the city's server, or null when there is nothing to say: forwarding is
 * off (`forwarding` false) and the report was never forwarded.
 */
export async function open311ForwardState(store: Pick<Store, 'jobs'>, report: ReportRecord, forwarding: boolean): Promise<Open311ForwardState | null> {
  const remote = report.open311Remote;
  if (remote) {
    return {
      kind: 'forwarded',
      sentAt: remote.sentAt,
      ...(remote.id ? { id: remote.id } : {}),
      ...(remote.token ? { token: remote.token } : {}),
      unreadable: remote.unreadableAnswer === true,
      ...(remote.lastPolledAt ? { lastPolledAt: remote.lastPolledAt } : {}),
      ...(remote.appliedStatus ? { cityStatus: remote.appliedStatus } : {}),
      ...(remote.lastNotes ? { cityNotes: remote.lastNotes } : {}),
    };
  }
  if (report.channel === 'open311') return forwarding ? { kind: 'not-sent', why: 'came-from-open311' } : null;
  const job = await store.jobs.get(open311ForwardJobId(report._id));
  if (!job) return forwarding ? { kind: 'not-sent', why: 'before-forwarding' } : null;
  return jobState(job);
}

function jobState(job: JobRecord): Open311ForwardState {
  if (job.state === 'failed') return { kind: 'refused', at: job.updatedAt, reason: job.lastError ?? 'no reason given' };
  // Done without a request on the report: the job found it closed or merged here, and sent nothing.
  if (job.state === 'done') return { kind: 'not-sent', why: 'closed-here-first' };
  if (job.state === 'cancelled') return { kind: 'not-sent', why: 'cancelled' };
  const failures = job.payload['failures'];
  const error = job.payload['error'] ?? job.lastError;
  return {
    kind: 'waiting',
    since: job.createdAt,
    nextTry: job.dueAt,
    failures: typeof failures === 'number' && failures > 0 ? failures : 0,
    ...(typeof error === 'string' && error ? { lastError: error } : {}),
  };
}
