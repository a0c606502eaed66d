/**
 * The conformance suite checked against the fake Open311 server: every check passes on the
 * conforming fake, and each non-conforming mode fails exactly the checks that read what it breaks
 * (so a check that stops noticing, or starts failing for the wrong reason, shows here). Also the
 * command line: its arguments, its table and exit code, and `npm run open311:check` itself.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpen311, type FakeOpen311, type FakeOpen311Mode, type FakeOpen311Options } from '../support/fake-open311.js';
import { CHECKS, runConformance, type CheckResult } from './conformance.js';
import { main, parseArgs } from './check.js';

let fake: FakeOpen311 | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function against(options: FakeOpen311Options, post = true): Promise<CheckResult[]> {
  fake = await startFakeOpen311(options);
  return runConformance({ baseUrl: fake.url, apiKey: fake.apiKey, post });
}

const ids = (results: readonly CheckResult[], outcome: CheckResult['outcome']) =>
  results
    .filter((r) => r.outcome === outcome)
    .map((r) => r.id)
    .sort();

const ERROR_CHECKS = [
  'definition.unknown.json',
  'definition.unknown.xml',
  'post.no-api-key',
  'post.bad-api-key',
  'post.no-service-code',
  'post.unknown-service-code',
  'post.no-location',
  'post.missing-required-attribute',
  'requests.bad-date',
  'request.unknown.json',
  'request.unknown.xml',
];
const DOCUMENT_CHECKS = ['services.json', 'services.xml', 'definition.json', 'definition.xml', 'requests.json', 'requests.xml', 'request.json', 'request.xml'];
const XML_CHECKS = [
  'discovery.xml',
  'services.xml',
  'definition.xml',
  'definition.unknown.xml',
  'post.xml',
  'post.bad-api-key',
  'tokens.xml',
  'requests.xml',
  'request.xml',
  'request.unknown.xml',
];

/** What each non-conforming mode of the fake must make fail: exactly these checks. */
const EXPECTED_FAILS: Record<Exclude<FakeOpen311Mode, 'conforming'>, string[]> = {
  'missing-fields': DOCUMENT_CHECKS,
  'wrong-types': DOCUMENT_CHECKS,
  'bad-datetime': ['requests.json', 'requests.xml', 'request.json', 'request.xml'],
  'wrong-error-codes': ERROR_CHECKS,
  'bad-error-body': ERROR_CHECKS,
  'malformed-xml': XML_CHECKS,
  // Misnamed XML also reads as different content from the JSON.
  'wrong-xml-names': [...XML_CHECKS, 'services.xml-matches-json', 'definition.xml-matches-json', 'request.xml-matches-json'],
  'ignores-filters': ['requests.filter.status', 'requests.filter.service_code', 'requests.filter.dates', 'requests.filter.service_request_id'],
  'no-default-limit': ['requests.default-limit'],
  'no-default-window': ['requests.default-window'],
  'accepts-any-key': ['post.no-api-key', 'post.bad-api-key'],
};

