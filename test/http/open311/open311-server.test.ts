/**
 * CivicLine as an Open311 GeoReport v2 server over real HTTP (issue 19): every endpoint in JSON
 * and XML (the XML parsed), the `GET requests` filters and defaults (90 days, 1,000) and paging,
 * the spec's error bodies for 400 / 403 / 404 / 429, the API key lifecycle (made by an admin,
 * hashed at rest, revoked → 403), a POSTed request seen by staff with its status change served
 * back, a repeated POST filed once, and no resident's number, address, name or words in any
 * answer.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../../support/http.js';
import { child, fieldsOf, parseXml } from '../../support/xml.js';
import type { ReportRecord } from '../../../src/domain/records.js';
import type { Unsaved } from '../../../src/store/store.port.js';

const TOKEN = 'open311-server-test-admin-token';
const DAY = 86_400_000;
const now = Date.now();
// What residents wrote and who they are: none of it may be in any Open311 answer.
const PHONE = '+15551234567';
const RESIDENT = `sms:${PHONE}`;
const SECRET_WORDS = 'Call me at 555-867-5309, Jenny Residentname, 742 Evergreen Terrace';
const RESIDENT_NAME = 'Jenny Residentname';

let app: RunningApp;

function report(id: string, overrides: Partial<ReportRecord> & { ageDays?: number } = {}): Unsaved<ReportRecord> {
  const { ageDays = 1, ...rest } = overrides;
  const at = new Date(now - ageDays * DAY);
  return {
    _id: id,
    category: 'pothole',
    status: 'open',
    statusGroup: 'open',
    location: { text: '5th and Main', point: { lat: 39.7817, lon: -89.6501 } },
    description: SECRET_WORDS,
    photos: [{ url: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1', contentType: 'image/jpeg' }],
    residentAddress: RESIDENT,
    channel: 'sms',
    locale: 'en',
    createdAt: at,
    updatedAt: at,
    ...rest,
  };
}

const SEEDED = [
  report('R-AAA2A', { ageDays: 1 }),
  report('R-AAA2B', { ageDays: 2, category: 'graffiti', status: 'fixed', statusGroup: 'fixed', statusNote: 'Painted over' }),
  report('R-AAA2C', { ageDays: 3, category: 'streetlight', status: 'closed', statusGroup: 'closed', location: { text: 'Oak Park' } }),
  report('R-AAA2D', { ageDays: 120, category: 'pothole' }),
  report('R-AAA2E', { ageDays: 5, category: 'pothole', status: 'in_progress' }),
];

async function get(path: string): Promise<Response> {
  return fetch(`${app.url}/open311/v2/${path}`);
}

async function json<T = any>(path: string, status = 200): Promise<T> {
  const response = await get(path);
  const text = await response.text();
  expect(response.status, `${path}: ${text}`).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json; charset=utf-8/);
  assertNoResident(text);
  return JSON.parse(text) as T;
}

async function xml(path: string, status = 200) {
  const response = await get(path);
  const text = await response.text();
  expect(response.status, `${path}: ${text}`).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^text\/xml; charset=utf-8/);
  assertNoResident(text);
  return parseXml(text);
}

function post(fields: Record<string, string>, format = 'json'): Promise<Response> {
  return fetch(`${app.url}/open311/v2/requests.${format}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

/** Every way a resident's identity could leak: their number, address, name and words. */
function assertNoResident(text: string): void {
  for (const secret of [PHONE, '5551234567', RESIDENT, '867-5309', RESIDENT_NAME, 'Evergreen', 'twilio.com', 'jenny@example.org', '(555) 201 9999']) {
    expect(text, `leaked ${secret}`).not.toContain(secret);
  }
}

function admin(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${app.url}/admin/api${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
  });
}

async function newKey(name = 'City CRM', perMinute?: number): Promise<{ apiKey: string; key: { id: string } }> {
  const response = await admin('/open311/keys', { method: 'POST', body: JSON.stringify({ name, ...(perMinute ? { perMinute } : {}) }) });
  expect(response.status).toBe(201);
  return (await response.json()) as { apiKey: string; key: { id: string } };
}

