/**
 * Merging duplicate reports (issue 18): staff keep one report and merge another into it. The
 * merged report becomes a `duplicate` with `mergedInto`, out of the open reports' indexes; its
 * reporter follows the kept report, their words and photos added to it; its followers follow the
 * kept report instead; and each of them is told, once, by a job.
 *
 * Where residents' words go, and why (erasure, src/pipeline/erasure.ts, must still find them all):
 *
 * - The merged reporter's description and photos, with the words and photos of their replies on
 *   the merged report, are copied into ONE update on the kept report, held by their follower
 *   record (`noteId`): erasing them deletes it with the follow, as for any follower. Copied, not
 *   linked, so the kept report's page, photos endpoint and API show them like any other update.
 *   The merged report keeps its own copy, which erasure removes as it removes any of their reports.
 * - A follower's words (their `noteId` update) are moved: copied to the kept report, the follower
 *   record re-keyed to hold the copy, then the original deleted.
 * - The kept report's own reporter keeps no follower record: what they wrote on the merged report
 *   lands on the kept one as their own words (not a follower's), which erasure removes as replies.
 * - A resident who already followed the kept report and had added words to it keeps those; their
 *   words on the merged report stay there, with their follower record of it, which is how erasure
 *   still finds them (and how the merged report's page still shows them).
 *
 * Every step is an insert-if-absent or a delete of something already copied, in an order where a
 * crash between two steps leaves something the next run recognises: a merge run again (by staff,
 * or by the job, which settles the merge before telling anyone) completes it without doubling.
 */
import { createHash } from 'node:crypto';
import type { SendOutcome } from '../channels/channel.js';
import { withOpenReportKeys } from '../domain/open-report-keys.js';
import type { MediaRef } from '../core/message.js';
import type { ReportFollowerRecord, ReportRecord, ReportUpdateRecord } from '../domain/records.js';
import { ERASED_AUTHOR } from '../pipeline/erasure.js';
import { reporterIsResident } from '../domain/report-channels.js';
import { FOLLOWERS_READ_MAX, followerId } from '../pipeline/report-followers.js';
import { scheduleJob } from '../store/jobs.js';
import type { Collections } from '../store/store.port.js';
import { recordAudit } from './audit-log.js';
import type { JobHandler } from './job-scheduler.js';
import type { Notification, ResidentNotifier } from './resident-notifier.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** Settles a merge and tells its residents. Payload: `keptId`, `mergedId`. */
export const REPORT_MERGED_JOB = 'report_merged';

/** The status a merged report gets (closed group). */
export const MERGED_STATUS = 'duplicate';

/** The most a merged reporter's copied words may be (their description and replies together). */
const NOTE_MAX = 4_000;
/** The most updates of one report read to copy its reporter's replies. */
const UPDATES_READ_MAX = 500;

type MergeStore = Pick<Collections, 'reports' | 'reportUpdates' | 'reportFollowers' | 'jobs' | 'audit'>;

/** What a merge did. */
export interface MergeResult {
  kept: ReportRecord;
  merged: ReportRecord;
  /** The merged report was merged into the kept one before this call (a retry). */
  already: boolean;
  /** Residents who follow the kept report because of this merge (its reporter included). */
  followers: number;
}

/**
 * Merges `mergedRef` into `keepRef`: see the module comment. Refused (StaffError 409, with what to
 * do instead) when the two are one report, the kept one is closed or merged itself (no chains),
 * the merged one is closed (other than a duplicate) or merged elsewhere, or others were merged
 * into the merged one. A merge already made is completed again, not refused: safe to retry.
 */
