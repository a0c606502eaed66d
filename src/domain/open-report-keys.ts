/**
 * The index keys a report carries while it is open (issue 18): the duplicate-search keys
 * ("already reported?") `openCell` for its point and `openPlace` for its text place, each
 * prefixed with its category, so one equality read finds the open reports of a category in a
 * grid cell or at a place; and the staff work queue `openQueue` (`assigned|<username>` or
 * `unassigned`), so "my open reports" and "open and nobody's" are one read each. Like a
 * delivery's `bucket`, they exist only in the state they index: a report that is fixed or closed
 * has none, and the indexes hold open reports only.
 */
import { geoCell, normalizePlace } from './places.js';
import type { ReportRecord } from './records.js';

/**
 * The version of the keys' rules (the grid and `normalizePlace`). Bumping it makes the start-up
 * backfill (src/store/open-report-keys.migration.ts) compute every open report's keys again.
 */
// 2: the work queue (`openQueue`) joined the keys.
export const OPEN_REPORT_KEYS_VERSION = 2;

/** The longest key kept; a longer one (a very long category name) is left out, never cut. */
const MAX_KEY = 200;

/** The `openCell` value of a category's reports in a grid cell. */
export function openCellKey(category: string, cell: string): string {
  return `${category}|${cell}`;
}

/** The `openPlace` value of a category's reports at a place key. */
export function openPlaceKey(category: string, placeKey: string): string {
  return `${category}|${placeKey}`;
}

/** The `openQueue` of open reports nobody is assigned to. */
export const UNASSIGNED_QUEUE = 'unassigned';

/** The `openQueue` value of a staff member's open reports. */
export function assignedQueueKey(username: string): string {
  return `assigned|${username}`;
}

/** The fields of a report the keys are made of. */
type KeyedReport = Pick<ReportRecord, 'category' | 'statusGroup' | 'location' | 'locale' | 'assignee'> &
  Pick<ReportRecord, 'openCell' | 'openPlace' | 'openQueue'>;

/**
 * The report with its keys as its state, place and assignee say: set while open (where it has a
 * point, a text place that names one), absent otherwise. Call it on every write that creates a
 * report or changes its status group, category, location or assignee.
 */
export function withOpenReportKeys<T extends KeyedReport>(report: T): T {
  const { openCell: _cell, openPlace: _place, openQueue: _queue, ...rest } = report;
  if (report.statusGroup !== 'open') return rest as T;
  const category = String(report.category);
  const point = report.location.point;
  const place = report.location.text ? normalizePlace(report.location.text, report.locale) : null;
  const openCell = point ? openCellKey(category, geoCell(point)) : undefined;
  const openPlace = place ? openPlaceKey(category, place) : undefined;
  const openQueue = report.assignee ? assignedQueueKey(report.assignee) : UNASSIGNED_QUEUE;
  return {
    ...rest,
    ...(openCell && openCell.length <= MAX_KEY ? { openCell } : {}),
    ...(openPlace && openPlace.length <= MAX_KEY ? { openPlace } : {}),
    // Usernames are at most 40 characters (staff-accounts.ts), so the queue key always fits.
    openQueue,
  } as T;
}

/** Whether a stored report's keys are what `withOpenReportKeys` gives (nothing to write otherwise). */
export function hasCurrentOpenReportKeys(report: KeyedReport): boolean {
  const expected = withOpenReportKeys(report);
  return expected.openCell === report.openCell && expected.openPlace === report.openPlace && expected.openQueue === report.openQueue;
}
