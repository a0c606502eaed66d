/**
 * CivicLine as an Open311 client (issue 19) against the fake city server: a new report is
 * forwarded once, retried for as long as an outage lasts, refused for good on a 4xx that is the
 * report's, sent after a restart, and the city's "closed" comes back as a closed report the
 * resident is told about once. The end-to-end test goes from a resident's signed Twilio webhook
 * to the SMS that tells them the city closed it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createService, type Service } from '../../src/service.js';
import { OPEN311_FORWARD_JOB, open311ForwardJobId } from '../../src/domain/open311-outbox.js';
import { open311ClientJobHandlers, open311Status, pollOpenRequests, saveServiceMap } from '../../src/staff/open311-client.js';
import { startFakeOpen311, type FakeOpen311, type FakeService } from '../support/fake-open311.js';
import { freshTestStore } from '../support/test-store.js';
import { startTestApp, withProviderFakes, type RunningApp } from '../support/http.js';
import { messageSid, postTwilio, startFakeTwilio, twilioFixture, twimlMessages, type FakeTwilio } from '../support/twilio.js';
import { referenceIn } from '../support/harness.js';
import { homeView } from '../../src/http/admin/pages/home.page.js';
import { impactNumbers } from '../../src/staff/impact.js';
import { changeReportStatus } from '../../src/staff/report-desk.js';
import { createOpen311Key } from '../../src/staff/open311-keys.js';

/** The city's services as its server names them (the map below ties categories to them). */
const CITY_SERVICES: FakeService[] = [
  { service_code: 'ROAD-HOLE', service_name: 'Pothole', description: 'Holes in the road', type: 'realtime', keywords: 'pothole', group: 'streets' },
  { service_code: 'graffiti', service_name: 'Graffiti', description: 'Paint on walls', type: 'realtime', keywords: 'paint', group: 'sanitation' },
];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A service on a data folder (kept, so a second service can open it) forwarding to `fake`, with a clock the test moves. */
async function cityAndService(fake: FakeOpen311, apiKey = fake.apiKey): Promise<{ open(): Promise<Service>; clock: { now: Date } }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-o311-'));
  const store = freshTestStore();
  const clock = { now: new Date('2026-11-20T15:00:00Z') };
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', OPEN311_ENDPOINT: fake.url, OPEN311_API_KEY: apiKey, ...store.env });
  const opened: Service[] = [];
  cleanups.push(async () => {
    for (const service of opened) await service.close().catch(() => undefined);
    await store.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    clock,
    async open() {
      const service = await createService(config, pino({ level: 'silent' }), { now: () => clock.now, open311TimeoutMs: 2000 });
      opened.push(service);
      return service;
    },
  };
}

async function fakeCity(): Promise<FakeOpen311> {
  const fake = await startFakeOpen311({ services: CITY_SERVICES, recentRequests: 0, oldRequests: 0 });
  cleanups.push(() => fake.close());
  return fake;
}

