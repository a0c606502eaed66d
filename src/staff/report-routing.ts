/**
 * Routing reports to the people who fix them (issue 18): departments and the categories each
 * handles, a target time per category after which an open report is overdue, and the two
 * actions on one report, routing it to a department and assigning it to a staff member.
 *
 * Decisions:
 * - **The routing table is one `meta` record** (`report-routing`): a city has a handful of
 *   departments and a dozen categories, edited now and then by an admin. One record is read in
 *   one get, written revision-checked (two admins editing at once do not lose a change), and
 *   needs no collection of its own. Admins edit it; coordinators read it.
 * - **A report's department is read, not stored**: the department whose categories include the
 *   report's category, unless staff routed the report by hand (`department` on the report, kept
 *   only then). So a city that moves graffiti from Public Works to Parks re-routes every report
 *   nobody routed by hand, with no backfill. A hand-routed report whose department was removed
 *   goes back to its category's. A category is in one department at most.
 * - **No departments by default**: which departments a city has is the city's to say. Until an
 *   admin adds some, reports show no department.
 * - **Target days** per category default to pothole 5, streetlight 7, graffiti 7, traffic
 *   signal 3, water leak 3 (safety first) and 14 for every other category; admins change them.
 *   An open report is overdue once it has been open longer than its category's target (counted
 *   from when it was made: a reopened report is judged by its first day, as the resident is).
 * - **Assignment** is to an active staff account; the report keeps its assignee when it is fixed
 *   or closed (who worked on it), and carries the `openQueue` index key while open (see
 *   src/domain/open-report-keys.ts) for the "mine" and "unassigned" queues.
 */
import { z } from 'zod';
import { withOpenReportKeys } from '../domain/open-report-keys.js';
import type { ReportRecord } from '../domain/records.js';
import { CATEGORIES } from '../domain/vocabulary.js';
import { normalizeUsername, USERNAME_PATTERN } from './staff-accounts.js';
import { recordAudit } from './audit-log.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** The `meta` record that holds the routing table. */
export const ROUTING_META_ID = 'report-routing';

/** Target days of the categories that have their own default; the others get OTHER_TARGET_DAYS. */
export const DEFAULT_TARGET_DAYS: Readonly<Record<string, number>> = { pothole: 5, streetlight: 7, graffiti: 7, traffic_signal: 3, water_leak: 3 };
/** The target of a category without its own default or setting. */
export const OTHER_TARGET_DAYS = 14;
/** More departments than a city has; bounds the record and the department filter's reads. */
export const MAX_DEPARTMENTS = 50;
const MAX_TARGET_DAYS = 365;
const DAY_MS = 86_400_000;
/** How often a report that another writer changed meanwhile is read and tried again. */
const WRITE_ATTEMPTS = 5;

/** A department id: lower-case letters, digits, `_` and `-`, as it appears in URLs and filters. */
export const DEPARTMENT_ID = /^[a-z0-9][a-z0-9_-]{0,39}$/;

/** A department and the report categories it handles. */
export interface Department {
  id: string;
  name: string;
  categories: string[];
}

/** Who handles what, and how long each category may take. */
export interface RoutingTable {
  departments: Department[];
  /** Targets set by staff, by category; the others are the defaults. */
  targetDays: Record<string, number>;
}

const categoryId = z.enum(CATEGORIES);
const departmentSchema = z.strictObject({
  id: z.string().regex(DEPARTMENT_ID),
  name: z.string().trim().min(1).max(80),
  categories: z.array(categoryId).max(CATEGORIES.length),
});
const tableSchema = z.strictObject({
  departments: z.array(departmentSchema).max(MAX_DEPARTMENTS),
  targetDays: z.partialRecord(categoryId, z.number().int().min(1).max(MAX_TARGET_DAYS)),
});

/**
 * The routing table as stored, with its revision (0: never saved). A record that does not parse
 * (written by hand, or by a later version) reads as the defaults rather than failing every page.
 */
async function readTable(deps: Pick<StaffDeps, 'store'>): Promise<{ table: RoutingTable; rev: number }> {
  const stored = await deps.store.meta.get(ROUTING_META_ID);
  const parsed = tableSchema.safeParse(stored?.value);
  return { table: parsed.success ? (parsed.data as RoutingTable) : { departments: [], targetDays: {} }, rev: stored?._rev ?? 0 };
}

/** The routing table: departments and target days (defaults where staff set none). */
export async function routingTable(deps: Pick<StaffDeps, 'store'>): Promise<RoutingTable> {
  return (await readTable(deps)).table;
}

