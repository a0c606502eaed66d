/**
 * Shift reminders and the release of unconfirmed volunteers (issue 20) as persisted outbound work
 * (job-scheduler.ts): "Reminder: Food bank packing, Sat, Dec 5, 9:00 – 12:00 at Community hall.
 * Will you be there?" at each of the role's reminder hours before each shift, and a spot given
 * to the waitlist when a reminded volunteer has not confirmed by the role's deadline.
 *
 * - `shift_reminder_plan`, one job for every instance (a fixed id), rescheduling itself every
 *   PLAN_EVERY_MS: reads the open shifts starting within the longest reminder window and a day
 *   more (PLAN_AHEAD_MS: a reminder is scheduled well before its time, so a planner late by
 *   minutes or hours misses none), through the shifts' status→startsAt index from now (never the
 *   past), and schedules, for each confirmed
 *   sign-up, one `shift_reminder` per reminder hour and one `shift_release` when the role has a
 *   deadline. Job ids name the sign-up, the shift's start and the hours, so planning twice
 *   schedules nothing new, a moved shift gets new jobs (the old ones find it moved and do
 *   nothing) and a changed role's hours get theirs. A shift whose plan inputs did not change
 *   (its revision, which every sign-up and promotion claims; its role's; the hours; how many
 *   reminder times have passed) is not planned again: one read of its mark instead of its
 *   sign-ups.
 * - A reminder whose time has passed when it is planned (signed up 40 h before with a 48 h
 *   reminder) is skipped when a shorter one is still ahead; when none is, the shortest passed
 *   one is sent at once (signed up an hour before: one reminder now). Never more than one late.
 * - `shift_reminder` re-reads the sign-up, shift and role when it runs: still confirmed, the
 *   shift still open and at that time and not started, those hours still the role's, and no
 *   shorter reminder due already (a 48 h reminder held up past the 2 h one is dropped). It waits
 *   out quiet hours (a 2 h reminder of a 7 am shift goes at quiet hours' end if that is before
 *   the start, else not at all), and for a resident in a flow or held by a person, but never past
 *   the start. A volunteer who already confirmed gets the reminder without the question. Sent,
 *   it sets a `shift_reminder` follow-up for the reply, and marks the sign-up `remindedAt` when
 *   the role has a release deadline (what the release asks).
 * - `shift_release` at the deadline: a volunteer still confirmed, who has not confirmed their
 *   attendance, and whom a reminder reached at least RELEASE_NOTICE_MS before the deadline, is
 *   withdrawn (`released`; the waitlist is promoted at once) and told kindly. Someone never
 *   reminded (opted out, signed up after the deadline, a send that failed) is never released.
 * Opted-out residents are skipped by the notifier and settle as done.
 */
import type { Config } from '../config.js';
import type { Reply } from '../core/message.js';
import type { ShiftRecord, SignupRecord, VolunteerRoleRecord } from '../domain/records.js';
import type { CommandRunner } from '../pipeline/command-runner.js';
import { findEvery } from '../store/find-every.js';
import { scheduleJob, type NewJob } from '../store/jobs.js';
import type { Collections } from '../store/store.port.js';
import type { JobHandler } from './job-scheduler.js';
import { busyUntil } from './resident-busy.js';
import { jobOutcomeOf, type ResidentNotifier } from './resident-notifier.js';

/** The planner: one job, rescheduling itself. */
export const SHIFT_REMINDER_PLAN_JOB = 'shift_reminder_plan';
/** One reminder of one sign-up. Payload: `signupId`, `shiftId`, `startsAt` (ms), `hours`. */
export const SHIFT_REMINDER_JOB = 'shift_reminder';
/** The release of one sign-up not confirmed by the role's deadline. Payload as a reminder's. */
export const SHIFT_RELEASE_JOB = 'shift_release';
const PLAN_JOB_ID = SHIFT_REMINDER_PLAN_JOB;

const HOUR_MS = 3_600_000;
/** How often the planner looks again: a sign-up made inside a reminder window is reminded at most this late. */
export const PLAN_EVERY_MS = 10 * 60_000;
/** How far past the longest reminder window the planner looks: reminders are scheduled this long before they are due. */
export const PLAN_AHEAD_MS = 24 * HOUR_MS;
/** A volunteer is released only when a reminder reached them at least this long before the deadline, to answer it. */
export const RELEASE_NOTICE_MS = HOUR_MS;
/** Shifts read at a time by the planner. */
const PLAN_PAGE = 500;

/** What the reminder jobs need. */
export interface ShiftReminderJobDeps {
  store: Pick<Collections, 'jobs' | 'shifts' | 'signups' | 'roles' | 'conversations' | 'meta'>;
  notifier: ResidentNotifier;
  /** Withdraws a released volunteer and promotes the waitlist (telling the promoted resident). */
  runner: Pick<CommandRunner, 'withdrawSignup'>;
  config: Pick<Config, 'volunteerReminderHours' | 'cityTimeZone' | 'resumePromptAfterMs'>;
  now?: () => Date;
}

