/**
 * The day of a shift for coordinators (issue 20): today's shifts, a shift's volunteers to check
 * in (attended or no-show), and their hours approved or corrected. What staff write here is
 * what the impact page counts: `attendance` with `attendanceBy: 'staff'`, and `hoursApproved`.
 *
 * A sign-up is named to staff by a short key (a hash of its id), never by the resident's
 * address: the address is a phone number, and keys end up in URLs and logs.
 */
import { createHash } from 'node:crypto';
import type { ChannelName } from '../core/message.js';
import type { ShiftRecord, SignupRecord, VolunteerRoleRecord } from '../domain/records.js';
import { fromCityLocalInput, toCityLocalInput } from '../domain/city-time.js';
import type { Collections } from '../store/store.port.js';
import { recordAudit } from './audit-log.js';
import { maskAddress } from './role-desk.js';
import { getShift, roleOfShift, shiftSignups } from './shift-desk.js';
import { checkMilestonesSoon } from '../pipeline/shift-checkins.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** The most hours one sign-up may be given: a shift is at most a day. */
export const MAX_SHIFT_HOURS = 24;
/** Open shifts read at most from the day's start to find today's (see todaysShifts). */
const OPEN_SHIFTS_READ = 20_000;

/** A volunteer on a shift as staff see them at check-in. */
export interface VolunteerView {
  /** Names the sign-up in forms and URLs without the resident's address. */
  key: string;
  /** The sign-up's revision when read: a form sends it back, so two phones do not overwrite each other unseen. */
  rev: number;
  name: string;
  channel: ChannelName;
  maskedAddress: string;
  status: SignupRecord['status'];
  /** They answered a reminder "1: I'll be there". */
  confirmedByReminder: boolean;
  attendance?: SignupRecord['attendance'];
  attendanceBy?: SignupRecord['attendanceBy'];
  hoursReported?: number;
  hoursApproved?: number;
}

/** A shift with its role, for the check-in list. */
export interface ShiftOfDay {
  shift: ShiftRecord;
  role: Pick<VolunteerRoleRecord, '_id' | 'title' | 'place'>;
  confirmed: number;
  /** Confirmed volunteers checked in so far (either mark). */
  checkedIn: number;
}

/** The key of a sign-up: 12 hex characters of a hash of its id. */
export function signupKey(signupId: string): string {
  return createHash('sha256').update(signupId).digest('hex').slice(0, 12);
}

/** One sign-up as the check-in list shows it. */
export function volunteerView(signup: SignupRecord): VolunteerView {
  return {
    key: signupKey(signup._id),
    rev: signup._rev,
    name: signup.name,
    channel: signup.channel,
    maskedAddress: maskAddress(signup.address),
    status: signup.status,
    confirmedByReminder: signup.attendanceConfirmedAt !== undefined,
    ...(signup.attendance ? { attendance: signup.attendance } : {}),
    ...(signup.attendanceBy ? { attendanceBy: signup.attendanceBy } : {}),
    ...(signup.hoursReported !== undefined ? { hoursReported: signup.hoursReported } : {}),
    ...(signup.hoursApproved !== undefined ? { hoursApproved: signup.hoursApproved } : {}),
  };
}

/** A shift, its role and its volunteers (confirmed ones: who is expected), in sign-up order. */
export async function shiftVolunteers(
  deps: Pick<StaffDeps, 'store'>,
  shiftId: string,
): Promise<{ shift: ShiftRecord; role: VolunteerRoleRecord; volunteers: VolunteerView[] }> {
  const shift = await getShift(deps.store, shiftId);
  const role = await roleOfShift(deps.store, shift);
  const signups = await shiftSignups(deps.store, shift._id);
  return { shift, role, volunteers: signups.filter((s) => s.status === 'confirmed').map(volunteerView) };
}

/**
 * The open shifts that start today in the city's time zone (CITY_TIMEZONE), earliest first, read
 * through the shifts' status→startsAt index from the day's start (past shifts stay `open`, which
 * means not cancelled, and are never read); OPEN_SHIFTS_READ bounds a very busy day.
 */
export async function todaysShifts(deps: Pick<StaffDeps, 'store' | 'config'>, now: Date = new Date()): Promise<ShiftOfDay[]> {
  const { from, to } = cityDay(now, deps.config.cityTimeZone);
  // One read from the day's start on the open-by-start index, never the city's past shifts.
  const open = await deps.store.shifts.find({ field: 'status', equals: 'open' }, { order: 'asc', from, limit: OPEN_SHIFTS_READ });
  const today = open.filter((shift) => shift.startsAt < to);
  const roles = new Map<string, VolunteerRoleRecord | null>();
  const rows: ShiftOfDay[] = [];
  for (const shift of today) {
    if (!roles.has(shift.roleId)) roles.set(shift.roleId, await deps.store.roles.get(shift.roleId));
    const role = roles.get(shift.roleId);
    if (!role) continue;
    const confirmed = (await shiftSignups(deps.store, shift._id)).filter((s) => s.status === 'confirmed');
    rows.push({
      shift,
      role: { _id: role._id, title: role.title, place: role.place },
      confirmed: confirmed.length,
      checkedIn: confirmed.filter((s) => s.attendance !== undefined).length,
    });
  }
  return rows;
}

