/**
 * Tells a resident something on the city's initiative (a report's new status, an answer to
 * their idea, a waitlist promotion, a volunteer call): in their language, on the channel they
 * used, never to a resident who opted out, recorded in their conversation, sent once per key.
 */
import type { Reply } from '../core/message.js';
import type { TurnPipeline } from '../pipeline/turn-pipeline.js';
import type { Translator } from '../core/i18n.js';
import type { FollowUp } from '../engine/types.js';
import type { Collections } from '../store/store.port.js';
import type { OutboundPurpose, SendOutcome } from '../channels/channel.js';
import { channelOf, type ResidentMessenger } from '../channels/resident-messenger.js';
import type { JobOutcome } from './job-scheduler.js';

/** What to tell, and how. */
export interface Notification {
  purpose: OutboundPurpose;
  /** Makes it once: the same key is never sent twice (a retried action, a restarted worker). */
  key: string;
  /** The replies in the resident's language; `resident` is what a message may greet them with. */
  compose(locale: string, t: (key: string, vars?: Record<string, string | number>) => string, resident: { name?: string }): Reply[];
  /** What a reply to it may answer, given when it was sent. */
  followUp?(sentAt: number): FollowUp;
  /** Follow-ups it ends (a person handing back ends their hold on the conversation). */
  endsFollowUps?: readonly FollowUp['kind'][];
  /** A person wrote it from the staff inbox: their display name, kept in the transcript. */
  staff?: string;
  /**
   * A broadcast to a resident because they reported or follow one of its reports (Love Your
   * Block): sent without the volunteer-calls opt-in, which other broadcasts need (opt-outs apply).
   */
  toReportResident?: boolean;
}

/** Sends notifications to residents. */
export interface ResidentNotifier {
  notify(address: string, notification: Notification): Promise<SendOutcome>;
}

/** The parts a notifier needs. */
export interface NotifierDeps {
  store: Collections;
  i18n: Translator;
  pipeline: TurnPipeline;
  messenger: ResidentMessenger;
  cityName: string;
}

/** Builds the notifier. */
export function createResidentNotifier(deps: NotifierDeps): ResidentNotifier {
  const { store, i18n, pipeline, messenger } = deps;
  return {
    async notify(address, notification) {
      const channel = channelOf(address);
      // A resident who deleted their data is no longer linked to anything (`deleted`).
      if (!channel) return { state: 'skipped', reason: 'no_resident' };
      const resident = await store.residents.get(address);
      if (!resident) return { state: 'skipped', reason: 'no_resident' };
      if (resident.optedOut) return { state: 'skipped', reason: 'opted_out' };
      // Checked at send time: a resident may turn calls off (or delete their data) after planning.
      if (notification.purpose === 'broadcast' && !notification.toReportResident && !resident.volunteerCalls)
        return { state: 'skipped', reason: 'not_opted_in' };
      if (!messenger.reaches(channel)) return { state: 'skipped', reason: 'channel_off' };
      const locale = i18n.locales.includes(resident.locale) ? resident.locale : i18n.defaultLocale;
      const replies = notification.compose(
        locale,
        (key, vars) => i18n.t(locale, key, { city: deps.cityName, ...vars }),
        resident.name ? { name: resident.name } : {},
      );
      const now = Date.now();
      // Recorded first: a crash after the send must not lose what a "yes" would answer.
      await pipeline.recordProactive(address, channel, replies, {
        key: notification.key,
        locale,
        at: new Date(now),
        ...(notification.followUp ? { followUp: notification.followUp(now) } : {}),
        ...(notification.endsFollowUps ? { endsFollowUps: notification.endsFollowUps } : {}),
        ...(notification.staff ? { staff: notification.staff } : {}),
      });
      return messenger.send(address, replies, { purpose: notification.purpose, key: notification.key, locale });
    },
  };
}

/**
 * A notification's send outcome as its job's: a resident who opted out (or left) is not told, and
 * that is done; a failure is retried when the channel says it may be, and not when the send was
 * cut off in the middle (it may have gone out: never twice).
 */
export function jobOutcomeOf(outcome: SendOutcome): JobOutcome {
  switch (outcome.state) {
    case 'sent':
    case 'outbox':
    case 'skipped':
      return { state: 'done' };
    case 'failed':
      return { state: 'failed', error: outcome.error, retryable: outcome.retryable && !outcome.interrupted };
  }
}
