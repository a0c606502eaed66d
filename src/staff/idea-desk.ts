/**
 * Answering residents' ideas: list them (newest, or most supported first), respond with a
 * status and a note (its author and supporters are told once per status, by broadcast), and
 * set an idea's own support threshold.
 */
import type { IdeaRecord } from '../domain/records.js';
import { queueIdeaNotice, recountSupport, thresholdOf } from '../pipeline/idea-support.js';
import { recordAudit } from './audit-log.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** The statuses staff can answer an idea with (`new` is where every idea starts). */
export const IDEA_RESPONSES = ['under_review', 'accepted', 'not_planned'] as const;
export type IdeaResponseStatus = (typeof IDEA_RESPONSES)[number];

/** An idea with how many residents support it, and the support threshold it has. */
export interface IdeaWithSupport extends IdeaRecord {
  supports: number;
  /** Its own threshold, else the city's (0: none). */
  threshold: number;
}

const IDEAS_READ = 2000;

/** Ideas newest first, or by support (most first, then newest). */
export async function listIdeas(
  deps: Pick<StaffDeps, 'store' | 'config'>,
  options: { sort?: 'newest' | 'support'; status?: IdeaRecord['status']; limit?: number } = {},
): Promise<IdeaWithSupport[]> {
  const { store } = deps;
  const ideas = await store.ideas.find({ field: 'kind', equals: 'idea' }, { order: 'desc', limit: IDEAS_READ });
  const matching = ideas.filter((idea) => !options.status || idea.status === options.status);
  const counted = await Promise.all(
    matching.map(async (idea) => ({
      ...idea,
      supports: await store.ideaSupports.count({ field: 'ideaId', equals: idea._id }),
      threshold: thresholdOf(idea, deps.config.ideaSupportThreshold),
    })),
  );
  if (options.sort === 'support') counted.sort((a, b) => b.supports - a.supports || b.createdAt.getTime() - a.createdAt.getTime());
  return counted.slice(0, Math.min(options.limit ?? 100, 500));
}

/** One idea with its support count; a StaffError 404 when there is none. */
export async function ideaDetail(deps: Pick<StaffDeps, 'store' | 'config'>, ref: string): Promise<IdeaWithSupport> {
  const idea = await deps.store.ideas.get(ref.toUpperCase());
  if (!idea) throw new StaffError(404, `No idea ${ref}`);
  return {
    ...idea,
    supports: await deps.store.ideaSupports.count({ field: 'ideaId', equals: idea._id }),
    threshold: thresholdOf(idea, deps.config.ideaSupportThreshold),
  };
}

/** What staff answer. */
export interface IdeaResponse {
  status: IdeaResponseStatus;
  note?: string;
  /**
   * Kept so older clients' requests stay valid; it changes nothing: the supporters and the author
   * are always told, by broadcast (issue 21).
   */
  notifySupporters?: boolean;
}

/** What answering did: the idea, and the broadcast that tells its author and supporters. */
export interface IdeaResponseResult {
  idea: IdeaRecord;
  /** The notice's broadcast (its progress is on the broadcasts page). */
  broadcastId: string;
  /** False when this status was told before (a retried request, or the same answer again): nobody is told twice. */
  queued: boolean;
}

/**
 * Sets an idea's status and note, and writes the broadcast that tells its author and supporters,
 * once per status: the broadcast worker plans and sends it in batches (thousands of supporters
 * never ride in this request), each resident once, opt-outs and quiet hours applied.
 */
export async function respondToIdea(deps: StaffDeps, ref: string, response: IdeaResponse, actor: Actor, now: Date = new Date()): Promise<IdeaResponseResult> {
  const { store } = deps;
  if (!IDEA_RESPONSES.includes(response.status)) throw new StaffError(400, `Unknown status ${response.status}; one of ${IDEA_RESPONSES.join(', ')}`);
  const note = response.note?.trim() || undefined;
  let idea: IdeaRecord | null = null;
  for (let attempt = 0; attempt < 5 && !idea; attempt++) {
    const current = await store.ideas.get(ref.toUpperCase());
    if (!current) throw new StaffError(404, `No idea ${ref}`);
    // Residents cannot see it, and the answer's notice would send its title (hidden for someone's
    // number, an insult...) to its author and every supporter again.
    if (current.moderation?.state === 'hidden')
      throw new StaffError(409, `${current._id} is hidden: residents are not told about it. Restore it first to answer it`);
    if (current.mergedInto) throw new StaffError(409, `${current._id} was merged into ${current.mergedInto}: answer ${current.mergedInto} instead`);
    const next: IdeaRecord = { ...current, status: response.status, response: { ...(note ? { note } : {}), by: actor.username, at: now } };
    if (await store.ideas.replace(next, current._rev)) idea = { ...next, _rev: current._rev + 1 };
  }
  if (!idea) throw new Error('Idea kept changing while it was answered');

  const notice = await queueIdeaNotice(
    store,
    { event: 'answered', ideaId: idea._id, title: idea.title, status: response.status, ...(note ? { note } : {}) },
    now,
  );
  await recordAudit(
    store,
    {
      actor: actor.username,
      action: 'idea.respond',
      target: idea._id,
      details: { status: response.status, note: Boolean(note), broadcastId: notice.broadcastId, queued: notice.queued },
    },
    now,
  );
  return { idea, ...notice };
}

/**
 * Sets an idea's own support threshold (null: the city's, IDEA_SUPPORT_THRESHOLD; 0: none), and
 * recounts it: an idea already past its new threshold goes to review and its residents are told.
 */
export async function setIdeaThreshold(deps: StaffDeps, ref: string, threshold: number | null, actor: Actor, now: Date = new Date()): Promise<IdeaWithSupport> {
  const { store } = deps;
  if (threshold !== null && !(Number.isInteger(threshold) && threshold >= 0))
    throw new StaffError(400, 'supportThreshold: must be a whole number, 0 or more, or null');
  // Supports recount the idea as it is set: enough attempts to win against a busy idea.
  for (let attempt = 0; attempt < 20; attempt++) {
    const current = await store.ideas.get(ref.toUpperCase());
    if (!current) throw new StaffError(404, `No idea ${ref}`);
    const { supportThreshold: _old, ...rest } = current;
    const next: IdeaRecord = threshold === null ? rest : { ...rest, supportThreshold: threshold };
    if (!(await store.ideas.replace(next, current._rev))) continue;
    await recordAudit(store, { actor: actor.username, action: 'idea.threshold', target: current._id, details: { supportThreshold: threshold } }, now);
    await recountSupport(store, current._id, now, deps.config.ideaSupportThreshold);
    return ideaDetail(deps, current._id);
  }
  throw new Error('Idea kept changing while its threshold was set');
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
