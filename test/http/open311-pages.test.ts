/**
 * The staff side of forwarding to the city's Open311 server, over real HTTP with a logged-in
 * browser's session: the admin Open311 page's service-code form (admins only, CSRF, audited as
 * the API is) and the report page's line on where the report stands with the city (waiting
 * through an outage, forwarded with the city's id and its last poll, refused with the city's
 * reason, an unreadable answer), with what the city wrote escaped.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../support/http.js';
import { startFakeOpen311, type FakeOpen311 } from '../support/fake-open311.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';
import { listAudit } from '../../src/staff/audit-log.js';
import { pollOpenRequests, readServiceMap, saveServiceMap } from '../../src/staff/open311-client.js';
import { CATEGORIES } from '../../src/domain/vocabulary.js';

const TOKEN = 'open311-pages-test-admin-token';
const PASSWORD = 'correct horse battery staple';
const SCRIPT = '<script>alert(1)</script>';

let app: RunningApp;
let city: FakeOpen311;
let admin: Session;
let coordinator: Session;

interface Session {
  cookie: string;
  csrfToken: string;
}

/** The login form flow, as a browser does it; returns the session cookie and its CSRF token. */
async function logIn(username: string): Promise<Session> {
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

function get(path: string, session: Session): Promise<Response> {
  return fetch(`${app.url}${path}`, { redirect: 'manual', headers: { cookie: session.cookie } });
}

function postForm(path: string, form: Record<string, string>, session: Session, csrf = true): Promise<Response> {
  const body = new URLSearchParams(form);
  if (csrf) body.append('_csrf', session.csrfToken);
  return fetch(`${app.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session.cookie },
    body: body.toString(),
  });
}

/** The report page's "City 311 system" line, its tags dropped and spaces joined (escaped text stays escaped). */
async function cityLine(ref: string): Promise<{ raw: string; text: string }> {
  const page = await (await get(`/admin/reports/${ref}`, admin)).text();
  const raw = /<dd data-field="open311">([\s\S]*?)<\/dd>/.exec(page)?.[1] ?? '';
  return {
    raw,
    text: raw
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  };
}

/** A texted report (as the SMS channel files one), forwarded by the outbox once the jobs run. */
async function fileReport(category: string, where: string): Promise<string> {
  const result = await app.service.runner.run(
    { type: 'report.create', input: { description: 'A deep hole', category, locationText: where, photos: [] } },
    { address: `sms:+1555010${Math.floor(Math.random() * 9000 + 1000)}`, channel: 'sms', locale: 'en', sourceKey: randomUUID(), now: new Date() },
  );
  return (result.value as { ref: string }).ref;
}

beforeAll(async () => {
  city = await startFakeOpen311({
    services: [{ service_code: 'ROAD-HOLE', service_name: 'Pothole', description: 'Holes', type: 'realtime', keywords: 'hole', group: 'streets' }],
    recentRequests: 0,
    oldRequests: 0,
  });
  app = await startTestApp({ ADMIN_TOKEN: TOKEN, OPEN311_ENDPOINT: city.url, OPEN311_API_KEY: city.apiKey }, { open311TimeoutMs: 2000 });
  await createStaffUser(app.service.store, { username: 'ada', role: 'admin', password: PASSWORD });
  await createStaffUser(app.service.store, { username: 'cory', role: 'coordinator', password: PASSWORD });
  admin = await logIn('ada');
  coordinator = await logIn('cory');
});

afterAll(async () => {
  await app?.close();
  await city?.close();
});

describe('the service-code form on the admin Open311 page', () => {
  it('shows every category with its code, saves what admins enter (blank: its own id), audited, and refuses coordinators and a missing CSRF token', async () => {
    // Mapped through the API beforehand: a code beyond the categories keeps its row.
    await saveServiceMap(app.service.store, { streetlight: 'LIGHT-1', [`x${SCRIPT}`]: 'OLD' });
    const page = await (await get('/admin/open311', admin)).text();
    expect(page).toContain("Forwarding to the city's 311 system");
    expect(page).toContain(`<code>${city.url}</code>`);
    for (const category of CATEGORIES) expect(page).toContain(`name="code_${category}"`);
    expect(page).toMatch(/name="code_streetlight"\s+value="LIGHT-1"/);
    expect(page).not.toContain(SCRIPT);
    expect(page).toContain('x&lt;script&gt;alert(1)&lt;/script&gt;');

    const form = { code_pothole: ' ROAD-HOLE ', code_streetlight: '', code_graffiti: 'GRAF' };
    expect((await postForm('/admin/open311/service-map', form, admin, false)).status).toBe(403);
    expect((await postForm('/admin/open311/service-map', form, coordinator)).status).toBe(403);
    expect((await get('/admin/open311', coordinator)).status).toBe(403);
    expect(await readServiceMap(app.service.store)).toEqual({ streetlight: 'LIGHT-1', [`x${SCRIPT}`]: 'OLD' });

    const saved = await postForm('/admin/open311/service-map', form, admin);
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe('/admin/open311?done=map-saved');
    // Blank streetlight goes back to its own id; the row the form did not carry keeps its code.
    expect(await readServiceMap(app.service.store)).toEqual({ pothole: 'ROAD-HOLE', graffiti: 'GRAF', [`x${SCRIPT}`]: 'OLD' });
    const [entry] = await listAudit(app.service.store, { actor: 'ada' });
    expect(entry).toMatchObject({ action: 'open311.service-map.save', details: { map: { pothole: 'ROAD-HOLE', graffiti: 'GRAF' } } });

    const tooLong = await postForm('/admin/open311/service-map', { code_pothole: 'X'.repeat(101) }, admin);
    expect(tooLong.status).toBe(400);
    expect(await tooLong.text()).toContain('each a text of 1-100 characters');
    expect((await readServiceMap(app.service.store))['pothole']).toBe('ROAD-HOLE');

    // The API is audited the same way.
    const put = await fetch(`${app.url}/admin/api/open311/service-map`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ map: { pothole: 'ROAD-HOLE' } }),
    });
    expect(put.status).toBe(200);
    expect((await listAudit(app.service.store, { actor: 'admin-token' }))[0]).toMatchObject({ action: 'open311.service-map.save' });
  });
});

describe("the report page's line on the city's 311 system", () => {
  it('says waiting through an outage, then forwarded with the request id and the last poll, the city notes escaped', async () => {
    await saveServiceMap(app.service.store, { pothole: 'ROAD-HOLE' });
    city.set({ failRate: 1 });
    const ref = await fileReport('pothole', 'Elm and 3rd');
    expect((await cityLine(ref)).text).toMatch(/^Waiting to be sent \(due /);
    app.service.jobs.start();
    await app.service.jobs.idle();
    const waiting = await cityLine(ref);
    expect(waiting.text).toMatch(
      /^Waiting : the city's server could not be reached \(1 try, last: city Open311 server answered 503: Service unavailable\); next try /,
    );

    city.set({ failRate: 0 });
    // Due again once its backoff is over: the scheduler picks it up then.
    const job = (await app.service.store.jobs.get(`open311-forward|${ref}`))!;
    await app.service.store.jobs.replace({ ...job, dueAt: new Date() }, job._rev);
    await app.service.jobs.idle();
    const id = (await app.service.store.reports.get(ref))!.open311Remote!.id!;
    expect((await cityLine(ref)).text).toMatch(new RegExp(`^Forwarded .+ as request ${id} ; not read back yet$`));

    city.setStatus(id, 'open', { notes: `Crew booked ${SCRIPT}` });
    await pollOpenRequests({
      store: app.service.store,
      settings: app.service.config.open311Client!,
      logger: app.service.logger,
      staff: () => app.service.staff,
    });
    const polled = await cityLine(ref);
    expect(polled.raw).not.toContain(SCRIPT);
    expect(polled.text).toMatch(
      new RegExp(`^Forwarded .+ as request ${id} ; last read back .+: open \\(“Crew booked &lt;script&gt;alert\\(1\\)&lt;/script&gt;”\\)$`),
    );
  });

  it("says refused with the city's reason, escaped, and unreadable when the city's answer was not JSON", async () => {
    await saveServiceMap(app.service.store, { graffiti: `NO-SUCH${SCRIPT}` });
    const ref = await fileReport('graffiti', 'Oak St underpass');
    app.service.jobs.start();
    await app.service.jobs.idle();
    const refused = await cityLine(ref);
    expect(refused.raw).not.toContain(SCRIPT);
    expect(refused.text).toMatch(
      /^Refused .+: city Open311 server answered 404: service_code NO-SUCH&lt;script&gt;alert\(1\)&lt;\/script&gt; was not found \(not sent again; the report goes on here\)$/,
    );

    // A 2xx that was not JSON (the client test drives that exchange; here only the page's wording).
    const other = await fileReport('park', 'Pond');
    await app.service.jobs.idle();
    const report = (await app.service.store.reports.get(other))!;
    await app.service.store.reports.replace({ ...report, open311Remote: { sentAt: new Date(), unreadableAnswer: true } }, report._rev);
    expect((await cityLine(other)).text).toMatch(/^Forwarded .+, but the city's answer was unreadable \(filed there, not sent again;/);
    // A batch service answers with a token only.
    const tokenOnly = (await app.service.store.reports.get(other))!;
    await app.service.store.reports.replace({ ...tokenOnly, open311Remote: { sentAt: new Date(), token: 'T<b>9</b>' } }, tokenOnly._rev);
    expect((await cityLine(other)).text).toMatch(/^Forwarded .+ with token T&lt;b&gt;9&lt;\/b&gt; \(no request id yet\)$/);
  });

  it('says nothing when forwarding is off and the report was never forwarded', async () => {
    const off = await startTestApp({ ADMIN_TOKEN: TOKEN });
    try {
      const result = await off.service.runner.run(
        { type: 'report.create', input: { description: 'Light out', category: 'streetlight', locationText: 'Pine St', photos: [] } },
        { address: 'sms:+15550101234', channel: 'sms', locale: 'en', sourceKey: randomUUID(), now: new Date() },
      );
      const ref = (result.value as { ref: string }).ref;
      const page = await (await fetch(`${off.url}/admin/reports/${ref}`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      expect(page).toContain('<dt>Channel</dt>');
      expect(page).not.toContain('City 311 system');
    } finally {
      await off.close();
    }
  });
});
