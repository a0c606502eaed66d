/**
 * Working the reports: list them with filters, open one with its transcript excerpt, photos,
 * location and updates, and change its status. A status change is its own update record
 * (FixMyStreet) and is told to the resident on the channel they used, in their language,
 * unless they opted out; a reply to it is added to the report (the engine's follow-up).
 */
import { randomUUID } from 'node:crypto';
import type { ChannelName } from '../core/message.js';
import type { ReportRecord, ReportSurveyRecord, ReportUpdateRecord, StatusGroup, TranscriptEntryRecord } from '../domain/records.js';
import { withOpenReportKeys } from '../domain/open-report-keys.js';
import { REPORT_STATUSES, statusGroupOf } from '../domain/report-status.js';
import { recordAudit } from './audit-log.js';
import { coReporterCount } from '../pipeline/report-followers.js';
import { reportNotice, scheduleFollowerNotices, type ReportNotice } from './report-notices.js';
import { scheduleFixSurvey } from './fix-survey-jobs.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** How to narrow the list. Ages are in days since the report was made. */
export interface ReportFilter {
  status?: string;
  statusGroup?: StatusGroup;
  category?: string;
  channel?: ChannelName;
  /** Made at most this many days ago. */
  maxAgeDays?: number;
  /** Made at least this many days ago (the ones waiting longest). */
  minAgeDays?: number;
  limit?: number;
}

const LIST_LIMIT_MAX = 500;
/** Reports read per indexed query before filtering the rest in memory. */
const SCAN_LIMIT = 5000;
const DAY_MS = 86_400_000;
/** The transcript shown with a report: the conversation around the time it was made. */
const EXCERPT_BEFORE_MS = 60 * 60_000;
const EXCERPT_ENTRIES = 40;

/** Reports matching the filter, newest first. */
export async function listReports(deps: Pick<StaffDeps, 'store'>, filter: ReportFilter, now: Date = new Date()): Promise<ReportRecord[]> {
  const { reports } = deps.store;
  const limit = Math.min(filter.limit ?? 100, LIST_LIMIT_MAX);
  // One indexed query for the most selective filter given; the rest are checked in memory.
  const candidates = filter.category
    ? await reports.find({ field: 'category', equals: filter.category }, { order: 'desc', limit: SCAN_LIMIT })
    : filter.status || filter.statusGroup
      ? await reports.find({ field: 'statusGroup', equals: filter.statusGroup ?? statusGroupOf(filter.status ?? '') }, { order: 'desc', limit: SCAN_LIMIT })
      : filter.channel
        ? await reports.find({ field: 'channel', equals: filter.channel }, { order: 'desc', limit: SCAN_LIMIT })
        : await allReports(deps, SCAN_LIMIT);
  const newest = filter.maxAgeDays === undefined ? -Infinity : now.getTime() - filter.maxAgeDays * DAY_MS;
  const oldest = filter.minAgeDays === undefined ? Infinity : now.getTime() - filter.minAgeDays * DAY_MS;
  return candidates
    .filter(
      (r) =>
        (!filter.status || r.status === filter.status) &&
        (!filter.statusGroup || r.statusGroup === filter.statusGroup) &&
        (!filter.channel || r.channel === filter.channel) &&
        r.createdAt.getTime() >= newest &&
        r.createdAt.getTime() <= oldest,
    )
    .slice(0, limit);
}

/** Every report, newest first, read through the status-group index (each report is in one group). */
async function allReports(deps: Pick<StaffDeps, 'store'>, limit: number): Promise<ReportRecord[]> {
  const groups = await Promise.all(
    (['open', 'fixed', 'closed'] as const).map((group) => deps.store.reports.find({ field: 'statusGroup', equals: group }, { order: 'desc', limit })),
  );
  return groups
    .flat()
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    .slice(0, limit);
}

/** A report with everything staff need to act on it. */
export interface ReportDetail {
  report: ReportRecord;
  updates: ReportUpdateRecord[];
  /** The conversation around the time the report was made (empty if the resident deleted their data). */
  transcript: TranscriptEntryRecord[];
  /** Whether the resident can be told about changes (not opted out, still linked). */
  residentReachable: boolean;
  /** Residents' answers to "is it really fixed?", oldest first. */
  surveys: ReportSurveyRecord[];
}

