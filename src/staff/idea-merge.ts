/**
 * Merging two ideas (issue 21): staff keep one idea and merge a similar one into it. The
 * merged idea points to the kept one (`mergedInto`) and is no longer listed, supported or
 * counted; its supporters, and its author, become supporters of the kept idea (each resident
 * once: a support is `<ideaId>|<address>`; the kept idea's author is not their own supporter);
 * and everyone involved is told once, in their language.
 *
 * Like report merges (src/staff/report-merge.ts), the staff request only marks the merge and
 * schedules a job; the job settles the supports (a page at a time, each an insert-if-absent, so
 * a run cut off half-way completes on the next) and then schedules one notice job per resident
 * (`once`, and the message keyed by merge and resident), so thousands of supporters never ride
 * in a staff request and nobody hears twice. A merge run again is completed, not refused.
 */
import { recountSupport } from '../pipeline/idea-support.js';
import { shownToResidents } from '../domain/idea-visibility.js';
import type { SendOutcome } from '../channels/channel.js';
import type { IdeaRecord } from '../domain/records.js';
import { findEvery } from '../store/find-every.js';
import { scheduleJob } from '../store/jobs.js';
import type { Collections } from '../store/store.port.js';
import { recordAudit } from './audit-log.js';
import type { JobHandler } from './job-scheduler.js';
import type { Notification, ResidentNotifier } from './resident-notifier.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** Settles a merge's supports and schedules its notices. Payload: `keptId`, `mergedId`. */
export const IDEA_MERGED_JOB = 'idea_merged';
/** Tells one resident about a merge. Payload: `keptId`, `mergedId`, `as`. */
export const IDEA_MERGED_NOTICE_JOB = 'idea_merged_notice';

const WRITE_ATTEMPTS = 5;

/** What a merge did. */
export interface IdeaMergeResult {
  kept: IdeaRecord;
  merged: IdeaRecord;
  /** The merged idea was merged into the kept one before this call (a retry). */
  already: boolean;
}

/**
 * Merges `mergedRef` into `keepRef` (see the module comment). Refused (StaffError 409, saying
 * what to do instead) for one idea twice, a kept idea merged or hidden itself, a merged idea
 * merged elsewhere, or one others were merged into (no chains). A merge made already is
 * completed again: safe to retry.
 */
export async function mergeIdeas(
  deps: Pick<StaffDeps, 'store' | 'jobs'>,
  keepRef: string,
  mergedRef: string,
  actor: Actor,
  now: Date = new Date(),
): Promise<IdeaMergeResult> {
  const { store } = deps;
  const [keepId, mergedId] = [keepRef.toUpperCase(), mergedRef.toUpperCase()];
  if (keepId === mergedId) throw new StaffError(409, `${keepId} cannot be merged into itself`);
  const kept = await store.ideas.get(keepId);
  if (!kept) throw new StaffError(404, `No idea ${keepRef}`);
  const retry = (await store.ideas.get(mergedId))?.mergedInto === keepId;
  if (kept.mergedInto && !retry) throw new StaffError(409, `${kept._id} was merged into ${kept.mergedInto}: merge into ${kept.mergedInto} instead`);
  if (kept.moderation?.state === 'hidden' && !retry) throw new StaffError(409, `${kept._id} is hidden: restore it first, or merge into another idea`);

  // The job first: a crash right after marking the idea merged still has it settled and told.
  const job = { id: `${IDEA_MERGED_JOB}|${mergedId}|${keepId}`, kind: IDEA_MERGED_JOB, dueAt: now, payload: { keptId: keepId, mergedId } };
  let merged: IdeaRecord | null = null;
  let already = false;
  let scheduled = false;
  let termsBefore: string[] | undefined;
  for (let attempt = 0; attempt < WRITE_ATTEMPTS && !merged; attempt++) {
    const current = await store.ideas.get(mergedId);
    if (!current) throw new StaffError(404, `No idea ${mergedRef}`);
    if (current.mergedInto === keepId) {
      merged = current;
      already = true;
      break;
    }
    if (current.mergedInto) throw new StaffError(409, `${current._id} was merged into ${current.mergedInto} already`);
    const into = await store.ideas.find({ field: 'mergedInto', equals: current._id }, { limit: 1 });
    if (into.length > 0)
      throw new StaffError(409, `${into[0]!._id} was merged into ${current._id}: merge ${kept._id} into ${current._id} instead, so that they stay together`);
    if (!scheduled) scheduled = await scheduleJob(store, job, now);
    // Offered to nobody as a similar idea any more: its terms leave the index.
    const { similarTerms, ...rest } = current;
    const next: IdeaRecord = { ...rest, mergedInto: keepId };
    if (await store.ideas.replace(next, current._rev)) {
      merged = { ...next, _rev: current._rev + 1 };
      termsBefore = similarTerms;
    }
  }
  if (!merged) throw new Error('Idea kept changing while it was merged');
  if (!already) {
    // The checks above read the other ideas before the write, so a merge made meanwhile by someone
    // else (B into A while this is A into B, C into this one, this kept one into another) passed
    // them. Looked at again now that this merge is written: of two such merges at least one sees
    // the other, and gives way (undone, 409), so no cycle hides both ideas from residents and no
    // chain strands supporters on a merged idea.
    const [keptNow, into] = await Promise.all([store.ideas.get(keepId), store.ideas.find({ field: 'mergedInto', equals: mergedId }, { limit: 1 })]);
    const conflict = !keptNow
      ? `${keepId} is gone`
      : keptNow.mergedInto
        ? `${keepId} was merged into ${keptNow.mergedInto} meanwhile: merge into ${keptNow.mergedInto} instead`
        : into[0]
          ? `${into[0]._id} was merged into ${mergedId} meanwhile: merge ${keepId} into ${mergedId} instead, so that they stay together`
          : null;
    if (conflict) {
      await undoMerge(store, mergedId, keepId, termsBefore);
      throw new StaffError(409, conflict);
    }
  }
  // A retry: pending again if it ran already (it tells nobody twice: one notice job per resident, once).
  if (already) await scheduleJob(store, job, now);
  deps.jobs.kick();
  await recordAudit(store, { actor: actor.username, action: 'idea.merge', target: merged._id, details: { into: kept._id, retry: already } }, now);
  return { kept, merged, already };
}

