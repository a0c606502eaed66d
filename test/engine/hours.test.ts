/**
 * The amounts residents type after a shift: hours in English and Spanish, and whole counts for
 * a role's outcome question.
 */
import { describe, expect, it } from 'vitest';
import { mentionsHours, parseHours, parseWholeNumber } from '../../src/engine/hours.js';

describe('parseHours', () => {
  it.each([
    ['2', 2],
    ['2.5', 2.5],
    ['2,5', 2.5],
    ['3 hours', 3],
    ['about 3 hrs', 3],
    ['3h', 3],
    ['2 and a half', 2.5],
    ['two and a half hours', 2.5],
    ['2 hours and a half', 2.5],
    ['an hour and a half', 1.5],
    ['half an hour', 0.5],
    ['2½', 2.5],
    ['2 1/2 hours', 2.5],
    ['1/2', 0.5],
    ['90 minutes', 1.5],
    ['45 min', 0.75],
    ['2:30', 2.5],
    ['2h30', 2.5],
    ['1 hour 30 minutes', 1.5],
    ['twenty-four', 24],
    ['I gave four hours today!', 4],
  ])('reads "%s" (en) as %d', (text, hours) => {
    expect(parseHours(text)).toBe(hours);
  });

  it.each([
    ['dos horas', 2],
    ['dos', 2],
    ['2 horas y media', 2.5],
    ['dos y media', 2.5],
    ['una hora y media', 1.5],
    ['media hora', 0.5],
    ['tres horas y cuarto', 3.25],
    ['unas cuatro horas', 4],
    ['90 minutos', 1.5],
    ['veinticuatro', 24],
    ['Estuve 1,5 horas', 1.5],
  ])('reads "%s" (es) as %d', (text, hours) => {
    expect(parseHours(text)).toBe(hours);
  });

  it.each(['lots', 'all day', 'banana', 'no sé', "I don't know", '2 or 3', '2-3 hours', 'entre 2 y 3', ''])('does not guess at "%s"', (text) => {
    expect(parseHours(text)).toBeNull();
  });

  it('reads amounts out of bounds as they are, for the caller to refuse', () => {
    expect(parseHours('100 hours')).toBe(100);
    expect(parseHours('0')).toBe(0);
    expect(parseHours('5 minutes')).toBeCloseTo(0.08, 2);
  });
});

describe('parseWholeNumber', () => {
  it.each([
    ['12', 12],
    ['12 bags', 12],
    ['about 40 bags of trash', 40],
    ['twelve', 12],
    ['doce bolsas', 12],
    ['1,200', 1200],
    ['1.200', 1200],
    ['none', 0],
    ['ninguna', 0],
    ['0', 0],
  ])('reads "%s" as %d', (text, count) => {
    expect(parseWholeNumber(text)).toBe(count);
  });

  it.each(['2.5', 'lots', 'between 10 and 12', 'muchas', ''])('does not guess at "%s"', (text) => {
    expect(parseWholeNumber(text)).toBeNull();
  });
});

describe('mentionsHours', () => {
  it.each(['3 hours', 'yes, about 2h', 'dos horas', 'an hour', 'media hora', '2 hrs'])('sees hours in "%s"', (text) => {
    expect(mentionsHours(text)).toBe(true);
  });
  it.each(['2', 'yes', 'honestly no', 'hoy no pude', '12 bags'])('sees none in "%s"', (text) => {
    expect(mentionsHours(text)).toBe(false);
  });
});
