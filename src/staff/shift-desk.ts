/**
 * A volunteer role's shifts for coordinators (issue 20): add, edit and cancel them, with their
 * confirmed and waitlisted counts. A shift is a dated slot of a role with its own capacity (and
 * place, when not the role's). What residents hear because of a staff action here (their shift
 * cancelled, a spot that more capacity gave them) is persisted work: one job per resident
 * (`shift_notice`, see `shiftNoticeJobHandlers`), never a send inside the staff request.
 */
import { createHash } from 'node:crypto';
import type { SendOutcome } from '../channels/channel.js';
import type { Config } from '../config.js';
import type { ShiftRecord, SignupRecord, VolunteerRoleRecord } from '../domain/records.js';
import { newReference } from '../domain/reference.js';
import { findEvery } from '../store/find-every.js';
import { scheduleJob } from '../store/jobs.js';
import type { Collections } from '../store/store.port.js';
import { recordAudit } from './audit-log.js';
import { createBroadcastOnce, type BroadcastSetup } from './broadcasts.js';
import type { JobHandler } from './job-scheduler.js';
import type { ResidentNotifier } from './resident-notifier.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** What a coordinator sets on a shift. */
export interface ShiftInput {
  startsAt: Date;
  endsAt: Date;
  /** Where, when not the role's own place. */
  place?: string;
  capacity: number;
}

/** Changes to some of a shift's fields; `place: null` goes back to the role's place. */
export type ShiftChanges = Partial<Omit<ShiftInput, 'place'>> & { place?: string | null };

/** A shift with its sign-up counts. */
export interface ShiftWithCounts extends ShiftRecord {
  confirmed: number;
  waitlisted: number;
}

/** Tells one resident about their shift. Payload: `notice` (`cancelled`, `promoted` or `moved`, with its `startsAt`), `shiftId`, `signupId`. */
export const SHIFT_NOTICE_JOB = 'shift_notice';

/** The most shifts a role's page reads: years of weekly shifts. */
const SHIFTS_READ = 1000;
/** The longest shift: a day. A longer one is a typo in a date (or a role, not a shift). */
const MAX_SHIFT_MS = 24 * 3_600_000;
const MAX_CAPACITY = 100_000;

/** A role's shifts in time order, with counts; a StaffError 404 when there is no such role. */
export async function listShifts(deps: Pick<StaffDeps, 'store'>, roleRef: string): Promise<ShiftWithCounts[]> {
  const role = await deps.store.roles.get(roleRef.toUpperCase());
  if (!role) throw new StaffError(404, `No volunteer role ${roleRef}`);
  const shifts = await deps.store.shifts.find({ field: 'roleId', equals: role._id }, { order: 'asc', limit: SHIFTS_READ });
  return Promise.all(shifts.map((shift) => withCounts(deps.store, shift)));
}

/** One shift with counts; a StaffError 404 when there is none. */
export async function shiftDetail(deps: Pick<StaffDeps, 'store'>, shiftId: string): Promise<ShiftWithCounts> {
  return withCounts(deps.store, await getShift(deps.store, shiftId));
}

/** Adds a shift to a role (open at once). */
export async function createShift(
  // The runner, when given, lists the new shift at once (it reuses its list for a second otherwise).
  deps: Pick<StaffDeps, 'store'> & Partial<Pick<StaffDeps, 'runner'>>,
  roleRef: string,
  input: ShiftInput,
  actor: Actor,
  now: Date = new Date(),
): Promise<ShiftRecord> {
  const role = await deps.store.roles.get(roleRef.toUpperCase());
  if (!role) throw new StaffError(404, `No volunteer role ${roleRef}`);
  const fields = cleanInput(input);
  for (let attempt = 0; attempt < 5; attempt++) {
    const record = { _id: newReference('S'), roleId: role._id, ...fields, status: 'open' as const, createdAt: now, updatedAt: now };
    if (await deps.store.shifts.insert(record)) {
      deps.runner?.rolesChanged();
      await recordAudit(
        deps.store,
        { actor: actor.username, action: 'shift.create', target: record._id, details: { roleId: role._id, capacity: record.capacity } },
        now,
      );
      return { ...record, _rev: 1 };
    }
  }
  throw new Error('Could not draw a free shift reference');
}

