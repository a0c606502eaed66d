/**
 * The terms an idea is compared by for "similar ideas?" (issue 21): the stems of the words that
 * say what it is about, in its own language. "More bike racks downtown please" and "we need bike
 * parking racks in the downtown area" share `bike`, `rack` and `downtown`. Kept on the idea
 * (`similarTerms`, a multikey index), so a new idea finds its candidates by exact key reads.
 */
import type { Stemmer } from './natural-lib.js';
import { words } from './text-normalizer.js';

/** At most this many terms per idea: a title and a few sentences of details. */
export const MAX_TERMS = 24;
/** Terms are stems of words of at least this many letters ("bus" counts, "de" and "la" do not). */
const MIN_WORD = 3;
/** A term is a store key: long "words" (a pasted URL) are cut. */
const MAX_TERM = 40;

/** The distinct stems of `text`'s meaningful words, in order of first use, at most MAX_TERMS. */
export function ideaTerms(text: string, stemmer: Stemmer, stopwords: ReadonlySet<string>): string[] {
  const terms = new Set<string>();
  for (const word of words(text)) {
    if (word.length < MIN_WORD || stopwords.has(word) || /^\d+$/.test(word)) continue;
    const stem = stemmer.stem(word).slice(0, MAX_TERM);
    if (stem.length >= MIN_WORD - 1) terms.add(stem);
    if (terms.size === MAX_TERMS) break;
  }
  return [...terms];
}
