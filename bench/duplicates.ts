/**
 * "Already reported?" at city scale (issue 18), in a pinned child process: stores reports spread
 * over a city-sized area (about 22 × 22 km, a mix of categories, statuses and point / text
 * places), and times `findNearbyOpenReports` per call as the dataset grows from the first size to
 * the last in one store (1,000 then 100,000 reports by default). With an index the cost of a call
 * stays flat; a scan would grow a hundredfold.
 *
 * The city is `lib/city-reports.ts`: the first 1,000 reports are in the district the residents
 * ask about, at its corners; the rest fill the other 99 districts and their corners. So a call
 * finds as many neighbours at 100,000 stored as at 1,000 (what grows is the city and its
 * history, not one street's reports), and any growth in its cost is the store's size showing
 * through: a scan would.
 *
 * Usage: node dist/bench/duplicates.js '<json DuplicatesRequest>'; prints the result as JSON.
 */
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { findNearbyOpenReports, type NearbyQuery } from '../src/pipeline/nearby-reports.js';
import { openStore } from '../src/store/open-store.js';
import { backfillOpenReportKeys } from '../src/store/open-report-keys.migration.js';
import { percentiles } from './lib/load.js';
import { aCorner, aPoint, aReport, pick, random } from './lib/city-reports.js';
import { CATEGORIES } from '../src/domain/vocabulary.js';

/** What to run. */
export interface DuplicatesRequest {
  dataDir: string;
  mongodbUri?: string;
  /** Stored reports at each measurement, ascending: the store grows from one to the next. */
  sizes: number[];
  /** Timed calls per size. */
  calls: number;
}

/** One size's measurement. */
export interface DuplicatesPoint {
  reports: number;
  /** Of them open (the ones the indexes hold). */
  open: number;
  seedSeconds: number;
  /** Per call, in µs: every call, point calls only, text-place calls only. */
  latencyUs: { p50: number; p99: number; mean: number };
  pointUs: { p50: number; p99: number };
  placeUs: { p50: number; p99: number };
  /** Reports offered per call, on average (limit 2). */
  offered: number;
  /** The start-up backfill's cost on this store, marked done (what every later start pays). */
  backfillMs: number;
}

/** What the duplicates benchmark measured. */
export interface DuplicatesResult {
  store: 'embedded' | 'mongodb';
  radiusM: number;
  calls: number;
  points: DuplicatesPoint[];
}

const CHUNK = 250;
const RADIUS_M = 250;

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '{}') as DuplicatesRequest;
  const config = loadConfig({ DATA_DIR: request.dataDir, ...(request.mongodbUri ? { MONGODB_URI: request.mongodbUri } : {}), LOG_LEVEL: 'silent' });
  const store = await openStore({ dataDir: config.dataDir, mongodbUri: config.mongodbUri });
  const logger = pino({ level: 'silent' });
  const seeding = random(18);
  const asking = random(2026);
  const now = Date.now();
  const result: DuplicatesResult = { store: store.kind, radiusM: RADIUS_M, calls: request.calls, points: [] };
  try {
    let stored = 0;
    let open = 0;
    for (const size of request.sizes) {
      const started = performance.now();
      while (stored < size) {
        const writes: Promise<boolean>[] = [];
        for (const end = Math.min(size, stored + CHUNK); stored < end; stored++) {
          const report = aReport(stored, seeding, now);
          if (report.statusGroup === 'open') open++;
          writes.push(store.reports.insert(report));
        }
        await Promise.all(writes);
      }
      const seedSeconds = (performance.now() - started) / 1000;
      // A later start's backfill (marked done after the first): what the start-up pays.
      await backfillOpenReportKeys(store, logger);
      const backfillStarted = performance.now();
      await backfillOpenReportKeys(store, logger);
      const backfillMs = performance.now() - backfillStarted;

      // Three in four residents share their location; the others type the place.
      const queries: NearbyQuery[] = Array.from({ length: request.calls }, () => {
        const category = pick(asking, CATEGORIES);
        if (asking() < 0.75) return { category, point: aPoint(asking, true), locale: 'en', radiusM: RADIUS_M, limit: 2 };
        const place = aCorner(asking, true);
        return { category, placeText: place.text, locale: place.locale, radiusM: RADIUS_M, limit: 2 };
      });
      // Warm: the first calls compile the code and fault in the pages (what a running service did long ago).
      for (const query of queries.slice(0, Math.min(1_000, queries.length))) await findNearbyOpenReports(store, query);
      const all: number[] = [];
      const byPoint: number[] = [];
      const byPlace: number[] = [];
      let offered = 0;
      for (const query of queries) {
        const t = performance.now();
        const found = await findNearbyOpenReports(store, query);
        const us = (performance.now() - t) * 1000;
        all.push(us);
        (query.point ? byPoint : byPlace).push(us);
        offered += found.length;
      }
      const { p50, p99, mean } = percentiles(all);
      const point = percentiles(byPoint);
      const place = percentiles(byPlace);
      result.points.push({
        reports: stored,
        open,
        seedSeconds,
        latencyUs: { p50, p99, mean },
        pointUs: { p50: point.p50, p99: point.p99 },
        placeUs: { p50: place.p50, p99: place.p99 },
        offered: offered / queries.length,
        backfillMs,
      });
    }
  } finally {
    await store.close();
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
