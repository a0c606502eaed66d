/**
 * Places (src/domain/places.ts): the text-place key in English and Spanish, scored on a labelled
 * set of pairs that must and must not be the same place (precision and recall printed, and held
 * to a floor), and the grid: every point within the radius of a point lies in its neighbour
 * cells, for random points everywhere on Earth (poles and antimeridian included).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  distanceMeters,
  EARTH_RADIUS_M,
  geoCell,
  MAX_CELL_RADIUS_M,
  neighbourCells,
  normalizePlace,
  parsePlace,
  placesMatch,
} from '../../src/domain/places.js';

/** A text with the locale the resident wrote it in. */
type Said = [text: string, locale: 'en' | 'es'];

/** Pairs a resident would call the same place. */
const SAME: [Said, Said][] = [
  [
    ['5th & Main', 'en'],
    ['main st and 5th', 'en'],
  ],
  [
    ['5th & Main', 'en'],
    ['Main Street & Fifth', 'en'],
  ],
  [
    ['5th & Main', 'en'],
    ['5th/main', 'en'],
  ],
  [
    ['5th & Main', 'en'],
    ['corner of 5th and main', 'en'],
  ],
  [
    ['5th & Main', 'en'],
    ['Calle 5 y Main', 'es'],
  ],
  [
    ['5th & Main', 'en'],
    ['esquina de la calle 5 con main', 'es'],
  ],
  [
    ['main st and 5th', 'en'],
    ['Calle Quinta y Main', 'es'],
  ],
  [
    ['5th St & Main St', 'en'],
    ['MAIN ST. @ 5TH ST.', 'en'],
  ],
  [
    ['Fifth Street and Main', 'en'],
    ['at the corner of Main and 5th', 'en'],
  ],
  [
    ['5th and main', 'en'],
    ['Main at 5th', 'en'],
  ],
  [
    ['5th + Main', 'en'],
    ['intersection of 5th & Main Street', 'en'],
  ],
  [
    ['Calle 5 y Main', 'es'],
    ['calle 5 esquina main', 'es'],
  ],
  [
    ['Calle 5 y Main', 'es'],
    ['5ª y Main', 'es'],
  ],
  [
    ['Calle 5 y Main', 'es'],
    ['esq. calle 5 y main', 'es'],
  ],
  [
    ['Av. Reforma y Calle 5', 'es'],
    ['calle quinta con avenida reforma', 'es'],
  ],
  [
    ['Avenida Juárez con Calle Morelos', 'es'],
    ['Morelos y Juarez', 'es'],
  ],
  [
    ['Elm Ave & 21st St', 'en'],
    ['twenty first and elm avenue', 'en'],
  ],
  [
    ['Elm Ave & 21st St', 'en'],
    ['21st/elm', 'en'],
  ],
  [
    ['N Main St & 3rd', 'en'],
    ['third and north main street', 'en'],
  ],
  [
    ['Oak Blvd & 2nd', 'en'],
    ['second & oak boulevard', 'en'],
  ],
  [
    ['Cedar Dr & Pine Rd', 'en'],
    ['pine road and cedar drive', 'en'],
  ],
  [
    ['123 Main St', 'en'],
    ['123 Main Street', 'en'],
  ],
  [
    ['123 Main St', 'en'],
    ['150 main st', 'en'],
  ],
  [
    ['123 Main St', 'en'],
    ['in front of 123 main st', 'en'],
  ],
  [
    ['Calle Mayor 12', 'es'],
    ['Calle Mayor, 12', 'es'],
  ],
  [
    ['Calle Mayor 12', 'es'],
    ['c/ Mayor 14', 'es'],
  ],
  [
    ['Calle Mayor 12', 'es'],
    ['C/Mayor nº 12', 'es'],
  ],
  [
    ['Main St', 'en'],
    ['main street', 'en'],
  ],
  [
    ['Main St', 'en'],
    ['on Main', 'en'],
  ],
  [
    ['Main St between 4th and 5th', 'en'],
    ['main street', 'en'],
  ],
  [
    ['the library', 'en'],
    ['Library', 'en'],
  ],
  [
    ['Riverside park', 'en'],
    ['in riverside park', 'en'],
  ],
  [
    ['Riverside Park', 'en'],
    ['near Riverside Park, by the fountain', 'en'],
  ],
  [
    ['el parque central', 'es'],
    ['Parque Central', 'es'],
  ],
  [
    ['5th & Main, Springfield', 'en'],
    ['5th and Main', 'en'],
  ],
  [
    ['Avenida 5 de Mayo 120', 'es'],
    ['av. 5 de mayo #150', 'es'],
  ],
  [
    ['St Louis Ave & Main', 'en'],
    ['main and saint louis avenue', 'en'],
  ],
];

