/**
 * Corrects one-typo words ("potholle", "grafiti", "sirbe") to a word the NLU was trained on.
 *
 * Residents type on phones; a classifier that has never seen "streeet" learns nothing from it.
 * This is SymSpell with edit distance 1: every known word is indexed under itself and each of its
 * one-letter deletions, so a lookup costs a handful of map reads instead of a scan of the
 * vocabulary (parse time stays in microseconds). A deletion match covers one insertion, deletion,
 * substitution or adjacent swap.
 */

/**
 * Words shorter than this are left alone: at four letters one edit turns real words the NLU has
 * never seen into ones it has ("game" → "came", "hora" → "hola", "sing" → "sign"), and an
 * off-topic message would then look understood.
 */
const MIN_LENGTH = 5;

/** Finds the known word a misspelt word most likely meant. */
export interface SpellCorrector {
  /** The word itself when known, the most frequent known word one edit away, else null. */
  correct(word: string): string | null;
  /** Whether the word was seen as-is. */
  knows(word: string): boolean;
}

/** Builds a corrector from word frequencies (word → how often it appears in training data). */
export function createSpellCorrector(frequencies: ReadonlyMap<string, number>): SpellCorrector {
  // deletion variant → known words that produce it
  const index = new Map<string, string[]>();
  for (const word of frequencies.keys()) {
    // One letter shorter than a query may be: "holaa" is "hola" with a key held too long.
    if (word.length < MIN_LENGTH - 1 || !/^\p{L}+$/u.test(word)) continue;
    for (const key of new Set([word, ...deletions(word)])) {
      const list = index.get(key);
      if (list) list.push(word);
      else index.set(key, [word]);
    }
  }

  return {
    knows: (word) => frequencies.has(word),
    correct(word) {
      if (frequencies.has(word)) return word;
      // A key held down at the end ("siii" → "sii", "holaa", "thankss"): the tokenizer already cut
      // the run to two letters; one of them is usually the word.
      const trimmed = word.replace(/(\p{L})\1$/u, '$1');
      if (trimmed !== word && frequencies.has(trimmed)) return trimmed;
      if (word.length < MIN_LENGTH || !/^\p{L}+$/u.test(word)) return null;
      let best: string | null = null;
      let bestCount = 0;
      for (const key of new Set([word, ...deletions(word)])) {
        for (const candidate of index.get(key) ?? []) {
          const count = frequencies.get(candidate) ?? 0;
          // Typos at the first letter are rare on phones; a different first letter is more often
          // a different word ("anoche" is not "noche").
          if (count > bestCount && candidate[0] === word[0] && withinOneEdit(word, candidate)) {
            best = candidate;
            bestCount = count;
          }
        }
      }
      return best;
    },
  };
}

function deletions(word: string): string[] {
  const result: string[] = [];
  for (let i = 0; i < word.length; i++) result.push(word.slice(0, i) + word.slice(i + 1));
  return result;
}

/**
 * Whether two words are at most one insertion, deletion, substitution or adjacent swap apart.
 * (Two words sharing a deletion can be two edits apart, so the index needs this check.)
 */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  if (a.length === b.length) {
    const diff: number[] = [];
    for (let i = 0; i < a.length && diff.length < 3; i++) if (a[i] !== b[i]) diff.push(i);
    if (diff.length === 1) return true;
    const [i, j] = diff;
    return diff.length === 2 && i !== undefined && j === i + 1 && a[i] === b[j] && a[j] === b[i];
  }
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  let i = 0;
  while (i < short.length && short[i] === long[i]) i++;
  return short.slice(i) === long.slice(i + 1);
}