/**
 * Changes some of a shift's fields. More capacity gives the new spots to the shift's waitlist at
 * once (each promoted resident is told, through a job); less never removes anyone confirmed. A
 * cancelled shift is not edited (409): its volunteers were told it is off.
 */
export async function updateShift(deps: StaffDeps, shiftId: string, changes: ShiftChanges, actor: Actor, now: Date = new Date()): Promise<ShiftWithCounts> {
  const { store } = deps;
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await getShift(store, shiftId);
    if (current.status === 'cancelled') throw new StaffError(409, `Shift ${current._id} is cancelled`);
    const { place, ...rest } = changes;
    const merged: ShiftInput = {
      startsAt: rest.startsAt ?? current.startsAt,
      endsAt: rest.endsAt ?? current.endsAt,
      capacity: rest.capacity ?? current.capacity,
      ...(place === null ? {} : place !== undefined ? { place } : current.place !== undefined ? { place: current.place } : {}),
    };
    const { place: _old, ...kept } = current;
    const next: ShiftRecord = { ...kept, ...cleanInput(merged), updatedAt: now };
    if (!(await store.shifts.replace(next, current._rev))) continue;
    deps.runner.rolesChanged();
    await recordAudit(
      store,
      { actor: actor.username, action: 'shift.update', target: current._id, details: { roleId: current.roleId, fields: Object.keys(changes) } },
      now,
    );
    if (next.capacity > current.capacity) await promoteShiftWaitlist(deps, next, now);
    const retimed = current.startsAt.getTime() !== next.startsAt.getTime() || current.endsAt.getTime() !== next.endsAt.getTime();
    if (retimed) await forgetConfirmations(store, next._id, now);
    if (movedFor(current, next) && next.endsAt > now) await tellMoved(deps, next, now);
    return shiftDetail(deps, current._id);
  }
  throw new Error('Shift kept changing while it was edited');
}

/**
 * Cancels a shift: no more sign-ups, and everyone signed up for it (confirmed or waitlisted) has
 * their sign-up cancelled by staff (kept, for the record) and is told, in their language, by one
 * job each. Cancelling again finishes what a cut-off first try left (the jobs are once each).
 * A shift that has started is not cancelled (409): it took place, its volunteers' attendance and
 * hours are on their sign-ups (cancelled ones count for nothing on the impact page), and telling
 * them afterwards that it is off would be wrong. Check-in marks who did not come.
 */
export async function cancelShift(
  deps: Pick<StaffDeps, 'store' | 'jobs'> & Partial<Pick<StaffDeps, 'runner'>>,
  shiftId: string,
  actor: Actor,
  now: Date = new Date(),
): Promise<ShiftWithCounts> {
  const { store } = deps;
  let shift: ShiftRecord | null = null;
  for (let attempt = 0; attempt < 5 && !shift; attempt++) {
    const current = await getShift(store, shiftId);
    if (current.status === 'cancelled') shift = current;
    else if (current.startsAt <= now) throw new StaffError(409, `Shift ${current._id} has started: mark who came at check-in instead`);
    else if (await store.shifts.replace({ ...current, status: 'cancelled', updatedAt: now }, current._rev)) shift = current;
  }
  if (!shift) throw new Error('Shift kept changing while it was cancelled');
  deps.runner?.rolesChanged();
  let told = 0;
  for (const signup of await shiftSignups(store, shift._id)) {
    if (signup.status === 'cancelled' && signup.cancelledBy !== 'staff') continue;
    const cancelled = signup.status === 'cancelled' ? signup : await cancelSignup(store, signup._id, now);
    if (!cancelled) continue;
    const scheduled = await scheduleJob(
      store,
      {
        id: `${SHIFT_NOTICE_JOB}|cancelled|${signup._id}`,
        kind: SHIFT_NOTICE_JOB,
        dueAt: now,
        address: signup.address,
        payload: { notice: 'cancelled', shiftId: shift._id, signupId: signup._id },
        once: true,
      },
      now,
    );
    if (scheduled) told += 1;
  }
  await recordAudit(store, { actor: actor.username, action: 'shift.cancel', target: shift._id, details: { roleId: shift.roleId, told } }, now);
  deps.jobs.kick();
  return shiftDetail(deps, shift._id);
}

