/**
 * The reports on the staff map: the pinned ones (a GPS point) matching a filter, newest first,
 * with only what a pin needs. No description, no place text, no resident: the map is a view of
 * where problems are, and what it sends to the browser must not become a list of who reported.
 *
 * Reads go through the store's indexes only (category or status group, newest first), and are
 * bounded twice: at most `MAP_SCAN_LIMIT` reports are read per index, and at most
 * `MAP_POINTS_MAX` pins are returned. The answer says when either bound cut it, so the page can
 * tell staff to zoom in or narrow the filter rather than silently showing part of the city.
 */
import type { StatusGroup } from '../domain/records.js';
import type { StaffDeps } from './staff-deps.js';

/** The most pins one answer carries (a browser clusters 5,000 markers comfortably). */
export const MAP_POINTS_MAX = 5000;
/**
 * The most reports read per index for one answer, pinned or not, in the box or not: twice the
 * pins, so a city where half the reports are text-only still fills the map, while one request
 * holds at most three such reads (every group) in memory.
 */
export const MAP_SCAN_LIMIT = 2 * MAP_POINTS_MAX;
const DAY_MS = 86_400_000;

/** A box on the map, in degrees. `minLon > maxLon` is a box across the antimeridian. */
export interface BoundingBox {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
}

/** How to narrow the map. */
export interface ReportMapFilter {
  statusGroup?: StatusGroup;
  category?: string;
  /** Made at most this many days ago. */
  maxAgeDays?: number;
  bbox?: BoundingBox;
  /** At most this many pins (at most, and by default, `MAP_POINTS_MAX`). */
  limit?: number;
}

/** One pin: a report's reference, what and how it stands, where, and when it was made. */
export interface ReportPin {
  ref: string;
  category: string;
  status: string;
  statusGroup: StatusGroup;
  lat: number;
  lon: number;
  createdAt: Date;
}

/** The pins of a filter, and whether the bounds cut them. */
export interface ReportMap {
  /** Newest first. */
  pins: ReportPin[];
  /**
   * True when more reports may match than are here: more pins matched than the limit, or an
   * index held more reports than one answer reads (the oldest were not looked at).
   */
  truncated: boolean;
  /** Matching reports (in the part read) whose place is text only: they have no pin. */
  withoutPoint: number;
  limit: number;
}

/** The pinned reports matching the filter, newest first, bounded as the module says. */
export async function reportMap(deps: Pick<StaffDeps, 'store'>, filter: ReportMapFilter, now: Date = new Date()): Promise<ReportMap> {
  const { reports } = deps.store;
  const limit = Math.min(filter.limit ?? MAP_POINTS_MAX, MAP_POINTS_MAX);
  const groups: readonly StatusGroup[] = filter.statusGroup ? [filter.statusGroup] : ['open', 'fixed', 'closed'];
  // One indexed read for the most selective filter: the category (any group), else each status
  // group asked for. Each report is in exactly one group, so the groups' reads never overlap.
  const reads = filter.category
    ? [reports.find({ field: 'category', equals: filter.category }, { order: 'desc', limit: MAP_SCAN_LIMIT })]
    : groups.map((group) => reports.find({ field: 'statusGroup', equals: group }, { order: 'desc', limit: MAP_SCAN_LIMIT }));
  const batches = await Promise.all(reads);
  // A full batch means the index may hold older reports than were read.
  let truncated = batches.some((batch) => batch.length >= MAP_SCAN_LIMIT);
  const newest = filter.maxAgeDays === undefined ? -Infinity : now.getTime() - filter.maxAgeDays * DAY_MS;
  const candidates = batches
    .flat()
    .filter((r) => (!filter.statusGroup || r.statusGroup === filter.statusGroup) && r.createdAt.getTime() >= newest)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a._id < b._id ? -1 : 1));

  const pins: ReportPin[] = [];
  let withoutPoint = 0;
  for (const report of candidates) {
    const point = report.location.point;
    if (!point || !validPoint(point.lat, point.lon)) {
      withoutPoint++;
      continue;
    }
    if (filter.bbox && !inBox(point.lat, point.lon, filter.bbox)) continue;
    if (pins.length >= limit) {
      truncated = true;
      // Counting on would only count the rest's text-only places; the answer is cut anyway.
      break;
    }
    pins.push({
      ref: report._id,
      category: report.category,
      status: report.status,
      statusGroup: report.statusGroup,
      lat: point.lat,
      lon: point.lon,
      createdAt: report.createdAt,
    });
  }
  return { pins, truncated, withoutPoint, limit };
}

/** Whether a point is one a map can show (finite, in range). */
export function validPoint(lat: number, lon: number): boolean {
  return Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
}

/** Whether a point is in the box; a box whose `minLon` is past its `maxLon` crosses the antimeridian. */
export function inBox(lat: number, lon: number, box: BoundingBox): boolean {
  if (lat < box.minLat || lat > box.maxLat) return false;
  return box.minLon <= box.maxLon ? lon >= box.minLon && lon <= box.maxLon : lon >= box.minLon || lon <= box.maxLon;
}
