/**
 * Satisfaction and time to fix (issue 18), for the home page's charts: per month over the last
 * twelve, and per category over the same months, the reports fixed and the median days they took,
 * the share of "is it fixed?" answers that said yes, and the average rating. Over time rather
 * than totals: a city sees whether it is getting better.
 *
 * Months are UTC calendar months (`YYYY-MM`), as survey records carry them; a report counts in
 * the month it was first fixed (`fixedAt`).
 */
import type { ReportRecord, ReportSurveyRecord } from '../domain/records.js';
import { monthOf } from '../pipeline/report-surveys.js';
import { median } from './impact.js';
import type { StaffDeps } from './staff-deps.js';
import { routingTable, targetDaysOf } from './report-routing.js';

/** Months the charts cover, the current one last. */
export const SATISFACTION_MONTHS = 12;
/**
 * Reports read per status group, newest first: the fixed and closed reports made within these
 * most recent are measured. A city fixing more than this in a year sees the newest ones' times;
 * a report made long before (past the newest N) and fixed this year is left out.
 */
const REPORTS_READ = 5_000;
/** Survey answers read per month (through the `month` index): beyond it a month is a sample. */
const SURVEYS_READ_PER_MONTH = 5_000;
const DAY_MS = 86_400_000;

/** The numbers of one month, or of one category over the months. */
export interface SatisfactionNumbers {
  /** Reports first fixed in it. */
  fixed: number;
  /** Median days from report to first fixed; null with none fixed. */
  medianDaysToFix: number | null;
  /** The share of those fixed within their category's target days (/admin/routing), 0 to 1; null with none fixed. */
  shareWithinTarget: number | null;
  /** "Is it fixed?" answers, and how many said yes. */
  answered: number;
  reallyFixed: number;
  /** `reallyFixed / answered`, 0 to 1; null with no answers. */
  shareReallyFixed: number | null;
  /** Answers that gave a rating, and their average (1-5); null with none. */
  rated: number;
  averageRating: number | null;
}

/** What the home page charts. */
export interface Satisfaction {
  /** The last SATISFACTION_MONTHS months, oldest first. */
  months: ({ month: string } & SatisfactionNumbers)[];
  /** Every category with a fix or an answer in those months, most fixed first. */
  categories: ({ category: string } & SatisfactionNumbers)[];
}

/** A fixed report as the charts need it. */
export type FixedReport = Pick<ReportRecord, 'category' | 'createdAt' | 'fixedAt'>;
/** A survey answer as the charts need it. */
export type SurveyAnswer = Pick<ReportSurveyRecord, 'category' | 'month' | 'fixed' | 'rating'>;

/** Reads the last months' fixed reports and answers through indexes, bounded, and aggregates them. */
export async function satisfaction(deps: Pick<StaffDeps, 'store'>, now: Date = new Date()): Promise<Satisfaction> {
  const { store } = deps;
  const months = lastMonths(now, SATISFACTION_MONTHS);
  const [table, fixed, closed, reopened, ...answers] = await Promise.all([
    routingTable(deps),
    store.reports.find({ field: 'statusGroup', equals: 'fixed' }, { order: 'desc', limit: REPORTS_READ }),
    // Closed reports that were fixed first (then closed) have a `fixedAt` too.
    store.reports.find({ field: 'statusGroup', equals: 'closed' }, { order: 'desc', limit: REPORTS_READ }),
    // And so do reports fixed and then reopened (a resident said it was not fixed): their first fix
    // counts, or the times would leave out exactly the fixes residents disputed.
    store.reports.find({ field: 'statusGroup', equals: 'open' }, { order: 'desc', limit: REPORTS_READ }),
    ...months.map((month) => store.reportSurveys.find({ field: 'month', equals: month }, { order: 'desc', limit: SURVEYS_READ_PER_MONTH })),
  ]);
  return aggregateSatisfaction([...fixed, ...closed, ...reopened], answers.flat(), months, (category) => targetDaysOf(category, table));
}

/** The charts' numbers from fixed reports and answers, for the given months (`YYYY-MM`, oldest first). */
export function aggregateSatisfaction(
  reports: readonly FixedReport[],
  answers: readonly SurveyAnswer[],
  months: readonly string[],
  targetDays: (category: string) => number | undefined = () => undefined,
): Satisfaction {
  const inRange = new Set(months);
  const fixes = reports.flatMap((report) => {
    if (!report.fixedAt || !inRange.has(monthOf(report.fixedAt))) return [];
    const category = String(report.category);
    const days = (report.fixedAt.getTime() - report.createdAt.getTime()) / DAY_MS;
    const target = targetDays(category);
    return [{ category, month: monthOf(report.fixedAt), days, ...(target === undefined ? {} : { withinTarget: days <= target }) }];
  });
  const counted = answers.filter((answer) => inRange.has(answer.month));
  const byMonth = months.map((month) => ({
    month,
    ...numbersOf(
      fixes.filter((fix) => fix.month === month),
      counted.filter((answer) => answer.month === month),
    ),
  }));
  const categories = [...new Set([...fixes.map((fix) => fix.category), ...counted.map((answer) => answer.category)])];
  const byCategory = categories
    .map((category) => ({
      category,
      ...numbersOf(
        fixes.filter((fix) => fix.category === category),
        counted.filter((answer) => answer.category === category),
      ),
    }))
    .sort((a, b) => b.fixed - a.fixed || b.answered - a.answered || a.category.localeCompare(b.category));
  return { months: byMonth, categories: byCategory };
}

/** The `YYYY-MM` of the `count` months up to `now`'s, oldest first. */
export function lastMonths(now: Date, count: number): string[] {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  return Array.from({ length: count }, (_, i) => monthOf(new Date(Date.UTC(year, month - (count - 1 - i), 1))));
}

function numbersOf(fixes: readonly { days: number; withinTarget?: boolean }[], answers: readonly SurveyAnswer[]): SatisfactionNumbers {
  const reallyFixed = answers.filter((answer) => answer.fixed === 'yes').length;
  const ratings = answers.flatMap((answer) => (answer.rating === undefined ? [] : [answer.rating]));
  const targeted = fixes.filter((fix) => fix.withinTarget !== undefined);
  return {
    fixed: fixes.length,
    medianDaysToFix: median(fixes.map((fix) => fix.days)),
    shareWithinTarget: targeted.length === 0 ? null : targeted.filter((fix) => fix.withinTarget).length / targeted.length,
    answered: answers.length,
    reallyFixed,
    shareReallyFixed: answers.length === 0 ? null : reallyFixed / answers.length,
    rated: ratings.length,
    averageRating: ratings.length === 0 ? null : ratings.reduce((a, b) => a + b, 0) / ratings.length,
  };
}