/**
 * Forgets, on a shift given another time, what its volunteers answered about the old one: "I'll
 * be there" (`attendanceConfirmedAt`) and having been reminded (`remindedAt`). Otherwise the new
 * time's reminder thanked them for confirming a time they never confirmed and asked nothing, the
 * check-in list showed them confirmed, and the release deadline counted a reminder of the old
 * time. Each sign-up revision-checked; one withdrawn meanwhile is left as it is.
 */
async function forgetConfirmations(store: Pick<Collections, 'signups'>, shiftId: string, now: Date): Promise<void> {
  for (const signup of await shiftSignups(store, shiftId)) {
    for (let attempt = 0, current: SignupRecord | null = signup; attempt < 5 && current; attempt++) {
      if (current.status === 'cancelled' || (current.attendanceConfirmedAt === undefined && current.remindedAt === undefined)) break;
      const { attendanceConfirmedAt: _confirmed, remindedAt: _reminded, ...rest } = current;
      if (await store.signups.replace({ ...rest, updatedAt: now }, current._rev)) break;
      current = await store.signups.get(current._id);
    }
  }
}

/** Whether a change moves a shift for its volunteers: another start, end or place. */
function movedFor(before: ShiftRecord, after: ShiftRecord): boolean {
  return before.startsAt.getTime() !== after.startsAt.getTime() || before.endsAt.getTime() !== after.endsAt.getTime() || before.place !== after.place;
}

/**
 * Tells everyone signed up for a moved shift (confirmed or waitlisted) its new time and place, by
 * one `shift_notice` job each, keyed by what it moved to: saving the same change twice tells
 * nobody twice, and a second move is told again. Without it a volunteer learnt of a move from the
 * next reminder at best (none when the new time was past the reminder hours), or came at the old time.
 */
async function tellMoved(deps: Pick<StaffDeps, 'store' | 'jobs'>, shift: ShiftRecord, now: Date): Promise<void> {
  const to = `${shift.startsAt.getTime()}|${shift.endsAt.getTime()}|${createHash('sha256')
    .update(shift.place ?? '')
    .digest('hex')
    .slice(0, 12)}`;
  let told = 0;
  for (const signup of await shiftSignups(deps.store, shift._id)) {
    if (signup.status === 'cancelled') continue;
    const scheduled = await scheduleJob(
      deps.store,
      {
        id: `${SHIFT_NOTICE_JOB}|moved|${signup._id}|${to}`,
        kind: SHIFT_NOTICE_JOB,
        dueAt: now,
        address: signup.address,
        payload: { notice: 'moved', shiftId: shift._id, signupId: signup._id, startsAt: shift.startsAt.getTime() },
        once: true,
      },
      now,
    );
    if (scheduled) told += 1;
  }
  if (told > 0) deps.jobs.kick();
}

/**
 * The runner's waitlist promotion, per shift. The lead's branch gives
 * `CommandRunner.promoteFromWaitlist` a third parameter, the shift id.
 */
/**
 * Fills a shift's free spots from its waitlist (first come, first served, under the runner's
 * lock, so a promotion and a sign-up cannot both take the last spot) and schedules telling each
 * promoted resident. Returns the sign-ups promoted.
 */
