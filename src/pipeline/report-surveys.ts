/**
 * Residents' answers to "is it really fixed?" (issue 18), as the survey dialog's command
 * (`report.survey`) records them: one record per resident and report in `reportSurveys`, the
 * rating and comment added to it, and a "no" that reopens the report for staff.
 *
 * Retries: a turn retried after a crash runs its command again. The first answer's record is
 * found by the resident's address before a new one is made, and the reopening is keyed by the
 * inbound message (its update's id), so neither happens twice.
 */
import { createHash } from 'node:crypto';
import type { CommandInputs, CommandResults } from '../engine/commands.js';
import { withOpenReportKeys } from '../domain/open-report-keys.js';
import type { ReportRecord, ReportSurveyRecord } from '../domain/records.js';
import { statusGroupOf } from '../domain/report-status.js';
import type { Collections } from '../store/store.port.js';
import type { CommandScope } from './command-runner.js';
import { backOff } from './back-off.js';

/** The status a report a resident says is not fixed goes back to: open, for staff to look again. */
export const REOPENED_STATUS = 'open';
const WRITE_ATTEMPTS = 5;
/** More surveys than one resident answers: their answers are all read to find one report's. */
const RESIDENT_SURVEYS_MAX = 1_000;
const COMMENT_MAX = 1_000;

type SurveyStore = Pick<Collections, 'reports' | 'reportUpdates' | 'reportSurveys'>;

/**
 * Whether residents are asked "is it really fixed?" about a report in this state: fixed, or
 * closed as done. Not a duplicate (its residents are asked about the report it duplicates) nor
 * "not the city's responsibility" (a "no" must not reopen what staff handed elsewhere).
 */
export function isSurveyed(report: Pick<ReportRecord, 'status'>): boolean {
  return statusGroupOf(report.status) === 'fixed' || report.status === 'closed';
}

/** Runs the `report.survey` command: see the module comment. */
export async function answerSurvey(store: SurveyStore, input: CommandInputs['report.survey'], scope: CommandScope): Promise<CommandResults['report.survey']> {
  const report = await store.reports.get(input.ref.toUpperCase());
  if (!report) return { outcome: 'not_found', surveyId: null };
  if (input.surveyId) {
    const added = await addToSurvey(store, input.surveyId, scope.address, input.rating, input.comment);
    return { outcome: added ? 'recorded' : 'not_found', surveyId: added ? input.surveyId : null };
  }
  const fixed = input.fixed === 'no' ? 'no' : 'yes';
  const surveyId = await recordFixed(store, report, fixed, scope);
  const reopened = fixed === 'no' && (await reopenAsNotFixed(store, report._id, scope));
  return { outcome: reopened ? 'reopened' : 'recorded', surveyId };
}

/** Records the yes or no: in the resident's record for the report when there is one, else a new one. */
async function recordFixed(store: SurveyStore, report: ReportRecord, fixed: 'yes' | 'no', scope: CommandScope): Promise<string> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const mine = await store.reportSurveys.find({ field: 'address', equals: scope.address }, { order: 'desc', limit: RESIDENT_SURVEYS_MAX });
    const current = mine.find((survey) => survey.reportId === report._id);
    if (current) {
      // "back" to the question and another answer: the latest stands (a reopening stays done).
      if (current.fixed === fixed || (await store.reportSurveys.replace({ ...current, fixed }, current._rev))) return current._id;
      continue;
    }
    const survey: Omit<ReportSurveyRecord, '_rev'> = {
      _id: `${report._id}|${messageHash(scope.sourceKey)}`,
      reportId: report._id,
      category: String(report.category),
      month: monthOf(scope.now),
      fixed,
      address: scope.address,
      channel: scope.channel,
      locale: scope.locale,
      at: scope.now,
    };
    // False on a retry of this message: its record is there, and found next time round.
    if (await store.reportSurveys.insert(survey)) return survey._id;
  }
  throw new Error('A survey kept changing while recording it');
}

/** Adds the rating and comment to the resident's own record; false when it is not theirs (or gone). */
async function addToSurvey(store: SurveyStore, id: string, address: string, rating: number | undefined, comment: string | undefined): Promise<boolean> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await store.reportSurveys.get(id);
    if (!current || current.address !== address) return false;
    const text = comment?.trim().slice(0, COMMENT_MAX);
    const next: Omit<ReportSurveyRecord, '_rev'> = {
      ...current,
      ...(rating !== undefined && Number.isInteger(rating) && rating >= 1 && rating <= 5 ? { rating } : {}),
      ...(text ? { comment: text } : {}),
    };
    if (await store.reportSurveys.replace(next, current._rev)) return true;
  }
  throw new Error('A survey kept changing while recording it');
}

/**
 * Reopens a report a resident says is not fixed, if it still is fixed or closed: status back to
 * open, the duplicate-search keys back, `reopenedByResident` for staff, and a system update
 * (`notFixed`) in its history. The update is written first, with an id of this message, and
 * the report's flag carries the update's time: a retried message finds its update and, when the
 * flag matches it, knows it reopened the report already, even if staff fixed it again since.
 * Several residents saying no at once reopen it once; the others' answers are their surveys.
 */
export async function reopenAsNotFixed(store: Pick<Collections, 'reports' | 'reportUpdates'>, reportId: string, scope: CommandScope): Promise<boolean> {
  const updateId = `${reportId}|not-fixed|${messageHash(scope.sourceKey)}`;
  const earlier = await store.reportUpdates.get(updateId);
  const at = earlier?.at ?? scope.now;
  let wrote = false;
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    // Several residents' "no" at once: the losers wait a moment for the winner's write to land.
    if (attempt > 0) await backOff(attempt);
    const current = await store.reports.get(reportId);
    if (current && earlier && current.reopenedByResident?.getTime() === at.getTime()) return true;
    if (!current || !isSurveyed(current)) {
      // Another resident's "no" (or staff) reopened it first: this message's update says nothing true.
      if (wrote) await store.reportUpdates.delete(updateId);
      return false;
    }
    if (!earlier && !wrote) {
      await store.reportUpdates.insert({ _id: updateId, reportId, status: REOPENED_STATUS, by: 'system', notFixed: true, at });
      wrote = true;
    }
    const next = withOpenReportKeys({
      ...current,
      status: REOPENED_STATUS,
      statusGroup: statusGroupOf(REOPENED_STATUS),
      reopenedByResident: at,
      updatedAt: scope.now,
    });
    if (await store.reports.replace(next, current._rev)) return true;
  }
  throw new Error('Report kept changing while reopening it');
}

/**
 * Unlinks a resident's survey answers from them when they delete their data: the address and
 * the comment (their words) go; the yes or no, the rating, the report and the month stay for
 * the city's numbers. The record's id is a hash of the message that answered, whose key the
 * erasure deletes with the transcript, so nothing left leads back to them.
 */
export async function unlinkSurveys(store: Pick<Collections, 'reportSurveys'>, address: string): Promise<void> {
  const theirs = await store.reportSurveys.find({ field: 'address', equals: address }, { limit: RESIDENT_SURVEYS_MAX * 100 });
  for (const { address: _address, comment: _comment, _rev, ...kept } of theirs) await store.reportSurveys.upsert(kept);
}

/** `YYYY-MM` of a time, in UTC: the month a survey is counted in. */
export function monthOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** A message's key as an id part: the key names the resident, its hash does not. */
function messageHash(sourceKey: string): string {
  return createHash('sha256').update(sourceKey).digest('hex').slice(0, 20);
}
