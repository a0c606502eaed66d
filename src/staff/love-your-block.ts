/**
 * "Love Your Block" (issue 20): from residents' reports to volunteers and back. Staff select open
 * reports (graffiti in one neighbourhood...) and make a volunteer role of them; the role's call can
 * go to the residents behind those reports and to opted-in residents nearby (a broadcast audience,
 * broadcasts.ts); when the work is done, one action closes the role's open reports together,
 * through the status change staff use, so reporters and followers are told and thanked as for any
 * fix, each resident once however many of the reports they are behind.
 *
 * Decisions (README, "Love Your Block"):
 * - Only open reports, at most MAX_ROLE_REPORTS, make a role; the role keeps their references.
 * - The role's description lists the reports' places (what staff see in the list), never the
 *   residents' words. Its neighbourhood is prefilled only when at least two of the reporters give
 *   the same one in their profile, so a form never shows where one resident lives.
 * - "Nearby" is the role's neighbourhood: opted-in residents whose profile names it.
 * - Closing is checked against the role's revision (the reports staff looked at) and changes only
 *   reports still open, so a retry or a second click closes nothing twice. It goes in the role's
 *   order: a resident behind several of the reports hears of the first of them this work closed
 *   and is left out of the others' notices (`quiet`). Which reports this work closed is read from
 *   the reports themselves (fixed with the role's note), so a retry after a crash part-way, and
 *   two closings at once, leave out the same residents.
 */
import type { AudienceFilter, BroadcastRecord, ReportRecord, VolunteerRoleRecord } from '../domain/records.js';
import { reportAudience } from '../pipeline/report-followers.js';
import { recordAudit } from './audit-log.js';
import { createBroadcastOnce, MAX_AUDIENCE_REPORTS, type BroadcastInput, type BroadcastSetup, type PlanCounts } from './broadcasts.js';
import { changeReportStatus } from './report-desk.js';
import { createRole, type RoleInput } from './role-desk.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** The most reports one role is made from: a day's work for a crew, and one broadcast's report audience. */
export const MAX_ROLE_REPORTS = MAX_AUDIENCE_REPORTS;

/** The longest prefilled description, in characters: the role form takes 2,000. */
const DESCRIPTION_MAX = 1_900;
const TITLE_MAX = 120;
/** Roles read to find the ones made from a report: far more than a city runs at once. */
const ROLES_READ = 1_000;
const REFERENCE = /^R-?[0-9A-Z]{5}$/;

/** What the "new role from these reports" form starts with; staff complete the rest. */
export interface RoleDraft {
  reports: ReportRecord[];
  title: string;
  description: string;
  place: string;
  /** Empty unless at least two reporters share it (see the decisions above). */
  neighbourhood: string;
}

/**
 * The open reports behind these references, in the order given and each once; a 400 when there
 * are none or too many, a 404 naming those that do not exist, a 409 naming those not open.
 */
export async function openReports(deps: Pick<StaffDeps, 'store'>, refs: readonly string[]): Promise<ReportRecord[]> {
  const wanted = [...new Set(refs.map((ref) => ref.trim().toUpperCase().replace(/^R-?/, 'R-')))];
  if (wanted.length === 0) throw new StaffError(400, 'reports: select at least one report');
  if (wanted.length > MAX_ROLE_REPORTS) throw new StaffError(400, `reports: at most ${MAX_ROLE_REPORTS} reports make one role`);
  const bad = wanted.filter((ref) => !REFERENCE.test(ref));
  if (bad.length > 0) throw new StaffError(400, `reports: not report references: ${bad.slice(0, 5).join(', ')}`);
  const found = await Promise.all(wanted.map((ref) => deps.store.reports.get(ref)));
  const missing = wanted.filter((_, i) => !found[i]);
  if (missing.length > 0) throw new StaffError(404, `No report ${missing.slice(0, 10).join(', ')}`);
  const reports = found as ReportRecord[];
  const closed = reports.filter((report) => report.statusGroup !== 'open' || report.mergedInto);
  if (closed.length > 0) {
    throw new StaffError(
      409,
      `Only open reports make a volunteer role; not open: ${closed
        .slice(0, 10)
        .map((report) => `${report._id} (${report.status})`)
        .join(', ')}`,
    );
  }
  return reports;
}