/** A city server whose every POST requests.json answers `status` with `body` (a proxy, an odd server). */
async function stubCity(status: number, body: string, contentType: string): Promise<{ fake: FakeOpen311; posts: () => number }> {
  let posts = 0;
  const server = createServer((req, res) => {
    if (req.method === 'POST') posts += 1;
    req.resume();
    req.on('end', () => res.writeHead(req.method === 'POST' ? status : 404, { 'content-type': contentType }).end(req.method === 'POST' ? body : ''));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { fake: { url, apiKey: 'stub-key' } as FakeOpen311, posts: () => posts };
}

async function fileReport(
  service: Service,
  now: Date,
  input: { category: string; locationText?: string; point?: { lat: number; lon: number }; description?: string },
): Promise<string> {
  const result = await service.runner.run(
    { type: 'report.create', input: { description: 'A deep hole in the crosswalk', photos: [], ...input } },
    { address: `sms:+1555010${Math.floor(Math.random() * 9000 + 1000)}`, channel: 'sms', locale: 'en', sourceKey: randomUUID(), now },
  );
  return (result.value as { ref: string }).ref;
}

describe('forwarding new reports to the city Open311 server', () => {
  it('posts each report once, with the mapped service code, the place and the words, and keeps the request id', async () => {
    const fake = await fakeCity();
    const { open, clock } = await cityAndService(fake);
    const service = await open();
    await saveServiceMap(service.store, { pothole: 'ROAD-HOLE' });
    const ref = await fileReport(service, clock.now, { category: 'pothole', point: { lat: 39.8, lon: -89.65 }, locationText: '5th and Main' });
    const graffiti = await fileReport(service, clock.now, { category: 'graffiti', locationText: 'Oak St library' });
    service.jobs.start();
    await service.jobs.idle();

    // Both due at once: the scheduler takes them in id order, so compare as a set.
    expect(fake.received.map((post) => [post.status, post.form['service_code']]).sort()).toEqual([
      [200, 'ROAD-HOLE'],
      [200, 'graffiti'],
    ]);
    const posted = (code: string) => fake.received.find((post) => post.form['service_code'] === code)!;
    expect(posted('ROAD-HOLE').form).toMatchObject({
      api_key: fake.apiKey,
      lat: '39.8',
      long: '-89.65',
      address_string: '5th and Main',
      description: 'A deep hole in the crosswalk',
    });
    expect(posted('graffiti').form).not.toHaveProperty('lat');
    const report = await service.store.reports.get(ref);
    expect(report?.open311Remote).toMatchObject({ id: posted('ROAD-HOLE').created!.service_request_id, sentAt: clock.now });
    expect(report?.open311Open).toBe('yes');
    expect((await service.store.reports.get(graffiti))?.open311Remote?.id).toBe(posted('graffiti').created!.service_request_id);

    // The job again (a retried message, a crash after the save): nothing is posted twice.
    await service.runner.run(
      { type: 'report.create', input: { category: 'pothole', description: 'x', photos: [] } },
      { address: 'sms:+15550100000', channel: 'sms', locale: 'en', sourceKey: 'k', now: clock.now },
    );
    const handlers = open311ClientJobHandlers({
      store: service.store,
      settings: service.config.open311Client!,
      logger: service.logger,
      staff: () => service.staff,
    });
    const job = (await service.store.jobs.get(open311ForwardJobId(ref)))!;
    expect(job.state).toBe('done');
    expect(await handlers[OPEN311_FORWARD_JOB]!.run({ ...job, payload: { ref } })).toEqual({ state: 'done' });
    await service.jobs.idle();
    expect(fake.received.filter((post) => post.form['description'] === 'A deep hole in the crosswalk')).toHaveLength(2);
  });

  it('retries after the city server answered 503, with backoff, and the dashboard shows the outage meanwhile', async () => {
    const fake = await fakeCity();
    const { open, clock } = await cityAndService(fake);
    const service = await open();
    fake.failNext(1, 503);
    const ref = await fileReport(service, clock.now, { category: 'graffiti', locationText: 'Oak St' });
    service.jobs.start();
    await service.jobs.idle();
    // Refused before the fake files anything: its `hits` show every exchange.
    const posts = () => fake.hits.filter((hit) => hit.method === 'POST').map((hit) => hit.status);
    expect(posts()).toEqual([503]);
    // Put off by the client itself (an outage never runs out of the scheduler's attempts), 30 s first.
    expect(await service.store.jobs.get(open311ForwardJobId(ref))).toMatchObject({
      state: 'pending',
      dueAt: new Date(clock.now.getTime() + 30_000),
      payload: { ref, failures: 1, error: 'city Open311 server answered 503: Service unavailable' },
    });
    expect(await open311Status(service.store)).toMatchObject({ failingSince: clock.now.toISOString(), waiting: 1 });

    const page = String(
      homeView(await impactNumbers(service.staff), 0, undefined, { since: 'Nov 20, 2026, 10:00 AM', waiting: 1, error: 'forwarding: answered 503' }),
    ).replace(/\s+/g, ' ');
    expect(page).toContain('City 311 system: unreachable since Nov 20, 2026, 10:00 AM, 1 report waiting (forwarding: answered 503).');

    clock.now = new Date(clock.now.getTime() + 31_000);
    await service.jobs.idle();
    expect(posts()).toEqual([503, 200]);
    expect((await service.store.reports.get(ref))?.open311Remote?.id).toBe(fake.received.at(-1)!.created!.service_request_id);
    const status = await open311Status(service.store);
    expect(status.failingSince).toBeUndefined();
    expect(status.waiting).toBe(0);
  });

  it('does not send a report staff closed while the city server was down', async () => {
    const fake = await fakeCity();
    const { open, clock } = await cityAndService(fake);
    const service = await open();
    fake.failNext(1, 503);
    const ref = await fileReport(service, clock.now, { category: 'graffiti', locationText: 'Elm St' });
    service.jobs.start();
    await service.jobs.idle();
    // Closed here (spam, say) before the retry: the retry finds nothing to send.
    await changeReportStatus(service.staff, ref, { status: 'not_responsible', notify: false }, { username: 'ana', role: 'coordinator' }, clock.now);
    clock.now = new Date(clock.now.getTime() + 31_000);
    await service.jobs.idle();
    expect(fake.hits.filter((hit) => hit.method === 'POST').map((hit) => hit.status)).toEqual([503]);
    expect((await service.store.reports.get(ref))?.open311Remote).toBeUndefined();
    expect(await service.store.jobs.get(open311ForwardJobId(ref))).toMatchObject({ state: 'done' });
  });

  it('keeps forwarding through a long outage: six 503s, backing off, then sent once the city is back', async () => {
    const fake = await fakeCity();
    const { open, clock } = await cityAndService(fake);
    const service = await open();
    fake.failNext(6, 503);
    const ref = await fileReport(service, clock.now, { category: 'graffiti', locationText: 'Oak St' });
    service.jobs.start();
    await service.jobs.idle();
    const waits: number[] = [];
    for (let round = 0; round < 8 && !(await service.store.reports.get(ref))?.open311Remote; round++) {
      const job = (await service.store.jobs.get(open311ForwardJobId(ref)))!;
      expect(job.state).toBe('pending');
      waits.push(job.dueAt.getTime() - clock.now.getTime());
      clock.now = job.dueAt;
      await service.jobs.idle();
    }
    expect(waits).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 600_000]);
    expect(fake.hits.filter((hit) => hit.method === 'POST').map((hit) => hit.status)).toEqual([503, 503, 503, 503, 503, 503, 200]);
    expect((await service.store.reports.get(ref))?.open311Remote?.id).toBe(fake.received.at(-1)!.created!.service_request_id);
    expect((await service.store.jobs.get(open311ForwardJobId(ref)))?.state).toBe('done');
    expect(await open311Status(service.store)).toMatchObject({ waiting: 0 });
  });

  it('takes a refused key (403) for an outage of ours, not a refusal of the report: retried, shown on the dashboard', async () => {
    const fake = await fakeCity();
    const { open, clock } = await cityAndService(fake, 'a-revoked-key');
    const service = await open();
    const ref = await fileReport(service, clock.now, { category: 'graffiti', locationText: 'Oak St' });
    service.jobs.start();
    await service.jobs.idle();
    clock.now = new Date(clock.now.getTime() + 31_000);
    await service.jobs.idle();
    expect(fake.received.map((post) => post.status)).toEqual([403, 403]);
    expect(await service.store.jobs.get(open311ForwardJobId(ref))).toMatchObject({ state: 'pending', payload: { failures: 2 } });
    expect(await open311Status(service.store)).toMatchObject({
      failingSince: expect.any(String),
      waiting: 1,
      lastError: 'forwarding: answered 403: Invalid api_key received',
    });
  });

  it('takes a 2xx that is not JSON (XML, a proxy page) as filed: never posted again, marked unreadable, not polled', async () => {
    const { fake, posts } = await stubCity(200, '<?xml version="1.0"?><service_requests><request><token>x</token></request></service_requests>', 'text/xml');
    const { open, clock } = await cityAndService(fake);
    const service = await open();
    const ref = await fileReport(service, clock.now, { category: 'graffiti', locationText: 'Oak St' });
    service.jobs.start();
    await service.jobs.idle();
    clock.now = new Date(clock.now.getTime() + 3_600_000);
    await service.jobs.idle();
    expect(posts()).toBe(1);
    expect((await service.store.jobs.get(open311ForwardJobId(ref)))?.state).toBe('done');
    const report = await service.store.reports.get(ref);
    expect(report?.open311Remote).toEqual({ sentAt: new Date('2026-11-20T15:00:00Z'), unreadableAnswer: true });
    expect(report?.open311Open).toBeUndefined();
  });

  it('keeps a token-only answer on the report, in the poll index (the poll asks tokens/{token} for the id: open311-poll.test.ts)', async () => {
    const { fake, posts } = await stubCity(201, '[{"token":"tok-123","service_notice":"batch"}]', 'application/json');
    const { open, clock } = await cityAndService(fake);
    const service = await open();
    const ref = await fileReport(service, clock.now, { category: 'graffiti', locationText: 'Oak St' });
    service.jobs.start();
    await service.jobs.idle();
    expect(posts()).toBe(1);
    const report = await service.store.reports.get(ref);
    expect(report?.open311Remote).toMatchObject({ token: 'tok-123' });
    expect(report?.open311Remote?.id).toBeUndefined();
    expect(report?.open311Open).toBe('yes');
  });

  it('takes a report staff closed or merged here out of the poll index, and asks the city about it no more', async () => {
    const fake = await fakeCity();
    const { open, clock } = await cityAndService(fake);
    const service = await open();
    const closedHere = await fileReport(service, clock.now, { category: 'graffiti', locationText: 'Oak St' });
    const stillOpen = await fileReport(service, clock.now, { category: 'graffiti', locationText: 'Elm St' });
    service.jobs.start();
    await service.jobs.idle();
    await changeReportStatus(service.staff, closedHere, { status: 'closed', note: 'Private property' }, { username: 'ana', role: 'admin' }, clock.now);
    const asked = () => fake.hits.filter((hit) => hit.method === 'GET').flatMap((hit) => (hit.query.get('service_request_id') ?? '').split(','));
    const before = asked().length;
    clock.now = new Date(clock.now.getTime() + 301_000);
    await service.jobs.idle();
    expect((await service.store.reports.get(closedHere))?.open311Open).toBeUndefined();
    expect((await service.store.reports.get(stillOpen))?.open311Open).toBe('yes');
    expect(asked().slice(before)).not.toContain((await service.store.reports.get(closedHere))!.open311Remote!.id);
    expect(asked().slice(before)).toContain((await service.store.reports.get(stillOpen))!.open311Remote!.id);
    // Staff's status stands.
    expect((await service.store.reports.get(closedHere))?.status).toBe('closed');
  });

  it('does not retry a report the city server refused (4xx): the job fails for staff to see', async () => {
    const fake = await fakeCity();
    const { open, clock } = await cityAndService(fake);
    const service = await open();
    await saveServiceMap(service.store, { pothole: 'NO-SUCH-SERVICE' });
    const ref = await fileReport(service, clock.now, { category: 'pothole', locationText: 'Elm St' });
    service.jobs.start();
    await service.jobs.idle();
    clock.now = new Date(clock.now.getTime() + 3_600_000);
    await service.jobs.idle();
    expect(fake.received.map((post) => post.status)).toEqual([404]);
    expect(await service.store.jobs.get(open311ForwardJobId(ref))).toMatchObject({
      state: 'failed',
      lastError: 'city Open311 server answered 404: service_code NO-SUCH-SERVICE was not found',
    });
    expect((await service.store.reports.get(ref))?.open311Remote).toBeUndefined();
    // Refused is not down: the dashboard shows no outage.
    expect((await open311Status(service.store)).failingSince).toBeUndefined();
  });

  it('sends what was waiting when a new service opens the same data after a restart', async () => {
    const fake = await fakeCity();
    const { open, clock } = await cityAndService(fake);
    const first = await open();
    const ref = await fileReport(first, clock.now, { category: 'graffiti', locationText: 'Oak St' });
    await first.close();
    expect(fake.received).toHaveLength(0);

    const second = await open();
    second.jobs.start();
    await second.jobs.idle();
    expect(fake.received.map((post) => post.status)).toEqual([200]);
    expect((await second.store.reports.get(ref))?.open311Remote?.id).toBe(fake.received[0]!.created!.service_request_id);
  });

  it('turns a request the city closed into a closed report (not fixed: closed there may be a duplicate, not ours), with the city notes, and stops polling it', async () => {
    const fake = await fakeCity();
    const { open, clock } = await cityAndService(fake);
    const service = await open();
    const ref = await fileReport(service, clock.now, { category: 'graffiti', locationText: 'Oak St' });
    service.jobs.start();
    await service.jobs.idle();
    const id = (await service.store.reports.get(ref))!.open311Remote!.id!;

    fake.setStatus(id, 'closed', { notes: 'Painted over' });
    clock.now = new Date(clock.now.getTime() + 301_000);
    await service.jobs.idle();
    const report = await service.store.reports.get(ref);
    expect(report).toMatchObject({ status: 'closed', statusGroup: 'closed', statusNote: 'Painted over' });
    expect(report?.fixedAt).toBeUndefined();
    expect(report?.open311Open).toBeUndefined();
    const updates = await service.store.reportUpdates.find({ field: 'reportId', equals: ref });
    expect(updates.at(-1)).toMatchObject({ status: 'closed', note: 'Painted over', by: 'staff', staff: 'open311' });

    // The next poll asks for nothing: the request is closed there.
    const polls = fake.hits.filter((hit) => hit.method === 'GET').length;
    clock.now = new Date(clock.now.getTime() + 301_000);
    await service.jobs.idle();
    expect(fake.hits.filter((hit) => hit.method === 'GET')).toHaveLength(polls);
  });

  it('keeps polling through a long outage and a failing store: the poll job never fails', async () => {
    const fake = await fakeCity();
    const { open, clock } = await cityAndService(fake);
    const service = await open();
    const ref = await fileReport(service, clock.now, { category: 'graffiti', locationText: 'Oak St' });
    service.jobs.start();
    await service.jobs.idle();
    expect((await service.store.reports.get(ref))?.open311Remote?.id).toBeDefined();
    fake.set({ failRate: 1 });
    for (let period = 0; period < 7; period++) {
      clock.now = new Date(clock.now.getTime() + 301_000);
      await service.jobs.idle();
    }
    expect(fake.hits.filter((hit) => hit.method === 'GET' && hit.status === 503).length).toBeGreaterThanOrEqual(6);
    expect(await service.store.jobs.get('open311-poll')).toMatchObject({ state: 'pending' });
    expect((await open311Status(service.store)).lastError).toContain('polling: answered 503');

    // A store that throws: still `later`, never `failed`.
    const broken = {
      ...service.store,
      reports: {
        ...service.store.reports,
        find: () => Promise.reject(new Error('store down')),
      },
    } as typeof service.store;
    const outcome = await pollOpenRequests({
      store: broken,
      settings: service.config.open311Client!,
      logger: service.logger,
      staff: () => service.staff,
      now: () => clock.now,
    });
    expect(outcome).toEqual({ state: 'later', dueAt: new Date(clock.now.getTime() + service.config.open311Client!.pollMs) });
  });
});

