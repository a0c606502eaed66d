/**
 * Followers of a report (issue 18): a resident about to file a report that someone already filed
 * follows it instead. They hear its updates, count as a co-reporter, and what they saw (words
 * and photos) is added to it. This module keeps the follower records and answers "who hears
 * about this report" for the jobs that tell them.
 */
import { createHash } from 'node:crypto';
import type { MediaRef } from '../core/message.js';
import type { ReportFollowerRecord, ReportRecord } from '../domain/records.js';
import type { Collections } from '../store/store.port.js';
import { ERASED_AUTHOR } from './erasure.js';
import { reporterIsResident } from '../domain/report-channels.js';

/**
 * The most followers of one report that are read to tell them something. A report a whole
 * neighbourhood follows is told in full up to this; beyond it the newest are left out, and the
 * count still counts everyone.
 */
export const FOLLOWERS_READ_MAX = 5_000;
const NOTE_MAX = 2_000;

/** What following a report did. */
export type FollowOutcome = 'following' | 'already' | 'own' | 'not_found' | 'not_open';

/** A resident asks to follow a report, with what they saw. */
export interface FollowRequest {
  ref: string;
  address: string;
  /** The inbound message that asked: the words' update is keyed by it, so a retry adds them once. */
  sourceKey: string;
  now: Date;
  note?: string;
  photos?: readonly MediaRef[];
  via?: ReportFollowerRecord['via'];
}

/**
 * Makes the resident a follower of an open report and adds their words and photos to it as a
 * follower's update (kept apart from the reporter's own words). Once per resident and report.
 */
export async function followReport(store: Pick<Collections, 'reports' | 'reportUpdates' | 'reportFollowers'>, request: FollowRequest): Promise<FollowOutcome> {
  const offered = await store.reports.get(request.ref.toUpperCase());
  // Merged by staff while the resident decided: the report it lives on in is the one to follow.
  const report = offered?.mergedInto && request.via !== 'merge' ? await store.reports.get(offered.mergedInto) : offered;
  if (!report) return 'not_found';
  if (report.residentAddress === request.address) return 'own';
  const id = followerId(report._id, request.address);
  if (await store.reportFollowers.get(id)) return 'already';
  // Following a report that was fixed while the resident was deciding would hear of nothing.
  if (request.via !== 'merge' && report.statusGroup !== 'open') return 'not_open';

  const note = request.note?.trim().slice(0, NOTE_MAX);
  const photos = request.photos?.length ? request.photos.map((photo) => ({ url: photo.url, contentType: photo.contentType })) : undefined;
  const noteId = note || photos ? `${report._id}|${createHash('sha256').update(request.sourceKey).digest('hex').slice(0, 20)}` : undefined;
  // The words first: a retry after a crash between the two finds the note (insert is a no-op)
  // and makes the follower; the other order could make a follower whose words are lost.
  if (noteId) {
    await store.reportUpdates.insert({
      _id: noteId,
      reportId: report._id,
      by: 'resident',
      follower: true,
      ...(note ? { note } : {}),
      ...(photos ? { photos } : {}),
      at: request.now,
    });
  }
  const inserted = await store.reportFollowers.insert({
    _id: id,
    reportId: report._id,
    address: request.address,
    at: request.now,
    via: request.via ?? 'follow',
    ...(noteId ? { noteId } : {}),
  });
  return inserted ? 'following' : 'already';
}

/** The follower record's id: one per report and resident. */
export function followerId(reportId: string, address: string): string {
  return `${reportId}|${address}`;
}

/** How many residents stand behind a report: its reporter and everyone who follows it. */
export async function coReporterCount(store: Pick<Collections, 'reportFollowers'>, report: Pick<ReportRecord, '_id'>): Promise<number> {
  return 1 + (await store.reportFollowers.count({ field: 'reportId', equals: report._id }));
}

/**
 * Everyone to tell about a report: its reporter (unless they deleted their data, or it was posted
 * through Open311 and has no resident) and its
 * followers, each once, the reporter first.
 */
export async function reportAudience(store: Pick<Collections, 'reportFollowers'>, report: Pick<ReportRecord, '_id' | 'residentAddress'>): Promise<string[]> {
  const followers = await store.reportFollowers.find({ field: 'reportId', equals: report._id }, { order: 'asc', limit: FOLLOWERS_READ_MAX });
  const reporter = reporterIsResident(report.residentAddress, ERASED_AUTHOR) ? [report.residentAddress] : [];
  return [...new Set([...reporter, ...followers.map((follower) => follower.address)])];
}

/** Whether the address follows the report. */
export async function isFollower(store: Pick<Collections, 'reportFollowers'>, reportId: string, address: string): Promise<boolean> {
  return (await store.reportFollowers.get(followerId(reportId, address))) !== null;
}
