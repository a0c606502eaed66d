/**
 * The NLU evaluation set (test/fixtures/nlu-eval/<lang>.jsonl, scored by `npm run nlu:eval`) is
 * only worth its numbers while it stays out of training: no eval message may appear, in the
 * NLU's normal form (folded, accents and punctuation gone), among the training utterances or the
 * dev sets of any locale. Also checks the set covers every intent and category in both languages.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readEvalSet } from '../../bench/nlu-eval.js';
import { CATEGORIES, INTENTS } from '../../src/domain/vocabulary.js';
import { words } from '../../src/engine/nlu/text-normalizer.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LOCALES = ['en', 'es'] as const;
const normal = (text: string): string => words(text).join(' ');

function nluTexts(): Set<string> {
  const texts = new Set<string>();
  for (const locale of readdirSync(join(ROOT, 'locales'))) {
    const dir = join(ROOT, 'locales', locale, 'nlu');
    for (const file of ['intents.json', 'categories.json', 'intents.dev.json', 'categories.dev.json']) {
      const data = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, string[]>;
      for (const list of Object.values(data)) for (const text of list) texts.add(normal(text));
    }
  }
  return texts;
}

describe('NLU evaluation set', () => {
  const trained = nluTexts();

  for (const locale of LOCALES) {
    const lines = readEvalSet(join(ROOT, 'test', 'fixtures', 'nlu-eval', `${locale}.jsonl`));

    it(`${locale}: no message is in the training or dev data`, () => {
      expect(lines.filter((line) => trained.has(normal(line.text))).map((line) => line.text)).toEqual([]);
    });

    it(`${locale}: at least 300 distinct messages covering every intent and category`, () => {
      expect(new Set(lines.map((line) => normal(line.text))).size).toBe(lines.length);
      expect(lines.length).toBeGreaterThanOrEqual(300);
      expect(lines.every((line) => line.locale === locale)).toBe(true);
      const intents = new Set(lines.map((line) => line.intent));
      for (const intent of INTENTS) expect(intents).toContain(intent);
      const categories = new Set(lines.map((line) => line.category));
      for (const category of CATEGORIES) expect(categories).toContain(category);
      for (const line of lines) expect(line.category === null).toBe(line.intent !== 'report_problem');
    });
  }
});
