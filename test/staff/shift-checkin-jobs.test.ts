/**
 * The after-shift planner (issue 20) on its own: which shifts it plans a question for, and that it
 * reads them from its window's edge (the shifts status→startsAt index with `from`), not through a
 * year of past shifts; many shifts starting at once are all planned across its pages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord, ShiftRecord } from '../../src/domain/records.js';
import { SHIFT_CHECKIN_JOB, SHIFT_CHECKIN_PLAN_JOB, shiftCheckinJobHandlers } from '../../src/staff/shift-checkin-jobs.js';
import type { ResidentNotifier } from '../../src/staff/resident-notifier.js';
import { openStore } from '../../src/store/open-store.js';
import type { FindOptions, Store } from '../../src/store/store.port.js';
import { freshTestStore, type TestStore } from '../support/test-store.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = new Date('2026-12-05T18:00:00Z');

let dataDir: string;
let testStore: TestStore;
let store: Store;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-checkin-'));
  testStore = freshTestStore();
  store = await openStore({ dataDir, mongodbUri: testStore.env['MONGODB_URI'] });
});
afterAll(async () => {
  await store.close();
  await testStore.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

const notifier: ResidentNotifier = {
  notify: async () => ({ state: 'skipped', reason: 'no_resident' }),
};

function shift(id: string, startsAt: Date, hours: number, status: ShiftRecord['status'] = 'open'): Omit<ShiftRecord, '_rev'> {
  return {
    _id: id,
    roleId: 'V-ROLE2',
    startsAt,
    endsAt: new Date(startsAt.getTime() + hours * HOUR),
    capacity: 5,
    status,
    createdAt: startsAt,
    updatedAt: startsAt,
  };
}

/** Runs the planner once at NOW, counting the shifts it read. */
async function plan(): Promise<{ read: number; from: FindOptions['from'][] }> {
  let read = 0;
  const from: FindOptions['from'][] = [];
  const counted = {
    ...store,
    shifts: {
      ...store.shifts,
      async find(where: Parameters<Store['shifts']['find']>[0], options?: FindOptions) {
        const found = await store.shifts.find(where, options);
        read += found.length;
        from.push(options?.from);
        return found;
      },
    },
  };
  const handlers = shiftCheckinJobHandlers({
    store: counted,
    notifier,
    config: { resumePromptAfterMs: 30 * MINUTE, cityTimeZone: 'America/New_York' },
    now: () => NOW,
  });
  const job = { _id: SHIFT_CHECKIN_PLAN_JOB, kind: SHIFT_CHECKIN_PLAN_JOB, payload: {} } as unknown as JobRecord;
  const outcome = await handlers[SHIFT_CHECKIN_PLAN_JOB]!.run(job);
  expect(outcome).toEqual({ state: 'later', dueAt: new Date(NOW.getTime() + 15 * MINUTE) });
  return { read, from };
}

async function planned(shiftId: string): Promise<JobRecord | null> {
  return store.jobs.get(`${SHIFT_CHECKIN_JOB}|${shiftId}`);
}

describe('planning the questions after shifts', () => {
  it('plans shifts whose question is due by its next look, once each, reading only its window', async () => {
    // A year of past shifts, long asked about (or never to be): the planner does not read them.
    for (let day = 3; day < 365; day++) await store.shifts.insert(shift(`S-OLD${day}`, new Date(NOW.getTime() - day * 24 * HOUR), 3));
    await store.shifts.insert(shift('S-ENDED', new Date(NOW.getTime() - 4 * HOUR), 3)); // ended an hour ago: due now
    await store.shifts.insert(shift('S-NEXT2', new Date(NOW.getTime() - 3 * HOUR - 5 * MINUTE), 2)); // ended 65 minutes ago: due 5 minutes ago
    await store.shifts.insert(shift('S-NEAR2', new Date(NOW.getTime() - 3 * HOUR - 50 * MINUTE), 3)); // ended 50 minutes ago: due before the next look
    await store.shifts.insert(shift('S-SOON2', new Date(NOW.getTime() - 2 * HOUR - 50 * MINUTE), 3)); // ends in 10 minutes: the next look plans it
    await store.shifts.insert(shift('S-YEST2', new Date(NOW.getTime() - 30 * HOUR), 3)); // ended 27 hours ago: too late to ask
    await store.shifts.insert(shift('S-OFF22', new Date(NOW.getTime() - 4 * HOUR), 3, 'cancelled'));
    await store.shifts.insert(shift('S-LATER', new Date(NOW.getTime() + 2 * HOUR), 3));

    const { read, from } = await plan();
    expect(await planned('S-ENDED')).toMatchObject({ state: 'pending', dueAt: new Date(NOW.getTime() - 4 * HOUR + 3 * HOUR + HOUR) });
    expect(await planned('S-NEXT2')).toMatchObject({ dueAt: new Date(NOW.getTime() - 5 * MINUTE) });
    expect(await planned('S-NEAR2')).toMatchObject({ dueAt: new Date(NOW.getTime() + 10 * MINUTE) });
    for (const id of ['S-SOON2', 'S-YEST2', 'S-OFF22', 'S-LATER', 'S-OLD3', 'S-OLD100']) expect(await planned(id)).toBeNull();
    // From two days back, not from the first shift ever.
    expect(from[0]).toEqual(new Date(NOW.getTime() - 48 * HOUR));
    expect(read).toBeLessThan(10);

    // Looked at again: nothing new (one job per shift).
    await plan();
    expect((await store.jobs.find({ field: 'state', equals: 'pending' })).filter((job) => job.kind === SHIFT_CHECKIN_JOB)).toHaveLength(3);
  });

  it('plans every one of more shifts starting at once than a page holds', async () => {
    const at = new Date(NOW.getTime() - 20 * HOUR);
    for (let i = 0; i < 700; i++) await store.shifts.insert(shift(`S-MANY${i}`, at, 3));
    await plan();
    const missing: string[] = [];
    for (let i = 0; i < 700; i++) if (!(await planned(`S-MANY${i}`))) missing.push(`S-MANY${i}`);
    expect(missing).toEqual([]);
  });
});
