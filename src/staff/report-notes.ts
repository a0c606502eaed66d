/**
 * Internal notes on a report (issue 18): what staff write for each other ("crew says the hole is
 * a utility cut, asked Water"), next to the public updates. An internal note is an update record
 * with `internal: true`: never sent to the resident, never shown by the resident-facing `status
 * R-…` view (src/pipeline/command-runner.ts filters them out), shown on the staff pages marked
 * as internal. Adding one is audited, without its words.
 */
import { randomUUID } from 'node:crypto';
import type { ReportUpdateRecord } from '../domain/records.js';
import { recordAudit } from './audit-log.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** The longest internal note. */
export const MAX_INTERNAL_NOTE_LENGTH = 2000;

/** Adds an internal note to a report; a StaffError 400 for an empty or long note, 404 for no report. */
export async function addInternalNote(
  deps: Pick<StaffDeps, 'store'>,
  ref: string,
  text: string,
  actor: Actor,
  now: Date = new Date(),
): Promise<ReportUpdateRecord> {
  const note = text.trim();
  if (!note) throw new StaffError(400, 'Write a note first');
  if (note.length > MAX_INTERNAL_NOTE_LENGTH) throw new StaffError(400, `A note may be at most ${MAX_INTERNAL_NOTE_LENGTH} characters`);
  const report = await deps.store.reports.get(ref.toUpperCase());
  if (!report) throw new StaffError(404, `No report ${ref}`);
  const update = {
    _id: `${report._id}|${now.getTime().toString(36)}-${randomUUID().slice(0, 8)}`,
    reportId: report._id,
    note,
    by: 'staff' as const,
    staff: actor.username,
    internal: true,
    at: now,
  };
  await deps.store.reportUpdates.insert(update);
  await recordAudit(deps.store, { actor: actor.username, action: 'report.note', target: report._id, details: { internal: true, length: note.length } });
  return { ...update, _rev: 1 };
}
