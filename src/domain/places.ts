/**
 * Places, for "already reported?" (issue 18): a canonical key for the place a resident typed, so
 * that "5th & Main", "main st and 5th" and "esquina de la calle 5 con main" land on one index
 * entry, and a grid of the map whose cells an equality index can hold, so that the reports
 * within a radius of a GPS point are the ones in a few cells. Pure: no store, no geocoder.
 *
 * The rules for text places (the tests hold a labelled set of pairs that must and must not match):
 *
 * - Folding: lower case, accents dropped, punctuation a space; `&`, `/`, `@` and `+` join streets.
 * - A corner is two (or more) streets joined by `&`, `/`, `and`, `at`, `y`, `con`, `esquina`,
 *   `corner`; their order does not matter. "corner of", "esquina de", "in front of", "cerca de"
 *   and such lead-ins are dropped. "between 4th and 5th" (`entre`) is dropped with what follows:
 *   the street it is on is what a duplicate shares.
 * - A street is its name, without its type (st, street, ave, avenue, rd, blvd, dr, calle, c/,
 *   av, avda...) or direction (N, north, norte...): residents leave them out ("5th & Main").
 *   Both stay in the parsed place, and two places whose keys match but whose streets name
 *   different types or directions ("Main St" and "Main Ave", "N Main" and "S Main") are not the
 *   same place (`samePlace`): a missing type or direction is compatible with any.
 * - Ordinals are numbers: fifth, 5th, quinta, 5a, 5ª all are 5. So "Calle 5" is "5th St".
 * - A house number narrows a street to its hundred block: "123 Main St" and "150 Main Street"
 *   are one place, "123 Main St" and "950 Main St" are not, and "Main St" without a number is
 *   neither (a long street is not one place). Spanish numbers follow the name ("Calle Mayor 12",
 *   "Calle Mayor, 12"); a number right after the type is the street's name ("Calle 5").
 * - Anything else ("the library", "Riverside park") is its folded words without articles.
 * - Rules of English and Spanish apply whatever the locale (residents mix: "Calle 5 and Main");
 *   the locale decides what a bare number next to a name is ("5 Main" is 5 Main St in English,
 *   "Main 5" house 5 in Spanish, both the other way round only when it is the sole reading).
 */
import type { GeoPoint } from '../core/message.js';

/** One street of a parsed place. `type` and `dir` are canonical (`st`, `ave`...; `n`, `s`...). */
export interface PlaceStreet {
  name: string;
  type?: string;
  dir?: string;
  /** The hundred block of a house number (123 → 100). */
  block?: number;
}

/** A place as the resident wrote it, taken apart. */
export interface ParsedPlace {
  /** A corner of streets, one street, or a named place that shows no sign of being a street. */
  kind: 'corner' | 'street' | 'place';
  /** The canonical key: equal for every spelling of the place (see the module comment). */
  key: string;
  /** For a corner its streets ordered by name; else one. */
  streets: PlaceStreet[];
}

/** Keys longer than this are hashed, so that a category and a key fit an index key. */
const MAX_PLACE_KEY = 120;

const STREET_TYPES: Readonly<Record<string, string>> = {
  street: 'st',
  st: 'st',
  str: 'st',
  calle: 'st',
  c: 'st',
  cl: 'st',
  cll: 'st',
  avenue: 'ave',
  ave: 'ave',
  av: 'ave',
  avn: 'ave',
  avenida: 'ave',
  avda: 'ave',
  road: 'rd',
  rd: 'rd',
  boulevard: 'blvd',
  blvd: 'blvd',
  boul: 'blvd',
  bulevar: 'blvd',
  blvr: 'blvd',
  drive: 'dr',
  dr: 'dr',
  lane: 'ln',
  ln: 'ln',
  court: 'ct',
  ct: 'ct',
  place: 'pl',
  pl: 'pl',
  terrace: 'ter',
  ter: 'ter',
  parkway: 'pkwy',
  pkwy: 'pkwy',
  highway: 'hwy',
  hwy: 'hwy',
  carretera: 'hwy',
  ctra: 'hwy',
  route: 'rte',
  rte: 'rte',
  way: 'way',
  circle: 'cir',
  cir: 'cir',
  square: 'sq',
  sq: 'sq',
  alley: 'aly',
  aly: 'aly',
  trail: 'trl',
  trl: 'trl',
  paseo: 'paseo',
  pso: 'paseo',
  camino: 'camino',
  calzada: 'calz',
  calz: 'calz',
  carrera: 'cra',
  cra: 'cra',
  kr: 'cra',
  diagonal: 'diag',
  diag: 'diag',
  transversal: 'tv',
  tv: 'tv',
};