beforeAll(async () => {
  app = await startTestApp({ ADMIN_TOKEN: TOKEN, SEED_DEMO_DATA: 'false', CITY_TIMEZONE: 'America/New_York', CITY_NAME: 'Springfield' });
  for (const r of SEEDED) await app.service.store.reports.insert(r);
});
afterAll(async () => {
  await app?.close();
});

describe('discovery and services', () => {
  it('discovery names this endpoint and its formats, in JSON and XML', async () => {
    const body = await json('discovery.json');
    expect(body.endpoints[0]).toMatchObject({
      specification: 'http://wiki.open311.org/GeoReport_v2',
      url: `${app.url}/open311/v2`,
      formats: ['text/xml', 'application/json'],
    });
    const doc = await xml('discovery.xml');
    expect(doc.name).toBe('discovery');
    const endpoint = child(child(doc, 'endpoints'), 'endpoint');
    expect(child(endpoint, 'formats').children.map((f) => f.text)).toEqual(['text/xml', 'application/json']);
  });

  it('lists one service per category with name, keywords and group in the default language', async () => {
    const services = await json<Record<string, unknown>[]>('services.json');
    expect(services.map((s) => s.service_code)).toContain('pothole');
    expect(services).toHaveLength(13);
    const pothole = services.find((s) => s.service_code === 'pothole');
    expect(pothole).toEqual({
      service_code: 'pothole',
      service_name: 'Pothole',
      description: 'Pothole',
      metadata: true,
      type: 'realtime',
      keywords: expect.stringContaining('pothole'),
      group: 'Streets and sidewalks',
    });
    expect(services.find((s) => s.service_code === 'noise')?.metadata).toBe(false);
    const doc = await xml('services.xml');
    expect(doc.name).toBe('services');
    expect(doc.children).toHaveLength(13);
    expect(fieldsOf(doc.children[0]!)).toMatchObject({ service_code: 'pothole', service_name: 'Pothole', metadata: 'true', type: 'realtime' });
    // No extension: XML, the spec's required format.
    expect((await xml('services')).name).toBe('services');
  });

  it('answers service definitions (attributes where a category has some, none otherwise) and 404 for unknown codes', async () => {
    const definition = await json('services/pothole.json');
    expect(definition).toEqual({
      service_code: 'pothole',
      attributes: [
        expect.objectContaining({
          variable: true,
          code: 'size',
          datatype: 'singlevaluelist',
          required: false,
          order: 1,
          values: expect.arrayContaining([{ key: 'large', name: expect.any(String) }]),
        }),
      ],
    });
    expect(await json('services/noise.json')).toEqual({ service_code: 'noise', attributes: [] });
    const doc = await xml('services/pothole.xml');
    expect(doc.name).toBe('service_definition');
    const attribute = child(child(doc, 'attributes'), 'attribute');
    expect(child(attribute, 'code').text).toBe('size');
    expect(child(attribute, 'values').children.map((v) => fieldsOf(v).key)).toEqual(['small', 'medium', 'large']);
    expect(await json('services/nonsense.json', 404)).toEqual([{ code: 404, description: expect.stringContaining('nonsense') }]);
    const error = await xml('services/nonsense.xml', 404);
    expect(error.name).toBe('errors');
    expect(fieldsOf(child(error, 'error'))).toMatchObject({ code: '404' });
  });
});

