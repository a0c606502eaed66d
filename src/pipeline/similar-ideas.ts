/**
 * "Similar ideas?" (issue 21): before a resident files an idea, the closest ideas already made
 * are offered to support instead, as Decidim and CONSUL show similar proposals before a new
 * one. Ideas are compared by their terms (src/engine/nlu/idea-terms.ts: the stems of the words
 * that say what an idea is about, in its language), weighted by how rare each term is among the
 * city's ideas (see `similarity`).
 *
 * It scales with the city by reading keys, never every idea: one count per term of the new idea
 * (its document frequency, from the `similarTerms` multikey index), then the newest
 * CANDIDATES_PER_TERM ideas of each of its RAREST_TERMS rarest terms. An idea that shares none of
 * those terms is not found; the rarest are the ones that matter to the score anyway.
 */
import { shownToResidents } from '../domain/idea-visibility.js';
import type { IdeaRecord } from '../domain/records.js';
import type { Collections } from '../store/store.port.js';

/**
 * The score from which an idea is offered as similar: measured on the labelled set in
 * test/fixtures/idea-similarity/ (`npm run ideas:similarity`), where it gave the precision and
 * recall written in docs/idea-similarity.md. Chosen for precision: offering an unrelated idea
 * costs a resident a question, missing a similar one only a duplicate staff can merge.
 */
export const SIMILAR_IDEA_THRESHOLD = 0.45;
/** The rarest terms of a new idea whose ideas are read. */
const RAREST_TERMS = 6;
/** Ideas read per term, newest first. */
const CANDIDATES_PER_TERM = 50;
/** Ideas offered at most. */
const OFFERED = 2;
/** How much the share of the new idea a candidate covers counts, against the share of the candidate that is the new idea. */
const COVERED_WEIGHT = 0.7;

/** An idea offered as similar, as much of it as any resident may see. */
export interface SimilarIdea {
  ref: string;
  title: string;
  supporters: number;
  score: number;
}

/** What the lookup reads. */
export type SimilarIdeasStore = Pick<Collections, 'ideas' | 'ideaSupports'>;

/**
 * The ideas most like one with these terms, best first, at most OFFERED and none under
 * `threshold`. Ideas without terms (hidden, merged, from before terms) and ideas the city said it
 * will not do are never offered.
 */
export async function findSimilarIdeas(store: SimilarIdeasStore, terms: readonly string[], threshold = SIMILAR_IDEA_THRESHOLD): Promise<SimilarIdea[]> {
  const scored = await scoreCandidates(store, terms);
  const offered = scored.filter((candidate) => candidate.score >= threshold).slice(0, OFFERED);
  return Promise.all(
    offered.map(async ({ idea, score }) => ({
      ref: idea._id,
      title: idea.title,
      supporters: await store.ideaSupports.count({ field: 'ideaId', equals: idea._id }),
      score,
    })),
  );
}

/** Every candidate idea with its score against `terms`, best first (the evaluation reads these). */
export async function scoreCandidates(store: Pick<Collections, 'ideas'>, terms: readonly string[]): Promise<{ idea: IdeaRecord; score: number }[]> {
  const query = [...new Set(terms)];
  if (query.length === 0) return [];
  const total = await store.ideas.count({ field: 'kind', equals: 'idea' });
  const frequency = new Map(await Promise.all(query.map(async (term) => [term, await store.ideas.count({ field: 'similarTerms', equals: term })] as const)));
  const weight = new Map(query.map((term) => [term, inverseFrequency(total, frequency.get(term) ?? 0)]));
  const rarest = query.filter((term) => (frequency.get(term) ?? 0) > 0).sort((a, b) => (frequency.get(a) ?? 0) - (frequency.get(b) ?? 0));
  const candidates = new Map<string, IdeaRecord>();
  for (const term of rarest.slice(0, RAREST_TERMS)) {
    for (const idea of await store.ideas.find({ field: 'similarTerms', equals: term }, { order: 'desc', limit: CANDIDATES_PER_TERM })) {
      if (idea.status !== 'not_planned') candidates.set(idea._id, idea);
    }
  }
  return [...candidates.values()]
    .map((idea) => ({ idea, score: similarity(weight, idea.similarTerms ?? []) }))
    .sort((a, b) => b.score - a.score || b.idea.createdAt.getTime() - a.idea.createdAt.getTime());
}

