/**
 * "Is it fixed?" (issue 18) as persisted outbound work (job-scheduler.ts): FIX_SURVEY_DAYS after a
 * report is fixed or closed, its reporter and followers are asked once whether it really is.
 *
 * - `fix_survey`, one per report, due FIX_SURVEY_DAYS after the status change: if the report is
 *   still fixed or closed, it schedules one `fix_survey_ask` per resident who hears about the
 *   report (`reportAudience`). A report reopened before then asks nobody. Fixed again later, the
 *   report's job runs again and asks only residents never asked about it (followers since).
 * - `fix_survey_ask`, one per report and resident, once ever: waits out quiet hours (a question
 *   nobody asked for), and for a resident in the middle of a flow or with a person holding their
 *   conversation ('later'); then the notifier asks, with a `fix_survey` follow-up that the
 *   engine reads their answer by (the survey dialog). Opted-out residents are skipped by the
 *   notifier, and settle as done: nothing to retry.
 */
import type { Config } from '../config.js';
import type { ReportRecord } from '../domain/records.js';
import { reportAudience } from '../pipeline/report-followers.js';
import { isSurveyed } from '../pipeline/report-surveys.js';
import { scheduleJob } from '../store/jobs.js';
import type { Collections } from '../store/store.port.js';
import type { JobHandler } from './job-scheduler.js';
import { jobOutcomeOf as outcomeOf, type ResidentNotifier } from './resident-notifier.js';
import { busyUntil } from './resident-busy.js';

/** The report's job: FIX_SURVEY_DAYS after it was fixed or closed, ask everyone who hears about it. Payload: `ref`. */
export const FIX_SURVEY_JOB = 'fix_survey';
/** One resident's question about one report. Payload: `ref`. */
export const FIX_SURVEY_ASK_JOB = 'fix_survey_ask';

const DAY_MS = 86_400_000;
/** How long a reply answers the question: a week, for residents who read messages late. */
export const FIX_SURVEY_ANSWER_MS = 7 * DAY_MS;

/**
 * Schedules the report's "is it fixed?" `days` after `now`, when it is fixed or closed now and
 * the question is on (`days` > 0). Called when its status changes; the same report's job is one
 * job, so a status saved twice schedules nothing new.
 */
export async function scheduleFixSurvey(
  store: Pick<Collections, 'jobs'>,
  report: Pick<ReportRecord, '_id' | 'status'>,
  now: Date,
  days: number,
): Promise<void> {
  if (days <= 0 || !isSurveyed(report)) return;
  await scheduleJob(
    store,
    { id: `${FIX_SURVEY_JOB}|${report._id}`, kind: FIX_SURVEY_JOB, dueAt: new Date(now.getTime() + days * DAY_MS), payload: { ref: report._id } },
    now,
  );
}

/** What the survey's jobs need. */
export interface FixSurveyJobDeps {
  store: Pick<Collections, 'jobs' | 'reports' | 'reportFollowers' | 'conversations'>;
  notifier: ResidentNotifier;
  /** After this long away a resident's flow is asked about anyway ("continue?"): it no longer counts as in the middle. */
  config: Pick<Config, 'resumePromptAfterMs'>;
  now?: () => Date;
}

/** The handlers of the survey's job kinds, by kind. */
export function fixSurveyJobHandlers(deps: FixSurveyJobDeps): Record<string, JobHandler> {
  const now = deps.now ?? (() => new Date());
  const { store, notifier } = deps;

  return {
    [FIX_SURVEY_JOB]: {
      async run(job) {
        const report = await store.reports.get(String(job.payload.ref ?? ''));
        if (!report || !isSurveyed(report)) return { state: 'done' };
        const at = now();
        for (const address of await reportAudience(store, report)) {
          // Once ever per resident and report: a second fix asks only those never asked.
          await scheduleJob(
            store,
            { id: askJobId(report._id, address), kind: FIX_SURVEY_ASK_JOB, dueAt: at, address, payload: { ref: report._id }, once: true },
            at,
          );
        }
        return { state: 'done' };
      },
    },

    [FIX_SURVEY_ASK_JOB]: {
      quietHours: true,
      async run(job) {
        const report = await store.reports.get(String(job.payload.ref ?? ''));
        // Reopened since (by staff, or another resident's "no"): there is nothing to ask.
        if (!report || !isSurveyed(report) || !job.address) return { state: 'done' };
        const busy = await busyUntil(deps, job.address, now().getTime());
        if (busy !== null) return { state: 'later', dueAt: new Date(busy) };
        const outcome = await notifier.notify(job.address, {
          purpose: 'notification',
          key: job._id,
          compose: (_locale, t) => {
            const category = t(`category.${report.category}`);
            const place = report.location.text;
            return [
              {
                kind: 'text',
                text: t('fix_survey.ask', { ref: report._id, what: place ? t('fix_survey.what_at', { category, place }) : category }),
                // Buttons, or "1. Yes 2. No / Reply 1-2." on SMS: the same answers the engine reads.
                choices: [
                  { id: 'yes', label: t('choice.yes') },
                  { id: 'no', label: t('choice.no') },
                ],
              },
            ];
          },
          followUp: (sentAt) => ({ kind: 'fix_survey', ref: report._id, category: String(report.category), sentAt, until: sentAt + FIX_SURVEY_ANSWER_MS }),
        });
        return outcomeOf(outcome);
      },
    },
  };
}

/** The id of one resident's question about one report: asked once ever. */
export function askJobId(reportId: string, address: string): string {
  return `${FIX_SURVEY_ASK_JOB}|${reportId}|${address}`;
}