describe('Open311 conformance suite against the fake server', () => {
  it('passes every check on the conforming fake, with more than 1000 requests and paging on', async () => {
    const results = await against({ paging: true, recentRequests: 1003 });
    expect(results.map((r) => r.id)).toEqual(CHECKS.map((c) => c.id));
    expect(results.filter((r) => r.outcome !== 'pass')).toEqual([]);
    expect(results.find((r) => r.id === 'requests.default-limit')?.message).toContain('the limit holds');
  });

  it('only warns about paging on a conforming server without the extension', async () => {
    const results = await against({});
    expect(ids(results, 'fail')).toEqual([]);
    expect(ids(results, 'warn')).toEqual(['requests.paging']);
  });

  it('files nothing with post: false, and skips only the checks that POST', async () => {
    const results = await against({});
    const before = fake!.received.length;
    const withoutPost = await runConformance({ baseUrl: fake!.url, post: false });
    expect(fake!.received.length).toBe(before);
    expect(ids(withoutPost, 'skip')).toEqual(
      CHECKS.filter((c) => c.posts)
        .map((c) => c.id)
        .sort(),
    );
    expect(ids(withoutPost, 'fail')).toEqual([]);
    expect(results.length).toBe(withoutPost.length);
  });

  it('sends the jurisdiction_id with every call', async () => {
    fake = await startFakeOpen311({ jurisdictionId: 'springfield.gov' });
    const results = await runConformance({ baseUrl: fake.url, apiKey: fake.apiKey, jurisdictionId: 'springfield.gov', post: true });
    expect(ids(results, 'fail')).toEqual([]);
    expect(fake.hits.every((hit) => hit.path.startsWith('/discovery') || hit.query.get('jurisdiction_id') === 'springfield.gov' || hit.method === 'POST')).toBe(
      true,
    );
    expect(fake.received.every((p) => p.form['jurisdiction_id'] === 'springfield.gov')).toBe(true);
  });

  for (const [mode, expected] of Object.entries(EXPECTED_FAILS) as Array<[Exclude<FakeOpen311Mode, 'conforming'>, string[]]>) {
    it(`fails exactly the right checks on a ${mode} server`, async () => {
      // Past 1000 requests, so a missing default limit has something to show.
      const results = await against({ mode, recentRequests: mode === 'no-default-limit' ? 1005 : 6 });
      expect(ids(results, 'fail')).toEqual([...expected].sort());
    });
  }

  it('says why, in words a server author can act on', async () => {
    const results = await against({ mode: 'bad-datetime' });
    expect(results.find((r) => r.id === 'requests.json')?.message).toMatch(/requested_datetime ".*" is not an ISO 8601 date-time with a time zone/);
    await fake!.close();
    const codes = await against({ mode: 'wrong-error-codes' });
    expect(codes.find((r) => r.id === 'post.no-api-key')?.message).toBe('POST requests.json answered 401, not 403');
  });

  it('fails, not hangs, on a server slower than the time limit', async () => {
    fake = await startFakeOpen311({ latencyMs: 400 });
    const results = await runConformance({ baseUrl: fake.url, post: false, timeoutMs: 100, only: ['services.json', 'requests.json'] });
    expect(results.map((r) => [r.id, r.outcome])).toEqual([
      ['services.json', 'fail'],
      ['requests.json', 'fail'],
    ]);
    expect(results[0]!.message).toMatch(/no answer/);
  });

  it('fails every check that reads an answer on a server that is down (503)', async () => {
    const results = await against({ failRate: 1 }, false);
    expect(ids(results, 'pass')).toEqual([]);
    expect(results.find((r) => r.id === 'services.json')?.message).toMatch(/answered 503, not 200/);
  });
});

describe('open311:check command line', () => {
  it('needs a base URL, and an api key unless told --no-post', () => {
    expect(parseArgs([])).toMatchObject({ error: expect.stringContaining('a base URL') });
    expect(parseArgs(['http://127.0.0.1:1/v2'])).toMatchObject({ error: expect.stringContaining('--api-key') });
    expect(parseArgs(['http://127.0.0.1:1/v2', '--no-post'])).toEqual({ baseUrl: 'http://127.0.0.1:1/v2', post: false });
    expect(parseArgs(['http://x/v2', '--api-key', 'K', '--jurisdiction', 'city.gov', '--only', 'a,b'])).toEqual({
      baseUrl: 'http://x/v2',
      apiKey: 'K',
      jurisdictionId: 'city.gov',
      post: true,
      only: ['a', 'b'],
    });
    expect(parseArgs(['http://x/v2', '--frobnicate'])).toMatchObject({ error: expect.stringContaining('unknown option --frobnicate') });
  });

  it('prints a table and exits 0 on a conforming server, 1 when a check fails', async () => {
    fake = await startFakeOpen311({});
    const printed: string[] = [];
    expect(await main([fake.url, '--api-key', fake.apiKey], (text) => printed.push(text))).toBe(0);
    expect(printed.join('\n')).toMatch(/^PASS {2}services\.json +GET Service List +3 services$/m);
    expect(printed.at(-1)).toMatch(/Open311 conformance: \d+ pass, 0 fail, 1 warn, 0 skip$/);
    fake.set({ mode: 'accepts-any-key' });
    expect(await main([fake.url, '--api-key', fake.apiKey, '--only', 'post.no-api-key'], () => {})).toBe(1);
  });

  it('runs as `npm run open311:check -- <url>`', async () => {
    fake = await startFakeOpen311({});
    const { stdout } = await promisify(execFile)('npm', ['run', '--silent', 'open311:check', '--', fake.url, '--no-post'], { cwd: process.cwd() });
    expect(stdout).toMatch(/Open311 conformance: \d+ pass, 0 fail, \d+ warn, \d+ skip/);
  });
});
