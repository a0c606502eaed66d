/**
 * The optional geocoder against a fake Nominatim on 127.0.0.1: search and reverse as Nominatim
 * is asked (parameters, User-Agent, the city's bias), and every way a server can fail a
 * resident's turn: too slow, 500, garbage, a huge body, points out of range, a redirect, too many
 * requests. Each is `null` quickly, and the log never has the query or the coordinates.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGeocoder, GEOCODER_MAX_BODY_BYTES, type GeocoderDeps, type GeocoderSettings } from '../../src/pipeline/geocoder.js';
import { loadConfig } from '../../src/config.js';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

let server: Server;
let base: string;
let handler: Handler;
const requests: { url: URL; headers: IncomingMessage['headers'] }[] = [];

const SEARCH_HIT = [
  {
    place_id: 1,
    lat: '39.7990175',
    lon: '-89.6439575',
    display_name: 'Main Street & 5th Street, Downtown, Springfield, Sangamon County, Illinois, 62701, United States',
    category: 'highway',
    type: 'crossing',
  },
];
const REVERSE_HIT = {
  place_id: 2,
  lat: '39.7817',
  lon: '-89.6501',
  display_name: '123, Main Street, Downtown, Springfield, Sangamon County, Illinois, 62701, United States',
  address: { house_number: '123', road: 'Main Street', suburb: 'Downtown', city: 'Springfield', state: 'Illinois', country: 'United States' },
};

function json(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

/** A standard answer: a hit for search, an address for reverse. */
const nominatim: Handler = (_req, res, url) => (url.pathname.endsWith('/search') ? json(res, SEARCH_HIT) : json(res, REVERSE_HIT));

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({ url, headers: req.headers });
    handler(req, res, url);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/nominatim`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  requests.length = 0;
  handler = nominatim;
});

/** A geocoder on the fake with a log kept in `logs`; fast enough for tests unless a test says otherwise. */
function geocoder(settings: Partial<GeocoderSettings> = {}, deps: GeocoderDeps = {}) {
  const logs: Record<string, unknown>[] = [];
  const record = (entry: object) => logs.push(entry as Record<string, unknown>);
  const made = createGeocoder(
    { url: base, timeoutMs: 1000, requestsPerSecond: 100, ...settings },
    { logger: { debug: record, info: record, warn: record } as never, ...deps },
  );
  if (!made) throw new Error('no geocoder');
  return { geo: made, logs };
}

describe('off by default', () => {
  it('is null without GEOCODER_URL, and configured with it', () => {
    expect(loadConfig({}).geocoder).toBeNull();
    expect(createGeocoder(loadConfig({}).geocoder)).toBeNull();
    const config = loadConfig({
      GEOCODER_URL: 'https://nominatim.example.org/',
      GEOCODER_EMAIL: 'it@springfield.example',
      GEOCODER_VIEWBOX: '-89.75,39.70,-89.55,39.88',
      CITY_NAME: 'Springfield',
    });
    expect(config.geocoder).toEqual({
      url: 'https://nominatim.example.org',
      email: 'it@springfield.example',
      timeoutMs: 1500,
      requestsPerSecond: 1,
      city: 'Springfield',
      viewbox: { minLon: -89.75, minLat: 39.7, maxLon: -89.55, maxLat: 39.88 },
    });
    // The default city name biases nothing.
    expect(loadConfig({ GEOCODER_URL: 'https://nominatim.example.org' }).geocoder?.city).toBeUndefined();
    expect(createGeocoder(config.geocoder)).not.toBeNull();
    for (const bad of [
      { GEOCODER_URL: 'ftp://nominatim.example.org' },
      { GEOCODER_VIEWBOX: '-89.55,39.70,-89.75,39.88' },
      { GEOCODER_VIEWBOX: '1,2,3' },
      { GEOCODER_VIEWBOX: '-200,0,0,1' },
      { GEOCODER_TIMEOUT_MS: '50' },
      { GEOCODER_EMAIL: 'not an email' },
    ]) {
      expect(() => loadConfig(bad), JSON.stringify(bad)).toThrow(new RegExp(Object.keys(bad)[0]!));
    }
  });
});

describe('search', () => {
  it("asks Nominatim for one hit near the city, in the resident's language, and says who asks", async () => {
    const { geo } = geocoder({
      city: 'Springfield',
      email: 'it@springfield.example',
      viewbox: { minLon: -89.75, minLat: 39.7, maxLon: -89.55, maxLat: 39.88 },
    });
    const point = await geo.search('  5th and\nMain ', { locale: 'es' });
    expect(point).toEqual({ lat: 39.7990175, lon: -89.6439575, label: SEARCH_HIT[0]!.display_name });
    expect(requests).toHaveLength(1);
    const { url, headers } = requests[0]!;
    expect(url.pathname).toBe('/nominatim/search');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      q: '5th and Main, Springfield',
      format: 'jsonv2',
      limit: '1',
      'accept-language': 'es',
      viewbox: '-89.75,39.7,-89.55,39.88',
      bounded: '1',
      email: 'it@springfield.example',
    });
    // Nominatim's usage policy: an application's own User-Agent, not a library's.
    expect(headers['user-agent']).toMatch(/^CivicLine\/.*Springfield.*it@springfield\.example/);
    expect(headers['accept']).toBe('application/json');
  });

  it('does not add the city to a place that names it, and takes the caller’s city over the configured one', async () => {
    const { geo } = geocoder({ city: 'Springfield' });
    await geo.search('Main St, springfield', { locale: 'en' });
    await geo.search('Main St', { locale: 'en', city: 'Shelbyville' });
    expect(requests.map((r) => r.url.searchParams.get('q'))).toEqual(['Main St, springfield', 'Main St, Shelbyville']);
  });

  it('answers null for no hit, and for a hit outside the viewbox (a server that ignored bounded=1)', async () => {
    const { geo } = geocoder({ viewbox: { minLon: 0, minLat: 0, maxLon: 1, maxLat: 1 } });
    expect(await geo.search('Main St', { locale: 'en' })).toBeNull();
    handler = (_req, res) => json(res, []);
    expect(await geo.search('Nowhere Lane', { locale: 'en' })).toBeNull();
  });

  it('asks nothing for an empty place', async () => {
    const { geo } = geocoder();
    expect(await geo.search(' \n\t', { locale: 'en' })).toBeNull();
    expect(requests).toHaveLength(0);
  });
});

describe('reverse', () => {
  it('turns a point into a short street address, up to the town', async () => {
    const { geo } = geocoder({ email: 'it@springfield.example' });
    expect(await geo.reverse({ lat: 39.781712345, lon: -89.65014 }, { locale: 'en' })).toBe('123, Main Street, Downtown, Springfield');
    expect(requests[0]!.url.pathname).toBe('/nominatim/reverse');
    expect(Object.fromEntries(requests[0]!.url.searchParams)).toEqual({
      lat: '39.78171',
      lon: '-89.65014',
      format: 'jsonv2',
      zoom: '18',
      'accept-language': 'en',
      email: 'it@springfield.example',
    });
  });

  it('answers null where Nominatim finds nothing, and for a point out of range without asking', async () => {
    handler = (_req, res) => json(res, { error: 'Unable to geocode' });
    const { geo } = geocoder();
    expect(await geo.reverse({ lat: 0, lon: -160 }, { locale: 'en' })).toBeNull();
    expect(await geo.reverse({ lat: 91, lon: 0 }, { locale: 'en' })).toBeNull();
    expect(await geo.reverse({ lat: Number.NaN, lon: 0 }, { locale: 'en' })).toBeNull();
    expect(requests).toHaveLength(1);
  });

  it('keeps four parts of a name without a town, and strips control characters', async () => {
    handler = (_req, res) => json(res, { display_name: 'Trail 7,\u202Eevil\u0007 Ridge, Forest, County, State, Country', address: {} });
    const { geo } = geocoder();
    expect(await geo.reverse({ lat: 1, lon: 1 }, { locale: 'en' })).toBe('Trail 7, evil Ridge, Forest, County');
  });
});

describe('a server that fails', () => {
  it('times out on a slow answer, and on a body that never ends', async () => {
    const { geo, logs } = geocoder({ timeoutMs: 200 });
    handler = (_req, res) => setTimeout(() => json(res, SEARCH_HIT), 2000).unref();
    let started = Date.now();
    expect(await geo.search('slow place', { locale: 'en' })).toBeNull();
    expect(Date.now() - started).toBeLessThan(1000);
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('[{"lat": "39.1", ');
    };
    started = Date.now();
    expect(await geo.search('stalled place', { locale: 'en' })).toBeNull();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(logs.map((l) => l['outcome'])).toEqual(['timeout', 'timeout']);
  });

  it('answers null on a 500, a 429 and a redirect', async () => {
    const { geo, logs } = geocoder();
    handler = (_req, res) => json(res, { error: 'boom' }, 500);
    expect(await geo.search('a', { locale: 'en' })).toBeNull();
    handler = (_req, res) => res.writeHead(429, { 'Retry-After': '60' }).end();
    expect(await geo.reverse({ lat: 1, lon: 2 }, { locale: 'en' })).toBeNull();
    handler = (_req, res) => res.writeHead(302, { Location: 'http://127.0.0.1:9/elsewhere' }).end();
    expect(await geo.search('b', { locale: 'en' })).toBeNull();
    expect(logs.map((l) => [l['outcome'], l['status']])).toEqual([
      ['http_error', 500],
      ['http_error', 429],
      ['network_error', undefined],
    ]);
  });

  it('answers null on garbage: not JSON, the wrong shape, coordinates out of range or not numbers', async () => {
    const { geo, logs } = geocoder();
    const answers: unknown[] = [
      'not json at all',
      { lat: '1', lon: '2' },
      [null],
      ['a string'],
      [{ lat: '91.5', lon: '0' }],
      [{ lat: '0', lon: '-180.0001' }],
      [{ lat: '1e3', lon: '0' }],
      [{ lat: 'Infinity', lon: '0' }],
      [{ lat: '0x10', lon: '0' }],
      [{ lon: '0' }],
    ];
    for (const [i, answer] of answers.entries()) {
      handler = (_req, res) => (typeof answer === 'string' ? res.writeHead(200, { 'Content-Type': 'application/json' }).end(answer) : json(res, answer));
      expect(await geo.search(`garbage ${i}`, { locale: 'en' }), JSON.stringify(answer)).toBeNull();
    }
    handler = (_req, res) => json(res, { display_name: 42 });
    expect(await geo.reverse({ lat: 1, lon: 1 }, { locale: 'en' })).toBeNull();
    handler = (_req, res) => json(res, [REVERSE_HIT]);
    expect(await geo.reverse({ lat: 1, lon: 2 }, { locale: 'en' })).toBeNull();
    expect(logs.every((l) => l['outcome'] === 'invalid')).toBe(true);
    expect(logs).toHaveLength(answers.length + 2);
  });

  it('stops reading a huge body, declared or not', async () => {
    const { geo, logs } = geocoder({ timeoutMs: 3000 });
    handler = (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(50 * 1024 * 1024) }).end();
    expect(await geo.search('declared', { locale: 'en' })).toBeNull();
    let sent = 0;
    handler = (_req, res) => {
      // Chunked, no length: a valid start, then padding for ever (until the client hangs up).
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(`[{"lat":"1","lon":"2","display_name":"`);
      const chunk = 'x'.repeat(16 * 1024);
      const pump = () => {
        while (sent < 20 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent < 20 * 1024 * 1024 && !res.destroyed) res.once('drain', pump);
      };
      res.on('error', () => undefined);
      pump();
    };
    const started = Date.now();
    expect(await geo.search('chunked', { locale: 'en' })).toBeNull();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(logs.map((l) => l['outcome'])).toEqual(['too_large', 'too_large']);
    expect(sent).toBeLessThan(20 * 1024 * 1024);
    expect(GEOCODER_MAX_BODY_BYTES).toBe(64 * 1024);
  });

  it('answers null when nothing listens', async () => {
    const geo = createGeocoder({ url: 'http://127.0.0.1:9', timeoutMs: 500, requestsPerSecond: 10 });
    expect(await geo!.search('Main St', { locale: 'en' })).toBeNull();
  });
});

