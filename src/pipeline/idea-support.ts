/**
 * Ideas as residents see and support them (issue 21): the one reader of the ideas residents are
 * shown (`visibleIdeas`), a support that keeps the idea's supporter count, and the support
 * threshold that sends an idea to staff review and tells the residents behind it.
 *
 * Telling them is persisted work through the broadcast engine: a support only writes a broadcast
 * record (`ideaNoticeBroadcast`), whose deliveries the broadcast worker plans and sends in
 * batches, each once, with opt-outs and quiet hours applied. Its id is derived from the idea and
 * the event, so writing it twice (two supporters at once, a retried request) makes one broadcast.
 */
import { shownToResidents } from '../domain/idea-visibility.js';
import { createHash } from 'node:crypto';
import { REFERENCE_ALPHABET, REFERENCE_LENGTH } from '../domain/reference.js';
import type { BroadcastRecord, IdeaNotice, IdeaRecord } from '../domain/records.js';
import { foldForMatch } from '../engine/text.js';
import type { Collections } from '../store/store.port.js';

/**
 * The newest ideas a resident's list is made from, at most: one bounded read through the `kind`
 * index, then a filter and a sort in memory. "Popular ideas" are the most supported of these
 * (an idea older than the newest 500 is not listed, but can still be supported by reference).
 */
export const IDEA_BROWSE_READ = 500;

/** How a resident's list of ideas is ordered: newest first, or most supported first. */
export type IdeaOrder = 'newest' | 'popular';

/** What a resident asked to see. */
export interface IdeaBrowse {
  order: IdeaOrder;
  /** Only ideas for this neighbourhood (compared without case or accents). */
  neighbourhood?: string;
}

/**
 * The ideas residents may be shown, for a list: every idea read goes through here, so hiding
 * ideas (moderation, issue 21) is one filter in this one place. Popular: most supporters first,
 * then newest.
 */
export async function visibleIdeas(store: Pick<Collections, 'ideas'>, browse: IdeaBrowse): Promise<IdeaRecord[]> {
  // Hidden (moderation) and merged ideas are never shown: the one rule, src/domain/idea-visibility.ts.
  const newest = (await store.ideas.find({ field: 'kind', equals: 'idea' }, { order: 'desc', limit: IDEA_BROWSE_READ })).filter(shownToResidents);
  const place = browse.neighbourhood ? foldForMatch(browse.neighbourhood) : '';
  const shown = place ? newest.filter((idea) => idea.neighbourhood !== undefined && foldForMatch(idea.neighbourhood) === place) : newest;
  if (browse.order === 'popular') return [...shown].sort((a, b) => (b.supporters ?? 0) - (a.supporters ?? 0) || b.createdAt.getTime() - a.createdAt.getTime());
  return shown;
}

/** What supporting an idea did. */
export type SupportOutcome = 'supported' | 'already' | 'own' | 'not_found' | 'unavailable';

/**
 * Records one resident's support of an idea (once per resident: the support's id is the idea
 * and the address) and recounts the idea's supporters, which may take it to its threshold.
 */
export async function supportIdea(
  store: Pick<Collections, 'ideas' | 'ideaSupports' | 'broadcasts' | 'audit'>,
  ref: string,
  scope: { address: string; now: Date },
  defaultThreshold: number,
): Promise<SupportOutcome> {
  const idea = await store.ideas.get(ref.toUpperCase());
  if (!idea) return 'not_found';
  // Hidden by moderation or merged into another: not supported, and not counted.
  if (!shownToResidents(idea)) return 'unavailable';
  if (idea.authorAddress === scope.address) return 'own';
  const inserted = await store.ideaSupports.insert({ _id: `${idea._id}|${scope.address}`, ideaId: idea._id, address: scope.address, at: scope.now });
  // Recounted on "already" too: a count a crash left behind is put right by the next support.
  await recountSupport(store, idea._id, scope.now, defaultThreshold);
  return inserted ? 'supported' : 'already';
}

/** The support threshold an idea has: its own (staff's), else the city's; 0 is none. */
export function thresholdOf(idea: Pick<IdeaRecord, 'supportThreshold'>, defaultThreshold: number): number {
  return idea.supportThreshold ?? defaultThreshold;
}

/**
 * Sets an idea's `supporters` from the `ideaSupports` index (one count), with a revision-checked
 * write: two supports at once both recount after their own insert, and the later write holds the
 * higher count. The write that takes a `new` idea to its threshold moves it to `under_review`
 * and is the only one that does (the revision check lets one win), so its audit entry and its
 * notice are once. The notice is written again (a no-op) by later recounts, in case a crash
 * came between the two writes.
 */
