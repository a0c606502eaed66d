/**
 * CivicLine's Open311 server queries at city scale (issue 19), in a pinned child process: stores
 * a city's history of reports (`lib/city-reports.ts`, three years of them) and times, in process,
 * the functions behind `GET requests`, `GET requests/{id}` and `GET tokens/{token}`
 * (src/staff/open311-requests.ts) as the store grows from the first size to the last (1,000 then
 * 100,000 reports by default), counting the reports each query reads from the store. Then, at each
 * size, it adds forwarded requests still open at the city (`open311Open: 'yes'`, each asked about
 * at its own `open311PollAt`, and 1 in 100 that the city no longer knows, `unknown`) and times
 * the Open311 client's poll planning: the two index reads (the due `unknown` ones, then the
 * `yes` ones asked about longest ago) and the batches of 50 ids it would ask about (`planPoll` in
 * `pollOpenRequests`, src/staff/open311-client.ts, without the HTTP and the writes). The
 * forwarded requests are deleted again before the store grows, so the query figures are of the
 * city alone.
 *
 * A query reads through the category or status-group index, newest first, a bounded number of
 * reports: its cost should follow the page it answers, not the store's size.
 *
 * Usage: node dist/bench/open311.js '<json Open311BenchRequest>'; prints the result as JSON.
 */
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createTranslator, discoverLocales, loadLocaleBundles } from '../src/core/i18n.js';
import type { ReportRecord } from '../src/domain/records.js';
import { CATEGORIES } from '../src/domain/vocabulary.js';
import { POLL_BATCH, POLL_LIMIT } from '../src/staff/open311-client.js';
import { findOpen311Requests, getOpen311Request, requestIdOfToken, type Open311Deps, type Open311Query } from '../src/staff/open311-requests.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.port.js';
import { aReport, pick, random } from './lib/city-reports.js';

/** What to run. */
export interface Open311BenchRequest {
  dataDir: string;
  mongodbUri?: string;
  /** Stored reports at each measurement, ascending: the store grows from one to the next. */
  sizes: number[];
  /** Timed calls per query and size. */
  calls: number;
  /** Forwarded requests open at the city, added at each size for the poll planning. */
  forwarded: number;
}

/** One query's measurement at one size. */
export interface Open311QueryPoint {
  /** Per call, in µs. */
  latencyUs: { p50: number; p95: number; mean: number };
  /** Reports read from the store per call (records `find` and `get` returned), on average. */
  reportsRead: number;
  /** Requests answered per call, on average. */
  returned: number;
  /** Requests the query selects in the stored city (what a full scan would answer, capped at the page), on average; ids and tokens: absent. */
  matching?: number;
}

/** One size's measurements. */
export interface Open311SizePoint {
  reports: number;
  seedSeconds: number;
  queries: Record<string, Open311QueryPoint>;
  /** The client's poll planning with `forwarded` requests open at the city on top of the stored reports. */
  poll: { forwarded: number; latencyUs: { p50: number; p95: number; mean: number }; reportsRead: number; batches: number };
}

/** What the Open311 benchmark measured. */
export interface Open311BenchResult {
  store: 'embedded' | 'mongodb';
  calls: number;
  /** The queries, by name, as `GET requests` parameters. */
  queryNames: Record<string, string>;
  points: Open311SizePoint[];
}

const CHUNK = 250;
const DAY_MS = 86_400_000;
/** As in src/staff/open311-client.ts (not exported there): the most requests the city no longer knows one poll reads. */
const UNKNOWN_LIMIT = 500;

/** The queries timed, as a city's Open311 clients send them. */
const QUERY_NAMES: Record<string, string> = {
  default: '(none: last 90 days, page_size 1000)',
  serviceCode: 'service_code=<one category>',
  open: 'status=open',
  deepPage: 'page=10&page_size=100',
  window30: 'start_date/end_date: 30 days, 180–210 days ago',
  window30Old: 'start_date/end_date: 30 days, 400–430 days ago',
  ids50: 'service_request_id=<50 ids>',
  single: 'GET requests/{id}',
  token: 'GET tokens/{token}',
};