/** What one planning pass did, for the benchmark and tests. */
export interface PlanStats {
  shifts: number;
  /** Shifts whose sign-ups were read (their plan inputs changed since the last pass). */
  planned: number;
  signups: number;
  scheduled: number;
}

/** Schedules the planner (at start); one pending already is kept as it is. */
export async function startShiftReminderPlanning(store: Pick<Collections, 'jobs'>, now: Date): Promise<void> {
  await scheduleJob(store, { id: PLAN_JOB_ID, kind: SHIFT_REMINDER_PLAN_JOB, dueAt: now, payload: {} }, now);
}

/** The id of one reminder: one per sign-up, shift start and hours. */
export function reminderJobId(signupId: string, startsAt: Date, hours: number): string {
  return `${SHIFT_REMINDER_JOB}|${signupId}|${startsAt.getTime()}|${hours}`;
}

/** The id of one release: one per sign-up, shift start and deadline. */
export function releaseJobId(signupId: string, startsAt: Date, hours: number): string {
  return `${SHIFT_RELEASE_JOB}|${signupId}|${startsAt.getTime()}|${hours}`;
}

/** The reminder hours of a role, longest first: its own, else the city's. */
export function reminderHoursOf(role: Pick<VolunteerRoleRecord, 'reminderHours'>, cityDefault: readonly number[]): number[] {
  return [...new Set(role.reminderHours ?? cityDefault)].filter((hours) => hours > 0).sort((a, b) => b - a);
}

/**
 * Which reminder hours to schedule for a shift starting at `startsAt`, planned at `at`: those still
 * ahead, and when none is, the shortest one passed (sent at once), if the shift has not started.
 */
export function hoursToSchedule(hours: readonly number[], startsAt: Date, at: Date): number[] {
  if (startsAt <= at) return [];
  const ahead = hours.filter((h) => startsAt.getTime() - h * HOUR_MS > at.getTime());
  if (ahead.length > 0) return ahead;
  const shortest = Math.min(...hours);
  return Number.isFinite(shortest) ? [shortest] : [];
}

/**
 * One planning pass: see the module comment. Idempotent, so any number of instances may run it
 * at once; the cost is one index read per page of shifts and one mark read per shift, plus a
 * read of the sign-ups and a job write per reminder for the shifts that changed.
 */
