/**
 * The staff dashboard's pages over real HTTP: every page escapes what residents wrote (a
 * resident whose report, location, name, idea and messages are script injections), carries the
 * CSP, needs a session (or the token), keeps the audit log for admins, and takes forms only with
 * the session's CSRF token. Also the form round trips (a status change, a refused role form, a
 * hand-off closed) and the city-time conversion of `datetime-local` values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../support/http.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';
import { recordAudit } from '../../src/staff/audit-log.js';
import { createBroadcast } from '../../src/staff/broadcasts.js';
import { STAFF_PAGE_CSP } from '../../src/http/admin/html.js';
import { fromCityLocalInput, toCityLocalInput } from '../../src/domain/city-time.js';
import { mediaDisplay } from '../../src/http/admin/pages/reports.page.js';
import { handoffId } from '../../src/staff/handoff-desk.js';

const TOKEN = 'dashboard-pages-test-admin-token';
const PASSWORD = 'correct horse battery staple';
const SCRIPT = '<script>alert(1)</script>';
const IMG = '"><img src=x onerror=alert(1)>';
const ESCAPED_SCRIPT = '&lt;script&gt;alert(1)&lt;/script&gt;';
const ESCAPED_IMG = '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;';
const RESIDENT = 'sms:+15550009876';
const REPORT = 'R-XSS22';
const IDEA = 'I-XSS22';
const ROLE = 'V-XSS22';

let app: RunningApp;
let broadcastId: string;
let admin: Session;
let coordinator: Session;

interface Session {
  cookie: string;
  csrfToken: string;
}

/** The login form flow, as a browser does it; returns the session cookie and its CSRF token. */
async function logIn(username: string): Promise<Session> {
  const page = await fetch(`${app.url}/admin/login`);
  const body = await page.text();
  const csrf = /name="_csrf"\s+value="([^"]+)"/.exec(body)?.[1];
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
  expect(response.status).toBe(303);
  const cookie = response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0]!)
    .find((pair) => pair.startsWith('civicline_staff='));
  if (!cookie) throw new Error('no session cookie');
  // The CSRF token is in every page's forms (the log-out form at least).
  const home = await (await fetch(`${app.url}/admin`, { headers: { cookie } })).text();
  const csrfToken = /name="_csrf" value="([^"]+)"/.exec(home)?.[1];
  if (!csrfToken) throw new Error('no CSRF token on the home page');
  return { cookie, csrfToken };
}

function get(path: string, session: Session | null = admin): Promise<Response> {
  return fetch(`${app.url}${path}`, { redirect: 'manual', headers: session ? { cookie: session.cookie } : {} });
}