export async function promoteShiftWaitlist(deps: StaffDeps, shift: ShiftRecord, now: Date): Promise<SignupRecord[]> {
  const promoted = await deps.runner.promoteFromWaitlist(shift.roleId, now, shift._id);
  for (const signup of promoted) {
    await scheduleJob(
      deps.store,
      {
        // One message per promotion: promoted, withdrawn and promoted again is told twice.
        id: `${SHIFT_NOTICE_JOB}|promoted|${signup._id}|${signup.updatedAt.getTime()}`,
        kind: SHIFT_NOTICE_JOB,
        dueAt: now,
        address: signup.address,
        payload: { notice: 'promoted', shiftId: shift._id, signupId: signup._id },
        once: true,
      },
      now,
    );
  }
  if (promoted.length === 0) return promoted;
  deps.jobs.kick();
  // Only when someone was promoted: a reopened role looks at each of its coming shifts.
  await recordAudit(deps.store, { actor: 'system', action: 'shift.promote_waitlist', target: shift._id, details: { promoted: promoted.length } }, now);
  return promoted;
}

/**
 * Messages the confirmed volunteers of one shift ("we meet at the north gate"), through the
 * broadcast engine: one delivery each, persisted, sent by the broadcast worker with its quiet
 * hours, opt-outs and once-only sends. A reply reaches the staff inbox, as a broadcast's does.
 */
export async function messageShiftVolunteers(
  setup: BroadcastSetup,
  shiftId: string,
  messages: Record<string, string>,
  actor: Actor,
  now: Date = new Date(),
): Promise<Awaited<ReturnType<typeof createBroadcastOnce>>> {
  const shift = await getShift(setup.store, shiftId);
  // The same words again while they go out (a double tap at the door) are refused: nobody hears them twice.
  return createBroadcastOnce(setup, { messages, audience: { shiftId: shift._id } }, `shift_message|${shift._id}`, actor, now);
}

/** What the shift notices need. */
export interface ShiftNoticeDeps {
  store: Pick<Collections, 'shifts' | 'roles' | 'signups'>;
  notifier: ResidentNotifier;
  config: Pick<Config, 'cityTimeZone'>;
}

/**
 * The handler of `shift_notice`: tells one resident their shift is cancelled, or that a spot on
 * it is theirs, in their language, keyed by the job so a restarted run never sends it twice.
 * Waits out quiet hours (nobody asked for it at that moment). A promotion withdrawn before the
 * job ran is not told.
 */
export function shiftNoticeJobHandlers(deps: ShiftNoticeDeps): Record<string, JobHandler> {
  return {
    [SHIFT_NOTICE_JOB]: {
      quietHours: true,
      async run(job) {
        const p = job.payload;
        const [shift, signup] = await Promise.all([deps.store.shifts.get(String(p.shiftId ?? '')), deps.store.signups.get(String(p.signupId ?? ''))]);
        const role = shift ? await deps.store.roles.get(shift.roleId) : null;
        if (!shift || !signup || !role) return { state: 'done' };
        const promoted = p.notice === 'promoted';
        const moved = p.notice === 'moved';
        if (promoted && (signup.status !== 'confirmed' || shift.status !== 'open')) return { state: 'done' };
        // A move told once it is still the shift's time, to someone still signed up for it (a later move has its own job).
        if (moved && (signup.status === 'cancelled' || shift.status !== 'open' || shift.startsAt.getTime() !== Number(p.startsAt))) return { state: 'done' };
        const outcome: SendOutcome = await deps.notifier.notify(signup.address, {
          purpose: 'notification',
          key: job._id,
          compose: (locale, t) => {
            const title = role.translations?.[locale]?.title ?? role.title;
            const date = shiftWhen(shift, locale, deps.config.cityTimeZone);
            const text = promoted
              ? t('notify.promoted', { title, date, name: signup.name, contact: role.contact })
              : moved
                ? t('notify.shift_moved', { title, date, place: shift.place ?? role.place, name: signup.name, contact: role.contact })
                : t('notify.shift_cancelled', { title, date, name: signup.name, contact: role.contact });
            return [{ kind: 'text', text }];
          },
        });
        if (outcome.state === 'failed') return { state: 'failed', error: outcome.error, retryable: outcome.retryable };
        return { state: 'done' };
      },
    },
  };
}

