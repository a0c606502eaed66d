/**
 * "Already reported?" (src/pipeline/nearby-reports.ts) against a real store (the embedded one,
 * or a fresh MongoDB database in the `mongodb` project), with reports filed through the command
 * runner as residents file them:
 *
 * - with a point: the open reports of the category within the radius, closest first, at most
 *   `limit`; not other categories, not fixed or closed ones, not those just outside the radius;
 * - with a text place: the same place however spelt, newest first, and not a street of another type;
 * - a report that leaves the open group leaves the indexes, and comes back when reopened;
 * - only equality reads of the two open-report indexes, four cells at 250 m (an index, not a scan);
 * - open reports stored before the keys existed get them from the start-up backfill, once,
 *   which says nothing when there is nothing to do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GeoPoint } from '../../src/core/message.js';
import { withOpenReportKeys } from '../../src/domain/open-report-keys.js';
import { EARTH_RADIUS_M } from '../../src/domain/places.js';
import type { ReportRecord } from '../../src/domain/records.js';
import { CommandRunner, type CommandScope } from '../../src/pipeline/command-runner.js';
import { findNearbyOpenReports, type NearbyQuery } from '../../src/pipeline/nearby-reports.js';
import { backfillOpenReportKeys, OPEN_REPORT_KEYS_MIGRATION } from '../../src/store/open-report-keys.migration.js';
import { openStore } from '../../src/store/open-store.js';
import type { Collection, Store } from '../../src/store/store.port.js';
import { freshTestStore, type TestStore } from '../support/test-store.js';

let dataDir: string;
let testStore: TestStore;
let store: Store;
let runner: CommandRunner;
let filed = 0;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-nearby-'));
  testStore = freshTestStore();
  store = await openStore({ dataDir, mongodbUri: testStore.env['MONGODB_URI'] });
  runner = new CommandRunner(store);
});
afterAll(async () => {
  await store.close();
  await testStore.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Somewhere of its own per test: the store is shared, and one test's reports must not be another's. */
let origin = 0;
function somewhere(): GeoPoint {
  origin += 1;
  return { lat: 39.78 + origin * 0.05, lon: -89.65 };
}

/** The point `metres` north of `from`. */
function north(from: GeoPoint, metres: number): GeoPoint {
  return { lat: from.lat + (metres / EARTH_RADIUS_M) * (180 / Math.PI), lon: from.lon };
}

/** Files a report as a resident does (the command runner), `minute` minutes into the day; returns its reference. */
async function file(input: { category?: string; point?: GeoPoint; place?: string; locale?: string; minute?: number }): Promise<string> {
  filed += 1;
  const scope: CommandScope = {
    address: `sms:+1555000${String(filed).padStart(4, '0')}`,
    channel: 'sms',
    locale: input.locale ?? 'en',
    sourceKey: `sms:SMnearby${filed}`,
    now: new Date(Date.UTC(2026, 10, 20, 8, input.minute ?? filed)),
  };
  const result = await runner.run(
    {
      type: 'report.create',
      input: {
        category: input.category ?? 'pothole',
        description: 'deep',
        photos: [],
        ...(input.place ? { locationText: input.place } : {}),
        ...(input.point ? { point: input.point } : {}),
      },
    },
    scope,
  );
  return (result.value as { ref: string }).ref;
}

/** Sets a report's status as the staff desk does: the keys follow the status group. */
async function setGroup(ref: string, statusGroup: ReportRecord['statusGroup']): Promise<void> {
  const report = (await store.reports.get(ref))!;
  expect(await store.reports.replace(withOpenReportKeys({ ...report, status: statusGroup, statusGroup }), report._rev)).toBe(true);
}

const query = (overrides: Partial<NearbyQuery>): NearbyQuery => ({ category: 'pothole', locale: 'en', radiusM: 250, limit: 2, ...overrides });