/** Pairs that are different places, however alike they read. */
const DIFFERENT: [Said, Said][] = [
  [
    ['5th & Main', 'en'],
    ['6th & Main', 'en'],
  ],
  [
    ['5th & Main', 'en'],
    ['5th & Elm', 'en'],
  ],
  [
    ['5th & Main', 'en'],
    ['Main St', 'en'],
  ],
  [
    ['5th & Main', 'en'],
    ['5th St', 'en'],
  ],
  [
    ['Main St & 5th', 'en'],
    ['Main Ave & 5th', 'en'],
  ],
  [
    ['N Main St', 'en'],
    ['S Main St', 'en'],
  ],
  [
    ['123 Main St', 'en'],
    ['950 Main St', 'en'],
  ],
  [
    ['123 Main St', 'en'],
    ['123 Elm St', 'en'],
  ],
  [
    ['Calle 5 y Main', 'es'],
    ['Calle 6 y Main', 'es'],
  ],
  [
    ['Calle 5', 'es'],
    ['Avenida 5', 'es'],
  ],
  [
    ['Calle Mayor 12', 'es'],
    ['Calle Mayor 312', 'es'],
  ],
  [
    ['the library', 'en'],
    ['Riverside park', 'en'],
  ],
  [
    ['Riverside park', 'en'],
    ['Riverside Dr', 'en'],
  ],
  [
    ['Oak Blvd & 2nd', 'en'],
    ['Oak Blvd & 22nd', 'en'],
  ],
  [
    ['Elm Ave & 21st St', 'en'],
    ['Elm Ave & 1st St', 'en'],
  ],
  [
    ['5 de Mayo', 'es'],
    ['Calle 5', 'es'],
  ],
  [
    ['Front St & Main', 'en'],
    ['Main St', 'en'],
  ],
  [
    ['Parque Central', 'es'],
    ['Parque Norte', 'es'],
  ],
  [
    ['Cedar Dr & Pine Rd', 'en'],
    ['Cedar Dr & Pine Ct', 'en'],
  ],
  [
    ['here', 'en'],
    ['here', 'en'],
  ],
  [
    ['aquí', 'es'],
    ['aquí', 'es'],
  ],
];

describe('text places', () => {
  it('give one key for every spelling of 5th and Main, in English and Spanish', () => {
    const spellings: Said[] = [
      ['5th & Main', 'en'],
      ['main st and 5th', 'en'],
      ['Main Street & Fifth', 'en'],
      ['5th/main', 'en'],
      ['corner of 5th and main', 'en'],
      ['Calle 5 y Main', 'es'],
      ['esquina de la calle 5 con main', 'es'],
    ];
    for (const [text, locale] of spellings) expect(normalizePlace(text, locale), text).toBe('x:5|main');
  });

  it('read streets, house numbers and named places as documented', () => {
    expect(parsePlace('123 Main St', 'en')).toEqual({ kind: 'street', key: 's:main@100', streets: [{ name: 'main', type: 'st', block: 100 }] });
    expect(parsePlace('Calle Mayor 12', 'es')).toEqual({ kind: 'street', key: 's:mayor@0', streets: [{ name: 'mayor', type: 'st', block: 0 }] });
    // The number right after the type is the street's name, not a house number.
    expect(normalizePlace('Calle 5', 'es')).toBe('s:5');
    expect(normalizePlace('5 de Mayo', 'es')).toBe('s:5 mayo');
    expect(parsePlace('the library', 'en')).toEqual({ kind: 'place', key: 's:library', streets: [{ name: 'library' }] });
    expect(parsePlace('Riverside park', 'en')?.key).toBe('s:riverside park');
    expect(parsePlace('N Main St', 'en')?.streets).toEqual([{ name: 'main', type: 'st', dir: 'n' }]);
    expect(parsePlace('St Louis Ave', 'en')?.key).toBe('s:saint louis');
  });

  it('name no place for words that say nothing', () => {
    for (const text of ['here', 'aquí', 'my street', 'esta calle', '', '   ', '!!!', 'at home']) expect(normalizePlace(text, 'en'), text).toBeNull();
  });

  it('keep keys short enough for an index, hashing a long one', () => {
    const long = `${'very long street name '.repeat(20)}st`;
    const key = normalizePlace(long, 'en');
    expect(key).not.toBeNull();
    expect(key!.length).toBeLessThanOrEqual(120);
    expect(normalizePlace(long, 'en')).toBe(key);
  });

  it('match the labelled pairs (precision and recall printed)', () => {
    const missed = SAME.filter(([[a, la], [b, lb]]) => !placesMatch(a, b, la, lb));
    const wrong = DIFFERENT.filter(([[a, la], [b, lb]]) => placesMatch(a, b, la, lb));
    const truePositives = SAME.length - missed.length;
    const precision = truePositives / (truePositives + wrong.length);
    const recall = truePositives / SAME.length;
    console.info(
      `places: ${SAME.length} same pairs, ${DIFFERENT.length} different; precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)}` +
        (missed.length ? `; missed ${JSON.stringify(missed)}` : '') +
        (wrong.length ? `; wrongly matched ${JSON.stringify(wrong)}` : ''),
    );
    expect(precision).toBe(1);
    expect(recall).toBe(1);
  });

  it('match symmetrically', () => {
    for (const [[a, la], [b, lb]] of [...SAME, ...DIFFERENT]) expect(placesMatch(a, b, la, lb)).toBe(placesMatch(b, a, lb, la));
  });
});

