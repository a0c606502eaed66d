/**
 * Ballots (issue 21) in real headless Chromium: a coordinator makes a budget ballot with the form
 * (English and Spanish texts, three projects, the window in CITY_TIMEZONE), opens it, and after
 * residents vote (through the store, as the dialog's command does) reads the results: votes,
 * share, which projects the budget funds, turnout by channel and language. Then closes it and
 * publishes the result. Screenshots go to test-output/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type RunningApp } from '../support/http.js';
import { hasChromium, launchBrowser, TEST_OUTPUT, watchedPage } from '../support/browser.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';
import { castVote } from '../../src/pipeline/ballot-votes.js';
import { toCityLocalInput } from '../../src/domain/city-time.js';

const PASSWORD = 'correct horse battery staple';
const TIME_ZONE = 'America/Chicago';

let app: RunningApp;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(TEST_OUTPUT, name), fullPage: true });
}

describe.skipIf(!hasChromium)('ballots in a browser', () => {
  beforeAll(async () => {
    app = await startTestApp({ QUIET_HOURS: 'off', SEED_DEMO_DATA: 'false', CITY_TIMEZONE: TIME_ZONE });
    await createStaffUser(app.service.store, { username: 'cory', displayName: 'Cory Coordinator', role: 'coordinator', password: PASSWORD });
    browser = await launchBrowser();
    page = await watchedPage(browser, pageErrors);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('creates a ballot, opens it and shows its results', async () => {
    await page.goto(`${app.url}/admin/ballots`);
    await page.fill('#username', 'cory');
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'New ballot' }).waitFor();

    await page.fill('#title-en', 'Parks budget 2027');
    await page.fill('#title-es', 'Presupuesto de parques 2027');
    await page.fill('#question-en', 'Which projects should the city fund?');
    await page.fill('#question-es', '¿Qué proyectos debe financiar la ciudad?');
    const projects = [
      ['Park benches', 'Bancos del parque', '100000'],
      ['Shade trees', 'Árboles de sombra', '300000'],
      ['Splash pad', 'Fuente de juegos', '250000'],
    ];
    for (const [i, [en, es, cost]] of projects.entries()) {
      await page.getByLabel(`Project ${i + 1} (en)`).fill(en!);
      await page.getByLabel(`Project ${i + 1} (es)`).fill(es!);
      await page.getByLabel(`Project ${i + 1} cost`).fill(cost!);
    }
    await page.selectOption('#ballot-rule', 'budget');
    await page.fill('#ballot-budget', '500000');
    await page.fill('#ballot-opens', toCityLocalInput(new Date(Date.now() - 3_600_000), TIME_ZONE));
    await page.fill('#ballot-closes', toCityLocalInput(new Date(Date.now() + 7 * 86_400_000), TIME_ZONE));
    await shot('ballots-new.png');
    await page.getByRole('button', { name: 'Save as draft' }).click();
    await page.getByText('Ballot saved as a draft.').waitFor();
    const id = /P-[A-Z0-9]{5}/.exec(page.url())![0];
    expect(await page.locator('#ballot-status').textContent()).toBe('Draft');

    await page.getByRole('button', { name: 'Open for votes' }).click();
    await page.getByText('Ballot open').waitFor();
    expect(await page.locator('#ballot-status').textContent()).toBe('Open');

    // Residents vote: two on SMS in English, one on Telegram in Spanish.
    const store = app.service.store;
    const now = new Date();
    await castVote(store, { ref: id, picks: [1, 2] }, { address: 'sms:+12175550201', channel: 'sms', locale: 'en', now });
    await castVote(store, { ref: id, picks: [2] }, { address: 'sms:+12175550202', channel: 'sms', locale: 'en', now });
    await castVote(store, { ref: id, picks: [1, 3] }, { address: 'telegram:5550203', channel: 'telegram', locale: 'es', now });
    await page.reload();
    await page.locator('#ballot-results').waitFor();
    expect(await page.locator('#ballot-voters').textContent()).toBe('3');
    const rows = await page.locator('#ballot-results tbody tr').allTextContents();
    expect(rows.map((row) => row.replace(/\s+/g, ' ').trim())).toEqual([
      '1 Park benches $100,000 2 67% Funded',
      '2 Shade trees $300,000 2 67% Funded',
      '3 Splash pad $250,000 1 33% -',
    ]);
    expect((await page.locator('#turnout-channel').textContent())?.replace(/\s+/g, ' ')).toContain('sms 2 telegram 1');
    expect((await page.locator('#turnout-language').textContent())?.replace(/\s+/g, ' ')).toContain('en 2 es 1');
    await shot('ballots-results.png');

    await page.getByRole('button', { name: 'Close voting now' }).click();
    await page.getByText('Ballot closed').waitFor();
    await page.getByRole('button', { name: 'Publish the result to voters' }).click();
    await page.getByText('Result published').first().waitFor();
    expect(await page.getByRole('heading', { name: 'Result (published)' }).count()).toBe(1);
    await shot('ballots-published.png');

    await page.goto(`${app.url}/admin/ballots`);
    expect(await page.getByRole('link', { name: 'Parks budget 2027' }).count()).toBe(1);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
