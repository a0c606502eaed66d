/**
 * The impact of volunteering over real HTTP (issue 20): the JSON API, the CSV export and the
 * impact page, with a role whose title is markup (escaped on the page) and one whose title is a
 * spreadsheet formula (neutralised in the CSV), no resident's address in any of them, bad
 * ranges refused with a 4xx, and the home page's volunteering charts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../support/http.js';
import { EXPECTED_IMPACT, FORMULA_TITLE, HTML_TITLE, IMPACT_ADDRESSES, seedImpactRecords } from '../support/impact-records.js';

const TOKEN = 'impact-test-admin-token-0123';
let app: RunningApp;

beforeAll(async () => {
  app = await startTestApp({ ADMIN_TOKEN: TOKEN, SEED_DEMO_DATA: 'false', VOLUNTEER_HOUR_VALUE: '20', CITY_TIMEZONE: 'America/Chicago' });
  await seedImpactRecords(app.service.store);
});
afterAll(() => app.close());

function get(path: string): Promise<Response> {
  return fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
}

function noAddresses(text: string): void {
  for (const address of IMPACT_ADDRESSES) {
    expect(text).not.toContain(address);
    expect(text).not.toContain(address.slice(address.indexOf(':') + 1));
  }
}

describe('GET /admin/api/impact', () => {
  it("keeps the home page's numbers and adds the impact of volunteering over the last 12 months", async () => {
    const response = await get('/admin/api/impact');
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    expect(body.reports.total).toBe(0);
    expect(body.volunteering).toMatchObject({ openRoles: 1 });
    const impact = body.volunteerImpact;
    expect(impact.overall.noShowRate).toBeCloseTo(EXPECTED_IMPACT.noShowRate, 9);
    expect(impact.overall).toMatchObject({ ...EXPECTED_IMPACT, noShowRate: impact.overall.noShowRate });
    expect(impact).toMatchObject({ timeZone: 'America/Chicago', hourValue: 20, complete: true });
    expect(impact.months).toHaveLength(12);
    expect(impact.roles.map((role: { title: string }) => role.title)).toEqual([HTML_TITLE, FORMULA_TITLE]);
    expect(impact.roles[0]).toMatchObject({
      roleId: 'V-IMP01',
      volunteers: 5,
      hours: 10.5,
      shiftsHeld: 2,
      outcome: { unit: 'bags of trash', reported: 20, answers: 2, target: 40, shareOfTarget: 0.5 },
    });
    expect(impact.roles[1]).toMatchObject({ roleId: 'V-IMP02', status: 'closed', volunteers: 2, hours: 4, shiftsHeld: 1, outcome: null });
    noAddresses(JSON.stringify(impact));
  });

  it('takes a date range, and counts nothing outside it', async () => {
    const body = (await (await get('/admin/api/impact?from=2001-01-01&to=2001-12-31')).json()) as any;
    expect(body.volunteerImpact.range).toEqual({ from: '2001-01-01', to: '2001-12-31' });
    expect(body.volunteerImpact.overall).toMatchObject({ volunteers: 0, hours: 0, noShowRate: null, shiftsHeld: 0 });
    expect(body.volunteerImpact.roles).toEqual([]);
  });

  it('refuses a bad range with a 400 that says what is wrong', async () => {
    for (const [query, message] of [
      ['from=2026-02-30', 'from: must be a real date'],
      ['from=yesterday', 'from: must be a date'],
      ['from=2026-03-02&to=2026-03-01', 'to: must be on or after from'],
      ['from=2001-01-01&to=2026-01-01', 'at most 60 months'],
      ['since=2026-01-01', 'since'],
      ['from=2026-01-01&from=2026-02-01', 'from'],
    ] as const) {
      const response = await get(`/admin/api/impact?${query}`);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: string }).error).toContain(message);
    }
  });
});

describe('GET /admin/api/impact.csv', () => {
  it('is the numbers overall, per month and per role, formula-safe and without addresses', async () => {
    const response = await get('/admin/api/impact.csv?from=2001-01-01&to=2001-01-31');
    expect(response.headers.get('content-type')).toContain('text/csv');
    expect(response.headers.get('content-disposition')).toContain('impact-2001-01-01-to-2001-01-31.csv');
    expect((await response.text()).trim().split('\r\n')).toEqual([
      'scope,role,title,month,volunteers,distinct_volunteers,hours,hours_approved,hours_unapproved,hours_from_shift_length,hours_value,attended,no_show,attendance_unknown,no_show_rate,outcome_unit,outcome_reported,outcome_target',
      'overall,,,,0,0,0,0,0,0,0.00,0,0,0,,,,',
      'overall,,,2001-01,0,0,0,0,0,0,0.00,0,0,0,,,,',
    ]);

    const full = await get('/admin/api/impact.csv');
    expect(full.status).toBe(200);
    expect(full.headers.get('x-export-complete')).toBe('true');
    const text = await full.text();
    const lines = text.trim().split('\r\n');
    expect(lines[1]).toBe('overall,,,,7,5,14.5,3,4.5,7,290.00,4,2,1,0.3333,,,');
    // 1 header, 1 overall, 12 months, then each role's total and its months with volunteers.
    const roleLines = lines.slice(14);
    expect(roleLines[0]).toBe(`role,V-IMP01,"${HTML_TITLE.replace(/"/g, '""')}",,5,4,10.5,3,4.5,3,210.00,3,1,1,0.25,bags of trash,20,40`);
    // Its total, and the one month it had volunteers.
    expect(roleLines.filter((line) => line.startsWith('role,V-IMP02,'))).toHaveLength(2);
    // The formula is text: a leading quote, inside a quoted cell.
    expect(roleLines.filter((line) => line.startsWith('role,V-IMP02,'))[0]).toBe(
      `role,V-IMP02,"'=HYPERLINK(""http://evil.example"",""x"")",,2,2,4,0,0,4,80.00,1,1,0,0.5,,,`,
    );
    expect(text).not.toMatch(/(^|,)=HYPERLINK/m);
    noAddresses(text);
  });

  it('refuses a bad range with a 400', async () => {
    expect((await get('/admin/api/impact.csv?to=2026-13-01')).status).toBe(400);
  });
});

describe('the impact page', () => {
  it('shows the totals, the charts, the months and the roles, with role titles escaped', async () => {
    const response = await get('/admin/impact');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    const page = await response.text();
    expect(page).toContain('<h1>Impact of volunteering</h1>');
    expect(page).toContain('<a href="/admin/impact" aria-current="page">Impact</a>');
    expect(page).toMatch(/data-field="volunteers">7</);
    expect(page).toMatch(/data-field="hours">14.5</);
    expect(page).toMatch(/data-field="hours-value">290.00</);
    expect(page).toMatch(/data-field="no-show-rate">33%</);
    for (const id of ['chart-volunteer-hours', 'chart-volunteers', 'chart-no-show']) expect(page).toContain(`id="${id}"`);
    expect(page).toContain('&lt;script&gt;alert(&quot;impact&quot;)&lt;/script&gt; Park &lt;b&gt;clean-up&lt;/b&gt;');
    expect(page).not.toContain(HTML_TITLE);
    expect(page).not.toContain('<b>clean-up</b>');
    expect(page).toContain('20 bags of trash of 40 (50%)');
    expect(page).toContain('href="/admin/roles/V-IMP01"');
    expect(page).toMatch(/href="\/admin\/api\/impact\.csv\?from=\d{4}-\d{2}-01&amp;to=\d{4}-\d{2}-\d{2}"/);
    noAddresses(page);
  });

  it('answers a bad range with a 400 page, not a 5xx', async () => {
    const response = await get('/admin/impact?from=2026-02-30');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toContain('from: must be a real date');
  });
});

describe('the home page', () => {
  it('keeps its impact numbers and adds the volunteering charts of the last 12 months', async () => {
    const page = await (await get('/admin')).text();
    expect(page).toContain('id="chart-spots"');
    expect(page).toContain('Volunteering impact');
    expect(page).toMatch(/7 volunteers \(5 people\) gave\s+14.5 hours at 3 shifts/);
    for (const id of ['chart-volunteer-hours', 'chart-volunteers', 'chart-no-show']) expect(page).toContain(`id="${id}"`);
  });
});
