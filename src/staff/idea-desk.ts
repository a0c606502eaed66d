/**
 * Answering residents' ideas: list them (newest, or most supported first) and respond with a
 * status and a note, which tells the author and, if staff choose, everyone who supported it.
 */
import type { IdeaRecord } from '../domain/records.js';
import { recordAudit } from './audit-log.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** The statuses staff can answer an idea with (`new` is where every idea starts). */
export const IDEA_RESPONSES = ['under_review', 'accepted', 'not_planned'] as const;
export type IdeaResponseStatus = (typeof IDEA_RESPONSES)[number];

/** An idea with how many residents support it. */
export interface IdeaWithSupport extends IdeaRecord {
  supports: number;
}

const IDEAS_READ = 2000;

/** Ideas newest first, or by support (most first, then newest). */
export async function listIdeas(
  deps: Pick<StaffDeps, 'store'>,
  options: { sort?: 'newest' | 'support'; status?: IdeaRecord['status']; limit?: number } = {},
): Promise<IdeaWithSupport[]> {
  const { store } = deps;
  const ideas = await store.ideas.find({ field: 'kind', equals: 'idea' }, { order: 'desc', limit: IDEAS_READ });
  const matching = ideas.filter((idea) => !options.status || idea.status === options.status);
  const counted = await Promise.all(
    matching.map(async (idea) => ({ ...idea, supports: await store.ideaSupports.count({ field: 'ideaId', equals: idea._id }) })),
  );
  if (options.sort === 'support') counted.sort((a, b) => b.supports - a.supports || b.createdAt.getTime() - a.createdAt.getTime());
  return counted.slice(0, Math.min(options.limit ?? 100, 500));
}

/** One idea with its support count; a StaffError 404 when there is none. */
export async function ideaDetail(deps: Pick<StaffDeps, 'store'>, ref: string): Promise<IdeaWithSupport> {
  const idea = await deps.store.ideas.get(ref.toUpperCase());
  if (!idea) throw new StaffError(404, `No idea ${ref}`);
  return { ...idea, supports: await deps.store.ideaSupports.count({ field: 'ideaId', equals: idea._id }) };
}

/** What staff answer. */
export interface IdeaResponse {
  status: IdeaResponseStatus;
  note?: string;
  /** Tell the residents who supported it too (the author is always told). */
  notifySupporters?: boolean;
}

/** What answering did: the idea, and how many residents were told or skipped. */
export interface IdeaResponseResult {
  idea: IdeaRecord;
  notified: number;
  skipped: number;
  failed: number;
}

/** Sets an idea's status and note, and tells its author (and supporters, if asked), once per answer. */
export async function respondToIdea(deps: StaffDeps, ref: string, response: IdeaResponse, actor: Actor, now: Date = new Date()): Promise<IdeaResponseResult> {
  const { store } = deps;
  if (!IDEA_RESPONSES.includes(response.status)) throw new StaffError(400, `Unknown status ${response.status}; one of ${IDEA_RESPONSES.join(', ')}`);
  const note = response.note?.trim() || undefined;
  let idea: IdeaRecord | null = null;
  for (let attempt = 0; attempt < 5 && !idea; attempt++) {
    const current = await store.ideas.get(ref.toUpperCase());
    if (!current) throw new StaffError(404, `No idea ${ref}`);
    const next: IdeaRecord = { ...current, status: response.status, response: { ...(note ? { note } : {}), by: actor.username, at: now } };
    if (await store.ideas.replace(next, current._rev)) idea = { ...next, _rev: current._rev + 1 };
  }
  if (!idea) throw new Error('Idea kept changing while it was answered');

  const answer = `idea-response|${idea._id}|${now.getTime()}`;
  const tally = { notified: 0, skipped: 0, failed: 0 };
  const tell = async (address: string, key: 'notify.idea_status' | 'notify.idea_supported_status') => {
    const outcome = await deps.notifier.notify(address, {
      purpose: 'notification',
      key: `${answer}|${address}`,
      compose: (_locale, t) => [
        {
          kind: 'text',
          text: t(note ? `${key}_note` : key, { ref: idea._id, title: idea.title, status: t(`idea_status.${response.status}`), ...(note ? { note } : {}) }),
        },
      ],
    });
    if (outcome.state === 'sent' || outcome.state === 'outbox') tally.notified += 1;
    else if (outcome.state === 'skipped') tally.skipped += 1;
    else tally.failed += 1;
  };
  await tell(idea.authorAddress, 'notify.idea_status');
  if (response.notifySupporters) {
    const supports = await store.ideaSupports.find({ field: 'ideaId', equals: idea._id }, { limit: 100_000 });
    for (const support of supports) await tell(support.address, 'notify.idea_supported_status');
  }
  await recordAudit(
    store,
    { actor: actor.username, action: 'idea.respond', target: idea._id, details: { status: response.status, note: Boolean(note), ...tally } },
    now,
  );
  return { idea, ...tally };
}

/** One week of an idea's support: the week's first day (Monday, UTC), new supporters, and the total by its end. */
export interface SupportWeek {
  week: string;
  added: number;
  total: number;
}

/** The most weeks the idea page's chart shows (the latest ones), and the most supports read. */
const WEEKS_SHOWN = 26;
const SUPPORTS_READ = 100_000;
const WEEK_MS = 7 * 86_400_000;

/**
 * An idea's supporters over time, week by week from the week it was submitted to this one (the
 * latest 26): how many joined each week and how many there were by its end. Weeks start on
 * Monday, UTC, so a week is the same for every reader.
 */
export async function supportersByWeek(
  deps: Pick<StaffDeps, 'store'>,
  idea: Pick<IdeaRecord, '_id' | 'createdAt'>,
  now: Date = new Date(),
): Promise<SupportWeek[]> {
  const supports = await deps.store.ideaSupports.find({ field: 'ideaId', equals: idea._id }, { order: 'asc', limit: SUPPORTS_READ });
  const perWeek = new Map<number, number>();
  for (const support of supports) perWeek.set(weekStart(support.at), (perWeek.get(weekStart(support.at)) ?? 0) + 1);
  const last = Math.max(weekStart(idea.createdAt), weekStart(now), ...perWeek.keys());
  const first = Math.max(weekStart(idea.createdAt), last - (WEEKS_SHOWN - 1) * WEEK_MS);
  // Supporters from before the first week shown are in its total.
  let total = [...perWeek].reduce((sum, [start, count]) => (start < first ? sum + count : sum), 0);
  const weeks: SupportWeek[] = [];
  for (let start = first; start <= last; start += WEEK_MS) {
    const added = perWeek.get(start) ?? 0;
    total += added;
    weeks.push({ week: new Date(start).toISOString().slice(0, 10), added, total });
  }
  return weeks;
}

/** Midnight UTC of the Monday of a date's week, in milliseconds. */
function weekStart(date: Date): number {
  const day = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  const sinceMonday = (new Date(day).getUTCDay() + 6) % 7;
  return day - sinceMonday * 86_400_000;
}