export async function planShiftReminders(
  deps: { store: Pick<Collections, 'jobs' | 'shifts' | 'signups' | 'roles' | 'meta'>; config: Pick<Config, 'volunteerReminderHours'> },
  at: Date,
): Promise<PlanStats> {
  const { store, config } = deps;
  const stats: PlanStats = { shifts: 0, planned: 0, signups: 0, scheduled: 0 };
  const roles = new Map<string, VolunteerRoleRecord | null>();
  const roleOf = async (id: string) => {
    if (!roles.has(id)) roles.set(id, await store.roles.get(id));
    return roles.get(id) ?? null;
  };
  // The window is the longest of the city's hours and every open role's own (and release deadline):
  // every open role, a page at a time (roles nobody closed pile up; one past a read limit had its
  // longer reminders sent a day late and its release never made).
  let longest = Math.max(0, ...config.volunteerReminderHours);
  for (const role of await findEvery(store.roles, { field: 'status', equals: 'open' }, (open) => open.startsAt)) {
    roles.set(role._id, role);
    longest = Math.max(longest, role.releaseUnconfirmedHours ?? 0, ...(role.reminderHours ?? []));
  }
  const until = at.getTime() + longest * HOUR_MS + PLAN_AHEAD_MS;
  // Read in start order from now, a page at a time; a page starts at the last one's start
  // (inclusive), so the shifts already read at that very time are passed over.
  let from = at;
  let seenAtEdge = new Set<string>();
  let limit = PLAN_PAGE;
  for (;;) {
    const page = await store.shifts.find({ field: 'status', equals: 'open' }, { order: 'asc', from, limit });
    const fresh = page.filter((shift) => !(shift.startsAt.getTime() === from.getTime() && seenAtEdge.has(shift._id)));
    let past = false;
    for (const shift of fresh) {
      if (shift.startsAt.getTime() > until) {
        past = true;
        break;
      }
      stats.shifts += 1;
      const role = await roleOf(shift.roleId);
      if (role && shift.startsAt > at) await planShift(shift, role, reminderHoursOf(role, config.volunteerReminderHours));
    }
    if (past || page.length < limit) break;
    if (fresh.length === 0) {
      // A whole page at one start time, all read already: read a bigger one from there.
      limit *= 2;
      continue;
    }
    const edge = page[page.length - 1]!.startsAt;
    if (edge.getTime() !== from.getTime()) seenAtEdge = new Set();
    for (const shift of page) if (shift.startsAt.getTime() === edge.getTime()) seenAtEdge.add(shift._id);
    from = edge;
    limit = PLAN_PAGE;
  }
  return stats;

  async function planShift(shift: ShiftRecord, role: VolunteerRoleRecord, hours: number[]): Promise<void> {
    const release = role.releaseUnconfirmedHours;
    const passed = hours.filter((h) => shift.startsAt.getTime() - h * HOUR_MS <= at.getTime()).length;
    // What the plan depends on, besides the sign-ups: those change the shift's revision.
    const mark = [shift._rev, shift.startsAt.getTime(), role._rev, hours.join(','), release ?? '', passed].join('|');
    const markId = `shift_reminder_plan|${shift._id}`;
    if ((await store.meta.get(markId))?.value === mark) return;
    stats.planned += 1;
    const toSchedule = hoursToSchedule(hours, shift.startsAt, at);
    const signups = await findEvery(store.signups, { field: 'shiftId', equals: shift._id }, (signup) => signup.createdAt);
    const jobs: NewJob[] = [];
    for (const signup of signups) {
      if (signup.status !== 'confirmed') continue;
      stats.signups += 1;
      for (const h of toSchedule) {
        const dueAt = new Date(Math.max(at.getTime(), shift.startsAt.getTime() - h * HOUR_MS));
        jobs.push({
          id: reminderJobId(signup._id, shift.startsAt, h),
          kind: SHIFT_REMINDER_JOB,
          dueAt,
          address: signup.address,
          payload: payloadOf(signup, shift, h),
          once: true,
        });
      }
      if (release && release > 0) {
        const dueAt = new Date(Math.max(at.getTime(), shift.startsAt.getTime() - release * HOUR_MS));
        jobs.push({
          id: releaseJobId(signup._id, shift.startsAt, release),
          kind: SHIFT_RELEASE_JOB,
          dueAt,
          address: signup.address,
          payload: payloadOf(signup, shift, release),
          once: true,
        });
      }
    }
    // A shift's jobs written together: the embedded store commits concurrent writes as one.
    for (const scheduled of await Promise.all(jobs.map((job) => scheduleJob(store, job, at)))) if (scheduled) stats.scheduled += 1;
    await store.meta.upsert({ _id: markId, value: mark });
  }
}

function payloadOf(signup: SignupRecord, shift: ShiftRecord, hours: number): Record<string, unknown> {
  return { signupId: signup._id, shiftId: shift._id, startsAt: shift.startsAt.getTime(), hours };
}

