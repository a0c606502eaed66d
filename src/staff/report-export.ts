/**
 * Reports as CSV (issue 18), for a date range and the list's filters: what a city's analysts and
 * contractors take into a spreadsheet. Safe to open (src/staff/csv.ts neutralises formulas).
 *
 * Decisions:
 * - **No resident addresses**: not the phone number or chat id, not even masked. A report's
 *   place (its text and GPS point) and the resident's description are the report itself and are
 *   in; staff's internal notes and the residents' replies are not.
 * - **Bounded, not streamed**: the store answers equality reads with a limit, not ranges, so the
 *   export takes the newest EXPORT_LIMIT reports through the index of the most selective filter
 *   (as the list does; with no filter that picks one, the newest of each status group, so up to
 *   three times that many are read and the newest kept) and builds the file in memory (about
 *   10 MB at most).
 *   When the read reached that bound, the file may miss the oldest reports of the range:
 *   `complete` says so (the route sends it as a header and the page explains how to narrow).
 */
import type { ReportRecord } from '../domain/records.js';
import { recordAudit } from './audit-log.js';
import { csvLine } from './csv.js';
import { findReports, type ReportFilter } from './report-desk.js';
import { routingOf, type RoutingTable } from './report-routing.js';
import type { Actor, StaffDeps } from './staff-deps.js';

/** The most reports one export reads (and so the most rows it has). */
export const EXPORT_LIMIT = 10_000;

/** The columns, in order. */
export const EXPORT_COLUMNS = [
  'reference',
  'created_at',
  'updated_at',
  'fixed_at',
  'category',
  'status',
  'status_group',
  'department',
  'assignee',
  'overdue',
  'due_at',
  'channel',
  'language',
  'location',
  'latitude',
  'longitude',
  'description',
  'photos',
] as const;

/** What an export holds: the CSV text, its row count, and whether the bound was reached. */
export interface ReportExport {
  csv: string;
  rows: number;
  /** False when the read stopped at EXPORT_LIMIT: older reports of the range may be missing. */
  complete: boolean;
}

/** What the audit log and the file name say about the range (the dates as staff gave them). */
export interface ExportRange {
  from: string;
  to: string;
}

/**
 * The reports made within [createdFrom, createdBefore) that match the filter, as CSV, newest
 * first; audited with the range, the filters and the row count.
 */
export async function exportReports(
  deps: Pick<StaffDeps, 'store'>,
  filter: Pick<ReportFilter, 'status' | 'statusGroup' | 'category' | 'channel' | 'department'> & { createdFrom: Date; createdBefore: Date },
  range: ExportRange,
  actor: Actor,
  now: Date = new Date(),
): Promise<ReportExport> {
  const listing = await findReports(deps, { ...filter, limit: EXPORT_LIMIT }, now, { scanLimit: EXPORT_LIMIT, listLimit: EXPORT_LIMIT });
  const csv = csvLine(EXPORT_COLUMNS) + listing.reports.map((report) => csvLine(exportRow(report, listing.routing, now))).join('');
  const { createdFrom: _from, createdBefore: _before, ...filters } = filter;
  await recordAudit(deps.store, {
    actor: actor.username,
    action: 'report.export',
    details: { ...range, ...filters, rows: listing.reports.length, complete: !listing.bounded },
  });
  return { csv, rows: listing.reports.length, complete: !listing.bounded };
}

/** One report's cells, in EXPORT_COLUMNS order. */
export function exportRow(report: ReportRecord, routing: RoutingTable, now: Date): string[] {
  const facts = routingOf(report, routing, now);
  const point = report.location.point;
  return [
    report._id,
    report.createdAt.toISOString(),
    report.updatedAt.toISOString(),
    report.fixedAt?.toISOString() ?? '',
    String(report.category),
    report.status,
    report.statusGroup,
    facts.department?.name ?? '',
    report.assignee ?? '',
    facts.overdue ? 'yes' : 'no',
    facts.dueAt.toISOString(),
    report.channel,
    report.locale,
    report.location.text ?? '',
    point ? point.lat.toFixed(6) : '',
    point ? point.lon.toFixed(6) : '',
    report.description,
    String(report.photos.length),
  ];
}
