/**
 * Finding roles and sign-ups by part of their title (`namedIn`): case and accents do not matter,
 * a word may be cut or have an "s" more, short words say nothing, and the best-named win.
 */
import { describe, expect, it } from 'vitest';
import { namedIn } from '../../dialogs/dialog-kit.js';

const titles = ['Food bank sorting shift', 'Food bank delivery driver', 'Food drive', 'Riverside Park cleanup', 'Clasificación de abrigos de invierno'];
const find = (text: string, share = 0.51) => namedIn(text, titles, (title) => title, share);

describe('namedIn', () => {
  it('finds one title by part of it, in any case and without accents', () => {
    expect(find('RIVERSIDE park')).toEqual(['Riverside Park cleanup']);
    expect(find('clasificacion de abrigos')).toEqual(['Clasificación de abrigos de invierno']);
    // A word cut short, or with an "s" more.
    expect(find('clean')).toEqual(['Riverside Park cleanup']);
    expect(find('food drives')).toEqual(['Food drive']);
  });

  it('gives every title that names as many of the words, and only those', () => {
    expect(find('food bank')).toEqual(['Food bank sorting shift', 'Food bank delivery driver']);
    expect(find('food')).toEqual(['Food bank sorting shift', 'Food bank delivery driver', 'Food drive']);
  });

  it('finds nothing in nonsense, numbers or short words, nor when too few of the words are a title’s', () => {
    expect(find('zxqv blorp')).toEqual([]);
    expect(find('2')).toEqual([]);
    expect(find('de la')).toEqual([]);
    // "bank" is not in "Food drive": half the words are not enough on the role list.
    expect(find('food bank', 0.51).includes('Food drive')).toBe(false);
    expect(find('I would like the riverside one please')).toEqual([]);
  });

  it('reads a sentence about a sign-up with a lower share ("cancel my food bank shift")', () => {
    expect(find('cancel my food bank shift', 0.3)).toEqual(['Food bank sorting shift']);
    expect(find('cancel my delivery driver shift', 0.3)).toEqual(['Food bank delivery driver']);
    // One word each ("delivery", "shift"): a tie, so neither alone (the dialog lists them).
    expect(find('cancel my delivery shift', 0.3)).toEqual(['Food bank sorting shift', 'Food bank delivery driver']);
    expect(find('I cannot make it on Saturday because of work', 0.3)).toEqual([]);
  });
});
