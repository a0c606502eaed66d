/**
 * Working reports over real HTTP (issue 18), through the API and the dashboard forms: the routing
 * table (anyone reads, only admins change), assignment and the "mine" / "unassigned" queues of
 * the staff member asking, the department and overdue filters, text search with its bound,
 * internal notes, canned responses of the report's category filling the status note, the CSV
 * export (quoted, formula-safe, without residents' addresses, audited), and a clear 4xx JSON for
 * every bad input. Resident text on the pages is escaped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, postJson, type RunningApp } from '../support/http.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';
import { withOpenReportKeys } from '../../src/domain/open-report-keys.js';
import type { ReportRecord } from '../../src/domain/records.js';
import { listAudit } from '../../src/staff/audit-log.js';

const TOKEN = 'report-work-test-admin-token';
const PASSWORD = 'correct horse battery staple';
const SCRIPT = '<script>alert(1)</script>';
const auth = { authorization: `Bearer ${TOKEN}` };
const DAY = 86_400_000;

let app: RunningApp;
let ada: Session;
let cory: Session;

interface Session {
  cookie: string;
  csrfToken: string;
}

/** The login form flow, as a browser does it. */
async function logIn(username: string): Promise<Session> {
  const page = await fetch(`${app.url}/admin/login`);
  const csrf = /name="_csrf"\s+value="([^"]+)"/.exec(await page.text())?.[1];
  const loginCookie = page.headers
    .getSetCookie()
    .map((line) => line.split(';')[0]!)
    .find((pair) => pair.startsWith('civicline_login_csrf='));
  const response = await fetch(`${app.url}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie! },
    body: new URLSearchParams({ username, password: PASSWORD, _csrf: csrf! }).toString(),
  });
  const cookie = response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0]!)
    .find((pair) => pair.startsWith('civicline_staff='))!;
  const home = await (await fetch(`${app.url}/admin`, { headers: { cookie } })).text();
  return { cookie, csrfToken: /name="_csrf" value="([^"]+)"/.exec(home)![1]! };
}

const api = (path: string) => `${app.url}/admin/api${path}`;
async function getJson(path: string, headers: Record<string, string> = auth) {
  const response = await fetch(api(path), { headers });
  return { status: response.status, body: (await response.json()) as any };
}
async function send(method: string, path: string, body: unknown, headers: Record<string, string> = auth) {
  const response = await fetch(api(path), { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
const asSession = (session: Session) => ({ cookie: session.cookie, 'x-csrf-token': session.csrfToken });

function page(path: string, session: Session = ada): Promise<Response> {
  return fetch(`${app.url}${path}`, { redirect: 'manual', headers: { cookie: session.cookie } });
}
function postForm(path: string, form: Record<string, string | string[]>, session: Session = ada): Promise<Response> {
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

/** A report stored as the pipeline stores it, made `daysAgo` days ago. */
async function aReport(id: string, overrides: Partial<ReportRecord> & { daysAgo?: number } = {}): Promise<string> {
  const { daysAgo = 1, ...rest } = overrides;
  const made = new Date(Date.now() - daysAgo * DAY);
  const { _rev, ...record } = withOpenReportKeys({
    _id: id,
    _rev: 0,
    category: 'pothole',
    status: 'open',
    statusGroup: 'open' as const,
    location: { text: 'Elm Street' },
    description: 'A hole',
    photos: [],
    residentAddress: 'sms:+15550007777',
    channel: 'sms' as const,
    locale: 'en',
    createdAt: made,
    updatedAt: made,
    ...rest,
  });
  await app.service.store.reports.insert(record);
  return id;
}

beforeAll(async () => {
  app = await startTestApp({ ADMIN_TOKEN: TOKEN, SEED_DEMO_DATA: 'false', CITY_TIMEZONE: 'America/New_York' });
  const { store } = app.service;
  await createStaffUser(store, { username: 'ada', displayName: 'Ada Admin', role: 'admin', password: PASSWORD });
  await createStaffUser(store, { username: 'cory', displayName: 'Cory Coordinator', role: 'coordinator', password: PASSWORD });
  ada = await logIn('ada');
  cory = await logIn('cory');
  await aReport('R-WRK22', { description: `Huge crater ${SCRIPT}`, location: { text: `Calle Ñandú ${SCRIPT}` }, locale: 'es', daysAgo: 8 });
  await aReport('R-WRK23', { category: 'tree', description: 'Branch on the sidewalk', daysAgo: 2 });
  await aReport('R-WRK24', { category: 'graffiti', description: '=cmd|calc!A1 on the wall, "big"', daysAgo: 3 });
  await aReport('R-WRK25', { category: 'tree', status: 'fixed', statusGroup: 'fixed', daysAgo: 30 });
});
afterAll(() => app.close());

describe('the routing table', () => {
  it('is read by everyone and changed by admins only', async () => {
    const empty = await getJson('/routing', asSession(cory));
    expect(empty.status).toBe(200);
    expect(empty.body.departments).toEqual([]);
    expect(empty.body.targets).toContainEqual({ category: 'pothole', days: 5, isDefault: true });

    expect((await send('PUT', '/routing/departments/parks', { name: 'Parks', categories: ['tree', 'park'] }, asSession(cory))).status).toBe(403);
    const saved = await send('PUT', '/routing/departments/parks', { name: 'Parks', categories: ['tree', 'park'] }, asSession(ada));
    expect(saved).toMatchObject({ status: 200, body: { department: { id: 'parks', name: 'Parks', categories: ['tree', 'park'] } } });
    expect((await send('PUT', '/routing/departments/works', { name: 'Public Works', categories: ['pothole', 'graffiti'] })).status).toBe(200);

    const conflict = await send('PUT', '/routing/departments/streets', { name: 'Streets', categories: ['pothole'] });
    expect(conflict.status).toBe(400);
    expect(conflict.body.error).toMatch(/pothole is handled by Public Works/);
    for (const [path, body] of [
      ['/routing/departments/Not%20An%20Id', { name: 'x', categories: [] }],
      ['/routing/departments/x', { name: '', categories: [] }],
      ['/routing/departments/x', { name: 'x', categories: 'tree' }],
      ['/routing/targets', { targetDays: { pothole: 0 } }],
      ['/routing/targets', { targetDays: { pothole: '5' } }],
      ['/routing/targets', { targetDays: { teleporter: 5 } }],
      ['/routing/targets', { targetDays: { pothole: 5 }, extra: true }],
    ] as const) {
      const refused = await send('PUT', path, body);
      expect(refused.status, path).toBe(400);
      expect(typeof refused.body.error).toBe('string');
    }
    expect((await send('DELETE', '/routing/departments/nowhere', {})).status).toBe(404);
    const targets = await send('PUT', '/routing/targets', { targetDays: { tree: 1 } });
    expect(targets.body.targets).toContainEqual({ category: 'tree', days: 1, isDefault: false });
  });
});

describe('assignment, queues and filters', () => {
  it("assigns through the API, and the queues are the asking staff member's", async () => {
    const refused = await send('POST', '/reports/R-WRK22/assign', { username: 'nobody' });
    expect(refused).toMatchObject({ status: 400, body: { error: 'No active staff account with that username' } });
    expect((await send('POST', '/reports/R-WRK22/assign', { username: 7 })).status).toBe(400);
    expect((await send('POST', '/reports/R-ZZZZZ/assign', { username: 'ada' })).status).toBe(404);
    expect((await send('POST', '/reports/not-a-ref/assign', { username: 'ada' })).status).toBe(400);

    const assigned = await send('POST', '/reports/R-WRK22/assign', { username: 'ada' }, asSession(cory));
    expect(assigned.status).toBe(200);
    expect(assigned.body.report).toMatchObject({ _id: 'R-WRK22', assignee: 'ada', routing: { assignee: 'ada', department: { id: 'works' }, overdue: true } });
    expect(assigned.body.report).not.toHaveProperty('openQueue');
    expect(assigned.body.report).not.toHaveProperty('residentAddress');

    const mine = (await getJson('/reports?queue=mine', asSession(ada))).body.reports.map((r: any) => r._id);
    expect(mine).toEqual(['R-WRK22']);
    expect((await getJson('/reports?queue=mine', asSession(cory))).body.reports).toEqual([]);
    const unassigned = (await getJson('/reports?queue=unassigned')).body.reports.map((r: any) => r._id);
    expect(unassigned).toEqual(['R-WRK23', 'R-WRK24']);

    expect((await getJson('/reports?department=parks')).body.reports.map((r: any) => r._id)).toEqual(['R-WRK23', 'R-WRK25']);
    const routed = await send('POST', '/reports/R-WRK24/route', { department: 'parks' });
    expect(routed.body.report).toMatchObject({ department: 'parks', routing: { department: { id: 'parks' }, routedByHand: true } });
    expect((await getJson('/reports?department=parks&statusGroup=open')).body.reports.map((r: any) => r._id)).toEqual(['R-WRK23', 'R-WRK24']);
    expect((await send('POST', '/reports/R-WRK24/route', { department: 'Nope!' })).status).toBe(400);
    expect((await send('POST', '/reports/R-WRK24/route', { department: 'ghost' })).status).toBe(400);

    // Tree's target is 1 day now: the 2-day-old tree report is overdue, the fixed one never is.
    const overdue = (await getJson('/reports?overdue=true')).body.reports.map((r: any) => r._id);
    expect(overdue).toEqual(['R-WRK22', 'R-WRK23']);
    for (const query of ['queue=theirs', 'department=%00', 'overdue=maybe', `q=${'x'.repeat(201)}`, 'assignee=ada']) {
      const bad = await getJson(`/reports?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.body.error).toMatch(/^Invalid request/);
    }

    const audit = (await listAudit(app.service.store, { limit: 200 })).map((e) => [e.actor, e.action, e.target ?? null]);
    expect(audit).toContainEqual(['cory', 'report.assign', 'R-WRK22']);
    expect(audit).toContainEqual(['admin-token', 'report.route', 'R-WRK24']);
    expect(audit).toContainEqual(['ada', 'routing.department.save', 'parks']);
  });

  it('searches words, accents ignored, and says how far it looked', async () => {
    const found = await getJson('/reports?q=nandu%20crater');
    expect(found.body.reports.map((r: any) => r._id)).toEqual(['R-WRK22']);
    expect(found.body.scanned).toEqual({ limit: 5000, reachedLimit: false });
    expect((await getJson('/reports?q=wrk24')).body.reports.map((r: any) => r._id)).toEqual(['R-WRK24']);
    expect((await getJson('/reports?q=graffiti&category=tree')).body.reports).toEqual([]);
  });
});