const DIRECTIONS: Readonly<Record<string, string>> = {
  n: 'n',
  north: 'n',
  norte: 'n',
  s: 's',
  south: 's',
  sur: 's',
  e: 'e',
  east: 'e',
  este: 'e',
  oriente: 'e',
  w: 'w',
  west: 'w',
  oeste: 'w',
  poniente: 'w',
  ne: 'ne',
  northeast: 'ne',
  nw: 'nw',
  northwest: 'nw',
  se: 'se',
  southeast: 'se',
  sw: 'sw',
  southwest: 'sw',
};

const ORDINAL_WORDS: Readonly<Record<string, number>> = {
  first: 1,
  second: 2,
  third: 3,
  fourth: 4,
  fifth: 5,
  sixth: 6,
  seventh: 7,
  eighth: 8,
  ninth: 9,
  tenth: 10,
  eleventh: 11,
  twelfth: 12,
  thirteenth: 13,
  fourteenth: 14,
  fifteenth: 15,
  sixteenth: 16,
  seventeenth: 17,
  eighteenth: 18,
  nineteenth: 19,
  twentieth: 20,
  thirtieth: 30,
  fortieth: 40,
  fiftieth: 50,
  primera: 1,
  primero: 1,
  segunda: 2,
  segundo: 2,
  tercera: 3,
  tercero: 3,
  cuarta: 4,
  cuarto: 4,
  quinta: 5,
  quinto: 5,
  sexta: 6,
  sexto: 6,
  septima: 7,
  septimo: 7,
  octava: 8,
  octavo: 8,
  novena: 9,
  noveno: 9,
  decima: 10,
  decimo: 10,
};

/** "twenty first" → 21: the tens that may lead an ordinal word. */
const TENS: Readonly<Record<string, number>> = { twenty: 20, thirty: 30, forty: 40, fifty: 50 };

/** "5th", "21st", "5a", "5o" (5º folded), "3er", "1ra", "5ta". */
const ORDINAL_DIGITS = /^(\d{1,4})(?:st|nd|rd|th|a|o|er|era|ero|ra|ro|da|do|ta|to|va|vo|na|no|ma|mo)$/;

/** Words joining the streets of a corner. */
const CONNECTORS = new Set(['&', 'and', 'at', 'y', 'con', 'esquina', 'esq', 'corner']);
/** Words after which the rest says where along a street, not which street. */
const CUT_WORDS = new Set(['between', 'entre', 'near', 'cerca', 'by', 'junto', 'next', 'across', 'opposite', 'frente', 'enfrente']);
/** Lead-ins of several words at the start (one of their words alone might be a street's: Front St). */
const LEAD_IN_PHRASES =
  /^(?:(?:right |just )?(?:in front of|across from|next to|by|at|on the corner of|at the corner of|the corner of|corner of|intersection of|en frente de|frente a|cerca de|junto a|al lado de)\s+)+/;
/** One-word lead-ins before the place itself (and before each street of a corner). */
const LEAD_INS = new Set([
  'at',
  'on',
  'in',
  'the',
  'corner',
  'intersection',
  'of',
  'near',
  'by',
  'outside',
  'behind',
  'opposite',
  'to',
  'from',
  'en',
  'la',
  'el',
  'las',
  'los',
  'esquina',
  'esq',
  'interseccion',
  'cruce',
  'de',
  'del',
  'a',
  'al',
  'frente',
  'enfrente',
  'delante',
  'detras',
  'fuera',
  'afuera',
  'cerca',
  'junto',
  'calles',
  'streets',
  'sobre',
  'por',
]);
/** Words dropped everywhere: articles and "of". */
const ARTICLES = new Set(['the', 'a', 'an', 'la', 'el', 'las', 'los', 'de', 'del', 'of']);
/** Places that say nothing: no key, so nothing is matched on them. */
const VAGUE = new Set([
  'here',
  'there',
  'aqui',
  'aca',
  'alli',
  'ahi',
  'home',
  'house',
  'casa',
  'my',
  'mi',
  'street',
  'calle',
  'this',
  'esta',
  'este',
  'location',
  'ubicacion',
]);

/**
 * The canonical key of a text place, or null when it names no place ("here", "my street").
 * Equal keys are candidates; `samePlace` decides (a key ignores street types and directions).
 */
export function normalizePlace(text: string, locale: string): string | null {
  return parsePlace(text, locale)?.key ?? null;
}

