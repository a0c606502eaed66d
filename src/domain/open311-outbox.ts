/**
 * The Open311 outbox's job kinds and ids (issue 19): a new report is forwarded to the city's
 * Open311 server by a job (src/staff/open311-client.ts runs it) that whoever creates the report
 * schedules. Named here, below the pipeline and the staff side, so both name the same job.
 */

/** Forwards one report (payload `{ ref }`). */
export const OPEN311_FORWARD_JOB = 'open311_forward';

/** Reads back the status of forwarded requests still open there; reschedules itself. */
export const OPEN311_POLL_JOB = 'open311_poll';

/** The forward job's id: one per report, so scheduling it again (a retried message) is the same job. */
export function open311ForwardJobId(ref: string): string {
  return `open311-forward|${ref}`;
}

/** The one poll job's id: every instance schedules it at start, and it is one job. */
export const OPEN311_POLL_JOB_ID = 'open311-poll';
