/**
 * The Love Your Block pages over real HTTP with a coordinator's session (and its CSRF token):
 * ticking open reports in the filtered list, the prefilled role form (places, escaped; never the
 * residents' words), publishing it, the role page's reports, volunteer call and "Work done", the
 * revision check, and "Volunteers: V-…" on the reports' pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../support/http.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';
import { newReference } from '../../src/domain/reference.js';
import type { ReportRecord } from '../../src/domain/records.js';

const PASSWORD = 'correct horse battery staple';
const SCRIPT_PLACE = '<script>alert(1)</script> Corner';

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

const get = (path: string) => fetch(`${app.url}${path}`, { redirect: 'manual', headers: { cookie: session.cookie } });

function postForm(path: string, form: Record<string, string | string[]>): Promise<Response> {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) for (const v of [value].flat()) body.append(key, v);
  body.append('_csrf', session.csrfToken);
  return fetch(`${app.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session.cookie },
    body: body.toString(),
  });
}

/** A report straight into the store. */
async function report(fields: Partial<ReportRecord>): Promise<string> {
  const _id = newReference('R');
  await app.service.store.reports.insert({
    _id,
    category: 'graffiti',
    status: 'open',
    statusGroup: 'open',
    location: { text: 'Elm and 2nd' },
    description: 'the private words of a resident',
    photos: [],
    residentAddress: 'sms:+15550001111',
    channel: 'sms',
    locale: 'en',
    createdAt: new Date(),
    updatedAt: new Date(),
    ...fields,
  });
  return _id;
}

beforeAll(async () => {
  app = await startTestApp({ QUIET_HOURS: 'off' });
  await createStaffUser(app.service.store, { username: 'cory', displayName: 'Cory Coordinator', role: 'coordinator', password: PASSWORD });
  session = await logIn('cory');
  const now = new Date();
  await app.service.store.residents.insert({
    _id: 'sms:+15550001111',
    address: 'sms:+15550001111',
    channel: 'sms',
    locale: 'en',
    optedOut: false,
    volunteerCalls: false,
    interests: [],
    createdAt: now,
    lastSeenAt: now,
  });
});
afterAll(() => app.close());

