/**
 * "Already reported?" (issue 18): the open reports of a category near where a resident is about
 * to file one. With a GPS point, those within a radius, closest first; with a text place, those
 * at the same place (src/domain/places.ts), newest first. Only equality reads of the two indexes
 * that hold open reports (`openCell`, `openPlace`): a few grid cells and one place key, never a
 * scan, so the cost does not grow with the city's history.
 */
import type { GeoPoint } from '../core/message.js';
import { openCellKey, openPlaceKey } from '../domain/open-report-keys.js';
import { distanceMeters, neighbourCells, parsePlace, samePlace } from '../domain/places.js';
import type { ReportRecord } from '../domain/records.js';
import { MAX_KEY_LENGTH } from '../store/schemas.js';
import type { Collections } from '../store/store.port.js';

/** What to look for. */
export interface NearbyQuery {
  category: string;
  /** Where the resident is (a shared location). */
  point?: Pick<GeoPoint, 'lat' | 'lon'>;
  /** The place as the resident wrote it. */
  placeText?: string;
  /** The language `placeText` is in. */
  locale: string;
  /** How far from `point` counts as the same spot (DUPLICATE_RADIUS_METERS). */
  radiusM: number;
  /** At most this many, best first. */
  limit: number;
  /** A report not to offer (the one being filed, when it exists already). */
  excludeId?: string;
}

/** An open report that may be the same problem, and why. */
export interface NearbyReport {
  report: ReportRecord;
  /** Found within the radius of the point, or at the same text place. */
  match: 'point' | 'place';
  /** Metres from the point (point matches only). */
  distanceM?: number;
}

/**
 * Open reports read per key: a hot spot with more open reports of one category in one cell (or
 * at one place) is read newest first up to this, so one lookup stays a bounded read.
 */
const PER_KEY_LIMIT = 50;

/**
 * The open reports of the category near the point (within `radiusM`, closest first) and at the
 * same text place (newest first), point matches before place matches, each report once, at most
 * `limit`. Nothing when neither a point nor a text that names a place is given.
 */
export async function findNearbyOpenReports(store: Pick<Collections, 'reports'>, query: NearbyQuery): Promise<NearbyReport[]> {
  if (!(Number.isSafeInteger(query.limit) && query.limit > 0)) throw new RangeError('limit must be a positive integer');
  const [byPoint, byPlace] = await Promise.all([nearPoint(store, query), atPlace(store, query)]);
  const seen = new Set<string>(query.excludeId ? [query.excludeId] : []);
  const found: NearbyReport[] = [];
  for (const candidate of [...byPoint, ...byPlace]) {
    if (seen.has(candidate.report._id)) continue;
    seen.add(candidate.report._id);
    found.push(candidate);
    if (found.length === query.limit) break;
  }
  return found;
}

async function nearPoint(store: Pick<Collections, 'reports'>, query: NearbyQuery): Promise<NearbyReport[]> {
  const { point } = query;
  if (!point) return [];
  const keys = neighbourCells(point, query.radiusM)
    .map((cell) => openCellKey(query.category, cell))
    .filter((key) => key.length <= MAX_KEY_LENGTH);
  const cells = await Promise.all(keys.map((key) => store.reports.find({ field: 'openCell', equals: key }, { order: 'desc', limit: PER_KEY_LIMIT })));
  const found: NearbyReport[] = [];
  for (const report of cells.flat()) {
    const at = report.location.point;
    // The index holds open reports only; the group is checked again because a read may race a write.
    if (!at || report.statusGroup !== 'open' || String(report.category) !== query.category) continue;
    const distanceM = distanceMeters(point, at);
    if (distanceM <= query.radiusM) found.push({ report, match: 'point', distanceM });
  }
  return found.sort((a, b) => a.distanceM! - b.distanceM! || b.report.createdAt.getTime() - a.report.createdAt.getTime());
}

async function atPlace(store: Pick<Collections, 'reports'>, query: NearbyQuery): Promise<NearbyReport[]> {
  const place = query.placeText ? parsePlace(query.placeText, query.locale) : null;
  if (!place) return [];
  const key = openPlaceKey(query.category, place.key);
  if (key.length > MAX_KEY_LENGTH) return [];
  // Newest first, as the index orders them.
  const candidates = await store.reports.find({ field: 'openPlace', equals: key }, { order: 'desc', limit: PER_KEY_LIMIT });
  return candidates
    .filter((report) => {
      if (report.statusGroup !== 'open' || String(report.category) !== query.category || !report.location.text) return false;
      // One key, but "Main St" and "Main Ave" are not one place.
      const theirs = parsePlace(report.location.text, report.locale);
      return theirs !== null && samePlace(place, theirs);
    })
    .map((report) => ({ report, match: 'place' as const }));
}
