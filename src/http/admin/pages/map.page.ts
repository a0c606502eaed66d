/**
 * The map of reports for staff (`/admin/map`), the small map with a report's pin that the report
 * page shows, and the map's files: Leaflet and its clustering plugin, served from our own
 * server (no CDN: the dashboard works on a closed network and tells no third party who looks).
 *
 * The background comes from MAP_TILES_URL when the city configured one; without it the pins
 * are drawn on a plain background with a scale, and the page fetches nothing from elsewhere. The
 * pins come from `GET /admin/api/reports/map` (reference, category, status, point, time), and
 * the page's script builds every label with `textContent`: nothing from the store becomes markup.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';
import type { Service } from '../../../service.js';
import type { Config } from '../../../config.js';
import type { ReportRecord } from '../../../domain/records.js';
import { validPoint } from '../../../staff/report-map.js';
import { actorOf } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { reportMapQuery } from '../map.routes.js';
import { errorList, groupAndCategorySelects, issuesOf, sendPage, type PageFrame } from './layout.js';

/**
 * Where the map's files are served: among the dashboard's assets (behind staff access like every
 * page), under names made of letters and dashes like the page scripts' own.
 */
const MAP_ASSETS = '/admin/assets';

/**
 * The files the map pages load, by the name they are served under: the package and file each is
 * read from, and its type. Leaflet's stylesheet finds its images at `images/…` next to itself.
 */
const VENDOR_FILES: Readonly<Record<string, { pkg: 'leaflet' | 'leaflet.markercluster'; file: string; type: string }>> = {
  'leaflet.js': { pkg: 'leaflet', file: 'dist/leaflet.js', type: 'text/javascript; charset=utf-8' },
  'leaflet.js.map': { pkg: 'leaflet', file: 'dist/leaflet.js.map', type: 'application/json' },
  'leaflet.css': { pkg: 'leaflet', file: 'dist/leaflet.css', type: 'text/css; charset=utf-8' },
  'images/layers.png': { pkg: 'leaflet', file: 'dist/images/layers.png', type: 'image/png' },
  'images/layers-2x.png': { pkg: 'leaflet', file: 'dist/images/layers-2x.png', type: 'image/png' },
  'images/marker-icon.png': { pkg: 'leaflet', file: 'dist/images/marker-icon.png', type: 'image/png' },
  'images/marker-icon-2x.png': { pkg: 'leaflet', file: 'dist/images/marker-icon-2x.png', type: 'image/png' },
  'images/marker-shadow.png': { pkg: 'leaflet', file: 'dist/images/marker-shadow.png', type: 'image/png' },
  'leaflet-markercluster.js': { pkg: 'leaflet.markercluster', file: 'dist/leaflet.markercluster.js', type: 'text/javascript; charset=utf-8' },
  'leaflet.markercluster.js.map': { pkg: 'leaflet.markercluster', file: 'dist/leaflet.markercluster.js.map', type: 'application/json' },
  'marker-cluster.css': { pkg: 'leaflet.markercluster', file: 'dist/MarkerCluster.css', type: 'text/css; charset=utf-8' },
  'marker-cluster-default.css': { pkg: 'leaflet.markercluster', file: 'dist/MarkerCluster.Default.css', type: 'text/css; charset=utf-8' },
};

/** The map page's and the report pin's script (ours), after Leaflet (and the cluster plugin on the map page). */
const MAP_SCRIPT = '/admin/assets/map.js';

