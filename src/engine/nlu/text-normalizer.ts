/**
 * The one normal form the NLU compares text in: lower case, no accents, no apostrophes, long
 * letter runs squeezed, split into words. Training data and residents' messages both go through
 * it, so "Señal", "senal" and "SEÑAL!!" meet as the same word.
 */

// Apostrophes are dropped rather than split on: "what's" → "whats", which the locale's shorthand
// list expands, instead of a stray "s" token that means nothing.
const APOSTROPHES = /['’‘`´]/g;
// Letters, digits and `_` (our placeholders such as `__num__`), or a single pictograph (emoji),
// which phones send as answers ("👍") and which must not vanish into an empty message.
const TOKEN = /[\p{L}\p{N}_]+|\p{Extended_Pictographic}/gu;
// Three or more of the same letter ("hellooo", "siii", "pleeease") become two: English doubles
// letters ("street", "good") but never triples them. The spell corrector tries a single one.
const LETTER_RUN = /(\p{L})\1{2,}/gu;

/**
 * Lower case without diacritics or apostrophes. NFD (not NFKD) on purpose: NFKD would turn the
 * Spanish ordinal marks º/ª into plain letters and "2º" would stop reading as "2nd".
 */
export function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(APOSTROPHES, '');
}

/** The words of already folded text, runs of three or more letters cut to two. */
export function tokenize(folded: string): string[] {
  return (folded.match(TOKEN) ?? []).map((token) => token.replace(LETTER_RUN, '$1$1'));
}

/** Folds and tokenizes: the words of a message as the NLU sees them. */
export function words(text: string): string[] {
  return tokenize(fold(text));
}
