/**
 * Text hygiene for what residents type: one normal form, no control characters, and a folded
 * form for comparing keywords ("¡Menú!" matches "menu").
 */

const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/g;

/** NFC, without control and direction-override characters, trimmed. Newlines stay. */
export function cleanText(text: string): string {
  return text.normalize('NFC').replace(CONTROL, '').replace(/\r\n?/g, '\n').trim();
}

/** Lower case, no accents, no punctuation around: for matching whole-message keywords. */
export function foldForMatch(text: string): string {
  // A turn folds the same message for every keyword list it checks: the last one is kept.
  if (text === lastFolded.text) return lastFolded.folded;
  const folded = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, '')
    .replace(/\s+/g, ' ');
  lastFolded = { text, folded };
  return folded;
}

let lastFolded = { text: '', folded: '' };

// Keyword lists folded once: the engine checks the same lists (loaded once from locales/, never
// changed) on every turn, and folding each word every time was a measurable part of a turn.
const foldedLists = new WeakMap<readonly string[], ReadonlySet<string>>();

/** Whether the whole message is one of the words (folded comparison). */
export function isOneOf(text: string, words: readonly string[]): boolean {
  const folded = foldForMatch(text);
  if (folded.length === 0) return false;
  let set = foldedLists.get(words);
  if (!set) foldedLists.set(words, (set = new Set(words.map((word) => foldForMatch(word)))));
  return set.has(folded);
}

/** Cuts text to at most `max` characters on a word boundary, with an ellipsis. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > max / 2 ? cut.slice(0, space) : cut}…`;
}

// Emoji and what builds them (joiners, variation selectors, skin tones, keycaps, flags).
const PICTOGRAPHS = /[\p{Extended_Pictographic}\p{Regional_Indicator}\u{1F3FB}-\u{1F3FF}\u200D\uFE0F\u20E3]/gu;

/**
 * A title as a short text-list line (SMS): without emoji, cut to `max`. One emoji in one
 * resident's idea title sent the whole page as UCS-2 (70 characters a segment, not 160): a page
 * of four ideas cost four segments, not the two a page is kept to. The item's own page shows the
 * title whole.
 */
export function shortListTitle(text: string, max: number): string {
  const plain = text
    .replace(PICTOGRAPHS, '')
    .replace(/\s{2,}/g, ' ')
    .trim();
  return shorten(plain || text, max);
}

/** One and two as words, the numbered Yes and No of a question by text. */
const LONE_NUMBER_WORDS: Readonly<Record<string, number>> = { one: 1, two: 2, uno: 1, una: 1, dos: 2 };

/**
 * The number a whole message is, as phones and people write one ("1", "1.", "1️⃣", full-width
 * "１", "uno", "dos"), or null.
 */
export function loneNumber(text: string): number | null {
  const folded = foldForMatch(text);
  if (/^\d{1,3}$/.test(folded)) return Number(folded);
  return LONE_NUMBER_WORDS[folded] ?? null;
}
