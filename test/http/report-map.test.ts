/**
 * The staff map over real HTTP: `GET /admin/api/reports/map` needs staff access, filters by
 * status group, category, age and box, is bounded (and says when it was cut), and carries only
 * what a pin needs (no description, no place text, no resident). The map page and the report
 * page's pin load Leaflet from this server; their CSP names the tile host only when MAP_TILES_URL
 * is set, and only on pages that show a map.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startTestApp, type RunningApp } from '../support/http.js';
import { STAFF_PAGE_CSP } from '../../src/http/admin/html.js';
import type { ReportRecord } from '../../src/domain/records.js';
import type { Unsaved } from '../../src/store/store.port.js';
import { MAP_POINTS_MAX } from '../../src/staff/report-map.js';
import { loadConfig, tileOrigin } from '../../src/config.js';
import { ON_MONGODB } from '../support/test-store.js';

const TOKEN = 'report-map-test-admin-token';
const DAY = 86_400_000;
const SECRET_WORDS = 'SECRET-DESCRIPTION-WORDS';
const SECRET_PLACE = 'SECRET-PLACE-742-Evergreen';
const SECRET_LABEL = 'SECRET-PIN-LABEL';
const RESIDENT = 'sms:+15550001234';
const now = Date.now();

let app: RunningApp;
let tiled: RunningApp;

function report(id: string, overrides: Partial<ReportRecord> & { point?: { lat: number; lon: number } | null; ageDays?: number }): Unsaved<ReportRecord> {
  const { point, ageDays = 1, ...rest } = overrides;
  const at = new Date(now - ageDays * DAY);
  return {
    _id: id,
    category: 'pothole',
    status: 'open',
    statusGroup: 'open',
    location: point === null ? { text: SECRET_PLACE } : { text: SECRET_PLACE, point: { ...(point ?? { lat: 39.7817, lon: -89.6501 }), label: SECRET_LABEL } },
    description: SECRET_WORDS,
    photos: [],
    residentAddress: RESIDENT,
    channel: 'sms',
    locale: 'en',
    createdAt: at,
    updatedAt: at,
    ...rest,
  };
}

/** Springfield, a street light fixed last month, graffiti closed, one in Tokyo, one across the antimeridian (Fiji), and a text-only place. */
const REPORTS = [
  report('R-MAP2A', { point: { lat: 39.781, lon: -89.65 }, ageDays: 1 }),
  report('R-MAP2B', { point: { lat: 39.79, lon: -89.64 }, ageDays: 1.5 }),
  report('R-MAP2C', { category: 'streetlight', status: 'fixed', statusGroup: 'fixed', point: { lat: 39.8, lon: -89.6 }, ageDays: 30 }),
  report('R-MAP2D', { category: 'graffiti', status: 'closed', statusGroup: 'closed', point: { lat: 39.77, lon: -89.66 }, ageDays: 3 }),
  report('R-MAP2E', { point: { lat: 35.68, lon: 139.76 }, ageDays: 3.5 }),
  report('R-MAP2F', { point: { lat: -17.8, lon: 179.5 }, ageDays: 5 }),
  report('R-MAP2G', { point: null, ageDays: 1 }),
];

function api(query = '', headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }, base = app): Promise<Response> {
  return fetch(`${base.url}/admin/api/reports/map${query}`, { headers });
}

async function refs(query: string): Promise<string[]> {
  const response = await api(query);
  expect(response.status, query).toBe(200);
  const body = (await response.json()) as { reports: { ref: string }[] };
  return body.reports.map((r) => r.ref);
}

beforeAll(async () => {
  app = await startTestApp({ ADMIN_TOKEN: TOKEN, SEED_DEMO_DATA: 'false' });
  for (const r of REPORTS) await app.service.store.reports.insert(r);
  tiled = await startTestApp({
    ADMIN_TOKEN: TOKEN,
    SEED_DEMO_DATA: 'false',
    MAP_TILES_URL: 'https://{s}.tile.example.org/{z}/{x}/{y}.png',
    MAP_TILES_ATTRIBUTION: '© Example <b>contributors</b>',
  });
  await tiled.service.store.reports.insert(REPORTS[0]!);
  await tiled.service.store.reports.insert(REPORTS[6]!);
});
afterAll(async () => {
  await app?.close();
  await tiled?.close();
});

