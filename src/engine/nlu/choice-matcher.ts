/**
 * Works out which offered choice a resident meant: by id, by number ("2", "the 2nd one",
 * "segundo") or by a label typed loosely ("potholle" → "Pothole", "street light" → "Street light
 * out"). SMS has no buttons, so residents answer menus by typing, and they type badly.
 */
import type { Choice } from '../../core/message.js';
import { selectionNumber, type NumberVocabulary } from './entity-extractor.js';
import { jaroWinkler } from './natural-lib.js';
import { withinOneEdit } from './spell-corrector.js';
import { words as foldedWords } from './text-normalizer.js';

/**
 * A label must score at least this to be picked (0..1). Jaro-Winkler of a one-typo word is about
 * 0.95 ("potholle"/"pothole" 0.975), of unrelated words of similar length 0.5-0.75.
 */
const MIN_SCORE = 0.85;
/** The best label must beat the second by this much; closer is a tie and the dialog asks again. */
const MIN_LEAD = 0.04;
/** Two words at least this similar count as the same word typed differently. */
const SAME_WORD = 0.88;
/** Words this short must match exactly: "out"/"our", "bin"/"ban" are different words. */
const SHORT_WORD = 3;
/**
 * Similarity given to one typo in a word of 5+ letters. Jaro-Winkler rewards a shared start, so
 * it scores a slip on the first letter low ("vache"/"bache" 0.87), though b/v is the commonest
 * Spanish spelling slip.
 */
const ONE_TYPO = 0.9;

/** Picks a choice; built once with the merged number words and fillers of the loaded locales. */
export type ChoiceMatcher = (text: string, choices: readonly Choice[]) => string | null;

/** Builds the matcher. */
export function createChoiceMatcher(vocabulary: NumberVocabulary): ChoiceMatcher {
  return (text, choices) => {
    const query = foldedWords(text);
    if (query.length === 0 || choices.length === 0) return null;
    const joined = query.join(' ');

    // 1. Exactly an id or a label ("pothole", "Street light out", "2" when an id is "2").
    const exact = choices.find((choice) => words(choice.id).join(' ') === joined || words(choice.label).join(' ') === joined);
    if (exact) return exact.id;

    // 2. A number: "2", "#2", "option 3", "the second one", "la dos".
    const number = selectionNumber(text, vocabulary);
    if (number !== undefined) return choices[number - 1]?.id ?? null;

    // 3. The label (or id) most like what was typed, if clearly the best.
    const content = query.filter((word) => !vocabulary.fillers.has(word));
    const asked = content.length > 0 ? content : query;
    const scored = choices
      .map((choice) => ({ id: choice.id, score: Math.max(labelScore(asked, words(choice.label)), labelScore(asked, words(choice.id))) }))
      .sort((a, b) => b.score - a.score);
    const [best, second] = scored;
    if (!best || best.score < MIN_SCORE) return null;
    if (second && best.score - second.score < MIN_LEAD) return null;
    return best.id;
  };
}

// Ids like "street_light" or "traffic-signal" read as words too.
function words(text: string): string[] {
  return foldedWords(text.replace(/[_-]+/g, ' '));
}

/**
 * How well the typed words match a label, 0..1: mostly how many typed words are in the label
 * (a resident types part of a label, rarely extra words), a little how much of the label they
 * cover, so "street light" prefers "Street light" to "Street light out" when both are offered.
 * Run together ("streetlight" for "Street light out") the typed text is compared whole as well.
 */
function labelScore(typed: readonly string[], label: readonly string[]): number {
  if (typed.length === 0 || label.length === 0) return 0;
  const sim = (a: string, b: string): number => {
    if (a === b) return 1;
    const shorter = Math.min(a.length, b.length);
    if (shorter <= SHORT_WORD) return 0;
    return Math.max(jaroWinkler(a, b), shorter >= 5 && withinOneEdit(a, b) ? ONE_TYPO : 0);
  };
  const best = (word: string, among: readonly string[]): number => {
    const top = Math.max(...among.map((other) => sim(word, other)));
    return top >= SAME_WORD ? top : 0;
  };
  const precision = typed.reduce((sum, word) => sum + best(word, label), 0) / typed.length;
  const recall = label.reduce((sum, word) => sum + best(word, typed), 0) / label.length;
  const byWords = 0.85 * precision + 0.15 * recall;

  const typedWhole = typed.join('');
  const labelWhole = label.join('');
  const whole = typedWhole.length > SHORT_WORD ? jaroWinkler(typedWhole, labelWhole) : 0;
  // "streetlight" inside "streetlightout": a run-together prefix of the label.
  const prefix = typedWhole.length > SHORT_WORD && labelWhole.startsWith(typedWhole) ? 0.9 + 0.1 * (typedWhole.length / labelWhole.length) : 0;
  return Math.max(byWords, whole >= SAME_WORD ? whole : 0, prefix);
}
