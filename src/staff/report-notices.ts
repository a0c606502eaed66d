/**
 * What residents hear when a report changes (issue 18): its reporter at once, in the staff
 * member's request, and its followers through a job (a report a street follows must not ride in
 * one staff request). The first time a report is fixed, everyone behind it is thanked, by name
 * where we know it, with how many neighbours reported or followed it: once, since `fixedAt` is
 * set only the first time (a report reopened and fixed again is told, not thanked again).
 */
import type { SendOutcome } from '../channels/channel.js';
import type { FollowUp } from '../engine/types.js';
import type { ReportRecord } from '../domain/records.js';
import { reportAudience } from '../pipeline/report-followers.js';
import { scheduleJob } from '../store/jobs.js';
import type { Collections } from '../store/store.port.js';
import type { JobHandler } from './job-scheduler.js';
import type { Notification, ResidentNotifier } from './resident-notifier.js';

/**
 * Tells a report's followers of an update, and its reporter when `withReporter` (Love Your Block's
 * closing of many reports). Payload: `reportId`, `updateId`, `status`, `note`?, `firstFix`,
 * `followUpHours`, `quiet`? (addresses not told), `volunteers`? (a VolunteerCredit), `withReporter`?.
 */
export const REPORT_FOLLOWERS_JOB = 'report_followers_update';

/** One update of a report, as told to residents. */
export interface ReportNotice {
  report: Pick<ReportRecord, '_id' | 'category'>;
  /** The update record's id: with the resident, the key that makes each message once. */
  updateId: string;
  status: string;
  note?: string | undefined;
  /** The report reached the fixed group for the first time with this update: thank them. */
  firstFix: boolean;
  /** Residents behind the report (its reporter and followers), for the thanks. */
  residents: number;
  /** How long a reply to the update is added to the report (REPORT_FOLLOW_UP_HOURS). */
  followUpHours: number;
  /** Residents not told of it: told of the same work with another report (Love Your Block). */
  quiet?: readonly string[] | undefined;
  /** Volunteers of this role did the work: said in the resident's language, in place of the staff note. */
  volunteers?: VolunteerCredit | undefined;
  /** The job tells the reporter too (a change among many: nothing is sent inside the staff request). */
  withReporter?: boolean | undefined;
}

/** The role whose volunteers fixed a report, as residents are told of it: its title per language. */
export interface VolunteerCredit {
  roleId: string;
  title: string;
  /** The title in other languages, by locale. */
  titles?: Record<string, string>;
}

/**
 * The notification for one resident: the reporter may reply to add to the report (the
 * `report_update` follow-up); a follower hears the same news about "a report you follow".
 */
export function reportNotice(notice: ReportNotice, as: 'reporter' | 'follower', key: string): Notification {
  const { report, status, note } = notice;
  return {
    purpose: 'status_update',
    key,
    compose: (locale, t, resident) => {
      const vars = { ref: report._id, category: t(`category.${report.category}`), status: t(`status.${status}`) };
      const lines = notice.firstFix
        ? [
            t(resident.name ? 'notify.report_fixed_thanks_named' : 'notify.report_fixed_thanks', { ...vars, name: resident.name ?? '' }),
            ...(notice.residents > 1 ? [t('notify.report_fixed_neighbours', { count: notice.residents - 1 })] : []),
          ]
        : [t(as === 'reporter' ? 'notify.report_status' : 'notify.report_status_follower', vars)];
      const credit = notice.volunteers;
      if (credit) lines.push(t('notify.report_fixed_by_volunteers', { role: credit.roleId, title: credit.titles?.[locale] ?? credit.title }));
      else if (note) lines.push(t('notify.report_note', { note }));
      if (as === 'reporter') lines.push(t('notify.report_reply_hint'));
      return [{ kind: 'text', text: lines.join('\n') }];
    },
    ...(as === 'reporter'
      ? {
          followUp: (sentAt: number): FollowUp => ({
            kind: 'report_update',
            ref: report._id,
            category: String(report.category),
            sentAt,
            until: sentAt + notice.followUpHours * 3_600_000,
          }),
        }
      : {}),
  };
}

