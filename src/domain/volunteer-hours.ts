/**
 * What volunteers' shifts add up to (issue 20): the hours that count, a role's outcome so far for
 * the thank-you after a shift, and the hour milestones told once each. The job kinds of the
 * after-shift work live here too, so the command runner (which schedules a milestone check when
 * a resident reports hours) and the staff side (which runs it) name them alike.
 */
import type { SignupRecord } from './records.js';

/** Hours a resident may report for one shift: a quarter of an hour to a day. */
export const HOURS_MIN = 0.25;
export const HOURS_MAX = 24;
/** The largest answer to a role's outcome question ("How many bags…?"). */
export const OUTCOME_MAX = 100_000;
/** Total hours at which a resident is told of their milestone, each once. */
export const VOLUNTEER_MILESTONES: readonly number[] = [10, 25, 50];

/** One resident's milestone check: re-armed each time their hours change. Payload: none. */
export const VOLUNTEER_MILESTONE_JOB = 'volunteer_milestone';

/** The milestone check's id: one per resident (a pending one already covers new hours). */
export function milestoneJobId(address: string): string {
  return `${VOLUNTEER_MILESTONE_JOB}|${address}`;
}

/** The hours a sign-up counts for: a coordinator's approved hours, else the resident's, when they attended. */
export function countedHours(signup: Pick<SignupRecord, 'attendance' | 'hoursApproved' | 'hoursReported'>): number {
  if (signup.attendance !== 'attended') return 0;
  return signup.hoursApproved ?? signup.hoursReported ?? 0;
}

/** A resident's total volunteer hours over their sign-ups. */
export function totalHours(signups: readonly Pick<SignupRecord, 'attendance' | 'hoursApproved' | 'hoursReported'>[]): number {
  return Math.round(signups.reduce((sum, signup) => sum + countedHours(signup), 0) * 100) / 100;
}

/** The milestones a total has reached that were not told yet, lowest first. */
export function milestonesReached(total: number, told: readonly number[] = []): number[] {
  return VOLUNTEER_MILESTONES.filter((milestone) => total >= milestone && !told.includes(milestone));
}

/** A role's outcome so far, as a volunteer is thanked with it. */
export interface RoleTally {
  /** Distinct volunteers who attended its shifts, other than the one thanked. */
  others: number;
  /** Hours they gave together (approved, else reported). */
  hours: number;
  /** The sum of their answers to the role's outcome question, when it has one. */
  outcome: number;
}

/**
 * Tallies a role's sign-ups for the thank-you to `address`: the other distinct volunteers who
 * attended, and the hours and outcome of everyone who did. Each volunteer's answer is added as
 * they gave it (the question asks for their group's count, so a group answering twice counts twice:
 * coordinators correct it on the check-in list).
 */
export function tallyRole(signups: readonly SignupRecord[], address: string): RoleTally {
  const attended = signups.filter((signup) => signup.attendance === 'attended');
  const others = new Set(attended.map((signup) => signup.address).filter((other) => other !== address));
  return {
    others: others.size,
    hours: totalHours(attended),
    outcome: attended.reduce((sum, signup) => sum + (signup.outcomeReported ?? 0), 0),
  };
}

/**
 * Whether the resident finished answering "did you make it?" for this sign-up: they said no
 * (recorded as theirs), or yes and their hours. They were thanked (or heard "thanks for telling
 * us") in that exchange, so the thank-you at the end of the window is not sent again. A "yes" is
 * kept as soon as it is said; one left there (no hours) was not thanked, and is at the end.
 */
export function answeredCheckin(signup: Pick<SignupRecord, 'attendance' | 'attendanceBy' | 'hoursReported'>): boolean {
  return signup.hoursReported !== undefined || (signup.attendanceBy === 'resident' && signup.attendance !== 'attended');
}

/** A translator as the dialogs and the notifier both have one. */
type Translate = (key: string, vars?: Record<string, string | number>) => string;

/**
 * The thank-you after a shift, with the role's outcome so far ("Thank you, Ana! Riverside Park
 * cleanup so far: 62 bags of trash, thanks to you and 14 neighbours."), or its hours together
 * when the role measures no outcome. Said at the end of the resident's answers, or sent when the
 * window to answer closed without them.
 */
export function thankYouText(
  t: Translate,
  locale: string,
  about: { name?: string | undefined; title: string; unit?: string | undefined; tally: RoleTally },
): string {
  const { tally } = about;
  const thanks = about.name ? t('shift_checkin.thank_you_name', { name: about.name }) : t('shift_checkin.thank_you');
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
  const vars = {
    thanks,
    title: about.title,
    count: tally.others,
    total: number.format(tally.outcome),
    hours: number.format(tally.hours),
    unit: about.unit ?? '',
  };
  const key = about.unit ? 'shift_checkin.tally_outcome' : 'shift_checkin.tally_hours';
  return t(tally.others > 0 ? key : `${key}_alone`, vars);
}

/** The note for a milestone reached ("Thank you, Ana! You've reached 10 volunteer hours with Springfield."). */
export function milestoneText(t: Translate, milestone: number, name: string | undefined): string {
  const thanks = name ? t('shift_checkin.thank_you_name', { name }) : t('shift_checkin.thank_you');
  return t('volunteer.milestone', { thanks, milestone });
}
