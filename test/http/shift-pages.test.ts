/**
 * The shift pages (issue 20) as a coordinator's browser uses them, without JavaScript: a role's
 * shifts section (add with the date and times in CITY_TIMEZONE, a refused form kept, edit,
 * cancel), the check-in list for today and a shift's check-in page (Attended / No-show and hours
 * as plain form POSTs with the CSRF field and the sign-up's revision), and the message form.
 * What residents wrote (their names) is escaped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../support/http.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';
import { fromCityLocalInput } from '../../src/domain/city-time.js';
import { cityDay, signupKey } from '../../src/staff/shift-checkin.js';
import { createRole } from '../../src/staff/role-desk.js';
import { createShift } from '../../src/staff/shift-desk.js';

const PASSWORD = 'correct horse battery staple';
const TIME_ZONE = 'America/Chicago';
const SCRIPT = '<script>alert(1)</script>';
const STAFF = { username: 'cory', role: 'coordinator' as const };

let app: RunningApp;
let session: { cookie: string; csrfToken: string };

/** The login form flow, as a browser does it; returns the session cookie and its CSRF token. */
async function logIn(username: string): Promise<{ cookie: string; csrfToken: string }> {
  const page = await fetch(`${app.url}/admin/login`);
  const csrf = /name="_csrf"\s+value="([^"]+)"/.exec(await page.text())?.[1];
  const loginCookie = page.headers
    .getSetCookie()
    .map((line) => line.split(';')[0]!)
    .find((pair) => pair.startsWith('civicline_login_csrf='));
  if (!csrf || !loginCookie) throw new Error('login page without its CSRF field or cookie');
  const response = await fetch(`${app.url}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
    body: new URLSearchParams({ username, password: PASSWORD, _csrf: csrf }).toString(),
  });
  const cookie = response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0]!)
    .find((pair) => pair.startsWith('civicline_staff='));
  if (!cookie) throw new Error('no session cookie');
  const home = await (await fetch(`${app.url}/admin`, { headers: { cookie } })).text();
  const csrfToken = /name="_csrf" value="([^"]+)"/.exec(home)?.[1];
  if (!csrfToken) throw new Error('no CSRF token on the home page');
  return { cookie, csrfToken };
}

const get = async (path: string) => {
  const response = await fetch(`${app.url}${path}`, { redirect: 'manual', headers: { cookie: session.cookie } });
  return { status: response.status, body: await response.text() };
};
function postForm(path: string, form: Record<string, string>, csrf = true): Promise<Response> {
  const body = new URLSearchParams(form);
  if (csrf) body.append('_csrf', session.csrfToken);
  return fetch(`${app.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session.cookie },
    body: body.toString(),
  });
}

async function newRole(title: string): Promise<string> {
  const role = await createRole(
    app.service.staff,
    {
      title,
      description: 'Help out',
      interests: [],
      neighbourhood: 'Eastside',
      place: 'Community hall',
      startsAt: new Date('2026-12-05T15:00:00Z'),
      capacity: 10,
      contact: 'c@city.example',
    },
    STAFF,
  );
  return role._id;
}

beforeAll(async () => {
  app = await startTestApp({ QUIET_HOURS: 'off', CITY_TIMEZONE: TIME_ZONE });
  await createStaffUser(app.service.store, { username: 'cory', displayName: 'Cory Coordinator', role: 'coordinator', password: PASSWORD });
  session = await logIn('cory');
});
afterAll(() => app.close());