/**
 * Takes back a merge that gave way to another made at the same time: the merged idea is listed
 * again, with its similar-ideas terms (its job then finds it not merged and does nothing).
 */
async function undoMerge(store: Pick<Collections, 'ideas'>, mergedId: string, keepId: string, terms: string[] | undefined): Promise<void> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await store.ideas.get(mergedId);
    if (!current || current.mergedInto !== keepId) return;
    const { mergedInto: _into, ...rest } = current;
    if (await store.ideas.replace({ ...rest, ...(terms ? { similarTerms: terms } : {}) }, current._rev)) return;
  }
  throw new Error('Idea kept changing while its merge was undone');
}

/** Who a resident was to the merged idea, for the words they get. */
type MergeRole = 'supporter' | 'author' | 'own';

/**
 * Copies the merged idea's supports, and its author, to the kept idea (each an insert-if-absent
 * named by idea and resident: once each however often it runs). Returns everyone to tell.
 */
export async function settleIdeaMerge(
  store: Pick<Collections, 'ideaSupports'>,
  kept: Pick<IdeaRecord, '_id' | 'authorAddress'>,
  merged: Pick<IdeaRecord, '_id' | 'authorAddress' | 'createdAt'>,
): Promise<Map<string, MergeRole>> {
  const involved = new Map<string, MergeRole>();
  const support = async (address: string, at: Date) => {
    // The kept idea's author already counts as its own; nobody supports their own idea.
    if (address === kept.authorAddress) return;
    await store.ideaSupports.insert({ _id: `${kept._id}|${address}`, ideaId: kept._id, address, at, mergedFrom: merged._id });
  };
  // Every support, a page at a time (findEvery): a page ending among supports made at one
  // instant used to end the reading there, and the supporters after it were neither copied nor told.
  for (const record of await findEvery(store.ideaSupports, { field: 'ideaId', equals: merged._id }, (each) => each.at)) {
    await support(record.address, record.at);
    involved.set(record.address, record.address === kept.authorAddress ? 'own' : 'supporter');
  }
  await support(merged.authorAddress, merged.createdAt);
  involved.set(merged.authorAddress, merged.authorAddress === kept.authorAddress ? 'own' : 'author');
  return involved;
}

/** The key of one resident's message about one merge. */
export function ideaMergeNoticeKey(mergedId: string, address: string): string {
  return `idea-merged|${mergedId}|${address}`;
}

