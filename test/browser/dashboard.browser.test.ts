/**
 * The staff dashboard in real headless Chromium, against the real app with fake Twilio and a fake
 * Telegram Bot API: log in through the form, fix a resident's report (the resident gets an SMS),
 * publish a volunteer role through the form, and broadcast a call for it to the residents who
 * opted in on SMS, Telegram and web chat, following its progress live on the page until every
 * delivery is settled. Screenshots go to test-output/.
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
import type { ResidentRecord } from '../../src/domain/records.js';

const PASSWORD = 'correct horse battery staple';
const SMS_VOLUNTEER = 'sms:+12175550111';
const SMS_OPTED_OUT = 'sms:+12175550112';
const TELEGRAM_CHAT = 91_000_111;
const WEBCHAT_CONVERSATION = 'dashboard-browser-test-conversation';

let twilio: FakeTwilio;
let telegram: FakeTelegram;
let app: RunningApp;
let browser: Browser;
let page: Page;
let reporter: TestConversation;
let reportRef: string;
const pageErrors: string[] = [];

/** A resident who opted in to volunteer calls, as the volunteer dialog leaves them. */
function volunteer(address: string, overrides: Partial<ResidentRecord> = {}): ResidentRecord {
  const seen = new Date(Date.now() - 3_600_000);
  return {
    _id: address,
    _rev: 0,
    address,
    channel: address.slice(0, address.indexOf(':')) as ResidentRecord['channel'],
    locale: 'en',
    optedOut: false,
    volunteerCalls: true,
    interests: ['parks'],
    neighbourhood: 'Eastside',
    createdAt: seen,
    lastSeenAt: seen,
    ...overrides,
  };
}

/** Files a pothole report as an SMS resident, answering whatever the dialog asks. */
async function fileReport(resident: TestConversation): Promise<string> {
  let reply = await resident.send("there's a huge pothole on 5th and Main");
  for (let turn = 0; turn < 6; turn++) {
    if (/\bR-[0-9A-Z]{5}\b/.test(reply)) return referenceIn(reply);
    const buttons = resident.received.at(-1)?.buttons;
    reply = await resident.send(buttons?.length ? { choice: buttons[0]!.id } : /^1\./m.test(reply) ? '1' : 'skip');
  }
  throw new Error(`The report was not filed: ${reply}`);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(TEST_OUTPUT, name), fullPage: true });
}