describe('GET requests', () => {
  it('answers the last 90 days by default, newest first, with the spec fields and no resident', async () => {
    const requests = await json<Record<string, unknown>[]>('requests.json');
    expect(requests.map((r) => r.service_request_id)).toEqual(['R-AAA2A', 'R-AAA2B', 'R-AAA2C', 'R-AAA2E']);
    expect(Object.keys(requests[0]!)).toEqual([
      'service_request_id',
      'status',
      'status_notes',
      'service_name',
      'service_code',
      'description',
      'agency_responsible',
      'service_notice',
      'requested_datetime',
      'updated_datetime',
      'expected_datetime',
      'address',
      'address_id',
      'zipcode',
      'lat',
      'long',
      'media_url',
    ]);
    expect(requests[0]).toMatchObject({
      status: 'open',
      service_code: 'pothole',
      service_name: 'Pothole',
      description: null,
      media_url: null,
      address: '5th and Main',
      lat: 39.7817,
      long: -89.6501,
    });
    // ISO 8601 with the city's offset.
    expect(requests[0]!.requested_datetime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-0[45]:00$/);
    expect(new Date(String(requests[0]!.requested_datetime)).getTime()).toBe(Math.floor((now - DAY) / 1000) * 1000);
    // fixed and closed are both `closed`; the latest public staff note is status_notes.
    expect(requests[1]).toMatchObject({ status: 'closed', status_notes: 'Painted over', expected_datetime: null });
    expect(requests[2]).toMatchObject({ status: 'closed', lat: null, long: null, address: 'Oak Park' });
  });

  it('filters by status, service_code (lists), dates, and ids (which override the rest)', async () => {
    const ids = async (query: string) => (await json<{ service_request_id: string }[]>(`requests.json?${query}`)).map((r) => r.service_request_id);
    expect(await ids('status=open')).toEqual(['R-AAA2A', 'R-AAA2E']);
    expect(await ids('status=closed')).toEqual(['R-AAA2B', 'R-AAA2C']);
    expect(await ids('status=open,closed&service_code=graffiti,streetlight')).toEqual(['R-AAA2B', 'R-AAA2C']);
    expect(await ids('service_code=pothole')).toEqual(['R-AAA2A', 'R-AAA2E']);
    const iso = (days: number) => encodeURIComponent(new Date(now - days * DAY).toISOString());
    expect(await ids(`start_date=${iso(200)}&end_date=${iso(100)}`)).toEqual(['R-AAA2D']);
    expect(await ids(`start_date=${iso(2.5)}`)).toEqual(['R-AAA2A', 'R-AAA2B']);
    // The same moment with a `+00:00` offset a client forgot to encode (it arrives as a space).
    const unencoded = new Date(now - 2.5 * DAY).toISOString().replace('Z', '+00:00');
    expect(await ids(`start_date=${unencoded}`)).toEqual(['R-AAA2A', 'R-AAA2B']);
    expect(await ids(`service_request_id=R-AAA2D,r-aaa2c,R-NOPE2&status=open`)).toEqual(['R-AAA2D', 'R-AAA2C']);
    expect(await ids('jurisdiction_id=springfield.gov&status=open')).toEqual(['R-AAA2A', 'R-AAA2E']);
  });

  it('pages with page and page_size', async () => {
    const ids = async (query: string) => (await json<{ service_request_id: string }[]>(`requests.json?${query}`)).map((r) => r.service_request_id);
    expect(await ids('page_size=2')).toEqual(['R-AAA2A', 'R-AAA2B']);
    expect(await ids('page_size=2&page=2')).toEqual(['R-AAA2C', 'R-AAA2E']);
    expect(await ids('page_size=2&page=3')).toEqual([]);
  });

  it('caps an answer at 1,000 requests', async () => {
    const store = app.service.store;
    // Ids need only be unique here: the store does not check the reference alphabet.
    const many = Array.from({ length: 1005 }, (_, i) => report(`R-BULK-${i}`, { ageDays: 10 + i / 10_000 }));
    for (const r of many) await store.reports.insert(r);
    const all = await json<unknown[]>('requests.json');
    expect(all).toHaveLength(1000);
    expect((await json<unknown[]>('requests.json?page=2')).length).toBe(1005 + 4 - 1000);
    for (const r of many) await store.reports.delete(r._id);
  });

  it('answers requests/{id} as a one-request list, 404 otherwise, in both formats', async () => {
    expect(await json('requests/R-AAA2B.json')).toEqual([expect.objectContaining({ service_request_id: 'R-AAA2B', status: 'closed' })]);
    const doc = await xml('requests/R-AAA2B.xml');
    expect(doc.name).toBe('service_requests');
    expect(fieldsOf(child(doc, 'request'))).toMatchObject({ service_request_id: 'R-AAA2B', status: 'closed', status_notes: 'Painted over', description: '' });
    expect(await json('requests/R-NOPE2.json', 404)).toEqual([{ code: 404, description: expect.any(String) }]);
    const list = await xml('requests.xml?status=open');
    expect(list.children.map((r) => fieldsOf(r).service_request_id)).toEqual(['R-AAA2A', 'R-AAA2E']);
  });

  it('refuses bad parameters with 400 and the spec error list', async () => {
    for (const query of [
      'status=pending',
      'start_date=yesterday',
      'start_date=2024-05-01T10:00:00',
      // A day that does not exist (Date would roll it over to March 2).
      'start_date=2024-02-31',
      'end_date=2023-02-29T10:00:00Z',
      'page=0',
      'page_size=1001',
      'page_size=abc',
      'status=open&status=closed',
    ]) {
      const body = await json<{ code: number; description: string }[]>(`requests.json?${query}`, 400);
      expect(body, query).toEqual([{ code: 400, description: expect.any(String) }]);
    }
    const later = encodeURIComponent(new Date(now).toISOString());
    const earlier = encodeURIComponent(new Date(now - DAY).toISOString());
    await json(`requests.json?start_date=${later}&end_date=${earlier}`, 400);
    const doc = await xml('requests.xml?status=nope', 400);
    expect(fieldsOf(child(doc, 'error'))).toEqual({ code: '400', description: expect.stringContaining('status') });
    expect(await json('requests.csv', 404)).toEqual([{ code: 404, description: expect.stringContaining('.csv') }]);
    expect(await json('nothing.json', 404)).toEqual([{ code: 404, description: expect.any(String) }]);
  });
});