/** The prefilled role for these open reports, in the city's default language. */
export async function draftRoleFromReports(deps: Pick<StaffDeps, 'store' | 'i18n' | 'config'>, refs: readonly string[]): Promise<RoleDraft> {
  const reports = await openReports(deps, refs);
  const locale = deps.config.defaultLocale;
  const t = (key: string, vars?: Record<string, string | number>) => deps.i18n.t(locale, key, vars);
  const category = [...new Set(reports.map((report) => t(`category.${report.category}`)))].join(', ');
  const places = distinct(reports.map(placeOf).filter((place): place is string => place !== undefined));
  const title = places.length === 1 ? t('role_draft.title', { category, place: places[0]! }) : t('role_draft.title_places', { category, count: places.length });
  const lines = [t('role_draft.description', { category })];
  let length = lines[0]!.length;
  for (const [i, place] of places.entries()) {
    if (length + place.length + 3 > DESCRIPTION_MAX - 40) {
      lines.push(t('role_draft.more_places', { count: places.length - i }));
      break;
    }
    lines.push(`- ${place}`);
    length += place.length + 3;
  }
  return {
    reports,
    title: title.slice(0, TITLE_MAX),
    description: lines.join('\n'),
    place: (places[0] ?? '').slice(0, 200),
    neighbourhood: await sharedNeighbourhood(deps, reports),
  };
}

/** Publishes a role made from open reports (at most MAX_ROLE_REPORTS); it keeps their references. */
export async function createRoleFromReports(
  deps: Pick<StaffDeps, 'store'>,
  refs: readonly string[],
  input: RoleInput,
  actor: Actor,
  now: Date = new Date(),
): Promise<VolunteerRoleRecord> {
  const reports = await openReports(deps, refs);
  return createRole(deps, input, actor, now, { fromReports: reports.map((report) => report._id) });
}

/** The roles made from a report ("Volunteers: V-…" on its page), newest first. */
export async function rolesFromReport(deps: Pick<StaffDeps, 'store'>, ref: string): Promise<Pick<VolunteerRoleRecord, '_id' | 'title' | 'status'>[]> {
  // Roles are few (a city's whole programme), so they are read rather than indexed by report.
  const roles = (
    await Promise.all(
      (['open', 'closed'] as const).map((status) => deps.store.roles.find({ field: 'status', equals: status }, { order: 'desc', limit: ROLES_READ })),
    )
  ).flat();
  return roles.filter((role) => role.fromReports?.includes(ref)).map(({ _id, title, status }) => ({ _id, title, status }));
}

/** Who a role's volunteer call goes to: the residents behind its reports, opted-in residents of its neighbourhood, or both. */
export interface CallAudience {
  /** The reporters and followers of the role's reports (each once; opt-outs honoured). */
  reporters: boolean;
  /** Residents who opted in to volunteer calls and whose profile names the role's neighbourhood. */
  nearby: boolean;
}

/** The broadcast audience of a role's call; a 400 when it asks for nobody or the role has no reports. */
export function roleCallAudience(role: Pick<VolunteerRoleRecord, 'fromReports' | 'neighbourhood'>, wanted: CallAudience): AudienceFilter {
  if (!wanted.reporters && !wanted.nearby) throw new StaffError(400, "audience: choose the reports' residents, residents nearby, or both");
  if (wanted.reporters && !role.fromReports?.length) throw new StaffError(400, 'audience: this role was not made from reports');
  return {
    ...(wanted.reporters ? { reports: [...role.fromReports!] } : {}),
    ...(wanted.nearby ? { neighbourhoods: [role.neighbourhood] } : { optedIn: false }),
  };
}

/**
 * Creates a role's volunteer call: a broadcast for the role (a "yes" signs up), persisted and
 * sent by the broadcast worker, to the audience asked for. The caller wakes the worker.
 */
export async function createRoleCall(
  setup: BroadcastSetup,
  ref: string,
  call: Omit<BroadcastInput, 'audience' | 'roleId'> & { audience: CallAudience },
  actor: Actor,
  now: Date = new Date(),
): Promise<{ broadcast: BroadcastRecord; plan: PlanCounts }> {
  const role = await setup.store.roles.get(ref.toUpperCase());
  if (!role) throw new StaffError(404, `No volunteer role ${ref}`);
  const { audience, ...rest } = call;
  // The same call again while it goes out (a double click) is refused: nobody hears it twice.
  return createBroadcastOnce(setup, { ...rest, roleId: role._id, audience: roleCallAudience(role, audience) }, `role_call|${role._id}`, actor, now);
}

/** What closing a role's reports did, per reference. */
export interface ReportsClosing {
  roleId: string;
  /** Closed now (status `fixed`, residents told). */
  closed: string[];
  /** Fixed or closed already (by an earlier closing, or by staff): left as they are. */
  alreadyClosed: string[];
  /** Not closed: gone, or merged into another report (the kept one is changed instead). */
  skipped: { ref: string; reason: string }[];
}

