/**
 * Accuracy of the NLU on the held-out dev sets (locales/<lang>/nlu/*.dev.json), which are never
 * used for training. Prints a table per language and fails below floors set a little under the
 * values measured when the model was tuned:
 *
 *   measured   intent   none rejected   category   detectLocale answered (wrong)
 *   en         0.933    0.92            0.930      0.880 (2: Spanish lines of the en set)
 *   es         0.891    0.84            0.944      0.834 (0)
 *
 * The dev sets also chose the thresholds (nlu.ts), so these numbers are somewhat optimistic for
 * text the NLU has never seen; the floors guard against regressions, not promise a level.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNlu, type Nlu } from '../../../src/engine/nlu/index.js';

const LOCALES_DIR = fileURLToPath(new URL('../../../locales', import.meta.url));
const LOCALES = ['en', 'es'] as const;

/** Floors per language: measured minus a margin of two or three dev messages. */
const FLOORS: Record<(typeof LOCALES)[number], { intent: number; none: number; category: number }> = {
  en: { intent: 0.9, none: 0.84, category: 0.89 },
  es: { intent: 0.86, none: 0.76, category: 0.9 },
};

type DevSet = Record<string, string[]>;

function readDev(locale: string, file: string): DevSet {
  return JSON.parse(readFileSync(join(LOCALES_DIR, locale, 'nlu', file), 'utf8')) as DevSet;
}

interface Scores {
  intent: number;
  none: number;
  category: number;
  detected: number;
  detectedWrong: number;
  errors: string[];
}

function score(nlu: Nlu, locale: string): Scores {
  const intents = readDev(locale, 'intents.dev.json');
  const categories = readDev(locale, 'categories.dev.json');
  const errors: string[] = [];
  let inScope = 0;
  let inScopeRight = 0;
  let offTopic = 0;
  let rejected = 0;
  for (const [gold, utterances] of Object.entries(intents)) {
    for (const text of utterances) {
      const { intent, confidence } = nlu.parse(text, locale);
      if (gold === 'none') {
        offTopic++;
        if (intent === 'none') rejected++;
        else errors.push(`none → ${intent} (${confidence.toFixed(2)}): ${text}`);
      } else {
        inScope++;
        if (intent === gold) inScopeRight++;
        else errors.push(`${gold} → ${intent} (${confidence.toFixed(2)}): ${text}`);
      }
    }
  }
  let reports = 0;
  let categoryRight = 0;
  for (const [gold, utterances] of Object.entries(categories)) {
    for (const text of utterances) {
      reports++;
      const { category } = nlu.parse(text, locale);
      if (category === gold) categoryRight++;
      else errors.push(`category ${gold} → ${category ?? 'null'}: ${text}`);
    }
  }
  // Language detection over every in-scope dev line of this language.
  let lines = 0;
  let detected = 0;
  let detectedWrong = 0;
  for (const set of [intents, categories]) {
    for (const [label, utterances] of Object.entries(set)) {
      if (label === 'none') continue;
      for (const text of utterances) {
        lines++;
        const found = nlu.detectLocale(text);
        if (found !== null) detected++;
        if (found !== null && found !== locale) detectedWrong++;
      }
    }
  }
  return {
    intent: inScopeRight / inScope,
    none: rejected / offTopic,
    category: categoryRight / reports,
    detected: detected / lines,
    detectedWrong,
    errors,
  };
}

describe('NLU accuracy on the held-out dev sets', () => {
  let nlu: Nlu;
  let loadMs = 0;
  let parsesPerSecond = 0;
  const results = new Map<string, Scores>();

  beforeAll(() => {
    const started = performance.now();
    nlu = loadNlu(LOCALES_DIR, LOCALES);
    loadMs = performance.now() - started;
    for (const locale of LOCALES) results.set(locale, score(nlu, locale));
    // Throughput over all dev lines, half with a locale given and half detected.
    const lines = LOCALES.flatMap((locale) => Object.values(readDev(locale, 'intents.dev.json')).flat());
    const rounds = 20;
    const timer = performance.now();
    for (let round = 0; round < rounds; round++) {
      lines.forEach((text, i) => nlu.parse(text, i % 2 === 0 ? 'en' : undefined));
    }
    parsesPerSecond = (rounds * lines.length) / ((performance.now() - timer) / 1000);
    console.info(
      [
        `NLU dev-set accuracy (loadNlu en+es: ${loadMs.toFixed(0)} ms; ${parsesPerSecond.toFixed(0)} parses/s)`,
        'locale  intent  none-rejected  category  detectLocale answered (wrong)',
        ...LOCALES.map((locale) => {
          const s = results.get(locale) as Scores;
          return `${locale.padEnd(6)}  ${s.intent.toFixed(3)}   ${s.none.toFixed(3)}          ${s.category.toFixed(3)}     ${s.detected.toFixed(3)} (${s.detectedWrong})`;
        }),
      ].join('\n'),
    );
  });

  for (const locale of LOCALES) {
    it(`${locale}: intent accuracy on in-scope messages ≥ ${FLOORS[locale].intent}`, () => {
      const s = results.get(locale) as Scores;
      // The misses are in the failure message, to see what regressed.
      expect(s.intent, s.errors.join('\n')).toBeGreaterThanOrEqual(FLOORS[locale].intent);
    });

    it(`${locale}: off-topic and gibberish messages come out none (≥ ${FLOORS[locale].none})`, () => {
      const s = results.get(locale) as Scores;
      expect(s.none, s.errors.join('\n')).toBeGreaterThanOrEqual(FLOORS[locale].none);
    });

    it(`${locale}: category accuracy on problem reports ≥ ${FLOORS[locale].category}`, () => {
      const s = results.get(locale) as Scores;
      expect(s.category, s.errors.join('\n')).toBeGreaterThanOrEqual(FLOORS[locale].category);
    });

    it(`${locale}: detectLocale answers most dev lines and is rarely wrong`, () => {
      const s = results.get(locale) as Scores;
      // Measured: 85.7 % answered over both languages; the only "wrong" answers are Spanish lines
      // of the English change_language set ("en español"), which are Spanish.
      expect(s.detected).toBeGreaterThanOrEqual(0.8);
      expect(s.detectedWrong).toBeLessThanOrEqual(2);
    });
  }

  // Training time and parse speed are printed above and measured in `npm run bench` (NLU),
  // never asserted here: shared machines are noisy, and a timing test that fails under load
  // says nothing about the code.
});
