/**
 * Working reports in real headless Chromium (issue 18): a staff member opens the "Unassigned"
 * queue, takes a report (assigns it to herself on its page), finds it in "Mine" and no longer in
 * "Unassigned", sees it flagged overdue, picks a canned response that fills the status note (the
 * page's script, under the staff pages' CSP), and adds an internal note. Screenshots go to
 * test-output/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type RunningApp } from '../support/http.js';
import { hasChromium, launchBrowser, TEST_OUTPUT, watchedPage } from '../support/browser.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';
import { withOpenReportKeys } from '../../src/domain/open-report-keys.js';
import { addCannedReply } from '../../src/staff/handoff-desk.js';

const PASSWORD = 'correct horse battery staple';
const DAY = 86_400_000;

let app: RunningApp;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(TEST_OUTPUT, name), fullPage: true });
}

describe.skipIf(!hasChromium)('report queues in a browser', () => {
  beforeAll(async () => {
    app = await startTestApp({ SEED_DEMO_DATA: 'false' });
    const { store } = app.service;
    await createStaffUser(store, { username: 'ada', displayName: 'Ada Admin', role: 'admin', password: PASSWORD });
    await createStaffUser(store, { username: 'cory', displayName: 'Cory Coordinator', role: 'coordinator', password: PASSWORD });
    for (const [id, category, daysAgo, text] of [
      ['R-QUE22', 'pothole', 6, 'Deep pothole outside the bakery'],
      ['R-QUE23', 'streetlight', 1, 'Street light flickering all night'],
    ] as const) {
      const made = new Date(Date.now() - daysAgo * DAY);
      const { _rev, ...report } = withOpenReportKeys({
        _id: id,
        _rev: 0,
        category,
        status: 'open',
        statusGroup: 'open' as const,
        location: { text: 'Main St & 5th Ave' },
        description: text,
        photos: [],
        residentAddress: `sms:+1555000${id.slice(-2)}11`,
        channel: 'sms' as const,
        locale: 'en',
        createdAt: made,
        updatedAt: made,
      });
      await store.reports.insert(report);
    }
    await addCannedReply(
      app.service.staff,
      { locale: 'en', category: 'pothole', title: 'Crew scheduled', text: 'A road crew is scheduled to fill this pothole within two days.' },
      { username: 'ada', role: 'admin' },
    );
    browser = await launchBrowser();
    page = await watchedPage(browser, pageErrors);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('logs in and shows the unassigned queue, the overdue report flagged', async () => {
    await page.goto(`${app.url}/admin/reports`);
    await page.fill('#username', 'ada');
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Reports' }).waitFor();

    await page.getByRole('navigation', { name: 'Queues' }).getByRole('link', { name: 'Unassigned' }).click();
    await page.waitForURL(/queue=unassigned/);
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await page.locator('tr', { hasText: 'R-QUE22' }).locator('.badge.overdue').textContent()).toBe('Overdue');
    expect(await page.locator('tr', { hasText: 'R-QUE23' }).locator('.badge.overdue').count()).toBe(0);
    await shot('report-queues-unassigned.png');
  }, 60_000);

  it('takes a report: assigned on its page, it moves from Unassigned to Mine', async () => {
    await page.getByRole('link', { name: 'R-QUE22' }).click();
    await page.getByRole('heading', { name: /R-QUE22/ }).waitFor();
    expect(await page.textContent('[data-field="assignee"]')).toContain('nobody');
    await page.selectOption('#assignee', 'ada');
    await page.getByRole('button', { name: 'Assign' }).click();
    await page.getByText('Assignment saved.').waitFor();
    expect((await page.textContent('[data-field="assignee"]'))?.trim()).toBe('ada');

    // The canned response of the report's category fills the note (the page's own script).
    await page.selectOption('#canned', { label: 'Crew scheduled' });
    expect(await page.inputValue('#note')).toBe('A road crew is scheduled to fill this pothole within two days.');
    await page.fill('#internal-note', 'Same hole was patched in March; ask for a full-depth repair.');
    await page.getByRole('button', { name: 'Add internal note' }).click();
    await page.getByText('Internal note added. The resident does not see it.').waitFor();
    expect(await page.locator('tr.internal').textContent()).toContain('full-depth repair');
    await shot('report-queues-assigned.png');

    await page.getByRole('link', { name: /All reports/ }).click();
    await page.getByRole('navigation', { name: 'Queues' }).getByRole('link', { name: 'Mine' }).click();
    await page.waitForURL(/queue=mine/);
    expect(await page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator('tbody tr').textContent()).toContain('R-QUE22');
    await shot('report-queues-mine.png');

    await page.getByRole('navigation', { name: 'Queues' }).getByRole('link', { name: 'Unassigned' }).click();
    await page.waitForURL(/queue=unassigned/);
    expect(await page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator('tbody tr').textContent()).toContain('R-QUE23');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