describe('rate limit and cache', () => {
  it('keeps to the rate: a lookup past it is skipped at once (null), never queued', async () => {
    let clock = 1_000_000;
    const { geo, logs } = geocoder({ requestsPerSecond: 1 }, { now: () => clock });
    expect(await geo.search('first place', { locale: 'en' })).not.toBeNull();
    const started = Date.now();
    expect(await geo.search('second place', { locale: 'en' })).toBeNull();
    expect(await geo.reverse({ lat: 1, lon: 2 }, { locale: 'en' })).toBeNull();
    expect(Date.now() - started).toBeLessThan(50);
    expect(requests).toHaveLength(1);
    clock += 600;
    expect(await geo.search('second place', { locale: 'en' })).toBeNull();
    clock += 400;
    expect(await geo.search('second place', { locale: 'en' })).not.toBeNull();
    expect(requests).toHaveLength(2);
    // A second of quiet gives one request, not a burst of them.
    clock += 10_000;
    expect(await geo.search('third place', { locale: 'en' })).not.toBeNull();
    expect(await geo.search('fourth place', { locale: 'en' })).toBeNull();
    expect(logs.map((l) => l['outcome'])).toEqual(['ok', 'rate_limited', 'rate_limited', 'rate_limited', 'ok', 'ok', 'rate_limited']);
  });

  it('answers a repeated lookup from the cache (no request, no rate), per language, until it expires', async () => {
    let clock = 1_000_000;
    const { geo } = geocoder({ requestsPerSecond: 1 }, { now: () => clock });
    const first = await geo.search('5th and Main', { locale: 'en' });
    expect(await geo.search('5th  and main', { locale: 'en' })).toEqual(first);
    expect(requests).toHaveLength(1);
    clock += 1000;
    await geo.search('5th and Main', { locale: 'es' });
    expect(requests).toHaveLength(2);
    clock += 1000;
    expect(await geo.reverse({ lat: 39.7817, lon: -89.6501 }, { locale: 'en' })).not.toBeNull();
    expect(await geo.reverse({ lat: 39.781701, lon: -89.650101 }, { locale: 'en' })).toBe('123, Main Street, Downtown, Springfield');
    expect(requests).toHaveLength(3);
    clock += 25 * 3_600_000;
    await geo.search('5th and Main', { locale: 'en' });
    expect(requests).toHaveLength(4);
  });

  it('remembers "nothing found" for an hour, and not failures', async () => {
    let clock = 1_000_000;
    const { geo } = geocoder({ requestsPerSecond: 1000 }, { now: () => clock });
    handler = (_req, res) => json(res, []);
    await geo.search('Nowhere Lane', { locale: 'en' });
    await geo.search('Nowhere Lane', { locale: 'en' });
    expect(requests).toHaveLength(1);
    clock += 3_600_001;
    await geo.search('Nowhere Lane', { locale: 'en' });
    expect(requests).toHaveLength(2);
    handler = (_req, res) => json(res, {}, 503);
    await geo.search('Broken Road', { locale: 'en' });
    await geo.search('Broken Road', { locale: 'en' });
    expect(requests).toHaveLength(4);
  });

  it('makes one request for the same lookup asked twice at once', async () => {
    const { geo } = geocoder({ requestsPerSecond: 1 });
    handler = (_req, res) => setTimeout(() => json(res, SEARCH_HIT), 50).unref();
    const [a, b] = await Promise.all([geo.search('Main St', { locale: 'en' }), geo.search('Main St', { locale: 'en' })]);
    expect(a).toEqual(b);
    expect(a).not.toBeNull();
    expect(requests).toHaveLength(1);
  });
});

describe('the log', () => {
  it('has the kind, outcome, status and duration, never the query or the coordinates', async () => {
    const { geo, logs } = geocoder();
    await geo.search('742 Evergreen Terrace', { locale: 'en' });
    await geo.reverse({ lat: 39.78171, lon: -89.65014 }, { locale: 'en' });
    handler = (_req, res) => json(res, {}, 500);
    await geo.search('1313 Mockingbird Lane', { locale: 'en' });
    expect(logs).toHaveLength(3);
    for (const entry of logs) expect(Object.keys(entry).sort()).toEqual(['geocoder', 'ms', 'outcome', 'status']);
    const text = JSON.stringify(logs);
    for (const secret of ['Evergreen', '742', 'Mockingbird', '39.78', '89.65', 'Springfield', 'Main Street']) expect(text).not.toContain(secret);
  });
});
