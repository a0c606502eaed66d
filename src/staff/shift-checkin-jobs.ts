/**
 * After a volunteer shift (issue 20), as persisted outbound work (job-scheduler.ts): its
 * volunteers are asked whether they made it, thanked with the role's outcome so far, and told of
 * their hour milestones.
 *
 * - `shift_checkin_plan`, one job for the service, every PLAN_EVERY_MS: reads the open shifts
 *   that started from LOOKBACK_MS ago (the shifts status→startsAt index, from there: never the
 *   years of shifts before) and schedules `shift_checkin` for each whose question is due before
 *   its next run. Re-planning a shift schedules nothing new (once per shift).
 * - `shift_checkin`, one per shift, CHECKIN_DELAY_MS after it ends: if it is still open, schedules
 *   one `shift_checkin_ask` per confirmed volunteer (not one staff marked a no-show at check-in).
 * - `shift_checkin_ask`, one per sign-up, once ever: waits out quiet hours and a resident in a
 *   flow or held by staff (as "is it fixed?" does, looking again every few minutes), then asks
 *   "Did you make it to …?" with a `shift_checkin` follow-up the check-in dialog reads; opted-out
 *   residents are skipped. Asked, it schedules the window's `shift_thanks`.
 * - `shift_thanks`, one per sign-up, when the window to answer closes: thanks a volunteer who did
 *   not answer (and was not marked a no-show) with the role's outcome so far. One who answered was
 *   thanked in that exchange.
 * - `volunteer_milestone`, one per resident, re-armed when they report hours: tells them of the
 *   highest of 10, 25, 50 hours newly reached, then records every milestone reached on their
 *   profile (revision-checked), so each is told once. Never in quiet hours or to an opted-out resident.
 */
import type { Config } from '../config.js';
import type { ResidentRecord, ShiftRecord } from '../domain/records.js';
import { answeredCheckin, milestoneText, milestonesReached, tallyRole, thankYouText, totalHours, VOLUNTEER_MILESTONE_JOB } from '../domain/volunteer-hours.js';
import { isAskedAfterShift, ROLE_SIGNUPS_READ, roleWords } from '../pipeline/shift-checkins.js';
import { findEvery } from '../store/find-every.js';
import { scheduleJob } from '../store/jobs.js';
import type { Collections } from '../store/store.port.js';
import type { JobHandler } from './job-scheduler.js';
import { busyUntil } from './resident-busy.js';
import { jobOutcomeOf, type ResidentNotifier } from './resident-notifier.js';

/** The planner: one for the service. */
export const SHIFT_CHECKIN_PLAN_JOB = 'shift_checkin_plan';
/** One shift's question to its volunteers. Payload: `shiftId`. */
export const SHIFT_CHECKIN_JOB = 'shift_checkin';
/** One volunteer's question about one shift. Payload: `shiftId`. */
export const SHIFT_CHECKIN_ASK_JOB = 'shift_checkin_ask';
/** One volunteer's thank-you when the window to answer closed without their answers. Payload: `shiftId`. */
export const SHIFT_THANKS_JOB = 'shift_thanks';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Volunteers are asked this long after their shift ends: home, and not during the clean-up. */
export const CHECKIN_DELAY_MS = HOUR;
/** How often the planner looks at the shifts. */
export const PLAN_EVERY_MS = 15 * MINUTE;
/**
 * How far back the planner reads shifts by their start. A shift is asked about from its end, so
 * one longer than this less ASK_LATEST_MS (a day) is not planned: volunteer shifts are hours long.
 */
const LOOKBACK_MS = 48 * HOUR;
/** A question not asked by this long after the shift ended (quiet hours, a busy resident, a late plan) is not asked. */
const ASK_LATEST_MS = 24 * HOUR;
/** How long a reply answers "did you make it?", and when the thank-you goes to those who did not answer. */
export const CHECKIN_ANSWER_MS = 48 * HOUR;
/** A resident in a flow is looked at again this soon: asked shortly after they finish it. */
const BUSY_RECHECK_MS = 5 * MINUTE;
/** Shifts read per page by the planner. */
const PLAN_PAGE = 500;
/** A resident's sign-ups read for their total hours. */
const RESIDENT_SIGNUPS_READ = 5_000;
const WRITE_ATTEMPTS = 10;

/** What the after-shift jobs need. */
export interface ShiftCheckinJobDeps {
  store: Pick<Collections, 'jobs' | 'shifts' | 'signups' | 'roles' | 'residents' | 'conversations'>;
  notifier: ResidentNotifier;
  config: Pick<Config, 'resumePromptAfterMs' | 'cityTimeZone'>;
  now?: () => Date;
}