function postForm(path: string, form: Record<string, string | string[]>, session: Session | null = admin, csrf = true): Promise<Response> {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) for (const v of [value].flat()) body.append(key, v);
  if (session && csrf) body.append('_csrf', session.csrfToken);
  return fetch(`${app.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(session ? { cookie: session.cookie } : {}) },
    body: body.toString(),
  });
}

/** No resident-written markup survives unescaped; the only scripts are our own files. */
function expectNoInjection(body: string): void {
  expect(body).not.toContain('<script>alert');
  expect(body).not.toContain('<img src=x');
  expect(body).not.toMatch(/<img[^>]+src="(?!\/v3\/directline\/media\/|\/admin\/api\/reports\/[A-Z]-[A-Z0-9]{5}\/photos\/\d+")/);
  expect(body).not.toMatch(/href="(?!\/|https:\/\/|#)/);
  for (const tag of body.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/^<script src="\/admin\/assets\/[a-z-]+\.js" defer>$/);
}

beforeAll(async () => {
  app = await startTestApp({ ADMIN_TOKEN: TOKEN, QUIET_HOURS: 'off', CITY_NAME: 'Springfield <b>&' });
  const { store } = app.service;
  await createStaffUser(store, { username: 'ada', displayName: 'Ada Admin', role: 'admin', password: PASSWORD });
  await createStaffUser(store, { username: 'cory', displayName: 'Cory Coordinator', role: 'coordinator', password: PASSWORD });

  const now = new Date();
  const earlier = new Date(now.getTime() - 10 * 60_000);
  await store.residents.insert({
    _id: RESIDENT,
    address: RESIDENT,
    channel: 'sms',
    locale: 'en',
    optedOut: false,
    volunteerCalls: true,
    interests: [SCRIPT],
    neighbourhood: IMG,
    name: SCRIPT,
    createdAt: earlier,
    lastSeenAt: earlier,
  });
  await store.reports.insert({
    _id: REPORT,
    category: 'pothole',
    status: 'open',
    statusGroup: 'open',
    location: { text: `Main St ${IMG}`, point: { lat: 39.7817, lon: -89.6501, label: SCRIPT } },
    description: `A deep hole ${SCRIPT}`,
    photos: [
      { url: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1', contentType: 'image/jpeg' },
      { url: `${app.url}/v3/directline/media/AbCdEfGhIjKlMnOpQrStUv`, contentType: 'image/png' },
      { url: 'javascript:alert(1)', contentType: 'image/png' },
      { url: `https://evil.example/x.png${IMG}`, contentType: 'image/png' },
      { url: 'telegram-file:AgADBAAD', contentType: 'image/jpeg' },
    ],
    residentAddress: RESIDENT,
    channel: 'sms',
    locale: 'en',
    createdAt: earlier,
    updatedAt: earlier,
  });
  await store.reportUpdates.insert({ _id: `${REPORT}|0`, reportId: REPORT, status: 'open', by: 'system', at: earlier });
  await store.reportUpdates.insert({ _id: `${REPORT}|1`, reportId: REPORT, note: `still broken ${SCRIPT}`, by: 'resident', at: earlier });
  for (const [seq, direction, text] of [
    [0, 'in', `pothole ${SCRIPT}`],
    [1, 'out', 'Where is it?'],
    [2, 'in', IMG],
  ] as const) {
    await store.transcripts.insert({
      _id: `${RESIDENT}|${seq}`,
      conversationId: RESIDENT,
      seq,
      direction,
      channel: 'sms',
      text,
      at: new Date(earlier.getTime() - (3 - seq) * 1000),
    });
  }
  await store.ideas.insert({
    _id: IDEA,
    title: `Benches ${SCRIPT}`,
    details: `Details ${IMG}`,
    neighbourhood: IMG,
    authorAddress: RESIDENT,
    channel: 'sms',
    status: 'new',
    kind: 'idea',
    createdAt: earlier,
  });
  await store.roles.insert({
    _id: ROLE,
    title: 'Park clean-up',
    description: 'Pick up litter in the park.',
    interests: ['parks'],
    neighbourhood: 'Eastside',
    place: 'Eastside Park gate',
    startsAt: new Date(now.getTime() + 7 * 86_400_000),
    capacity: 10,
    contact: 'parks@springfield.example',
    status: 'open',
    demo: false,
    createdAt: earlier,
    updatedAt: earlier,
  });
  await store.signups.insert({
    _id: `${ROLE}|${RESIDENT}`,
    roleId: ROLE,
    address: RESIDENT,
    name: SCRIPT,
    channel: 'sms',
    status: 'confirmed',
    createdAt: earlier,
    updatedAt: earlier,
  });
  await store.handoffs.insert({ _id: `sms:msg-1|${RESIDENT}|handoff`, address: RESIDENT, channel: 'sms', reason: 'asked', status: 'open', at: earlier });
  await recordAudit(store, { actor: 'ada', action: 'test.note', target: SCRIPT, details: { note: IMG } });
  const { broadcast } = await createBroadcast(
    app.service,
    { messages: { en: `Help in the park ${SCRIPT}` }, audience: { interests: [SCRIPT], neighbourhoods: [IMG] }, roleId: ROLE },
    { username: 'ada', role: 'admin' },
  );
  broadcastId = broadcast._id;

  admin = await logIn('ada');
  coordinator = await logIn('cory');
});
afterAll(() => app?.close());