describe('forwarding to a CivicLine Open311 server (a neighbouring city runs CivicLine too)', () => {
  it('is filed there even when the resident described the place at length (address_string kept to 250 characters)', async () => {
    const city = await startTestApp({ SEED_DEMO_DATA: 'false' });
    cleanups.push(() => city.close());
    const { key } = await createOpen311Key(city.service.store, { name: 'Neighbour CivicLine' }, { username: 'admin', role: 'admin' });
    const { open, clock } = await cityAndService({ url: `${city.url}/open311/v2`, apiKey: key } as FakeOpen311);
    const service = await open();
    const place = `Behind the library on Oak St, ${'past the bike racks and the bench by the big maple tree, '.repeat(6)}next to the wall`;
    const ref = await fileReport(service, clock.now, { category: 'graffiti', locationText: place });
    service.jobs.start();
    await service.jobs.idle();
    const remote = (await service.store.reports.get(ref))!.open311Remote;
    expect(remote?.id).toBeDefined();
    const filed = (await city.service.store.reports.get(remote!.id!))!;
    expect(filed.location.text!.length).toBeLessThanOrEqual(250);
    expect(place.startsWith(filed.location.text!.replace(/…$/, ''))).toBe(true);
  });

  it('is filed there when the words carry control characters (a line break pasted from a word processor is \\v), sent as spaces', async () => {
    const city = await startTestApp({ SEED_DEMO_DATA: 'false' });
    cleanups.push(() => city.close());
    const { key } = await createOpen311Key(city.service.store, { name: 'Neighbour CivicLine' }, { username: 'admin', role: 'admin' });
    const { open, clock } = await cityAndService({ url: `${city.url}/open311/v2`, apiKey: key } as FakeOpen311);
    const service = await open();
    const ref = await fileReport(service, clock.now, {
      category: 'graffiti',
      locationText: 'Oak St\u000Blibrary',
      description: 'Tags on the wall\u000Bby the door\u0007',
    });
    service.jobs.start();
    await service.jobs.idle();
    const remote = (await service.store.reports.get(ref))!.open311Remote;
    expect(remote?.id).toBeDefined();
    const filed = (await city.service.store.reports.get(remote!.id!))!;
    expect(filed).toMatchObject({ description: 'Tags on the wall by the door', location: { text: 'Oak St library' } });
  });
});