/** The city's calendar day around an instant: its first instant and the next day's. */
export function cityDay(now: Date, timeZone: string): { from: Date; to: Date } {
  const day = toCityLocalInput(now, timeZone).slice(0, 10);
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const next = new Date(Date.UTC(year, month - 1, date + 1)).toISOString().slice(0, 10);
  return { from: fromCityLocalInput(`${day}T00:00`, timeZone)!, to: fromCityLocalInput(`${next}T00:00`, timeZone)! };
}

/**
 * Marks whether a volunteer came (`attendanceBy: 'staff'`, over what the resident said).
 * Revision-checked: with `expectedRev` (what the coordinator's page showed), a sign-up that
 * changed since is refused with a 409 so the coordinator looks again; without, the latest is
 * changed. Audited without the resident's address.
 */
export async function markAttendance(
  deps: Pick<StaffDeps, 'store'>,
  shiftId: string,
  key: string,
  attendance: NonNullable<SignupRecord['attendance']>,
  actor: Actor,
  now: Date = new Date(),
  expectedRev?: number,
): Promise<VolunteerView> {
  const updated = await changeSignup(deps.store, shiftId, key, expectedRev, (current) => ({ ...current, attendance, attendanceBy: 'staff', updatedAt: now }));
  await recordAudit(
    deps.store,
    { actor: actor.username, action: 'signup.attendance', target: updated.shiftId ?? shiftId, details: { signup: key, attendance } },
    now,
  );
  return volunteerView(updated);
}

/**
 * Approves a volunteer's hours: as they reported them (`'reported'`, a 409 when they reported
 * none) or a coordinator's corrected number (0 to 24). Approved hours are
 * the ones that count.
 */
export async function approveHours(
  deps: Pick<StaffDeps, 'store'>,
  shiftId: string,
  key: string,
  hours: number | 'reported',
  actor: Actor,
  now: Date = new Date(),
  expectedRev?: number,
): Promise<VolunteerView> {
  if (hours !== 'reported') checkHours(hours);
  const updated = await changeSignup(deps.store, shiftId, key, expectedRev, (current) => {
    const approved = hours === 'reported' ? current.hoursReported : hours;
    if (approved === undefined) throw new StaffError(409, 'This volunteer has not reported hours: give a number');
    return { ...current, hoursApproved: approved, updatedAt: now };
  });
  await checkMilestonesSoon(deps.store, updated.address, now);
  await recordAudit(
    deps.store,
    {
      actor: actor.username,
      action: 'signup.hours',
      target: updated.shiftId ?? shiftId,
      details: { signup: key, hoursApproved: updated.hoursApproved, ...(hours === 'reported' ? { asReported: true } : {}) },
    },
    now,
  );
  return volunteerView(updated);
}

/**
 * "Approve all reported": every confirmed volunteer of the shift who reported hours and has none
 * approved gets them approved as reported. Hours a coordinator set already are left alone.
 * Returns how many were approved.
 */
export async function approveAllReported(deps: Pick<StaffDeps, 'store'>, shiftId: string, actor: Actor, now: Date = new Date()): Promise<number> {
  const shift = await getShift(deps.store, shiftId);
  let approved = 0;
  for (const signup of await shiftSignups(deps.store, shift._id)) {
    if (signup.status !== 'confirmed' || signup.hoursReported === undefined || signup.hoursApproved !== undefined) continue;
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await deps.store.signups.get(signup._id);
      if (!current || current.hoursReported === undefined || current.hoursApproved !== undefined) break;
      if (await deps.store.signups.replace({ ...current, hoursApproved: current.hoursReported, updatedAt: now }, current._rev)) {
        await checkMilestonesSoon(deps.store, current.address, now);
        approved += 1;
        break;
      }
    }
  }
  await recordAudit(deps.store, { actor: actor.username, action: 'shift.approve_hours', target: shift._id, details: { approved } }, now);
  return approved;
}

/** Whether a number of hours can be approved (a StaffError 400 when not). */
function checkHours(hours: number): void {
  if (!Number.isFinite(hours) || hours < 0 || hours > MAX_SHIFT_HOURS) throw new StaffError(400, `hours must be a number from 0 to ${MAX_SHIFT_HOURS}`);
}

/** Finds a shift's sign-up by key and writes a change to it, revision-checked. */
async function changeSignup(
  store: Pick<Collections, 'shifts' | 'signups'>,
  shiftId: string,
  key: string,
  expectedRev: number | undefined,
  change: (current: SignupRecord) => SignupRecord,
): Promise<SignupRecord> {
  const shift = await getShift(store, shiftId);
  const found = (await shiftSignups(store, shift._id)).find((signup) => signupKey(signup._id) === key);
  if (!found) throw new StaffError(404, `No volunteer ${key} on shift ${shift._id}`);
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = attempt === 0 ? found : await store.signups.get(found._id);
    if (!current) throw new StaffError(404, `No volunteer ${key} on shift ${shift._id}`);
    if (expectedRev !== undefined && current._rev !== expectedRev) throw new StaffError(409, 'This volunteer changed since the page was loaded: look again');
    if (current.status === 'cancelled') throw new StaffError(409, 'This sign-up is cancelled');
    const next = change(current);
    if (await store.signups.replace(next, current._rev)) return { ...next, _rev: current._rev + 1 };
    if (expectedRev !== undefined) throw new StaffError(409, 'This volunteer changed since the page was loaded: look again');
  }
  throw new Error('Sign-up kept changing while it was checked in');
}
