/**
 * CivicLine's own Open311 server against the conformance suite (test/open311/), as a city's IT
 * would run `npm run open311:check -- <base url> --api-key K` against it: every check passes or
 * only warns (an optional part of the spec, or a deliberate choice the README explains).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConformance } from '../../open311/conformance.js';
import { createOpen311Key } from '../../../src/staff/open311-keys.js';
import { startTestApp, type RunningApp } from '../../support/http.js';

let app: RunningApp;
let apiKey: string;

beforeAll(async () => {
  app = await startTestApp();
  apiKey = (await createOpen311Key(app.service.store, { name: 'Conformance suite', perMinute: 6000 }, { username: 'admin-token', role: 'admin' })).key;
});
afterAll(() => app.close());

describe('the Open311 conformance suite against CivicLine', () => {
  it('passes every check, POSTs included', async () => {
    const results = await runConformance({ baseUrl: `${app.url}/open311/v2`, apiKey, post: true });
    const failed = results.filter((result) => result.outcome === 'fail');
    expect(failed.map((result) => `${result.id}: ${result.message}`)).toEqual([]);
    expect(results.filter((result) => result.outcome === 'pass').length).toBeGreaterThan(25);
  }, 120_000);
});