function stats(values: number[]): { p50: number; p95: number; mean: number } {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
  return { p50: at(0.5), p95: at(0.95), mean: values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length) };
}

/** The store, with the reports collection counting the records its reads return. */
function counting(store: Store): { store: Store; read: () => number } {
  let read = 0;
  const reports: Store['reports'] = {
    ...store.reports,
    get: async (id) => {
      const found = await store.reports.get(id);
      if (found) read++;
      return found;
    },
    find: async (where, options) => {
      const found = await store.reports.find(where, options);
      read += found.length;
      return found;
    },
  };
  return { store: { ...store, reports } as Store, read: () => read };
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '{}') as Open311BenchRequest;
  const config = loadConfig({ DATA_DIR: request.dataDir, ...(request.mongodbUri ? { MONGODB_URI: request.mongodbUri } : {}), LOG_LEVEL: 'silent' });
  const localesDir = path.join(config.rootDir, 'locales');
  const i18n = createTranslator(loadLocaleBundles(localesDir, discoverLocales(localesDir)), config.defaultLocale);
  const raw = await openStore({ dataDir: config.dataDir, ...(config.mongodbUri ? { mongodbUri: config.mongodbUri } : {}) });
  const { store, read } = counting(raw);
  const deps: Open311Deps = { store, i18n, config, geocoder: null };
  const seeding = random(19);
  const asking = random(311);
  const now = Date.now();
  const at = new Date(now);
  const result: Open311BenchResult = { store: raw.kind, calls: request.calls, queryNames: QUERY_NAMES, points: [] };
  // What the city holds, to count what each query should find.
  const ids: string[] = [];
  const tokens: string[] = [];
  const city: { made: number; open: boolean; category: string }[] = [];
  try {
    let stored = 0;
    for (const size of request.sizes) {
      const started = performance.now();
      while (stored < size) {
        const writes: Promise<boolean>[] = [];
        for (const end = Math.min(size, stored + CHUNK); stored < end; stored++) {
          const report = aReport(stored, seeding, now);
          // One in a hundred was posted through Open311 and carries its token.
          const posted = stored % 100 === 0 ? { channel: 'open311' as const, open311Token: `bench-token-${stored}` } : {};
          if (posted.open311Token) tokens.push(posted.open311Token);
          ids.push(report._id);
          city.push({ made: report.createdAt.getTime(), open: report.statusGroup === 'open', category: String(report.category) });
          writes.push(raw.reports.insert({ ...report, ...posted }));
        }
        await Promise.all(writes);
      }
      const seedSeconds = (performance.now() - started) / 1000;

      /** What a full scan would select for a query, capped at its page. */
      const matchingOf = (query: Open311Query): number => {
        const end = (query.end ?? at).getTime();
        const start = query.start?.getTime() ?? end - 90 * DAY_MS;
        const statuses = new Set(query.statuses ?? ['open', 'closed']);
        const all = city.filter(
          (r) =>
            r.made >= start && r.made <= end && statuses.has(r.open ? 'open' : 'closed') && (!query.serviceCodes || query.serviceCodes.includes(r.category)),
        ).length;
        return Math.max(0, Math.min(query.pageSize, all - (query.page - 1) * query.pageSize));
      };
      const window = (fromDaysAgo: number): Pick<Open311Query, 'start' | 'end'> => ({
        start: new Date(now - fromDaysAgo * DAY_MS),
        end: new Date(now - (fromDaysAgo - 30) * DAY_MS),
      });
      const makers: Record<string, () => Open311Query> = {
        default: () => ({ page: 1, pageSize: 1000 }),
        serviceCode: () => ({ serviceCodes: [pick(asking, CATEGORIES)], page: 1, pageSize: 1000 }),
        open: () => ({ statuses: ['open'], page: 1, pageSize: 1000 }),
        deepPage: () => ({ page: 10, pageSize: 100 }),
        window30: () => ({ ...window(210), page: 1, pageSize: 1000 }),
        window30Old: () => ({ ...window(430), page: 1, pageSize: 1000 }),
        ids50: () => ({ ids: Array.from({ length: 50 }, () => pick(asking, ids)), page: 1, pageSize: 1000 }),
      };
      const queries: Record<string, Open311QueryPoint> = {};
      const time = async (name: string, call: () => Promise<number>, matching?: () => number): Promise<void> => {
        // Warm: the first calls compile the code and fault in the pages.
        for (let i = 0; i < Math.min(20, request.calls); i++) await call();
        const us: number[] = [];
        let reads = 0;
        let returned = 0;
        let matched = 0;
        for (let i = 0; i < request.calls; i++) {
          const before = read();
          const t = performance.now();
          returned += await call();
          us.push((performance.now() - t) * 1000);
          reads += read() - before;
          if (matching) matched += matching();
        }
        queries[name] = {
          latencyUs: stats(us),
          reportsRead: reads / request.calls,
          returned: returned / request.calls,
          ...(matching ? { matching: matched / request.calls } : {}),
        };
      };
      for (const [name, make] of Object.entries(makers)) {
        let last: Open311Query | undefined;
        await time(
          name,
          async () => {
            last = make();
            return (await findOpen311Requests(deps, last, at)).length;
          },
          name === 'ids50' ? undefined : () => (last ? matchingOf(last) : 0),
        );
      }
      await time('single', async () => ((await getOpen311Request(deps, pick(asking, ids), at)) ? 1 : 0));
      await time('token', async () => ((await requestIdOfToken(deps, pick(asking, tokens))) ? 1 : 0));

      // The poll's planning, with forwarded requests open at the city on top of the stored reports.
      const forwardedIds: string[] = [];
      for (let i = 0; i < request.forwarded; i += CHUNK) {
        const writes: Promise<boolean>[] = [];
        for (let j = i; j < Math.min(request.forwarded, i + CHUNK); j++) {
          const base = aReport(j, random(1_000_000 + j), now);
          const id = `R-F${j.toString(36).toUpperCase().padStart(5, '0')}`;
          forwardedIds.push(id);
          writes.push(
            raw.reports.insert({
              ...base,
              _id: id,
              status: 'open',
              statusGroup: 'open',
              open311Remote: { id: `city-${j}`, sentAt: base.createdAt },
              // Steady state: each asked about at some earlier poll; one in a hundred no longer known there.
              open311Open: j % 100 === 99 ? 'unknown' : 'yes',
              open311PollAt: new Date(now - random(2_000_000 + j)() * DAY_MS),
              open311RemoteId: `city-${j}`,
            }),
          );
        }
        await Promise.all(writes);
      }
      const pollUs: number[] = [];
      let pollReads = 0;
      let batches = 0;
      const pollCalls = Math.max(5, Math.floor(request.calls / 10));
      for (let i = 0; i < pollCalls + 3; i++) {
        const before = read();
        const t = performance.now();
        const unknown = (await store.reports.find({ field: 'open311Open', equals: 'unknown' }, { order: 'asc', limit: UNKNOWN_LIMIT })).filter(
          (report: ReportRecord) => !report.open311PollAt || report.open311PollAt.getTime() <= now,
        );
        const known = await store.reports.find({ field: 'open311Open', equals: 'yes' }, { order: 'asc', limit: POLL_LIMIT });
        const remoteIds = [...unknown, ...known]
          .filter((report: ReportRecord) => report.open311Remote?.id && report.statusGroup === 'open' && !report.mergedInto)
          .map((r) => r.open311Remote!.id!);
        const planned: string[] = [];
        for (let start = 0; start < remoteIds.length; start += POLL_BATCH) planned.push(remoteIds.slice(start, start + POLL_BATCH).join(','));
        const us = (performance.now() - t) * 1000;
        // The first three warm.
        if (i >= 3) {
          pollUs.push(us);
          pollReads += read() - before;
          batches += planned.length;
        }
      }
      for (const id of forwardedIds) await raw.reports.delete(id);
      result.points.push({
        reports: stored,
        seedSeconds,
        queries,
        poll: { forwarded: request.forwarded, latencyUs: stats(pollUs), reportsRead: pollReads / pollCalls, batches: batches / pollCalls },
      });
    }
  } finally {
    await raw.close();
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
