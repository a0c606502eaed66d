/**
 * A city's history of reports for the benchmarks of "already reported?" (issue 18): reports
 * spread over a city-sized area (about 22 × 22 km), a mix of categories, statuses and point /
 * text places, the same every run (a seeded pseudo-random sequence). `bench/duplicates.ts` times
 * the lookup on them alone; `bench/seed.ts` stores them next to the residents in mid-conversation
 * so the SMS turn can be measured with and without them.
 *
 * The city is a hundred districts (2.2 km squares) and a hundred sets of corners. The first
 * `HOME_REPORTS` reports are in the home district (the middle one) at its corners; the rest fill
 * the other 99 and their corners. So as the history grows, what grows is the city, not one
 * street's reports, and any growth in a lookup's cost is the store's size showing through.
 */
import { withOpenReportKeys } from '../../src/domain/open-report-keys.js';
import type { ReportRecord, StatusGroup } from '../../src/domain/records.js';
import { CATEGORIES } from '../../src/domain/vocabulary.js';
import type { Unsaved } from '../../src/store/store.port.js';

/** Reports in the home district and at its corners (the first ones of the sequence). */
export const HOME_REPORTS = 1_000;

const CENTER = { lat: 39.7817, lon: -89.6501 };
/** Half the city's extent in degrees: about 11 km each way. */
const HALF_LAT = 0.1;
const HALF_LON = 0.13;
/** The home district: the middle tenth of the city each way. */
const HOME = 0.1;
const NAMES = [
  'Main',
  'Elm',
  'Oak',
  'Maple',
  'Cedar',
  'Pine',
  'Walnut',
  'Lincoln',
  'Washington',
  'Jefferson',
  'Adams',
  'Monroe',
  'Jackson',
  'Madison',
  'Grand',
  'Park',
  'Lake',
  'River',
  'Hill',
  'Spring',
];
/** A city's years of reports: most fixed or closed, three in eight open. */
const STATUSES: [string, StatusGroup][] = [
  ['open', 'open'],
  ['in_progress', 'open'],
  ['fixed', 'fixed'],
  ['fixed', 'fixed'],
  ['fixed', 'fixed'],
  ['closed', 'closed'],
  ['duplicate', 'closed'],
  ['action_scheduled', 'open'],
];

/** A deterministic pseudo-random sequence (mulberry32), so every run stores the same city. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One of the values, as the sequence says. */
export const pick = <T>(next: () => number, values: readonly T[]): T => values[Math.floor(next() * values.length)]!;

const ordinal = (n: number) => `${n}${n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th'}`;

/**
 * A corner as residents write it, in one of several spellings: of the home district's 8 (1st–4th
 * and Main or Elm), or of the 792 others (5th–40th and the other 18 names: never 5th and Main,
 * the benchmark's own corner, see `cornerReport`).
 */
export function aCorner(next: () => number, home: boolean): { text: string; locale: string } {
  const n = home ? 1 + Math.floor(next() * 4) : 5 + Math.floor(next() * 36);
  const name = home ? pick(next, NAMES.slice(0, 2)) : pick(next, NAMES.slice(2));
  const spellings = [
    { text: `${ordinal(n)} & ${name}`, locale: 'en' },
    { text: `${name} St and ${ordinal(n)}`, locale: 'en' },
    { text: `corner of ${ordinal(n)} and ${name}`, locale: 'en' },
    { text: `Calle ${n} y ${name}`, locale: 'es' },
  ];
  return pick(next, spellings);
}

/** A point in the home district, or anywhere else in the city. */
export function aPoint(next: () => number, home: boolean): { lat: number; lon: number } {
  for (;;) {
    const x = (next() * 2 - 1) * (home ? HOME : 1);
    const y = (next() * 2 - 1) * (home ? HOME : 1);
    if (home || Math.abs(x) > HOME || Math.abs(y) > HOME) return { lat: CENTER.lat + y * HALF_LAT, lon: CENTER.lon + x * HALF_LON };
  }
}

/** The i-th report's reference: `R-B` and five more characters, longer than any reference `newReference` makes. */
function cityReportId(i: number): string {
  return `R-B${i.toString(36).toUpperCase().padStart(5, '0')}`;
}

/** The i-th report's keys and dates, as a record to insert (open ones carry their duplicate-search keys). */
function record(
  i: number,
  next: () => number,
  now: number,
  [status, statusGroup]: [string, StatusGroup],
  fields: Pick<ReportRecord, 'location' | 'locale'>,
): Unsaved<ReportRecord> {
  const createdAt = new Date(now - Math.floor(next() * 3 * 365 * 86_400_000));
  return withOpenReportKeys({
    _id: cityReportId(i),
    category: pick(next, CATEGORIES),
    status,
    statusGroup,
    ...fields,
    description: 'Seeded for the duplicate-search benchmark',
    photos: [],
    // Nobody the benchmarks talk as (their residents are +1555…, the seeder's templates +1666…).
    residentAddress: `sms:+1777${String(i % 1_000_000).padStart(7, '0')}`,
    channel: 'sms',
    createdAt,
    updatedAt: createdAt,
    ...(statusGroup === 'fixed' ? { fixedAt: createdAt } : {}),
  });
}

/** The i-th report of the city: a point (two in three, some with a text place too) or a text place only. */
export function aReport(i: number, next: () => number, now: number): Unsaved<ReportRecord> {
  // In this order, so the city is the one the duplicates benchmark's earlier runs stored.
  const status = pick(next, STATUSES);
  const kind = next();
  const home = i < HOME_REPORTS;
  const place = aCorner(next, home);
  const location = kind < 0.4 ? { point: aPoint(next, home) } : kind < 0.67 ? { point: aPoint(next, home), text: place.text } : { text: place.text };
  return record(i, next, now, status, { location, locale: place.locale });
}

/**
 * The i-th report of the city, at a given corner (one of its spellings, in English) rather than
 * a corner of its own: what puts some of a city's history at the benchmark's corner, in every
 * category and status, so the lookup there has the candidates a busy corner has.
 */
export function cornerReport(i: number, next: () => number, now: number, spellings: readonly string[]): Unsaved<ReportRecord> {
  const status = pick(next, STATUSES);
  return record(i, next, now, status, { location: { text: pick(next, spellings) }, locale: 'en' });
}
