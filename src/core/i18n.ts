/**
 * Resident-facing text. Every string lives in `locales/<lang>/messages.json` (flat keys,
 * `{name}` placeholders, plural forms as `{ "one": ..., "other": ... }` chosen by `{count}`),
 * and words residents type (keywords) in `locales/<lang>/keywords.json`. A language is added by
 * adding a folder; a key missing from it falls back to the default language.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

type PluralForms = Partial<Record<Intl.LDMLPluralRule, string>> & { other: string };
type CatalogEntry = string | PluralForms;

/** Values a message may interpolate. */
export type MessageVars = Record<string, string | number>;

/** Words residents type that mean something in every step (see `src/engine/advance.ts`, where they are matched). */
export interface KeywordList {
  optOut: string[];
  optIn: string[];
  help: string[];
  menu: string[];
  back: string[];
  exit: string[];
  /** What a resident types to ask for this language ("español"). */
  languageNames: string[];
  /** How questions begin ("why", "para qué"): a question is not an answer to a name or place step. */
  questionStarts?: string[];
  /** Words that, with an idea's reference, ask to report it as abusive ("report I-7K3QX", "denunciar I-7K3QX"). */
  reportIdea?: string[];
  /** Asking for the open ballot ("vote", "votar", "presupuesto participativo"), outside any flow. */
  ballot?: string[];
  /** Answers to a shift reminder besides "1" and "yes": "confirm", "I'll be there". */
  attendanceYes?: string[];
  /** "can't make it", "no puedo": answers to a shift reminder besides "2" and "no". */
  attendanceNo?: string[];
  /** Courtesy around an answer ("sorry, I can't make it", "lo siento, no puedo ir"). */
  courtesy?: string[];
}

/** One language's catalog. */
export interface LocaleBundle {
  locale: string;
  messages: Record<string, CatalogEntry>;
  keywords: KeywordList;
}

/** Translates a key for a locale; pure once loaded. */
export interface Translator {
  readonly locales: readonly string[];
  readonly defaultLocale: string;
  t(locale: string, key: string, vars?: MessageVars): string;
  has(locale: string, key: string): boolean;
  keywords(locale: string): KeywordList;
}

/** The locales present under `localesDir`: every folder with a messages.json. */
export function discoverLocales(localesDir: string): string[] {
  return readdirSync(localesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(localesDir, entry.name, 'messages.json')))
    .map((entry) => entry.name)
    .sort();
}

/** Reads every locale's messages and keywords. */
export function loadLocaleBundles(localesDir: string, locales: readonly string[]): LocaleBundle[] {
  return locales.map((locale) => ({
    locale,
    messages: JSON.parse(readFileSync(path.join(localesDir, locale, 'messages.json'), 'utf8')) as Record<string, CatalogEntry>,
    keywords: JSON.parse(readFileSync(path.join(localesDir, locale, 'keywords.json'), 'utf8')) as KeywordList,
  }));
}

/** Builds the translator; the default locale must be one of the bundles. */
export function createTranslator(bundles: readonly LocaleBundle[], defaultLocale: string): Translator {
  const byLocale = new Map(bundles.map((bundle) => [bundle.locale, bundle]));
  const fallback = byLocale.get(defaultLocale);
  if (!fallback) throw new Error(`Default locale "${defaultLocale}" has no folder under locales/`);
  const pluralRules = new Map<string, Intl.PluralRules>();

  const lookup = (locale: string, key: string): { entry: CatalogEntry; locale: string } | undefined => {
    const own = byLocale.get(locale)?.messages[key];
    if (own !== undefined) return { entry: own, locale };
    const base = fallback.messages[key];
    return base === undefined ? undefined : { entry: base, locale: defaultLocale };
  };

  return {
    locales: bundles.map((bundle) => bundle.locale),
    defaultLocale,
    has: (locale, key) => lookup(locale, key) !== undefined,
    keywords: (locale) => (byLocale.get(locale) ?? fallback).keywords,
    t(locale, key, vars = {}) {
      const found = lookup(locale, key);
      // A missing key is a bug, but a resident must still get something readable.
      if (!found) return key;
      let template: string;
      if (typeof found.entry === 'string') {
        template = found.entry;
      } else {
        let rules = pluralRules.get(found.locale);
        if (!rules) pluralRules.set(found.locale, (rules = new Intl.PluralRules(found.locale)));
        const count = Number(vars.count ?? 0);
        // "zero" is not a plural category in most languages, but "No photo" reads better than "0 photos".
        template = (count === 0 ? found.entry.zero : undefined) ?? found.entry[rules.select(count)] ?? found.entry.other;
      }
      return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
    },
  };
}
