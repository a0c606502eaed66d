/**
 * Volunteer roles for coordinators: create, edit and close roles; see who signed up (names and
 * channels); export them as CSV; and fill freed spots from the waitlist, telling the promoted
 * resident. Phone numbers are not shown: staff see the channel and the last digits, and reach
 * volunteers through CivicLine (the role's contact is how volunteers reach the coordinator).
 */
import type { ChannelName } from '../core/message.js';
import type { RoleOutcome, SignupRecord, VolunteerRoleRecord } from '../domain/records.js';
import { newReference } from '../domain/reference.js';
import { recordAudit } from './audit-log.js';
import { csvCell } from './csv.js';
import { promoteShiftWaitlist } from './shift-desk.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** The fields a coordinator fills in: the role's own, without what the service keeps. */
export type RoleInput = Pick<
  VolunteerRoleRecord,
  'title' | 'description' | 'interests' | 'neighbourhood' | 'place' | 'startsAt' | 'endsAt' | 'schedule' | 'capacity' | 'contact' | 'translations'
>;

/** A role with its sign-up counts. */
export interface RoleWithCounts extends VolunteerRoleRecord {
  confirmed: number;
  waitlisted: number;
}

/** A sign-up as staff see it: the resident's number masked. */
export interface SignupView {
  name: string;
  channel: ChannelName;
  /** `sms:…4567`, `telegram:…8912`: enough to tell two people apart, not to dial. */
  maskedAddress: string;
  status: SignupRecord['status'];
  createdAt: Date;
  updatedAt: Date;
}

const ROLES_READ = 1000;

/** Roles, upcoming first, open ones before closed ones, with counts. */
export async function listRoles(deps: Pick<StaffDeps, 'store'>, options: { status?: 'open' | 'closed' } = {}): Promise<RoleWithCounts[]> {
  const statuses = options.status ? [options.status] : (['open', 'closed'] as const);
  const roles = (
    await Promise.all(statuses.map((status) => deps.store.roles.find({ field: 'status', equals: status }, { order: 'asc', limit: ROLES_READ })))
  ).flat();
  return Promise.all(roles.map((role) => withCounts(deps, role)));
}

async function withCounts(deps: Pick<StaffDeps, 'store'>, role: VolunteerRoleRecord): Promise<RoleWithCounts> {
  const signups = await deps.store.signups.find({ field: 'roleId', equals: role._id }, { limit: 10_000 });
  return {
    ...role,
    confirmed: signups.filter((s) => s.status === 'confirmed').length,
    waitlisted: signups.filter((s) => s.status === 'waitlisted').length,
  };
}

/** One role with counts; a StaffError 404 when there is none. */
export async function roleDetail(deps: Pick<StaffDeps, 'store'>, ref: string): Promise<RoleWithCounts> {
  const role = await deps.store.roles.get(ref.toUpperCase());
  if (!role) throw new StaffError(404, `No volunteer role ${ref}`);
  return withCounts(deps, role);
}

/** What a role keeps that its form does not edit: the reports it was made from (love-your-block.ts). */
export type RoleOrigin = Pick<VolunteerRoleRecord, 'fromReports'>;

/** Publishes a new role (open at once). */
export async function createRole(
  // The runner, when given, lists the new role at once (it reuses its list for a second otherwise).
  deps: Pick<StaffDeps, 'store'> & Partial<Pick<StaffDeps, 'runner'>>,
  input: RoleInput,
  actor: Actor,
  now: Date = new Date(),
  origin: RoleOrigin = {},
): Promise<VolunteerRoleRecord> {
  checkDates(input.startsAt, input.endsAt);
  for (let attempt = 0; attempt < 5; attempt++) {
    const record = { _id: newReference('V'), ...cleanInput(input), ...origin, status: 'open' as const, demo: false, createdAt: now, updatedAt: now };
    if (await deps.store.roles.insert(record)) {
      deps.runner?.rolesChanged();
      const details = { capacity: record.capacity, ...(origin.fromReports ? { fromReports: origin.fromReports.length } : {}) };
      await recordAudit(
        deps.store,
        { actor: actor.username, action: origin.fromReports ? 'role.create_from_reports' : 'role.create', target: record._id, details },
        now,
      );
      return { ...record, _rev: 1 };
    }
  }
  throw new Error('Could not draw a free role reference');
}

