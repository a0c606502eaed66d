/**
 * Satisfaction and time to fix (issue 18): the home page's aggregates by month and category, the
 * hook for per-category targets, and what staff see of residents' answers (escaped) and of a
 * report a resident reopened.
 */
import { describe, expect, it } from 'vitest';
import type { ReportRecord, ReportSurveyRecord } from '../../src/domain/records.js';
import { satisfactionView } from '../../src/http/admin/pages/home.page.js';
import { reportDetailView, reportListView } from '../../src/http/admin/pages/reports.page.js';
import { aggregateSatisfaction, lastMonths, type FixedReport, type SurveyAnswer } from '../../src/staff/satisfaction.js';

const DAY = 86_400_000;

function fixed(category: string, made: string, days: number): FixedReport {
  const createdAt = new Date(made);
  return { category, createdAt, fixedAt: new Date(createdAt.getTime() + days * DAY) };
}

function answer(category: string, month: string, isFixed: 'yes' | 'no', rating?: number): SurveyAnswer {
  return { category, month, fixed: isFixed, ...(rating === undefined ? {} : { rating }) };
}

describe('the months', () => {
  it('are the last twelve calendar months (UTC), oldest first, across a year', () => {
    const months = lastMonths(new Date('2026-02-10T12:00:00Z'), 12);
    expect(months).toHaveLength(12);
    expect(months[0]).toBe('2025-03');
    expect(months.at(-1)).toBe('2026-02');
  });
});

describe('aggregateSatisfaction', () => {
  const months = ['2026-01', '2026-02', '2026-03'];
  const reports = [
    fixed('pothole', '2026-01-02T00:00:00Z', 2),
    fixed('pothole', '2026-01-05T00:00:00Z', 4),
    fixed('pothole', '2026-01-10T00:00:00Z', 9),
    fixed('graffiti', '2026-02-01T00:00:00Z', 1),
    fixed('graffiti', '2026-02-03T00:00:00Z', 3),
    // Fixed before the months charted: not counted.
    fixed('pothole', '2025-06-01T00:00:00Z', 5),
    // Never fixed (closed as something else): no time to fix.
    { category: 'tree', createdAt: new Date('2026-02-01T00:00:00Z') },
  ];
  const answers = [
    answer('pothole', '2026-01', 'yes', 5),
    answer('pothole', '2026-01', 'no', 2),
    answer('pothole', '2026-01', 'yes'),
    answer('graffiti', '2026-02', 'yes', 4),
    answer('graffiti', '2025-12', 'no', 1),
  ];
  const result = aggregateSatisfaction(reports, answers, months);

  it('gives each month its fixes, median days, share really fixed and average rating', () => {
    expect(result.months).toEqual([
      {
        month: '2026-01',
        fixed: 3,
        medianDaysToFix: 4,
        shareWithinTarget: null,
        answered: 3,
        reallyFixed: 2,
        shareReallyFixed: 2 / 3,
        rated: 2,
        averageRating: 3.5,
      },
      { month: '2026-02', fixed: 2, medianDaysToFix: 2, shareWithinTarget: null, answered: 1, reallyFixed: 1, shareReallyFixed: 1, rated: 1, averageRating: 4 },
      {
        month: '2026-03',
        fixed: 0,
        medianDaysToFix: null,
        shareWithinTarget: null,
        answered: 0,
        reallyFixed: 0,
        shareReallyFixed: null,
        rated: 0,
        averageRating: null,
      },
    ]);
  });

  it('gives each category the same over the months, most fixed first', () => {
    expect(result.categories.map((c) => [c.category, c.fixed, c.medianDaysToFix, c.shareReallyFixed, c.averageRating])).toEqual([
      ['pothole', 3, 4, 2 / 3, 3.5],
      ['graffiti', 2, 2, 1, 4],
    ]);
  });

  it('gives the share fixed within the category target (/admin/routing), by month and category', () => {
    const targets: Record<string, number> = { pothole: 5, graffiti: 2 };
    const withTargets = aggregateSatisfaction(reports, answers, months, (category) => targets[category]);
    // January: potholes in 2, 4 and 9 days against 5; February: graffiti in 1 and 3 against 2.
    expect(withTargets.months.map((m) => m.shareWithinTarget)).toEqual([2 / 3, 1 / 2, null]);
    expect(withTargets.categories.map((c) => [c.category, c.shareWithinTarget])).toEqual([
      ['pothole', 2 / 3],
      ['graffiti', 1 / 2],
    ]);
    expect(satisfactionView(withTargets).toString()).toContain('Fixed within target (%)');
  });

  it('draws a chart per measure, a bar per month, with "-" where there is nothing to measure', () => {
    const page = satisfactionView(result).toString();
    expect(page).toContain('Median days to fix');
    expect(page).toContain('Really fixed (%)');
    expect(page).toContain('Average rating (1-5)');
    expect(page).toContain('Jan 2026: 4, Feb 2026: 2, Mar 2026: -');
    expect(page).toContain('Jan 2026: 67, Feb 2026: 100, Mar 2026: -');
    expect(page).toContain('data-category="pothole"');
  });
});

describe('the report pages', () => {
  const report: ReportRecord = {
    _id: 'R-7K3QX',
    _rev: 3,
    category: 'pothole',
    status: 'open',
    statusGroup: 'open',
    location: { text: '5th and Main' },
    description: 'Deep',
    photos: [],
    residentAddress: 'sms:+15550001111',
    channel: 'sms',
    locale: 'en',
    createdAt: new Date('2026-01-01T00:00:00Z'),
    updatedAt: new Date('2026-01-09T00:00:00Z'),
    fixedAt: new Date('2026-01-05T00:00:00Z'),
    reopenedByResident: new Date('2026-01-09T00:00:00Z'),
  };
  const surveys: ReportSurveyRecord[] = [
    {
      _id: 'R-7K3QX|a1',
      _rev: 2,
      reportId: 'R-7K3QX',
      category: 'pothole',
      month: '2026-01',
      fixed: 'no',
      rating: 1,
      comment: 'Still there <script>alert(1)</script>',
      address: 'sms:+15550001111',
      channel: 'sms',
      locale: 'en',
      at: new Date('2026-01-09T00:00:00Z'),
    },
  ];
  const context = { actor: { username: 'ana', role: 'coordinator' as const, via: 'session' as const }, timeZone: 'America/New_York', ownOrigins: [] };

  it('show the answers, escaped and without the address, and the reopened flag', () => {
    const work = { routing: { departments: [], targetDays: {} }, canned: [], staff: [], now: new Date('2026-01-10T00:00:00Z') };
    const page = reportDetailView({ report, updates: [], transcript: [], residentReachable: true, surveys }, context, {
      errors: [],
      form: { status: report.status, note: '', notify: true },
      internalNote: '',
      work,
    }).toString();
    expect(page).toContain('0 of 1 said it is really fixed');
    expect(page).toContain('Still there &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).not.toContain('<script>alert(1)');
    expect(page).not.toContain('15550001111');
    expect(page).toContain('data-flag="reopened-by-resident"');
  });

  it('flag the report in the list while it is open again, not once fixed again', () => {
    const list = (r: ReportRecord) =>
      reportListView({
        filter: {},
        reports: [r],
        routing: { departments: [], targetDays: {} },
        bounded: false,
        timeZone: 'America/New_York',
        now: new Date('2026-01-10T00:00:00Z'),
        errors: [],
      }).toString();
    expect(list(report)).toContain('Not fixed, says a resident');
    expect(list({ ...report, status: 'fixed', statusGroup: 'fixed' })).not.toContain('Not fixed, says a resident');
  });
});