/** A term's weight: rare terms say more (smoothed inverse document frequency). */
function inverseFrequency(total: number, frequency: number): number {
  return Math.log((total + 1) / (frequency + 1)) + 1;
}

/**
 * How much of the new idea a candidate covers, and how much of the candidate is the new idea,
 * each term weighted by its rarity: a weighted geometric mean leaning on the first (0.7 / 0.3),
 * since a new idea is typically a short title and an existing one a title with details. The
 * candidate's terms the new idea lacks weigh the new idea's average (their own rarity would cost
 * a count each, and they only lower the score). On the labelled set this beat a plain cosine,
 * a Dice coefficient and either share alone (docs/idea-similarity.md).
 */
export function similarity(weight: ReadonlyMap<string, number>, candidate: readonly string[]): number {
  if (weight.size === 0 || candidate.length === 0) return 0;
  const own = [...weight.values()].reduce((sum, w) => sum + w, 0);
  const mean = own / weight.size;
  let shared = 0;
  let others = 0;
  for (const term of new Set(candidate)) {
    const w = weight.get(term);
    if (w === undefined) others += mean;
    else shared += w;
  }
  if (shared === 0) return 0;
  return (shared / own) ** COVERED_WEIGHT * (shared / (shared + others)) ** (1 - COVERED_WEIGHT);
}

/** The `similarTerms` field for an idea with these terms: none when there are none (an index entry needs a value). */
export function similarTermsOf(terms: readonly string[] | undefined): { similarTerms?: string[] } {
  return terms && terms.length > 0 ? { similarTerms: [...terms] } : {};
}

/** The `meta` record that says every idea stored before "similar ideas?" was given its terms. */
export const IDEA_TERMS_BACKFILL = 'migrated:idea-similar-terms:v1';
/** Ideas a start looks at once the backfill ran: the newest, where a rolling upgrade's stragglers are. */
const RECENT_CHECKED = 100;
/** At most this many ideas are read by the first backfill (the kind index, newest first). */
const BACKFILL_READ = 50_000;

/**
 * Gives ideas stored before "similar ideas?" their terms, so they can be offered: the first start
 * reads every idea once (newest first, at most BACKFILL_READ), later ones the newest only (an
 * instance of the previous version may have filed some during a rolling upgrade). An idea's
 * language is not stored: it is detected from its text (else the city's default). Ideas the city
 * will not do, hidden and merged ones are left without. Revision-checked and idempotent; safe on several instances.
 */
export async function backfillIdeaTerms(
  store: Pick<Collections, 'ideas' | 'meta'>,
  terms: (text: string) => string[],
): Promise<{ checked: number; updated: number }> {
  const marked = (await store.meta.get(IDEA_TERMS_BACKFILL)) !== null;
  const ideas = await store.ideas.find({ field: 'kind', equals: 'idea' }, { order: 'desc', limit: marked ? RECENT_CHECKED : BACKFILL_READ });
  let updated = 0;
  for (const idea of ideas) {
    if (idea.similarTerms || idea.status === 'not_planned' || !shownToResidents(idea)) continue;
    const found = similarTermsOf(terms(`${idea.title}\n${idea.details}`));
    // Another writer that changed it meanwhile wins; the next start looks again.
    if (found.similarTerms && (await store.ideas.replace({ ...idea, ...found }, idea._rev))) updated += 1;
  }
  if (!marked) await store.meta.upsert({ _id: IDEA_TERMS_BACKFILL, value: { at: new Date().toISOString(), checked: ideas.length, updated } });
  return { checked: ideas.length, updated };
}