/** Applies a change to the stored table, revision-checked (another admin's edit is read again, not lost). */
async function changeTable(deps: Pick<StaffDeps, 'store'>, change: (table: RoutingTable) => RoutingTable): Promise<RoutingTable> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const { table, rev } = await readTable(deps);
    const next = change(table);
    const record = { _id: ROUTING_META_ID, value: next };
    if (rev === 0 ? await deps.store.meta.insert(record) : await deps.store.meta.replace(record, rev)) return next;
  }
  throw new StaffError(409, 'The routing table kept changing; try again');
}

/** A category's target, in days. */
export function targetDaysOf(category: string, table: RoutingTable): number {
  return table.targetDays[category] ?? DEFAULT_TARGET_DAYS[category] ?? OTHER_TARGET_DAYS;
}

/** Every known category with its target in days, and whether it is the default. */
export function categoryTargets(table: RoutingTable): { category: string; days: number; isDefault: boolean }[] {
  return CATEGORIES.map((category) => ({ category, days: targetDaysOf(category, table), isDefault: table.targetDays[category] === undefined }));
}

/** When an open report becomes overdue: its creation plus its category's target. */
export function dueAtOf(report: Pick<ReportRecord, 'category' | 'createdAt'>, table: RoutingTable): Date {
  return new Date(report.createdAt.getTime() + targetDaysOf(String(report.category), table) * DAY_MS);
}

/** Whether a report is open past its category's target. */
export function isOverdue(report: Pick<ReportRecord, 'category' | 'createdAt' | 'statusGroup'>, table: RoutingTable, now: Date): boolean {
  return report.statusGroup === 'open' && now.getTime() > dueAtOf(report, table).getTime();
}

/** The department a report is with: the one staff routed it to, else its category's; undefined when none. */
export function departmentOf(report: Pick<ReportRecord, 'category' | 'department'>, table: RoutingTable): Department | undefined {
  const routed = report.department ? table.departments.find((d) => d.id === report.department) : undefined;
  return routed ?? table.departments.find((d) => d.categories.includes(String(report.category)));
}

/** What staff see of a report's routing: its department, assignee, due time and whether it is overdue. */
export interface ReportRouting {
  department?: { id: string; name: string };
  /** Whether staff routed it by hand (rather than by its category). */
  routedByHand: boolean;
  assignee?: string;
  targetDays: number;
  dueAt: Date;
  overdue: boolean;
}

/** A report's routing facts, for lists, pages and the API. */
export function routingOf(report: ReportRecord, table: RoutingTable, now: Date): ReportRouting {
  const department = departmentOf(report, table);
  return {
    ...(department ? { department: { id: department.id, name: department.name } } : {}),
    routedByHand: Boolean(department && report.department === department.id),
    ...(report.assignee ? { assignee: report.assignee } : {}),
    targetDays: targetDaysOf(String(report.category), table),
    dueAt: dueAtOf(report, table),
    overdue: isOverdue(report, table, now),
  };
}

/** A department as staff submit it. */
export interface DepartmentInput {
  name: string;
  categories: string[];
}

/**
 * Adds or changes a department (admins); audited. A category another department handles is
 * refused (400, naming it) rather than moved silently: take it off there first.
 */
export async function saveDepartment(deps: Pick<StaffDeps, 'store'>, id: string, input: DepartmentInput, actor: Actor): Promise<Department> {
  const parsed = departmentSchema.safeParse({ id, name: input.name, categories: [...new Set(input.categories)] });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StaffError(400, `Invalid department: ${issue ? `${issue.path.join('.') || 'department'}: ${issue.message}` : 'check its fields'}`);
  }
  const department: Department = parsed.data;
  await changeTable(deps, (table) => {
    const others = table.departments.filter((d) => d.id !== id);
    for (const category of department.categories) {
      const holder = others.find((d) => d.categories.includes(category));
      if (holder) throw new StaffError(400, `${category} is handled by ${holder.name} (${holder.id}); remove it there first`);
    }
    if (others.length === table.departments.length && others.length >= MAX_DEPARTMENTS) throw new StaffError(400, `At most ${MAX_DEPARTMENTS} departments`);
    const at = table.departments.findIndex((d) => d.id === id);
    const departments = at === -1 ? [...table.departments, department] : table.departments.map((d, i) => (i === at ? department : d));
    return { ...table, departments };
  });
  await recordAudit(deps.store, {
    actor: actor.username,
    action: 'routing.department.save',
    target: id,
    details: { name: department.name, categories: department.categories },
  });
  return department;
}

