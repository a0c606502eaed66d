/**
 * References residents can type on a phone: `R-7K3QX` (report), `I-4F2K9` (idea), `V-8M2PQ`
 * (volunteer role). Five random characters from an alphabet without 0/O, 1/I/L, so nothing is
 * misread; drawn with a cryptographic generator, so one reference says nothing about another.
 * Every code has at least one digit, so a bare `r7k3qx` is never confused with a word
 * (22 million codes per prefix).
 */
import { randomInt } from 'node:crypto';

/** Characters a reference may contain: digits and capitals minus the easily confused ones. */
export const REFERENCE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const REFERENCE_LENGTH = 5;

/** What a reference points at, by its one-letter prefix. */
export const REFERENCE_KINDS = { R: 'report', I: 'idea', V: 'role' } as const;
export type ReferencePrefix = keyof typeof REFERENCE_KINDS;
export type ReferenceKind = (typeof REFERENCE_KINDS)[ReferencePrefix];

/**
 * A new random reference with the given prefix, e.g. `R-7K3QX` (`B-` for broadcasts, `P-` for ballots and `S-` for
 * a role's shifts: staff-only, never read from residents).
 */
export function newReference(prefix: ReferencePrefix | 'B' | 'S' | 'P'): string {
  let code = '';
  while (!/[2-9]/.test(code)) {
    code = '';
    for (let i = 0; i < REFERENCE_LENGTH; i++) code += REFERENCE_ALPHABET[randomInt(REFERENCE_ALPHABET.length)];
  }
  return `${prefix}-${code}`;
}

/** The kind of record a canonical reference points at. */
export function referenceKind(reference: string): ReferenceKind | null {
  const prefix = reference.charAt(0) as ReferencePrefix;
  return REFERENCE_KINDS[prefix] ?? null;
}

const CODE = `[${REFERENCE_ALPHABET}]{${REFERENCE_LENGTH}}`;
// With a dash or '#' the intent is plain; a bare `r7k3qx` must contain a digit so that words
// like "rates" or "views" are never read as references.
const WITH_MARK = new RegExp(`(?:^|[^A-Z0-9])([RIV])?(?:-|#|\\s#?)(${CODE})(?![A-Z0-9])`, 'gi');
const BARE = new RegExp(`(?:^|[^A-Z0-9])([RIV])(${CODE})(?![A-Z0-9])`, 'gi');

/**
 * Finds a reference in what a resident wrote (`r7k3qx`, `#7K3QX`, `R-7K3QX`, `status r 7k3qx`) and
 * returns it in canonical form. A code without a prefix (`#7K3QX`) is taken as a report.
 */
export function extractReference(text: string): string | null {
  const upper = text.toUpperCase();
  for (const match of upper.matchAll(WITH_MARK)) {
    const [, prefix, code] = match;
    const marked = match[0].includes('-') || match[0].includes('#');
    // "r 7k3qx" is a reference, "I never" is not: a prefix and a space need a digit in the code.
    if (code && (marked || (prefix !== undefined && /[2-9]/.test(code)))) return `${prefix ?? 'R'}-${code}`;
  }
  for (const match of upper.matchAll(BARE)) {
    const [, prefix, code] = match;
    if (prefix && code && /[2-9]/.test(code)) return `${prefix}-${code}`;
  }
  return null;
}
