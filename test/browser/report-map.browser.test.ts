/**
 * The staff map in real headless Chromium, against the real app: log in, open /admin/map with
 * reports seeded around Springfield, see the pins and a cluster, open a cluster, filter by
 * category, click a pin and follow its popup to the report's page, and see the pin there.
 *
 * With no tiles configured the pages load nothing from off this machine and log no errors (CSP
 * violations and failed loads would be console errors). With tiles from a fake tile server on
 * 127.0.0.1, the tiles load: the CSP allows their host. Screenshots go to test-output/.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type RunningApp } from '../support/http.js';
import { hasChromium, launchBrowser, TEST_OUTPUT, watchedPage } from '../support/browser.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';
import type { ReportRecord } from '../../src/domain/records.js';
import type { Unsaved } from '../../src/store/store.port.js';

const PASSWORD = 'correct horse battery staple';
const SPRINGFIELD = { lat: 39.7817, lon: -89.6501 };
const DAY = 86_400_000;

/** A 1x1 grey PNG: what the fake tile server answers for every tile. */
const TILE_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC', 'base64');

function report(
  id: string,
  category: string,
  statusGroup: ReportRecord['statusGroup'],
  offset: { lat: number; lon: number } | null,
  ageDays: number,
): Unsaved<ReportRecord> {
  const at = new Date(Date.now() - ageDays * DAY);
  return {
    _id: id,
    category,
    status: statusGroup === 'open' ? 'open' : statusGroup,
    statusGroup,
    location: offset
      ? { text: 'Near the square', point: { lat: SPRINGFIELD.lat + offset.lat, lon: SPRINGFIELD.lon + offset.lon } }
      : { text: 'Behind the library' },
    description: 'Seen from the bus',
    photos: [],
    residentAddress: `sms:+1217555${id.slice(-4).replace(/\D/g, '0').padStart(4, '0')}`,
    channel: 'sms',
    locale: 'en',
    createdAt: at,
    updatedAt: at,
  };
}

/** Five potholes within 100 m of each other (one cluster), two far apart, and one with a text place only. */
const REPORTS = [
  report('R-CLU01', 'pothole', 'open', { lat: 0, lon: 0 }, 1),
  report('R-CLU02', 'pothole', 'open', { lat: 0.0003, lon: 0.0002 }, 2),
  report('R-CLU03', 'pothole', 'open', { lat: -0.0002, lon: 0.0004 }, 3),
  report('R-CLU04', 'pothole', 'fixed', { lat: 0.0005, lon: -0.0003 }, 4),
  report('R-CLU05', 'pothole', 'open', { lat: -0.0004, lon: -0.0005 }, 5),
  report('R-GRA01', 'graffiti', 'closed', { lat: 0.06, lon: 0.08 }, 6),
  report('R-LIT01', 'streetlight', 'open', { lat: -0.05, lon: -0.09 }, 7),
  report('R-TXT01', 'pothole', 'open', null, 1),
];

