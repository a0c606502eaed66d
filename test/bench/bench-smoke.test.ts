/**
 * The benchmark suite still runs: `npm run bench -- --quick` (every scenario, tiny) builds,
 * seeds, drives the real service and the reference servers, and writes its JSON and Markdown.
 * It writes to a temporary folder, never over the committed results in bench/results/.
 * The benchmark's figures are not checked here: a test machine's timings prove nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.join(import.meta.dirname, '..', '..');
const out = mkdtempSync(path.join(tmpdir(), 'civicline-bench-smoke-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run bench -- --quick', () => {
  // Minutes, not seconds: it builds, then runs every scenario on a machine that the other tests
  // (on both stores, with MONGODB_URI set) keep busy; a slow run is no failure of the suite.
  it('runs every scenario and writes results JSON and a Markdown summary', { timeout: 305_000 }, () => {
    const run = spawnSync('npm', ['run', 'bench', '--silent', '--', '--quick', '--out', out], {
      cwd: root,
      encoding: 'utf8',
      // Not the developer's MongoDB: the quick run is about the suite working, on the embedded store.
      env: { ...process.env, MONGODB_URI: '' },
      timeout: 300_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);

    const json = readdirSync(out).filter((name) => name.endsWith('.json'));
    expect(json).toHaveLength(1);
    const results = JSON.parse(readFileSync(path.join(out, json[0]!), 'utf8'));
    expect(results.quick).toBe(true);
    // References, every channel, the scaling series, NLU, broadcasts, the profile and the stored reports all ran.
    expect(Object.keys(results.references).sort()).toEqual(['botbuilder', 'express', 'node-http', 'twilio']);
    const store = results.stores.embedded;
    expect(Object.keys(store.channels).sort()).toEqual(['sms', 'telegram', 'webchat']);
    for (const runs of Object.values(store.channels) as Record<string, { requests: number; offScript: number | null; non2xx: number }>[]) {
      for (const run of Object.values(runs)) {
        expect(run.requests).toBeGreaterThan(0);
        expect(run.non2xx).toBe(0);
        // Every checked turn went as scripted: the load really is residents in conversation.
        expect(run.offScript).toBe(0);
      }
    }
    expect(store.scaling.length).toBeGreaterThanOrEqual(2);
    expect(store.broadcast.planned).toBeGreaterThan(0);
    expect(store.profile.topFunctions.length).toBeGreaterThan(0);
    // "Already reported?" in the SMS turn: both datasets measured, every turn as scripted.
    expect(store.cityReports.cityReports.stored).toBeGreaterThan(0);
    for (const round of store.cityReports.rounds as Record<'without' | 'with', { requests: number; offScript: number | null }>[]) {
      for (const run of [round.without, round.with]) {
        expect(run.requests).toBeGreaterThan(0);
        expect(run.offScript).toBe(0);
      }
    }
    expect(results.nlu.classificationsPerSecond).toBeGreaterThan(0);
    expect(results.targets.length).toBeGreaterThan(0);

    const markdown = readFileSync(path.join(out, 'latest.md'), 'utf8');
    expect(markdown).toContain('## Targets');
    expect(markdown).toContain('## How cost grows with stored residents');
  });
});
