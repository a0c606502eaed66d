/**
 * Working the reports: list them with filters, open one with its transcript excerpt, photos,
 * location and updates, and change its status. A status change is its own update record
 * (FixMyStreet) and is told to the resident on the channel they used, in their language,
 * unless they opted out; a reply to it is added to the report (the engine's follow-up).
 */
import { randomUUID } from 'node:crypto';
import type { ReportChannel, ReportRecord, ReportSurveyRecord, ReportUpdateRecord, StatusGroup, TranscriptEntryRecord } from '../domain/records.js';
import { assignedQueueKey, UNASSIGNED_QUEUE, withOpenReportKeys } from '../domain/open-report-keys.js';
import { REPORT_STATUSES, statusGroupOf } from '../domain/report-status.js';
import { recordAudit } from './audit-log.js';
import { coReporterCount } from '../pipeline/report-followers.js';
import { reportNotice, scheduleFollowerNotices, type ReportNotice, type VolunteerCredit } from './report-notices.js';
import { scheduleFixSurvey } from './fix-survey-jobs.js';
import { departmentOf, isOverdue, routingTable, type RoutingTable } from './report-routing.js';
import { queryWords, referenceInQuery, reportMatches } from './report-search.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** How to narrow the list. Ages are in days since the report was made. */
export interface ReportFilter {
  status?: string;
  statusGroup?: StatusGroup;
  category?: string;
  channel?: ReportChannel;
  /** Made at most this many days ago. */
  maxAgeDays?: number;
  /** Made at least this many days ago (the ones waiting longest). */
  minAgeDays?: number;
  /** Open and assigned to this staff member (the "mine" queue). */
  assignee?: string;
  /** Open and assigned to nobody (the "unassigned" queue). */
  unassigned?: boolean;
  /** With this department (routed by hand, or by its category: report-routing.ts). */
  department?: string;
  /** Open past its category's target; listed oldest first. */
  overdue?: boolean;
  /** Words that must all be in the reference, description, location or category (report-search.ts). */
  q?: string;
  /** Made at or after this instant (the CSV export's date range). */
  createdFrom?: Date;
  /** Made before this instant. */
  createdBefore?: Date;
  limit?: number;
}

/** A list of reports with what it was judged by. */
export interface ReportListing {
  reports: ReportRecord[];
  /** The routing table the department and overdue filters used (for showing them). */
  routing: RoutingTable;
  /**
   * The indexed read stopped at its bound (SCAN_LIMIT reports, newest first): older reports
   * were not looked at. What the pages mean by "searched the newest 5,000".
   */
  bounded: boolean;
}

const LIST_LIMIT_MAX = 500;
/** Reports read per indexed query before filtering the rest in memory (text search included). */
export const SCAN_LIMIT = 5000;
const DAY_MS = 86_400_000;
/** The transcript shown with a report: the conversation around the time it was made. */
const EXCERPT_BEFORE_MS = 60 * 60_000;
const EXCERPT_ENTRIES = 40;

/** Reports matching the filter, newest first (oldest first for `overdue`). */
export async function listReports(deps: Pick<StaffDeps, 'store'>, filter: ReportFilter, now: Date = new Date()): Promise<ReportRecord[]> {
  return (await findReports(deps, filter, now)).reports;
}

/**
 * Reports matching the filter, with the routing table and whether the read reached its bound.
 * One indexed query (or one per category of a department) for the most selective filter given,
 * at most `scanLimit` reports; every other filter is checked in memory.
 */
export async function findReports(
  deps: Pick<StaffDeps, 'store'>,
  filter: ReportFilter,
  now: Date = new Date(),
  options: { scanLimit?: number; listLimit?: number } = {},
): Promise<ReportListing> {
  const scanLimit = options.scanLimit ?? SCAN_LIMIT;
  const limit = Math.min(filter.limit ?? 100, options.listLimit ?? LIST_LIMIT_MAX);
  const routing = await routingTable(deps);
  const order = filter.overdue ? 'asc' : 'desc';
  const read = await candidates(deps, filter, routing, order, scanLimit);
  const words = filter.q ? queryWords(filter.q) : [];
  // A reference is found however old it is: the bound is for words, not for references.
  const named = filter.q ? referenceInQuery(filter.q) : undefined;
  const direct = named && !read.records.some((r) => r._id === named) ? await deps.store.reports.get(named) : null;
  const newest = filter.maxAgeDays === undefined ? -Infinity : now.getTime() - filter.maxAgeDays * DAY_MS;
  const oldest = filter.minAgeDays === undefined ? Infinity : now.getTime() - filter.minAgeDays * DAY_MS;
  const from = filter.createdFrom?.getTime() ?? -Infinity;
  const before = filter.createdBefore?.getTime() ?? Infinity;
  const reports = [...(direct ? [direct] : []), ...read.records]
    .filter((r) => {
      const made = r.createdAt.getTime();
      const open = r.statusGroup === 'open';
      return (
        (!filter.status || r.status === filter.status) &&
        (!filter.statusGroup || r.statusGroup === filter.statusGroup) &&
        (!filter.category || r.category === filter.category) &&
        (!filter.channel || r.channel === filter.channel) &&
        (!filter.assignee || (open && r.assignee === filter.assignee)) &&
        (!filter.unassigned || (open && !r.assignee)) &&
        (!filter.department || departmentOf(r, routing)?.id === filter.department) &&
        (!filter.overdue || isOverdue(r, routing, now)) &&
        made >= newest &&
        made <= oldest &&
        made >= from &&
        made < before &&
        (named === r._id || reportMatches(r, words))
      );
    })
    .slice(0, limit);
  return { reports, routing, bounded: read.bounded };
}