/** The staff note of a volunteers' fix: kept on the report's update and its Open311 status notes. */
export function volunteersNote(role: Pick<VolunteerRoleRecord, '_id' | 'title'>): string {
  return `Fixed by volunteers (${role._id}: ${role.title}).`;
}

/**
 * "Work done: close these reports": sets each of the role's open reports to `fixed` through the
 * staff status change, with a note that volunteers did it. `revision` is the role's as staff saw
 * it (a 409 when the role changed since). Each resident behind the reports is told once: of the
 * first report closed that they reported or follow.
 */
export async function closeRoleReports(deps: StaffDeps, ref: string, revision: number, actor: Actor, now: Date = new Date()): Promise<ReportsClosing> {
  const role = await deps.store.roles.get(ref.toUpperCase());
  if (!role) throw new StaffError(404, `No volunteer role ${ref}`);
  if (role._rev !== revision)
    throw new StaffError(409, `Volunteer role ${role._id} changed since revision ${revision} (it is at ${role._rev}): reload it and try again`);
  if (!role.fromReports?.length) throw new StaffError(409, `Volunteer role ${role._id} was not made from reports`);
  const result: ReportsClosing = { roleId: role._id, closed: [], alreadyClosed: [], skipped: [] };
  const note = volunteersNote(role);
  const volunteers = {
    roleId: role._id,
    title: role.title,
    ...(role.translations ? { titles: Object.fromEntries(Object.entries(role.translations).map(([locale, text]) => [locale, text.title])) } : {}),
  };
  // Who heard (or hears now) of this work: the residents behind each report this closing closes
  // or closed before (its note is ours). Decided from the reports alone, in the role's order, so
  // a retry and two closings at once agree on whom each report's notice leaves out.
  const told = new Set<string>();
  for (const reportRef of role.fromReports) {
    const report = await deps.store.reports.get(reportRef);
    if (!report) {
      result.skipped.push({ ref: reportRef, reason: 'not_found' });
      continue;
    }
    if (report.mergedInto) {
      result.skipped.push({ ref: reportRef, reason: `merged_into_${report.mergedInto}` });
      continue;
    }
    const audience = await reportAudience(deps.store, report);
    if (report.statusGroup !== 'open') {
      result.alreadyClosed.push(reportRef);
      if (report.statusGroup === 'fixed' && report.statusNote === note) for (const address of audience) told.add(address);
      continue;
    }
    const quiet = audience.filter((address) => told.has(address));
    for (const address of audience) told.add(address);
    try {
      await changeReportStatus(deps, reportRef, { status: 'fixed', note, onlyIfOpen: true, quiet, volunteers, reporterByJob: true }, actor, now);
      result.closed.push(reportRef);
    } catch (error) {
      // Closed meanwhile (a second click, another staff member): its residents heard from that change.
      if (!(error instanceof StaffError) || error.status !== 409) throw error;
      result.alreadyClosed.push(reportRef);
    }
  }
  await recordAudit(
    deps.store,
    {
      actor: actor.username,
      action: 'role.close_reports',
      target: role._id,
      details: { closed: result.closed.length, alreadyClosed: result.alreadyClosed.length, skipped: result.skipped.length, residentsTold: told.size },
    },
    now,
  );
  return result;
}

/** Where a report is, as staff see it in the list: the place text, the geocoder's label, or the point. */
function placeOf(report: ReportRecord): string | undefined {
  const text = report.location.text?.trim();
  if (text) return text;
  const point = report.location.point;
  if (!point) return undefined;
  return point.label?.trim() || `${point.lat.toFixed(5)}, ${point.lon.toFixed(5)}`;
}

/** The places without repeats ("5th and Main" and "5th And Main " are one). */
function distinct(places: readonly string[]): string[] {
  const seen = new Set<string>();
  return places.filter((place) => {
    const key = place.trim().replace(/\s+/g, ' ').toLocaleLowerCase();
    return !seen.has(key) && seen.add(key);
  });
}

/** The neighbourhood most reporters name in their profile, when at least two of them do; else empty. */
async function sharedNeighbourhood(deps: Pick<StaffDeps, 'store'>, reports: readonly ReportRecord[]): Promise<string> {
  const reporters = [...new Set(reports.map((report) => report.residentAddress))];
  const residents = await Promise.all(reporters.map((address) => deps.store.residents.get(address)));
  const counts = new Map<string, { name: string; count: number }>();
  for (const resident of residents) {
    const name = resident?.neighbourhood?.trim();
    if (!name) continue;
    const key = name.replace(/\s+/g, ' ').toLocaleLowerCase();
    const entry = counts.get(key) ?? { name, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  const best = [...counts.values()].sort((a, b) => b.count - a.count)[0];
  return best && best.count >= 2 ? best.name : '';
}