/** The report map's own routes (`/map`) and the map's files (`/assets/…`); mount after staff access. */
export function mapPages(service: Service): Router {
  const router = express.Router();
  const files: Record<string, { path: string; type: string }> = {
    ...vendorPaths(service),
    // Our own styles for the map (its height, the pins, the legend), beside the page scripts.
    'map.css': { path: path.join(service.config.rootDir, 'src', 'http', 'admin', 'pages', 'assets', 'map.css'), type: 'text/css; charset=utf-8' },
  };

  router.get(['/assets/:name', '/assets/images/:name'], (req, res, next) => {
    const name = req.path.slice('/assets/'.length);
    const file = Object.hasOwn(files, name) ? files[name] : undefined;
    if (!file) return next();
    // Revalidated on each use (an ETag makes that cheap), so an upgraded Leaflet reaches browsers at once.
    res.sendFile(file.path, { headers: { 'Content-Type': file.type, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' } }, (error) => {
      if (error && !res.headersSent) next(error);
    });
  });

  router.get('/map', (req, res) => {
    // Only the filter's own keys are read, and blank fields (an untouched select) mean "any".
    const raw = req.query as Record<string, unknown>;
    const values = Object.fromEntries(
      (['statusGroup', 'category', 'maxAgeDays'] as const).flatMap((key) => (raw[key] === undefined || raw[key] === '' ? [] : [[key, raw[key]]])),
    );
    const query = reportMapQuery.safeParse(values);
    const filter = query.success ? Object.fromEntries(Object.entries(values).map(([key, value]) => [key, String(value)])) : {};
    const frame: PageFrame = {
      title: 'Map of reports',
      section: 'map',
      actor: actorOf(res),
      cityName: service.config.cityName,
      ...mapFrame(service.config, { clusters: true }),
    };
    sendPage(res, frame, mapView(service.config, filter, query.success ? [] : issuesOf(query.error)), query.success ? 200 : 400);
  });

  return router;
}

/**
 * What a page frame needs for a map: Leaflet's files (and the cluster plugin's), our script,
 * the settings it reads (tiles, their credit, the city's time zone), and the tile host for the
 * CSP's img-src when tiles are configured.
 */
export function mapFrame(
  config: Pick<Config, 'mapTiles' | 'cityTimeZone'>,
  options: { clusters: boolean },
): Pick<PageFrame, 'scripts' | 'styles' | 'meta' | 'imgSources'> {
  const { mapTiles } = config;
  return {
    scripts: [`${MAP_ASSETS}/leaflet.js`, ...(options.clusters ? [`${MAP_ASSETS}/leaflet-markercluster.js`] : []), MAP_SCRIPT],
    styles: [
      `${MAP_ASSETS}/leaflet.css`,
      ...(options.clusters ? [`${MAP_ASSETS}/marker-cluster.css`, `${MAP_ASSETS}/marker-cluster-default.css`] : []),
      `${MAP_ASSETS}/map.css`,
    ],
    meta: {
      'civicline-map-tiles': mapTiles?.url ?? '',
      'civicline-map-attribution': mapTiles?.attribution ?? '',
      'civicline-time-zone': config.cityTimeZone,
    },
    imgSources: mapTiles ? [mapTiles.cspSource] : [],
  };
}

/**
 * The frame additions of a report's page: the map's files when the report has a point to pin,
 * nothing when its place is text only (the page then loads no map at all).
 */
export function reportPinFrame(config: Pick<Config, 'mapTiles' | 'cityTimeZone'>, report: Pick<ReportRecord, 'location'>): Partial<PageFrame> {
  const point = report.location.point;
  return point && validPoint(point.lat, point.lon) ? mapFrame(config, { clusters: false }) : {};
}

/**
 * The small map with a report's pin, for the report page next to its GPS point: an element the
 * map script fills in (with `reportPinFrame`'s files on the page). Nothing for a point a map
 * cannot show. The numbers are the only data it carries.
 */
export function reportPinMap(report: Pick<ReportRecord, 'location' | 'statusGroup'>): SafeHtml {
  const point = report.location.point;
  if (!point || !validPoint(point.lat, point.lon)) return html``;
  return html`<div
    class="report-pin-map map-canvas"
    data-lat="${point.lat.toFixed(6)}"
    data-lon="${point.lon.toFixed(6)}"
    data-group="${report.statusGroup}"
    role="img"
    aria-label="Map with the report's pin"
  ></div>`;
}

/** The map page's content: the filters, the map, what it shows, and a legend. */
export function mapView(config: Pick<Config, 'mapTiles'>, filter: Record<string, string>, errors: readonly string[]): SafeHtml {
  const listQuery = new URLSearchParams(filter).toString();
  return html`<h1>Map of reports</h1>
    <form class="filters" id="map-filters" method="get" action="/admin/map" aria-label="Filter the map">
      ${groupAndCategorySelects(filter)}
      <label>Made within (days) <input type="number" name="maxAgeDays" min="0" max="3650" value="${filter['maxAgeDays'] ?? ''}" /></label>
      <button type="submit">Filter</button>
      <a href="/admin/map">Clear</a>
    </form>
    ${errorList(errors)}
    <p id="map-status" class="muted" role="status" aria-live="polite">Loading the reports…</p>
    <div id="report-map" class="map-canvas" data-api="/admin/api/reports/map"></div>
    ${
      config.mapTiles
        ? html``
        : html`<p class="muted map-note">No map tiles configured (set MAP_TILES_URL): the pins are shown on a plain background, with a scale.</p>`
    }
    <p class="map-legend">
      <span class="map-dot open"></span> Open <span class="map-dot fixed"></span> Fixed <span class="map-dot closed"></span> Closed
      <span class="muted">· Click a pin for its report; numbers are groups of reports (click to zoom in).</span>
      <a id="map-list-link" href="/admin/reports${listQuery ? `?${listQuery}` : ''}">The same reports as a list</a>
    </p>`;
}

/** The files of VENDOR_FILES on disk; none when the packages are missing (the pages then show no map, and say so in the log). */
function vendorPaths(service: Pick<Service, 'logger'>): Record<string, { path: string; type: string }> {
  const require = createRequire(import.meta.url);
  const roots: Partial<Record<string, string>> = {};
  for (const pkg of ['leaflet', 'leaflet.markercluster']) {
    try {
      roots[pkg] = path.dirname(require.resolve(`${pkg}/package.json`));
    } catch {
      service.logger.warn({ pkg }, 'map files missing: run npm install (the staff map shows no map without them)');
    }
  }
  return Object.fromEntries(
    Object.entries(VENDOR_FILES).flatMap(([name, { pkg, file, type }]) => {
      const root = roots[pkg];
      const full = root === undefined ? undefined : path.join(root, file);
      return full !== undefined && existsSync(full) ? [[name, { path: full, type }]] : [];
    }),
  );
}