describe('end to end: a resident texts a report, the city closes it, the resident is told', () => {
  const PUBLIC_URL = 'https://bot.springfield.example';
  let app: RunningApp;
  let twilio: FakeTwilio;

  afterEach(async () => {
    await app?.close();
    await twilio?.close();
  });

  it('forwards the texted report to the city system and texts the resident when the city closes it', async () => {
    const city = await fakeCity();
    twilio = await startFakeTwilio();
    const { env, overrides } = withProviderFakes({ twilio }, { PUBLIC_URL, OPEN311_ENDPOINT: city.url, OPEN311_API_KEY: city.apiKey });
    app = await startTestApp(env, overrides);
    await saveServiceMap(app.service.store, { pothole: 'ROAD-HOLE' });
    const phone = '+12175550199';
    const text = async (body: string): Promise<string> => {
      const sid = messageSid();
      const params = { ...twilioFixture('inbound-sms'), From: phone, Body: body, MessageSid: sid, SmsMessageSid: sid, SmsSid: sid };
      const response = await postTwilio({ appUrl: app.url, publicUrl: PUBLIC_URL, path: '/webhooks/twilio/sms', params });
      expect(response.status).toBe(200);
      return twimlMessages(response.text).join('\n\n');
    };

    await text('pothole');
    expect(await text('5th and Main')).toContain('Describe the problem');
    await text('a deep hole in the crosswalk');
    expect(await text('skip')).toContain('Pothole at 5th and Main');
    const ref = referenceIn(await text('1'));

    app.service.jobs.start();
    await app.service.jobs.idle();
    expect(city.received).toHaveLength(1);
    expect(city.received[0]!.form).toMatchObject({ service_code: 'ROAD-HOLE', address_string: '5th and Main', description: 'a deep hole in the crosswalk' });
    const id = city.received[0]!.created!.service_request_id;
    expect((await app.service.store.reports.get(ref))?.open311Remote?.id).toBe(id);

    city.setStatus(id, 'closed', { notes: 'Filled' });
    twilio.requests.length = 0;
    const poll = () =>
      pollOpenRequests({
        store: app.service.store,
        settings: app.service.config.open311Client!,
        logger: app.service.logger,
        staff: () => app.service.staff,
      });
    // Two polls at once (two instances, or one the scheduler ran again after its timeout): one change, one text.
    const outcomes = await Promise.all([poll(), poll()]);
    expect(outcomes.map((outcome) => outcome.state)).toEqual(['later', 'later']);
    const told = async () => twilio.requests.filter((request) => request.form['To'] === phone).map((request) => request.form['Body']);
    for (let wait = 0; wait < 100 && (await told()).length === 0; wait++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await told()).toEqual([
      `Update on your report ${ref} (Pothole): it is now Closed.\nNote from the city: Filled\nIf something is still wrong, reply here and we'll add it to your report.`,
    ]);
    expect(await app.service.store.reports.get(ref)).toMatchObject({ status: 'closed', statusGroup: 'closed', statusNote: 'Filled' });
    const updates = await app.service.store.reportUpdates.find({ field: 'reportId', equals: ref });
    expect(updates.filter((update) => update.staff === 'open311')).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await told()).toHaveLength(1);
  });
});

describe('the service-code map admins edit', () => {
  it('is read and replaced through /admin/api/open311/service-map, and a bad map is refused', async () => {
    const token = 'test-admin-token-0123456789';
    const running = await startTestApp({ ADMIN_TOKEN: token });
    cleanups.push(() => running.close());
    const call = async (method: string, body?: unknown) => {
      const response = await fetch(`${running.url}/admin/api/open311/service-map`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as unknown };
    };
    expect(await call('GET')).toEqual({ status: 200, body: { map: {} } });
    expect(await call('PUT', { map: { pothole: ' ROAD-HOLE ' } })).toEqual({ status: 200, body: { map: { pothole: 'ROAD-HOLE' } } });
    expect((await call('PUT', { map: { pothole: 7 } })).status).toBe(400);
    expect((await call('PUT', { map: ['x'] })).status).toBe(400);
    expect(await call('GET')).toEqual({ status: 200, body: { map: { pothole: 'ROAD-HOLE' } } });
  });
});
