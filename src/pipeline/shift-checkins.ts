/**
 * Residents' answers after a volunteer shift (issue 20), as the check-in dialog's commands
 * (`checkin.get`, `checkin.record`) read and keep them: on the resident's own sign-up for the
 * shift (`<shiftId>|<address>`, so nobody answers for anyone else), never over what staff marked
 * at check-in. Hours reported arm the resident's milestone check (a job; see volunteer-hours.ts).
 *
 * Retries: a turn retried after a crash records the same answers again (the same fields, the same
 * values), and scheduling the milestone check twice is one job.
 */
import type { CheckinView, CommandInputs, CommandResults } from '../engine/commands.js';
import type { SignupRecord, VolunteerRoleRecord } from '../domain/records.js';
import { milestoneJobId, tallyRole, VOLUNTEER_MILESTONE_JOB } from '../domain/volunteer-hours.js';
import { scheduleJob } from '../store/jobs.js';
import type { Collections } from '../store/store.port.js';
import type { CommandScope } from './command-runner.js';

const WRITE_ATTEMPTS = 5;
/** A role's sign-ups read at most to tally its outcome: more than any role has. */
export const ROLE_SIGNUPS_READ = 10_000;

type CheckinStore = Pick<Collections, 'shifts' | 'roles' | 'signups' | 'jobs'>;

/**
 * Whether a sign-up is one to ask "did you make it?": confirmed (not waitlisted or withdrawn)
 * and not marked a no-show by staff at check-in (their word stands; someone marked present is
 * still asked, for their hours).
 */
export function isAskedAfterShift(signup: Pick<SignupRecord, 'status' | 'attendance' | 'attendanceBy'>): boolean {
  return signup.status === 'confirmed' && !(signup.attendanceBy === 'staff' && signup.attendance === 'no_show');
}

/** Runs `checkin.get`: the shift the resident is asked about, in their language, or null. */
export async function checkinView(store: CheckinStore, input: CommandInputs['checkin.get'], scope: CommandScope): Promise<CommandResults['checkin.get']> {
  const signup = await store.signups.get(`${input.ref}|${scope.address}`);
  if (!signup || !isAskedAfterShift(signup)) return { checkin: null };
  const [shift, role] = await Promise.all([store.shifts.get(input.ref), store.roles.get(signup.roleId)]);
  if (!shift || !role) return { checkin: null };
  return { checkin: { name: signup.name, ...viewOf(role, shift._id, shift.startsAt, shift.endsAt, scope.locale) } };
}

/** The shift as the resident is asked about it: the role's title and outcome question in their language. */
export function viewOf(role: VolunteerRoleRecord, ref: string, startsAt: Date, endsAt: Date, locale: string): Omit<CheckinView, 'name'> {
  return { ref, startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString(), ...roleWords(role, locale) };
}

/** A role's title, and its outcome question and unit, in a language (the role's own words where it has none). */
export function roleWords(role: VolunteerRoleRecord, locale: string): Pick<CheckinView, 'title' | 'outcome'> {
  const title = role.translations?.[locale]?.title ?? role.title;
  const outcome = role.outcome ? (role.outcome.translations?.[locale] ?? { unit: role.outcome.unit, question: role.outcome.question }) : null;
  return { title, ...(outcome ? { outcome } : {}) };
}

/**
 * Runs `checkin.record`: keeps the answers on the resident's sign-up (attendance by the resident
 * unless staff marked it; hours and the outcome after a "yes"), arms their milestone check, and
 * tallies the role for the thank-you.
 */
export async function recordCheckin(
  store: CheckinStore,
  input: CommandInputs['checkin.record'],
  scope: CommandScope,
): Promise<CommandResults['checkin.record']> {
  const id = `${input.ref}|${scope.address}`;
  let recorded: SignupRecord | null = null;
  for (let attempt = 0; attempt < WRITE_ATTEMPTS && !recorded; attempt++) {
    const signup = await store.signups.get(id);
    if (!signup || signup.status === 'cancelled') return { outcome: 'not_found', tally: null };
    const next: SignupRecord = { ...signup, updatedAt: scope.now };
    // What staff marked at check-in stands: the resident's answer fills in only what they did not.
    if (signup.attendanceBy !== 'staff') {
      next.attendance = input.attended === 'yes' ? 'attended' : 'no_show';
      next.attendanceBy = 'resident';
    }
    if (input.attended === 'yes' && input.hours !== undefined) next.hoursReported = input.hours;
    if (input.attended === 'yes' && input.outcome !== undefined) next.outcomeReported = input.outcome;
    if (await store.signups.replace(next, signup._rev)) recorded = next;
  }
  if (!recorded) throw new Error('A sign-up kept changing while recording its check-in');
  if (input.attended !== 'yes') return { outcome: 'recorded', tally: null };
  if (input.hours !== undefined) await checkMilestonesSoon(store, scope.address, scope.now);
  const signups = await store.signups.find({ field: 'roleId', equals: recorded.roleId }, { limit: ROLE_SIGNUPS_READ });
  return { outcome: 'recorded', tally: tallyRole(signups, scope.address) };
}

/**
 * Re-arms a resident's milestone check (10, 25, 50 hours) after their counted hours changed: by
 * their own answer, or by a coordinator approving or correcting them. One pending job per
 * resident covers every change until it runs.
 */
export async function checkMilestonesSoon(store: Pick<Collections, 'jobs'>, address: string, now: Date): Promise<void> {
  await scheduleJob(store, { id: milestoneJobId(address), kind: VOLUNTEER_MILESTONE_JOB, dueAt: now, address, payload: {} }, now);
}
