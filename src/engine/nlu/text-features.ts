/**
 * Turns a message into the features the classifiers see: folded words, SMS shorthand expanded,
 * references and numbers replaced by placeholders, one-typo words corrected, then stemmed.
 */
import { extractReference, referenceKind, type ReferenceKind } from '../../domain/reference.js';
import type { Lexicon } from './nlu-data.js';
import type { Stemmer } from './natural-lib.js';
import { createSpellCorrector, type SpellCorrector } from './spell-corrector.js';
import { words as foldedWords } from './text-normalizer.js';

/** Stands for any number ("5th", "221", "2º"): addresses differ, that there is one matters. */
export const NUMBER_TOKEN = '__num__';

/**
 * Stands for a reference, by what it points at: "R-7K3QX" says check_status, "I-4F2K9" an idea,
 * "V-8M2PQ" a volunteer role. The codes themselves are random and would teach nothing.
 */
export const REFERENCE_TOKENS: Readonly<Record<ReferenceKind, string>> = {
  report: '__ref_report__',
  idea: '__ref_idea__',
  role: '__ref_role__',
};

/** Whether a token is one of the placeholders above rather than a word the resident wrote. */
export function isPlaceholder(token: string): boolean {
  return token.startsWith('__');
}

/** What the NLU made of a message. */
export interface TextAnalysis {
  /** Folded words after shorthand and typo correction, placeholders in place. */
  words: string[];
  /** The stems of `words`, what the classifiers are trained on. */
  features: string[];
  /** Features that come from a typo correction: a guess, so they count less as understood. */
  guessed: ReadonlySet<string>;
}

/** The features of the analysis whose words pass the test (words and features are parallel). */
export function featuresWhere(analysis: TextAnalysis, keep: (word: string) => boolean): string[] {
  return analysis.features.filter((_, i) => keep(analysis.words[i] as string));
}

/** Analyses text of one locale; built once from that locale's training text. */
export interface Featurizer {
  analyze(text: string): TextAnalysis;
  /** Typo correction over the locale's training vocabulary. */
  readonly speller: SpellCorrector;
}

// A message longer than this is cut: no 311 report needs more words to say what it is about,
// and a bound keeps the Bayes scores far from floating-point underflow.
const MAX_WORDS = 60;
// Stems kept per locale: the training vocabulary is about 3,000 words.
const MAX_CACHED_STEMS = 20_000;

/** Builds the analyser of a locale; `trainingTexts` supply the vocabulary typos are fixed to. */
export function createFeaturizer(lexicon: Lexicon, stemmer: Stemmer, trainingTexts: readonly string[]): Featurizer {
  const neutral = lexicon.neutral.map((phrase) => phrase.split(' '));
  const expand = (text: string): string[] => dropPhrases(expandWords(maskReferences(replaceAccented(text, lexicon.accented)), lexicon), neutral);
  const frequencies = new Map<string, number>();
  for (const text of trainingTexts) {
    for (const word of expand(text)) frequencies.set(word, (frequencies.get(word) ?? 0) + 1);
  }
  const speller = createSpellCorrector(frequencies);
  const places = new Set(lexicon.placeWords);
  // Snowball is slow (Spanish's suffix search most of all) and training stems the same few
  // thousand words over and over: a third of start-up went there. Bounded, since residents'
  // words are stemmed here too and must not grow it for ever.
  const stems = new Map<string, string>();
  const stem = (word: string): string => {
    if (isPlaceholder(word)) return word;
    if (Object.hasOwn(lexicon.stems, word)) return lexicon.stems[word] as string;
    let result = stems.get(word);
    if (result === undefined) {
      result = stemmer.stem(word);
      if (stems.size < MAX_CACHED_STEMS) stems.set(word, result);
    }
    return result;
  };

  return {
    speller,
    analyze(text) {
      const words: string[] = [];
      const guessed = new Set<string>();
      const expanded = expand(text).slice(0, MAX_WORDS);
      for (const [i, word] of expanded.entries()) {
        if (isPlaceName(expanded, i, places, speller)) continue;
        const corrected = withoutClitic(word, lexicon, speller) ?? speller.correct(word) ?? word;
        words.push(corrected);
        if (corrected !== word) guessed.add(stem(corrected));
      }
      return { words, features: words.map(stem), guessed };
    },
  };
}

