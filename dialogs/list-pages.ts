/**
 * Lists a resident pages through by text or buttons (volunteer roles and sign-ups, ideas): how
 * many lines a page holds on each kind of channel, which page a slot holds, "more" to the next
 * page (and from the last back to the first), and the heading that says which lines are shown.
 * One shape for every list, so "more"/"más" works the same everywhere.
 */
import type { StepContext, StepInput, StepOutcome } from '../src/engine/types.js';
import type { Choice } from '../src/core/message.js';
import type { MessageVars } from '../src/core/i18n.js';

/**
 * Lines on a page. With buttons, eight and the three fixed choices stay within every chat's
 * button limit (13 on the web page). Without them (SMS), four short lines keep a page within two
 * SMS segments (test/dialogs/volunteer-paging.transcript.test.ts measures it).
 */
export const PAGE_WITH_BUTTONS = 8;
export const PAGE_AS_TEXT = 4;

/** How many lines a page holds on this channel. */
export function pageSize(ctx: StepContext): number {
  return ctx.channel.buttons ? PAGE_WITH_BUTTONS : PAGE_AS_TEXT;
}

/** The page a slot holds, within the pages there are now (a list may have shrunk since). */
export function pageOf(ctx: StepContext, slot: string, count: number): { page: number; from: number; to: number; last: boolean } {
  const size = pageSize(ctx);
  const pages = Math.max(1, Math.ceil(count / size));
  const held = ctx.slots[slot];
  const page = Math.min(typeof held === 'number' && held > 0 ? Math.floor(held) : 0, pages - 1);
  return { page, from: page * size, to: Math.min(count, (page + 1) * size), last: page === pages - 1 };
}

/**
 * A word typed for one of `words` ("more", "más", "filter"), not a number: "1" would pick the
 * first of them, wherever it is on the page.
 */
export function typedWord(input: StepInput, ctx: StepContext, words: readonly Choice[]): string | null {
  if (input.choice || /\d/.test(input.text)) return null;
  return ctx.pick(input, words);
}

/** The next page, or the first again after the last (`wrapped`: its heading says so). */
export function nextPage(ctx: StepContext, step: string, slot: string, count: number): StepOutcome {
  const { last, page } = pageOf(ctx, slot, count);
  return last ? { to: step, set: { [slot]: null, wrapped: true } } : { to: step, set: { [slot]: page + 1 } };
}

/**
 * A list's answer, with `wrapped` cleared: "that's all, from the start" heads the first page
 * once, right after "more" on the last. (In the heading, not a line before it: a page by SMS
 * has no characters to spare.)
 */
export function unwrapped(outcome: StepOutcome): StepOutcome {
  if (!('to' in outcome) && !('run' in outcome)) return outcome;
  return { ...outcome, set: { wrapped: null, ...outcome.set } };
}

/** The heading keys of a list: all of it on one page, one page of several, and both again after "more" on the last. */
export interface HeadingKeys {
  all: string;
  page: string;
  again: string;
  wrapped: string;
}

/** A list's heading: how many, which ones this page shows, or that the list starts again. `vars` are the list's own. */
export function heading(ctx: StepContext, keys: HeadingKeys, slot: string, count: number, vars: MessageVars = {}): string {
  const { from, to } = pageOf(ctx, slot, count);
  const again = ctx.slots.wrapped === true;
  if (count <= pageSize(ctx)) return ctx.t(again ? keys.wrapped : keys.all, { ...vars, count });
  return ctx.t(again ? keys.again : keys.page, { ...vars, from: from + 1, to, count });
}