/** Changes to some of a role's fields; `null` removes an optional one (the end time, the schedule). */
export type RoleChanges = Partial<Omit<RoleInput, 'endsAt' | 'schedule'>> & { endsAt?: Date | null; schedule?: string | null };

/**
 * Changes some of a role's fields (the API's PATCH). More capacity fills from the waitlist at
 * once (those promoted are told); less capacity never removes anyone already confirmed.
 */
export function updateRole(deps: StaffDeps, ref: string, changes: RoleChanges, actor: Actor, now: Date = new Date()): Promise<RoleWithCounts> {
  return rewriteRole(
    deps,
    ref,
    (current) => {
      const { endsAt, schedule, ...rest } = changes;
      const merged: RoleInput = { ...roleInputOf(current), ...rest };
      if (endsAt === null) delete merged.endsAt;
      else if (endsAt) merged.endsAt = endsAt;
      if (schedule === null) delete merged.schedule;
      else if (schedule !== undefined) merged.schedule = schedule;
      return merged;
    },
    Object.keys(changes),
    actor,
    now,
  );
}

/** Replaces all of a role's fields with a coordinator's form (a field left empty is removed). */
export function replaceRole(deps: StaffDeps, ref: string, input: RoleInput, actor: Actor, now: Date = new Date()): Promise<RoleWithCounts> {
  // The form has no translations: keep the ones the role has unless the input brings its own.
  return rewriteRole(
    deps,
    ref,
    (current) => ({ ...input, ...((input.translations ?? current.translations) ? { translations: input.translations ?? current.translations! } : {}) }),
    Object.keys(input),
    actor,
    now,
  );
}

async function rewriteRole(
  deps: StaffDeps,
  ref: string,
  next: (current: VolunteerRoleRecord) => RoleInput,
  fields: string[],
  actor: Actor,
  now: Date,
): Promise<RoleWithCounts> {
  const { store } = deps;
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await store.roles.get(ref.toUpperCase());
    if (!current) throw new StaffError(404, `No volunteer role ${ref}`);
    const merged: VolunteerRoleRecord = {
      _id: current._id,
      _rev: current._rev,
      ...cleanInput(next(current)),
      // Not the form's: the reports it was made from, its reminder and outcome settings stay what
      // they were unless the change brings its own.
      ...(current.fromReports ? { fromReports: current.fromReports } : {}),
      ...(current.reminderHours ? { reminderHours: current.reminderHours } : {}),
      ...(current.releaseUnconfirmedHours !== undefined ? { releaseUnconfirmedHours: current.releaseUnconfirmedHours } : {}),
      ...(current.outcome ? { outcome: current.outcome } : {}),
      status: current.status,
      demo: current.demo,
      createdAt: current.createdAt,
      updatedAt: now,
    };
    checkDates(merged.startsAt, merged.endsAt);
    if (!(await store.roles.replace(merged, current._rev))) continue;
    deps.runner.rolesChanged();
    await recordAudit(store, { actor: actor.username, action: 'role.update', target: current._id, details: { fields } }, now);
    if (merged.capacity > current.capacity) await promoteFromWaitlist(deps, current._id, now);
    return roleDetail(deps, current._id);
  }
  throw new Error('Role kept changing while it was edited');
}

/** A reopened role's coming shifts whose waitlists are promoted, at most (years of weekly shifts). */
const REOPEN_SHIFTS_READ = 1000;

