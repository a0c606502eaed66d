/**
 * Small helpers the dialogs share, so each dialog file reads as its steps and nothing else.
 */
import type { Choice, GeoPoint, MediaRef, Reply } from '../src/core/message.js';
import type { MessageVars } from '../src/core/i18n.js';
import type { SlotValue, StepContext, StepInput } from '../src/engine/types.js';
import { words as foldedWords } from '../src/engine/nlu/text-normalizer.js';

/** A text reply in the resident's language. */
export function say(ctx: StepContext, key: string, vars?: MessageVars): Reply {
  return { kind: 'text', text: ctx.t(key, vars) };
}

/** A question with choices (buttons, suggested actions or a numbered list, per channel). */
export function ask(ctx: StepContext, key: string, vars: MessageVars | undefined, choices: Choice[]): Reply {
  return { kind: 'text', text: ctx.t(key, vars), choices };
}

/** A choice whose label is a locale key. */
export function choice(ctx: StepContext, id: string, labelKey: string, vars?: MessageVars): Choice {
  return { id, label: ctx.t(labelKey, vars) };
}

/** Yes / No choices. */
export function yesNoChoices(ctx: StepContext, yesKey = 'choice.yes', noKey = 'choice.no'): Choice[] {
  return [choice(ctx, 'yes', yesKey), choice(ctx, 'no', noKey)];
}

/**
 * A yes or no, from the offered Yes/No choices first ("1", "2", a button, the label) and then
 * from the words ("sure", "nope", "sí"). On SMS the choices are numbered, so a number must work.
 */
export function answerYesNo(input: StepInput, ctx: StepContext, choices: readonly Choice[] = yesNoChoices(ctx)): 'yes' | 'no' | null {
  const picked = ctx.pick(input, choices);
  if (picked === 'yes' || picked === 'no') return picked;
  return ctx.yesNo(input);
}

/**
 * A yes or no that is the whole answer ("no", "nope, nothing", a button), for steps that take
 * words: "no light at all since Monday" is what the resident saw, not a "no" to skip with.
 */
export function bareYesNo(input: StepInput, ctx: StepContext): 'yes' | 'no' | null {
  if (!input.choice && input.text.trim().split(/\s+/).length > BARE_ANSWER_WORDS) return null;
  return answerYesNo(input, ctx);
}
/** At most this many words can be only a yes or no ("no thank you"). */
const BARE_ANSWER_WORDS = 3;

/** A slot as a string, or undefined. */
export function str(value: SlotValue | undefined): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** A slot holding a command result, read back with the type the command returns. */
export function result<T>(value: SlotValue | undefined): T | undefined {
  return value === undefined || value === null ? undefined : (value as unknown as T);
}

/** Plain-JSON copies of the channel's location and media, fit for slots. */
export function pointSlot(point: GeoPoint): SlotValue {
  return { lat: point.lat, lon: point.lon, ...(point.label ? { label: point.label } : {}) };
}

export function mediaSlot(media: readonly MediaRef[]): SlotValue {
  return media.map((m) => ({ url: m.url, contentType: m.contentType }));
}

/**
 * Why a typed answer cannot be a name, a place or a neighborhood: it asks something ("why do you
 * need my name?") or says yes or no (answering some other question). Null when it may be one.
 * Bare navigation words never get here: the engine takes them first, in every language.
 */
export function notAnAnswer(input: StepInput, ctx: StepContext): 'question' | 'yes_no' | null {
  if (ctx.isQuestion(input.text)) return 'question';
  if (ctx.yesNo(input) !== null) return 'yes_no';
  return null;
}

/** Text a resident typed as an answer, checked for length: the text, or why not. */
export function freeText(input: StepInput, min: number, max: number): { ok: string } | { tooShort: true } | { tooLong: true } {
  const text = input.text.trim();
  if ([...text].length < min || !/[\p{L}\p{N}]/u.test(text)) return { tooShort: true };
  if ([...text].length > max) return { tooLong: true };
  return { ok: text };
}

/** Words shorter than this say too little to name something ("de", "the", "my"). */
const TITLE_WORD = 4;

/**
 * The items whose titles the text names, for a resident who types part of a title ("food
 * bank", "banco de alimentos", "cancel my food bank shift"): each typed word of four letters or
 * more counts when a title has it, in any case and with or without accents, or a word that one
 * of the two starts ("clean" and "cleanup", "tree" and "trees"). Of the items with at least
 * `minShare` of the typed words, those with the most; empty when none has enough.
 */
export function namedIn<T>(text: string, items: readonly T[], titleOf: (item: T) => string, minShare: number): T[] {
  const typed = [...new Set(foldedWords(text).filter((word) => word.length >= TITLE_WORD))];
  if (typed.length === 0) return [];
  const same = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);
  let best = 0;
  let found: T[] = [];
  for (const item of items) {
    const title = foldedWords(titleOf(item)).filter((word) => word.length >= TITLE_WORD);
    const hits = typed.filter((word) => title.some((other) => same(word, other))).length;
    if (hits === 0 || hits / typed.length < minShare || hits < best) continue;
    if (hits > best) found = [];
    best = hits;
    found.push(item);
  }
  return found;
}
