/**
 * Likely duplicates for staff (issue 18): on a report's page, the other open reports that may be
 * the same problem; on the dashboard, the groups of open reports that look like one problem
 * reported several times. Both read only through indexes (the open reports' `openCell` /
 * `openPlace` keys, and the status group's index), never a scan: the store port has no other reads.
 * Merging what staff agree is one problem is src/staff/report-merge.ts.
 */
import type { GeoPoint } from '../core/message.js';
import { distanceMeters, parsePlace, samePlace, type ParsedPlace } from '../domain/places.js';
import type { ReportRecord } from '../domain/records.js';
import { findNearbyOpenReports, type NearbyReport } from '../pipeline/nearby-reports.js';
import type { Collections } from '../store/store.port.js';
import { reportMergeInfo, type ReportMergeInfo } from './report-merge.js';
import { StaffError, type StaffDeps } from './staff-deps.js';

/** How many suggestions a report's page shows. */
export const SUGGESTIONS_MAX = 10;

/**
 * How many of the newest open reports the dashboard compares. Duplicates are filed close together
 * in time (a broken light is reported by the street within days), so the newest open reports are
 * where new pairs are; staff merge them as they come. 500 is one indexed read of a few hundred
 * kilobytes and, compared pairwise per category, at most 125,000 distance checks (a few
 * milliseconds), so the page costs the same in a city with ten years of history. An older
 * duplicate of a new report is still offered on the new report's own page, which searches the
 * open-report indexes around it without this bound.
 */
export const LIKELY_DUPLICATES_WINDOW = 500;

/**
 * The other open reports that may be the same problem as `report`: same category, and within
 * `radiusM` of its point (DUPLICATE_RADIUS_METERS) or at the same text place; closest first, then
 * the same place newest first. None for a report that is not open (a merged one, a fixed one):
 * there is nothing left to merge it with.
 */
export async function duplicateSuggestions(
  store: Pick<Collections, 'reports'>,
  report: ReportRecord,
  radiusM: number,
  limit: number = SUGGESTIONS_MAX,
): Promise<NearbyReport[]> {
  if (report.statusGroup !== 'open' || report.mergedInto) return [];
  return findNearbyOpenReports(store, {
    category: String(report.category),
    ...(report.location.point ? { point: report.location.point } : {}),
    ...(report.location.text ? { placeText: report.location.text } : {}),
    locale: report.locale,
    radiusM,
    limit,
    excludeId: report._id,
  });
}

/** Open reports that look like one problem, the oldest first (the one to keep, by default). */
export interface DuplicateGroup {
  reports: ReportRecord[];
  /** How they were matched: all by point, all by text place, or some of each. */
  match: 'point' | 'place' | 'both';
}

/** What the dashboard's likely duplicates are read with. */
export interface LikelyDuplicatesQuery {
  /** DUPLICATE_RADIUS_METERS. */
  radiusM: number;
  /** At most this many groups, those with the newest report first. */
  limit: number;
  /** How many of the newest open reports to compare (default LIKELY_DUPLICATES_WINDOW). */
  window?: number;
}

/**
 * Groups of likely duplicates among the newest open reports: two reports of a category are
 * linked when within `radiusM` of each other or at the same text place, and linked reports form
 * one group (a chain of three lights 200 m apart is one group, for staff to judge). One indexed
 * read (the open group, newest first); the rest is in memory.
 */
export async function likelyDuplicates(store: Pick<Collections, 'reports'>, query: LikelyDuplicatesQuery): Promise<DuplicateGroup[]> {
  const window = query.window ?? LIKELY_DUPLICATES_WINDOW;
  const open = (await store.reports.find({ field: 'statusGroup', equals: 'open' }, { order: 'desc', limit: window })).filter(
    // The group is checked again because a read may race a write; a merged report is never open.
    (report) => report.statusGroup === 'open' && !report.mergedInto,
  );
  const places = new Map<string, ParsedPlace | null>(
    open.map((report) => [report._id, report.location.text ? parsePlace(report.location.text, report.locale) : null]),
  );
  const byCategory = new Map<string, ReportRecord[]>();
  for (const report of open) byCategory.set(String(report.category), [...(byCategory.get(String(report.category)) ?? []), report]);

  // Union-find over the reports' ids, remembering how each link was made.
  const parent = new Map<string, string>();
  const root = (id: string): string => {
    let at = id;
    while (parent.get(at) !== undefined && parent.get(at) !== at) at = parent.get(at)!;
    return at;
  };
  const matches = new Map<string, Set<'point' | 'place'>>();
  const link = (a: string, b: string, how: 'point' | 'place') => {
    const [ra, rb] = [root(a), root(b)];
    if (ra !== rb) parent.set(rb, ra);
    for (const id of [a, b]) matches.set(id, (matches.get(id) ?? new Set()).add(how));
  };
  for (const reports of byCategory.values()) {
    for (let i = 0; i < reports.length; i++) {
      for (let j = i + 1; j < reports.length; j++) {
        const [a, b] = [reports[i]!, reports[j]!];
        if (nearEachOther(a.location.point, b.location.point, query.radiusM)) link(a._id, b._id, 'point');
        else {
          const [pa, pb] = [places.get(a._id), places.get(b._id)];
          if (pa && pb && samePlace(pa, pb)) link(a._id, b._id, 'place');
        }
      }
    }
  }

  const groups = new Map<string, ReportRecord[]>();
  for (const report of open) {
    if (!matches.has(report._id)) continue;
    const key = root(report._id);
    groups.set(key, [...(groups.get(key) ?? []), report]);
  }
  // `open` is newest first, so each group's first member is its newest: groups in that order.
  return [...groups.values()].slice(0, query.limit).map((members) => {
    const how = new Set(members.flatMap((member) => [...(matches.get(member._id) ?? [])]));
    return {
      reports: [...members].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a._id.localeCompare(b._id)),
      match: how.size > 1 ? 'both' : how.has('point') ? 'point' : 'place',
    };
  });
}

function nearEachOther(a: GeoPoint | undefined, b: GeoPoint | undefined, radiusM: number): boolean {
  return a !== undefined && b !== undefined && distanceMeters(a, b) <= radiusM;
}

/** What a report's staff page and API show about duplicates: its merges, and what may be the same. */
export interface ReportDuplicates extends ReportMergeInfo {
  /** Open reports that may be the same problem (none once it is merged or not open). */
  suggestions: NearbyReport[];
}

/** The merges of a report and its duplicate suggestions (within DUPLICATE_RADIUS_METERS). */
export async function reportDuplicates(deps: Pick<StaffDeps, 'store' | 'config'>, ref: string): Promise<ReportDuplicates> {
  const report = await deps.store.reports.get(ref.toUpperCase());
  if (!report) throw new StaffError(404, `No report ${ref}`);
  const [info, suggestions] = await Promise.all([reportMergeInfo(deps.store, report), duplicateSuggestions(deps.store, report, deps.config.duplicateRadiusM)]);
  return { ...info, suggestions };
}
