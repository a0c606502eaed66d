/**
 * The fake Open311 server's controls and misbehaviours (test/support/fake-open311.ts), which the
 * Open311 client's tests will lean on: slow and failing answers, received POSTs, status changes a
 * poller sees, the id and updated_after filters, jurisdictions and paging.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpen311, type FakeOpen311, type FakeOpen311Options } from '../support/fake-open311.js';

let fake: FakeOpen311 | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function start(options: FakeOpen311Options = {}): Promise<FakeOpen311> {
  fake = await startFakeOpen311(options);
  return fake;
}

async function getJson(url: string): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json(), headers: response.headers };
}

function post(server: FakeOpen311, fields: Record<string, string>, format = 'json'): Promise<Response> {
  return fetch(`${server.url}/requests.${format}`, { method: 'POST', body: new URLSearchParams(fields) });
}

const GRAFFITI = { service_code: 'GRAFFITI', lat: '40.1', long: '-74.2', description: 'Tag on the library wall' };

describe('fake Open311 server', () => {
  it('files a request, lists what it received, and answers it by id in JSON and XML', async () => {
    const server = await start();
    const response = await post(server, { ...GRAFFITI, api_key: server.apiKey });
    expect(response.status).toBe(200);
    const [answer] = (await response.json()) as Array<{ service_request_id: string }>;
    expect(server.received).toHaveLength(1);
    expect(server.received[0]).toMatchObject({ format: 'json', status: 200, form: { service_code: 'GRAFFITI', description: 'Tag on the library wall' } });
    expect(server.received[0]!.created?.service_request_id).toBe(answer!.service_request_id);

    const byId = await getJson(`${server.url}/requests/${answer!.service_request_id}.json`);
    expect(byId.body).toEqual([expect.objectContaining({ service_request_id: answer!.service_request_id, status: 'open', lat: 40.1, long: -74.2 })]);
    const xml = await (await fetch(`${server.url}/requests/${answer!.service_request_id}.xml`)).text();
    expect(xml).toContain(`<service_requests><request><service_request_id>${answer!.service_request_id}</service_request_id>`);
  });

  it('records refused POSTs too (a client retrying with a bad key shows here), with the status it answered', async () => {
    const server = await start();
    expect((await post(server, { ...GRAFFITI, api_key: 'wrong' })).status).toBe(403);
    expect((await post(server, GRAFFITI)).status).toBe(403);
    expect(server.received.map((p) => p.status)).toEqual([403, 403]);
    expect(server.received.every((p) => p.created === undefined)).toBe(true);
  });

  it('takes multivaluelist attributes as attribute[code][] and refuses a missing required one', async () => {
    const server = await start();
    const form = new URLSearchParams({ service_code: 'POTHOLE', address_string: '5th and Main', api_key: server.apiKey });
    expect((await fetch(`${server.url}/requests.json`, { method: 'POST', body: form })).status).toBe(400);
    form.append('attribute[SIZE]', 'large');
    form.append('attribute[HAZARDS][]', 'water');
    form.append('attribute[HAZARDS][]', 'debris');
    expect((await fetch(`${server.url}/requests.json`, { method: 'POST', body: form })).status).toBe(200);
    expect(server.received.at(-1)!.created?.attributes).toEqual({ SIZE: 'large', HAZARDS: ['water', 'debris'] });
  });

  it('changes a status with updated_datetime, so a client polling by id or by updated_after sees it', async () => {
    let clock = new Date('2025-03-01T12:00:00Z');
    const server = await start({ updatedAfter: true, now: () => clock });
    const [filed] = (await (await post(server, { ...GRAFFITI, api_key: server.apiKey })).json()) as Array<{ service_request_id: string }>;
    const id = filed!.service_request_id;
    const since = '2025-03-01T12:30:00Z';
    expect((await getJson(`${server.url}/requests.json?updated_after=${since}`)).body).toEqual([]);

    clock = new Date('2025-03-01T13:00:00Z');
    server.setStatus(id, 'closed', { notes: 'Painted over' });
    const [polled] = (await getJson(`${server.url}/requests/${id}.json`)).body;
    expect(polled).toMatchObject({ status: 'closed', status_notes: 'Painted over', updated_datetime: '2025-03-01T13:00:00.000Z' });
    expect((await getJson(`${server.url}/requests.json?updated_after=${since}`)).body.map((r: any) => r.service_request_id)).toEqual([id]);
  });

  it('ignores updated_after unless told to support it (it is not GeoReport v2)', async () => {
    const server = await start();
    const all = (await getJson(`${server.url}/requests.json`)).body;
    expect((await getJson(`${server.url}/requests.json?updated_after=2999-01-01T00:00:00Z`)).body).toEqual(all);
  });

  it('answers a comma list of service_request_id, ignoring ids it does not have', async () => {
    const server = await start();
    const [a, b] = server.requests();
    const { body } = await getJson(`${server.url}/requests.json?service_request_id=${a!.service_request_id},nope,${b!.service_request_id}`);
    expect(body.map((r: any) => r.service_request_id).sort()).toEqual([a!.service_request_id, b!.service_request_id].sort());
  });

  it('is slow when told to be', async () => {
    const server = await start({ latencyMs: 150 });
    const started = Date.now();
    await getJson(`${server.url}/services.json`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('fails the next exchanges on demand, then answers again; a 503 says when to retry', async () => {
    const server = await start();
    server.failNext(2, 503);
    const first = await getJson(`${server.url}/services.json`);
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('1');
    expect(first.body).toEqual([{ code: 503, description: 'Service unavailable' }]);
    expect((await post(server, { ...GRAFFITI, api_key: server.apiKey })).status).toBe(503);
    expect((await getJson(`${server.url}/services.json`)).status).toBe(200);
    expect(server.hits.map((h) => h.status)).toEqual([503, 503, 200]);
    // A failed POST never reached the store: nothing was received.
    expect(server.received).toEqual([]);
  });

  it('fails a share of exchanges with failRate (replayable by seed), and always with failRate 1', async () => {
    const statuses = async (seed: number) => {
      const server = await startFakeOpen311({ failRate: 0.5, failStatus: 500, seed });
      const got: number[] = [];
      for (let i = 0; i < 20; i++) got.push((await fetch(`${server.url}/services.json`)).status);
      await server.close();
      return got;
    };
    const run = await statuses(7);
    expect(run).toEqual(await statuses(7));
    expect(run.filter((s) => s === 500).length).toBeGreaterThan(3);
    expect(run.filter((s) => s === 200).length).toBeGreaterThan(3);

    const server = await start({ failRate: 1 });
    expect((await fetch(`${server.url}/services.json`)).status).toBe(503);
    server.set({ failRate: 0 });
    expect((await fetch(`${server.url}/services.json`)).status).toBe(200);
  });

  it('changes mode while running (a server that starts sending bad XML)', async () => {
    const server = await start();
    expect(await (await fetch(`${server.url}/services.xml`)).text()).toMatch(/<\/services>$/);
    server.set({ mode: 'malformed-xml' });
    expect(await (await fetch(`${server.url}/services.xml`)).text()).not.toMatch(/<\/services>$/);
  });

  it('requires its jurisdiction_id when it has one: 400 without, 404 for another', async () => {
    const server = await start({ jurisdictionId: 'springfield.gov' });
    expect((await fetch(`${server.url}/services.json`)).status).toBe(400);
    expect((await fetch(`${server.url}/services.json?jurisdiction_id=shelbyville.gov`)).status).toBe(404);
    expect((await fetch(`${server.url}/services.json?jurisdiction_id=springfield.gov`)).status).toBe(200);
  });

  it('pages with page/page_size when told to, and caps an answer at 1000 requests', async () => {
    const server = await start({ paging: true, recentRequests: 1003 });
    expect((await getJson(`${server.url}/requests.json`)).body).toHaveLength(1000);
    const first = (await getJson(`${server.url}/requests.json?page=1&page_size=2`)).body;
    const second = (await getJson(`${server.url}/requests.json?page=2&page_size=2`)).body;
    expect(first).toHaveLength(2);
    expect(second).toHaveLength(2);
    expect(second[0].service_request_id).not.toBe(first[0].service_request_id);
  });

  it('answers a token for a batch service, and the token resolves to the id', async () => {
    const server = await start();
    const [answer] = (await (await post(server, { service_code: 'STREETLIGHT', address_string: '12 Elm St', api_key: server.apiKey })).json()) as Array<{
      token?: string;
      service_request_id?: string;
    }>;
    expect(answer!.service_request_id).toBeUndefined();
    const { body } = await getJson(`${server.url}/tokens/${answer!.token}.json`);
    expect(body).toEqual([{ service_request_id: server.received[0]!.created!.service_request_id, token: answer!.token }]);
  });
});
