/**
 * Idea moderation in real headless Chromium (issue 21), against the real app: three residents
 * report an idea by SMS ("report I-…"), which hides it; staff log in, open the moderation queue,
 * see how many reported and why (a resident's own words escaped, never who), try to restore it
 * without a note (refused), restore it with one (a form with the session's CSRF token), then
 * hide it again; the idea's page shows its supporters over time. Screenshots go to test-output/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type RunningApp } from '../support/http.js';
import { hasChromium, launchBrowser, TEST_OUTPUT, watchedPage } from '../support/browser.js';
import { smsAddress, TestConversation } from '../support/harness.js';
import { newReference } from '../../src/domain/reference.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';

const PASSWORD = 'correct horse battery staple';

let app: RunningApp;
let browser: Browser;
let page: Page;
let ref: string;
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(TEST_OUTPUT, name), fullPage: true });
}

describe.skipIf(!hasChromium)('moderating ideas in a browser', () => {
  beforeAll(async () => {
    app = await startTestApp({ SEED_DEMO_DATA: 'false', IDEA_REPORTS_TO_HIDE: '3' });
    await createStaffUser(app.service.store, { username: 'ada', displayName: 'Ada Admin', role: 'admin', password: PASSWORD });
    ref = newReference('I');
    const day = 86_400_000;
    await app.service.store.ideas.insert({
      _id: ref,
      title: 'Cheap <i>watches</i> at my shop',
      details: 'Call me to buy',
      authorAddress: smsAddress(),
      channel: 'sms',
      status: 'new',
      kind: 'idea',
      createdAt: new Date(Date.now() - 20 * day),
    });
    for (const [i, daysAgo] of [19, 12, 11, 3].entries())
      await app.service.store.ideaSupports.insert({
        _id: `${ref}|sms:+1555700000${i}`,
        ideaId: ref,
        address: `sms:+1555700000${i}`,
        at: new Date(Date.now() - daysAgo * day),
      });
    for (const [say, reason] of [
      ['1', null],
      ['4', 'It is an <b>advert</b>'],
      ['3', null],
    ] as const) {
      const resident = new TestConversation(app.service, smsAddress(), undefined, new Date(Date.now() - 10 * 60_000));
      await resident.send(`report ${ref}`);
      await resident.send(say);
      if (reason) await resident.send(reason);
    }
    browser = await launchBrowser();
    page = await watchedPage(browser, pageErrors);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows the hidden idea in the queue with its reasons, and refuses a decision without a note', async () => {
    expect((await app.service.store.ideas.get(ref))?.moderation?.state).toBe('hidden');
    await page.goto(`${app.url}/admin/login`);
    await page.fill('#username', 'ada');
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Signed in as').waitFor();
    await page.getByRole('link', { name: 'Ideas', exact: true }).click();
    await page.getByRole('link', { name: 'Moderation queue' }).click();
    await page.getByRole('heading', { name: 'Idea moderation' }).waitFor();
    const card = page.locator(`article#${ref}`);
    await card.waitFor();
    const text = (await card.textContent())?.replace(/\s+/g, ' ') ?? '';
    expect(text).toContain('Cheap <i>watches</i> at my shop');
    expect(text).toContain('3 reports: Spam 1, Personal info 1, Other 1');
    expect(text).toContain('It is an <b>advert</b>');
    expect(text).toContain('Hidden automatically, after reports');
    expect(await card.locator('b, i').count()).toBe(0);
    await shot('idea-moderation-queue.png');

    // The note is required: the browser's own check first, then the server's (blank spaces).
    await card.locator('textarea[name=note]').fill('   ');
    await card.getByRole('button', { name: 'Restore' }).click();
    await page.locator('ul.errors').waitFor();
    expect(await page.locator('ul.errors').textContent()).toContain('say why');
    expect((await app.service.store.ideas.get(ref))?.moderation?.state).toBe('hidden');
    // The refused form came back as a 400 page, which the browser logs: that one was meant.
    expect(pageErrors).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    pageErrors.length = 0;
  }, 60_000);

  it('restores the idea with a note, then hides it again; the idea page charts its supporters', async () => {
    const card = page.locator(`article#${ref}`);
    await card.locator('textarea[name=note]').fill('Not an advert: a shop owner asking for a market');
    await card.getByRole('button', { name: 'Restore' }).click();
    await page.getByText('Idea restored: residents see it again.').waitFor();
    expect(await page.locator(`article#${ref}`).count()).toBe(0);
    const idea = await app.service.store.ideas.get(ref);
    expect(idea?.moderation).toMatchObject({ state: 'restored', by: 'ada', note: 'Not an advert: a shop owner asking for a market' });
    await shot('idea-moderation-restored.png');

    // Its page: supporters over time, then staff hide it there from the queue after all.
    await page.goto(`${app.url}/admin/ideas/${ref}`);
    await page.getByRole('heading', { name: /Cheap <i>watches<\/i> at my shop/ }).waitFor();
    const chart = page.locator('figure#supporters-by-week');
    expect(await chart.locator('rect.bar').count()).toBeGreaterThanOrEqual(3);
    expect(await chart.locator('dl.numbers dd').last().textContent()).toBe('4');
    expect(await page.locator('section.card', { hasText: 'Merge into another idea' }).count()).toBe(1);
    await shot('idea-page-supporters.png');

    await app.service.store.ideas.replace({ ...idea!, moderationQueue: 'review' }, idea!._rev);
    await page.goto(`${app.url}/admin/ideas/moderation`);
    const again = page.locator(`article#${ref}`);
    await again.locator('textarea[name=note]').fill('Reported again: it is advertising');
    await again.getByRole('button', { name: 'Hide' }).click();
    await page.getByText('Idea hidden from residents.').waitFor();
    const hiddenPart = page.locator('section', { has: page.getByRole('heading', { name: /Hidden by staff/ }) });
    expect(await hiddenPart.locator(`article#${ref}`).count()).toBe(1);
    expect((await app.service.store.ideas.get(ref))?.moderation).toMatchObject({ state: 'hidden', by: 'ada' });
    await shot('idea-moderation-hidden.png');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
