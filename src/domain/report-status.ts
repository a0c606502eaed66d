/**
 * Report statuses and their groups (FixMyStreet): staff pick a status, residents and filters
 * see its group. Statuses are data; their names for residents live in locales (`status.<id>`).
 */
import type { StatusGroup } from './records.js';

/** The default statuses a city starts with, each with its group. */
export const REPORT_STATUSES: Readonly<Record<string, StatusGroup>> = {
  open: 'open',
  in_progress: 'open',
  action_scheduled: 'open',
  fixed: 'fixed',
  closed: 'closed',
  duplicate: 'closed',
  not_responsible: 'closed',
};

/** The group of a status; an unknown status counts as open, so nothing gets lost from view. */
export function statusGroupOf(status: string): StatusGroup {
  // Own properties only: "constructor" or "__proto__" must not read Object.prototype.
  return Object.hasOwn(REPORT_STATUSES, status) ? REPORT_STATUSES[status]! : 'open';
}