/** The reports one indexed read (or a few, merged) gives for the most selective filter. */
async function candidates(
  deps: Pick<StaffDeps, 'store'>,
  filter: ReportFilter,
  routing: RoutingTable,
  order: 'asc' | 'desc',
  limit: number,
): Promise<{ records: ReportRecord[]; bounded: boolean }> {
  const { reports } = deps.store;
  const one = async (where: Parameters<typeof reports.find>[0]) => {
    const records = await reports.find(where, { order, limit });
    return { records, bounded: records.length >= limit };
  };
  // The queues first: only open reports carry `openQueue`, so these read the queue and nothing else.
  if (filter.assignee) return one({ field: 'openQueue', equals: assignedQueueKey(filter.assignee) });
  if (filter.unassigned) return one({ field: 'openQueue', equals: UNASSIGNED_QUEUE });
  if (filter.category) return one({ field: 'category', equals: filter.category });
  if (filter.overdue || filter.status || filter.statusGroup)
    return one({ field: 'statusGroup', equals: filter.overdue ? 'open' : (filter.statusGroup ?? statusGroupOf(filter.status ?? '')) });
  if (filter.department) {
    // Its categories' reports (some may be routed elsewhere by hand: the filter drops those)
    // and the reports routed to it by hand.
    const categories = routing.departments.find((d) => d.id === filter.department)?.categories ?? [];
    return merged(
      await Promise.all([
        ...categories.map((category) => one({ field: 'category', equals: category })),
        one({ field: 'department', equals: filter.department }),
      ]),
      order,
      limit,
    );
  }
  if (filter.channel) return one({ field: 'channel', equals: filter.channel });
  // Every report, through the status-group index (each report is in one group).
  return merged(await Promise.all((['open', 'fixed', 'closed'] as const).map((group) => one({ field: 'statusGroup', equals: group }))), order, limit);
}

/** Several reads as one, in order, cut at the limit; bounded when any read was, or the cut dropped some. */
function merged(reads: { records: ReportRecord[]; bounded: boolean }[], order: 'asc' | 'desc', limit: number): { records: ReportRecord[]; bounded: boolean } {
  const sign = order === 'asc' ? 1 : -1;
  const seen = new Set<string>();
  const records = reads
    .flatMap((read) => read.records)
    .filter((r) => !seen.has(r._id) && seen.add(r._id))
    .sort((a, b) => sign * (a.createdAt.getTime() - b.createdAt.getTime()) || (a._id < b._id ? -sign : sign));
  return { records: records.slice(0, limit), bounded: reads.some((read) => read.bounded) || records.length > limit };
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
  /**
   * Change it only while it is open: a 409 otherwise, decided on the revision the change is
   * written over, so two closings of the same reports (a retry, two clicks) change each once.
   */
  onlyIfOpen?: boolean;
  /**
   * Change it only while its status is this one: a 409 otherwise, decided as `onlyIfOpen` is. For
   * a change decided on what the report was a moment ago (the Open311 poll adding the city's note
   * to the status it read), so a status staff set meanwhile is not undone.
   */
  onlyIfStatus?: string;
  /**
   * Residents (its reporter or followers) not told of this change because they were just told of
   * the same work with another report (Love Your Block's closing tells each resident once).
   */
  quiet?: readonly string[];
  /** Volunteers of a role did the work (Love Your Block): residents are told so in their language, not the note. */
  volunteers?: VolunteerCredit;
  /**
   * Tell the reporter through the notices job too, as the followers are, not inside the staff
   * request: for a change among many (closing a role's reports), so no request sends in a loop.
   */
  reporterByJob?: boolean;
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
    // A merged report lives on in the one it was merged into: reopening it would offer residents
    // a report nobody works on as "already reported", and tell its old followers twice.
    if (current.mergedInto) throw new StaffError(409, `${current._id} was merged into ${current.mergedInto}: change ${current.mergedInto} instead`);
    if (change.onlyIfOpen && current.statusGroup !== 'open') throw new StaffError(409, `${current._id} is ${current.status} already`);
    if (change.onlyIfStatus !== undefined && current.status !== change.onlyIfStatus) throw new StaffError(409, `${current._id} is ${current.status} now`);
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
      // What the reporter was told is public (Open311's status_notes): kept on the report so a
      // list of a thousand requests reads no updates. A change without a note keeps the last one.
      ...(note ? { statusNote: note } : {}),
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
    ...(change.quiet?.length ? { quiet: change.quiet } : {}),
    ...(change.volunteers ? { volunteers: change.volunteers } : {}),
    ...(change.reporterByJob ? { withReporter: true } : {}),
  };
  const notification =
    change.notify === false
      ? { state: 'skipped', reason: 'not_requested' }
      : notice.quiet?.includes(report.residentAddress)
        ? { state: 'skipped', reason: 'told_with_another_report' }
        : change.reporterByJob
          ? { state: 'scheduled' }
          : await notifyResident(deps, report, notice);
  if (change.notify !== false && (await scheduleFollowerNotices(store, notice, now))) deps.jobs.kick();
  const update: ReportUpdateRecord = await store.reportUpdates.upsert({
    ...baseUpdate,
    notified: notification.state === 'sent' || notification.state === 'outbox' || notification.state === 'scheduled',
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