describe('Love Your Block pages', () => {
  it('from ticked reports to a published role, its call, and "Work done"', async () => {
    const first = await report({ location: { text: SCRIPT_PLACE } });
    const second = await report({ location: { text: 'Oak and 3rd' } });
    const fixed = await report({ status: 'fixed', statusGroup: 'fixed' });

    // The filtered list: open reports can be ticked, the fixed one cannot.
    const list = await (await get('/admin/reports?category=graffiti')).text();
    expect(list).toContain(`form="make-role" name="reports" value="${first}"`);
    expect(list).toContain(`form="make-role" name="reports" value="${second}"`);
    expect(list).not.toContain(`name="reports" value="${fixed}"`);
    expect(list).toContain('<form id="make-role" class="actions" method="get" action="/admin/roles/from-reports"');
    expect(list).toContain('Make a volunteer role from these');

    // The prefilled form: the places (escaped), never the residents' words.
    const draft = await get(`/admin/roles/from-reports?reports=${first}&reports=${second}`);
    expect(draft.status).toBe(200);
    const form = await draft.text();
    expect(form).toContain('value="Graffiti at 2 places"');
    expect(form).toContain('- &lt;script&gt;alert(1)&lt;/script&gt; Corner');
    expect(form).not.toContain('<script>alert');
    expect(form).not.toContain('private words');
    expect(form).toContain(`<input type="hidden" name="reports" value="${first},${second}" />`);

    // A report that is not open refuses the whole form, naming it.
    const refused = await get(`/admin/roles/from-reports?reports=${first}&reports=${fixed}`);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain(fixed);

    // A form missing a field comes back with the error, and the reports kept.
    const incomplete = await postForm('/admin/roles/from-reports', { reports: `${first},${second}`, title: 'Paint-out', description: 'Paint', capacity: '5' });
    expect(incomplete.status).toBe(400);
    expect(await incomplete.text()).toContain(`<input type="hidden" name="reports" value="${first},${second}" />`);

    const published = await postForm('/admin/roles/from-reports', {
      reports: `${first},${second}`,
      title: 'Paint-out on Elm',
      description: 'Paint over the tags.',
      neighbourhood: 'Elmwood',
      place: 'Elm and 2nd',
      startsAt: '2026-12-12T09:00',
      capacity: '8',
      contact: 'Parks crew',
    });
    expect(published.status).toBe(303);
    const location = published.headers.get('location') ?? '';
    expect(location).toMatch(/^\/admin\/roles\/V-[0-9A-Z]{5}\?done=created$/);
    const roleId = location.slice('/admin/roles/'.length, location.indexOf('?'));
    const role = await app.service.store.roles.get(roleId);
    expect(role?.fromReports).toEqual([first, second]);

    // The role page: its reports, the call and "Work done" with the role's revision.
    const page = await (await get(`/admin/roles/${roleId}`)).text();
    expect(page).toContain('From reports (Love Your Block)');
    expect(page).toContain(`href="/admin/reports/${first}"`);
    expect(page).toContain('Residents who opted in to volunteer calls and live in Elmwood');
    expect(page).toContain(`<input type="hidden" name="revision" value="${role!._rev}" />`);
    expect(page).toContain('2 of 2 reports still open.');
    // Both reports have one reporter: counted once.
    expect(page).toContain('<span data-field="reach">1 of 1 reachable</span>');

    // The reports' pages link to the role.
    const reportPage = await (await get(`/admin/reports/${first}`)).text();
    expect(reportPage).toMatch(new RegExp(`<a href="/admin/roles/${roleId}">${roleId}</a>\\s+Paint-out on Elm`));

    // The call: a broadcast for the role, to the reports' residents only.
    const nobody = await postForm(`/admin/roles/${roleId}/call`, { message_en: 'Can you help?' });
    expect(nobody.status).toBe(400);
    const call = await postForm(`/admin/roles/${roleId}/call`, { message_en: 'Paint-out Saturday: can you help?', reporters: 'on' });
    expect(call.status).toBe(303);
    const broadcastId = /\/admin\/broadcasts\/(B-[0-9A-Z]{5})/.exec(call.headers.get('location') ?? '')?.[1];
    expect(await app.service.store.broadcasts.get(broadcastId!)).toMatchObject({ roleId, audience: { reports: [first, second], optedIn: false } });

    // "Work done": a stale revision is refused; the current one closes both reports.
    const stale = await postForm(`/admin/roles/${roleId}/close-reports`, { revision: String(role!._rev - 1 || 99) });
    expect(stale.status).toBe(409);
    expect(await stale.text()).toContain('reload it and try again');
    const done = await postForm(`/admin/roles/${roleId}/close-reports`, { revision: String(role!._rev) });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe(`/admin/roles/${roleId}?done=reports_closed`);
    for (const ref of [first, second]) expect((await app.service.store.reports.get(ref))?.statusGroup).toBe('fixed');
    const after = await (await get(`/admin/roles/${roleId}?done=reports_closed`)).text();
    expect(after).toContain('0 of 2 reports still open.');
    expect(after).toContain('open reports are closed as fixed; their reporters and followers are being told.');
  });

  it('takes 200 ticked reports through the list, the form and its CSRF check', async () => {
    const refs: string[] = [];
    for (let i = 0; i < 200; i++) refs.push(await report({ location: { text: `${i} Long Street` } }));
    const draft = await get(`/admin/roles/from-reports?${refs.map((ref) => `reports=${ref}`).join('&')}`);
    expect(draft.status).toBe(200);
    const hidden = /<input type="hidden" name="reports" value="([^"]+)" \/>/.exec(await draft.text())?.[1];
    expect(hidden?.split(',')).toEqual(refs);
    const published = await postForm('/admin/roles/from-reports', {
      reports: hidden!,
      title: 'Long Street paint-out',
      description: 'Paint over the tags.',
      neighbourhood: 'Elmwood',
      place: 'Long Street',
      startsAt: '2026-12-12T09:00',
      capacity: '30',
      contact: 'Parks crew',
    });
    expect(published.status).toBe(303);
    const tooMany = await get(`/admin/roles/from-reports?${[...refs, 'R-22222'].map((ref) => `reports=${ref}`).join('&')}`);
    expect(tooMany.status).toBe(400);
  });

  it('needs the CSRF token to publish, call or close', async () => {
    const response = await fetch(`${app.url}/admin/roles/from-reports`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session.cookie },
      body: new URLSearchParams({ reports: 'R-22222', title: 'x' }).toString(),
    });
    expect(response.status).toBe(403);
  });
});