async function logIn(page: Page, app: RunningApp, next: string): Promise<void> {
  await page.goto(`${app.url}${next}`);
  await page.fill('#username', 'ada');
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${app.url}${next}`);
}

async function startSeededApp(env: Record<string, string> = {}): Promise<RunningApp> {
  const app = await startTestApp({ SEED_DEMO_DATA: 'false', ...env });
  await createStaffUser(app.service.store, { username: 'ada', displayName: 'Ada Admin', role: 'admin', password: PASSWORD });
  for (const r of REPORTS) await app.service.store.reports.insert(r);
  return app;
}

describe.skipIf(!hasChromium)('the staff map in a browser, with no tiles configured', () => {
  let app: RunningApp;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  /** Every request the page made to anywhere but the app on 127.0.0.1. */
  const offMachine: string[] = [];

  const shot = (name: string) => page.screenshot({ path: path.join(TEST_OUTPUT, name), fullPage: true });
  const status = () => page.locator('#map-status');

  beforeAll(async () => {
    app = await startSeededApp();
    browser = await launchBrowser();
    page = await watchedPage(browser, errors);
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(`${app.url}/`) && !url.startsWith('data:') && !url.startsWith('blob:')) offMachine.push(url);
    });
    await logIn(page, app, '/admin/map');
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows the pins and a cluster on a plain background, with a scale and a note', async () => {
    await page.getByRole('heading', { name: 'Map of reports' }).waitFor();
    await expectStatus('7 reports on the map. 1 more matching has a text place only and is not shown.');
    // Five potholes close together are one cluster of 5; the two far ones are pins of their own.
    const cluster = page.locator('.marker-cluster');
    await expect.poll(() => cluster.count(), { timeout: 10_000 }).toBe(1);
    expect((await cluster.textContent())?.trim()).toBe('5');
    await expect.poll(() => page.locator('.map-pin').count(), { timeout: 10_000 }).toBe(2);
    expect(await page.locator('.leaflet-control-scale').count()).toBe(1);
    expect(await page.locator('.leaflet-tile').count()).toBe(0);
    await page.getByText('No map tiles configured').waitFor();
    expect(await page.getByRole('link', { name: 'Map', exact: true }).getAttribute('aria-current')).toBe('page');
    await shot('map-all.png');
  }, 30_000);

  it('opens a cluster into its pins', async () => {
    await page.locator('.marker-cluster').first().click();
    // Zoomed to the cluster: its five pins on their own (the far ones are out of view).
    await expect.poll(() => page.locator('.marker-cluster').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => page.locator('.map-pin').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    expect(await page.locator('.map-pin[title="R-CLU04"].fixed').count()).toBe(1);
    await shot('map-cluster-opened.png');
  }, 30_000);

  it('filters by category without reloading the page, and keeps the filter in the URL', async () => {
    await page.selectOption('select[name=category]', 'graffiti');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expectStatus('1 report on the map.');
    await expect.poll(() => page.locator('.map-pin').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('.marker-cluster').count()).toBe(0);
    expect(new URL(page.url()).search).toBe('?category=graffiti');
    expect(await page.locator('#map-list-link').getAttribute('href')).toBe('/admin/reports?category=graffiti');
    await shot('map-filtered.png');
  }, 30_000);

  it("clicks a pin, follows its popup to the report's page, and sees the pin there", async () => {
    await page.locator('.map-pin[title="R-GRA01"]').click();
    const popup = page.locator('.leaflet-popup-content');
    await popup.waitFor();
    expect(await popup.textContent()).toContain('Graffiti · Closed');
    await popup.getByRole('link', { name: 'R-GRA01' }).click();
    await page.getByRole('heading', { name: 'R-GRA01' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin/reports/R-GRA01');
    const pin = page.locator('.report-pin-map .map-pin.closed');
    await pin.waitFor();
    expect(await pin.isVisible()).toBe(true);
    expect(await page.locator('.report-pin-map .leaflet-control-scale').count()).toBe(1);
    await shot('map-report-pin.png');
  }, 30_000);

  it('shows no map on the page of a report with a text place only', async () => {
    await page.goto(`${app.url}/admin/reports/R-TXT01`);
    await page.getByRole('heading', { name: 'R-TXT01' }).waitFor();
    expect(await page.locator('.report-pin-map, .leaflet-container').count()).toBe(0);
  }, 30_000);

  it('logged no errors and asked nothing of any other machine', () => {
    expect(errors).toEqual([]);
    expect(offMachine).toEqual([]);
  });

  async function expectStatus(text: string): Promise<void> {
    await expect.poll(() => status().textContent(), { timeout: 10_000 }).toBe(text);
  }
});

describe.skipIf(!hasChromium)('the staff map in a browser, with tiles from a tile server', () => {
  let app: RunningApp;
  let tiles: Server;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const tileRequests: string[] = [];

  beforeAll(async () => {
    tiles = createServer((req, res) => {
      tileRequests.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'image/png' }).end(TILE_PNG);
    });
    await new Promise<void>((resolve) => tiles.listen(0, '127.0.0.1', resolve));
    // Another port is another origin: the CSP must name it for the tiles to load.
    const tileRoot = `http://127.0.0.1:${(tiles.address() as AddressInfo).port}`;
    app = await startSeededApp({ MAP_TILES_URL: `${tileRoot}/{z}/{x}/{y}.png`, MAP_TILES_ATTRIBUTION: '© Test tiles <img src=x>' });
    browser = await launchBrowser();
    page = await watchedPage(browser, errors);
    await logIn(page, app, '/admin/map');
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await new Promise((resolve) => tiles?.close(resolve));
  });

  it('draws the tiles under the pins, with their credit as text', async () => {
    await expect.poll(() => page.locator('#map-status').textContent(), { timeout: 10_000 }).toMatch(/^7 reports on the map\./);
    await expect.poll(() => page.locator('.leaflet-tile-loaded').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(tileRequests.every((url) => /^\/\d+\/\d+\/\d+\.png$/.test(url))).toBe(true);
    expect(await page.locator('.leaflet-control-attribution').textContent()).toContain('© Test tiles <img src=x>');
    expect(await page.locator('.leaflet-control-attribution img').count()).toBe(0);
    expect(await page.getByText('No map tiles configured').count()).toBe(0);
    await page.screenshot({ path: path.join(TEST_OUTPUT, 'map-tiles.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 30_000);
});