describe('shifts on the role page', () => {
  it('adds a shift with its date and times in the city, keeps a refused form, edits and cancels it', async () => {
    const roleId = await newRole('Riverbank clean-up');
    const empty = await get(`/admin/roles/${roleId}`);
    expect(empty.body).toContain('id="shifts"');
    expect(empty.body).toContain(`action="/admin/roles/${roleId}/shifts"`);

    const refused = await postForm(`/admin/roles/${roleId}/shifts`, { date: '2030-12-12', start: '12:00', end: '09:00', place: 'Boat ramp', capacity: '4' });
    expect(refused.status).toBe(400);
    const refusedBody = await refused.text();
    expect(refusedBody).toContain('end: must be after the start');
    expect(refusedBody).toContain('value="Boat ramp"');
    expect((await postForm(`/admin/roles/${roleId}/shifts`, { date: '2030-02-30', start: '09:00', end: '12:00', capacity: '4' })).status).toBe(400);
    expect((await postForm(`/admin/roles/${roleId}/shifts`, { date: '2030-12-12', start: '09:00', end: '12:00', capacity: '-1' })).status).toBe(400);
    expect((await postForm(`/admin/roles/${roleId}/shifts`, { date: '2030-12-12', start: '09:00', end: '12:00', capacity: '4' }, false)).status).toBe(403);

    const added = await postForm(`/admin/roles/${roleId}/shifts`, { date: '2030-12-12', start: '09:00', end: '12:00', place: 'Boat ramp', capacity: '4' });
    expect(added.status).toBe(303);
    expect(added.headers.get('location')).toBe(`/admin/roles/${roleId}?done=shift_added#shifts`);
    const [shift] = await app.service.store.shifts.find({ field: 'roleId', equals: roleId });
    expect(shift).toMatchObject({
      startsAt: fromCityLocalInput('2030-12-12T09:00', TIME_ZONE),
      endsAt: fromCityLocalInput('2030-12-12T12:00', TIME_ZONE),
      place: 'Boat ramp',
      capacity: 4,
      status: 'open',
    });
    // 9:00 in Chicago in December is 15:00 UTC.
    expect(shift!.startsAt.toISOString()).toBe('2030-12-12T15:00:00.000Z');
    const page = (await get(`/admin/roles/${roleId}?done=shift_added`)).body;
    expect(page).toContain('Shift added.');
    expect(page).toContain('0 confirmed of 4; 0 waitlisted');
    expect(page).toContain(`href="/admin/checkin/${shift!._id}"`);

    const badEdit = await postForm(`/admin/shifts/${shift!._id}`, { date: '2030-12-12', start: '10:00', end: '10:00', place: '', capacity: '6' });
    expect(badEdit.status).toBe(400);
    expect(await badEdit.text()).toMatch(/<details\s+open/);
    const edited = await postForm(`/admin/shifts/${shift!._id}`, { date: '2030-12-12', start: '10:00', end: '13:00', place: '', capacity: '6' });
    expect(edited.headers.get('location')).toBe(`/admin/roles/${roleId}?done=shift_saved#shifts`);
    const stored = await app.service.store.shifts.get(shift!._id);
    expect(stored).toMatchObject({ capacity: 6, startsAt: new Date('2030-12-12T16:00:00Z') });
    expect(stored?.place).toBeUndefined();

    const cancelled = await postForm(`/admin/shifts/${shift!._id}/cancel`, {});
    expect(cancelled.headers.get('location')).toBe(`/admin/roles/${roleId}?done=shift_cancelled#shifts`);
    expect((await app.service.store.shifts.get(shift!._id))?.status).toBe('cancelled');
    expect((await postForm(`/admin/shifts/${shift!._id}`, { date: '2030-12-12', start: '10:00', end: '13:00', capacity: '6' })).status).toBe(409);
    expect((await get('/admin/shifts/nothing-here/cancel')).status).toBe(404);
  });

  it('offers no Cancel for a shift that has started, and refuses one (409): it took place', async () => {
    const roleId = await newRole('Pantry sorting');
    const startsAt = new Date(Date.now() - 3_600_000);
    const shift = await createShift(app.service.staff, roleId, { startsAt, endsAt: new Date(startsAt.getTime() + 3 * 3_600_000), capacity: 4 }, STAFF);
    const page = (await get(`/admin/roles/${roleId}`)).body;
    expect(page).toContain(`href="/admin/checkin/${shift._id}"`);
    expect(page).not.toContain(`action="/admin/shifts/${shift._id}/cancel"`);
    expect((await postForm(`/admin/shifts/${shift._id}/cancel`, {})).status).toBe(409);
    expect((await app.service.store.shifts.get(shift._id))?.status).toBe('open');
  });
});

