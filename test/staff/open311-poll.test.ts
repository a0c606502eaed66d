/**
 * The Open311 client's poll (issue 19) against the fake city server: token-only answers are polled
 * through `tokens/{token}` until the city gives the id, the poll goes round every open request
 * however many there are, a request the city stops returning is marked for staff and asked about
 * once a day, `updated_after` is asked first when on and given up when refused or ignored, and
 * each of the fake's slow and non-conforming modes ends in a clear state (retried, refused with a
 * reason staff see, or applied once).
 *
 * The forward and the poll are run by hand here (the scheduler is not started), so each poll is
 * one call and nothing runs behind the test's back.
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
import {
  MISSING_POLLS,
  open311ClientJobHandlers,
  open311Status,
  pollOpenRequests,
  readPollState,
  type Open311ClientDeps,
} from '../../src/staff/open311-client.js';
import { homeView } from '../../src/http/admin/pages/home.page.js';
import { impactNumbers } from '../../src/staff/impact.js';
import type { JobOutcome } from '../../src/staff/job-scheduler.js';
import { startFakeOpen311, type FakeOpen311, type FakeOpen311Options, type FakeService } from '../support/fake-open311.js';
import { freshTestStore } from '../support/test-store.js';
import { changeReportStatus } from '../../src/staff/report-desk.js';

/** The city's services: `graffiti` answers a POST with an id, `light` (a batch service) with a token only. */
const CITY_SERVICES: FakeService[] = [
  { service_code: 'graffiti', service_name: 'Graffiti', description: 'Paint on walls', type: 'realtime', keywords: 'paint', group: 'sanitation' },
  { service_code: 'streetlight', service_name: 'Streetlight', description: 'A light out', type: 'batch', keywords: 'light', group: 'streets' },
];

const DAY_MS = 86_400_000;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function fakeCity(options: FakeOpen311Options = {}): Promise<FakeOpen311> {
  const fake = await startFakeOpen311({ services: CITY_SERVICES, recentRequests: 0, oldRequests: 0, ...options });
  cleanups.push(() => fake.close());
  return fake;
}

/** A city stub that files every POST (answering `postBody`) and answers every GET `getBody` as `getType`. */
async function stubCity(postBody: string, getBody: string, getType: string): Promise<{ url: string; apiKey: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      req.method === 'POST'
        ? res.writeHead(201, { 'content-type': 'application/json' }).end(postBody)
        : res.writeHead(200, { 'content-type': getType }).end(getBody),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: 'stub-key' };
}

