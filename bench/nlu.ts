/**
 * The NLU on its own, in a pinned child process: how long training takes at start, how many
 * messages it classifies per second and how long one takes (p50 / p99), and its accuracy on the
 * held-out dev sets (`locales/<lang>/nlu/*.dev.json`, never trained on), scored as
 * `test/engine/nlu/nlu-accuracy.test.ts` scores it.
 *
 * Usage: node dist/bench/nlu.js <seconds>; prints the result as JSON.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { discoverLocales } from '../src/core/i18n.js';
import { loadNlu, type Nlu } from '../src/engine/nlu/index.js';
import { percentiles } from './lib/load.js';
import { projectRoot } from './lib/paths.js';

type DevSet = Record<string, string[]>;

/** Accuracy of one language on its dev sets. */
export interface NluAccuracy {
  /** In-scope messages given the right intent. */
  intent: number;
  /** Off-topic and gibberish messages answered `none`. */
  noneRejected: number;
  /** Problem reports given the right category. */
  category: number;
  messages: number;
}

/** What the NLU benchmark measured. */
export interface NluResult {
  trainMs: number;
  classificationsPerSecond: number;
  latencyUs: { p50: number; p99: number; max: number };
  messages: number;
  accuracy: Record<string, NluAccuracy>;
}

function readDev(localesDir: string, locale: string, file: string): DevSet {
  return JSON.parse(readFileSync(path.join(localesDir, locale, 'nlu', file), 'utf8')) as DevSet;
}

function accuracy(nlu: Nlu, localesDir: string, locale: string): NluAccuracy {
  const intents = readDev(localesDir, locale, 'intents.dev.json');
  const categories = readDev(localesDir, locale, 'categories.dev.json');
  let inScope = 0;
  let inScopeRight = 0;
  let offTopic = 0;
  let rejected = 0;
  for (const [gold, utterances] of Object.entries(intents)) {
    for (const text of utterances) {
      const { intent } = nlu.parse(text, locale);
      if (gold === 'none') {
        offTopic++;
        if (intent === 'none') rejected++;
      } else {
        inScope++;
        if (intent === gold) inScopeRight++;
      }
    }
  }
  let reports = 0;
  let categoryRight = 0;
  for (const [gold, utterances] of Object.entries(categories)) {
    for (const text of utterances) {
      reports++;
      if (nlu.parse(text, locale).category === gold) categoryRight++;
    }
  }
  return { intent: inScopeRight / inScope, noneRejected: rejected / offTopic, category: categoryRight / reports, messages: inScope + offTopic + reports };
}

function main(): void {
  const seconds = Number(process.argv[2] ?? 5);
  const localesDir = path.join(projectRoot(), 'locales');
  const locales = discoverLocales(localesDir);
  const started = performance.now();
  const nlu = loadNlu(localesDir, locales);
  const trainMs = performance.now() - started;

  const lines = locales.flatMap((locale) =>
    ['intents.dev.json', 'categories.dev.json'].flatMap((file) =>
      Object.values(readDev(localesDir, locale, file))
        .flat()
        .map((text) => ({ text, locale })),
    ),
  );
  // As the pipeline calls it: with the conversation's language; every fourth without, so the
  // language detector runs too (a first message).
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  const timer = performance.now();
  let parsed = 0;
  while (performance.now() < until) {
    for (const [i, line] of lines.entries()) {
      const t = performance.now();
      nlu.parse(line.text, i % 4 === 3 ? undefined : line.locale);
      latencies.push((performance.now() - t) * 1000);
      parsed++;
    }
  }
  const elapsedS = (performance.now() - timer) / 1000;
  const { p50, p99, max } = percentiles(latencies);
  const result: NluResult = {
    trainMs,
    classificationsPerSecond: parsed / elapsedS,
    latencyUs: { p50, p99, max },
    messages: parsed,
    accuracy: Object.fromEntries(locales.map((locale) => [locale, accuracy(nlu, localesDir, locale)])),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