/** The message about a merge, in the resident's language. */
export function ideaMergeNotice(kept: Pick<IdeaRecord, '_id' | 'title'>, mergedId: string, as: MergeRole, key: string): Notification {
  return {
    purpose: 'notification',
    key,
    compose: (_locale, t) => [{ kind: 'text', text: t(`notify.idea_merged_${as}`, { merged: mergedId, kept: kept._id, title: kept.title }) }],
  };
}

/**
 * The merge's jobs: the first settles the supports (again: a merge cut off half-way completes
 * here) and schedules one notice per resident; each notice tells its resident once. Residents
 * who cannot be reached (opted out, deleted their data) are skipped by the notifier.
 */
export function ideaMergeJobHandlers(deps: {
  store: Pick<Collections, 'ideas' | 'ideaSupports' | 'jobs' | 'broadcasts' | 'audit'>;
  notifier: ResidentNotifier;
  /** IDEA_SUPPORT_THRESHOLD: the kept idea's count is recounted, and may reach it. */
  supportThreshold: number;
  now?: () => Date;
}): Record<string, JobHandler> {
  return {
    [IDEA_MERGED_JOB]: {
      async run(job) {
        const [kept, merged] = await Promise.all([
          deps.store.ideas.get(String(job.payload.keptId ?? '')),
          deps.store.ideas.get(String(job.payload.mergedId ?? '')),
        ]);
        // Scheduled before a merge that then lost a race, or an idea is gone (erased): nothing to do.
        if (!kept || !merged || merged.mergedInto !== kept._id) return { state: 'done' };
        const involved = await settleIdeaMerge(deps.store, kept, merged);
        const now = deps.now?.() ?? new Date();
        // The kept idea's supporters count (popular ideas, thresholds) takes the merged supports in.
        await recountSupport(deps.store, kept._id, now, deps.supportThreshold);
        for (const [address, as] of involved)
          await scheduleJob(
            deps.store,
            {
              id: `${IDEA_MERGED_NOTICE_JOB}|${merged._id}|${address}`,
              kind: IDEA_MERGED_NOTICE_JOB,
              dueAt: now,
              address,
              payload: { keptId: kept._id, mergedId: merged._id, as },
              once: true,
            },
            now,
          );
        return { state: 'done' };
      },
    },
    [IDEA_MERGED_NOTICE_JOB]: {
      // Not something the resident asked for: it waits for quiet hours to end.
      quietHours: true,
      async run(job) {
        const address = job.address;
        const kept = await deps.store.ideas.get(String(job.payload.keptId ?? ''));
        const mergedId = String(job.payload.mergedId ?? '');
        // Hidden since the merge (reported while this waited out quiet hours, or by staff): its
        // title is not sent to residents who can no longer see it.
        if (!address || !kept || !shownToResidents(kept)) return { state: 'done' };
        const as = (['supporter', 'author', 'own'] as const).find((role) => role === job.payload.as) ?? 'supporter';
        const outcome: SendOutcome = await deps.notifier.notify(address, ideaMergeNotice(kept, mergedId, as, ideaMergeNoticeKey(mergedId, address)));
        if (outcome.state === 'failed' && outcome.retryable) return { state: 'failed', error: outcome.error, retryable: true };
        return { state: 'done' };
      },
    },
  };
}

/** What the staff pages and API show about merging on one idea. */
export interface IdeaMergeInfo {
  mergedInto?: Pick<IdeaRecord, '_id' | 'title'>;
  /** The ideas merged into it, oldest first. */
  mergedHere: Pick<IdeaRecord, '_id' | 'title' | 'createdAt'>[];
}

/** The ideas merged into an idea, and the one it was merged into. */
export async function ideaMergeInfo(store: Pick<Collections, 'ideas'>, idea: IdeaRecord): Promise<IdeaMergeInfo> {
  const [into, here] = await Promise.all([
    idea.mergedInto ? store.ideas.get(idea.mergedInto) : null,
    store.ideas.find({ field: 'mergedInto', equals: idea._id }, { order: 'asc', limit: 500 }),
  ]);
  return {
    ...(into ? { mergedInto: { _id: into._id, title: into.title } } : {}),
    mergedHere: here.map(({ _id, title, createdAt }) => ({ _id, title, createdAt })),
  };
}