/** The handlers of the reminder job kinds, by kind. */
export function shiftReminderJobHandlers(deps: ShiftReminderJobDeps): Record<string, JobHandler> {
  const now = deps.now ?? (() => new Date());
  const { store, notifier, config } = deps;

  return {
    [SHIFT_REMINDER_PLAN_JOB]: {
      async run() {
        const at = now();
        await planShiftReminders(deps, at);
        return { state: 'later', dueAt: new Date(at.getTime() + PLAN_EVERY_MS) };
      },
    },

    [SHIFT_REMINDER_JOB]: {
      quietHours: true,
      async run(job) {
        const found = await current(job.payload);
        if (!found || !job.address) return { state: 'done' };
        const { signup, shift, role, hours } = found;
        const at = now();
        if (at >= shift.startsAt) return { state: 'done' };
        const roleHours = reminderHoursOf(role, config.volunteerReminderHours);
        if (!roleHours.includes(hours)) return { state: 'done' };
        // A shorter reminder is due already: this one was held up (quiet hours, an outage); one is enough.
        if (roleHours.some((h) => h < hours && shift.startsAt.getTime() - h * HOUR_MS <= at.getTime())) return { state: 'done' };
        const busy = await busyUntil({ store, config }, job.address, at.getTime());
        if (busy !== null && busy < shift.startsAt.getTime()) return { state: 'later', dueAt: new Date(busy) };
        const confirmed = Boolean(signup.attendanceConfirmedAt);
        const answerFor = shift.endsAt.getTime() - at.getTime();
        const outcome = await notifier.notify(job.address, {
          purpose: 'notification',
          key: job._id,
          compose: (locale, t) => reminderReplies(locale, t, { role, shift, confirmed, timeZone: config.cityTimeZone }),
          ...(confirmed ? {} : { followUp: (sentAt: number) => ({ kind: 'shift_reminder' as const, ref: shift._id, sentAt, until: sentAt + answerFor }) }),
        });
        // Only a release asks whether a reminder reached them: without one, no write.
        if ((outcome.state === 'sent' || outcome.state === 'outbox') && role.releaseUnconfirmedHours) await markReminded(signup._id, at);
        return jobOutcomeOf(outcome);
      },
    },

    [SHIFT_RELEASE_JOB]: {
      // Telling someone they were released is a message they did not ask for: not at night.
      quietHours: true,
      async run(job) {
        const signupId = String(job.payload.signupId ?? '');
        const hours = Number(job.payload.hours);
        const startsAt = Number(job.payload.startsAt);
        const at = now();
        let signup = await store.signups.get(signupId);
        if (!signup || !job.address) return { state: 'done' };
        const deadline = startsAt - hours * HOUR_MS;
        if (signup.status === 'confirmed') {
          const found = await current(job.payload);
          if (!found || found.role.releaseUnconfirmedHours !== hours) return { state: 'done' };
          if (at.getTime() < deadline) return { state: 'later', dueAt: new Date(deadline) };
          if (at.getTime() >= startsAt) return { state: 'done' };
          if (!mayRelease(found.signup, deadline)) return { state: 'done' };
          if ((await deps.runner.withdrawSignup(signupId, 'released', at)) !== 'cancelled') return { state: 'done' };
          signup = await store.signups.get(signupId);
          if (!signup) return { state: 'done' };
        }
        // Released (now, or by this job before a crash cut it short): tell them, once (the job's key).
        if (signup.status !== 'cancelled' || signup.cancelledBy !== 'released') return { state: 'done' };
        const shift = await store.shifts.get(String(job.payload.shiftId ?? ''));
        const role = shift ? await store.roles.get(shift.roleId) : null;
        if (!shift || !role) return { state: 'done' };
        const outcome = await notifier.notify(job.address, {
          purpose: 'notification',
          key: job._id,
          compose: (locale, t) => [{ kind: 'text', text: t('shift_reminder.released', describeShift(locale, { role, shift, timeZone: config.cityTimeZone })) }],
        });
        return jobOutcomeOf(outcome);
      },
    },
  };

  /** The sign-up, shift and role a job is about, when the sign-up is still confirmed and the shift open at that time. */
  async function current(payload: Record<string, unknown>) {
    const signup = await store.signups.get(String(payload.signupId ?? ''));
    if (!signup || signup.status !== 'confirmed') return null;
    const shift = await store.shifts.get(String(payload.shiftId ?? ''));
    if (!shift || shift.status !== 'open' || shift.startsAt.getTime() !== Number(payload.startsAt)) return null;
    const role = await store.roles.get(shift.roleId);
    if (!role) return null;
    return { signup, shift, role, hours: Number(payload.hours) };
  }

  /** Notes that a reminder reached the volunteer (the release's condition); revision-checked, a withdrawal meanwhile stands. */
  async function markReminded(signupId: string, at: Date): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const signup = await store.signups.get(signupId);
      if (!signup) return;
      if (await store.signups.replace({ ...signup, remindedAt: at }, signup._rev)) return;
    }
  }
}

/**
 * Whether a volunteer may be released at the deadline: they have not confirmed, and a reminder
 * reached them at least RELEASE_NOTICE_MS before it (never release someone who was never asked).
 */
export function mayRelease(signup: Pick<SignupRecord, 'attendanceConfirmedAt' | 'remindedAt'>, deadline: number): boolean {
  if (signup.attendanceConfirmedAt) return false;
  return signup.remindedAt !== undefined && signup.remindedAt.getTime() <= deadline - RELEASE_NOTICE_MS;
}

/** The role's title in the resident's language, the shift's time as a range in city time, and its place. */
function describeShift(
  locale: string,
  what: { role: VolunteerRoleRecord; shift: ShiftRecord; timeZone: string },
): { title: string; date: string; place: string } {
  const { role, shift } = what;
  const format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: what.timeZone });
  return { title: role.translations?.[locale]?.title ?? role.title, date: format.formatRange(shift.startsAt, shift.endsAt), place: shift.place ?? role.place };
}

/** The reminder: with the question and its two answers, or, to someone who confirmed already, without. */
function reminderReplies(
  locale: string,
  t: (key: string, vars?: Record<string, string | number>) => string,
  what: { role: VolunteerRoleRecord; shift: ShiftRecord; confirmed: boolean; timeZone: string },
): Reply[] {
  const vars = describeShift(locale, what);
  if (what.confirmed) return [{ kind: 'text', text: t('shift_reminder.text_confirmed', vars) }];
  return [
    {
      kind: 'text',
      text: t('shift_reminder.text', vars),
      // Buttons, or "1. I'll be there 2. I can't make it / Reply 1-2." on SMS: what the engine reads.
      choices: [
        { id: 'yes', label: t('shift_reminder.choice_yes') },
        { id: 'no', label: t('shift_reminder.choice_no') },
      ],
    },
  ];
}