describe('findNearbyOpenReports', () => {
  it('offers the open reports of the category within the radius, closest first, at most limit', async () => {
    const here = somewhere();
    const at240 = await file({ point: north(here, 240) });
    const at30 = await file({ point: north(here, -30) });
    const at120 = await file({ point: north(here, 120) });
    await file({ point: north(here, 262) });
    await file({ point: here, category: 'streetlight' });
    await setGroup(await file({ point: north(here, 10) }), 'fixed');
    await setGroup(await file({ point: north(here, 20) }), 'closed');

    const two = await findNearbyOpenReports(store, query({ point: here }));
    expect(two.map((found) => found.report._id)).toEqual([at30, at120]);
    expect(two[0]).toMatchObject({ match: 'point' });
    expect(two[0]!.distanceM).toBeCloseTo(30, 0);

    const all = await findNearbyOpenReports(store, query({ point: here, limit: 10 }));
    expect(all.map((found) => found.report._id)).toEqual([at30, at120, at240]);
    // A wider radius takes the one at 262 m; a streetlight is never a pothole's duplicate.
    expect(await findNearbyOpenReports(store, query({ point: here, limit: 10, radiusM: 300 }))).toHaveLength(4);
    expect((await findNearbyOpenReports(store, query({ point: here, limit: 10, category: 'streetlight' }))).map((f) => f.report.category)).toEqual([
      'streetlight',
    ]);
    expect((await findNearbyOpenReports(store, query({ point: here, excludeId: at30 })))[0]!.report._id).toBe(at120);
  });

  it('offers the reports at the same text place however spelt, newest first, not a street of another type', async () => {
    const older = await file({ place: '5th & Main', minute: 1 });
    const newer = await file({ place: 'esquina de la calle 5 con main', locale: 'es', minute: 2 });
    await file({ place: 'Main Ave & 5th', minute: 3 });
    await file({ place: '6th & Main', minute: 4 });
    await file({ place: '5th & Main', category: 'graffiti', minute: 5 });

    const found = await findNearbyOpenReports(store, query({ placeText: 'main st and 5th', limit: 5 }));
    expect(found.map((f) => [f.report._id, f.match])).toEqual([
      [newer, 'place'],
      [older, 'place'],
    ]);
    expect(await findNearbyOpenReports(store, query({ placeText: 'here' }))).toEqual([]);
    expect(await findNearbyOpenReports(store, query({}))).toEqual([]);
  });

  it('puts point matches before place matches, each report once', async () => {
    const here = somewhere();
    const both = await file({ point: north(here, 50), place: 'Oak Blvd & 2nd' });
    const textOnly = await file({ place: 'second and oak boulevard' });
    const found = await findNearbyOpenReports(store, query({ point: here, placeText: 'Oak & 2nd', limit: 5 }));
    expect(found.map((f) => [f.report._id, f.match])).toEqual([
      [both, 'point'],
      [textOnly, 'place'],
    ]);
  });

  it('drops a report that leaves the open group from the indexes, and takes it back when reopened', async () => {
    const here = somewhere();
    const ref = await file({ point: here, place: 'Cedar Dr & Pine Rd' });
    const report = (await store.reports.get(ref))!;
    expect(report.openCell).toMatch(/^pothole\|\d+:\d+$/);
    expect(report.openPlace).toBe('pothole|x:cedar|pine');
    await setGroup(ref, 'fixed');
    expect(await store.reports.get(ref)).not.toHaveProperty('openCell');
    expect(await store.reports.count({ field: 'openCell', equals: report.openCell! })).toBe(0);
    expect(await store.reports.count({ field: 'openPlace', equals: report.openPlace! })).toBe(0);
    expect(await findNearbyOpenReports(store, query({ point: here }))).toEqual([]);
    await setGroup(ref, 'open');
    expect((await findNearbyOpenReports(store, query({ point: here, placeText: 'pine road and cedar drive' }))).map((f) => f.report._id)).toEqual([ref]);
  });

  it('reads only the open-report indexes, four cells at the default radius', async () => {
    const reads: string[] = [];
    const reports = new Proxy(store.reports, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property !== 'find' && property !== 'count' && property !== 'get') return value;
        return (...args: [{ field: string }]) => {
          reads.push(property === 'get' ? 'get' : args[0].field);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as Collection<ReportRecord>;
    await findNearbyOpenReports({ reports }, query({ point: somewhere(), placeText: '5th & Main' }));
    expect(reads.filter((field) => field === 'openCell').length).toBeLessThanOrEqual(4);
    expect(reads.filter((field) => field === 'openPlace')).toHaveLength(1);
    expect(reads.every((field) => field === 'openCell' || field === 'openPlace')).toBe(true);
  });
});

describe('backfillOpenReportKeys', () => {
  it('gives open reports stored before the keys their keys, once, and says nothing when there is nothing to do', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    // The backfill of this test's store ran once before (the store is shared): start it afresh.
    await store.meta.delete(OPEN_REPORT_KEYS_MIGRATION);
    await backfillOpenReportKeys(store, logger);
    expect(lines).toEqual([]);

    const here = somewhere();
    const old = await file({ point: here, place: 'Elm Ave & 21st St' });
    const closed = await file({ point: here });
    await setGroup(closed, 'closed');
    // As an earlier version stored them: no keys.
    for (const ref of [old, closed]) {
      const { openCell: _cell, openPlace: _place, ...bare } = (await store.reports.get(ref))!;
      await store.reports.upsert(bare);
    }
    expect(await findNearbyOpenReports(store, query({ point: here }))).toEqual([]);

    // Marked done: a later start looks at the newest open reports only, and fixes those.
    const later = await backfillOpenReportKeys(store, logger);
    expect(later.updated).toBe(1);
    expect(lines.map((line) => JSON.parse(line) as { msg: string; reports: number })).toMatchObject([
      { msg: 'gave open reports their duplicate-search keys', reports: 1 },
    ]);
    expect((await findNearbyOpenReports(store, query({ point: here, placeText: '21st/elm' }))).map((f) => f.report._id)).toEqual([old]);
    expect(await store.reports.get(closed)).not.toHaveProperty('openCell');

    // The first start of a version reads every open report; nothing to do the second time.
    await store.meta.delete(OPEN_REPORT_KEYS_MIGRATION);
    const full = await backfillOpenReportKeys(store, logger);
    expect(full.checked).toBeGreaterThanOrEqual(later.checked);
    expect(full.updated).toBe(0);
    expect(await store.meta.get(OPEN_REPORT_KEYS_MIGRATION)).not.toBeNull();
    expect(lines).toHaveLength(1);
  });
});
