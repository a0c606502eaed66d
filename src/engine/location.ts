/**
 * Finds the place in a free-text report ("huge pothole on 5th and Main", "farola apagada en
 * la calle 8 y Juárez"): an intersection, a street address or a landmark after a preposition.
 * It only has to be good enough to pre-fill the question; the resident confirms it.
 */

// Prepositions that introduce a place, longest first so "in front of" wins over "in".
const PLACE_MARKERS = [
  'in front of',
  'across from',
  'next to',
  'outside of',
  'outside',
  'near',
  'by',
  'at the corner of',
  'corner of',
  'at',
  'on',
  'enfrente de',
  'frente a',
  'cerca de',
  'al lado de',
  'esquina de',
  'afuera de',
  'en la esquina de',
  'en',
];

// After these, whatever follows is a place ("near the library"); after "on" or "en" it must look like one.
const STRONG_MARKERS = new Set([
  'in front of',
  'across from',
  'next to',
  'near',
  'at the corner of',
  'corner of',
  'enfrente de',
  'frente a',
  'cerca de',
  'al lado de',
  'esquina de',
  'en la esquina de',
]);

const STREET_WORDS =
  /\b(st|street|ave|avenue|rd|road|blvd|boulevard|dr|drive|ln|lane|way|pl|place|ct|court|hwy|highway|park|plaza|calle|avenida|av|carrera|cra|calzada|camino|parque|esquina)\b/i;
const INTERSECTION = /\b([\p{L}\d][\p{L}\d .'-]{0,40}?)\s+(?:and|&|y|con|at|\/)\s+([\p{L}\d][\p{L}\d .'-]{0,40})/iu;
const HOUSE_NUMBER = /\b\d{1,6}\s+[\p{L}][\p{L}\d .'-]{1,40}/u;

/** The place named in `text`, or null when there is none we trust. */
export function extractPlaceText(text: string): string | null {
  return extractPlace(text)?.place ?? null;
}

/**
 * The place named in `text`, with what the message says before it ("pothole" in "pothole on Elm
 * St") and after it, or null when there is no place we trust.
 */
export function extractPlace(text: string): { place: string; before: string; after: string } | null {
  const lower = text.toLowerCase();
  for (const marker of PLACE_MARKERS) {
    const pattern = new RegExp(`(?:^|\\s)${marker.replace(/ /g, '\\s+')}\\s+(.+)$`, 'iu');
    const match = pattern.exec(lower);
    if (!match?.[1]) continue;
    const start = text.length - match[1].length;
    const { place: candidate, after } = trimPlace(text.slice(start));
    if (candidate && (STRONG_MARKERS.has(marker) ? candidate.length >= 3 : looksLikePlace(candidate))) {
      return { place: candidate, before: text.slice(0, match.index).trim(), after };
    }
  }
  const intersection = INTERSECTION.exec(text);
  if (intersection && (STREET_WORDS.test(intersection[0]) || /\d/.test(intersection[0]))) {
    const { place, after } = trimPlace(text.slice(intersection.index));
    return { place, before: text.slice(0, intersection.index).trim(), after };
  }
  const house = HOUSE_NUMBER.exec(text);
  if (house && STREET_WORDS.test(house[0])) {
    const { place, after } = trimPlace(text.slice(house.index));
    return { place, before: text.slice(0, house.index).trim(), after };
  }
  return null;
}

function trimPlace(text: string): { place: string; after: string } {
  // A place ends at a sentence break or a clause that describes the problem instead.
  const [first = ''] = text.split(/[.!?;,\n]|\s+(?:since|for|it's|its|it is|and it|which|that|please|pls|desde|hace|por favor|que)\s+/i);
  return { place: first.replace(/\s+/g, ' ').trim().slice(0, 120), after: text.slice(first.length).trim() };
}

function looksLikePlace(candidate: string): boolean {
  if (candidate.length < 3) return false;
  return /\d/.test(candidate) || STREET_WORDS.test(candidate) || /\s(?:and|&|y)\s/i.test(candidate) || /^[\p{Lu}]/u.test(candidate);
}
