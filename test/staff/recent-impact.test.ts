/**
 * The home page's volunteering figures (`RecentImpact`): computed once and shown for a few
 * minutes, shared by visits that arrive while they are computed, computed again once stale or
 * when the city's day (and so the 12-month range) changes, and never stuck on a failed read.
 * A real embedded store; the reads are counted at the roles' `find`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../../src/store/embedded.store.js';
import type { Store } from '../../src/store/store.port.js';
import { HOME_IMPACT_FRESH_MS, RecentImpact } from '../../src/staff/recent-impact.js';
import type { ImpactDeps } from '../../src/staff/volunteer-impact.js';

const config = { cityTimeZone: 'America/Chicago', volunteerHourValue: 34.79 };
const MINUTE = 60_000;

let dir: string;
let store: Store;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'civicline-recent-impact-'));
  store = await openEmbeddedStore(dir);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The store, with its roles' reads counted (each computation reads the roles twice) and made to fail on demand. */
function countingDeps(): { deps: ImpactDeps; computations: () => number; failNext: () => void } {
  let roleReads = 0;
  let failing = false;
  const roles = new Proxy(store.roles, {
    get(target, key, receiver) {
      if (key !== 'find') return Reflect.get(target, key, receiver);
      return async (...args: Parameters<Store['roles']['find']>) => {
        roleReads += 1;
        if (failing) throw new Error('the store is away');
        return target.find(...args);
      };
    },
  });
  const counted = new Proxy(store, { get: (target, key, receiver) => (key === 'roles' ? roles : Reflect.get(target, key, receiver)) });
  return {
    deps: { store: counted, config },
    computations: () => roleReads / 2,
    failNext: () => {
      failing = true;
    },
  };
}

describe('the home page volunteering figures', () => {
  it('are computed once for visits within the freshness window, and again after it', async () => {
    const { deps, computations } = countingDeps();
    const recent = new RecentImpact(deps);
    const at = new Date('2026-06-15T17:00:00Z');
    const first = await recent.snapshot(at);
    const again = await recent.snapshot(new Date(at.getTime() + HOME_IMPACT_FRESH_MS - MINUTE));
    expect(computations()).toBe(1);
    expect(again).toBe(first);
    expect(first.computedAt).toEqual(at);
    const later = new Date(at.getTime() + HOME_IMPACT_FRESH_MS);
    const stale = await recent.snapshot(later);
    expect(computations()).toBe(2);
    expect(stale.computedAt).toEqual(later);
  });

  it('are shared by visits that arrive while they are being computed', async () => {
    const { deps, computations } = countingDeps();
    const recent = new RecentImpact(deps);
    const at = new Date('2026-06-15T17:00:00Z');
    const visits = await Promise.all(Array.from({ length: 5 }, () => recent.snapshot(at)));
    expect(computations()).toBe(1);
    expect(new Set(visits).size).toBe(1);
  });

  it('are computed again when the day changes in the city, even within the window', async () => {
    const { deps, computations } = countingDeps();
    const recent = new RecentImpact(deps);
    // 23:59 and 00:01 in Chicago (UTC−5 in winter): two minutes apart, two different 12-month ranges.
    const before = await recent.snapshot(new Date('2026-12-01T05:59:00Z'));
    const after = await recent.snapshot(new Date('2026-12-01T06:01:00Z'));
    expect(computations()).toBe(2);
    expect(before.impact.range.to).toBe('2026-11-30');
    expect(after.impact.range.to).toBe('2026-12-01');
  });

  it('are not kept when computing them failed: the next visit tries again', async () => {
    const { deps, computations, failNext } = countingDeps();
    const recent = new RecentImpact(deps);
    const at = new Date('2026-06-15T17:00:00Z');
    failNext();
    await expect(recent.snapshot(at)).rejects.toThrow('the store is away');
    const working = new RecentImpact({ ...deps, store }); // the same cache rule on a store that answers
    await expect(working.snapshot(at)).resolves.toMatchObject({ computedAt: at });
    // The failing instance tries again on the next visit instead of holding the failure.
    const readsBefore = computations();
    await expect(recent.snapshot(new Date(at.getTime() + MINUTE))).rejects.toThrow('the store is away');
    expect(computations()).toBeGreaterThan(readsBefore);
  });
});