describe('GET /admin/api/reports/map', () => {
  it('needs staff access', async () => {
    expect((await api('', {})).status).toBe(401);
    expect((await api('', { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
  });

  it('answers the pinned reports, newest first, with only what a pin needs', async () => {
    const response = await api();
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    const text = await response.text();
    const body = JSON.parse(text) as { reports: Record<string, unknown>[]; count: number; truncated: boolean; withoutPoint: number; limit: number };
    expect(body.reports.map((r) => r.ref)).toEqual(['R-MAP2A', 'R-MAP2B', 'R-MAP2D', 'R-MAP2E', 'R-MAP2F', 'R-MAP2C']);
    expect(body).toMatchObject({ count: 6, truncated: false, withoutPoint: 1, limit: MAP_POINTS_MAX });
    for (const pin of body.reports) expect(Object.keys(pin).sort()).toEqual(['category', 'createdAt', 'lat', 'lon', 'ref', 'status', 'statusGroup']);
    expect(body.reports[0]).toEqual({
      ref: 'R-MAP2A',
      category: 'pothole',
      status: 'open',
      statusGroup: 'open',
      lat: 39.781,
      lon: -89.65,
      createdAt: REPORTS[0]!.createdAt.toISOString(),
    });
    // Nothing a resident wrote or who they are.
    for (const secret of [SECRET_WORDS, SECRET_PLACE, SECRET_LABEL, RESIDENT, 'sms:']) expect(text).not.toContain(secret);
  });

  it('filters by status group, category and age, alone and together', async () => {
    expect(await refs('?statusGroup=open')).toEqual(['R-MAP2A', 'R-MAP2B', 'R-MAP2E', 'R-MAP2F']);
    expect(await refs('?statusGroup=fixed')).toEqual(['R-MAP2C']);
    expect(await refs('?category=graffiti')).toEqual(['R-MAP2D']);
    expect(await refs('?category=pothole&statusGroup=closed')).toEqual([]);
    expect(await refs('?maxAgeDays=2')).toEqual(['R-MAP2A', 'R-MAP2B']);
    expect(await refs('?category=pothole&maxAgeDays=4&statusGroup=open')).toEqual(['R-MAP2A', 'R-MAP2B', 'R-MAP2E']);
    // Blank values are "any", as the page's untouched selects send them.
    expect(await refs('?statusGroup=&category=&maxAgeDays=')).toHaveLength(6);
  });

  it('keeps to a box, also one across the antimeridian', async () => {
    expect(await refs('?bbox=-90,39.5,-89.5,40')).toEqual(['R-MAP2A', 'R-MAP2B', 'R-MAP2D', 'R-MAP2C']);
    expect(await refs('?bbox=-89.655,39.78,-89.645,39.785')).toEqual(['R-MAP2A']);
    expect(await refs('?bbox=139,35,140,36&statusGroup=open')).toEqual(['R-MAP2E']);
    expect(await refs('?bbox=179,-20,-179,-15')).toEqual(['R-MAP2F']);
    expect(await refs('?bbox=-180,-90,180,90')).toHaveLength(6);
  });

  it('refuses what it cannot read, with a 400 that says why', async () => {
    for (const query of [
      '?bbox=1,2,3',
      '?bbox=1,2,3,4,5',
      '?bbox=-181,0,0,1',
      '?bbox=0,91,1,92',
      '?bbox=0,10,1,5',
      '?bbox=1e2,0,2,1',
      '?bbox=NaN,0,1,1',
      '?bbox=0x10,0,1,1',
      '?statusGroup=pending',
      '?category=%00',
      '?category=a&category=b',
      '?maxAgeDays=-1',
      '?limit=0',
      `?limit=${MAP_POINTS_MAX + 1}`,
      '?description=1',
    ]) {
      const response = await api(query);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: string }).error, query).toMatch(/^Invalid request\./);
    }
  });

  it('never answers a 5xx, whatever the query', async () => {
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom('', 'open', 'pothole', '-180,-90,180,90', '1,2,3,4', '\u0000', '%', '1e308', '-0', '[]', '{}', 'NaN,NaN,NaN,NaN'),
      fc.array(fc.double(), { minLength: 3, maxLength: 5 }).map((numbers) => numbers.join(',')),
    );
    const key = fc.constantFrom('statusGroup', 'category', 'maxAgeDays', 'bbox', 'limit', 'bbox[]', '__proto__', 'x');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, value), { maxLength: 5 }), async (pairs) => {
        const query = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
        const response = await api(`?${query}`);
        await response.arrayBuffer();
        expect([200, 400], query).toContain(response.status);
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it('is bounded, newest first, and says when it was cut', async () => {
    const body = (await (await api('?limit=2')).json()) as { reports: { ref: string }[]; truncated: boolean; limit: number };
    expect(body.reports.map((r) => r.ref)).toEqual(['R-MAP2A', 'R-MAP2B']);
    expect(body).toMatchObject({ truncated: true, limit: 2 });
    // Exactly as many as the limit is not cut.
    expect(((await (await api('?limit=6')).json()) as { truncated: boolean }).truncated).toBe(false);
  });

  // 5,000 inserts take a minute on FerretDB; the bound is the same code on both stores, and the
  // cut itself (limit=2 above) is checked on both.
  it.skipIf(ON_MONGODB)(
    `answers at most ${MAP_POINTS_MAX} pins however many match`,
    async () => {
      const { store } = app.service;
      const extra = MAP_POINTS_MAX + 5;
      for (let i = 0; i < extra; i++) {
        const id = `R-X${i.toString(36).toUpperCase().padStart(4, '0')}`;
        await store.reports.insert(report(id, { category: 'trash', point: { lat: 40 + i / 10_000, lon: -89 }, ageDays: 10 + i / 1000 }));
      }
      const body = (await (await api('?category=trash')).json()) as { reports: { ref: string }[]; truncated: boolean };
      expect(body.reports).toHaveLength(MAP_POINTS_MAX);
      expect(body.truncated).toBe(true);
      expect(body.reports[0]!.ref).toBe('R-X0000');
      // The box narrows it to what fits: every report there, not cut.
      const inBox = (await (await api('?category=trash&bbox=-89.1,40,-88.9,40.01')).json()) as { reports: unknown[]; truncated: boolean };
      expect(inBox.reports).toHaveLength(101);
      expect(inBox.truncated).toBe(false);
    },
    120_000,
  );
});

describe('the map pages', () => {
  const page = (path: string, base = app) => fetch(`${base.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` }, redirect: 'manual' });

  it('serves /admin/map behind staff access, with Leaflet from this server and no tiles', async () => {
    expect((await fetch(`${app.url}/admin/map`, { redirect: 'manual' })).status).toBe(303);
    const response = await page('/admin/map');
    const body = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(STAFF_PAGE_CSP);
    expect(body).toContain('<a href="/admin/map" aria-current="page">Map</a>');
    expect(body).toContain('<script src="/admin/assets/leaflet.js" defer></script>');
    expect(body).toContain('<script src="/admin/assets/leaflet-markercluster.js" defer></script>');
    expect(body).toContain('<script src="/admin/assets/map.js" defer></script>');
    expect(body).toContain('No map tiles configured');
    expect(body).toContain('<meta name="civicline-map-tiles" content="" />');
    expect(body).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    // A bad filter is the form's problem, shown with it.
    const bad = await page('/admin/map?statusGroup=pending');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('statusGroup');
  });

  it('serves the map files with their types, and nothing else under their path', async () => {
    for (const [path, type] of [
      ['/admin/assets/leaflet.js', 'text/javascript; charset=utf-8'],
      ['/admin/assets/leaflet.css', 'text/css; charset=utf-8'],
      ['/admin/assets/images/marker-icon.png', 'image/png'],
      ['/admin/assets/leaflet-markercluster.js', 'text/javascript; charset=utf-8'],
      ['/admin/assets/marker-cluster-default.css', 'text/css; charset=utf-8'],
      ['/admin/assets/map.css', 'text/css; charset=utf-8'],
      ['/admin/assets/map.js', 'text/javascript; charset=utf-8'],
    ]) {
      const response = await page(path!);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toBe(type);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    for (const path of ['/admin/assets/package.json', '/admin/assets/..%2Fpackage.json', '/admin/assets/images/..%2F..%2Fpackage.json']) {
      expect((await page(path)).status, path).toBe(404);
    }
    expect((await fetch(`${app.url}/admin/assets/leaflet.js`, { redirect: 'manual' })).status).toBe(303);
  });

  it("shows a report's pin on its page when it has a point, and no map when its place is text", async () => {
    const pinned = await (await page('/admin/reports/R-MAP2C')).text();
    expect(pinned).toMatch(/class="report-pin-map map-canvas"\s+data-lat="39\.800000"\s+data-lon="-89\.600000"\s+data-group="fixed"/);
    expect(pinned).toContain('<script src="/admin/assets/leaflet.js" defer></script>');
    expect(pinned).not.toContain('leaflet-markercluster.js');
    const textOnly = await (await page('/admin/reports/R-MAP2G')).text();
    expect(textOnly).not.toContain('report-pin-map');
    expect(textOnly).not.toContain('leaflet');
  });

  it('allows the tile host in img-src only when tiles are configured, and only on pages with a map', async () => {
    const source = 'https://*.tile.example.org';
    for (const path of ['/admin/map', '/admin/reports/R-MAP2A']) {
      const response = await page(path, tiled);
      expect(response.headers.get('content-security-policy'), path).toBe(STAFF_PAGE_CSP.replace("img-src 'self' data:", `img-src 'self' data: ${source}`));
      const body = await response.text();
      expect(body).toContain('<meta name="civicline-map-tiles" content="https://{s}.tile.example.org/{z}/{x}/{y}.png" />');
      // The credit is text for the script, escaped in the page like everything else.
      expect(body).toContain('<meta name="civicline-map-attribution" content="© Example &lt;b&gt;contributors&lt;/b&gt;" />');
      expect(body).not.toContain('No map tiles configured');
    }
    for (const path of ['/admin/reports', '/admin/reports/R-MAP2G', '/admin']) {
      expect((await page(path, tiled)).headers.get('content-security-policy'), path).toBe(STAFF_PAGE_CSP);
    }
  });
});