/** The point `distance` metres from `from` on `bearing` (radians), on the sphere the module uses. */
function destination(from: { lat: number; lon: number }, distance: number, bearing: number): { lat: number; lon: number } {
  const d = distance / EARTH_RADIUS_M;
  const φ1 = (from.lat * Math.PI) / 180;
  const λ1 = (from.lon * Math.PI) / 180;
  const φ2 = Math.asin(Math.min(1, Math.max(-1, Math.sin(φ1) * Math.cos(d) + Math.cos(φ1) * Math.sin(d) * Math.cos(bearing))));
  const λ2 = λ1 + Math.atan2(Math.sin(bearing) * Math.sin(d) * Math.cos(φ1), Math.cos(d) - Math.sin(φ1) * Math.sin(φ2));
  const lon = ((((λ2 * 180) / Math.PI + 540) % 360) + 360) % 360;
  return { lat: (φ2 * 180) / Math.PI, lon: lon - 180 };
}

const anyPoint = fc.record({
  lat: fc.double({ min: -90, max: 90, noNaN: true }),
  lon: fc.double({ min: -180, max: 180, noNaN: true, maxExcluded: true }),
});
// Points where cities are, and the awkward places: near the poles and the antimeridian.
const awkwardPoint = fc.oneof(
  anyPoint,
  fc.record({ lat: fc.double({ min: 89.9, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 179.999, noNaN: true }) }),
  fc.record({ lat: fc.double({ min: -90, max: -89.9, noNaN: true }), lon: fc.double({ min: -180, max: 179.999, noNaN: true }) }),
  fc.record({ lat: fc.double({ min: -70, max: 70, noNaN: true }), lon: fc.double({ min: 179.99, max: 180, noNaN: true, maxExcluded: true }) }),
  fc.record({ lat: fc.double({ min: -70, max: 70, noNaN: true }), lon: fc.double({ min: -180, max: -179.99, noNaN: true }) }),
);

describe('grid cells', () => {
  it('cover every point within the radius', () => {
    fc.assert(
      fc.property(
        awkwardPoint,
        fc.double({ min: 1, max: 2_000, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        (center, radius, share, bearing) => {
          const target = destination(center, radius * share, bearing);
          // Within the radius as distanceMeters measures it (the generator rounds by a centimetre at the poles).
          fc.pre(distanceMeters(center, target) <= radius);
          expect(neighbourCells(center, radius)).toContain(geoCell(target));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('cover points on the edge of the circle too', () => {
    fc.assert(
      fc.property(
        awkwardPoint,
        fc.double({ min: 1, max: 1_000, noNaN: true }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        (center, radius, bearing) => {
          const target = destination(center, radius * (1 - 1e-9), bearing);
          expect(neighbourCells(center, radius)).toContain(geoCell(target));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('read at most 2×2 cells at the default radius away from the poles, and 5×5 at 1 km', () => {
    fc.assert(
      fc.property(fc.double({ min: -75, max: 75, noNaN: true }), fc.double({ min: -180, max: 179.999, noNaN: true }), (lat, lon) => {
        expect(neighbourCells({ lat, lon }, 250).length).toBeLessThanOrEqual(4);
        expect(neighbourCells({ lat, lon }, 1_000).length).toBeLessThanOrEqual(25);
      }),
      { numRuns: 5_000 },
    );
  });

  it('are equality keys: the same point gives the same cell, and far points another', () => {
    const fifthAndMain = { lat: 39.7817, lon: -89.6501 };
    expect(geoCell(fifthAndMain)).toBe(geoCell({ ...fifthAndMain }));
    expect(geoCell(fifthAndMain)).toMatch(/^\d+:\d+$/);
    expect(geoCell({ lat: 39.9, lon: -89.6501 })).not.toBe(geoCell(fifthAndMain));
    expect(neighbourCells(fifthAndMain, 0)).toEqual([geoCell(fifthAndMain)]);
  });

  it('refuse radii that would read a region rather than a neighbourhood', () => {
    expect(() => neighbourCells({ lat: 0, lon: 0 }, MAX_CELL_RADIUS_M + 1)).toThrow(RangeError);
    expect(() => neighbourCells({ lat: 0, lon: 0 }, -1)).toThrow(RangeError);
    expect(() => neighbourCells({ lat: 0, lon: 0 }, Number.NaN)).toThrow(RangeError);
  });

  it('measure distances by haversine', () => {
    // One degree of latitude on this sphere, and Springfield IL to Chicago (about 300 km).
    expect(distanceMeters({ lat: 0, lon: 0 }, { lat: 1, lon: 0 })).toBeCloseTo((Math.PI / 180) * EARTH_RADIUS_M, 3);
    expect(distanceMeters({ lat: 39.7817, lon: -89.6501 }, { lat: 41.8781, lon: -87.6298 }) / 1000).toBeCloseTo(288, -1);
    expect(distanceMeters({ lat: 10, lon: 179.999 }, { lat: 10, lon: -179.999 })).toBeLessThan(300);
  });
});
