/**
 * "Already reported?" as a resident sees it (issue 18): the open reports of the same category
 * at the place they are about to report, offered to follow instead of filing a second one.
 * What is shown of someone else's report is what a city shows on its public map (FixMyStreet):
 * category, place, age, status and reference; never their words, photos or name.
 */
import type { NearbyReportView } from '../engine/commands.js';
import type { GeoPoint } from '../core/message.js';
import type { ReportRecord } from '../domain/records.js';
import type { Geocoder } from './geocoder.js';
import type { Collections } from '../store/store.port.js';
import { findNearbyOpenReports } from './nearby-reports.js';
import { coReporterCount, isFollower } from './report-followers.js';

/** At most this many are offered: a phone screen (or two SMS segments) holds two. */
const OFFERED = 2;
const DAY_MS = 86_400_000;
/** Reports with no useful place to compare ("other") are never offered as the same problem. */
const NEVER_OFFERED = new Set(['other']);

/** What the resident is about to report. */
export interface AlreadyReportedQuery {
  category: string;
  placeText?: string;
  point?: GeoPoint;
}

/** Who asks, where they are in time, and how far counts as the same spot. */
export interface AlreadyReportedScope {
  address: string;
  locale: string;
  now: Date;
  radiusM: number;
  /** GEOCODER_URL's: a text place gets a point too, so reports pinned there are found. */
  geocoder?: Geocoder | null;
}

/**
 * The open reports to offer, best first (closest to the point, then the same text place): the
 * resident's own reports and those they follow too, marked, so that a resident reporting the
 * same pothole again hears "you already reported this" instead of filing it twice.
 */
export async function alreadyReported(
  store: Pick<Collections, 'reports' | 'reportFollowers'>,
  query: AlreadyReportedQuery,
  scope: AlreadyReportedScope,
): Promise<NearbyReportView[]> {
  if (NEVER_OFFERED.has(query.category) || (!query.point && !query.placeText)) return [];
  // A text place, geocoded, also finds the reports pinned there (a shared location's).
  const geocoded = !query.point && query.placeText && scope.geocoder ? await scope.geocoder.search(query.placeText, { locale: scope.locale }) : null;
  const point = query.point ?? geocoded ?? undefined;
  const found = await findNearbyOpenReports(store, {
    category: query.category,
    ...(point ? { point } : {}),
    ...(query.placeText ? { placeText: query.placeText } : {}),
    locale: scope.locale,
    radiusM: scope.radiusM,
    limit: OFFERED,
  });
  return Promise.all(
    found.map(async ({ report, distanceM }) => {
      const yours = report.residentAddress === scope.address ? 'reported' : (await isFollower(store, report._id, scope.address)) ? 'following' : undefined;
      return {
        ref: report._id,
        category: String(report.category),
        status: report.status,
        // As its reporter wrote it, or the street the geocoder gave for its point.
        place: report.location.text ?? report.location.point?.label ?? '',
        createdAt: report.createdAt.toISOString(),
        ageDays: Math.max(0, Math.floor((scope.now.getTime() - report.createdAt.getTime()) / DAY_MS)),
        // "40 m from you" only from where the resident is, not from where a text was geocoded.
        ...(distanceM !== undefined && query.point ? { distanceM: Math.round(distanceM) } : {}),
        ...(yours ? { yours } : {}),
        residents: await coReporterCount(store, report),
      };
    }),
  );
}

/**
 * Where a new report is, for the record: what the resident gave, and with the geocoder on, a
 * point for a text place (approximate, so marked) or a street address for a shared point (its
 * `label`). The geocoder's answer is never needed: without one the report is as the resident gave it.
 */
export async function locateReport(
  geocoder: Geocoder | null,
  given: { locationText?: string; point?: GeoPoint },
  locale: string,
): Promise<ReportRecord['location']> {
  const text = given.locationText;
  if (given.point) {
    const label = given.point.label ?? (geocoder ? await geocoder.reverse(given.point, { locale }) : null);
    return { ...(text ? { text } : {}), point: { lat: given.point.lat, lon: given.point.lon, ...(label ? { label } : {}) }, pointFrom: 'resident' };
  }
  const found = text && geocoder ? await geocoder.search(text, { locale }) : null;
  return { ...(text ? { text } : {}), ...(found ? { point: { lat: found.lat, lon: found.lon }, pointFrom: 'geocoder' as const } : {}) };
}
