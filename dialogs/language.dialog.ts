/**
 * Choose a language, when a resident asks to change it without naming one. Each language is
 * listed in its own name (from its locale's `language.name`).
 */
import { defineDialog } from '../src/engine/types.js';
import type { Choice } from '../src/core/message.js';
import { ask } from './dialog-kit.js';

/** The language dialog for the given locales and their own names. */
export function languageDialog(locales: readonly string[], nameOf: (locale: string) => string) {
  const choices: Choice[] = locales.map((locale) => ({ id: locale, label: nameOf(locale) }));
  return defineDialog({
    id: 'language',
    version: 1,
    titleKey: 'dialog.language',
    start: 'choose',
    steps: {
      choose: {
        ask: (ctx) => [ask(ctx, 'language.ask', undefined, choices)],
        answer: (input, ctx) => {
          const picked = ctx.pick(input, choices) ?? input.nlu.entities.language ?? null;
          if (!picked || !locales.includes(picked)) return { retry: 'retry.pick_number' };
          return { finish: true, effects: [{ type: 'resident.setLocale', locale: picked }] };
        },
      },
    },
  });
}