describe('every staff page', () => {
  const pages = () => [
    { path: '/admin', shows: ['Springfield &lt;b&gt;&amp;'] },
    { path: '/admin/reports', shows: [ESCAPED_IMG] },
    { path: `/admin/reports/${REPORT}`, shows: [ESCAPED_SCRIPT, ESCAPED_IMG] },
    { path: '/admin/ideas', shows: [ESCAPED_SCRIPT, ESCAPED_IMG] },
    { path: '/admin/roles', shows: [] },
    { path: `/admin/roles/${ROLE}`, shows: [ESCAPED_SCRIPT] },
    { path: '/admin/broadcasts', shows: [ESCAPED_SCRIPT] },
    { path: `/admin/broadcasts/${broadcastId}`, shows: [ESCAPED_SCRIPT, ESCAPED_IMG] },
    { path: '/admin/broadcasts/new', shows: [] },
    { path: '/admin/handoffs', shows: ['sms:…9876'] },
    { path: '/admin/audit', shows: [ESCAPED_SCRIPT, '&quot;\\&quot;&gt;&lt;img src=x'] },
  ];

  it('escapes what residents wrote and is served with the CSP and no caching', async () => {
    for (const page of pages()) {
      const response = await get(page.path);
      const body = await response.text();
      expect(response.status, page.path).toBe(200);
      expect(response.headers.get('content-security-policy'), page.path).toBe(STAFF_PAGE_CSP);
      expect(response.headers.get('cache-control'), page.path).toBe('no-store');
      expect(response.headers.get('x-frame-options'), page.path).toBe('DENY');
      expect(response.headers.get('content-type'), page.path).toBe('text/html; charset=utf-8');
      for (const text of page.shows) expect(body, page.path).toContain(text);
      expectNoInjection(body);
      // The layout: navigation, who is signed in, and a log-out form with the CSRF token.
      expect(body).toContain('Signed in as <strong>ada</strong> (admin)');
      expect(body).toMatch(new RegExp(`<form method="post" action="/admin/logout">\\s*<input type="hidden" name="_csrf" value="${admin.csrfToken}" />`));
    }
  });

  it('sends the browser to log in without a session, and keeps the page to come back to', async () => {
    for (const page of pages()) {
      const response = await get(page.path, null);
      expect(response.status, page.path).toBe(303);
      expect(response.headers.get('location'), page.path).toMatch(/^\/admin\/login(\?next=)?/);
    }
    expect((await get(`/admin/reports/${REPORT}`, null)).headers.get('location')).toBe(`/admin/login?next=${encodeURIComponent(`/admin/reports/${REPORT}`)}`);
    expect((await postForm(`/admin/reports/${REPORT}/status`, { status: 'fixed' }, null)).headers.get('location')).toBe('/admin/login');
  });

  it('are open to the ADMIN_TOKEN bearer too (scripts, monitoring)', async () => {
    const response = await fetch(`${app.url}/admin/reports/${REPORT}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = await response.text();
    expect(response.status).toBe(200);
    expect(body).toContain('via ADMIN_TOKEN');
    expect(body).not.toContain('name="_csrf"');
  });
});

describe('the audit log page', () => {
  it('is for admins: a coordinator gets a 403 page and no link to it', async () => {
    const refused = await get('/admin/audit', coordinator);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-security-policy')).toBe(STAFF_PAGE_CSP);
    expect(await refused.text()).toContain('Only an admin may read the audit log.');
    const home = await (await get('/admin', coordinator)).text();
    expect(home).not.toContain('href="/admin/audit"');
    expect((await (await get('/admin', admin)).text()).includes('href="/admin/audit"')).toBe(true);
  });

  it('filters by staff member', async () => {
    const body = await (await get('/admin/audit?actor=cory')).text();
    expect(body).toContain('staff.login');
    expect(body).not.toContain('test.note');
  });
});

describe('forms', () => {
  it('are refused with 403 without the session CSRF token', async () => {
    const noToken = await postForm(`/admin/reports/${REPORT}/status`, { status: 'fixed', notify: 'on' }, admin, false);
    expect(noToken.status).toBe(403);
    // A page, not JSON: a stale form in a browser gets something a person can read.
    expect(noToken.headers.get('content-type')).toContain('text/html');
    expect(await noToken.text()).toContain('CSRF token missing or wrong');
    const otherSession = await postForm(`/admin/reports/${REPORT}/status`, { status: 'fixed', _csrf: coordinator.csrfToken }, admin, false);
    expect(otherSession.status).toBe(403);
    expect((await app.service.store.reports.get(REPORT))?.status).toBe('open');
  });

  it('change a report status and come back with a fixed flash message', async () => {
    const response = await postForm(`/admin/reports/${REPORT}/status`, { status: 'in_progress', note: `Crew sent ${SCRIPT}` }, coordinator);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`/admin/reports/${REPORT}?done=saved`);
    const page = await (await get(response.headers.get('location')!, coordinator)).text();
    expect(page).toContain('The resident was not told, as you asked.');
    expect(page).toContain(`Crew sent ${ESCAPED_SCRIPT}`);
    expectNoInjection(page);
    expect((await app.service.store.reports.get(REPORT))?.status).toBe('in_progress');
    // An unknown code shows nothing; the query string is never echoed.
    const odd = await (await get(`/admin/reports/${REPORT}?done=${encodeURIComponent(SCRIPT)}`)).text();
    expect(odd).not.toContain('class="flash');
    expect(odd).not.toContain('alert(1)</script>');
  });

  it('show what is wrong with a 400, the form kept as typed (escaped)', async () => {
    const bad = await postForm(`/admin/reports/${REPORT}/status`, { status: 'teleported', note: SCRIPT });
    expect(bad.status).toBe(400);
    const badBody = await bad.text();
    expect(badBody).toContain('Unknown status teleported');
    expect(badBody).toContain(`<textarea id="note" name="note" maxlength="1000">${ESCAPED_SCRIPT}</textarea>`);
    expectNoInjection(badBody);

    const role = await postForm('/admin/roles', { title: IMG, description: '', neighbourhood: 'Eastside', place: 'Hall', capacity: '0', contact: 'x' });
    expect(role.status).toBe(400);
    const roleBody = await role.text();
    expect(roleBody).toContain(`value="${ESCAPED_IMG}"`);
    expect(roleBody).toContain('description:');
    expect(roleBody).toContain('capacity:');
    expect(roleBody).toContain('give a date and time, or a schedule in words');
    expectNoInjection(roleBody);

    const filter = await get('/admin/reports?channel=fax&maxAgeDays=abc');
    expect(filter.status).toBe(400);
    expect(await filter.text()).toContain('channel:');

    expect((await get('/admin/reports/R-22222')).status).toBe(404);
    expect((await get('/admin/reports/not-a-ref')).status).toBe(404);
    expect((await get('/admin/broadcasts/B-22222')).status).toBe(404);
  });

  it('create a role in the city time zone, edit, close and reopen it', async () => {
    const created = await postForm('/admin/roles', {
      title: 'Tree watering',
      description: 'Water the new street trees.',
      interests: 'Trees, parks ,',
      neighbourhood: 'Old Town',
      place: 'Town square',
      startsAt: '2026-07-04T09:30',
      endsAt: '2026-07-04T12:00',
      schedule: '',
      capacity: '12',
      contact: 'trees@springfield.example',
    });
    expect(created.status).toBe(303);
    const location = created.headers.get('location')!;
    const ref = /\/admin\/roles\/(V-[A-Z0-9]{5})\?done=created$/.exec(location)?.[1];
    expect(ref).toBeDefined();
    const role = await app.service.store.roles.get(ref!);
    // America/New_York (the default) in July is UTC-4.
    expect(role).toMatchObject({
      interests: ['trees', 'parks'],
      capacity: 12,
      startsAt: new Date('2026-07-04T13:30:00Z'),
      endsAt: new Date('2026-07-04T16:00:00Z'),
    });
    const detail = await (await get(location)).text();
    expect(detail).toContain('Role published.');
    expect(detail).toContain('value="2026-07-04T09:30"');
    expect(detail).toContain(`href="/admin/api/roles/${ref}/signups.csv"`);
    // A call for the role starts from its page, with the role chosen.
    expect(await (await get(`/admin/broadcasts/new?role=${ref}`)).text()).toContain(`<option value="${ref}" selected>`);

    const edited = await postForm(`/admin/roles/${ref}`, {
      title: 'Tree watering',
      description: 'Water the new street trees.',
      interests: 'trees',
      neighbourhood: 'Old Town',
      place: 'Town hall steps',
      startsAt: '2026-07-04T09:30',
      schedule: 'Saturdays 9-12',
      capacity: '15',
      contact: 'trees@springfield.example',
    });
    expect(edited.status).toBe(303);
    expect(await app.service.store.roles.get(ref!)).toMatchObject({ place: 'Town hall steps', capacity: 15, schedule: 'Saturdays 9-12' });
    expect((await postForm(`/admin/roles/${ref}/close`, {})).headers.get('location')).toBe(`/admin/roles/${ref}?done=closed`);
    expect((await app.service.store.roles.get(ref!))?.status).toBe('closed');
    expect((await postForm(`/admin/roles/${ref}/reopen`, {}, coordinator)).status).toBe(303);
    expect((await app.service.store.roles.get(ref!))?.status).toBe('open');
    expect(await (await get('/admin/roles')).text()).toContain(`href="/admin/roles/${ref}"`);
  });

  it('answer an idea', async () => {
    const response = await postForm(`/admin/ideas/${IDEA}/response`, { status: 'under_review', note: 'Looking at it' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(new RegExp(`^/admin/ideas\\?done=answered&notice=B-[A-Z0-9]{5}&queued=1#${IDEA}$`));
    expect((await app.service.store.ideas.get(IDEA))?.status).toBe('under_review');
    const page = await (await get(response.headers.get('location')!)).text();
    expect(page).toContain('Answer saved. Its author and supporters are told by broadcast B-');
    expect((await postForm(`/admin/ideas/${IDEA}/response`, { status: 'new' })).status).toBe(400);
  });

  it('preview a broadcast audience, then refuse one without the default message', async () => {
    const preview = await postForm('/admin/broadcasts/preview', { message_en: 'Hi', channels: ['sms', 'telegram'], interests: SCRIPT, when: 'now' });
    expect(preview.status).toBe(200);
    const body = await preview.text();
    expect(body).toMatch(/data-preview="total">1</);
    expect(body).toMatch(/data-preview="sendable">1</);
    expect(body).toContain('value="sms" checked');
    expect(body).toContain(`value="${ESCAPED_SCRIPT}"`);
    expectNoInjection(body);

    const refused = await postForm('/admin/broadcasts', { message_es: 'Hola', when: 'now' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('the en message is required');
    const later = await postForm('/admin/broadcasts', { message_en: 'Hi', when: 'later', sendAt: 'tomorrow' });
    expect(later.status).toBe(400);
  });

  it('refuses a second Send of the same broadcast while the first is going out, and sends it again once that one is cancelled', async () => {
    const at = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 16);
    const fields = { message_en: 'Cleanup on Saturday', when: 'later', sendAt: at(30) };
    const first = await postForm('/admin/broadcasts', fields);
    expect(first.status).toBe(303);
    const again = await postForm('/admin/broadcasts', fields);
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('is going out already');
    // Another time is another broadcast (a reminder the evening before, say).
    const evening = await postForm('/admin/broadcasts', { ...fields, sendAt: at(29) });
    expect(evening.status).toBe(303);
    for (const response of [first, evening]) {
      const path = response.headers.get('location')!.split('?')[0]!;
      expect((await postForm(`${path}/cancel`, {}, coordinator)).status).toBe(303);
    }
    // The first cancelled, the same words for the same time can go out again.
    const resent = await postForm('/admin/broadcasts', fields);
    expect(resent.status).toBe(303);
    expect((await postForm(`${resent.headers.get('location')!.split('?')[0]!}/cancel`, {}, coordinator)).status).toBe(303);
  });

  it('pause, resume and cancel a broadcast', async () => {
    const { broadcast } = await createBroadcast(
      app.service,
      { messages: { en: 'Later' }, audience: {}, sendAt: new Date(Date.now() + 86_400_000) },
      { username: 'ada', role: 'admin' },
    );
    const path = `/admin/broadcasts/${broadcast._id}`;
    expect((await postForm(`${path}/pause`, {})).headers.get('location')).toBe(`${path}?done=paused`);
    expect((await app.service.store.broadcasts.get(broadcast._id))?.status).toBe('paused');
    expect((await postForm(`${path}/pause`, {})).status).toBe(409);
    expect((await postForm(`${path}/resume`, {})).status).toBe(303);
    expect((await postForm(`${path}/cancel`, {}, coordinator)).status).toBe(303);
    const page = await (await get(`${path}?done=cancelled`)).text();
    expect(page).toContain('data-field="status">cancelled<');
    expect(page).toContain('Broadcast cancelled');
  });

  it('close a hand-off request', async () => {
    const [open] = await app.service.store.handoffs.find({ field: 'status', equals: 'open' });
    const response = await postForm(`/admin/handoffs/${handoffId(open!)}/close`, {}, coordinator);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/admin/handoffs?done=closed');
    expect(await (await get('/admin/handoffs?done=closed')).text()).toContain('Nobody is waiting for a person.');
    expect((await postForm(`/admin/handoffs/${handoffId(open!)}/close`, {})).status).toBe(404);
  });
});

describe('the report page', () => {
  it('shows our own photos inline, Twilio and Telegram photos through the photo endpoint, other https as links, nothing else as a link', async () => {
    const body = await (await get(`/admin/reports/${REPORT}`)).text();
    expect(body).toContain('<img class="photo" src="/v3/directline/media/AbCdEfGhIjKlMnOpQrStUv"');
    expect(body).toContain(`<img class="photo" src="/admin/api/reports/${REPORT}/photos/1"`);
    expect(body).toContain(`<img class="photo" src="/admin/api/reports/${REPORT}/photos/5"`);
    expect(body).not.toContain('href="https://api.twilio.com');
    expect(body).not.toContain('javascript:');
    expect(body).toContain('href="https://www.openstreetmap.org/?mlat=39.781700&amp;mlon=-89.650100#map=18/39.781700/-89.650100"');
    expect(mediaDisplay('https://elsewhere.example/v3/directline/media/AbCdEfGhIjKlMnOp', ['http://127.0.0.1:1'])).toEqual({
      kind: 'link',
      href: 'https://elsewhere.example/v3/directline/media/AbCdEfGhIjKlMnOp',
    });
    expect(mediaDisplay('http://127.0.0.1:1/v3/directline/media/AbCdEfGhIjKlMnOp', ['http://127.0.0.1:1'])).toEqual({
      kind: 'own',
      path: '/v3/directline/media/AbCdEfGhIjKlMnOp',
    });
    expect(mediaDisplay('http://plain.example/x.png', [])).toEqual({ kind: 'none' });
  });

  it('serves the progress script as a same-origin file', async () => {
    const script = await get('/admin/assets/broadcast-progress.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(await script.text()).toContain("credentials: 'same-origin'");
    expect((await get('/admin/assets/other.js')).status).toBe(404);
  });
});

describe('city time', () => {
  it('reads datetime-local values in the city time zone, across daylight saving changes', () => {
    const zone = 'America/New_York';
    expect(fromCityLocalInput('2026-01-15T09:00', zone)?.toISOString()).toBe('2026-01-15T14:00:00.000Z');
    expect(fromCityLocalInput('2026-07-15T09:00', zone)?.toISOString()).toBe('2026-07-15T13:00:00.000Z');
    // The spring gap (02:30 does not exist on 8 March 2026) moves forward; the autumn hour is the first.
    expect(fromCityLocalInput('2026-03-08T02:30', zone)?.toISOString()).toBe('2026-03-08T07:30:00.000Z');
    expect(fromCityLocalInput('2026-11-01T01:30', zone)?.toISOString()).toBe('2026-11-01T05:30:00.000Z');
    expect(fromCityLocalInput('2026-02-30T10:00', zone)).toBeNull();
    expect(fromCityLocalInput('tomorrow', zone)).toBeNull();
    expect(fromCityLocalInput('2026-06-01T12:00', 'Asia/Kolkata')?.toISOString()).toBe('2026-06-01T06:30:00.000Z');
    expect(toCityLocalInput(new Date('2026-07-15T13:00:00Z'), zone)).toBe('2026-07-15T09:00');
    expect(toCityLocalInput(new Date('2026-11-01T06:30:00Z'), zone)).toBe('2026-11-01T01:30');
  });
});
