/**
 * The staff inbox's job kinds (run by job-scheduler.ts): a person's reply, a person handing the
 * conversation back, and the idle check that hands it back when nobody has written for
 * HANDOFF_IDLE_MINUTES. Each tells the resident through the notifier with the job's id as its
 * key (the idle check's with the moment it found idle, as it runs again for the same request):
 * sent once, in their language, recorded in their transcript; and each moves the conversation's
 * follow-ups (a reply holds it for the person, a hand-back ends the hold).
 */
import type { Config } from '../config.js';
import type { SendOutcome } from '../channels/channel.js';
import type { JobRecord } from '../domain/records.js';
import { HANDOFF_IDLE_JOB, updateHandoff } from '../pipeline/handoff-requests.js';
import type { Collections } from '../store/store.port.js';
import type { JobHandler, JobOutcome } from './job-scheduler.js';
import type { ResidentNotifier } from './resident-notifier.js';

/** A person's reply from the inbox. Payload: `ref`, `text`, `staff` (username). */
export const STAFF_REPLY_JOB = 'staff_reply';
/** A person handed the conversation back to the bot. Payload: `ref`. */
export const HANDOFF_END_JOB = 'handoff_end';

/** What the inbox's jobs need. */
export interface HandoffJobDeps {
  store: Pick<Collections, 'handoffs' | 'jobs'>;
  notifier: ResidentNotifier;
  config: Pick<Config, 'handoffIdleMs'>;
  /** How long a person's hold on the conversation lasts in the engine (EngineEnv.handoffHoldMs). */
  holdMs: number;
  now?: () => Date;
}

/** The handlers of the inbox's job kinds, by kind. */
export function handoffJobHandlers(deps: HandoffJobDeps): Record<string, JobHandler> {
  const now = deps.now ?? (() => new Date());
  const { notifier, store } = deps;

  return {
    [STAFF_REPLY_JOB]: {
      async run(job) {
        const text = String(job.payload.text ?? '');
        const staff = String(job.payload.staff ?? 'staff');
        if (!job.address || !text) return { state: 'failed', error: 'nothing to send', retryable: false };
        const outcome = await notifier.notify(job.address, {
          purpose: 'notification',
          key: job._id,
          compose: () => [{ kind: 'text', text }],
          // The person holds the conversation: the resident's next messages are theirs.
          followUp: (sentAt) => ({ kind: 'staff_conversation', ref: 'inbox', sentAt, until: sentAt + deps.holdMs }),
          staff,
        });
        return outcomeOf(outcome);
      },
    },

    [HANDOFF_END_JOB]: {
      async run(job) {
        return tellBotIsBack(job, 'handoff.handed_back', job._id);
      },
    },

    [HANDOFF_IDLE_JOB]: {
      /**
       * Nobody wrote for HANDOFF_IDLE_MINUTES: the bot takes the conversation back and says so.
       * An answered request is closed; one nobody answered stays in the inbox (a person may
       * still write, which takes the conversation again), and the resident is told that too.
       */
      async run(job) {
        const ref = String(job.payload.ref ?? '');
        const [handoff] = await store.handoffs.find({ field: 'ref', equals: ref }, { limit: 1 });
        if (!handoff || handoff.status !== 'open') return { state: 'done' };
        const lastActivity = (handoff.lastActivityAt ?? handoff.at).getTime();
        const idleUntil = lastActivity + deps.config.handoffIdleMs;
        if (idleUntil > now().getTime()) return { state: 'later', dueAt: new Date(idleUntil) };
        // The idle check's id is the request's, scheduled again whenever a person replies: the
        // notifier's key names this idle moment too, or a second hand-back of the same request
        // would count as sent already (no message, and the hold left in place).
        const key = `${job._id}|${lastActivity}`;
        if (!handoff.answeredAt) return tellBotIsBack(job, 'handoff.idle_unanswered', key);
        const at = now();
        const closed = await updateHandoff(store, handoff._id, (current) =>
          current.status === 'open' && (current.lastActivityAt ?? current.at).getTime() === lastActivity
            ? { ...current, status: 'closed', closedAt: at, closedBy: 'idle' }
            : null,
        );
        // Someone wrote (or staff closed it) between the read and the close: look again, rather
        // than tell the resident the bot is back while a person still has the conversation.
        if (!closed) return { state: 'later', dueAt: at };
        return tellBotIsBack(job, 'handoff.idle_handed_back', key);
      },
    },
  };

  /** Tells the resident the bot is back, ending the person's hold on the conversation; once per `key`. */
  async function tellBotIsBack(job: JobRecord, messageKey: string, key: string): Promise<JobOutcome> {
    if (!job.address) return { state: 'done' };
    const outcome = await notifier.notify(job.address, {
      purpose: 'notification',
      key,
      compose: (_locale, t) => [{ kind: 'text', text: t(messageKey) }],
      endsFollowUps: ['staff_conversation'],
    });
    return outcomeOf(outcome);
  }
}

/** A send's outcome as a job's: a resident who cannot be reached is a failure staff see, not a retry. */
function outcomeOf(outcome: SendOutcome): JobOutcome {
  switch (outcome.state) {
    case 'sent':
    case 'outbox':
      return { state: 'done' };
    case 'skipped':
      return { state: 'failed', error: `not sent: ${outcome.reason}`, retryable: false };
    case 'failed':
      return { state: 'failed', error: outcome.error, retryable: outcome.retryable && !outcome.interrupted };
  }
}