/** Closes (no more sign-ups) or reopens a role; reopening promotes its waitlists (the role's, and each coming shift's). */
export async function setRoleStatus(deps: StaffDeps, ref: string, status: 'open' | 'closed', actor: Actor, now: Date = new Date()): Promise<RoleWithCounts> {
  const { store } = deps;
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await store.roles.get(ref.toUpperCase());
    if (!current) throw new StaffError(404, `No volunteer role ${ref}`);
    if (current.status === status) return withCounts(deps, current);
    if (!(await store.roles.replace({ ...current, status, updatedAt: now }, current._rev))) continue;
    deps.runner.rolesChanged();
    await recordAudit(store, { actor: actor.username, action: status === 'closed' ? 'role.close' : 'role.reopen', target: current._id }, now);
    if (status === 'open') {
      await promoteFromWaitlist(deps, current._id, now);
      // And each coming shift's: a spot freed while the role was closed was given to nobody
      // (a closed role promotes no one), and nothing else would give it later.
      const shifts = await store.shifts.find({ field: 'roleId', equals: current._id }, { order: 'asc', from: now, limit: REOPEN_SHIFTS_READ });
      for (const shift of shifts) if (shift.status === 'open' && shift.startsAt > now) await promoteShiftWaitlist(deps, shift, now);
    }
    return roleDetail(deps, current._id);
  }
  throw new Error('Role kept changing while its status was set');
}

/** Who signed up for a role, in sign-up order, numbers masked. */
export async function roleSignups(deps: Pick<StaffDeps, 'store'>, ref: string): Promise<SignupView[]> {
  const role = await deps.store.roles.get(ref.toUpperCase());
  if (!role) throw new StaffError(404, `No volunteer role ${ref}`);
  const signups = await deps.store.signups.find({ field: 'roleId', equals: role._id }, { order: 'asc', limit: 10_000 });
  return signups.map((s) => ({
    name: s.name,
    channel: s.channel,
    maskedAddress: maskAddress(s.address),
    status: s.status,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  }));
}

/** A role's sign-ups as CSV (RFC 4180), safe to open in a spreadsheet. */
export async function roleSignupsCsv(deps: Pick<StaffDeps, 'store'>, ref: string): Promise<string> {
  const rows = (await roleSignups(deps, ref)).map((s) => [s.name, s.channel, s.maskedAddress, s.status, s.createdAt.toISOString(), s.updatedAt.toISOString()]);
  return [['name', 'channel', 'resident', 'status', 'signed_up_at', 'updated_at'], ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/**
 * Fills free spots of a shift (or of a role without shifts) from its waitlist (first come, first
 * served) and tells each promoted resident. Called when a confirmed volunteer cancels, capacity
 * grows, or a role reopens.
 */
export async function promoteFromWaitlist(deps: StaffDeps, roleId: string, now: Date = new Date(), shiftId?: string): Promise<SignupRecord[]> {
  // A shift's waitlist: the shift desk's promotion, whose notices are jobs.
  if (shiftId) {
    const shift = await deps.store.shifts.get(shiftId);
    return shift && shift.roleId === roleId ? promoteShiftWaitlist(deps, shift, now) : [];
  }
  const promoted = await deps.runner.promoteFromWaitlist(roleId, now);
  const role = promoted.length > 0 ? await deps.store.roles.get(roleId) : null;
  if (!role) return promoted;
  // Promoted whether or not they can be told (they asked for the spot; an opt-out stops
  // messages, not sign-ups); the audit entry says how many were told, for the coordinator.
  const told: Record<string, number> = {};
  for (const signup of promoted) {
    const outcome = await deps.notifier.notify(signup.address, {
      purpose: 'notification',
      // One message per promotion: promoted, withdrawn and promoted again is told twice.
      key: `promoted|${signup._id}|${signup.updatedAt.getTime()}|${signup._rev}`,
      compose: (locale, t) => {
        const text = role.translations?.[locale] ?? { title: role.title };
        const date =
          role.schedule ??
          new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: deps.config.cityTimeZone }).format(role.startsAt);
        return [{ kind: 'text', text: t('notify.promoted', { title: text.title, date, name: signup.name, contact: role.contact }) }];
      },
    });
    const key = outcome.state === 'skipped' ? `skipped_${outcome.reason}` : outcome.state;
    told[key] = (told[key] ?? 0) + 1;
  }
  await recordAudit(deps.store, { actor: 'system', action: 'role.promote_waitlist', target: roleId, details: { promoted: promoted.length, ...told } }, now);
  return promoted;
}

