/**
 * The NLU data of one locale, read from `locales/<lang>/nlu/`: training utterances per intent and
 * per category, and a lexicon (shorthand, yes/no words, numbers, language names). Everything that
 * differs between languages lives in these files, so adding a language is adding data.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATEGORIES, INTENTS, type Category, type Intent } from '../../domain/vocabulary.js';
import { fold } from './text-normalizer.js';

/** Words and phrases of one language the NLU needs besides training utterances. */
export interface Lexicon {
  /** SMS shorthand and contractions → what they stand for ("pls" → "please", "xfa" → "por favor"). */
  shorthand: Readonly<Record<string, string>>;
  /** Answers meaning yes / no, as whole phrases ("not really", "claro que no"). */
  yes: readonly string[];
  no: readonly string[];
  /** Answers that start like a yes or no but are neither ("no sé", "not sure", "maybe"). */
  unsure: readonly string[];
  /** Cardinal number words ("two", "dos") and ordinal words ("second", "segunda"). */
  numbers: Readonly<Record<string, number>>;
  ordinals: Readonly<Record<string, number>>;
  /** Endings that make a digit an ordinal ("2nd", "2do", "2º"). */
  ordinalSuffixes: readonly string[];
  /**
   * Phrases that say nothing about what a resident wants ("please", "por favor"). Politeness is
   * spread unevenly over the training data, so left in it would vote for whichever intent
   * happens to be said politely most often.
   */
  neutral: readonly string[];
  /**
   * Pronouns a language glues onto verbs ("cancélalo", "avísame", "bórrenme"), longest first;
   * an unknown word ending in one is read as the known word before it.
   */
  cliticSuffixes: readonly string[];
  /**
   * Words that say a resident is reporting something but not what ("report", "problem", "hi",
   * "quiero", and the commonest function words). They are left out when choosing the category,
   * so "hola, quiero reportar un bache" is decided by "bache" alone and "I want to report a
   * problem" has nothing left to decide by and gets `other` for the dialog to ask.
   */
  categoryNeutral: readonly string[];
  /**
   * Words that make the word next to them a place name ("oak ave", "calle hidalgo"). Street
   * names are unknown words that say nothing about intent; next to one of these they are
   * dropped instead of counting as text the NLU did not understand.
   */
  placeWords: readonly string[];
  /** Words around a number or label that do not change which choice is meant ("the", "option"). */
  choiceFillers: readonly string[];
  /**
   * Words that say nothing about what an idea is about ("the", "more", "please", "idea",
   * "ciudad", "ojalá"), folded: left out of the terms "similar ideas?" compares ideas by.
   */
  ideaStopwords: readonly string[];
  /**
   * Words the stemmer must keep apart, each → the feature it stands for. Spanish Snowball makes
   * "reportar" (to report: a new report), "reporte" (a report) and "reportado" (reported: asking
   * about an old one) all "report", so the word that tells the two intents apart was lost.
   */
  stems: Readonly<Record<string, string>>;
  /**
   * Accented words whose accent carries meaning that folding would lose, each → the word read
   * in its place before folding: "reporté" (I reported) folds to "reporte" (a report).
   * Keys are lower case with their accents.
   */
  accented: Readonly<Record<string, string>>;
  /** Names of languages in this language, by locale code ("spanish" → es). */
  languageNames: Readonly<Record<string, readonly string[]>>;
  /** Characters that by themselves point at this language (ñ, ¿); folded text loses them. */
  detectionCharacters: string;
}

/** Training utterances per label. */
export type Utterances<Label extends string> = Partial<Record<Label, readonly string[]>>;

/** Everything `loadNlu` reads for one locale. */
export interface LocaleNluData {
  locale: string;
  intents: Utterances<Exclude<Intent, 'none'>>;
  categories: Utterances<Category>;
  lexicon: Lexicon;
}