export async function mergeReports(
  deps: Pick<StaffDeps, 'store' | 'jobs'>,
  keepRef: string,
  mergedRef: string,
  actor: Actor,
  now: Date = new Date(),
): Promise<MergeResult> {
  const { store } = deps;
  const [keepId, mergedId] = [keepRef.toUpperCase(), mergedRef.toUpperCase()];
  if (keepId === mergedId) throw new StaffError(409, `${keepId} cannot be merged into itself`);
  const kept = await store.reports.get(keepId);
  if (!kept) throw new StaffError(404, `No report ${keepRef}`);
  // A merge made already is completed again whatever the kept report became since.
  const retry = (await store.reports.get(mergedId))?.mergedInto === keepId;
  if (kept.mergedInto && !retry) throw new StaffError(409, `${kept._id} was merged into ${kept.mergedInto}: merge into ${kept.mergedInto} instead`);
  if (kept.statusGroup === 'closed' && !retry)
    throw new StaffError(409, `${kept._id} is closed (${kept.status}): reopen it first, or merge into an open report`);

  let merged: ReportRecord | null = null;
  let already = false;
  // The job first: a crash right after marking the report merged still has it settled and told.
  const job = {
    id: `${REPORT_MERGED_JOB}|${mergedId}|${keepId}`,
    kind: REPORT_MERGED_JOB,
    dueAt: now,
    payload: { keptId: keepId, mergedId },
  };
  let scheduled = false;
  for (let attempt = 0; attempt < 5 && !merged; attempt++) {
    const current = await store.reports.get(mergedId);
    if (!current) throw new StaffError(404, `No report ${mergedRef}`);
    if (current.mergedInto === keepId) {
      merged = current;
      already = true;
      break;
    }
    refuseMerging(current);
    const into = await store.reports.find({ field: 'mergedInto', equals: current._id }, { limit: 1 });
    if (into.length > 0)
      throw new StaffError(409, `${into[0]!._id} was merged into ${current._id}: merge ${kept._id} into ${current._id} instead, so that they stay together`);
    if (!scheduled) scheduled = await scheduleJob(store, job, now);
    // Out of the open reports' indexes (a closed report leaves them): nobody is offered it as
    // "already reported" any more, nor as a duplicate on a staff page.
    const next: ReportRecord = withOpenReportKeys({ ...current, status: MERGED_STATUS, statusGroup: 'closed', mergedInto: keepId, updatedAt: now });
    if (await store.reports.replace(next, current._rev)) merged = { ...next, _rev: current._rev + 1 };
  }
  if (!merged) throw new Error('Report kept changing while it was merged');
  // Its history says what happened (on a retry too: the first run may have stopped before it);
  // nobody is told by this update, the job tells them.
  await store.reportUpdates.insert({
    _id: `${merged._id}|merged`,
    reportId: merged._id,
    status: MERGED_STATUS,
    by: 'staff',
    staff: actor.username,
    notified: false,
    at: now,
  });
  // A retry: pending again if it ran already (it sends nothing twice; each message has a key).
  if (already) await scheduleJob(store, job, now);

  const followers = await settleMerge(store, kept, merged);
  deps.jobs.kick();
  // Who merged what; no resident's words or address.
  await recordAudit(store, { actor: actor.username, action: 'report.merge', target: merged._id, details: { into: kept._id, followers, retry: already } }, now);
  return { kept: (await store.reports.get(kept._id)) ?? kept, merged, already, followers };
}

function refuseMerging(report: ReportRecord): void {
  if (report.mergedInto) throw new StaffError(409, `${report._id} was merged into ${report.mergedInto} already`);
  // A report staff marked `duplicate` by hand may still be merged (that is what they meant).
  if (report.statusGroup === 'closed' && report.status !== MERGED_STATUS)
    throw new StaffError(409, `${report._id} is closed (${report.status}): reopen it first to merge it`);
}

/**
 * Completes a merge marked on the merged report: its reporter and followers follow the kept
 * report, with their words (see the module comment). Idempotent. Returns how many residents
 * follow the kept report because of this merge.
 */
export async function settleMerge(
  store: Pick<Collections, 'reportUpdates' | 'reportFollowers'>,
  kept: Pick<ReportRecord, '_id' | 'residentAddress'>,
  merged: ReportRecord,
): Promise<number> {
  await moveReporter(store, kept, merged);
  // A page at a time; followers that stay on the merged report (see `moveFollower`) are skipped.
  const stay = new Set<string>();
  for (let round = 0; round < 100; round++) {
    const page = (await store.reportFollowers.find({ field: 'reportId', equals: merged._id }, { order: 'asc', limit: FOLLOWERS_READ_MAX })).filter(
      (follower) => !stay.has(follower._id),
    );
    if (page.length === 0) break;
    for (const follower of page) if (!(await moveFollower(store, kept, merged, follower))) stay.add(follower._id);
  }
  return (await mergedFollowers(store, kept._id, merged._id)).length;
}

/** The followers of the kept report that came from the merged one. */
async function mergedFollowers(store: Pick<Collections, 'reportFollowers'>, keptId: string, mergedId: string): Promise<ReportFollowerRecord[]> {
  const followers = await store.reportFollowers.find({ field: 'reportId', equals: keptId }, { order: 'asc', limit: FOLLOWERS_READ_MAX });
  return followers.filter((follower) => follower.mergedFrom === mergedId);
}

