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
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, '')
    .replace(/\s+/g, ' ');
}

/** Whether the whole message is one of the words (folded comparison). */
export function isOneOf(text: string, words: readonly string[]): boolean {
  const folded = foldForMatch(text);
  return folded.length > 0 && words.some((word) => foldForMatch(word) === folded);
}

/** Cuts text to at most `max` characters on a word boundary, with an ellipsis. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > max / 2 ? cut.slice(0, space) : cut}…`;
}