/** A shift's time as a resident reads it, in their language and the city's time zone: "Dec 5, 2026, 9:00 AM – 12:00 PM". */
export function shiftWhen(shift: Pick<ShiftRecord, 'startsAt' | 'endsAt'>, locale: string, timeZone: string): string {
  const start = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(shift.startsAt);
  const end = new Intl.DateTimeFormat(locale, { timeStyle: 'short', timeZone }).format(shift.endsAt);
  return `${start} – ${end}`;
}

/**
 * All of a shift's sign-ups in sign-up order (through the shiftId index, a page at a time): a
 * shift may take up to 100,000 volunteers and its withdrawn sign-ups stay, and a cancellation or
 * a move must reach every one of them, not those within a read limit.
 */
export function shiftSignups(store: Pick<Collections, 'signups'>, shiftId: string): Promise<SignupRecord[]> {
  return findEvery(store.signups, { field: 'shiftId', equals: shiftId }, (signup) => signup.createdAt);
}

/** The stored shift; a StaffError 404 when there is none. */
export async function getShift(store: Pick<Collections, 'shifts'>, shiftId: string): Promise<ShiftRecord> {
  const shift = await store.shifts.get(shiftId.trim().toUpperCase());
  if (!shift) throw new StaffError(404, `No shift ${shiftId}`);
  return shift;
}

/** The role a shift belongs to (a StaffError 404 when it has gone). */
export async function roleOfShift(store: Pick<Collections, 'roles'>, shift: ShiftRecord): Promise<VolunteerRoleRecord> {
  const role = await store.roles.get(shift.roleId);
  if (!role) throw new StaffError(404, `No volunteer role ${shift.roleId}`);
  return role;
}

async function withCounts(store: Pick<Collections, 'signups'>, shift: ShiftRecord): Promise<ShiftWithCounts> {
  const signups = await shiftSignups(store, shift._id);
  return {
    ...shift,
    confirmed: signups.filter((s) => s.status === 'confirmed').length,
    waitlisted: signups.filter((s) => s.status === 'waitlisted').length,
  };
}

/** Cancels one sign-up by staff, revision-checked; null when it was cancelled meanwhile by someone else. */
async function cancelSignup(store: Pick<Collections, 'signups'>, id: string, now: Date): Promise<SignupRecord | null> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await store.signups.get(id);
    if (!current || current.status === 'cancelled') return current?.cancelledBy === 'staff' ? current : null;
    const next: SignupRecord = { ...current, status: 'cancelled', cancelledBy: 'staff', updatedAt: now };
    if (await store.signups.replace(next, current._rev)) return next;
  }
  throw new Error('Sign-up kept changing while its shift was cancelled');
}

/** The input checked: real dates, the end after the start and within a day, capacity 0 or more. */
function cleanInput(input: ShiftInput): ShiftInput {
  if (Number.isNaN(input.startsAt.getTime())) throw new StaffError(400, 'startsAt is not a date');
  if (Number.isNaN(input.endsAt.getTime())) throw new StaffError(400, 'endsAt is not a date');
  if (input.endsAt <= input.startsAt) throw new StaffError(400, 'endsAt must be after startsAt');
  if (input.endsAt.getTime() - input.startsAt.getTime() > MAX_SHIFT_MS) throw new StaffError(400, 'endsAt must be within 24 hours of startsAt');
  if (!Number.isInteger(input.capacity) || input.capacity < 0 || input.capacity > MAX_CAPACITY) {
    throw new StaffError(400, `capacity must be a whole number from 0 to ${MAX_CAPACITY}`);
  }
  const place = input.place?.trim();
  if (place && place.length > 200) throw new StaffError(400, 'place must be at most 200 characters');
  return { startsAt: input.startsAt, endsAt: input.endsAt, capacity: input.capacity, ...(place ? { place } : {}) };
}
