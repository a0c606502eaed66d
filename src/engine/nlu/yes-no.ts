/**
 * Reads a yes or a no in any loaded language ("yep", "sí claro", "nah", "para nada").
 *
 * The answer is the longest yes, no or unsure phrase the message starts with, so "claro que no"
 * is a no although "claro" alone is a yes, "no sé" is neither although it starts with "no", and
 * "yes, on 5th street" is still a yes. Phrases of the resident's locale win a tie.
 */
import type { Lexicon } from './nlu-data.js';
import { words as foldedWords } from './text-normalizer.js';

/** A resident's answer to a yes/no question. */
export type YesNo = 'yes' | 'no';

type Polarity = YesNo | 'unsure';

// Words people put before an answer without changing it.
const LEADING_NOISE = new Set(['um', 'uh', 'uhm', 'hmm', 'mm', 'well', 'oh', 'eh', 'pues', 'este', 'ah', 'ehh']);

/** Reads yes/no; built once for the loaded lexicons. */
export type YesNoReader = (text: string, locale: string) => YesNo | null;

/** Builds the reader from each locale's yes / no / unsure phrases. */
export function createYesNoReader(lexicons: ReadonlyMap<string, Lexicon>): YesNoReader {
  // phrase (space-joined folded words) → polarity, per locale
  const tables = new Map<string, Map<string, Polarity>>();
  let longest = 1;
  for (const [locale, lexicon] of lexicons) {
    const table = new Map<string, Polarity>();
    const add = (phrases: readonly string[], polarity: Polarity): void => {
      for (const phrase of phrases) {
        const key = foldedWords(phrase).join(' ');
        if (key === '') continue;
        table.set(key, polarity);
        longest = Math.max(longest, key.split(' ').length);
      }
    };
    add(lexicon.yes, 'yes');
    add(lexicon.no, 'no');
    add(lexicon.unsure, 'unsure'); // last: "no se" must override "no"
    tables.set(locale, table);
  }
  const known = new Set([...tables.values()].flatMap((table) => [...table.keys()]));

  return (text, locale) => {
    const words = foldedWords(text).map((word) => (known.has(word) ? word : word.replace(/(\p{L})\1$/u, '$1')));
    while (words.length > 1 && LEADING_NOISE.has(words[0] ?? '')) words.shift();
    const order = [tables.get(locale), ...[...tables].filter(([code]) => code !== locale).map(([, table]) => table)];
    for (let length = Math.min(longest, words.length); length > 0; length--) {
      const phrase = words.slice(0, length).join(' ');
      for (const table of order) {
        const polarity = table?.get(phrase);
        if (polarity !== undefined) return polarity === 'unsure' ? null : polarity;
      }
    }
    return null;
  };
}