describe('check-in pages', () => {
  it("lists today's shifts, marks attendance and hours by plain forms, and refuses a stale page", async () => {
    const roleId = await newRole(`Reading buddies ${SCRIPT}`);
    const { from } = cityDay(new Date(), TIME_ZONE);
    const shift = await createShift(
      app.service.staff,
      roleId,
      { startsAt: new Date(from.getTime() + 60_000), endsAt: new Date(from.getTime() + 3_600_000), capacity: 3 },
      STAFF,
    );
    const at = new Date();
    const address = 'sms:+15550001234';
    const id = `${shift._id}|${address}`;
    await app.service.store.residents.insert({
      _id: address,
      address,
      channel: 'sms',
      locale: 'en',
      optedOut: false,
      volunteerCalls: false,
      interests: [],
      createdAt: at,
      lastSeenAt: at,
    });
    await app.service.store.signups.insert({
      _id: id,
      roleId,
      shiftId: shift._id,
      address,
      name: SCRIPT,
      channel: 'sms',
      status: 'confirmed',
      attendanceConfirmedAt: at,
      hoursReported: 2,
      createdAt: at,
      updatedAt: at,
    });

    const today = await get('/admin/checkin');
    expect(today.status).toBe(200);
    expect(today.body).toContain(`href="/admin/checkin/${shift._id}"`);
    expect(today.body).toContain('0 of 1 checked in');
    expect(today.body).not.toContain(SCRIPT);

    const page = await get(`/admin/checkin/${shift._id}`);
    expect(page.status).toBe(200);
    expect(page.body).not.toContain(SCRIPT);
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.body).toContain('sms:…1234');
    expect(page.body).not.toContain('+15550001234');
    expect(page.body).toContain('confirmed by reminder');
    const key = signupKey(id);
    expect(page.body).toContain(`value="${key}"`);

    const marked = await postForm(`/admin/checkin/${shift._id}/attendance`, { key, rev: '1', attendance: 'attended' });
    expect(marked.status).toBe(303);
    expect(marked.headers.get('location')).toBe(`/admin/checkin/${shift._id}?done=attended#v-${key}`);
    expect(await app.service.store.signups.get(id)).toMatchObject({ attendance: 'attended', attendanceBy: 'staff' });
    // A page loaded before that mark: refused, with a page that says so.
    const stale = await postForm(`/admin/checkin/${shift._id}/attendance`, { key, rev: '1', attendance: 'no_show' });
    expect(stale.status).toBe(409);
    expect(await stale.text()).toContain('changed since the page was loaded');
    expect((await app.service.store.signups.get(id))?.attendance).toBe('attended');
    expect((await postForm(`/admin/checkin/${shift._id}/attendance`, { key, rev: '2', attendance: 'no_show' }, false)).status).toBe(403);

    const approved = await postForm(`/admin/checkin/${shift._id}/hours`, { key, rev: '2', hours: '', approve: 'reported' });
    expect(approved.status).toBe(303);
    expect((await app.service.store.signups.get(id))?.hoursApproved).toBe(2);
    expect((await postForm(`/admin/checkin/${shift._id}/hours`, { key, rev: '3', hours: 'lots' })).status).toBe(400);
    expect((await postForm(`/admin/checkin/${shift._id}/hours`, { key, rev: '3', hours: '1.75' })).status).toBe(303);
    expect((await app.service.store.signups.get(id))?.hoursApproved).toBe(1.75);
    expect((await postForm(`/admin/checkin/${shift._id}/approve-reported`, {})).headers.get('location')).toBe(`/admin/checkin/${shift._id}?done=all_hours`);
    expect((await get(`/admin/checkin/${shift._id}?done=all_hours`)).body).toContain('Reported hours approved.');

    const refused = await postForm(`/admin/checkin/${shift._id}/message`, { message_en: '', message_es: 'Hola' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('messages.en: required');
    const messaged = await postForm(`/admin/checkin/${shift._id}/message`, { message_en: 'We meet at the north door.' });
    expect(messaged.status).toBe(303);
    const location = messaged.headers.get('location') ?? '';
    expect(location).toMatch(/^\/admin\/broadcasts\/B-[0-9A-Z]{5}\?done=created$/);
    const broadcast = await app.service.store.broadcasts.get(/B-[0-9A-Z]{5}/.exec(location)![0]);
    expect(broadcast).toMatchObject({ audience: { shiftId: shift._id }, planned: 1 });
    expect((await get(location)).body).toContain(`the confirmed volunteers of shift ${shift._id}`);
    // A double tap sends it once: the second is shown on the shift's page with why.
    const twice = await postForm(`/admin/checkin/${shift._id}/message`, { message_en: 'We meet at the north door.' });
    expect(twice.status).toBe(409);
    const shown = await twice.text();
    expect(shown).toContain('going out already');
    expect(shown).toContain('We meet at the north door.');
  });
});
