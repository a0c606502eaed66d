/**
 * Text search over reports (issue 18): the reference, the description, the location's text and
 * the category, case- and accent-insensitive ("calle" finds "Calle", "cafe" finds "Café"), every
 * word of the query somewhere in the report.
 *
 * Decision: **a bounded scan, not a token index.** The store port has equality finds on declared
 * indexes only; a word index would be a second collection with a record per word per report,
 * kept right by every writer of reports (the pipeline's creation, erasure, staff edits) on both
 * adapters. The search instead reads the newest SEARCH_SCAN_LIMIT reports through the index of
 * the most selective other filter (report-desk.ts) and matches them in memory: at most 5,000
 * reports, a few MB read, and the pages say "searched the newest 5,000" when the bound was
 * reached. A query that is a reference is also looked up directly, so any report is found by its
 * reference however old.
 */
import type { ReportRecord } from '../domain/records.js';

/** The longest query taken (the routes refuse longer) and the most words matched. */
export const MAX_QUERY_LENGTH = 200;
const MAX_WORDS = 12;

/** Lower case, without accents, with `_` as a space (`illegal_dumping` is two words). */
export function searchable(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/_/g, ' ');
}

/** The query's words, searchable, without duplicates (at most MAX_WORDS). */
export function queryWords(query: string): string[] {
  return [...new Set(searchable(query).split(/\s+/).filter(Boolean))].slice(0, MAX_WORDS);
}

/** Whether every word is in the report's reference, description, location text or category. */
export function reportMatches(report: Pick<ReportRecord, '_id' | 'description' | 'location' | 'category'>, words: readonly string[]): boolean {
  if (words.length === 0) return true;
  const haystack = searchable(
    [report._id, report._id.replace('-', ''), `#${report._id.slice(2)}`, report.description, report.location.text ?? '', String(report.category)].join('\n'),
  );
  return words.every((word) => haystack.includes(word));
}

/** The reference a query names, normalised (`r7k3qx`, `#7K3QX` → `R-7K3QX`), if it is one. */
export function referenceInQuery(query: string): string | undefined {
  const compact = query.trim().toUpperCase().replace(/^#/, 'R-');
  const match = /^R-?([0-9A-Z]{5})$/.exec(compact);
  // A word that only looks like one ("water" → R-WATER) costs one get that finds nothing.
  return match?.[1] ? `R-${match[1]}` : undefined;
}
