/**
 * The staff inbox in real headless Chromium (issue 17), against the real app with a fake Twilio
 * and the job scheduler running: a resident on SMS (signed Twilio webhooks) asks for a person;
 * staff log in, see them waiting on the home page and in the inbox (the number masked), read the
 * conversation (the resident's words as text, never markup), add a canned reply, pick it on the
 * conversation page, edit it and send it; the fake Twilio gets exactly that text for the
 * resident; the bot stays quiet while the resident answers, and the page shows the answer by
 * itself; staff hand back, the resident is told, and the bot answers again. Then the same for a
 * Spanish resident, who is told in Spanish. Screenshots go to test-output/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, withProviderFakes, type RunningApp } from '../support/http.js';
import { hasChromium, launchBrowser, TEST_OUTPUT, watchedPage } from '../support/browser.js';
import { messageSid, postTwilio, startFakeTwilio, twilioFixture, twimlMessages, type FakeTwilio } from '../support/twilio.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';

const PASSWORD = 'correct horse battery staple';
const PHONE = '+12175550131';
const PHONE_ES = '+12175550132';
const CANNED_TITLE = 'Street light: which pole';
const CANNED_TEXT = 'Thanks for telling us. Which street is the light on, and is there a number on the pole?';
const EDITED_REPLY = 'Hi, this is Ada from Public Works. Thanks for telling us. Which street is the light on, and is there a number on the pole?';
const HTML_WORDS = '<b>hi</b> is anyone there?';
const ANSWER = 'It is on Elm Street, pole number 4471';

let twilio: FakeTwilio;
let app: RunningApp;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** A resident texting the city number: their replies from the TwiML answer (empty when the bot is quiet). */
async function text(phone: string, body: string): Promise<string[]> {
  const sid = messageSid();
  const params = { ...twilioFixture('inbound-sms'), From: phone, Body: body, MessageSid: sid, SmsMessageSid: sid, SmsSid: sid };
  const response = await postTwilio({ appUrl: app.url, path: '/webhooks/twilio/sms', params });
  expect(response.status).toBe(200);
  return twimlMessages(response.text);
}

/** The SMS the fake Twilio received for a number, as [To, Body]. */
function smsTo(phone: string): string[] {
  return twilio.requests.filter((request) => request.form.To === phone).map((request) => request.form.Body!);
}

/** The page's whole HTML and visible text never carry the resident's full number. */
async function expectNumberHidden(phone: string): Promise<void> {
  const national = phone.slice(2);
  for (const content of [await page.content(), await page.locator('body').innerText()]) {
    expect(content).not.toContain(national);
  }
}

/** How wide the page's content is (wider than the window: something runs off the side). */
function pageWidth(): Promise<number> {
  // A string, evaluated in the page: these tests are compiled without the DOM's types.
  return page.evaluate<number>('document.documentElement.scrollWidth');
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(TEST_OUTPUT, name), fullPage: true });
}

