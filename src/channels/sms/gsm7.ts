/**
 * SMS encoding and cost. A message in the GSM-7 alphabet fits 160 characters in one segment
 * (153 per segment when split); a single character outside it (á, í, ó, ú, “, —, an emoji)
 * switches the whole message to UCS-2: 70 characters (67 per part). So text we send is folded
 * into GSM-7 where a reader loses nothing (á → a, “ → "), as Twilio's Smart Encoding does;
 * what residents write is never changed.
 */

// The GSM 03.38 basic character set, and the extension table (each costs two septets).
const BASIC = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001BÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const EXTENSION = '^{}\\[~]|€\f';
const BASIC_SET = new Set(BASIC);
const EXTENSION_SET = new Set(EXTENSION);

// Look-alikes with no loss of meaning; anything else outside GSM-7 is left alone.
const FOLD: Readonly<Record<string, string>> = {
  á: 'a',
  í: 'i',
  ó: 'o',
  ú: 'u',
  â: 'a',
  ê: 'e',
  î: 'i',
  ô: 'o',
  û: 'u',
  ã: 'a',
  õ: 'o',
  ç: 'c',
  ï: 'i',
  ë: 'e',
  Á: 'A',
  Í: 'I',
  Ó: 'O',
  Ú: 'U',
  Â: 'A',
  Ê: 'E',
  Î: 'I',
  Ô: 'O',
  Û: 'U',
  Ã: 'A',
  Õ: 'O',
  È: 'E',
  Ì: 'I',
  Ò: 'O',
  Ù: 'U',
  À: 'A',
  Ë: 'E',
  Ï: 'I',
  '‘': "'",
  '’': "'",
  '‚': "'",
  '“': '"',
  '”': '"',
  '„': '"',
  '«': '"',
  '»': '"',
  '–': '-',
  '—': '-',
  '‐': '-',
  '−': '-',
  '…': '...',
  '\u00A0': ' ',
  '\u2009': ' ',
  '\u202F': ' ',
  '•': '-',
  '·': '-',
};

/** Replaces characters outside GSM-7 by their plain look-alikes, where there is one. */
export function foldToGsm7(text: string): string {
  let folded = '';
  for (const char of text) folded += BASIC_SET.has(char) || EXTENSION_SET.has(char) ? char : (FOLD[char] ?? char);
  return folded;
}

/** Whether every character can be sent in GSM-7. */
export function isGsm7(text: string): boolean {
  for (const char of text) if (!BASIC_SET.has(char) && !EXTENSION_SET.has(char)) return false;
  return true;
}

/** The encoding a message will be sent in, and how many segments (billed parts) it costs. */
export function smsSegments(text: string): { encoding: 'GSM-7' | 'UCS-2'; segments: number } {
  if (isGsm7(text)) {
    let septets = 0;
    for (const char of text) septets += EXTENSION_SET.has(char) ? 2 : 1;
    return { encoding: 'GSM-7', segments: septets <= 160 ? 1 : Math.ceil(septets / 153) };
  }
  // UCS-2 counts UTF-16 code units: an emoji is two.
  const units = text.length;
  return { encoding: 'UCS-2', segments: units <= 70 ? 1 : Math.ceil(units / 67) };
}
