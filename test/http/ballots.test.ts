/**
 * Ballots on the staff side (issue 21): the API (validation as 400s, draft → open → close →
 * publish, 409s out of order, results with share, funding and turnout, audited) and the pages
 * without JavaScript (a ballot made with the form in the city's time, CSRF required, what staff
 * wrote escaped, open / close / publish buttons, the results table).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { castVote } from '../../src/pipeline/ballot-votes.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';
import { listAudit } from '../../src/staff/audit-log.js';
import { publishResults } from '../../src/staff/ballot-desk.js';
import { StaffError } from '../../src/staff/staff-deps.js';
import { startTestApp, postJson, type RunningApp } from '../support/http.js';

const ADMIN_TOKEN = 'ballots-test-admin-token-0123';
const PASSWORD = 'correct horse battery staple';
const SCRIPT = '<script>alert(1)</script>';
const HOUR = 3_600_000;
let app: RunningApp;
let session: { cookie: string; csrfToken: string };
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

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

function aBallot(overrides: Record<string, unknown> = {}) {
  return {
    title: { en: 'Parks budget', es: 'Presupuesto de parques' },
    question: { en: 'Which projects?', es: '¿Qué proyectos?' },
    projects: [
      { title: { en: 'Benches', es: 'Bancos' }, cost: 100_000 },
      { title: { en: 'Trees', es: 'Árboles' }, cost: 300_000 },
      { title: { en: 'Splash pad', es: 'Fuente' }, cost: 250_000 },
    ],
    rule: 'budget',
    budget: 500_000,
    opensAt: new Date(Date.now() - HOUR).toISOString(),
    closesAt: new Date(Date.now() + 24 * HOUR).toISOString(),
    ...overrides,
  };
}

beforeAll(async () => {
  app = await startTestApp({ ADMIN_TOKEN, QUIET_HOURS: 'off', CITY_TIMEZONE: 'America/Chicago' });
  await createStaffUser(app.service.store, { username: 'cory', displayName: 'Cory Coordinator', role: 'coordinator', password: PASSWORD });
  session = await logIn('cory');
});
afterAll(() => app.close());

describe('the ballots API', () => {
  it('refuses bad ballots with 400s saying which field', async () => {
    const api = `${app.url}/admin/api/ballots`;
    const cases: [Record<string, unknown>, string][] = [
      [{ projects: [{ title: { en: 'Only one' }, cost: 1 }] }, 'projects'],
      [{ budget: undefined }, 'budget'],
      [{ rule: 'pick_up_to', budget: undefined }, 'maxPicks'],
      [{ rule: 'pick_up_to', budget: undefined, maxPicks: 4 }, 'maxPicks'],
      [{ title: { es: 'Solo español' } }, 'title.en'],
      [{ closesAt: new Date(Date.now() - 2 * HOUR).toISOString() }, 'closesAt'],
      [
        {
          projects: [
            { title: { en: 'A' }, cost: -1 },
            { title: { en: 'B' }, cost: 1 },
          ],
        },
        'projects',
      ],
      // A project dearer than the whole budget (a typo in a cost or the budget): listed to every
      // voter, and nobody could ever pick it.
      [{ budget: 280_000 }, 'projects.1.cost'],
    ];
    for (const [change, field] of cases) {
      const response = await postJson(api, aBallot(change), auth);
      expect(response.status, JSON.stringify(change)).toBe(400);
      expect(JSON.stringify(response.body)).toContain(field);
    }
    expect((await postJson(`${api}/B-22222/open`, {}, auth)).status).toBe(400);
    expect((await postJson(`${api}/P-22222/open`, {}, auth)).status).toBe(404);
  });

  it('sends and publishes a twelve-project ballot with long titles (its texts cut to fit), and a publish cut off before its broadcast completes when retried', async () => {
    const api = `${app.url}/admin/api/ballots`;
    const long = (i: number, word: string) => `${word} ${i + 1}: ${'resurfacing and widening the path along the old rail line'.slice(0, 68)}`;
    const twelve = Array.from({ length: 12 }, (_, i) => ({ title: { en: long(i, 'Project'), es: long(i, 'Proyecto') }, cost: 1_250_000 + i }));
    const created = await postJson(api, aBallot({ projects: twelve, budget: 5_000_000 }), auth);
    expect(created.status).toBe(201);
    const id = created.body.ballot._id as string;
    expect((await postJson(`${api}/${id}/open`, {}, auth)).status).toBe(200);
    const sent = await postJson(`${api}/${id}/send`, { audience: {} }, auth);
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    for (const text of Object.values(sent.body.broadcast.messages as Record<string, string>)) expect([...text].length).toBeLessThanOrEqual(971);
    expect(sent.body.broadcast.messages.es).toContain('12. Proyecto 12');
    const now = new Date();
    for (let i = 0; i < 3; i++)
      await castVote(app.service.store, { ref: id, picks: [i + 1, i + 2] }, { address: `sms:+1555000200${i}`, channel: 'sms', locale: 'en', now });
    expect((await postJson(`${api}/${id}/close`, {}, auth)).status).toBe(200);
    const published = await postJson(`${api}/${id}/publish`, {}, auth);
    expect(published.status, JSON.stringify(published.body)).toBe(200);
    for (const text of Object.values(published.body.broadcast.messages as Record<string, string>)) expect([...text].length).toBeLessThanOrEqual(971);

    // The longest a ballot may be (120-character title, 300-character question, 80-character projects) still goes out.
    const longest = aBallot({
      title: { en: 'T'.repeat(120), es: 'T'.repeat(120) },
      question: { en: 'Q'.repeat(300), es: 'Q'.repeat(300) },
      projects: Array.from({ length: 12 }, (_, i) => ({ title: { en: `${i} ${'p'.repeat(77)}`, es: `${i} ${'p'.repeat(77)}` }, cost: 999_999_999_999 })),
      budget: 1_000_000_000_000,
    });
    const widest = await postJson(api, longest, auth);
    expect(widest.status).toBe(201);
    await postJson(`${api}/${widest.body.ballot._id}/open`, {}, auth);
    expect((await postJson(`${api}/${widest.body.ballot._id}/send`, { audience: {} }, auth)).status).toBe(201);

    // A publish that froze the result and stopped before its broadcast (a crash, a store error):
    // a retry tells the voters instead of answering "already published" for ever.
    const store = app.service.store;
    const other = await postJson(api, aBallot(), auth);
    const otherId = other.body.ballot._id as string;
    await postJson(`${api}/${otherId}/open`, {}, auth);
    await castVote(store, { ref: otherId, picks: [1] }, { address: 'sms:+15550002101', channel: 'sms', locale: 'en', now: new Date() });
    await postJson(`${api}/${otherId}/close`, {}, auth);
    const closed = (await store.ballots.get(otherId))!;
    const results = { voters: 1, projects: closed.projects.map((p, i) => ({ id: p.id, votes: i === 0 ? 1 : 0, funded: i === 0 })), at: new Date(), by: 'cory' };
    expect(await store.ballots.replace({ ...closed, results }, closed._rev)).toBe(true);
    const retried = await postJson(`${api}/${otherId}/publish`, {}, auth);
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body.broadcast).toMatchObject({ audience: { ballotId: otherId } });
    expect((await store.ballots.get(otherId))!.resultsBroadcastId).toBe(retried.body.broadcast._id);
    expect((await postJson(`${api}/${otherId}/publish`, {}, auth)).status).toBe(409);
  });

  it('runs a ballot from draft to published result, with results, turnout and audit', async () => {
    const api = `${app.url}/admin/api/ballots`;
    const created = await postJson(api, aBallot(), auth);
    expect(created.status).toBe(201);
    const id = created.body.ballot._id as string;
    expect(created.body.ballot).toMatchObject({ status: 'draft', rule: 'budget', budget: 500_000, projects: [{ id: 'p1' }, { id: 'p2' }, { id: 'p3' }] });
    // Out of order: a draft is neither closed nor published.
    expect((await postJson(`${api}/${id}/close`, {}, auth)).status).toBe(409);
    expect((await postJson(`${api}/${id}/publish`, {}, auth)).status).toBe(409);
    const edited = await fetch(`${api}/${id}`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(aBallot({ budget: 450_000 })),
    });
    expect(edited.status).toBe(200);
    expect((await postJson(`${api}/${id}/open`, {}, auth)).body.ballot.status).toBe('open');
    // An open ballot is not edited.
    const late = await fetch(`${api}/${id}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(aBallot()) });
    expect(late.status).toBe(409);

    const store = app.service.store;
    const now = new Date();
    await castVote(store, { ref: id, picks: [1, 2] }, { address: 'sms:+15550001001', channel: 'sms', locale: 'en', now });
    await castVote(store, { ref: id, picks: [2] }, { address: 'telegram:9001', channel: 'telegram', locale: 'es', now });
    await castVote(store, { ref: id, picks: [1, 3] }, { address: 'sms:+15550001002', channel: 'sms', locale: 'es', now });
    expect(await castVote(store, { ref: id, picks: [2, 3] }, { address: 'sms:+15550001003', channel: 'sms', locale: 'en', now })).toBe('invalid');

    const live = (await (await fetch(`${api}/${id}`, { headers: auth })).json()) as {
      results: { projects: { votes: number; funded: boolean; share: number }[] };
    };
    expect(live.results).toMatchObject({ voters: 3, published: false, byChannel: { sms: 2, telegram: 1 }, byLocale: { en: 1, es: 2 } });
    // Trees 2 votes ($300,000) first, then benches 2 votes... ties go to the cheaper: benches, trees, then the splash pad no longer fits $450,000.
    expect(live.results.projects.map((p: { votes: number; funded: boolean; share: number }) => [p.votes, p.funded, Math.round(p.share * 100)])).toEqual([
      [2, true, 67],
      [2, true, 67],
      [1, false, 33],
    ]);

    expect((await postJson(`${api}/${id}/close`, {}, auth)).body.ballot.status).toBe('closed');
    expect(await castVote(store, { ref: id, picks: [3] }, { address: 'sms:+15550001001', channel: 'sms', locale: 'en', now: new Date() })).toBe('closed');
    const published = await postJson(`${api}/${id}/publish`, {}, auth);
    expect(published.status).toBe(200);
    expect(published.body.ballot.results).toMatchObject({ voters: 3 });
    expect(published.body.broadcast).toMatchObject({ audience: { ballotId: id }, planned: 0 });
    expect((await postJson(`${api}/${id}/publish`, {}, auth)).status).toBe(409);

    const actions = (await listAudit(store, { limit: 50 })).filter((entry) => entry.target === id).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(['ballot.create', 'ballot.update', 'ballot.open', 'ballot.close', 'ballot.publish']));
  });

  it('sends an open ballot to one audience once at a time: a second click while the first is going out is refused, not a second text to every resident', async () => {
    const api = `${app.url}/admin/api/ballots`;
    const created = await postJson(api, aBallot(), auth);
    const id = created.body.ballot._id as string;
    await postJson(`${api}/${id}/open`, {}, auth);
    // Residents who opted in, on SMS and Telegram (the worker is not running: the broadcasts stay scheduled).
    for (const address of ['sms:+15550004001', 'telegram:4004001'])
      await app.service.store.residents.insert({
        _id: address,
        address,
        channel: address.startsWith('sms') ? 'sms' : 'telegram',
        locale: 'en',
        optedOut: false,
        volunteerCalls: true,
        interests: [],
        createdAt: new Date(),
        lastSeenAt: new Date(),
      });
    const first = await postJson(`${api}/${id}/send`, { audience: {} }, auth);
    expect(first.status).toBe(201);
    // Again while it is still scheduled or sending: one text per resident, not two.
    const again = await postJson(`${api}/${id}/send`, { audience: {} }, auth);
    expect(again.status, JSON.stringify(again.body)).toBe(409);
    expect(JSON.stringify(again.body)).toContain(first.body.broadcast._id);
    // The same press on the page, and two presses at once.
    expect((await postForm(`/admin/ballots/${id}/send`, {})).status).toBe(409);
    const other = { audience: { channels: ['telegram'] } };
    const both = await Promise.all([postJson(`${api}/${id}/send`, other, auth), postJson(`${api}/${id}/send`, other, auth)]);
    expect(both.map((response) => response.status).sort()).toEqual([201, 409]);
    // Once the first is over (done, or cancelled), sending again is a reminder, and goes out.
    const cancelled = await postJson(`${app.url}/admin/api/broadcasts/${first.body.broadcast._id}/cancel`, {}, auth);
    expect(cancelled.status).toBe(200);
    const reminder = await postJson(`${api}/${id}/send`, { audience: {} }, auth);
    expect(reminder.status, JSON.stringify(reminder.body)).toBe(201);
    expect(reminder.body.broadcast._id).not.toBe(first.body.broadcast._id);
  });

  it('tells the voters once when two coordinators press Publish together (the second finds the first publishing)', async () => {
    const api = `${app.url}/admin/api/ballots`;
    const store = app.service.store;
    const created = await postJson(api, aBallot(), auth);
    const id = created.body.ballot._id as string;
    await postJson(`${api}/${id}/open`, {}, auth);
    await castVote(store, { ref: id, picks: [1] }, { address: 'sms:+15550003001', channel: 'sms', locale: 'en', now: new Date() });
    await postJson(`${api}/${id}/close`, {}, auth);
    // The first publish has frozen the result and is planning its broadcast (thousands of voters
    // take a while) when the second arrives: it must not make a second broadcast.
    let second: Promise<unknown> | undefined;
    const deliveries = new Proxy(store.deliveries, {
      get(target, name) {
        // Counting the planned deliveries: the broadcast is stored and planned, not yet finished.
        if (name === 'count')
          return async (query: Parameters<typeof target.count>[0]) => {
            second ??= publishResults(app.service, id, { username: 'dana', role: 'coordinator' }).then(
              (result) => result,
              (error: unknown) => error,
            );
            await second;
            return target.count(query);
          };
        const value = Reflect.get(target, name) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const slowStore = new Proxy(store, { get: (target, name) => (name === 'deliveries' ? deliveries : Reflect.get(target, name)) });
    const first = await publishResults(
      { ...app.service, store: slowStore, config: app.service.config, messenger: app.service.messenger, i18n: app.service.i18n },
      id,
      {
        username: 'cory',
        role: 'coordinator',
      },
    );
    const other = await second;
    expect(other).toBeInstanceOf(StaffError);
    expect((other as StaffError).status).toBe(409);
    expect((await store.ballots.get(id))!.resultsBroadcastId).toBe(first.broadcast._id);
    const toVoters = (await store.broadcasts.find({ field: 'kind', equals: 'broadcast' }, { limit: 1000 })).filter((b) => b.audience.ballotId === id);
    expect(toVoters.map((b) => b._id)).toEqual([first.broadcast._id]);
  });
});

describe('the ballots pages', () => {
  it('makes a ballot with the form (CSRF required, the city time), escapes it, opens it and shows results', async () => {
    const form = {
      title_en: `Library ${SCRIPT}`,
      title_es: 'Biblioteca',
      question_en: 'What should it add?',
      question_es: '¿Qué debe agregar?',
      project_0_en: `Sunday hours ${SCRIPT}`,
      project_0_es: 'Domingos',
      project_0_cost: '40000',
      project_1_en: 'Homework help',
      project_1_es: 'Ayuda con tareas',
      project_1_cost: '30000',
      rule: 'pick_up_to',
      maxPicks: '1',
      opensAt: '2026-01-01T09:00',
      closesAt: '2099-01-01T17:00',
    };
    expect((await postForm('/admin/ballots', form, false)).status).toBe(403);
    const refused = await postForm('/admin/ballots', { ...form, maxPicks: '5' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('value="Homework help"');

    const made = await postForm('/admin/ballots', form);
    expect(made.status).toBe(303);
    const location = made.headers.get('location')!;
    const id = /P-[A-Z0-9]{5}/.exec(location)![0];
    const ballot = await app.service.store.ballots.get(id);
    expect(ballot).toMatchObject({ status: 'draft', rule: 'pick_up_to', maxPicks: 1, createdBy: 'cory' });
    // 9:00 in Chicago on January 1st is 15:00 UTC.
    expect(ballot?.opensAt.toISOString()).toBe('2026-01-01T15:00:00.000Z');

    const page = await get(`/admin/ballots/${id}`);
    expect(page.status).toBe(200);
    expect(page.body).not.toContain(SCRIPT);
    expect(page.body).toContain('Library &lt;script&gt;');
    expect(page.body).toContain(`action="/admin/ballots/${id}/open"`);
    expect((await get('/admin/ballots')).body).toContain(`href="/admin/ballots/${id}"`);

    expect((await postForm(`/admin/ballots/${id}/open`, {}, false)).status).toBe(403);
    expect((await postForm(`/admin/ballots/${id}/open`, {})).headers.get('location')).toBe(`/admin/ballots/${id}?done=opened`);
    await castVote(app.service.store, { ref: id, picks: [2] }, { address: 'telegram:9101', channel: 'telegram', locale: 'es', now: new Date() });
    const open = await get(`/admin/ballots/${id}`);
    expect(open.body).toContain('id="ballot-results"');
    expect(open.body).toMatch(/<strong id="ballot-voters">1<\/strong> voters/);
    expect(open.body).toContain(`action="/admin/ballots/${id}/close"`);
    expect((await postForm(`/admin/ballots/${id}/close`, {})).status).toBe(303);
    expect((await postForm(`/admin/ballots/${id}/publish`, {})).headers.get('location')).toBe(`/admin/ballots/${id}?done=published`);
    expect((await get(`/admin/ballots/${id}`)).body).toContain('Result (published)');
    const told = (await app.service.store.ballots.get(id))?.resultsBroadcastId;
    expect((await get(`/admin/broadcasts/${told}`)).body).toContain(`everyone who voted in ballot ${id}`);
    // Out of order on the page: a 409 page saying why, not a crash.
    const again = await postForm(`/admin/ballots/${id}/open`, {});
    expect(again.status).toBe(409);
  });
});