describe.skipIf(!hasChromium)('the staff inbox in a browser', () => {
  beforeAll(async () => {
    twilio = await startFakeTwilio();
    // Staff replies and hand-backs are notifications; this test must not depend on the time of day.
    const { env, overrides } = withProviderFakes({ twilio }, { QUIET_HOURS: 'off', SEED_DEMO_DATA: 'false' });
    app = await startTestApp(env, overrides);
    app.service.jobs.start();
    await createStaffUser(app.service.store, { username: 'ada', displayName: 'Ada Admin', role: 'admin', password: PASSWORD });

    browser = await launchBrowser();
    page = await watchedPage(browser, pageErrors);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await twilio?.close();
  });

  it('a resident on SMS asks for a person and is told one will answer', async () => {
    expect((await text(PHONE, 'my street light is out')).join('\n')).not.toBe('');
    const handoff = await text(PHONE, 'can I talk to a real person?');
    expect(handoff).toHaveLength(1);
    expect(handoff[0]).toContain("I've asked a person from");
    // Until a person answers, what the resident writes is theirs: the bot is quiet.
    expect(await text(PHONE, HTML_WORDS)).toEqual([]);
    expect(twilio.requests).toEqual([]);
  }, 60_000);

  it('staff log in and see one conversation waiting, on the home page and in the inbox', async () => {
    await page.goto(`${app.url}/admin`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await page.fill('#username', 'ada');
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Waiting for a person' }).waitFor();
    expect(await page.textContent('[data-field="waiting"]')).toBe('1');
    expect(await page.locator('#inbox-waiting + p').innerText()).toMatch(/^1 conversation in the inbox$/);

    await page.getByRole('link', { name: 'Inbox' }).first().click();
    await page.getByRole('heading', { name: 'Inbox' }).waitFor();
    expect(await page.getAttribute('[data-waiting]', 'data-waiting')).toBe('1');
    const row = page.locator('[data-live] tbody tr');
    expect(await row.count()).toBe(1);
    const cells = await row.locator('td').allInnerTexts();
    expect(cells.slice(0, 4)).toEqual([`sms:…${PHONE.slice(-4)}`, 'sms', 'en', 'Asked for a person']);
    expect(cells[5]).toBe('nobody');
    // The request and the message after it.
    expect(cells[6]).toBe('2');
    await expectNumberHidden(PHONE);
    await shot('inbox-list.png');
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    await shot('inbox-list-narrow.png');
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 60_000);

  it('adds an English canned reply', async () => {
    await page.getByRole('link', { name: 'Canned replies' }).click();
    await page.getByRole('heading', { name: 'Add a canned reply' }).waitFor();
    await page.selectOption('#canned-locale', 'en');
    await page.fill('#canned-title', CANNED_TITLE);
    await page.fill('#canned-text', CANNED_TEXT);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByText('Canned reply added.').waitFor();
    expect(await page.locator('tbody tr').allInnerTexts()).toEqual([expect.stringContaining(CANNED_TITLE)]);
    await shot('inbox-canned-replies.png');
  }, 60_000);

  it('shows the conversation with the resident words as text, and sends an edited canned reply by SMS', async () => {
    await page.getByRole('link', { name: 'Back to the inbox' }).click();
    await page.getByRole('link', { name: `sms:…${PHONE.slice(-4)}` }).click();
    await page.getByRole('heading', { name: `Conversation with sms:…${PHONE.slice(-4)}` }).waitFor();
    await expectNumberHidden(PHONE);

    const said = await page.locator('.transcript li.in div').allInnerTexts();
    expect(said).toEqual(['my street light is out', 'can I talk to a real person?', HTML_WORDS]);
    // Shown as the characters the resident typed: no <b> element came from their words.
    expect(await page.locator('.transcript b').count()).toBe(0);
    expect(await page.locator('.transcript li.out').count()).toBeGreaterThanOrEqual(2);

    // The canned reply in the resident's language fills the box; staff edit it before sending.
    expect(await page.locator('#canned option').allInnerTexts()).toEqual(['Write my own', CANNED_TITLE]);
    expect(await page.inputValue('#reply-text')).toBe('');
    await page.selectOption('#canned', { label: CANNED_TITLE });
    expect(await page.inputValue('#reply-text')).toBe(CANNED_TEXT);
    await page.fill('#reply-text', `Hi, this is Ada from Public Works. ${await page.inputValue('#reply-text')}`);

    twilio.requests.length = 0;
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.getByText('Reply sent to the resident on their channel.').waitFor();
    await expect.poll(() => twilio.requests.length, { timeout: 15_000 }).toBe(1);
    expect(twilio.requests.map((request) => [request.form.To, request.form.Body])).toEqual([[PHONE, EDITED_REPLY]]);
    expect(await page.inputValue('#reply-text')).toBe('');
  }, 60_000);

  it('keeps the bot quiet when the resident answers, and the page shows the answer without a reload', async () => {
    // A mark only this load of the page carries: a reload would lose it.
    await page.evaluate("window.loadMark = 'same-page'");
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations.push(frame.url());
    });
    const answered = page.locator('.transcript li.in div', { hasText: ANSWER });
    expect(await answered.count()).toBe(0);

    twilio.requests.length = 0;
    expect(await text(PHONE, ANSWER)).toEqual([]);
    await answered.waitFor({ timeout: 20_000 });
    // The reply went out: the live refresh takes it off "Not sent yet" too.
    await page.locator('[data-outbox]').waitFor({ state: 'detached', timeout: 20_000 });
    // The staff reply is in the transcript, under the staff member.
    const staffLine = page.locator('.transcript li.staff', { hasText: EDITED_REPLY });
    expect(await staffLine.locator('strong').innerText()).toBe('ada (staff)');
    expect(await page.evaluate('window.loadMark')).toBe('same-page');
    expect(navigations).toEqual([]);
    expect(twilio.requests).toEqual([]);
    await expectNumberHidden(PHONE);
    await shot('inbox-conversation.png');
    // On a phone's width nothing runs off the side of the page.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    await shot('inbox-conversation-narrow.png');
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 60_000);

  it('hands back to the bot: the resident is told by SMS and the bot answers again', async () => {
    twilio.requests.length = 0;
    await page.getByRole('button', { name: 'Hand back to the bot' }).click();
    await page.getByText('Handed back to the bot. The resident is being told.').waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin/handoffs');
    await expect.poll(() => twilio.requests.length, { timeout: 15_000 }).toBe(1);
    expect(smsTo(PHONE)).toEqual([expect.stringContaining('has handed you back to the bot')]);

    expect(await page.getByText('Nobody is waiting for a person.').isVisible()).toBe(true);
    const closed = page.locator('tr', { hasText: `sms:…${PHONE.slice(-4)}` });
    expect(await closed.locator('td').last().innerText()).toBe('ada');

    const menu = (await text(PHONE, 'hi')).join('\n');
    expect(menu).toContain('Report a problem');
    expect(twilio.requests).toHaveLength(1);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('a Spanish resident gets the reply, and is told of the hand-back in Spanish', async () => {
    // SMS text is folded into GSM-7 (á → a, í → i; gsm7.ts), so one accent does not halve a segment.
    expect((await text(PHONE_ES, 'quiero hablar con una persona')).join('\n')).toContain('pedi que una persona');

    await page.goto(`${app.url}/admin`);
    expect(await page.textContent('[data-field="waiting"]')).toBe('1');
    await page.getByRole('link', { name: 'inbox', exact: true }).click();
    await page.getByRole('link', { name: `sms:…${PHONE_ES.slice(-4)}` }).click();
    await page.getByRole('heading', { name: `Conversation with sms:…${PHONE_ES.slice(-4)}` }).waitFor();
    expect(await page.locator('dl.facts').innerText()).toContain('Español');
    // Only canned replies in the resident's language are offered: there is none in Spanish.
    expect(await page.locator('#canned').count()).toBe(0);
    await expectNumberHidden(PHONE_ES);

    twilio.requests.length = 0;
    await page.fill('#reply-text', 'Hola, soy Ada del Ayuntamiento. ¿En qué calle está?');
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.getByText('Reply sent to the resident on their channel.').waitFor();
    await expect.poll(() => twilio.requests.length, { timeout: 15_000 }).toBe(1);
    // Exactly the staff member's words, folded into GSM-7 as all SMS are (¿ and é are GSM-7, á is not).
    expect(smsTo(PHONE_ES)).toEqual(['Hola, soy Ada del Ayuntamiento. ¿En qué calle esta?']);
    expect(await text(PHONE_ES, 'En la calle Olmo')).toEqual([]);

    await page.getByRole('button', { name: 'Hand back to the bot' }).click();
    await page.getByText('Handed back to the bot. The resident is being told.').waitFor();
    await expect.poll(() => twilio.requests.length, { timeout: 15_000 }).toBe(2);
    expect(smsTo(PHONE_ES)[1]).toContain('te devolvio al bot');
    expect((await text(PHONE_ES, 'hola')).join('\n')).toContain('Reportar un problema');
    expect(twilio.requests.map((request) => request.form.To)).toEqual([PHONE_ES, PHONE_ES]);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
