/**
 * The impact page and the home page's volunteering charts in real headless Chromium (issue 20):
 * log in through the form, see the charts on the home page, follow the navigation to the impact
 * page, read its totals and its roles (a role title that is markup shows as text), choose another
 * date range through its form, and download its CSV. No script error or CSP violation on the
 * way. Screenshots go to test-output/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type RunningApp } from '../support/http.js';
import { hasChromium, launchBrowser, TEST_OUTPUT, watchedPage } from '../support/browser.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';
import { EXPECTED_IMPACT, FORMULA_TITLE, HTML_TITLE, seedImpactRecords } from '../support/impact-records.js';

const PASSWORD = 'correct horse battery staple';

let app: RunningApp;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(TEST_OUTPUT, name), fullPage: true });
}

describe.skipIf(!hasChromium)('the impact page in a browser', () => {
  beforeAll(async () => {
    app = await startTestApp({ SEED_DEMO_DATA: 'false', VOLUNTEER_HOUR_VALUE: '20' });
    await createStaffUser(app.service.store, { username: 'cora', displayName: 'Cora Coordinator', role: 'coordinator', password: PASSWORD });
    await seedImpactRecords(app.service.store);
    browser = await launchBrowser();
    page = await watchedPage(browser, pageErrors);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows the volunteering charts on the home page', async () => {
    await page.goto(`${app.url}/admin`);
    await page.fill('#username', 'cora');
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Volunteering impact' }).waitFor();
    for (const name of ['Volunteer hours', 'Volunteers', 'No-show rate (%)']) {
      await expect(page.locator('figure.chart figcaption', { hasText: new RegExp(`^${name.replace(/[()]/g, '\\$&')}$`) }).count()).resolves.toBe(1);
    }
    // The chart is a picture with its numbers as text: twelve months, and the hours of each.
    const hours = page.locator('#chart-volunteer-hours');
    await expect(hours.locator('svg[role=img]').isVisible()).resolves.toBe(true);
    await expect(hours.locator('dd').count()).resolves.toBe(12);
    const byMonth = (await hours.locator('dd').allTextContents()).map(Number);
    expect(byMonth.reduce((a, b) => a + b, 0)).toBeCloseTo(EXPECTED_IMPACT.hours, 6);
    await page.locator('[data-field="volunteering-charts"]').scrollIntoViewIfNeeded();
    await shot('impact-home.png');
  }, 60_000);

  it('shows the totals and the roles on the impact page, titles as text', async () => {
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Impact' }).click();
    await page.getByRole('heading', { name: 'Impact of volunteering' }).waitFor();
    await expect(page.locator('[data-field="volunteers"]').textContent()).resolves.toBe(String(EXPECTED_IMPACT.volunteers));
    await expect(page.locator('[data-field="hours"]').textContent()).resolves.toBe(String(EXPECTED_IMPACT.hours));
    await expect(page.locator('[data-field="hours-value"]').textContent()).resolves.toBe('290.00');
    await expect(page.locator('[data-field="no-show-rate"]').textContent()).resolves.toBe('33%');
    const first = page.locator('tr[data-role="V-IMP01"]');
    // The markup in the title is shown, not run: no <b> element, no script.
    await expect(first.locator('td').first().textContent()).resolves.toContain(HTML_TITLE);
    await expect(first.locator('b').count()).resolves.toBe(0);
    await expect(first.locator('[data-field="outcome"]').textContent()).resolves.toContain('20 bags of trash of 40 (50%)');
    await expect(page.locator('tr[data-role="V-IMP02"] td').first().textContent()).resolves.toContain(FORMULA_TITLE);
    await shot('impact-page.png');
  }, 60_000);

  it('takes another date range through its form, and exports it as CSV', async () => {
    await page.fill('#from', '2001-01-01');
    await page.fill('#to', '2001-03-31');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByText('No shift took place in this range.').waitFor();
    expect(new URL(page.url()).search).toBe('?from=2001-01-01&to=2001-03-31');
    await expect(page.locator('tr[data-month]').count()).resolves.toBe(3);
    await expect(page.locator('[data-field="volunteers"]').textContent()).resolves.toBe('0');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    expect(download.suggestedFilename()).toBe('impact-2001-01-01-to-2001-03-31.csv');
    await shot('impact-page-range.png');
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('fits a phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${app.url}/admin/impact`);
    await page.getByRole('heading', { name: 'Impact of volunteering' }).waitFor();
    // Wide tables scroll in their own box; the page itself does not scroll sideways.
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('impact-page-phone.png');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