/**
 * The text with each of the lexicon's accented words replaced (whole words, any case), before
 * folding takes the accents that tell them apart.
 */
function replaceAccented(text: string, accented: Readonly<Record<string, string>>): string {
  if (Object.keys(accented).length === 0) return text;
  return text.normalize('NFC').replace(/\p{L}+/gu, (word) => {
    const lower = word.toLowerCase();
    return Object.hasOwn(accented, lower) ? (accented[lower] as string) : word;
  });
}

/** Folded words with shorthand expanded and numbers as NUMBER_TOKEN (references already masked). */
function expandWords(text: string, lexicon: Lexicon): string[] {
  const result: string[] = [];
  for (const word of foldedWords(text)) {
    // Own keys only: a resident's word "constructor" or "__proto__" is not Object.prototype's.
    const long = Object.hasOwn(lexicon.shorthand, word) ? lexicon.shorthand[word] : undefined;
    if (long !== undefined) result.push(...long.split(' '));
    else if (/^\d+(?:\p{L}{1,3})?$/u.test(word)) result.push(NUMBER_TOKEN);
    else result.push(word);
  }
  return result;
}

/**
 * An unknown word next to a place word ("fulton ave", "lake dr", "calle hidalgo") or right after
 * a number ("221 maple") is a name: it tells nothing about intent and must not count as a word
 * the NLU failed to understand.
 */
function isPlaceName(words: readonly string[], i: number, places: ReadonlySet<string>, speller: SpellCorrector): boolean {
  const word = words[i] as string;
  if (speller.knows(word) || isPlaceholder(word) || !/^\p{L}+$/u.test(word)) return false;
  const before = words[i - 1];
  const after = words[i + 1];
  return before === NUMBER_TOKEN || (before !== undefined && places.has(before)) || (after !== undefined && places.has(after));
}

/**
 * "cancelalo" → "cancela" when "cancela" is known and "cancelalo" is not. Spanish Snowball only
 * removes pronouns after infinitives and gerunds, not after the imperatives residents send.
 */
function withoutClitic(word: string, lexicon: Lexicon, speller: SpellCorrector): string | null {
  if (speller.knows(word)) return null;
  for (const suffix of lexicon.cliticSuffixes) {
    const base = word.slice(0, -suffix.length);
    if (word.endsWith(suffix) && base.length >= 3 && speller.knows(base)) return base;
  }
  return null;
}

/** The words without any occurrence of the given phrases (each a list of words). */
function dropPhrases(words: string[], phrases: readonly (readonly string[])[]): string[] {
  if (phrases.length === 0) return words;
  const result: string[] = [];
  for (let i = 0; i < words.length;) {
    const phrase = phrases.find((p) => p.every((word, j) => words[i + j] === word));
    if (phrase) i += phrase.length;
    else result.push(words[i++] as string);
  }
  return result;
}

/** Replaces each reference in the text with its placeholder word. */
export function maskReferences(text: string): string {
  let rest = text;
  // A message rarely holds more than one or two; the bound guards against a span that the
  // reference parser finds but the pattern below does not (which would loop forever).
  for (let i = 0; i < 4; i++) {
    const reference = extractReference(rest);
    if (reference === null) break;
    const kind = referenceKind(reference);
    const [prefix, code] = [reference.charAt(0), reference.slice(2)];
    const span = new RegExp(`(?:(?<![A-Z0-9])${prefix}\\s*[-#]?\\s*|#\\s*|(?<![A-Z0-9]))${code}(?![A-Z0-9])`, 'i');
    if (kind === null || !span.test(rest)) break;
    rest = rest.replace(span, ` ${REFERENCE_TOKENS[kind]} `);
  }
  return rest;
}
