/**
 * Residents reporting an idea as abusive (issue 21): "report I-7K3QX" with a reason. One report
 * per resident per idea (`<ideaId>|<address>`); when `IDEA_REPORTS_TO_HIDE` distinct residents
 * have reported an idea staff never decided on, it is hidden from residents until staff do, and
 * waits in the moderation queue (src/staff/idea-moderation.ts).
 *
 * The hide is a revision-checked write of the idea that sets `moderation` only where there was
 * none, so when the third and fourth reports arrive together exactly one of them hides it (and
 * audits it, as `system`); the other finds it hidden already and only updates the count.
 */
import { shownToResidents } from '../domain/idea-visibility.js';
import type { IdeaRecord, IdeaReportReason } from '../domain/records.js';
import type { Collections } from '../store/store.port.js';

/** What reporting an idea did. */
export type IdeaReportOutcome = 'reported' | 'already' | 'own' | 'not_found' | 'ready';

/** The longest "other" reason kept (a sentence, not an essay). */
export const IDEA_REPORT_TEXT_MAX = 500;

const WRITE_ATTEMPTS = 10;

/** The audit actor of the automatic hide. */
export const SYSTEM_ACTOR = 'system';

/**
 * Records one resident's report of an idea, and hides the idea when it reaches the threshold.
 * An idea residents cannot see (hidden, merged) is `not_found`; the author cannot report their
 * own. Without a reason it only says whether they may (`ready`), so the dialog asks why only then.
 */
export async function reportIdea(
  store: Pick<Collections, 'ideas' | 'ideaReports' | 'audit'>,
  input: { ref: string; reason?: IdeaReportReason | undefined; text?: string | undefined },
  scope: { address: string; now: Date },
  reportsToHide: number,
): Promise<IdeaReportOutcome> {
  const idea = await store.ideas.get(input.ref.toUpperCase());
  if (!idea || !shownToResidents(idea)) return 'not_found';
  if (idea.authorAddress === scope.address) return 'own';
  if (!input.reason) return (await store.ideaReports.get(`${idea._id}|${scope.address}`)) ? 'already' : 'ready';
  const text = input.reason === 'other' ? input.text?.trim().slice(0, IDEA_REPORT_TEXT_MAX) : undefined;
  const inserted = await store.ideaReports.insert({
    _id: `${idea._id}|${scope.address}`,
    ideaId: idea._id,
    address: scope.address,
    reason: input.reason,
    ...(text ? { text } : {}),
    at: scope.now,
  });
  // A retried message (or a second report) changes nothing, but the count is settled again:
  // the first attempt may have stopped between the report and the idea.
  await settleReports(store, idea._id, scope.now, reportsToHide);
  return inserted ? 'reported' : 'already';
}

/**
 * Writes an idea's report count and puts it in the moderation queue; hides it when the count
 * reaches the threshold and staff never decided on it. Idempotent.
 */
export async function settleReports(
  store: Pick<Collections, 'ideas' | 'ideaReports' | 'audit'>,
  ideaId: string,
  now: Date,
  reportsToHide: number,
): Promise<void> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await store.ideas.get(ideaId);
    if (!current) return;
    const reports = await store.ideaReports.count({ field: 'ideaId', equals: ideaId });
    if (reports === 0) return;
    const hide = reports >= reportsToHide && !current.moderation;
    // A new report asks staff to look (again, after they restored it); a rerun changes nothing.
    const grew = reports > (current.reports ?? 0);
    if (!hide && !grew) return;
    const { similarTerms: _offered, ...rest } = current;
    const next: IdeaRecord = {
      ...(hide ? rest : current),
      reports,
      moderationQueue: 'review',
      // A hidden idea is offered to nobody: it leaves the similar-ideas index with its terms.
      ...(hide ? { moderation: { state: 'hidden' as const, reason: 'reports' as const, by: SYSTEM_ACTOR, at: now } } : {}),
    };
    if (await store.ideas.replace(next, current._rev)) {
      if (hide)
        // Named after the idea and the revision hidden: a rerun that hid nothing adds nothing.
        await store.audit.insert({
          _id: `A-${now.getTime().toString(36)}-hide-${ideaId}-${current._rev}`,
          actor: SYSTEM_ACTOR,
          action: 'idea.hide',
          target: ideaId,
          details: { reason: 'reports', reports },
          kind: 'audit',
          at: now,
        });
      return;
    }
  }
  throw new Error('Idea kept changing while its reports were counted');
}