/** A service forwarding to `city` (scheduler not started), with a clock the test moves and the client's two runs by hand. */
async function clientOf(
  city: { url: string; apiKey: string },
  env: Record<string, string> = {},
  overrides: Partial<Open311ClientDeps> = {},
  clock = { now: new Date('2026-11-20T15:00:00Z') },
): Promise<{
  service: Service;
  clock: { now: Date };
  file(category?: string): Promise<string>;
  forward(ref: string): Promise<JobOutcome>;
  poll(): Promise<JobOutcome>;
}> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-o311poll-'));
  const store = freshTestStore();
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', OPEN311_ENDPOINT: city.url, OPEN311_API_KEY: city.apiKey, ...env, ...store.env });
  const service = await createService(config, pino({ level: 'silent' }), { now: () => clock.now, open311TimeoutMs: 2000 });
  cleanups.push(async () => {
    await service.close().catch(() => undefined);
    await store.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const deps: Open311ClientDeps = {
    store: service.store,
    settings: config.open311Client!,
    logger: service.logger,
    staff: () => service.staff,
    now: () => clock.now,
    timeoutMs: 2000,
    ...overrides,
  };
  const handlers = open311ClientJobHandlers(deps);
  return {
    service,
    clock,
    async file(category = 'graffiti') {
      const result = await service.runner.run(
        { type: 'report.create', input: { category, description: 'Paint on the library wall', photos: [], locationText: 'Oak St library' } },
        { address: `sms:+1555010${Math.floor(Math.random() * 9000 + 1000)}`, channel: 'sms', locale: 'en', sourceKey: randomUUID(), now: clock.now },
      );
      return (result.value as { ref: string }).ref;
    },
    async forward(ref) {
      // As the scheduler hands it over: claimed, so the handler can count an outage in its payload.
      const job = (await service.store.jobs.get(open311ForwardJobId(ref)))!;
      const running = { ...job, state: 'running' as const, claimedBy: 'test' };
      await service.store.jobs.replace(running, job._rev);
      const stored = (await service.store.jobs.get(job._id))!;
      return handlers[OPEN311_FORWARD_JOB]!.run(stored);
    },
    poll: () => pollOpenRequests(deps),
  };
}

/** The ids each GET requests.json asked about, poll by poll as the test slices `hits`. */
function askedIds(fake: FakeOpen311, from = 0): string[] {
  return fake.hits
    .slice(from)
    .filter((hit) => hit.method === 'GET' && hit.path === '/requests.json' && hit.query.has('service_request_id'))
    .flatMap((hit) => hit.query.get('service_request_id')!.split(','));
}

describe('token-only answers', () => {
  it('asks tokens/{token} until the city gives the id, keeps it, then polls it by id like the others', async () => {
    const fake = await fakeCity({ tokensPending: true });
    const client = await clientOf(fake);
    const ref = await client.file('streetlight');
    expect(await client.forward(ref)).toEqual({ state: 'done' });
    const token = fake.received[0]!.created!.token!;
    expect((await client.service.store.reports.get(ref))!).toMatchObject({ open311Remote: { token }, open311Open: 'yes' });

    // The city is still processing it: the token is known, the id not yet. Kept in the poll, no miss.
    await client.poll();
    expect(fake.hits.filter((hit) => hit.path === `/tokens/${token}.json`)).toHaveLength(1);
    let report = (await client.service.store.reports.get(ref))!;
    expect(report.open311Remote?.id).toBeUndefined();
    expect(report.open311Remote?.missedPolls).toBeUndefined();
    expect(report.open311Open).toBe('yes');

    // Processed: this poll keeps the id and asks about it by id at once.
    fake.set({ tokensPending: false });
    const id = fake.received[0]!.created!.service_request_id;
    const before = fake.hits.length;
    await client.poll();
    report = (await client.service.store.reports.get(ref))!;
    expect(report.open311Remote).toMatchObject({ id, token });
    expect(report.open311RemoteId).toBe(id);
    expect(askedIds(fake, before)).toEqual([id]);

    // From then on: by id only, and the city's closing comes back.
    fake.setStatus(id, 'closed', { notes: 'Lamp replaced' });
    const next = fake.hits.length;
    await client.poll();
    expect(fake.hits.slice(next).some((hit) => hit.path.startsWith('/tokens/'))).toBe(false);
    expect(await client.service.store.reports.get(ref)).toMatchObject({ status: 'closed', statusNote: 'Lamp replaced' });
    expect((await client.service.store.reports.get(ref))?.open311Open).toBeUndefined();
  });

  it('goes on to the next token when one fails, and counts a token the city does not know as a miss', async () => {
    const fake = await fakeCity();
    const client = await clientOf(fake);
    const refs = [await client.file('streetlight'), await client.file('streetlight'), await client.file('streetlight')];
    for (const ref of refs) await client.forward(ref);
    // The second report's request is forgotten there (its token: 404); the poll's first exchange fails (500).
    const forgotten = refs[1]!;
    fake.remove(fake.received[1]!.created!.service_request_id);
    fake.failNext(1, 500);
    await client.poll();
    // Tokens are asked in the index's order: never asked before, so by ref.
    const failed = [...refs].sort()[0]!;
    const idOf = async (ref: string) => (await client.service.store.reports.get(ref))!.open311Remote?.id;
    for (const ref of refs) {
      if (ref === failed || ref === forgotten) expect(await idOf(ref), ref).toBeUndefined();
      else expect(await idOf(ref), ref).toBe(fake.received[refs.indexOf(ref)]!.created!.service_request_id);
    }
    const missedPolls = async (ref: string) => (await client.service.store.reports.get(ref))!.open311Remote?.missedPolls;
    // The refs are random: when the forgotten one is asked first it meets the 500, which is no miss.
    expect(await missedPolls(forgotten)).toBe(failed === forgotten ? undefined : 1);
    if (failed !== forgotten) expect(await missedPolls(failed)).toBeUndefined();

    // The next poll: the one that met the 500 is resolved; the forgotten one misses again.
    expect((await client.poll()).state).toBe('later');
    for (const ref of refs.filter((each) => each !== forgotten)) expect(await idOf(ref)).toBe(fake.received[refs.indexOf(ref)]!.created!.service_request_id);
    expect(await missedPolls(forgotten)).toBe(failed === forgotten ? 1 : 2);
    expect((await client.service.store.reports.get(forgotten))?.open311Open).toBe('yes');
  });
});

describe('going round every open request', () => {
  it('asks about every open request within a bounded number of polls however many there are, and marks those the city forgot', async () => {
    const fake = await fakeCity();
    const client = await clientOf(fake, {}, { pollLimits: { perPoll: 4 } });
    const refs: string[] = [];
    for (let i = 0; i < 10; i++) refs.push(await client.file());
    for (const ref of refs) await client.forward(ref);
    const idOf = async (ref: string) => (await client.service.store.reports.get(ref))!.open311Remote!.id!;
    const ids = await Promise.all(refs.map(idOf));

    // The city forgets the three oldest: under the old order (oldest first) they would hold the front for ever.
    const forgotten = ids.slice(0, 3);
    for (const id of forgotten) fake.remove(id);

    // Every poll asks 4; in 3 polls all 10 were asked, each once.
    const start = fake.hits.length;
    for (let i = 0; i < 3; i++) {
      client.clock.now = new Date(client.clock.now.getTime() + 300_000);
      await client.poll();
    }
    const asked = askedIds(fake, start);
    expect(asked.length).toBe(12);
    expect(new Set(asked)).toEqual(new Set(ids));

    // A request the still-open city closes is found whatever its place.
    fake.setStatus(ids[9]!, 'closed', { notes: 'Painted over' });
    for (let i = 0; i < 3; i++) {
      client.clock.now = new Date(client.clock.now.getTime() + 300_000);
      await client.poll();
    }
    expect((await client.service.store.reports.get(refs[9]!))?.status).toBe('closed');

    // Left out of MISSING_POLLS answers in a row: no longer known there, shown to staff, asked about once a day.
    for (let i = 0; i < MISSING_POLLS * 3; i++) {
      client.clock.now = new Date(client.clock.now.getTime() + 300_000);
      await client.poll();
    }
    for (const ref of refs.slice(0, 3)) {
      const report = (await client.service.store.reports.get(ref))!;
      expect(report.open311Open).toBe('unknown');
      expect(report.open311Remote?.missedPolls).toBe(MISSING_POLLS);
      expect(report.open311Remote?.unknownSince).toBeInstanceOf(Date);
      expect(report.status).toBe('open');
    }
    for (const ref of refs.slice(3, 9)) expect((await client.service.store.reports.get(ref))!.open311Open).toBe('yes');
    const status = await open311Status(client.service.store);
    expect(status.unknown).toBe(3);
    expect(new Set(status.unknownRefs)).toEqual(new Set(refs.slice(0, 3)));
    const page = String(
      homeView(await impactNumbers(client.service.staff), 0, undefined, undefined, undefined, { count: 3, refs: status.unknownRefs }),
    ).replace(/\s+/g, ' ');
    expect(page).toContain('City 311 system: 3 forwarded reports are no longer known there');
    expect(page).toContain(`<a href="/admin/reports/${refs[0]}">${refs[0]}</a>`);

    // Not asked about at the next polls...
    const quiet = fake.hits.length;
    client.clock.now = new Date(client.clock.now.getTime() + 300_000);
    await client.poll();
    expect(askedIds(fake, quiet).filter((id) => forgotten.includes(id))).toEqual([]);
    // ...but a day later; and one the city answers again is known again.
    fake.addRequest({ service_request_id: forgotten[0]!, service_code: 'graffiti' });
    client.clock.now = new Date(client.clock.now.getTime() + DAY_MS);
    const daily = fake.hits.length;
    await client.poll();
    expect(
      askedIds(fake, daily)
        .filter((id) => forgotten.includes(id))
        .sort(),
    ).toEqual([...forgotten].sort());
    const back = (await client.service.store.reports.get(refs[0]!))!;
    expect(back.open311Open).toBe('yes');
    expect(back.open311Remote?.missedPolls).toBeUndefined();
    expect(back.open311Remote?.unknownSince).toBeUndefined();
    expect((await open311Status(client.service.store)).unknown).toBe(2);
  });

  it('checks a request by itself before taking it for unknown: a server that caps its answers loses nothing', async () => {
    // Answers at most 2 of the 3 ids of a batch: the third is left out every time, though the city has it.
    const fake = await fakeCity({ maxIdsAnswered: 2 });
    const client = await clientOf(fake, {}, { pollLimits: { batch: 3 } });
    const refs: string[] = [];
    for (let i = 0; i < 3; i++) refs.push(await client.file());
    for (const ref of refs) await client.forward(ref);
    for (let i = 0; i < MISSING_POLLS * 2; i++) {
      client.clock.now = new Date(client.clock.now.getTime() + 300_000);
      await client.poll();
    }
    const singles = fake.hits.filter((hit) => /^\/requests\/\d+\.json$/.test(hit.path));
    expect(singles.length).toBeGreaterThan(0);
    expect(singles.every((hit) => hit.status === 200)).toBe(true);
    for (const ref of refs) expect((await client.service.store.reports.get(ref))?.open311Open).toBe('yes');
    expect((await open311Status(client.service.store)).unknown).toBe(0);
  });
});

describe('updated_after (OPEN311_UPDATED_AFTER)', () => {
  it('on a server that takes it: asks what changed first, applies it wherever the request is, and asks fewer ids', async () => {
    const clock = { now: new Date('2026-11-20T15:00:00Z') };
    const fake = await fakeCity({ updatedAfter: true, now: () => clock.now });
    const client = await clientOf(fake, { OPEN311_UPDATED_AFTER: 'on' }, { pollLimits: { withUpdatedAfter: 2 }, now: () => clock.now });
    const refs: string[] = [];
    for (let i = 0; i < 6; i++) refs.push(await client.file());
    for (const ref of refs) await client.forward(ref);
    const ids = await Promise.all(refs.map(async (ref) => (await client.service.store.reports.get(ref))!.open311Remote!.id!));

    // An hour on, nothing changed: an empty answer, taken in; two ids go round anyway.
    clock.now = new Date(clock.now.getTime() + 3_600_000);
    const first = fake.hits.length;
    await client.poll();
    const firstPoll = clock.now;
    expect((await readPollState(client.service.store)).since).toBe(firstPoll.toISOString());
    expect(askedIds(fake, first)).toHaveLength(2);

    // An hour later one changed there: the updated_after answer brings it, wherever it is in the poll's order.
    clock.now = new Date(clock.now.getTime() + 3_600_000);
    fake.setStatus(ids[5]!, 'closed', { notes: 'Painted over' });
    clock.now = new Date(clock.now.getTime() + 300_000);
    const start = fake.hits.length;
    await client.poll();
    const gets = fake.hits.slice(start).filter((hit) => hit.method === 'GET');
    expect(gets[0]!.query.get('updated_after')).toBe(new Date(firstPoll.getTime() - 15 * 60_000).toISOString());
    expect(gets[0]!.query.has('service_request_id')).toBe(false);
    expect(askedIds(fake, start)).toHaveLength(2);
    expect(askedIds(fake, start)).not.toContain(ids[5]);
    expect(await client.service.store.reports.get(refs[5]!)).toMatchObject({ status: 'closed', statusNote: 'Painted over' });
    const updates = await client.service.store.reportUpdates.find({ field: 'reportId', equals: refs[5]! });
    expect(updates.filter((update) => update.staff === 'open311')).toHaveLength(1);

    // Three days without a poll (the service was down): it asks a day back at most; the round finds the rest.
    clock.now = new Date(clock.now.getTime() + 3 * DAY_MS);
    const later = fake.hits.length;
    await client.poll();
    expect(fake.hits[later]!.query.get('updated_after')).toBe(new Date(clock.now.getTime() - DAY_MS - 15 * 60_000).toISOString());
  });

  it('falls back to batches of ids when the server answers 400, and with auto asks again only a day later', async () => {
    const fake = await fakeCity({ updatedAfter: 'refused' });
    const client = await clientOf(fake, { OPEN311_UPDATED_AFTER: 'auto' });
    const ref = await client.file();
    await client.forward(ref);
    const id = (await client.service.store.reports.get(ref))!.open311Remote!.id!;
    fake.setStatus(id, 'closed', { notes: 'Done' });
    await client.poll();
    const withUpdatedAfter = () => fake.hits.filter((hit) => hit.query.has('updated_after'));
    expect(withUpdatedAfter().map((hit) => hit.status)).toEqual([400]);
    expect((await client.service.store.reports.get(ref))?.status).toBe('closed');
    expect(await readPollState(client.service.store)).toMatchObject({ updatedAfterFailure: 'refused (400)' });
    // Refused is not down.
    expect((await open311Status(client.service.store)).failingSince).toBeUndefined();

    const other = await client.file();
    await client.forward(other);
    client.clock.now = new Date(client.clock.now.getTime() + 300_000);
    await client.poll();
    expect(withUpdatedAfter()).toHaveLength(1);
    client.clock.now = new Date(client.clock.now.getTime() + DAY_MS);
    await client.poll();
    expect(withUpdatedAfter()).toHaveLength(2);
  });

  it('notices a server that ignores it (an answer of requests not updated since) and asks by ids instead', async () => {
    // Six requests of the last 60 days there that are not ours: an answer that ignores updated_after lists them.
    // On the client's clock: requests seeded on the real one would all look updated since, months on.
    const clock = { now: new Date('2026-11-20T15:00:00Z') };
    const fake = await fakeCity({ recentRequests: 6, now: () => clock.now });
    const client = await clientOf(fake, { OPEN311_UPDATED_AFTER: 'on' }, { pollLimits: { withUpdatedAfter: 0 } }, clock);
    const ref = await client.file();
    await client.forward(ref);
    const id = (await client.service.store.reports.get(ref))!.open311Remote!.id!;
    fake.setStatus(id, 'closed', { notes: 'Cleaned' });
    await client.poll();
    expect(fake.hits.filter((hit) => hit.query.has('updated_after')).map((hit) => hit.status)).toEqual([200]);
    expect(askedIds(fake)).toEqual([id]);
    expect(await readPollState(client.service.store)).toMatchObject({ updatedAfterFailure: 'ignored (an answer with requests not updated since)' });
    expect((await readPollState(client.service.store)).since).toBeUndefined();
    expect(await client.service.store.reports.get(ref)).toMatchObject({ status: 'closed', statusNote: 'Cleaned' });
  });
});

describe("the client against the fake's slow and non-conforming modes", () => {
  it('slow under the timeout: filed once; beyond it: an outage with backoff, and the retry finds what the lost POST filed instead of posting it again', async () => {
    const clock = { now: new Date('2026-11-20T15:00:00Z') };
    const fake = await fakeCity({ latencyMs: 300, now: () => clock.now });
    const client = await clientOf(fake, {}, { timeoutMs: 1500 }, clock);
    const ref = await client.file();
    expect(await client.forward(ref)).toEqual({ state: 'done' });
    expect(fake.received).toHaveLength(1);

    // Slower than the client waits: an outage, put off; the fake files it all the same, later.
    fake.set({ latencyMs: 2500 });
    const slow = await client.file();
    const sentAt = clock.now;
    expect(await client.forward(slow)).toEqual({ state: 'later', dueAt: new Date(clock.now.getTime() + 30_000) });
    expect(await client.service.store.jobs.get(open311ForwardJobId(slow))).toMatchObject({
      payload: { failures: 1, error: 'city Open311 server no answer in time', uncertainSince: sentAt.toISOString() },
    });
    expect(await open311Status(client.service.store)).toMatchObject({ failingSince: clock.now.toISOString(), lastError: 'forwarding: no answer in time' });
    expect((await client.service.store.reports.get(slow))?.open311Remote).toBeUndefined();
    // The poll against the slow server: no answer in time, recorded; never a failed job.
    expect((await client.poll()).state).toBe('later');
    expect((await open311Status(client.service.store)).lastError).toBe('polling: no answer in time');
    for (let wait = 0; wait < 100 && fake.received.length < 2; wait++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fake.received).toHaveLength(2);

    // Back to speed: the retry asks for the requests filed since, finds the one at its place, and posts nothing.
    fake.set({ latencyMs: 0 });
    clock.now = new Date(clock.now.getTime() + 31_000);
    expect(await client.forward(slow)).toEqual({ state: 'done' });
    expect(fake.received).toHaveLength(2);
    const search = fake.hits.filter((hit) => hit.method === 'GET' && hit.query.has('start_date'));
    expect(search.map((hit) => hit.query.get('service_code'))).toEqual(['graffiti']);
    expect(await client.service.store.reports.get(slow)).toMatchObject({
      open311Remote: { id: fake.received[1]!.created!.service_request_id, sentAt },
      open311Open: 'yes',
    });
    expect((await open311Status(client.service.store)).failingSince).toBeUndefined();
  });

  it('a lost POST the city did not file after all is posted again, once', async () => {
    const clock = { now: new Date('2026-11-20T15:00:00Z') };
    const fake = await fakeCity({ latencyMs: 2500, now: () => clock.now });
    const client = await clientOf(fake, {}, { timeoutMs: 1500 }, clock);
    const ref = await client.file();
    expect((await client.forward(ref)).state).toBe('later');
    for (let wait = 0; wait < 100 && fake.received.length < 1; wait++) await new Promise((resolve) => setTimeout(resolve, 50));
    // Filed and then dropped there (a rollback), or never filed: the search finds nothing at this place.
    fake.remove(fake.received[0]!.created!.service_request_id);
    fake.set({ latencyMs: 0 });
    clock.now = new Date(clock.now.getTime() + 31_000);
    expect(await client.forward(ref)).toEqual({ state: 'done' });
    expect(fake.received).toHaveLength(2);
    expect((await client.service.store.reports.get(ref))?.open311Remote?.id).toBe(fake.received[1]!.created!.service_request_id);
  });

  it('a POST the city filed whose answer was never saved (the process died, the store failed) is found by its retry, not posted again', async () => {
    const clock = { now: new Date('2026-11-20T15:00:00Z') };
    const fake = await fakeCity({ now: () => clock.now });
    const base = await clientOf(fake, {}, {}, clock);
    // The store fails the one write that keeps the city's answer on the report, as a crash there would.
    let failed = false;
    const reports = new Proxy(base.service.store.reports, {
      get(target, prop) {
        if (prop !== 'replace') return Reflect.get(target, prop, target) as unknown;
        return async (next: Parameters<typeof target.replace>[0], rev: number) => {
          if (next.open311Remote && !failed) {
            failed = true;
            throw new Error('store went away');
          }
          return target.replace(next, rev);
        };
      },
    });
    const store = new Proxy(base.service.store, { get: (target, prop) => (prop === 'reports' ? reports : (Reflect.get(target, prop, target) as unknown)) });
    const handlers = open311ClientJobHandlers({
      store,
      settings: base.service.config.open311Client!,
      logger: base.service.logger,
      staff: () => base.service.staff,
      now: () => base.clock.now,
      timeoutMs: 2000,
    });
    // As the scheduler hands it over: claimed (again, for the second run: the lease ran out).
    const forward = async (ref: string) => {
      const job = (await base.service.store.jobs.get(open311ForwardJobId(ref)))!;
      await base.service.store.jobs.replace({ ...job, state: 'running', claimedBy: 'test' }, job._rev);
      return handlers[OPEN311_FORWARD_JOB]!.run((await base.service.store.jobs.get(job._id))!);
    };
    const ref = await base.file();
    const sentAt = base.clock.now;
    // The run dies after the POST.
    await expect(forward(ref)).rejects.toThrow('store went away');
    expect(failed).toBe(true);
    expect(fake.received).toHaveLength(1);

    // The scheduler runs it again (its retry, or another instance once the lease ran out).
    base.clock.now = new Date(base.clock.now.getTime() + 60_000);
    expect(await forward(ref)).toEqual({ state: 'done' });
    expect(fake.received).toHaveLength(1);
    expect(await base.service.store.reports.get(ref)).toMatchObject({ open311Remote: { id: fake.received[0]!.created!.service_request_id, sentAt } });
  });

  it('a POST the city answered (503) is not searched for on its retry: posted again, once', async () => {
    const fake = await fakeCity();
    const client = await clientOf(fake);
    const ref = await client.file();
    fake.failNext(1, 503);
    expect((await client.forward(ref)).state).toBe('later');
    expect((await client.service.store.jobs.get(open311ForwardJobId(ref)))?.payload['uncertainSince']).toBeUndefined();
    expect(await client.forward(ref)).toEqual({ state: 'done' });
    expect(fake.hits.filter((hit) => hit.method === 'GET')).toEqual([]);
    expect(fake.received).toHaveLength(1);
  });

  it('500 and 503: the other batches and tokens are still asked, nothing counts as a miss, and a server down stops the poll after three', async () => {
    const fake = await fakeCity();
    const client = await clientOf(fake, {}, { pollLimits: { batch: 3 } });
    const refs: string[] = [];
    for (let i = 0; i < 6; i++) refs.push(await client.file());
    for (const ref of refs) await client.forward(ref);
    const ids = await Promise.all(refs.map(async (ref) => (await client.service.store.reports.get(ref))!.open311Remote!.id!));
    for (const id of ids) fake.setStatus(id, 'closed', { notes: 'Done' });
    fake.failNext(1, 500);
    const start = fake.hits.length;
    await client.poll();
    const gets = fake.hits.slice(start).filter((hit) => hit.method === 'GET');
    expect(gets.map((hit) => hit.status)).toEqual([500, 200]);
    const failed = gets[0]!.query.get('service_request_id')!.split(',');
    const reports = await Promise.all(refs.map((ref) => client.service.store.reports.get(ref)));
    // The batch that failed: still open here, no miss counted; the other: closed.
    expect(reports.filter((report) => report!.status === 'closed')).toHaveLength(3);
    for (const report of reports.filter((each) => failed.includes(each!.open311Remote!.id!))) {
      expect(report).toMatchObject({ status: 'open', open311Open: 'yes' });
      expect(report!.open311Remote?.missedPolls).toBeUndefined();
    }
    const again = fake.hits.length;
    await client.poll();
    expect(askedIds(fake, again).sort()).toEqual([...failed].sort());
    for (const ref of refs) expect((await client.service.store.reports.get(ref))?.status).toBe('closed');

    // Down for good: the poll stops after three failures in a row (tokens here), records it, and comes back later.
    for (let i = 0; i < 5; i++) await client.forward(await client.file('streetlight'));
    fake.set({ failRate: 1, failStatus: 503 });
    const down = fake.hits.length;
    expect((await client.poll()).state).toBe('later');
    expect(fake.hits.slice(down).map((hit) => hit.status)).toEqual([503, 503, 503]);
    expect((await open311Status(client.service.store)).lastError).toBe('polling: answered 503: Service unavailable');
  });

  it('ignores-filters: never takes another request’s status for ours, asks one request at a time and counts no misses', async () => {
    // Six requests there that are not ours (half closed), and an answer that ignores service_request_id lists them all.
    const fake = await fakeCity({ recentRequests: 6, mode: 'ignores-filters' });
    const client = await clientOf(fake, {}, { pollLimits: { batch: 3 } });
    const refs: string[] = [];
    for (let i = 0; i < 5; i++) refs.push(await client.file());
    for (const ref of refs) await client.forward(ref);
    const ids = await Promise.all(refs.map(async (ref) => (await client.service.store.reports.get(ref))!.open311Remote!.id!));
    fake.setStatus(ids[4]!, 'closed', { notes: 'Ours, closed' });
    const start = fake.hits.length;
    await client.poll();
    // The first batch's answer held others: the two left were asked one by one.
    const gets = fake.hits.slice(start).filter((hit) => hit.method === 'GET');
    expect(gets).toHaveLength(3);
    expect(gets[0]!.path).toBe('/requests.json');
    expect(gets.slice(1).every((hit) => /^\/requests\/\d+\.json$/.test(hit.path))).toBe(true);
    for (let i = 0; i < MISSING_POLLS; i++) await client.poll();
    for (const ref of refs.slice(0, 4)) {
      const report = (await client.service.store.reports.get(ref))!;
      expect(report).toMatchObject({ status: 'open', open311Open: 'yes' });
      expect(report.open311Remote?.missedPolls).toBeUndefined();
    }
    expect(await client.service.store.reports.get(refs[4]!)).toMatchObject({ status: 'closed', statusNote: 'Ours, closed' });
  });

  it('missing-fields, wrong-types, bad-datetime, no-default-window, no-default-limit: forwarded once, and a change applied once', async () => {
    for (const mode of ['missing-fields', 'wrong-types', 'bad-datetime', 'no-default-window', 'no-default-limit'] as const) {
      const fake = await fakeCity({ mode, recentRequests: 3, oldRequests: 2 });
      const client = await clientOf(fake);
      const ref = await client.file();
      expect(await client.forward(ref)).toEqual({ state: 'done' });
      const id = (await client.service.store.reports.get(ref))!.open311Remote!.id!;
      fake.setStatus(id, 'closed', { notes: `Closed (${mode})` });
      await client.poll();
      await client.poll();
      const report = (await client.service.store.reports.get(ref))!;
      const updates = (await client.service.store.reportUpdates.find({ field: 'reportId', equals: ref })).filter((update) => update.staff === 'open311');
      if (mode === 'missing-fields') {
        // No status in the answer: never taken for closed; its note is an update, once.
        expect(report.status, mode).toBe('open');
        expect(
          updates.map((update) => update.note),
          mode,
        ).toEqual([`Closed (${mode})`]);
      } else {
        expect(report.status, mode).toBe('closed');
        expect(updates, mode).toHaveLength(1);
      }
      expect(fake.received, mode).toHaveLength(1);
    }
  });

  it('wrong-error-codes and bad-error-body: a refusal stays a refusal staff see, an unknown key or endpoint is retried', async () => {
    // An unknown service_code (404, answered 400 here): still this report refused, for good, with the city's reason.
    const wrongCodes = await fakeCity({ mode: 'wrong-error-codes' });
    const refusing = await clientOf(wrongCodes);
    const ref = await refusing.file('pothole');
    expect(await refusing.forward(ref)).toEqual({
      state: 'failed',
      error: 'city Open311 server answered 400: service_code pothole was not found',
      retryable: false,
    });
    expect(wrongCodes.received.map((post) => post.status)).toEqual([400]);
    expect((await open311Status(refusing.service.store)).failingSince).toBeUndefined();

    // A wrong key answered 401 instead of 403: our key, an outage, retried.
    const wrongKey = await clientOf({ url: wrongCodes.url, apiKey: 'not-the-key' });
    const keyRef = await wrongKey.file();
    const outcome = await wrongKey.forward(keyRef);
    expect(outcome.state).toBe('later');
    expect(wrongCodes.received.at(-1)!.status).toBe(401);

    // An unknown service_code with a 404 whose body is not the spec's: taken for a wrong endpoint, retried.
    const badBody = await fakeCity({ mode: 'bad-error-body' });
    const client = await clientOf(badBody);
    const unknownCode = await client.file('pothole');
    expect((await client.forward(unknownCode)).state).toBe('later');
    expect(await client.service.store.jobs.get(open311ForwardJobId(unknownCode))).toMatchObject({
      payload: { failures: 1, error: 'city Open311 server answered 404' },
    });
  });

  it('XML only: a POST answered in XML is filed and never sent again; a poll answered in XML is an outage staff see', async () => {
    const city = await stubCity('[{"service_request_id":"X-1"}]', '<?xml version="1.0"?><service_requests/>', 'text/xml');
    const client = await clientOf(city);
    const ref = await client.file();
    expect(await client.forward(ref)).toEqual({ state: 'done' });
    expect((await client.poll()).state).toBe('later');
    const status = await open311Status(client.service.store);
    expect(status).toMatchObject({ lastError: 'polling: answer 200 is not JSON', failingSince: client.clock.now.toISOString() });
    // Nothing was taken from it, and the request stays in the poll.
    expect(await client.service.store.reports.get(ref)).toMatchObject({ status: 'open', open311Open: 'yes' });
    expect((await client.service.store.reports.get(ref))?.open311Remote?.missedPolls).toBeUndefined();
  });
});

describe('a poll racing a staff change', () => {
  /**
   * The poll's store, with staff changing the report's status right after the poll recorded the
   * city's change on it and before it applied it (the one moment the two can cross).
   */
  function racingStore(service: Service, staffChange: { status: string; note?: string }): Open311ClientDeps['store'] {
    let raced = false;
    const reports = new Proxy(service.store.reports, {
      get(target, prop) {
        if (prop !== 'replace') return Reflect.get(target, prop, target) as unknown;
        return async (next: Parameters<typeof target.replace>[0], rev: number) => {
          const written = await target.replace(next, rev);
          if (written && !raced && next.open311Remote?.lastPolledAt) {
            raced = true;
            await changeReportStatus(service.staff, next._id, staffChange, { username: 'dana', role: 'coordinator' }, new Date('2026-11-20T15:00:00Z'));
          }
          return written;
        };
      },
    });
    return new Proxy(service.store, { get: (target, prop) => (prop === 'reports' ? reports : (Reflect.get(target, prop, target) as unknown)) });
  }

  it('keeps a status staff set after the poll read the city: a fix is not turned into closed, an in-progress not back to open', async () => {
    for (const [cityStatus, staffStatus] of [
      ['closed', 'fixed'],
      ['open', 'in_progress'],
    ] as const) {
      const fake = await fakeCity();
      const base = await clientOf(fake);
      const ref = await base.file();
      await base.forward(ref);
      const id = (await base.service.store.reports.get(ref))!.open311Remote!.id!;
      fake.setStatus(id, cityStatus, { notes: 'Crew sent' });
      await pollOpenRequests({
        store: racingStore(base.service, { status: staffStatus, note: 'Dana on it' }),
        settings: base.service.config.open311Client!,
        logger: base.service.logger,
        staff: () => base.service.staff,
        now: () => base.clock.now,
        timeoutMs: 2000,
      });
      const report = (await base.service.store.reports.get(ref))!;
      expect(report.status, cityStatus).toBe(staffStatus);
      const updates = await base.service.store.reportUpdates.find({ field: 'reportId', equals: ref });
      const byCity = updates.filter((update) => update.staff === 'open311');
      if (cityStatus === 'closed') expect(byCity, cityStatus).toEqual([]);
      // A note from the city on a request still open there: told with the status staff set.
      else
        expect(
          byCity.map((update) => [update.status, update.note]),
          cityStatus,
        ).toEqual([['in_progress', 'Crew sent']]);
    }
  });
});

describe("the city's status notes", () => {
  it('are cut to a staff note’s length (1,000) before they are told, kept and served: a city system’s long log is not texted whole', async () => {
    const fake = await fakeCity();
    const client = await clientOf(fake);
    const ref = await client.file();
    await client.forward(ref);
    const id = (await client.service.store.reports.get(ref))!.open311Remote!.id!;
    fake.setStatus(id, 'open', { notes: `Crew visited. ${'Log line. '.repeat(600)}` });
    await client.poll();
    const report = (await client.service.store.reports.get(ref))!;
    expect(report.statusNote?.startsWith('Crew visited. Log line.')).toBe(true);
    expect(report.statusNote!.length).toBeLessThanOrEqual(1000);
    const updates = (await client.service.store.reportUpdates.find({ field: 'reportId', equals: ref })).filter((update) => update.staff === 'open311');
    expect(updates.map((update) => update.note!.length <= 1000)).toEqual([true]);
    // The same long note asked about again is no new note.
    await client.poll();
    expect((await client.service.store.reportUpdates.find({ field: 'reportId', equals: ref })).filter((update) => update.staff === 'open311')).toHaveLength(1);
  });
});

describe('tokens the city answers oddly', () => {
  it('never takes another request’s id for a token: an answer listing other tokens resolves nothing, and tells the resident nothing', async () => {
    // A server whose tokens/{token} answers a list of other requests (the route ignores the token).
    const city = await stubCity(
      '[{"token":"tok-ours"}]',
      '[{"service_request_id":"OTHER-9","token":"tok-other","status":"closed","status_notes":"Done","updated_datetime":"2026-11-20T15:00:00Z"}]',
      'application/json',
    );
    const client = await clientOf(city);
    const ref = await client.file('streetlight');
    expect(await client.forward(ref)).toEqual({ state: 'done' });
    await client.poll();
    const report = (await client.service.store.reports.get(ref))!;
    expect(report.open311Remote?.id).toBeUndefined();
    expect(report.status).toBe('open');
    expect((await client.service.store.reportUpdates.find({ field: 'reportId', equals: ref })).filter((update) => update.staff === 'open311')).toEqual([]);
  });
});