describe.skipIf(!hasChromium)('staff dashboard in a browser', () => {
  beforeAll(async () => {
    twilio = await startFakeTwilio();
    telegram = await startFakeTelegram();
    // Broadcasts wait out quiet hours; this test must not depend on the time of day it runs.
    const { env, overrides } = withProviderFakes({ twilio, telegram }, { QUIET_HOURS: 'off', SEED_DEMO_DATA: 'false' });
    app = await startTestApp(env, overrides);
    const { store } = app.service;
    await createStaffUser(store, { username: 'ada', displayName: 'Ada Admin', role: 'admin', password: PASSWORD });

    reporter = new TestConversation(app.service, smsAddress(), undefined, new Date(Date.now() - 10 * 60_000));
    reportRef = await fileReport(reporter);
    for (const resident of [
      volunteer(SMS_VOLUNTEER),
      volunteer(`telegram:${TELEGRAM_CHAT}`),
      volunteer(`webchat:${WEBCHAT_CONVERSATION}`),
      // Said STOP but still has volunteer calls on: planned, skipped and counted, never messaged.
      volunteer(SMS_OPTED_OUT, { optedOut: true }),
    ]) {
      const { _rev, ...record } = resident;
      await store.residents.insert(record);
    }

    browser = await launchBrowser();
    page = await watchedPage(browser, pageErrors);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await twilio?.close();
    await telegram?.close();
  });

  it('logs in through the form', async () => {
    await page.goto(`${app.url}/admin/reports`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await page.fill('#username', 'ada');
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Reports' }).waitFor();
    // Back where the login started.
    expect(new URL(page.url()).pathname).toBe('/admin/reports');
    expect(await page.getByText('Signed in as').textContent()).toContain('ada');
  }, 60_000);

  it('fixes a report, and the resident hears it by SMS', async () => {
    await page.getByRole('link', { name: reportRef }).click();
    await page.getByRole('heading', { name: reportRef }).waitFor();
    await page.selectOption('#status', 'fixed');
    await page.fill('#note', 'Filled on Tuesday');
    expect(await page.isChecked('input[name=notify]')).toBe(true);
    twilio.requests.length = 0;
    await page.getByRole('button', { name: 'Save status' }).click();
    await page.getByText('Status changed. The resident was told on their channel.').waitFor();
    expect(await page.locator('h1 .badge').textContent()).toBe('Fixed');
    expect(await page.locator('table').last().textContent()).toContain('Filled on Tuesday');

    expect(twilio.requests).toHaveLength(1);
    expect(twilio.requests[0]!.form.To).toBe(reporter.address.slice('sms:'.length));
    expect(twilio.requests[0]!.form.Body).toContain(reportRef);
    expect(twilio.requests[0]!.form.Body).toContain('Filled on Tuesday');
    await shot('dashboard-report.png');
  }, 60_000);

  it('publishes a volunteer role through the form', async () => {
    await page.getByRole('link', { name: 'Volunteer roles' }).click();
    await page.getByRole('heading', { name: 'New role' }).waitFor();
    await page.fill('#title', 'Eastside park clean-up');
    await page.fill('#description', 'Two hours of litter picking; the park is cleaner for the summer fair.');
    await page.fill('#interests', 'parks, environment');
    await page.fill('#neighbourhood', 'Eastside');
    await page.fill('#place', 'Eastside Park, north gate');
    const start = new Date(Date.now() + 14 * 86_400_000);
    await page.fill('#startsAt', `${start.toISOString().slice(0, 10)}T09:00`);
    await page.fill('#endsAt', `${start.toISOString().slice(0, 10)}T11:00`);
    await page.fill('#capacity', '8');
    await page.fill('#contact', 'parks@springfield.example');
    await page.getByRole('button', { name: 'Publish role' }).click();
    await page.getByText('Role published.').waitFor();
    await shot('dashboard-role.png');

    await page.getByRole('link', { name: 'All roles' }).click();
    const row = page.locator('tr', { hasText: 'Eastside park clean-up' });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/Open\s*0\s*0\s*8/);
  }, 60_000);

  it('broadcasts a call for the role and shows its progress live until every delivery is settled', async () => {
    const roleRef = (await page.locator('tr', { hasText: 'Eastside park clean-up' }).locator('a').first().textContent())!.trim();
    // The worker is stopped while the page loads, so the page first shows the plan, then the
    // script must bring the counts to their final state without a reload.
    await app.service.broadcasts.stop();

    await page.getByRole('link', { name: 'Broadcasts' }).click();
    await page.getByRole('link', { name: 'New broadcast' }).click();
    await page.fill('#message_en', 'Eastside park clean-up on Saturday: can you help? Reply YES to sign up.');
    await page.fill('#message_es', 'Limpieza del parque Eastside el sábado: ¿nos ayudas?');
    await page.selectOption('#roleId', roleRef);
    for (const channel of ['sms', 'telegram', 'webchat']) await page.check(`input[name=channels][value=${channel}]`);
    await page.fill('#interests', 'parks');
    await page.getByRole('button', { name: 'Preview recipients' }).click();
    await page.getByRole('heading', { name: 'Recipients' }).waitFor();
    expect(await page.textContent('[data-preview="total"]')).toBe('4');
    expect(await page.textContent('[data-preview="sendable"]')).toBe('3');
    expect(await page.textContent('[data-preview="optedOut"]')).toBe('1');
    for (const channel of ['sms', 'telegram', 'webchat']) expect(await page.textContent(`[data-preview="channel-${channel}"]`)).toBe('1');
    // The form comes back as it was filled.
    expect(await page.inputValue('#message_en')).toContain('Eastside park clean-up on Saturday');
    expect(await page.isChecked('input[name=channels][value=telegram]')).toBe(true);
    expect(await page.inputValue('#roleId')).toBe(roleRef);

    twilio.requests.length = 0;
    const telegramBefore = telegram.callsOf('sendMessage').length;
    await page.getByRole('button', { name: 'Create broadcast' }).click();
    await page.waitForURL(/\/admin\/broadcasts\/B-[0-9A-Z]{5}\?done=created$/);
    expect(await page.textContent('[data-count="total.queued"]')).toBe('3');
    expect(await page.textContent('[data-count="total.skipped"]')).toBe('1');
    expect(await page.textContent('[data-field="status"]')).toBe('scheduled');

    app.service.broadcasts.start();
    const final = {
      'total.sent': '3',
      'total.skipped': '1',
      'total.queued': '0',
      'total.sending': '0',
      'sms.sent': '1',
      'telegram.sent': '1',
      'webchat.sent': '1',
    };
    for (const [cell, value] of Object.entries(final)) {
      await expect.poll(() => page.textContent(`[data-count="${cell}"]`), { timeout: 20_000 }).toBe(value);
    }
    await expect.poll(() => page.textContent('[data-field="status"]'), { timeout: 20_000 }).toBe('done');
    expect(await page.textContent('[data-field="settled"]')).toBe('4');
    expect(await page.textContent('[data-field="live"]')).toBe('Final.');
    // Done: pause and cancel are no longer offered.
    expect(await page.getByRole('button', { name: 'Cancel broadcast' }).isVisible()).toBe(false);
    await shot('dashboard-broadcast.png');

    // Exactly one message per reachable resident, on their own channel; none to the opted-out one.
    expect(twilio.requests.map((request) => request.form.To)).toEqual([SMS_VOLUNTEER.slice('sms:'.length)]);
    expect(twilio.requests[0]!.form.Body).toContain('Eastside park clean-up on Saturday');
    const toTelegram = telegram
      .callsOf('sendMessage')
      .slice(telegramBefore)
      .filter((call) => call.payload.chat_id === TELEGRAM_CHAT);
    expect(toTelegram).toHaveLength(1);
    expect(telegram.callsOf('sendMessage').length - telegramBefore).toBe(1);
    const webchat = await app.service.store.webchatActivities.find({ field: 'conversationId', equals: WEBCHAT_CONVERSATION });
    expect(webchat).toHaveLength(1);
    expect((webchat[0]!.activity as { text: string }).text).toContain('Eastside park clean-up on Saturday');
  }, 90_000);

  it('shows the impact numbers as charts on the home page', async () => {
    await page.getByRole('link', { name: 'Home' }).click();
    await page.getByRole('heading', { name: 'Impact', exact: true }).waitFor();
    // Five impact charts, three of volunteering over the months (hours, volunteers, no-show rate),
    // and four of satisfaction: days to fix, within target, really fixed, rating.
    expect(await page.locator('figure.chart svg[role=img]').count()).toBe(12);
    for (const id of [
      'chart-volunteer-hours',
      'chart-volunteers',
      'chart-no-show',
      'chart-days-to-fix',
      'chart-within-target',
      'chart-really-fixed',
      'chart-rating',
    ]) {
      expect(await page.locator(`#${id}`).count()).toBe(1);
    }
    expect(await page.locator('#chart-broadcasts dl').textContent()).toMatch(/Sent\s*3/);
    expect(await page.locator('#chart-status-group dl').textContent()).toMatch(/Fixed\s*1/);
    expect(await page.locator('#fix-time + p').textContent()).not.toBe('-');
    await shot('dashboard-home.png');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