export async function recountSupport(
  store: Pick<Collections, 'ideas' | 'ideaSupports' | 'broadcasts' | 'audit'>,
  ideaId: string,
  now: Date,
  defaultThreshold: number,
): Promise<IdeaRecord | null> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const current = await store.ideas.get(ideaId);
    if (!current) return null;
    // Counted after the read: any support whose write came before this read is in the count.
    const supporters = await store.ideaSupports.count({ field: 'ideaId', equals: ideaId });
    const threshold = thresholdOf(current, defaultThreshold);
    // A hidden or merged idea reaches nothing (a merge can copy supports into an idea hidden
    // since, staff can lower a hidden idea's threshold): its residents would be told of an idea
    // they cannot see. Restored, its next support recounts it.
    const reaches = threshold > 0 && supporters >= threshold && current.status === 'new' && !current.thresholdReachedAt && shownToResidents(current);
    let idea = current;
    if (reaches || current.supporters !== supporters) {
      const next: IdeaRecord = { ...current, supporters, ...(reaches ? { status: 'under_review' as const, thresholdReachedAt: now } : {}) };
      if (!(await store.ideas.replace(next, current._rev))) continue;
      idea = { ...next, _rev: current._rev + 1 };
      if (reaches) {
        await store.audit.insert({
          _id: `A-${ideaId}-threshold`,
          actor: 'system',
          action: 'idea.threshold_reached',
          target: ideaId,
          details: { supporters, threshold },
          kind: 'audit',
          at: now,
        });
      }
    }
    if (idea.thresholdReachedAt) {
      const reached = Math.min(idea.supporters ?? supporters, threshold > 0 ? threshold : supporters);
      await queueIdeaNotice(store, { event: 'reached', ideaId, title: idea.title, status: 'under_review', supporters: reached }, idea.thresholdReachedAt);
    }
    return idea;
  }
  throw new Error(`Idea ${ideaId} kept changing while its supporters were counted`);
}

/**
 * How many references an idea's notice may try. Five characters are 28 million references, and a
 * city's thousands of notices and staff broadcasts (random ones of the same kind) share them:
 * some notice's first reference is taken sooner or later, and the next is tried (see
 * `queueIdeaNotice`). Eight taken in a row would need a store of millions of broadcasts.
 */
export const IDEA_NOTICE_ID_ATTEMPTS = 8;

/**
 * The id of the broadcast that tells an idea's residents of one event: `B-` and five characters
 * derived from the idea and the event (a broadcast reference staff can open), so the same
 * event is one broadcast however often it is written. An answer is one event per status.
 * `attempt` (from 0) gives the next one to try when the first is taken by another broadcast.
 */
export function ideaNoticeBroadcastId(notice: Pick<IdeaNotice, 'event' | 'ideaId' | 'status'>, attempt = 0): string {
  const digest = createHash('sha256')
    .update(`${notice.ideaId}|${notice.event}|${notice.event === 'answered' ? notice.status : ''}${attempt > 0 ? `|${attempt}` : ''}`)
    .digest();
  let code = '';
  for (let i = 0; i < REFERENCE_LENGTH; i++) code += REFERENCE_ALPHABET[digest[i]! % REFERENCE_ALPHABET.length];
  return `B-${code}`;
}

/** The broadcast record that tells an idea's supporters and author of `notice`, planned by the worker. */
export function ideaNoticeBroadcast(notice: IdeaNotice, at: Date, attempt = 0): Omit<BroadcastRecord, '_rev'> {
  return {
    _id: ideaNoticeBroadcastId(notice, attempt),
    messages: {},
    audience: { ideaId: notice.ideaId },
    status: 'scheduled',
    sendAt: at,
    answerWindowHours: 1,
    planned: 0,
    createdBy: 'system',
    kind: 'broadcast',
    createdAt: at,
    updatedAt: at,
    ideaNotice: notice,
  };
}

/**
 * Writes the broadcast that tells an idea's residents of `notice`; returns its id and whether
 * this call wrote it (false: it was written before, and nobody is told twice). A reference held
 * by another broadcast (a staff one drew it, or another idea's notice hashed to it) is not this
 * notice: the next one is tried, so the idea's residents are still told.
 */
export async function queueIdeaNotice(store: Pick<Collections, 'broadcasts'>, notice: IdeaNotice, at: Date): Promise<{ broadcastId: string; queued: boolean }> {
  for (let attempt = 0; attempt < IDEA_NOTICE_ID_ATTEMPTS; attempt++) {
    const record = ideaNoticeBroadcast(notice, at, attempt);
    if (await store.broadcasts.insert(record)) return { broadcastId: record._id, queued: true };
    const held = await store.broadcasts.get(record._id);
    // Deleted in between (an erasure): nothing is told of an idea that is gone.
    if (!held || isNoticeOf(held.ideaNotice, notice)) return { broadcastId: record._id, queued: false };
  }
  throw new Error(`Every reference of a notice of idea ${notice.ideaId} is taken`);
}

/** Whether a broadcast's notice is this one: the same idea and event (and, for an answer, status). */
export function isNoticeOf(held: IdeaNotice | undefined, notice: Pick<IdeaNotice, 'event' | 'ideaId' | 'status'>): boolean {
  return held !== undefined && held.ideaId === notice.ideaId && held.event === notice.event && (notice.event !== 'answered' || held.status === notice.status);
}

/** The text of an idea notice in one language. */
export function ideaNoticeText(notice: IdeaNotice, t: (key: string, vars?: Record<string, string | number>) => string): string {
  const vars = { ref: notice.ideaId, title: notice.title };
  if (notice.event === 'reached') return t('notify.idea_reached', { ...vars, count: notice.supporters ?? 0 });
  const answered = t('notify.idea_answered', { ...vars, status: t(`idea_status.${notice.status}`) });
  return notice.note ? `${answered}\n${notice.note}` : answered;
}