async function moveReporter(
  store: Pick<Collections, 'reportUpdates' | 'reportFollowers'>,
  kept: Pick<ReportRecord, '_id' | 'residentAddress'>,
  merged: ReportRecord,
) {
  const address = merged.residentAddress;
  // A reporter who deleted their data left nothing of theirs to move, and no one to tell; nor
  // does a system that posted it through Open311 (it is no resident to follow anything).
  if (!reporterIsResident(address, ERASED_AUTHOR)) return;
  const own = address === kept.residentAddress;
  const existing = own ? null : await store.reportFollowers.get(followerId(kept._id, address));
  const fromThisMerge = existing?.mergedFrom === merged._id;
  // They followed the kept report already, with words of their own: those stay theirs, and what
  // they wrote on the merged report stays there (see the module comment).
  const noteId = `${kept._id}|merged|${merged._id}`;
  if (existing && !fromThisMerge && existing.noteId && existing.noteId !== noteId) return;
  const words = await reporterWords(store, merged);
  if (words)
    await store.reportUpdates.insert({ _id: noteId, reportId: kept._id, by: 'resident', ...(own ? {} : { follower: true }), ...words, at: merged.createdAt });
  if (own) return;
  if (existing && !fromThisMerge) {
    // Following already, without words: the follow now holds these.
    if (words) await store.reportFollowers.replace({ ...existing, noteId }, existing._rev);
    return;
  }
  await store.reportFollowers.insert({
    _id: followerId(kept._id, address),
    reportId: kept._id,
    address,
    at: merged.createdAt,
    via: 'merge',
    mergedFrom: merged._id,
    ...(words ? { noteId } : {}),
  });
}

/** The merged reporter's description and replies (their words, oldest first) and all their photos. */
async function reporterWords(store: Pick<Collections, 'reportUpdates'>, merged: ReportRecord): Promise<Pick<ReportUpdateRecord, 'note' | 'photos'> | null> {
  const updates = await store.reportUpdates.find({ field: 'reportId', equals: merged._id }, { order: 'asc', limit: UPDATES_READ_MAX });
  const replies = updates.filter((update) => update.by === 'resident' && !update.follower);
  const note = [merged.description, ...replies.map((reply) => reply.note ?? '')]
    .map((text) => text.trim())
    .filter(Boolean)
    .join('\n')
    .slice(0, NOTE_MAX);
  const photos: MediaRef[] = [...merged.photos, ...replies.flatMap((reply) => reply.photos ?? [])].map(({ url, contentType }) => ({ url, contentType }));
  if (!note && photos.length === 0) return null;
  return { ...(note ? { note } : {}), ...(photos.length ? { photos } : {}) };
}

/**
 * Moves one follower of the merged report to the kept one. Returns false when the follower
 * record stays on the merged report (they follow the kept one with words of their own already).
 */
async function moveFollower(
  store: Pick<Collections, 'reportUpdates' | 'reportFollowers'>,
  kept: Pick<ReportRecord, '_id' | 'residentAddress'>,
  merged: Pick<ReportRecord, '_id'>,
  follower: ReportFollowerRecord,
): Promise<boolean> {
  const own = follower.address === kept.residentAddress;
  const existing = own ? null : await store.reportFollowers.get(followerId(kept._id, follower.address));
  const fromThisMerge = existing?.mergedFrom === merged._id;
  const note = follower.noteId ? await store.reportUpdates.get(follower.noteId) : null;
  // The copy of their words on the kept report, named after the original: a rerun finds it.
  const copyId = follower.noteId ? `${kept._id}|${createHash('sha256').update(follower.noteId).digest('hex').slice(0, 20)}` : undefined;
  if (existing && !fromThisMerge && existing.noteId && existing.noteId !== copyId && note) return false;
  if (note && copyId) {
    const { _rev, _id, reportId, follower: _follower, ...words } = note;
    await store.reportUpdates.insert({ ...words, _id: copyId, reportId: kept._id, ...(own ? {} : { follower: true }) });
  }
  const copied = copyId !== undefined && (note !== null || (await store.reportUpdates.get(copyId)) !== null);
  if (existing && !fromThisMerge) {
    if (copied && !existing.noteId) await store.reportFollowers.replace({ ...existing, noteId: copyId }, existing._rev);
  } else if (!own) {
    const { _rev, _id, reportId, noteId: _noteId, ...rest } = follower;
    await store.reportFollowers.insert({
      ...rest,
      _id: followerId(kept._id, follower.address),
      reportId: kept._id,
      mergedFrom: merged._id,
      ...(copied ? { noteId: copyId } : {}),
    });
  }
  // The original words go once the copy is held by a follow (or is the kept reporter's own), then the old follow.
  if (note) await store.reportUpdates.delete(note._id);
  await store.reportFollowers.delete(follower._id);
  return true;
}