/** Starts the planner (every instance calls it at start: it is one job, and a pending one is left as it is). */
export async function startShiftCheckinPlanning(store: Pick<Collections, 'jobs'>, now: Date): Promise<void> {
  await scheduleJob(store, { id: SHIFT_CHECKIN_PLAN_JOB, kind: SHIFT_CHECKIN_PLAN_JOB, dueAt: now, payload: {} }, now);
}

/** The id of one volunteer's question about one shift (`signupId` is `<shiftId>|<address>`): asked once ever. */
export function checkinAskJobId(signupId: string): string {
  return `${SHIFT_CHECKIN_ASK_JOB}|${signupId}`;
}

/** The handlers of the after-shift job kinds, by kind. */
export function shiftCheckinJobHandlers(deps: ShiftCheckinJobDeps): Record<string, JobHandler> {
  const now = deps.now ?? (() => new Date());
  const { store, notifier } = deps;

  return {
    [SHIFT_CHECKIN_PLAN_JOB]: {
      async run() {
        const at = now();
        await planEndedShifts(at);
        return { state: 'later', dueAt: new Date(at.getTime() + PLAN_EVERY_MS) };
      },
    },

    [SHIFT_CHECKIN_JOB]: {
      async run(job) {
        const shift = await store.shifts.get(String(job.payload.shiftId ?? ''));
        if (!shift || shift.status !== 'open') return { state: 'done' };
        const at = now();
        const askAt = shift.endsAt.getTime() + CHECKIN_DELAY_MS;
        // Moved later since it was planned: wait for its new end.
        if (askAt > at.getTime()) return { state: 'later', dueAt: new Date(askAt) };
        if (at.getTime() - shift.endsAt.getTime() > ASK_LATEST_MS) return { state: 'done' };
        // Every one of them, a page at a time: a big shift's sign-ups (withdrawn ones stay) pass any one read's limit.
        const signups = await findEvery(store.signups, { field: 'shiftId', equals: shift._id }, (signup) => signup.createdAt);
        for (const signup of signups.filter(isAskedAfterShift)) {
          await scheduleJob(
            store,
            { id: checkinAskJobId(signup._id), kind: SHIFT_CHECKIN_ASK_JOB, dueAt: at, address: signup.address, payload: { shiftId: shift._id }, once: true },
            at,
          );
        }
        return { state: 'done' };
      },
    },

    [SHIFT_CHECKIN_ASK_JOB]: {
      quietHours: true,
      async run(job) {
        const shiftId = String(job.payload.shiftId ?? '');
        const address = job.address;
        if (!address) return { state: 'done' };
        const [shift, signup] = await Promise.all([store.shifts.get(shiftId), store.signups.get(`${shiftId}|${address}`)]);
        // Withdrawn, marked a no-show, or the shift cancelled since: nothing to ask.
        if (!shift || shift.status !== 'open' || !signup || !isAskedAfterShift(signup)) return { state: 'done' };
        const at = now().getTime();
        if (at - shift.endsAt.getTime() > ASK_LATEST_MS) return { state: 'done' };
        const busy = await busyUntil(deps, address, at, BUSY_RECHECK_MS);
        if (busy !== null) return { state: 'later', dueAt: new Date(busy) };
        const role = await store.roles.get(signup.roleId);
        if (!role) return { state: 'done' };
        const outcome = await notifier.notify(address, {
          purpose: 'notification',
          key: job._id,
          compose: (locale, t) => {
            const view = roleWords(role, locale);
            return [
              {
                kind: 'text',
                text: t('shift_checkin.ask', { title: view.title, when: shiftTime(shift, locale, deps.config.cityTimeZone) }),
                // Buttons, or "1. Yes 2. No / Reply 1-2." on SMS: the same answers the engine reads.
                choices: [
                  { id: 'yes', label: t('choice.yes') },
                  { id: 'no', label: t('choice.no') },
                ],
              },
            ];
          },
          followUp: (sentAt) => ({ kind: 'shift_checkin', ref: shift._id, sentAt, until: sentAt + CHECKIN_ANSWER_MS }),
        });
        if (outcome.state === 'sent' || outcome.state === 'outbox') {
          const thanksAt = new Date(now().getTime() + CHECKIN_ANSWER_MS);
          await scheduleJob(
            store,
            { id: `${SHIFT_THANKS_JOB}|${signup._id}`, kind: SHIFT_THANKS_JOB, dueAt: thanksAt, address, payload: { shiftId }, once: true },
            now(),
          );
        }
        return jobOutcomeOf(outcome);
      },
    },

    [SHIFT_THANKS_JOB]: {
      quietHours: true,
      async run(job) {
        const address = job.address;
        if (!address) return { state: 'done' };
        const signup = await store.signups.get(`${String(job.payload.shiftId ?? '')}|${address}`);
        if (!signup || signup.status === 'cancelled' || answeredCheckin(signup) || signup.attendance === 'no_show') return { state: 'done' };
        const role = await store.roles.get(signup.roleId);
        if (!role) return { state: 'done' };
        const tally = tallyRole(await store.signups.find({ field: 'roleId', equals: role._id }, { limit: ROLE_SIGNUPS_READ }), address);
        const outcome = await notifier.notify(address, {
          purpose: 'notification',
          key: job._id,
          compose: (locale, t, resident) => {
            const view = roleWords(role, locale);
            const text = thankYouText(t, locale, { name: signup.name || resident.name, title: view.title, unit: view.outcome?.unit, tally });
            return [{ kind: 'text', text }];
          },
        });
        return jobOutcomeOf(outcome);
      },
    },

    [VOLUNTEER_MILESTONE_JOB]: {
      quietHours: true,
      async run(job) {
        const address = job.address;
        if (!address) return { state: 'done' };
        const resident = await store.residents.get(address);
        if (!resident || resident.optedOut) return { state: 'done' };
        const signups = await store.signups.find({ field: 'address', equals: address }, { order: 'desc', limit: RESIDENT_SIGNUPS_READ });
        const reached = milestonesReached(totalHours(signups), resident.volunteerMilestones);
        const highest = reached.at(-1);
        if (highest === undefined) return { state: 'done' };
        // Sent first, keyed by the milestone (never twice), then recorded: a crash in between
        // sends nothing again on the retry, and still records it.
        const outcome = await notifier.notify(address, {
          purpose: 'notification',
          key: `${VOLUNTEER_MILESTONE_JOB}|${address}|${highest}`,
          compose: (_locale, t, about) => [{ kind: 'text', text: milestoneText(t, highest, about.name ?? signups[0]?.name) }],
        });
        // Not told (opted out since, channel off): not recorded, so it is told when it can be.
        if (outcome.state === 'sent' || outcome.state === 'outbox') await recordMilestones(address, reached);
        return jobOutcomeOf(outcome);
      },
    },
  };

  /**
   * Schedules `shift_checkin` for the open shifts whose question is due before the planner's next
   * run, reading them by start from LOOKBACK_MS ago, a page at a time.
   */
  async function planEndedShifts(at: Date): Promise<void> {
    const horizon = at.getTime() + PLAN_EVERY_MS;
    const seen = new Set<string>();
    let from = new Date(at.getTime() - LOOKBACK_MS);
    let limit = PLAN_PAGE;
    for (;;) {
      const page = await store.shifts.find({ field: 'status', equals: 'open' }, { order: 'asc', from, limit });
      let fresh = 0;
      for (const shift of page) {
        // Ordered by start, and a shift ends after it starts: none from here is due yet.
        if (shift.startsAt.getTime() + CHECKIN_DELAY_MS > horizon) return;
        if (seen.has(shift._id)) continue;
        seen.add(shift._id);
        fresh += 1;
        await planShift(shift, at, horizon);
      }
      if (page.length < limit) return;
      // The next page starts at this one's last start (inclusive); many shifts starting at
      // once are read in a larger page rather than over and over.
      if (fresh === 0) limit *= 2;
      from = page[page.length - 1]!.startsAt;
    }
  }

  async function planShift(shift: ShiftRecord, at: Date, horizon: number): Promise<void> {
    const askAt = shift.endsAt.getTime() + CHECKIN_DELAY_MS;
    if (askAt > horizon || at.getTime() - shift.endsAt.getTime() > ASK_LATEST_MS) return;
    await scheduleJob(
      store,
      { id: `${SHIFT_CHECKIN_JOB}|${shift._id}`, kind: SHIFT_CHECKIN_JOB, dueAt: new Date(askAt), payload: { shiftId: shift._id }, once: true },
      at,
    );
  }

  /** Adds the milestones to the resident's told ones, revision-checked (a profile change meanwhile is kept). */
  async function recordMilestones(address: string, reached: readonly number[]): Promise<void> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const current = await store.residents.get(address);
      if (!current) return;
      const told = [...new Set([...(current.volunteerMilestones ?? []), ...reached])].sort((a, b) => a - b);
      const next: ResidentRecord = { ...current, volunteerMilestones: told };
      if (await store.residents.replace(next, current._rev)) return;
    }
    throw new Error('A resident kept changing while recording their milestone');
  }
}

/** When a shift was, in the city's time and the resident's language ("Dec 12, 2026, 9:00 AM – 12:00 PM"), as the dialogs say it. */
function shiftTime(shift: ShiftRecord, locale: string, timeZone: string): string {
  return new Intl.DateTimeFormat(locale, { timeZone, dateStyle: 'medium', timeStyle: 'short' }).formatRange(shift.startsAt, shift.endsAt);
}
