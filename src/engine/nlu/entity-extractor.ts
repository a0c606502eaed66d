/**
 * The small entities a dialog needs besides the intent: which number a resident picked ("2",
 * "#2", "the 2nd one", "segundo", "la dos", "option 3") and which language they asked for.
 */
import type { Lexicon } from './nlu-data.js';
import { NUMBER_TOKEN } from './text-features.js';
import { words as foldedWords } from './text-normalizer.js';

/**
 * At most this many words that are neither a number nor filler may surround the number. A pick
 * is short ("I think the second one"); "pothole on 5th and main" is an address, not a pick,
 * and must not select choice 5.
 */
const MAX_OTHER_WORDS = 1;

/** The number words, ordinals and fillers of every loaded language, merged once. */
export interface NumberVocabulary {
  cardinals: ReadonlyMap<string, number>;
  ordinals: ReadonlyMap<string, number>;
  ordinalSuffixes: ReadonlySet<string>;
  fillers: ReadonlySet<string>;
  shorthand: ReadonlyMap<string, string>;
  /** Whether a (folded) word is part of a pick: a number, number word, ordinal or filler. */
  isNumberOrFiller(word: string): boolean;
}

/**
 * Merges the lexicons of all loaded languages: a resident answering a Spanish menu with "two" (or
 * an English one with "dos") still means 2. Shorthand only matters for fillers ("porfa").
 */
export function numberVocabulary(lexicons: readonly Lexicon[]): NumberVocabulary {
  const cardinals = new Map<string, number>();
  const ordinals = new Map<string, number>();
  const ordinalSuffixes = new Set<string>();
  const fillers = new Set<string>();
  const shorthand = new Map<string, string>();
  for (const lexicon of lexicons) {
    for (const [word, value] of Object.entries(lexicon.numbers)) cardinals.set(word, value);
    for (const [word, value] of Object.entries(lexicon.ordinals)) ordinals.set(word, value);
    lexicon.ordinalSuffixes.forEach((suffix) => ordinalSuffixes.add(suffix));
    lexicon.choiceFillers.forEach((word) => fillers.add(word));
    for (const [short, long] of Object.entries(lexicon.shorthand)) if (!shorthand.has(short)) shorthand.set(short, long);
  }
  const isNumberOrFiller = (word: string): boolean =>
    word === NUMBER_TOKEN || /^\d/.test(word) || cardinals.has(word) || ordinals.has(word) || fillers.has(word);
  return { cardinals, ordinals, ordinalSuffixes, fillers, shorthand, isNumberOrFiller };
}

/**
 * The number a short answer picks, or undefined. Digits and ordinals ("2", "2nd", "2º",
 * "segundo") beat number words, so "the 2nd one" is 2, not 1; two different numbers ("2 or 3")
 * are no answer at all.
 */
export function selectionNumber(text: string, vocabulary: NumberVocabulary): number | undefined {
  const strong = new Set<number>();
  const weak = new Set<number>();
  let others = 0;
  for (const raw of foldedWords(text)) {
    for (const word of (vocabulary.shorthand.get(raw) ?? raw).split(' ')) {
      const digits = /^(\d{1,3})(\p{L}{0,3})$/u.exec(word);
      if (digits && (digits[2] === '' || vocabulary.ordinalSuffixes.has(digits[2] ?? ''))) {
        strong.add(Number(digits[1]));
      } else if (vocabulary.ordinals.has(word)) {
        strong.add(vocabulary.ordinals.get(word) ?? 0);
      } else if (vocabulary.cardinals.has(word)) {
        weak.add(vocabulary.cardinals.get(word) ?? 0);
      } else if (!vocabulary.fillers.has(word)) {
        others++;
      }
    }
  }
  if (others > MAX_OTHER_WORDS) return undefined;
  const picked = strong.size > 0 ? strong : weak;
  const [only] = picked;
  return picked.size === 1 ? only : undefined;
}

/**
 * Language names of every loaded language, in every loaded language ("spanish", "español",
 * "inglés" → es / en). Names of languages that are not loaded are left out: asking for French
 * where there is no French must not switch anything.
 */
export function languageNameTable(lexicons: readonly Lexicon[], loaded: readonly string[]): ReadonlyMap<string, string> {
  const table = new Map<string, string>();
  for (const lexicon of lexicons) {
    for (const [code, names] of Object.entries(lexicon.languageNames)) {
      const locale = loaded.find((candidate) => candidate.toLowerCase() === code);
      if (locale) names.forEach((name) => table.set(name, locale));
    }
  }
  return table;
}

/**
 * The language a message asks for: the last one named, since "not english, spanish" and
 * "switch from english to spanish" both end with the one wanted.
 */
export function languageMentioned(text: string, names: ReadonlyMap<string, string>): string | undefined {
  let found: string | undefined;
  for (const word of foldedWords(text)) found = names.get(word) ?? found;
  return found;
}