/** A stored role's editable fields. */
function roleInputOf(role: VolunteerRoleRecord): RoleInput {
  return {
    title: role.title,
    description: role.description,
    interests: role.interests,
    neighbourhood: role.neighbourhood,
    place: role.place,
    startsAt: role.startsAt,
    ...(role.endsAt ? { endsAt: role.endsAt } : {}),
    ...(role.schedule ? { schedule: role.schedule } : {}),
    capacity: role.capacity,
    contact: role.contact,
    ...(role.translations ? { translations: role.translations } : {}),
  };
}

function cleanInput(input: RoleInput): RoleInput {
  return {
    title: input.title.trim(),
    description: input.description.trim(),
    interests: [...new Set(input.interests.map((i) => i.trim().toLowerCase()).filter(Boolean))],
    neighbourhood: input.neighbourhood.trim(),
    place: input.place.trim(),
    startsAt: input.startsAt,
    ...(input.endsAt ? { endsAt: input.endsAt } : {}),
    ...(input.schedule?.trim() ? { schedule: input.schedule.trim() } : {}),
    capacity: input.capacity,
    contact: input.contact.trim(),
    ...(input.translations ? { translations: input.translations } : {}),
  };
}

function checkDates(startsAt: Date, endsAt: Date | undefined): void {
  if (Number.isNaN(startsAt.getTime())) throw new StaffError(400, 'startsAt is not a date');
  if (endsAt && endsAt < startsAt) throw new StaffError(400, 'endsAt is before startsAt');
}

/** `sms:+15551234567` → `sms:…4567`. */
export function maskAddress(address: string): string {
  const at = address.indexOf(':');
  return `${address.slice(0, at + 1)}…${address.slice(-4)}`;
}

/**
 * A role's programme settings (issue 20): when its volunteers are reminded before each shift, the
 * release deadline for those who did not confirm, and the outcome asked after each shift. `null`
 * removes one (back to the city's reminder hours; no release; no outcome question).
 */
export interface RoleProgramme {
  reminderHours?: number[] | null;
  releaseUnconfirmedHours?: number | null;
  outcome?: RoleOutcome | null;
}

/** Sets some of a role's programme settings, revision-checked and audited; the planners read them on their next pass. */
export async function setRoleProgramme(
  deps: Pick<StaffDeps, 'store'>,
  ref: string,
  changes: RoleProgramme,
  actor: Actor,
  now: Date = new Date(),
): Promise<RoleWithCounts> {
  const { store } = deps;
  if (changes.reminderHours && changes.reminderHours.some((hours) => !(hours > 0 && hours <= 24 * 30))) {
    throw new StaffError(400, 'reminderHours: each must be more than 0 and at most 720 hours before the shift');
  }
  if (changes.releaseUnconfirmedHours != null && !(changes.releaseUnconfirmedHours >= 0 && changes.releaseUnconfirmedHours <= 24 * 30)) {
    throw new StaffError(400, 'releaseUnconfirmedHours: 0 to 720 hours before the shift');
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await store.roles.get(ref.toUpperCase());
    if (!current) throw new StaffError(404, `No volunteer role ${ref}`);
    const next: VolunteerRoleRecord = { ...current, updatedAt: now };
    if (changes.reminderHours === null) delete next.reminderHours;
    else if (changes.reminderHours) next.reminderHours = [...new Set(changes.reminderHours)].sort((a, b) => b - a);
    if (changes.releaseUnconfirmedHours === null) delete next.releaseUnconfirmedHours;
    else if (changes.releaseUnconfirmedHours !== undefined) next.releaseUnconfirmedHours = changes.releaseUnconfirmedHours;
    if (changes.outcome === null) delete next.outcome;
    else if (changes.outcome) next.outcome = changes.outcome;
    if (!(await store.roles.replace(next, current._rev))) continue;
    await recordAudit(store, { actor: actor.username, action: 'role.programme', target: current._id, details: { fields: Object.keys(changes) } }, now);
    return roleDetail(deps, current._id);
  }
  throw new Error('Role kept changing while its programme was set');
}