/** Schedules telling the followers of a report about an update (nothing when it has none). */
export async function scheduleFollowerNotices(store: Pick<Collections, 'jobs' | 'reportFollowers'>, notice: ReportNotice, now: Date): Promise<boolean> {
  if (notice.residents <= 1 && !notice.withReporter) return false;
  return scheduleJob(
    store,
    {
      id: `${REPORT_FOLLOWERS_JOB}|${notice.updateId}`,
      kind: REPORT_FOLLOWERS_JOB,
      dueAt: now,
      payload: {
        reportId: notice.report._id,
        category: String(notice.report.category),
        updateId: notice.updateId,
        status: notice.status,
        ...(notice.note ? { note: notice.note } : {}),
        firstFix: notice.firstFix,
        residents: notice.residents,
        followUpHours: notice.followUpHours,
        ...(notice.quiet?.length ? { quiet: [...notice.quiet] } : {}),
        ...(notice.volunteers ? { volunteers: notice.volunteers } : {}),
        ...(notice.withReporter ? { withReporter: true } : {}),
      },
    },
    now,
  );
}

/** Whether a job payload's value is a volunteer credit (payloads are stored data: read them with care). */
function isCredit(value: unknown): value is VolunteerCredit {
  const credit = value as Partial<VolunteerCredit> | null;
  return typeof credit === 'object' && credit !== null && typeof credit.roleId === 'string' && typeof credit.title === 'string';
}

/** The key of one follower's message about one update. */
export function followerNoticeKey(updateId: string, address: string): string {
  return `report-update|${updateId}|${address}`;
}

/**
 * The job that tells every follower (not the reporter, told already by the staff request, unless
 * the payload says `withReporter`). Each message has its own
 * key, so a run that died half-way sends the rest and never one twice; a follower who cannot be
 * reached (opted out, channel off) is skipped, as a broadcast skips them.
 */
export function reportNoticeJobHandlers(deps: {
  store: Pick<Collections, 'reports' | 'reportFollowers'>;
  notifier: ResidentNotifier;
}): Record<string, JobHandler> {
  return {
    [REPORT_FOLLOWERS_JOB]: {
      async run(job) {
        const p = job.payload;
        const report = await deps.store.reports.get(String(p.reportId ?? ''));
        if (!report) return { state: 'done' };
        const notice: ReportNotice = {
          report,
          updateId: String(p.updateId),
          status: String(p.status),
          ...(typeof p.note === 'string' ? { note: p.note } : {}),
          firstFix: p.firstFix === true,
          residents: Number(p.residents) || 1,
          followUpHours: Number(p.followUpHours) || 0,
          ...(isCredit(p.volunteers) ? { volunteers: p.volunteers } : {}),
        };
        const quiet = new Set(Array.isArray(p.quiet) ? p.quiet.map(String) : []);
        const withReporter = p.withReporter === true;
        const residents = (await reportAudience(deps.store, report)).filter(
          (address) => (withReporter || address !== report.residentAddress) && !quiet.has(address),
        );
        const failures: string[] = [];
        for (const address of residents) {
          // The reporter's key is the one the staff request would have used: told once either way.
          const message =
            address === report.residentAddress
              ? reportNotice(notice, 'reporter', `report-update|${notice.updateId}`)
              : reportNotice(notice, 'follower', followerNoticeKey(notice.updateId, address));
          const outcome: SendOutcome = await deps.notifier.notify(address, message);
          if (outcome.state === 'failed' && outcome.retryable) failures.push(outcome.error);
        }
        // A channel that failed for some: the run again sends only to those (the rest are keyed as sent).
        if (failures.length > 0) return { state: 'failed', error: `${failures.length} follower(s) not reached: ${failures[0]}`, retryable: true };
        return { state: 'done' };
      },
    },
  };
}