describe('POST requests and API keys', () => {
  it('makes keys that are shown once and kept hashed; lists them with their last use; revoked keys get 403', async () => {
    const { apiKey, key } = await newKey('FixMyStreet');
    expect(apiKey).toMatch(/^cl_[23456789A-Z]{10}_[A-Za-z0-9_-]{43}$/);
    const stored = await app.service.store.open311Keys.get(key.id);
    const secret = apiKey.split('_').slice(2).join('_');
    expect(stored?.secretHash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(secret);
    const listed = (await (await admin('/open311/keys')).json()) as { keys: Record<string, unknown>[] };
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(JSON.stringify(listed)).not.toContain(stored?.secretHash);
    expect(listed.keys.find((k) => k.id === key.id)).toMatchObject({ name: 'FixMyStreet', active: true });
    expect(listed.keys.find((k) => k.id === key.id)?.lastUsedAt).toBeUndefined();

    const filed = await post({ api_key: apiKey, service_code: 'graffiti', address_string: 'City Hall' });
    expect(filed.status).toBe(200);
    const afterUse = (await (await admin('/open311/keys')).json()) as { keys: Record<string, unknown>[] };
    expect(afterUse.keys.find((k) => k.id === key.id)?.lastUsedAt).toEqual(expect.any(String));

    expect((await admin(`/open311/keys/${key.id}/revoke`, { method: 'POST' })).status).toBe(200);
    const refused = await post({ api_key: apiKey, service_code: 'graffiti', address_string: 'City Hall' });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual([{ code: 403, description: expect.stringContaining('api_key') }]);
    const actions = (await (await fetch(`${app.url}/admin/api/audit?limit=50`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      entries: { action: string; target?: string; actor: string }[];
    };
    expect(actions.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['open311.key.create', 'open311.key.revoke', 'open311.request']));
    const trail = (await (await admin(`/open311/keys/${key.id}/audit`)).json()) as { entries: { action: string; actor: string }[] };
    expect(trail.entries).toEqual([expect.objectContaining({ action: 'open311.request', actor: `open311:${key.id}` })]);
  });

  it('refuses missing, malformed and unknown keys with 403 in either format', async () => {
    for (const apiKey of ['', 'nope', `cl_ABCDEFGHJK_${'x'.repeat(43)}`]) {
      const response = await post({ api_key: apiKey, service_code: 'pothole', lat: '39.78', long: '-89.65' });
      expect(response.status).toBe(403);
    }
    const response = await post({ service_code: 'pothole', lat: '39.78', long: '-89.65' }, 'xml');
    expect(response.status).toBe(403);
    expect(parseXml(await response.text()).name).toBe('errors');
    // A key needs a name.
    expect((await admin('/open311/keys', { method: 'POST', body: JSON.stringify({ name: '' }) })).status).toBe(400);
  });

  it('files a request as a report staff see; its status change is served back and reaches no resident', async () => {
    const { apiKey, key } = await newKey('311 app');
    const response = await post({
      api_key: apiKey,
      jurisdiction_id: 'springfield.gov',
      service_code: 'pothole',
      lat: '39.7901',
      long: '-89.6440',
      address_string: '100 N 5th St',
      description: 'Deep pothole in the bus lane. Caller: Jenny Residentname, (555) 201 9999, jenny@example.org',
      media_url: 'https://media.example.org/p/1.jpg',
      'attribute[size]': 'large',
      email: 'jenny@example.org',
      first_name: 'Jenny',
      last_name: 'Residentname',
      phone: '5552019999',
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const [answer] = JSON.parse(text) as { service_request_id: string; token?: string }[];
    expect(answer?.service_request_id).toMatch(/^R-[23456789A-Z]{5}$/);
    // Filed at once: the id, and no token (the spec gives one or the other).
    expect(answer).not.toHaveProperty('token');
    const ref = answer!.service_request_id;

    // A report like any other, for staff.
    const detail = await admin(`/reports/${ref}`);
    expect(detail.status).toBe(200);
    const stored = await app.service.store.reports.get(ref);
    expect(stored).toMatchObject({
      channel: 'open311',
      residentAddress: `open311:${key.id}`,
      category: 'pothole',
      statusGroup: 'open',
      open311: { keyId: key.id, mediaUrl: 'https://media.example.org/p/1.jpg', attributes: [{ code: 'size', value: 'large' }] },
    });
    expect(stored?.openCell).toBeDefined();
    expect(JSON.stringify(stored)).not.toContain('5552019999');
    const listed = (await (await admin('/reports?channel=open311')).json()) as { reports: { _id: string }[] };
    expect(listed.reports.map((r) => r._id)).toContain(ref);

    // Served back without its description (a caller's name cannot be told from other words), with the link given.
    const [served] = await json<Record<string, unknown>[]>(`requests/${ref}.json`);
    expect(served).toMatchObject({
      status: 'open',
      service_code: 'pothole',
      description: null,
      address: '100 N 5th St',
      lat: 39.7901,
      long: -89.644,
      media_url: 'https://media.example.org/p/1.jpg',
    });
    // The request's token (kept for clients that ask tokens/ anyway) turns into the request.
    const token = stored!.open311Token!;
    expect(await json(`tokens/${token}.json`)).toEqual([{ service_request_id: ref, token }]);
    expect(fieldsOf(child(await xml(`tokens/${token}.xml`), 'request'))).toEqual({ service_request_id: ref, token });
    await json('tokens/not-a-token.json', 404);

    // Staff fix it with a note: it is closed and noted for Open311, and nobody is sent anything.
    const changed = await admin(`/reports/${ref}/status`, { method: 'POST', body: JSON.stringify({ status: 'fixed', note: 'Patched by crew 4' }) });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as { notification: unknown }).notification).toEqual({ state: 'skipped', reason: 'no_resident' });
    const [after] = await json<Record<string, unknown>[]>(`requests/${ref}.json`);
    expect(after).toMatchObject({ status: 'closed', status_notes: 'Patched by crew 4', expected_datetime: null });
    // An internal note never becomes status_notes.
    await admin(`/reports/${ref}/notes`, { method: 'POST', body: JSON.stringify({ text: 'internal: caller is difficult' }) });
    expect((await json<Record<string, unknown>[]>(`requests/${ref}.json`))[0]?.status_notes).toBe('Patched by crew 4');
    expect(await app.service.store.outbound.find({ field: 'address', equals: `open311:${key.id}` })).toEqual([]);
    // Nobody to ask "is it really fixed?": no survey job for the key's marker address.
    expect(await app.service.store.jobs.find({ field: 'address', equals: `open311:${key.id}` })).toEqual([]);

    // Its staff page says where it came from, with the client's link and attributes.
    const page = await fetch(`${app.url}/admin/reports/${ref}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('Posted through Open311');
    expect(html).toContain('href="https://media.example.org/p/1.jpg"');
    expect(html).toContain('large');
  });

  it('has an admin page that makes a key (shown once), lists keys with their last use, and revokes them', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const made = await fetch(`${app.url}/admin/open311/keys`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name: 'Page <b>client</b>', perMinute: '30' }).toString(),
    });
    const page = await made.text();
    expect(made.status).toBe(200);
    expect(made.headers.get('cache-control')).toBe('no-store');
    const shown = /<code id="new-open311-key">(cl_[^<]+)<\/code>/.exec(page)?.[1];
    expect(shown).toMatch(/^cl_/);
    expect(page).toContain('Page &lt;b&gt;client&lt;/b&gt;');
    const id = shown!.split('_')[1]!;
    const listing = await (await fetch(`${app.url}/admin/open311`, { headers: auth })).text();
    expect(listing).toContain(id);
    expect(listing).not.toContain(shown!);
    const revoked = await fetch(`${app.url}/admin/open311/keys/${id}/revoke`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
      redirect: 'manual',
    });
    expect(revoked.status).toBe(303);
    expect((await post({ api_key: shown!, service_code: 'park', address_string: 'Pond' })).status).toBe(403);
  });

  it('merges an Open311 request into another without making its system a follower', async () => {
    const { apiKey, key } = await newKey('Merging client');
    const ids: string[] = [];
    for (const description of ['Light out', 'Light out again']) {
      const response = await post({
        api_key: apiKey,
        service_code: 'streetlight',
        lat: '39.7001',
        long: '-89.6001',
        description,
        'attribute[pole_number]': 'A-113',
      });
      ids.push(((await response.json()) as { service_request_id: string }[])[0]!.service_request_id);
    }
    const merged = await admin(`/reports/${ids[1]}/merge`, { method: 'POST', body: JSON.stringify({ into: ids[0] }) });
    expect(merged.status, await merged.clone().text()).toBe(200);
    expect(await app.service.store.reportFollowers.find({ field: 'address', equals: `open311:${key.id}` })).toEqual([]);
    expect((await json<Record<string, unknown>[]>(`requests/${ids[1]}.json`))[0]).toMatchObject({ status: 'closed' });
  });

  it('answers in XML too', async () => {
    const { apiKey } = await newKey('XML client');
    const response = await post({ api_key: apiKey, service_code: 'tree', address_string: 'Elm St and 2nd' }, 'xml');
    expect(response.status).toBe(200);
    const doc = parseXml(await response.text());
    expect(doc.name).toBe('service_requests');
    expect(fieldsOf(child(doc, 'request')).service_request_id).toMatch(/^R-/);
  });

  it('files a retried POST (same key, same fields, within 10 minutes) once', async () => {
    const { apiKey } = await newKey('Retrying client');
    const fields = { api_key: apiKey, service_code: 'trash', address_string: '12 Oak St', description: 'Missed pickup' };
    const answers = await Promise.all([post(fields), post(fields), post(fields)]);
    const ids = await Promise.all(answers.map(async (r) => ((await r.json()) as { service_request_id: string }[])[0]?.service_request_id));
    expect(new Set(ids).size).toBe(1);
    const other = await post({ ...fields, description: 'Missed pickup again' });
    expect(((await other.json()) as { service_request_id: string }[])[0]?.service_request_id).not.toBe(ids[0]);
  });

  it('refuses bad input with 400 and says what is wrong', async () => {
    const { apiKey } = await newKey('Sloppy client');
    const cases: [Record<string, string>, RegExp][] = [
      [{ service_code: 'pothole' }, /location/i],
      [{ address_string: 'x' }, /service_code/],
      [{ service_code: 'pothole', lat: '91', long: '0' }, /lat/],
      [{ service_code: 'pothole', lat: '10', long: '-181' }, /long/],
      [{ service_code: 'pothole', lat: '10' }, /lat and long/],
      [{ service_code: 'pothole', lat: 'NaN', long: '1' }, /lat/],
      [{ service_code: 'pothole', address_id: '123' }, /address_id/],
      [{ service_code: 'pothole', address_string: 'x', media_url: 'javascript:alert(1)' }, /media_url/],
      [{ service_code: 'pothole', address_string: 'x', media_url: 'https://user:pw@example.org/a.jpg' }, /media_url/],
      [{ service_code: 'pothole', address_string: 'x', 'attribute[size]': 'huge' }, /size/],
      [{ service_code: 'noise', address_string: 'x', 'attribute[name]': 'Jenny' }, /attribute\[name\]/],
      [{ service_code: 'pothole', address_string: 'x', description: 'y'.repeat(4001) }, /description/],
    ];
    for (const [fields, problem] of cases) {
      const response = await post({ api_key: apiKey, ...fields });
      const body = (await response.json()) as { code: number; description: string }[];
      expect(response.status, JSON.stringify(fields)).toBe(400);
      expect(body.every((e) => e.code === 400)).toBe(true);
      expect(body.map((e) => e.description).join(' '), JSON.stringify(fields)).toMatch(problem);
    }
    // An unknown service: 404, as for GET services/{code}.
    const unknown = await post({ api_key: apiKey, service_code: 'unicorn', address_string: 'x' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual([{ code: 404, description: expect.stringMatching(/service_code unicorn/) }]);
    const tooBig = await post({ api_key: apiKey, service_code: 'pothole', address_string: 'x', description: 'y'.repeat(40_000) });
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toEqual([{ code: 413, description: expect.any(String) }]);
    const malformed = await fetch(`${app.url}/open311/v2/requests.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"api_key":',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual([{ code: 400, description: expect.any(String) }]);
    expect((await fetch(`${app.url}/open311/v2/services.json`, { method: 'DELETE' })).status).toBe(405);
  });

  it('holds each key to its own rate limit (429 with the spec error body), other keys unaffected', async () => {
    const slow = await newKey('Slow client', 3);
    const fast = await newKey('Other client', 100);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post({ api_key: slow.apiKey, service_code: 'park', address_string: `Bench ${i}` })).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const refused = await post({ api_key: slow.apiKey, service_code: 'park', address_string: 'Bench 9' }, 'xml');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(fieldsOf(child(parseXml(await refused.text()), 'error'))).toMatchObject({ code: '429' });
    expect((await post({ api_key: fast.apiKey, service_code: 'park', address_string: 'Bench 1' })).status).toBe(200);
  });
});

describe('no resident in any answer', () => {
  it('serves no description, photo or address of a resident or caller, in any list', async () => {
    // assertNoResident runs on every answer above; the full lists once more, in both formats.
    await json('requests.json?status=open,closed');
    await xml('requests.xml');
    for (const r of SEEDED) {
      await json(`requests/${r._id}.json`);
      await xml(`requests/${r._id}.xml`);
    }
  });
});

describe('reading without a key', () => {
  it('is limited per client address (RATE_LIMIT_OPEN311_READS_PER_MINUTE): a 429 with the spec error body and Retry-After', async () => {
    const limited = await startTestApp({ RATE_LIMIT_OPEN311_READS_PER_MINUTE: '3', SEED_DEMO_DATA: 'false' });
    try {
      const statuses: number[] = [];
      let refused: Response | undefined;
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${limited.url}/open311/v2/services.json`);
        statuses.push(response.status);
        if (response.status === 429) refused = response;
        else await response.arrayBuffer();
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await refused!.json()).toEqual([{ code: 429, description: expect.stringContaining('Too many requests') }]);
    } finally {
      await limited.close();
    }
  });
});
