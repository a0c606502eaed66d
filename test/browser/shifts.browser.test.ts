/**
 * Shifts and check-in (issue 20) in real headless Chromium: a coordinator adds a shift on a
 * role's page through the form (date and times in CITY_TIMEZONE) and edits it in place; then, on
 * a phone-sized screen (390 px), opens today's check-in list, marks one volunteer attended and
 * another a no-show with the big buttons, and approves reported hours, with nothing wider than
 * the screen. Screenshots go to test-output/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type RunningApp } from '../support/http.js';
import { hasChromium, launchBrowser, TEST_OUTPUT, watchedPage } from '../support/browser.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';
import { createRole } from '../../src/staff/role-desk.js';
import { createShift } from '../../src/staff/shift-desk.js';
import { cityDay } from '../../src/staff/shift-checkin.js';
import { toCityLocalInput } from '../../src/domain/city-time.js';

const PASSWORD = 'correct horse battery staple';
const TIME_ZONE = 'America/Chicago';
const STAFF = { username: 'cory', role: 'coordinator' as const };

let app: RunningApp;
let browser: Browser;
let page: Page;
let roleId: string;
let todayShift: string;
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(TEST_OUTPUT, name), fullPage: true });
}

/** Whether the page scrolls sideways (something is wider than the screen). */
function scrollsSideways(): Promise<boolean> {
  return page.evaluate<boolean>('document.documentElement.scrollWidth > document.documentElement.clientWidth');
}

describe.skipIf(!hasChromium)('shifts and check-in in a browser', () => {
  beforeAll(async () => {
    app = await startTestApp({ QUIET_HOURS: 'off', SEED_DEMO_DATA: 'false', CITY_TIMEZONE: TIME_ZONE });
    const { store } = app.service;
    await createStaffUser(store, { username: 'cory', displayName: 'Cory Coordinator', role: 'coordinator', password: PASSWORD });
    const role = await createRole(
      app.service.staff,
      {
        title: 'Eastside library reading buddies',
        description: 'Read with children after school.',
        interests: ['reading'],
        neighbourhood: 'Eastside',
        place: 'Eastside library',
        startsAt: new Date('2026-12-05T15:00:00Z'),
        capacity: 10,
        contact: 'library@springfield.example',
      },
      STAFF,
    );
    roleId = role._id;
    const { from } = cityDay(new Date(), TIME_ZONE);
    const shift = await createShift(
      app.service.staff,
      roleId,
      { startsAt: new Date(from.getTime() + 15 * 3_600_000), endsAt: new Date(from.getTime() + 17 * 3_600_000), capacity: 4, place: 'Story room, 2nd floor' },
      STAFF,
    );
    todayShift = shift._id;
    const at = new Date();
    const people = [
      { name: 'Ana Maria Rodriguez-Villanueva', phone: '+12175550101', confirmed: true, hours: 2 },
      { name: 'Ben', phone: '+12175550102', confirmed: false, hours: undefined },
      { name: 'Chen Wei', phone: '+12175550103', confirmed: true, hours: 1.5 },
    ];
    for (const person of people) {
      const address = `sms:${person.phone}`;
      await store.signups.insert({
        _id: `${shift._id}|${address}`,
        roleId,
        shiftId: shift._id,
        address,
        name: person.name,
        channel: 'sms',
        status: 'confirmed',
        ...(person.confirmed ? { attendanceConfirmedAt: at } : {}),
        ...(person.hours !== undefined ? { hoursReported: person.hours } : {}),
        createdAt: at,
        updatedAt: at,
      });
    }
    browser = await launchBrowser();
    page = await watchedPage(browser, pageErrors);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('adds and edits a shift on the role page', async () => {
    await page.goto(`${app.url}/admin/roles/${roleId}`);
    await page.fill('#username', 'cory');
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Shifts' }).waitFor();

    const day = toCityLocalInput(new Date(Date.now() + 7 * 86_400_000), TIME_ZONE).slice(0, 10);
    await page.fill('#new-date', day);
    await page.fill('#new-start', '09:30');
    await page.fill('#new-end', '11:30');
    await page.fill('#new-place', 'Reading corner');
    await page.fill('#new-capacity', '6');
    await page.getByRole('button', { name: 'Add shift' }).click();
    await page.getByText('Shift added.').waitFor();
    const added = page.locator('li.shift', { hasText: 'Reading corner' });
    expect(await added.textContent()).toContain('0 confirmed of 6; 0 waitlisted');
    expect(await added.textContent()).toContain('9:30 AM');

    await added.getByText('Edit shift').click();
    await added.locator('input[name=capacity]').fill('8');
    await added.getByRole('button', { name: 'Save shift' }).click();
    await page.getByText('Shift saved.').waitFor();
    expect(await page.locator('li.shift', { hasText: 'Reading corner' }).textContent()).toContain('0 confirmed of 8');
    expect(await page.locator('li.shift', { hasText: 'Story room' }).textContent()).toContain('3 confirmed of 4');
    await shot('shifts-role-page.png');
  }, 60_000);

  it('checks volunteers in on a phone-sized screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${app.url}/admin/checkin`);
    await page.getByRole('heading', { name: 'Check-in: today' }).waitFor();
    expect(await scrollsSideways()).toBe(false);
    await shot('checkin-today-390.png');

    await page.getByRole('link', { name: /Eastside library reading buddies/ }).click();
    await page.waitForURL(new RegExp(`/admin/checkin/${todayShift}$`));
    expect(await scrollsSideways()).toBe(false);
    const ana = page.locator('li.volunteer', { hasText: 'Ana Maria' });
    expect(await ana.textContent()).toContain('confirmed by reminder');
    expect(await ana.textContent()).toContain('sms:…0101');
    // Big tap targets: at least 44 px high (Apple's and WCAG's minimum).
    const box = await ana.getByRole('button', { name: 'Attended' }).boundingBox();
    expect(box!.height).toBeGreaterThanOrEqual(44);

    await ana.getByRole('button', { name: 'Attended' }).click();
    await page.getByText('Marked attended.').waitFor();
    const ben = page.locator('li.volunteer', { hasText: 'Ben' });
    await ben.getByRole('button', { name: 'No-show' }).click();
    await page.getByText('Marked no-show.').waitFor();
    expect(await page.locator('li.volunteer', { hasText: 'Ana Maria' }).getByRole('button', { name: 'Attended' }).getAttribute('aria-pressed')).toBe('true');

    await page.getByRole('button', { name: 'Approve all reported hours (2)' }).click();
    await page.getByText('Reported hours approved.').waitFor();
    expect(await scrollsSideways()).toBe(false);
    await shot('checkin-shift-390.png');

    const signups = await app.service.store.signups.find({ field: 'shiftId', equals: todayShift });
    const byName = new Map(signups.map((s) => [s.name, s]));
    expect(byName.get('Ana Maria Rodriguez-Villanueva')).toMatchObject({ attendance: 'attended', attendanceBy: 'staff', hoursApproved: 2 });
    expect(byName.get('Ben')).toMatchObject({ attendance: 'no_show', attendanceBy: 'staff' });
    expect(byName.get('Chen Wei')).toMatchObject({ hoursApproved: 1.5 });
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