describe('internal notes', () => {
  it('are added through the API, refused empty, and shown to staff as internal', async () => {
    const added = await send('POST', '/reports/R-WRK23/notes', { text: 'Arborist visit booked' });
    expect(added.status).toBe(201);
    expect(added.body.update).toMatchObject({ reportId: 'R-WRK23', note: 'Arborist visit booked', internal: true, staff: 'admin-token' });
    expect((await send('POST', '/reports/R-WRK23/notes', { text: '' })).status).toBe(400);
    expect((await send('POST', '/reports/R-WRK23/notes', { text: 'x'.repeat(2001) })).status).toBe(400);
    expect((await send('POST', '/reports/R-WRK23/notes', { note: 'wrong field' })).status).toBe(400);
    const detail = await getJson('/reports/R-WRK23');
    expect(detail.body.updates.find((u: any) => u.internal)).toMatchObject({ note: 'Arborist visit booked' });
    expect(detail.body.report.routing).toMatchObject({ department: { id: 'parks' }, targetDays: 1 });
  });
});

describe('CSV export', () => {
  it('exports a date range with filters, quoted and formula-safe, without resident addresses; audited', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const weekAgo = new Date(Date.now() - 7 * DAY).toISOString().slice(0, 10);
    const response = await fetch(api(`/reports.csv?from=${weekAgo}&to=${today}`), { headers: asSession(cory) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename=reports-${weekAgo}-to-${today}.csv`);
    expect(response.headers.get('x-export-complete')).toBe('true');
    const csv = await response.text();
    const rows = csv.trim().split('\r\n');
    expect(rows[0]!.startsWith('reference,created_at,updated_at')).toBe(true);
    // The 8-day-old and 30-day-old reports are outside the range.
    expect(rows.slice(1).map((row) => row.split(',')[0])).toEqual(['R-WRK23', 'R-WRK24']);
    expect(csv).toContain(`"'=cmd|calc!A1 on the wall, ""big"""`);
    expect(csv).toContain(',Parks,');
    expect(csv).not.toContain('7777');
    expect(csv).not.toContain('sms:');

    const filtered = await (await fetch(api(`/reports.csv?from=${weekAgo}&to=${today}&department=parks&category=tree`), { headers: auth })).text();
    expect(filtered.trim().split('\r\n')).toHaveLength(2);

    for (const query of [
      '',
      `from=${today}`,
      'from=2026-02-31&to=2026-03-01',
      'from=2026-05-02&to=2026-05-01',
      'from=26-05-02&to=2026-05-03',
      `from=${today}&to=${today}&q=x`,
    ]) {
      const bad = await fetch(api(`/reports.csv?${query}`), { headers: auth });
      expect(bad.status, query).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/^Invalid request/);
    }
    const audit = (await listAudit(app.service.store, { actor: 'cory', limit: 50 })).find((e) => e.action === 'report.export');
    expect(audit?.details).toEqual({ from: weekAgo, to: today, rows: 2, complete: true });
  });
});

describe('the pages', () => {
  it("list the queues and filters, escape residents' words, and offer the export", async () => {
    const list = await (await page('/admin/reports?queue=unassigned')).text();
    expect(list).toContain('aria-current="page">Unassigned</a>');
    expect(list).toContain('R-WRK23');
    expect(list).not.toContain('R-WRK22');
    expect(list).toContain('action="/admin/api/reports.csv"');
    expect(list).toContain('Search looks at the reference, description, location and category of the newest 5,000 reports');

    const overdue = await (await page('/admin/reports?overdue=true')).text();
    expect(overdue).toContain('longest overdue first');
    expect(overdue).toContain('<span class="badge overdue">Overdue</span>');
    expect(overdue).toContain('Calle Ñandú &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(overdue).not.toContain(SCRIPT);

    expect((await page('/admin/reports?queue=everyone')).status).toBe(400);
  });

  it('assign, route, add an internal note, and fill the status note from a canned response', async () => {
    const assigned = await postForm('/admin/reports/R-WRK23/assign', { username: 'cory' });
    expect(assigned.status).toBe(303);
    expect(assigned.headers.get('location')).toBe('/admin/reports/R-WRK23?done=assigned');
    expect((await app.service.store.reports.get('R-WRK23'))?.assignee).toBe('cory');
    const refused = await postForm('/admin/reports/R-WRK23/assign', { username: 'ghost' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('No active staff account with that username');

    expect((await postForm('/admin/reports/R-WRK23/route', { department: 'works' })).status).toBe(303);
    expect((await app.service.store.reports.get('R-WRK23'))?.department).toBe('works');
    expect((await postForm('/admin/reports/R-WRK23/route', { department: '' })).status).toBe(303);
    expect(await app.service.store.reports.get('R-WRK23')).not.toHaveProperty('department');

    expect((await postForm('/admin/reports/R-WRK23/notes', { text: `Check ${SCRIPT}` })).status).toBe(303);
    expect((await postForm('/admin/reports/R-WRK23/notes', { text: ' ' })).status).toBe(400);

    // Canned responses: a tree one in English is offered for this English tree report.
    const canned = await postJson(
      api('/canned-replies'),
      { locale: 'en', category: 'tree', title: 'Tree crew booked', text: 'A tree crew will come this week.' },
      auth,
    );
    expect(canned.status).toBe(201);
    expect((await postJson(api('/canned-replies'), { locale: 'en', category: 'warp', title: 't', text: 'x' }, auth)).status).toBe(400);
    await postJson(api('/canned-replies'), { locale: 'es', category: 'tree', title: 'Cuadrilla', text: 'Vendrá esta semana.' }, auth);
    const detail = await (await page('/admin/reports/R-WRK23')).text();
    expect(detail).toContain('data-fills="note"');
    expect(detail).toContain('Tree crew booked');
    expect(detail).not.toContain('Cuadrilla');
    expect(detail).toContain('<script src="/admin/assets/canned-fill.js" defer></script>');
    expect(detail).toContain('<span class="badge internal">Internal note</span>');
    expect(detail).toContain('Check &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(detail).not.toContain(SCRIPT);
    expect(detail).toMatch(/data-field="assignee">\s*cory/);

    // Without the page's script: the canned response picked, nothing typed, is the note.
    const changed = await postForm('/admin/reports/R-WRK23/status', { status: 'in_progress', canned: canned.body.cannedReply.id });
    expect(changed.status).toBe(303);
    const updates = await app.service.store.reportUpdates.find({ field: 'reportId', equals: 'R-WRK23' });
    expect(updates.at(-1)).toMatchObject({ status: 'in_progress', note: 'A tree crew will come this week.' });
    expect((await page('/admin/assets/canned-fill.js')).status).toBe(200);
  });

  it('show the routing table to coordinators and let only admins change it', async () => {
    const asCoordinator = await (await page('/admin/routing', cory)).text();
    expect(asCoordinator).toContain('Only admins change these.');
    expect(asCoordinator).not.toContain('Save department');
    expect((await postForm('/admin/routing/departments', { id: 'x', name: 'X' }, cory)).status).toBe(403);

    const saved = await postForm('/admin/routing/departments', { id: 'sanitation', name: 'Sanitation', categories: ['trash', 'illegal_dumping'] });
    expect(saved.status).toBe(303);
    const clash = await postForm('/admin/routing/departments', { id: 'other', name: 'Other', categories: ['trash'] });
    expect(clash.status).toBe(400);
    expect(await clash.text()).toContain('trash is handled by Sanitation');
    expect((await postForm('/admin/routing/targets', { target_pothole: '4', target_tree: '1' })).status).toBe(303);
    expect((await postForm('/admin/routing/targets', { target_pothole: 'soon' })).status).toBe(400);
    expect((await postForm('/admin/routing/targets', { target_pothole: '999' })).status).toBe(400);
    const table = (await getJson('/routing')).body;
    expect(table.departments.map((d: any) => d.id)).toEqual(['parks', 'works', 'sanitation']);
    expect(table.targets).toContainEqual({ category: 'pothole', days: 4, isDefault: false });
    expect((await postForm('/admin/routing/departments/sanitation/delete', {})).status).toBe(303);
  });
});