describe('MAP_TILES_URL', () => {
  it('is a tile template whose host the CSP can name, and nothing else', () => {
    expect(loadConfig({}).mapTiles).toBeNull();
    expect(
      loadConfig({ MAP_TILES_URL: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', MAP_TILES_ATTRIBUTION: '© OpenStreetMap contributors' }).mapTiles,
    ).toEqual({
      url: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
      attribution: '© OpenStreetMap contributors',
      cspSource: 'https://tile.openstreetmap.org',
    });
    expect(tileOrigin('https://{s}.Tiles.Example.org/{z}/{x}/{y}{r}.png')).toBe('https://*.tiles.example.org');
    expect(tileOrigin('http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png')).toBe('http://127.0.0.1:8080');
    for (const bad of [
      'tile.openstreetmap.org/{z}/{x}/{y}.png',
      'javascript:alert(1)//{z}/{x}/{y}',
      'https://tile.openstreetmap.org/{z}/{x}.png',
      'https://user:pass@tiles.example.org/{z}/{x}/{y}.png',
      'https://tiles.example.org{z}/{x}/{y}.png',
      "https://tiles.example.org;script-src 'unsafe-inline'/{z}/{x}/{y}.png",
      'https://a.{s}.example.org/{z}/{x}/{y}.png',
      'https://{z}.example.org/{z}/{x}/{y}.png',
    ]) {
      expect(tileOrigin(bad), bad).toBeNull();
      expect(() => loadConfig({ MAP_TILES_URL: bad }), bad).toThrow(/MAP_TILES_URL: must be an http\(s\) tile URL/);
    }
  });
});