/** One report with its updates and transcript excerpt; a StaffError 404 when there is none. */
export async function reportDetail(deps: Pick<StaffDeps, 'store'>, ref: string): Promise<ReportDetail> {
  const { store } = deps;
  const report = await store.reports.get(ref.toUpperCase());
  if (!report) throw new StaffError(404, `No report ${ref}`);
  const updates = await store.reportUpdates.find({ field: 'reportId', equals: report._id }, { order: 'asc', limit: 500 });
  const recent = await store.transcripts.find({ field: 'conversationId', equals: report.residentAddress }, { order: 'desc', limit: 500 });
  const from = report.createdAt.getTime() - EXCERPT_BEFORE_MS;
  const transcript = recent
    .filter((entry) => entry.at.getTime() >= from && entry.at.getTime() <= report.createdAt.getTime())
    .slice(0, EXCERPT_ENTRIES)
    .reverse();
  const resident = await store.residents.get(report.residentAddress);
  const surveys = await store.reportSurveys.find({ field: 'reportId', equals: report._id }, { order: 'asc', limit: 500 });
  return { report, updates, transcript, residentReachable: Boolean(resident && !resident.optedOut), surveys };
}

/** A status change staff make. */
export interface StatusChange {
  status: string;
  note?: string;
  /** Tell the resident (default yes). */
  notify?: boolean;
}

/** What a status change did. */
export interface StatusChangeResult {
  report: ReportRecord;
  update: ReportUpdateRecord;
  /** How telling the resident went: sent, skipped (opted out, no channel...) or failed. */
  notification: { state: string; reason?: string };
}

/** The statuses staff can choose, with their groups. */
export function reportStatuses(): { status: string; group: StatusGroup }[] {
  return Object.entries(REPORT_STATUSES).map(([status, group]) => ({ status, group }));
}

/**
 * Changes a report's status: writes the report (revision-checked) and an update record, tells
 * the resident (once: the update's id is the send's key), and records the action.
 */
export async function changeReportStatus(
  deps: StaffDeps,
  ref: string,
  change: StatusChange,
  actor: Actor,
  now: Date = new Date(),
): Promise<StatusChangeResult> {
  const { store } = deps;
  if (!Object.hasOwn(REPORT_STATUSES, change.status))
    throw new StaffError(400, `Unknown status ${change.status}; one of ${Object.keys(REPORT_STATUSES).join(', ')}`);
  const note = change.note?.trim() || undefined;
  let report: ReportRecord | null = null;
  // Whether this change is the report's first fix (it is thanked for then, and only then).
  let firstFix = false;
  for (let attempt = 0; attempt < 5 && !report; attempt++) {
    const current = await store.reports.get(ref.toUpperCase());
    if (!current) throw new StaffError(404, `No report ${ref}`);
    const statusGroup = statusGroupOf(change.status);
    // The duplicate-search keys follow the group: a fixed or closed report leaves the indexes of
    // open ones, a reopened one comes back.
    const next: ReportRecord = withOpenReportKeys({
      ...current,
      status: change.status,
      statusGroup,
      updatedAt: now,
      // The first time it is fixed counts for "time to fix"; reopening keeps the history honest.
      ...(statusGroup === 'fixed' && !current.fixedAt ? { fixedAt: now } : {}),
    });
    if (await store.reports.replace(next, current._rev)) {
      report = { ...next, _rev: current._rev + 1 };
      firstFix = statusGroup === 'fixed' && !current.fixedAt;
    }
  }
  if (!report) throw new Error('Report kept changing while its status was set');

  const updateId = `${report._id}|${now.getTime().toString(36)}-${randomUUID().slice(0, 8)}`;
  const baseUpdate = {
    _id: updateId,
    reportId: report._id,
    status: change.status,
    ...(note ? { note } : {}),
    by: 'staff' as const,
    staff: actor.username,
    at: now,
  };
  await store.reportUpdates.insert({ ...baseUpdate, notified: false });
  await scheduleFixSurvey(store, report, now, deps.config.fixSurveyDays);

  // Told to its reporter now (the result shows staff how it went) and to its followers by a job.
  const notice: ReportNotice = {
    report,
    updateId,
    status: change.status,
    note,
    firstFix,
    residents: await coReporterCount(store, report),
    followUpHours: deps.config.reportFollowUpHours,
  };
  const notification = change.notify === false ? { state: 'skipped', reason: 'not_requested' } : await notifyResident(deps, report, notice);
  if (change.notify !== false && (await scheduleFollowerNotices(store, notice, now))) deps.jobs.kick();
  const update: ReportUpdateRecord = await store.reportUpdates.upsert({
    ...baseUpdate,
    notified: notification.state === 'sent' || notification.state === 'outbox',
  });
  await recordAudit(store, {
    actor: actor.username,
    action: 'report.status',
    target: report._id,
    details: { status: change.status, note: Boolean(note), notification: notification.state, ...(notification.reason ? { reason: notification.reason } : {}) },
  });
  return { report, update, notification };
}

async function notifyResident(deps: StaffDeps, report: ReportRecord, notice: ReportNotice) {
  const outcome = await deps.notifier.notify(report.residentAddress, reportNotice(notice, 'reporter', `report-update|${notice.updateId}`));
  if (outcome.state === 'skipped') return { state: 'skipped', reason: outcome.reason };
  if (outcome.state === 'failed') return { state: 'failed', reason: outcome.error };
  return { state: outcome.state };
}
