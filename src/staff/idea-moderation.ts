/**
 * The ideas moderation queue (issue 21): ideas residents reported ("report I-7K3QX", see
 * src/pipeline/idea-reports.ts), those hidden by enough reports, and those staff hid; with
 * how many residents reported each and why (never who). Staff hide or restore an idea with a
 * note, audited. A hidden idea is never shown to residents nor counted (src/domain/idea-visibility.ts).
 */
import { thresholdOf } from '../pipeline/idea-support.js';
import { IDEA_REPORT_REASONS, type IdeaRecord, type IdeaReportReason } from '../domain/records.js';
import type { Collections } from '../store/store.port.js';
import { recordAudit } from './audit-log.js';
import type { IdeaWithSupport } from './idea-desk.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** The most reports of one idea read for its reasons, and the most "other" texts shown. */
const REPORTS_READ = 1000;
const TEXTS_SHOWN = 20;
/** The most ideas each part of the queue shows. */
const QUEUE_READ = 500;
const WRITE_ATTEMPTS = 5;

/** What residents' reports of an idea say: counts by reason and the "other" reasons' words. */
export interface IdeaReportSummary {
  total: number;
  byReason: Record<IdeaReportReason, number>;
  /** Residents' own words for `other`, newest first (staff pages escape them). */
  texts: string[];
}

/** An idea in the moderation queue. */
export interface ModeratedIdea extends IdeaWithSupport {
  reportSummary: IdeaReportSummary;
}

/** The queue: ideas awaiting a decision (reported, or hidden by reports), and those staff hid. */
export interface ModerationQueue {
  review: ModeratedIdea[];
  hidden: ModeratedIdea[];
}

/** How many residents reported an idea and why; no reporter's address. */
export async function ideaReportSummary(store: Pick<Collections, 'ideaReports'>, ideaId: string): Promise<IdeaReportSummary> {
  const reports = await store.ideaReports.find({ field: 'ideaId', equals: ideaId }, { order: 'desc', limit: REPORTS_READ });
  const byReason = Object.fromEntries(IDEA_REPORT_REASONS.map((reason) => [reason, 0])) as Record<IdeaReportReason, number>;
  for (const report of reports) byReason[report.reason] += 1;
  const texts = reports.flatMap((report) => (report.text ? [report.text] : [])).slice(0, TEXTS_SHOWN);
  return { total: reports.length, byReason, texts };
}

/** The moderation queue, each part newest first. */
export async function moderationQueue(deps: Pick<StaffDeps, 'store' | 'config'>): Promise<ModerationQueue> {
  const { store } = deps;
  const part = async (state: 'review' | 'hidden'): Promise<ModeratedIdea[]> => {
    const ideas = await store.ideas.find({ field: 'moderationQueue', equals: state }, { order: 'desc', limit: QUEUE_READ });
    return Promise.all(
      ideas.map(async (idea) => ({
        ...idea,
        supports: await store.ideaSupports.count({ field: 'ideaId', equals: idea._id }),
        threshold: thresholdOf(idea, deps.config.ideaSupportThreshold),
        reportSummary: await ideaReportSummary(store, idea._id),
      })),
    );
  };
  const [review, hidden] = await Promise.all([part('review'), part('hidden')]);
  return { review, hidden };
}

/** A staff decision: hide or restore, with why (required: the audit log and the next reader need it). */
export interface ModerationDecision {
  action: 'hide' | 'restore';
  note: string;
  /**
   * The idea's moderation as the decider saw it (`moderationSeen`): when it changed since (a
   * colleague decided, reports hid it), the decision is refused (409) rather than undo what they
   * did not see. Without it, the latest is changed.
   */
  seen?: string;
}

/** An idea's moderation as a short text a form carries back: its state and when it was set, or `none`. */
export function moderationSeen(idea: Pick<IdeaRecord, 'moderation'>): string {
  return idea.moderation ? `${idea.moderation.state}@${idea.moderation.at.getTime()}` : 'none';
}

/**
 * Hides or restores an idea, out of the queue's review part either way. Hiding removes its
 * similar-ideas terms (nobody is offered it); restoring makes it visible again, and reports no
 * longer hide it by themselves (they put it back in review). Revision-checked; audited.
 */
export async function moderateIdea(
  deps: Pick<StaffDeps, 'store' | 'runner'>,
  ref: string,
  decision: ModerationDecision,
  actor: Actor,
  now: Date = new Date(),
): Promise<IdeaRecord> {
  const { store } = deps;
  const note = decision.note.trim();
  if (!note) throw new StaffError(400, 'A note is required: say why');
  if (decision.action !== 'hide' && decision.action !== 'restore') throw new StaffError(400, 'action must be hide or restore');
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await store.ideas.get(ref.toUpperCase());
    if (!current) throw new StaffError(404, `No idea ${ref}`);
    if (decision.seen !== undefined && decision.seen !== moderationSeen(current)) {
      const was = current.moderation;
      throw new StaffError(
        409,
        `${current._id} was ${was ? `${was.state} by ${was.by === 'system' ? 'reports' : was.by}` : 'changed'} since the page was loaded: look again before deciding`,
      );
    }
    const moderation = {
      state: decision.action === 'hide' ? ('hidden' as const) : ('restored' as const),
      reason: 'staff' as const,
      by: actor.username,
      at: now,
      note,
    };
    const { similarTerms: _terms, moderationQueue: _queued, ...rest } = current;
    const next: IdeaRecord =
      decision.action === 'hide'
        ? { ...rest, moderation, moderationQueue: 'hidden' }
        : // Restored: offered again as a similar idea (hiding deleted its terms); a merged idea stays
          // merged, and is offered to nobody, whatever staff decide.
          { ...rest, moderation, ...deps.runner.similarTermsFor({ ...rest, moderation }) };
    if (await store.ideas.replace(next, current._rev)) {
      await recordAudit(
        store,
        { actor: actor.username, action: `idea.${decision.action}`, target: current._id, details: { reports: current.reports ?? 0, note: true } },
        now,
      );
      return { ...next, _rev: current._rev + 1 };
    }
  }
  throw new Error('Idea kept changing while it was moderated');
}
