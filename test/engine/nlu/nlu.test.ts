/**
 * Unit tests of the NLU's parts that must be exact: entities, yes/no, choices, language
 * detection, and the shape of a parse. Uses the real locale data (training takes < 1 s).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Choice } from '../../../src/core/message.js';
import { loadNlu, type Nlu } from '../../../src/engine/nlu/index.js';

const LOCALES_DIR = fileURLToPath(new URL('../../../locales', import.meta.url));

let nlu: Nlu;
const printed = vi.fn();

beforeAll(() => {
  // natural's package root prints through dotenv; the NLU must load without a word on stdout.
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) => vi.spyOn(console, method).mockImplementation(printed));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => {
    printed();
    return true;
  });
  nlu = loadNlu(LOCALES_DIR, ['en', 'es']);
  nlu.parse('pothole on 5th and main', 'en');
  spies.forEach((spy) => spy.mockRestore());
  write.mockRestore();
});

afterAll(() => vi.restoreAllMocks());

describe('loadNlu', () => {
  it('prints nothing while loading and parsing', () => {
    expect(printed).not.toHaveBeenCalled();
  });

  it('lists the loaded locales, and refuses to load none', () => {
    expect(nlu.locales).toEqual(['en', 'es']);
    expect(() => loadNlu(LOCALES_DIR, [])).toThrow(/at least one locale/);
  });

  it('fails with the file name when a locale has no NLU data', () => {
    expect(() => loadNlu(LOCALES_DIR, ['xx'])).toThrow(/xx[/\\]nlu[/\\]intents\.json/);
  });
});

describe('parse', () => {
  it.each([
    ['I want to report a problem', 'en', 'report_problem'],
    ['wheres my report', 'en', 'check_status'],
    ['how can I volunteer', 'en', 'find_volunteer'],
    ['thx', 'en', 'thanks'],
    ['stop texting me', 'en', 'unsubscribe'],
    ['I want updates again', 'en', 'subscribe'],
    ['quiero reportar un problema', 'es', 'report_problem'],
    ['q onda', 'es', 'greeting'],
    ['borrar mis datos porfa', 'es', 'delete_my_data'],
  ] as const)('%s (%s) → %s', (text, locale, intent) => {
    expect(nlu.parse(text, locale).intent).toBe(intent);
  });

  it.each([
    ['streetlight out on elm', 'en', 'streetlight'],
    ['someone dumped a mattress in the alley', 'en', 'illegal_dumping'],
    ['walk button broken at 3rd and pine', 'en', 'traffic_signal'],
    ["car hasn't moved in 3 weeks", 'en', 'abandoned_vehicle'],
    ['water gushing from the curb', 'en', 'water_leak'],
    ['loud party every night', 'en', 'noise'],
    ['swings broken at the park', 'en', 'park'],
    ['la farola no prende', 'es', 'streetlight'],
    ['hola, hay un bache en la calle hidalgo', 'es', 'pothole'],
  ] as const)('%s (%s) is a report about %s', (text, locale, category) => {
    const result = nlu.parse(text, locale);
    expect(result.intent).toBe('report_problem');
    expect(result.category).toBe(category);
    expect(result.categoryConfidence).toBeGreaterThan(0);
  });

  it('gives a report without a category cue `other` with a low category confidence', () => {
    for (const [text, locale] of [
      ['I want to report a problem', 'en'],
      ['quiero reportar un problema', 'es'],
    ] as const) {
      const result = nlu.parse(text, locale);
      expect(result.category).toBe('other');
      expect(result.categoryConfidence).toBeLessThan(0.15);
    }
  });

  it('has no category outside report_problem', () => {
    const result = nlu.parse('thank you so much', 'en');
    expect(result.intent).toBe('thanks');
    expect(result.category).toBeNull();
    expect(result.categoryConfidence).toBe(0);
  });

  it.each(['asdfgh', 'lol', '🙂', '', '   ', 'qwerty uiop', 'who won the game last night'])('%j is none', (text) => {
    const result = nlu.parse(text, 'en');
    expect(result.intent).toBe('none');
    expect(result.confidence).toBeLessThan(0.3);
  });

  it('keeps confidences in 0..1 and reports the locale used', () => {
    for (const text of ['pothole', 'hola', 'R-7K3QX', 'x'.repeat(2000), 'word '.repeat(500)]) {
      const result = nlu.parse(text, 'en');
      expect(result.confidence).toBeGreaterThanOrEqual(0);
      expect(result.confidence).toBeLessThanOrEqual(1);
      expect(result.locale).toBe('en');
    }
  });

  it('detects the locale when none is given, falling back to the first', () => {
    expect(nlu.parse('where is my report').locale).toBe('en');
    expect(nlu.parse('hola, quiero reportar un bache en mi calle').locale).toBe('es');
    expect(nlu.parse('asdfgh').locale).toBe('en');
  });

  it('accepts a regional or differently cased locale', () => {
    expect(nlu.parse('hola', 'es-MX').locale).toBe('es');
    expect(nlu.parse('hello', 'EN').locale).toBe('en');
  });

  it('is a pure function of its input', () => {
    const text = 'the street light on 4th is out again pls fix';
    expect(nlu.parse(text, 'en')).toEqual(nlu.parse(text, 'en'));
  });
});

describe('entities', () => {
  it.each(['r7k3qx', '#7K3QX', 'R-7K3QX', 'status of r 7k3qx please', 'any update on R-7K3QX?'])('reads the reference in %j', (text) => {
    const result = nlu.parse(text, 'en');
    expect(result.entities.reference).toBe('R-7K3QX');
    expect(result.intent).toBe('check_status');
  });

  it('reads idea and role references, which point at their own intents', () => {
    // Supporting someone's idea is browsing ideas (the ideas dialog), not submitting one.
    expect(nlu.parse('support I-4F2K9', 'en')).toMatchObject({ intent: 'browse_ideas', entities: { reference: 'I-4F2K9' } });
    expect(nlu.parse('V-8M2PQ', 'es')).toMatchObject({ intent: 'find_volunteer', entities: { reference: 'V-8M2PQ' } });
  });

  it('has no reference where there is none', () => {
    expect(nlu.parse('the rates are too high', 'en').entities.reference).toBeUndefined();
  });

  it.each([
    ['2', 'en', 2],
    ['#2', 'en', 2],
    ['the 2nd one', 'en', 2],
    ['second', 'en', 2],
    ['option 3', 'en', 3],
    ['I think the third one please', 'en', 3],
    ['one', 'en', 1],
    ['segundo', 'es', 2],
    ['la dos', 'es', 2],
    ['el 2do', 'es', 2],
    ['2º', 'es', 2],
    ['la primera opción porfa', 'es', 1],
    ['número 4', 'es', 4],
  ] as const)('reads the number in %j (%s) as %i', (text, locale, number) => {
    expect(nlu.parse(text, locale).entities.number).toBe(number);
  });

  it('does not take an address or a choice between numbers for a pick', () => {
    expect(nlu.parse('pothole on 5th and main', 'en').entities.number).toBeUndefined();
    expect(nlu.parse('2 or 3', 'en').entities.number).toBeUndefined();
    expect(nlu.parse('hay un bache en la calle 5 de mayo', 'es').entities.number).toBeUndefined();
  });

  it('does not read an intent into the words around a pick', () => {
    expect(nlu.parse('the 2nd one', 'en').intent).toBe('none');
    expect(nlu.parse('la dos porfa', 'es').intent).toBe('none');
  });

  it.each([
    ['español', 'en', 'es'],
    ['spanish please', 'en', 'es'],
    ['en español por favor', 'en', 'es'],
    ['english', 'en', 'en'],
    ['inglés', 'es', 'en'],
    ['english please', 'es', 'en'],
    ['cambiar a español', 'es', 'es'],
  ] as const)('change_language %j (%s) asks for %s', (text, locale, language) => {
    const result = nlu.parse(text, locale);
    expect(result.intent).toBe('change_language');
    expect(result.entities.language).toBe(language);
  });

  it('leaves the language out when none is named, or outside change_language', () => {
    const asked = nlu.parse('change language', 'en');
    expect(asked.intent).toBe('change_language');
    expect(asked.entities.language).toBeUndefined();
    expect(nlu.parse('pothole on spanish st', 'en').entities.language).toBeUndefined();
  });
});

describe('yesNo', () => {
  it.each(['yes', 'y', 'yep', 'Yeah!', 'sure', 'ok', 'correct', 'yes please', '👍'])('%j is yes in English', (text) => {
    expect(nlu.yesNo(text, 'en')).toBe('yes');
  });

  it.each(['no', 'nope', 'n', 'nah', 'not really', 'NO.', 'no thanks'])('%j is no in English', (text) => {
    expect(nlu.yesNo(text, 'en')).toBe('no');
  });

  it.each(['sí', 'si', 'Siii', 'claro', 'dale', 'sí, claro', 'va'])('%j is yes in Spanish', (text) => {
    expect(nlu.yesNo(text, 'es')).toBe('yes');
  });

  it.each(['no', 'nel', 'para nada', 'claro que no', 'noo'])('%j is no in Spanish', (text) => {
    expect(nlu.yesNo(text, 'es')).toBe('no');
  });

  it('understands either language whatever the locale', () => {
    expect(nlu.yesNo('sí', 'en')).toBe('yes');
    expect(nlu.yesNo('yes', 'es')).toBe('yes');
    expect(nlu.yesNo('nope', 'es')).toBe('no');
  });

  it.each(['no sé', 'not sure', 'maybe', 'tal vez', 'pothole', '', 'what?', 'R-7K3QX'])('%j is neither', (text) => {
    expect(nlu.yesNo(text, 'en')).toBeNull();
    expect(nlu.yesNo(text, 'es')).toBeNull();
  });
});

describe('matchChoice', () => {
  const choices: Choice[] = [
    { id: 'pothole', label: 'Pothole' },
    { id: 'streetlight', label: 'Street light out' },
    { id: 'traffic_signal', label: 'Traffic light broken' },
    { id: 'graffiti', label: 'Graffiti' },
  ];

  it.each([
    ['2', 'streetlight'],
    ['#4', 'graffiti'],
    ['the 2nd one', 'streetlight'],
    ['option 3', 'traffic_signal'],
    ['first', 'pothole'],
    ['segundo', 'streetlight'],
    ['la primera', 'pothole'],
  ])('picks by number: %j → %s', (text, id) => {
    expect(nlu.matchChoice(text, choices, 'en')).toBe(id);
  });

  it.each([
    ['Pothole', 'pothole'],
    ['potholle', 'pothole'],
    ['pot hole', 'pothole'],
    ['grafiti', 'graffiti'],
    ['street light', 'streetlight'],
    ['streetlight', 'streetlight'],
    ['traffic light', 'traffic_signal'],
    ['the pothole one', 'pothole'],
    ['traffic_signal', 'traffic_signal'],
  ])('picks by label or id: %j → %s', (text, id) => {
    expect(nlu.matchChoice(text, choices, 'en')).toBe(id);
  });

  it('matches labels in Spanish too', () => {
    const es: Choice[] = [
      { id: 'pothole', label: 'Bache' },
      { id: 'streetlight', label: 'Alumbrado público' },
      { id: 'trash', label: 'Basura no recogida' },
    ];
    expect(nlu.matchChoice('vache', es, 'es')).toBe('pothole');
    expect(nlu.matchChoice('alumbrado', es, 'es')).toBe('streetlight');
    expect(nlu.matchChoice('la basura', es, 'es')).toBe('trash');
    expect(nlu.matchChoice('la tercera', es, 'es')).toBe('trash');
  });

  it('returns null when two choices match equally', () => {
    expect(nlu.matchChoice('light', choices, 'en')).toBeNull();
  });

  it.each(['asdf', 'banana', '5', '0', '', 'something else entirely'])('returns null for %j', (text) => {
    expect(nlu.matchChoice(text, choices, 'en')).toBeNull();
  });

  it('returns null when there is nothing to choose from', () => {
    expect(nlu.matchChoice('1', [], 'en')).toBeNull();
  });
});

describe('detectLocale', () => {
  it.each(['where is my report', 'the streetlight on my street has been out for a week', 'I want to report a pothole please'])('%j is English', (text) => {
    expect(nlu.detectLocale(text)).toBe('en');
  });

  it.each(['¿dónde está mi reporte?', 'hola, quiero reportar un bache en mi calle', 'la farola no prende desde ayer', 'muchas gracias por todo'])(
    '%j is Spanish',
    (text) => {
      expect(nlu.detectLocale(text)).toBe('es');
    },
  );

  it.each(['ok', 'hi', '5th and main', 'R-7K3QX', '2', '👍', 'no', 'si', 'taco', ''])('%j is too short or ambiguous to tell', (text) => {
    expect(nlu.detectLocale(text)).toBeNull();
  });
});