/** The key of one resident's message about one merge. */
export function mergeNoticeKey(mergedId: string, address: string): string {
  return `report-merged|${mergedId}|${address}`;
}

/**
 * The message about a merge: to the merged report's reporter ("your report ... is the same
 * problem as ..."), to its followers, and to a reporter of both (they filed the kept one too).
 */
export function mergeNotice(
  kept: Pick<ReportRecord, '_id' | 'category'>,
  merged: Pick<ReportRecord, '_id'>,
  as: 'reporter' | 'follower' | 'own',
  key: string,
): Notification {
  return {
    purpose: 'status_update',
    key,
    compose: (_locale, t) => [
      { kind: 'text', text: t(`notify.report_merged_${as}`, { merged: merged._id, kept: kept._id, category: t(`category.${kept.category}`) }) },
    ],
  };
}

/**
 * The job that settles a merge (again: a merge cut off half-way completes here) and then tells
 * the merged report's reporter and the followers it brought, each once (a key per merge and
 * resident). Residents who cannot be reached (opted out, deleted their data) are skipped by the
 * notifier.
 */
export function reportMergeJobHandlers(deps: {
  store: Pick<Collections, 'reports' | 'reportUpdates' | 'reportFollowers'>;
  notifier: ResidentNotifier;
}): Record<string, JobHandler> {
  return {
    [REPORT_MERGED_JOB]: {
      async run(job) {
        const [kept, merged] = await Promise.all([
          deps.store.reports.get(String(job.payload.keptId ?? '')),
          deps.store.reports.get(String(job.payload.mergedId ?? '')),
        ]);
        // Scheduled before a merge that then lost a race, or its reports are gone: nothing to tell.
        if (!kept || !merged || merged.mergedInto !== kept._id) return { state: 'done' };
        await settleMerge(deps.store, kept, merged);
        const reporter = reporterIsResident(merged.residentAddress, ERASED_AUTHOR) ? [merged.residentAddress] : [];
        const followers = (await mergedFollowers(deps.store, kept._id, merged._id)).map((follower) => follower.address);
        const failures: string[] = [];
        for (const address of new Set([...reporter, ...followers])) {
          const as = address !== merged.residentAddress ? 'follower' : address === kept.residentAddress ? 'own' : 'reporter';
          const outcome: SendOutcome = await deps.notifier.notify(address, mergeNotice(kept, merged, as, mergeNoticeKey(merged._id, address)));
          if (outcome.state === 'failed' && outcome.retryable) failures.push(outcome.error);
        }
        // The run again sends only to those not reached (the rest are keyed as sent).
        if (failures.length > 0) return { state: 'failed', error: `${failures.length} resident(s) not reached: ${failures[0]}`, retryable: true };
        return { state: 'done' };
      },
    },
  };
}

/** What the staff pages and API show about merging on one report. */
export interface ReportMergeInfo {
  /** The report it was merged into. */
  mergedInto?: Pick<ReportRecord, '_id' | 'status' | 'statusGroup'>;
  /** The reports merged into it, oldest first. */
  mergedHere: Pick<ReportRecord, '_id' | 'createdAt' | 'channel'>[];
}

/** The reports merged into a report, and the one it was merged into. */
export async function reportMergeInfo(store: Pick<Collections, 'reports'>, report: ReportRecord): Promise<ReportMergeInfo> {
  const [into, here] = await Promise.all([
    report.mergedInto ? store.reports.get(report.mergedInto) : null,
    store.reports.find({ field: 'mergedInto', equals: report._id }, { order: 'asc', limit: 500 }),
  ]);
  return {
    ...(into ? { mergedInto: { _id: into._id, status: into.status, statusGroup: into.statusGroup } } : {}),
    mergedHere: here.map(({ _id, createdAt, channel }) => ({ _id, createdAt, channel })),
  };
}