/** Reads and checks the NLU files of one locale; throws with the file name when one is wrong. */
export function readLocaleNluData(localesDir: string, locale: string): LocaleNluData {
  const dir = join(localesDir, locale, 'nlu');
  const intents = readUtterances(
    join(dir, 'intents.json'),
    INTENTS.filter((intent) => intent !== 'none'),
  );
  const categories = readUtterances(join(dir, 'categories.json'), CATEGORIES);
  const lexicon = readLexicon(join(dir, 'lexicon.json'));
  return { locale, intents, categories, lexicon };
}

/**
 * Reads a `{ label: [utterance, ...] }` file. An unknown label is an error, not skipped: the
 * result types name every intent and category, so a label outside them could never be returned.
 */
export function readUtterances<Label extends string>(file: string, labels: readonly Label[]): Utterances<Label> {
  const data = readJson(file);
  if (!isRecord(data)) throw new Error(`${file}: expected an object of label → utterances`);
  const result: Utterances<Label> = {};
  for (const [label, list] of Object.entries(data)) {
    if (!(labels as readonly string[]).includes(label)) throw new Error(`${file}: unknown label "${label}"`);
    if (!isStringArray(list)) throw new Error(`${file}: "${label}" must be a list of strings`);
    result[label as Label] = list;
  }
  return result;
}

function readLexicon(file: string): Lexicon {
  const data = readJson(file);
  if (!isRecord(data)) throw new Error(`${file}: expected an object`);
  const strings = (key: string): string[] => {
    const value = data[key] ?? [];
    if (!isStringArray(value)) throw new Error(`${file}: "${key}" must be a list of strings`);
    return value.map(fold);
  };
  const table = <T>(key: string, check: (value: unknown) => value is T): Record<string, T> => {
    const value = data[key] ?? {};
    if (!isRecord(value)) throw new Error(`${file}: "${key}" must be an object`);
    const result: Record<string, T> = {};
    for (const [name, entry] of Object.entries(value)) {
      if (!check(entry)) throw new Error(`${file}: "${key}.${name}" has the wrong type`);
      result[fold(name)] = entry;
    }
    return result;
  };
  const shorthand = table('shorthand', (value): value is string => typeof value === 'string');
  const languageNames = table('languageNames', isStringArray);
  const characters = data.detectionCharacters ?? '';
  if (typeof characters !== 'string') throw new Error(`${file}: "detectionCharacters" must be a string`);
  return {
    shorthand: Object.fromEntries(Object.entries(shorthand).map(([key, value]) => [key, fold(value)])),
    yes: strings('yes'),
    no: strings('no'),
    unsure: strings('unsure'),
    numbers: table('numbers', isNumber),
    ordinals: table('ordinals', isNumber),
    ordinalSuffixes: strings('ordinalSuffixes'),
    neutral: strings('neutral'),
    categoryNeutral: strings('categoryNeutral'),
    placeWords: strings('placeWords'),
    cliticSuffixes: strings('cliticSuffixes').sort((a, b) => b.length - a.length),
    choiceFillers: strings('choiceFillers'),
    ideaStopwords: strings('ideaStopwords'),
    stems: table('stems', (value): value is string => typeof value === 'string'),
    accented: accentedWords(file, data.accented ?? {}),
    languageNames: Object.fromEntries(Object.entries(languageNames).map(([code, names]) => [code, names.map(fold)])),
    detectionCharacters: characters.toLowerCase(),
  };
}

// Unlike the other tables, the keys keep their accents (that is their point): lower case, NFC.
function accentedWords(file: string, value: unknown): Record<string, string> {
  if (!isRecord(value)) throw new Error(`${file}: "accented" must be an object`);
  const result: Record<string, string> = {};
  for (const [word, replacement] of Object.entries(value)) {
    if (typeof replacement !== 'string') throw new Error(`${file}: "accented.${word}" must be a string`);
    result[word.normalize('NFC').toLowerCase()] = replacement;
  }
  return result;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
