/**
 * Settling an idea merge (issue 21) at size: every supporter of the merged idea becomes a
 * supporter of the kept one, however many supported it at one instant (an import, supports a
 * merge copied with their times), on the embedded store or a fresh MongoDB database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { settleIdeaMerge } from '../../src/staff/idea-merge.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.port.js';
import { freshTestStore, ON_MONGODB, type TestStore } from '../support/test-store.js';

let dataDir: string;
let testStore: TestStore;
let store: Store;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-idea-merge-'));
  testStore = freshTestStore();
  store = await openStore({ dataDir, mongodbUri: testStore.env['MONGODB_URI'] });
});
afterAll(async () => {
  await store.close();
  await testStore.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

it('copies every supporter of the merged idea, more than a page of them at one instant included', async () => {
  // More than the settling's page (1,000), all supported at the same millisecond.
  const SUPPORTERS = ON_MONGODB ? 1_100 : 2_500;
  const at = new Date('2026-11-20T15:00:00Z');
  const kept = { _id: 'I-KEPT2', authorAddress: 'sms:+13125550001' };
  const merged = { _id: 'I-MRGD2', authorAddress: 'sms:+13125550002', createdAt: at };
  const addresses = Array.from({ length: SUPPORTERS }, (_, i) => `sms:+1312600${String(i).padStart(4, '0')}`);
  for (let start = 0; start < SUPPORTERS; start += 500) {
    await Promise.all(
      addresses.slice(start, start + 500).map((address) => store.ideaSupports.insert({ _id: `${merged._id}|${address}`, ideaId: merged._id, address, at })),
    );
  }
  const involved = await settleIdeaMerge(store, kept, merged);
  expect(involved.size).toBe(SUPPORTERS + 1);
  expect(await store.ideaSupports.count({ field: 'ideaId', equals: kept._id })).toBe(SUPPORTERS + 1);
}, 120_000);