/** Removes a department (admins); audited. Reports routed to it by hand go back to their category's. */
export async function removeDepartment(deps: Pick<StaffDeps, 'store'>, id: string, actor: Actor): Promise<void> {
  if (!DEPARTMENT_ID.test(id)) throw new StaffError(404, 'No department with that id');
  await changeTable(deps, (table) => {
    if (!table.departments.some((d) => d.id === id)) throw new StaffError(404, 'No department with that id');
    return { ...table, departments: table.departments.filter((d) => d.id !== id) };
  });
  await recordAudit(deps.store, { actor: actor.username, action: 'routing.department.remove', target: id });
}

/**
 * Sets categories' target days (admins); `null` puts a category back on its default. Audited
 * with the values set. Unknown categories and days outside 1-365 are refused (400).
 */
export async function setTargetDays(deps: Pick<StaffDeps, 'store'>, changes: Record<string, number | null>, actor: Actor): Promise<RoutingTable> {
  for (const [category, days] of Object.entries(changes)) {
    if (!(CATEGORIES as readonly string[]).includes(category)) throw new StaffError(400, `Unknown category ${category}; one of ${CATEGORIES.join(', ')}`);
    if (days !== null && (!Number.isInteger(days) || days < 1 || days > MAX_TARGET_DAYS))
      throw new StaffError(400, `The target for ${category} must be a whole number of days from 1 to ${MAX_TARGET_DAYS}`);
  }
  const table = await changeTable(deps, (current) => {
    const targetDays = { ...current.targetDays };
    for (const [category, days] of Object.entries(changes)) {
      if (days === null || days === DEFAULT_TARGET_DAYS[category] || (DEFAULT_TARGET_DAYS[category] === undefined && days === OTHER_TARGET_DAYS))
        delete targetDays[category];
      else targetDays[category] = days;
    }
    return { ...current, targetDays };
  });
  await recordAudit(deps.store, { actor: actor.username, action: 'routing.targets', details: { targetDays: changes } });
  return table;
}

/**
 * Writes a change to one report, revision-checked, with its index keys kept right; a StaffError
 * 404 when there is no such report.
 */
async function rewriteReport(deps: Pick<StaffDeps, 'store'>, ref: string, change: (report: ReportRecord) => ReportRecord, now: Date): Promise<ReportRecord> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await deps.store.reports.get(ref.toUpperCase());
    if (!current) throw new StaffError(404, `No report ${ref}`);
    const next = withOpenReportKeys({ ...change(current), updatedAt: now });
    if (await deps.store.reports.replace(next, current._rev)) return { ...next, _rev: current._rev + 1 };
  }
  throw new StaffError(409, 'The report kept changing; try again');
}

/**
 * Assigns a report to an active staff member, or to nobody with null; audited. An open report
 * moves between the "mine" and "unassigned" queues at once.
 */
export async function assignReport(
  deps: Pick<StaffDeps, 'store'>,
  ref: string,
  username: string | null,
  actor: Actor,
  now: Date = new Date(),
): Promise<ReportRecord> {
  const assignee = username === null ? null : normalizeUsername(username);
  // Checked before the store sees it: an id may not run long (a 20 kB username from a form was a
  // 500 the bad-input fuzzer found).
  if (assignee !== null && (!USERNAME_PATTERN.test(assignee) || !(await deps.store.staffUsers.get(assignee))?.active))
    throw new StaffError(400, 'No active staff account with that username');
  const report = await rewriteReport(
    deps,
    ref,
    (current) => {
      const { assignee: _previous, ...rest } = current;
      return assignee === null ? rest : { ...rest, assignee };
    },
    now,
  );
  await recordAudit(deps.store, { actor: actor.username, action: 'report.assign', target: report._id, details: { to: assignee } });
  return report;
}

/**
 * Routes a report to a department by hand, or back to its category's with null; audited. Routing
 * it to the department its category already goes to just clears the hand routing.
 */
export async function routeReport(
  deps: Pick<StaffDeps, 'store'>,
  ref: string,
  departmentId: string | null,
  actor: Actor,
  now: Date = new Date(),
): Promise<ReportRecord> {
  const table = await routingTable(deps);
  if (departmentId !== null && !table.departments.some((d) => d.id === departmentId)) throw new StaffError(400, 'No department with that id');
  const report = await rewriteReport(
    deps,
    ref,
    (current) => {
      const { department: _previous, ...rest } = current;
      const byCategory = departmentOf(rest, table);
      return departmentId === null || byCategory?.id === departmentId ? rest : { ...rest, department: departmentId };
    },
    now,
  );
  await recordAudit(deps.store, { actor: actor.username, action: 'report.route', target: report._id, details: { to: departmentId } });
  return report;
}
