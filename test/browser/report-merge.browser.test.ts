/**
 * Merging duplicates in real headless Chromium (issue 18), against the real app with a fake
 * Twilio: two residents report the same pothole by SMS; staff log in, find the pair on the
 * "Duplicates" page, open one report, see the other among its possible duplicates, merge it
 * with the button (a form with the session's CSRF token), and see the result on both reports;
 * the merged report's resident gets one SMS. Screenshots go to test-output/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, withProviderFakes, type RunningApp } from '../support/http.js';
import { hasChromium, launchBrowser, TEST_OUTPUT, watchedPage } from '../support/browser.js';
import { startFakeTwilio, type FakeTwilio } from '../support/twilio.js';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { referenceIn, smsAddress, TestConversation } from '../support/harness.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';

const PASSWORD = 'correct horse battery staple';

let twilio: FakeTwilio;
let telegram: FakeTelegram;
let app: RunningApp;
let browser: Browser;
let page: Page;
let first: TestConversation;
let second: TestConversation;
let kept: string;
let duplicate: string;
const pageErrors: string[] = [];

/** Files a pothole report as an SMS resident, filing it although one is open there. */
async function fileReport(resident: TestConversation, text: string): Promise<string> {
  let reply = await resident.send(text);
  for (let turn = 0; turn < 8; turn++) {
    if (/already (?:be )?reported/i.test(reply)) {
      reply = await resident.send('file mine anyway');
      continue;
    }
    if (/\bR-[0-9A-Z]{5}\b/.test(reply)) return referenceIn(reply);
    const buttons = resident.received.at(-1)?.buttons;
    reply = await resident.send(buttons?.length ? { choice: buttons[0]!.id } : /^1\./m.test(reply) ? '1' : 'skip');
  }
  throw new Error(`The report was not filed: ${reply}`);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(TEST_OUTPUT, name), fullPage: true });
}

describe.skipIf(!hasChromium)('merging duplicates in a browser', () => {
  beforeAll(async () => {
    twilio = await startFakeTwilio();
    telegram = await startFakeTelegram();
    const { env, overrides } = withProviderFakes({ twilio, telegram }, { SEED_DEMO_DATA: 'false' });
    app = await startTestApp(env, overrides);
    app.service.jobs.start();
    await createStaffUser(app.service.store, { username: 'ada', displayName: 'Ada Admin', role: 'admin', password: PASSWORD });

    first = new TestConversation(app.service, smsAddress(), undefined, new Date(Date.now() - 20 * 60_000));
    kept = await fileReport(first, "there's a huge pothole on 5th and Main");
    second = new TestConversation(app.service, smsAddress(), undefined, new Date(Date.now() - 10 * 60_000));
    duplicate = await fileReport(second, 'pothole at 5th and Main, a car lost a hubcap in it');

    browser = await launchBrowser();
    page = await watchedPage(browser, pageErrors);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await twilio?.close();
    await telegram?.close();
  });

  it('logs in and finds the pair on the duplicates page', async () => {
    await page.goto(`${app.url}/admin/login`);
    await page.fill('#username', 'ada');
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Signed in as').waitFor();
    await page.getByRole('link', { name: 'Duplicates' }).click();
    await page.getByRole('heading', { name: 'Likely duplicates' }).waitFor();
    const group = page.locator('section.duplicate-group', { hasText: duplicate });
    await group.waitFor();
    expect(await group.textContent()).toContain(kept);
    expect(await group.getByRole('button', { name: `Merge ${duplicate} into ${kept}` }).count()).toBe(1);
    await shot('duplicates-list.png');
  }, 60_000);

  it('merges a report into its duplicate from the report page, and shows the result on both', async () => {
    await page.getByRole('link', { name: duplicate }).first().click();
    await page.getByRole('heading', { name: duplicate }).waitFor();
    const box = page.locator('section.possible-duplicates');
    await box.waitFor();
    expect(await box.textContent()).toContain(kept);
    await shot('report-possible-duplicates.png');

    twilio.requests.length = 0;
    await box.getByRole('button', { name: `Merge into ${kept}` }).click();
    await page.getByText('Merged into this report. Its reporter and followers follow this one now').waitFor();
    await page.getByRole('heading', { name: kept }).waitFor();
    const mergedHere = page.locator('ul.merged-here');
    expect(await mergedHere.textContent()).toContain(duplicate);
    // The merged resident's words are on the kept report now.
    expect(await page.locator('table').last().textContent()).toContain('a car lost a hubcap in it');
    // With nothing left to merge, the kept report offers no duplicates.
    expect(await page.locator('section.possible-duplicates').textContent()).toContain('No other open pothole report');
    await shot('report-merged-kept.png');

    await mergedHere.getByRole('link', { name: duplicate }).click();
    await page.getByRole('heading', { name: duplicate }).waitFor();
    const notice = page.locator('.merged-into');
    expect((await notice.textContent())?.replace(/\s+/g, ' ')).toContain(`Merged into ${kept}`);
    expect(await page.locator('h1 .badge').textContent()).toBe('Duplicate');
    expect(await page.locator('section.possible-duplicates').count()).toBe(0);
    await shot('report-merged-duplicate.png');
    await notice.getByRole('link', { name: kept }).click();
    await page.getByRole('heading', { name: kept }).waitFor();

    // The merged report's resident hears it once by SMS; the kept one's reporter hears nothing.
    await app.service.jobs.idle();
    const to = (resident: TestConversation) => twilio.requests.filter((r) => r.form.To === resident.address.slice('sms:'.length)).map((r) => r.form.Body ?? '');
    expect(to(second)).toEqual([
      `Your report ${duplicate} is the same problem as ${kept} (Pothole), which others reported too: we put them together. You now follow ${kept} and will hear every update.`,
    ]);
    expect(to(first)).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
