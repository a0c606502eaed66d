/**
 * Gives the open reports stored before "already reported?" (issue 18) their duplicate-search
 * keys (`openCell`, `openPlace`; see src/domain/open-report-keys.ts), so that a resident is
 * offered a report filed before the upgrade; since version 2, their staff work-queue key too
 * (`openQueue`), so the "unassigned" queue holds the open reports filed before it existed. Also what recomputes every open report's keys when
 * their rules change (`OPEN_REPORT_KEYS_VERSION`): the marker is per version.
 *
 * Run by the service at start, before it takes a turn. The first start of a version reads every
 * open report once (the status-group index; fixed and closed reports never carry keys) and
 * rewrites, revision-checked, those whose keys differ; a marker in `meta` then makes later
 * starts cheap: they only look at the newest open reports, which an instance of the previous
 * version may have filed without keys during a rolling upgrade. Idempotent, safe to cut off at
 * any point and to run on several instances at once (each write is a revision-checked replace
 * of what `withOpenReportKeys` gives, the same on every instance). Logs only when it changed
 * something: a new store says nothing.
 */
import type { Logger } from 'pino';
import { hasCurrentOpenReportKeys, OPEN_REPORT_KEYS_VERSION, withOpenReportKeys } from '../domain/open-report-keys.js';
import type { ReportRecord } from '../domain/records.js';
import type { Collections } from './store.port.js';

/** The `meta` record that says this version's keys were given to every open report. */
export const OPEN_REPORT_KEYS_MIGRATION = `migrated:open-report-keys:v${OPEN_REPORT_KEYS_VERSION}`;

/** Open reports a start looks at once the backfill ran: the newest, where a rolling upgrade's stragglers are. */
const RECENT_CHECKED = 100;
/** How often a report that another writer changed meanwhile is read and tried again. */
const WRITE_ATTEMPTS = 5;

/** What one run did. */
export interface OpenReportKeysOutcome {
  /** Open reports looked at. */
  checked: number;
  /** Reports whose keys were written. */
  updated: number;
}

/** Gives open reports their current duplicate-search keys; the full pass once per keys version, then the newest only. */
export async function backfillOpenReportKeys(store: Pick<Collections, 'reports' | 'meta'>, logger: Logger): Promise<OpenReportKeysOutcome> {
  const marked = (await store.meta.get(OPEN_REPORT_KEYS_MIGRATION)) !== null;
  const open = await store.reports.find({ field: 'statusGroup', equals: 'open' }, marked ? { order: 'desc', limit: RECENT_CHECKED } : {});
  let updated = 0;
  for (const report of open) if (!hasCurrentOpenReportKeys(report) && (await rewrite(store, report))) updated += 1;
  if (!marked) await store.meta.upsert({ _id: OPEN_REPORT_KEYS_MIGRATION, value: { at: new Date().toISOString(), checked: open.length, updated } });
  // Counts only; a new store has nothing to say.
  if (updated > 0) logger.info({ reports: updated, version: OPEN_REPORT_KEYS_VERSION }, 'gave open reports their duplicate-search keys');
  return { checked: open.length, updated };
}

/** Writes the report's current keys, reading again when another writer came first; whether it wrote. */
async function rewrite(store: Pick<Collections, 'reports'>, first: ReportRecord): Promise<boolean> {
  let current: ReportRecord | null = first;
  for (let attempt = 0; current && attempt < WRITE_ATTEMPTS; attempt++) {
    // Another writer (a status change, another instance's backfill) may have set them meanwhile.
    if (hasCurrentOpenReportKeys(current)) return false;
    if (await store.reports.replace(withOpenReportKeys(current), current._rev)) return true;
    current = await store.reports.get(first._id);
  }
  if (current && !hasCurrentOpenReportKeys(current)) throw new Error('A report kept changing while its duplicate-search keys were written');
  return false;
}
