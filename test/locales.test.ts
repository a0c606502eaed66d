/**
 * The locale catalogs keep the SPEC's promises: every language has every key, and no text tells
 * residents to type a word that opts them out (on SMS an exact opt-out word always does), nor
 * offers a choice whose label is an opt-out, opt-in or help word.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverLocales, loadLocaleBundles } from '../src/core/i18n.js';
import { foldForMatch } from '../src/engine/text.js';

const localesDir = path.resolve(import.meta.dirname, '..', 'locales');
const bundles = loadLocaleBundles(localesDir, discoverLocales(localesDir));
const texts = (messages: Record<string, unknown>): [string, string][] =>
  Object.entries(messages).flatMap(([key, value]) =>
    typeof value === 'string' ? [[key, value]] : Object.values(value as object).map((v) => [key, String(v)] as [string, string]),
  );

describe('locales', () => {
  it('are English and Spanish at least, each with every key', () => {
    const locales = bundles.map((b) => b.locale);
    expect(locales).toEqual(expect.arrayContaining(['en', 'es']));
    const english = Object.keys(bundles.find((b) => b.locale === 'en')!.messages).sort();
    for (const bundle of bundles) expect(Object.keys(bundle.messages).sort()).toEqual(english);
  });

  it('never tell residents to type an opt-out word, except STOP to opt out', () => {
    const optOut = new Set(bundles.flatMap((b) => b.keywords.optOut.map(foldForMatch)));
    const taught: string[] = [];
    for (const bundle of bundles) {
      for (const [key, text] of texts(bundle.messages)) {
        for (const match of foldForMatch(text).matchAll(/\b(?:reply|send|text|type|responde|envia|escribe)\s+([a-z]+)/g)) {
          if (optOut.has(match[1]!) && match[1] !== 'stop') taught.push(`${bundle.locale}:${key} teaches "${match[1]}"`);
        }
      }
    }
    expect(taught).toEqual([]);
  });

  it('offer no choice whose label is a keyword', () => {
    const keywords = new Set(bundles.flatMap((b) => [...b.keywords.optOut, ...b.keywords.optIn, ...b.keywords.help].map(foldForMatch)));
    const labelKeys =
      /^(choice|menu|category|report\.(send|change)|idea\.(send|change)|ideas\.|volunteer\.(sign_up|join_waitlist|back_to_list|filter|my_signups|any|more|cancel_signup|keep_signup)|delete\.(yes|no)|leave\.choice_|resume\.|status\.)/;
    for (const bundle of bundles) {
      for (const [key, text] of texts(bundle.messages)) {
        if (labelKeys.test(key)) expect(keywords.has(foldForMatch(text)), `${bundle.locale}:${key} = "${text}"`).toBe(false);
      }
    }
    // Demo roles are offered as choices too.
    for (const bundle of bundles) {
      const roles = JSON.parse(readFileSync(path.join(localesDir, bundle.locale, 'demo-roles.json'), 'utf8')) as Record<string, { title: string }>;
      for (const role of Object.values(roles)) expect(keywords.has(foldForMatch(role.title))).toBe(false);
    }
  });
});