/** A text place taken apart, or null when it names no place. */
export function parsePlace(text: string, locale: string): ParsedPlace | null {
  const spanishFirst = locale.toLowerCase().startsWith('es');
  const [head = '', ...rest] = fold(text).split(',');
  // "Calle Mayor, 12": a later comma part that is only a number is the house number; any other
  // (the city, a state, "by the fountain") is not the place.
  const trailingNumber = rest.map((part) => part.trim()).find((part) => /^#?\d{1,5}$/.test(part));
  let tokens = head.trim().replace(LEAD_IN_PHRASES, '').split(/\s+/).filter(Boolean);
  if (trailingNumber) tokens.push(`#${trailingNumber.replace('#', '')}`);
  while (tokens.length > 0 && LEAD_INS.has(tokens[0]!)) tokens = tokens.slice(1);
  const cut = tokens.findIndex((token, i) => i > 0 && CUT_WORDS.has(token));
  if (cut > 0) tokens = tokens.slice(0, cut);

  const parts: string[][] = [[]];
  for (const token of tokens) {
    if (CONNECTORS.has(token)) {
      if (parts.at(-1)!.length > 0) parts.push([]);
    } else parts.at(-1)!.push(token);
  }
  const streets = parts
    .map((part) => parseStreet(stripLeadIns(part), spanishFirst))
    // "my street", "here": nothing to match on.
    .filter((street): street is PlaceStreet & { signs: boolean } => street !== null && !street.name.split(' ').every((word) => VAGUE.has(word)));
  if (streets.length === 0) return null;
  if (streets.length === 1) {
    const { signs, ...plain } = streets[0]!;
    const key = boundedKey(`s:${plain.name}${plain.block === undefined ? '' : `@${plain.block}`}`);
    return { kind: signs ? 'street' : 'place', key, streets: [plain] };
  }
  // A corner: its streets by name, each once; house numbers mean nothing at a corner.
  const byName = new Map<string, PlaceStreet>();
  for (const { signs: _signs, block: _block, ...street } of streets) if (!byName.has(street.name)) byName.set(street.name, street);
  const ordered = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (ordered.length === 1) return { kind: 'street', key: boundedKey(`s:${ordered[0]!.name}`), streets: ordered };
  return { kind: 'corner', key: boundedKey(`x:${ordered.map((street) => street.name).join('|')}`), streets: ordered };
}

/**
 * Whether two parsed places are the same place: equal keys, and no street of one names another
 * type or direction than the same street of the other ("Main St" is not "Main Ave").
 */
export function samePlace(a: ParsedPlace, b: ParsedPlace): boolean {
  if (a.key !== b.key) return false;
  const others = new Map(b.streets.map((street) => [street.name, street]));
  return a.streets.every((street) => {
    const other = others.get(street.name);
    if (!other) return true;
    return compatible(street.type, other.type) && compatible(street.dir, other.dir);
  });
}

/** Whether two texts name the same place (`parsePlace` both, then `samePlace`); false when either names none. */
export function placesMatch(a: string, b: string, locale: string, localeOfB: string = locale): boolean {
  const left = parsePlace(a, locale);
  const right = parsePlace(b, localeOfB);
  return left !== null && right !== null && samePlace(left, right);
}

function compatible(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/** Lower case, no accents; joiners as `&`, house-number marks as `#`, other punctuation a space. */
function fold(text: string): string {
  return (
    text
      .normalize('NFKD')
      .replace(/\p{M}+/gu, '')
      .toLowerCase()
      // "c/ Mayor", "c/Mayor": Spain's abbreviation of calle, before "/" becomes a joiner.
      .replace(/(^|[\s,(])c\s*\/\s*/g, '$1calle ')
      // "s/n" (sin número): no number.
      .replace(/\bs\s*\/\s*n\b/g, ' ')
      .replace(/[&/@+]/g, ' & ')
      // "No. 12", "nº 12" (folded to "no 12"), "num 12", "#12": a house number.
      .replace(/\b(?:no|nro|num|numero|number)\.?\s*(?=\d)/g, '#')
      .replace(/#\s+(?=\d)/g, '#')
      .replace(/[^\p{L}\p{N}&#,\s]+/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

function stripLeadIns(tokens: string[]): string[] {
  let start = 0;
  while (start < tokens.length - 1 && LEAD_INS.has(tokens[start]!)) start++;
  return tokens.slice(start);
}

/**
 * One street (or named place) from its tokens; `signs` says whether anything marked it as a
 * street (a type, a direction, a number). Null when nothing is left of a name.
 */
function parseStreet(input: string[], spanishFirst: boolean): (PlaceStreet & { signs: boolean }) | null {
  let tokens = [...input];
  let house: number | undefined;
  // "#12" anywhere is a house number.
  tokens = tokens.filter((token) => {
    const marked = /^#(\d{1,5})$/.exec(token);
    if (marked) house = Number(marked[1]);
    return !marked && token !== '#';
  });
  // Ordinals to numbers: "twenty first", "fifth", "5th", "5a".
  const numbered: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const next = tokens[i + 1];
    const tens = TENS[token];
    const unit = next === undefined ? undefined : ORDINAL_WORDS[next];
    if (tens !== undefined && unit !== undefined && unit < 10) {
      numbered.push(String(tens + unit));
      i++;
      continue;
    }
    const digits = ORDINAL_DIGITS.exec(token);
    numbered.push(ORDINAL_WORDS[token] !== undefined ? String(ORDINAL_WORDS[token]) : digits ? String(Number(digits[1])) : token);
  }
  tokens = numbered;

  let type: string | undefined;
  let dir: string | undefined;
  let signs = house !== undefined;
  const isBare = (token: string | undefined) => token !== undefined && /^\d{1,5}$/.test(token);

  // The type: the last word (Main St) or the first (Calle Mayor). A leading "st" with more after
  // it is Saint (St Louis Ave).
  const last = tokens.at(-1);
  if (tokens.length > 1 && last !== undefined && STREET_TYPES[last] !== undefined) {
    type = STREET_TYPES[last];
    tokens = tokens.slice(0, -1);
  }
  const first = tokens[0];
  let typeLed = false;
  if (tokens.length > 1 && first === 'st' && type !== undefined) tokens[0] = 'saint';
  else if (tokens.length > 1 && first !== undefined && STREET_TYPES[first] !== undefined) {
    type ??= STREET_TYPES[first];
    tokens = tokens.slice(1);
    typeLed = true;
  }
  // A direction, first or last, when a name remains.
  if (tokens.length > 1 && DIRECTIONS[tokens[0]!] !== undefined) {
    dir = DIRECTIONS[tokens[0]!];
    tokens = tokens.slice(1);
  } else if (tokens.length > 1 && DIRECTIONS[tokens.at(-1)!] !== undefined) {
    dir = DIRECTIONS[tokens.at(-1)!];
    tokens = tokens.slice(0, -1);
  }
  // A bare number with a name beside it is the house number: before the name in English
  // ("123 Main"), after it in Spanish ("Mayor 12"). "5 de Mayo" is a name, and so is the
  // number right after a type ("Calle 5").
  if (house === undefined && tokens.length > 1) {
    const leading = isBare(tokens[0]) && !wasOrdinalAt(input, tokens[0]!) && tokens[1] !== 'de';
    const trailing = isBare(tokens.at(-1)) && !(typeLed && tokens.length === 1);
    if (leading && (!spanishFirst || !trailing)) {
      house = Number(tokens[0]);
      tokens = tokens.slice(1);
    } else if (trailing) {
      house = Number(tokens.at(-1));
      tokens = tokens.slice(0, -1);
    }
  }
  const name = tokens.filter((token) => !ARTICLES.has(token)).join(' ');
  if (!name) return null;
  signs ||= type !== undefined || dir !== undefined || /^\d/.test(name);
  return {
    name,
    ...(type !== undefined ? { type } : {}),
    ...(dir !== undefined ? { dir } : {}),
    ...(house !== undefined ? { block: Math.floor(house / 100) * 100 } : {}),
    signs,
  };
}

/** Whether the original tokens wrote this number as an ordinal ("5th", "fifth"): a street's name, not a house number. */
function wasOrdinalAt(input: readonly string[], number: string): boolean {
  return input.some((token) => token !== number && (ORDINAL_DIGITS.exec(token)?.[1] === number || String(ORDINAL_WORDS[token]) === number));
}

/** The key, or a hash of it when it is too long for an index key with its category. */
function boundedKey(key: string): string {
  if (key.length <= MAX_PLACE_KEY) return key;
  return `${key.slice(0, 2)}#${fnv1a(key, 0x811c9dc5)}${fnv1a(key, 0x01000193)}`;
}

/** FNV-1a, 32 bits, as 8 hex digits: a stable hash with no dependency (collisions only cost a false candidate). */
function fnv1a(text: string, seed: number): string {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

// ---------------------------------------------------------------------------------------------
// The grid.

/** The mean Earth radius (IUGG), in metres: the sphere both the distance and the grid use. */
export const EARTH_RADIUS_M = 6_371_008.8;
/**
 * A cell's height in degrees of latitude (1/180°, about 618 m). A query of radius r reads the
 * cells that its bounding box touches: for r up to about 300 m that is 2×2 cells at most (a
 * box narrower than a cell crosses at most one cell edge each way). Smaller cells would read
 * more cells per query, larger ones more false candidates per cell.
 */
const CELL_DEGREES = 1 / 180;
const ROWS = Math.round(180 / CELL_DEGREES);
/** Above this radius `neighbourCells` refuses: it would read hundreds of cells (a scan in all but name). */
export const MAX_CELL_RADIUS_M = 10_000;

/**
 * The grid cell of a point, as `<row>:<column>`: rows are bands of latitude of fixed height,
 * and each row has as many columns as fit cells about as wide as they are high at its latitude
 * (so cells stay near-square from the equator to the poles), an exact divisor of 360° so that
 * columns wrap at the antimeridian.
 */
export function geoCell(point: Pick<GeoPoint, 'lat' | 'lon'>): string {
  const row = rowOf(point.lat);
  return `${row}:${columnOf(row, point.lon)}`;
}

/**
 * The cells that hold every point within `radiusM` of `point` (on the sphere `distanceMeters`
 * uses): the cells of the bounding box of that spherical cap. At most 2×2 cells for the default
 * radius; more for larger radii. Throws above `MAX_CELL_RADIUS_M`.
 */
export function neighbourCells(point: Pick<GeoPoint, 'lat' | 'lon'>, radiusM: number): string[] {
  if (!(radiusM >= 0) || radiusM > MAX_CELL_RADIUS_M) throw new RangeError(`radius must be between 0 and ${MAX_CELL_RADIUS_M} m`);
  const angular = radiusM / EARTH_RADIUS_M;
  const lat = point.lat;
  const south = Math.max(-90, lat - degrees(angular));
  const north = Math.min(90, lat + degrees(angular));
  // The longitude extent of a cap of angular radius δ around latitude φ is asin(sin δ / cos φ);
  // a cap that reaches a pole spans every longitude.
  const cosLat = Math.cos(radians(lat));
  const reachesPole = north >= 90 || south <= -90 || Math.sin(angular) >= cosLat;
  const halfWidth = reachesPole ? 180 : degrees(Math.asin(Math.sin(angular) / cosLat));
  const cells: string[] = [];
  for (let row = rowOf(south); row <= rowOf(north); row++) {
    const columns = columnsIn(row);
    if (halfWidth >= 180 || 2 * halfWidth >= 360 - 360 / columns) {
      for (let column = 0; column < columns; column++) cells.push(`${row}:${column}`);
      continue;
    }
    const west = columnIndex(row, point.lon - halfWidth);
    const east = columnIndex(row, point.lon + halfWidth);
    // Unwrapped indexes: east may be past the last column when the box crosses the antimeridian.
    for (let column = west; column <= east; column++) cells.push(`${row}:${((column % columns) + columns) % columns}`);
  }
  return [...new Set(cells)];
}

/** The great-circle distance between two points in metres (haversine, on `EARTH_RADIUS_M`). */
export function distanceMeters(a: Pick<GeoPoint, 'lat' | 'lon'>, b: Pick<GeoPoint, 'lat' | 'lon'>): number {
  const dLat = radians(b.lat - a.lat);
  const dLon = radians(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(radians(a.lat)) * Math.cos(radians(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

function rowOf(lat: number): number {
  return Math.min(ROWS - 1, Math.max(0, Math.floor((lat + 90) / CELL_DEGREES)));
}

/**
 * How many columns a row has: cells at least as wide as high all over the row, measured at its
 * edge farthest from the equator (where a degree of longitude is shortest).
 */
function columnsIn(row: number): number {
  const south = row * CELL_DEGREES - 90;
  const farthest = Math.max(Math.abs(south), Math.abs(south + CELL_DEGREES));
  return Math.max(1, Math.floor((360 * Math.cos(radians(farthest))) / CELL_DEGREES));
}

/** The column of a longitude in a row, unwrapped (longitudes beyond ±180 give indexes outside the row). */
function columnIndex(row: number, lon: number): number {
  return Math.floor(((lon + 180) * columnsIn(row)) / 360);
}

function columnOf(row: number, lon: number): number {
  const columns = columnsIn(row);
  return ((columnIndex(row, lon) % columns) + columns) % columns;
}

function radians(deg: number): number {
  return (deg * Math.PI) / 180;
}

function degrees(rad: number): number {
  return (rad * 180) / Math.PI;
}
