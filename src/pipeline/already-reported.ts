/**
 * "Already reported?" as a resident sees it (issue 18): the open reports of the same category
 * at the place they are about to report, offered to follow instead of filing a second one.
 * What is shown of someone else's report is what a city shows on its public map (FixMyStreet):
 * category, place, age, status and reference; never their words, photos or name.
 */
import type { NearbyReportView } from '../engine/commands.js';
import type { GeoPoint } from '../core/message.js';
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
  const found = await findNearbyOpenReports(store, {
    category: query.category,
    ...(query.point ? { point: query.point } : {}),
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
        place: report.location.text ?? '',
        createdAt: report.createdAt.toISOString(),
        ageDays: Math.max(0, Math.floor((scope.now.getTime() - report.createdAt.getTime()) / DAY_MS)),
        ...(distanceM !== undefined ? { distanceM: Math.round(distanceM) } : {}),
        ...(yours ? { yours } : {}),
        residents: await coReporterCount(store, report),
      };
    }),
  );
}
