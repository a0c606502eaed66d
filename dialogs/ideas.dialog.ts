/**
 * Browse ideas and support one, once per resident (issue 21): "see ideas" (newest first),
 * "popular ideas" (most supported first) or "ideas in Riverside" (one neighbourhood) list them
 * page by page ("more"); a number shows one idea and offers to support it, and "support 2"
 * supports the second idea of the page just shown at once. "support I-4F2K9" works anywhere.
 *
 * Numbers are positions on the page shown, as the SMS list numbers its lines (and the heading
 * says so): "support 2" after "more" is the second line of that page.
 *
 * "report I-4F2K9" (`reportRef`), or "Report it" on an idea's page, asks why and reports it as
 * abusive instead (src/pipeline/idea-reports.ts hides it after enough residents' reports).
 */
import type { IdeaSummary } from '../src/engine/commands.js';
import { defineDialog, type StepContext, type StepInput, type StepOutcome } from '../src/engine/types.js';
import type { Choice } from '../src/core/message.js';
import { foldForMatch, shorten, shortListTitle } from '../src/engine/text.js';
import { IDEA_REPORT_REASONS, type IdeaReportReason } from '../src/domain/records.js';
import { answerYesNo, ask, choice, freeText, result, say, str, yesNoChoices } from './dialog-kit.js';
import { heading, nextPage, pageOf, pageSize, typedWord, unwrapped } from './list-pages.js';

/** A title in an SMS list line is cut to this many characters (the idea's page shows it whole). */
const TITLE_AS_TEXT = 30;
/** A neighbourhood quoted back in a heading, at most. */
const PLACE_QUOTED = 30;
/** The longest "other" reason (src/pipeline/idea-reports.ts keeps at most this). */
const REPORT_TEXT_MAX = 500;

function reasonChoices(ctx: StepContext): Choice[] {
  return IDEA_REPORT_REASONS.map((reason) => choice(ctx, reason, `ideas.report_reason_${reason}`));
}

function reportCommand(ctx: StepContext, reason: IdeaReportReason, text?: string) {
  return {
    run: { type: 'idea.report' as const, input: { ref: str(ctx.slots.reportRef) ?? '', reason, ...(text ? { text } : {}) } },
    resultSlot: 'reported',
    then: 'report_done',
  };
}

type IdeaPage = { ideas: IdeaSummary[]; total: number };
type Order = 'newest' | 'popular';

function listed(ctx: StepContext): IdeaPage {
  return result<IdeaPage>(ctx.slots.list) ?? { ideas: [], total: 0 };
}

/**
 * The list asked for: the order and place a message on the list chose, else what the message
 * that started the dialog (`said`, set by the engine) asked for, else the newest ideas.
 */
function browsing(ctx: StepContext): { order: Order; place: string | null } {
  const order = str(ctx.slots.order);
  if (order) return { order: order === 'popular' ? 'popular' : 'newest', place: str(ctx.slots.place) ?? null };
  const said = str(ctx.slots.said);
  return (said ? browseAsked(ctx, said) : null) ?? { order: 'newest', place: null };
}

/** A comma-separated word list from the locale, folded ("apoyar la", "support"). */
function wordsOf(ctx: StepContext, key: string): string[] {
  return ctx
    .t(key)
    .split(',')
    .map((word) => foldForMatch(word))
    .filter(Boolean)
    .sort((a, b) => b.length - a.length);
}

/**
 * What a message asks to see: most supported first when it says "popular" (or "populares"...),
 * and a neighbourhood when it says "ideas in <place>" ("ideas en <lugar>"), unless the place is
 * "my area" and the like. Null when it asks for neither.
 */
export function browseAsked(ctx: StepContext, text: string): { order: Order; place: string | null } | null {
  const folded = foldForMatch(text);
  const popular = wordsOf(ctx, 'ideas.words_popular').some((word) => new RegExp(`(^|\\s)${escape(word)}($|\\s)`).test(folded));
  const match = new RegExp(`(?:^|\\s)(?:${wordsOf(ctx, 'ideas.words_in').map(escape).join('|')})\\s+(.+)$`).exec(folded);
  const raw = match?.[1]?.trim();
  const place = raw && !wordsOf(ctx, 'ideas.words_not_a_place').includes(raw) ? raw : null;
  if (!popular && !place) return null;
  return { order: popular ? 'popular' : 'newest', place };
}

/** The number in "support 2", "apoyo 2", "apoyar la 2" (a position on the page shown), if the message is that. */
function supportNumber(ctx: StepContext, text: string): number | null {
  const folded = foldForMatch(text);
  for (const word of wordsOf(ctx, 'ideas.words_support')) {
    const match = new RegExp(`^${escape(word)}\\s*(?:(?:la|el|no|number|numero|idea|#)\\s*)*#?(\\d{1,2})$`).exec(folded);
    if (match) return Number(match[1]);
  }
  return null;
}

function escape(word: string): string {
  return word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An idea as a list line: a short title and its count on SMS, the whole title where choices are buttons. */
function ideaLabel(ctx: StepContext, idea: IdeaSummary): string {
  return ctx.channel.buttons
    ? ctx.t('ideas.list_item', { title: idea.title, count: idea.supports })
    : ctx.t('ideas.list_item_short', { title: shortListTitle(idea.title, TITLE_AS_TEXT), count: idea.supports });
}

function listChoices(ctx: StepContext): Choice[] {
  const { ideas, total } = listed(ctx);
  const { last } = pageOf(ctx, 'page', total);
  return [
    ...ideas.slice(0, pageSize(ctx)).map((idea) => ({ id: idea.ref, label: ideaLabel(ctx, idea) })),
    ...(last ? [] : [choice(ctx, 'more', 'volunteer.more')]),
    choice(ctx, 'new', 'ideas.share_new'),
  ];
}

/** Which ideas a heading names: "Newest ideas", "Most supported ideas in Riverside"... */
function whichIdeas(ctx: StepContext): string {
  const { order, place } = browsing(ctx);
  if (!place) return ctx.t(`ideas.which_${order}`);
  // Named as the ideas spell it ("Río Grande" for "rio grande"): they matched it.
  const named = listed(ctx).ideas[0]?.neighbourhood ?? place;
  return ctx.t(`ideas.which_${order}_in`, { place: shorten(named, PLACE_QUOTED) });
}

/** A new list: this order and place, from its first page. */
function freshList(asked: { order: Order; place: string | null }): StepOutcome {
  return { to: 'list', set: { order: asked.order, place: asked.place, page: null, ideaRef: null } };
}

/** The list step's answer: an idea to see (number, button, reference), "support 2", a page, another list, or a new idea. */
function answerList(input: StepInput, ctx: StepContext): StepOutcome {
  const reference = input.nlu.entities.reference;
  if (reference?.startsWith('I-')) return { to: 'support', set: { supportRef: reference } };
  const { ideas } = listed(ctx);
  const shown = ideas.slice(0, pageSize(ctx));
  const number = input.choice ? null : supportNumber(ctx, input.text);
  if (number !== null) {
    const idea = shown[number - 1];
    return idea ? { to: 'support', set: { supportRef: idea.ref } } : { retry: 'ideas.retry_list' };
  }
  const word = typedWord(input, ctx, [choice(ctx, 'more', 'volunteer.more'), choice(ctx, 'new', 'ideas.share_new')]);
  if (!word && !input.choice) {
    const asked = browseAsked(ctx, input.text);
    if (asked) return freshList(asked);
  }
  const picked = word ?? ctx.pick(input, listChoices(ctx));
  if (picked === 'more') return nextPage(ctx, 'list', 'page', listed(ctx).total);
  if (picked === 'new') return { startDialog: 'submit-idea' };
  if (picked === 'all') return freshList({ order: 'newest', place: null });
  if (picked) return { to: 'detail', set: { ideaRef: picked } };
  // "see ideas" again: the newest, from the start.
  if (input.nlu.intent === 'browse_ideas') return freshList({ order: 'newest', place: null });
  if (input.nlu.intent !== 'none') return { reroute: true };
  return { retry: 'ideas.retry_list' };
}

/** Support it, back to the list, or report it as abusive. */
function detailChoices(ctx: StepContext): Choice[] {
  return [...yesNoChoices(ctx, 'ideas.support', 'ideas.back_to_list'), choice(ctx, 'report', 'ideas.report_choice')];
}

export const ideasDialog = defineDialog({
  id: 'ideas',
  // 2: the list is a page of ideas (`list`) with an order and place, no longer `recent`.
  version: 2,
  titleKey: 'dialog.ideas',
  start: 'list',
  steps: {
    list: {
      load: (ctx) => {
        if (str(ctx.slots.supportRef) || str(ctx.slots.reportRef)) return null;
        const { order, place } = browsing(ctx);
        const size = pageSize(ctx);
        const held = ctx.slots.page;
        const page = typeof held === 'number' && held > 0 ? Math.floor(held) : 0;
        return {
          command: { type: 'idea.browse', input: { order, ...(place ? { neighbourhood: place } : {}), offset: page * size, limit: size } },
          resultSlot: 'list',
        };
      },
      ask: (ctx) => {
        if (str(ctx.slots.reportRef)) return { skipTo: 'report_reason' };
        if (str(ctx.slots.supportRef)) return { skipTo: 'support' };
        const { ideas, total } = listed(ctx);
        const { place } = browsing(ctx);
        if (total === 0 || ideas.length === 0) {
          if (place) {
            return [
              ask(ctx, 'ideas.none_in', { place: shorten(place, PLACE_QUOTED) }, [choice(ctx, 'all', 'ideas.all'), choice(ctx, 'new', 'ideas.share_new')]),
            ];
          }
          return [ask(ctx, 'ideas.none_yet', undefined, [choice(ctx, 'new', 'ideas.share_new')])];
        }
        const keys = { all: 'ideas.list', page: 'ideas.list_page', again: 'ideas.list_again', wrapped: 'ideas.no_more' };
        return [{ kind: 'text', text: heading(ctx, keys, 'page', total, { which: whichIdeas(ctx) }), choices: listChoices(ctx) }];
      },
      answer: (input, ctx) => {
        if (listed(ctx).total === 0) {
          const picked = ctx.pick(input, [choice(ctx, 'all', 'ideas.all'), choice(ctx, 'new', 'ideas.share_new')]);
          if (picked === 'all') return freshList({ order: 'newest', place: null });
          if (picked === 'new') return { startDialog: 'submit-idea' };
        }
        return unwrapped(answerList(input, ctx));
      },
    },
    detail: {
      ask: (ctx) => {
        const idea = listed(ctx).ideas.find((candidate) => candidate.ref === str(ctx.slots.ideaRef));
        if (!idea) return { skipTo: 'list' };
        const lines = [
          ctx.t('ideas.detail', { ref: idea.ref, title: idea.title, count: idea.supports, status: ctx.t(`idea_status.${idea.status}`) }),
          ...(idea.details ? [idea.details] : []),
          ...(idea.neighbourhood ? [ctx.t('ideas.detail_place', { place: idea.neighbourhood })] : []),
          ctx.t(idea.status === 'new' || idea.status === 'under_review' ? 'ideas.confirm_support_short' : 'ideas.confirm_support_answered'),
        ];
        return [{ kind: 'text', text: lines.join('\n'), choices: detailChoices(ctx) }];
      },
      answer: (input, ctx) => {
        // The idea shown can be reported from here too, not only by "report I-…".
        if (ctx.pick(input, detailChoices(ctx)) === 'report') return { to: 'report_reason', set: { reportRef: str(ctx.slots.ideaRef) ?? null } };
        const answer = answerYesNo(input, ctx, detailChoices(ctx));
        if (answer === 'yes') return { to: 'support', set: { supportRef: str(ctx.slots.ideaRef) ?? null } };
        if (answer === 'no') return { to: 'list', set: { ideaRef: null } };
        // "support 2", "more", "popular ideas" on an idea's page: about the list it came from.
        return unwrapped(answerList(input, ctx));
      },
    },
    support: {
      load: (ctx) => ({ command: { type: 'idea.support', input: { ref: str(ctx.slots.supportRef) ?? '' } }, resultSlot: 'supported' }),
      ask: (ctx) => {
        const outcome = result<{ outcome: string }>(ctx.slots.supported)?.outcome ?? 'not_found';
        return { finish: true, say: [say(ctx, `ideas.support_${outcome}`, { ref: str(ctx.slots.supportRef) ?? '' })] };
      },
      answer: () => ({ reroute: true }),
    },
    report_reason: {
      // Whether they may report it first: the author, or a resident who reported it already, is
      // told so at once rather than after picking a reason.
      load: (ctx) => ({ command: { type: 'idea.report', input: { ref: str(ctx.slots.reportRef) ?? '' } }, resultSlot: 'reportable' }),
      ask: (ctx) => {
        const outcome = result<{ outcome: string }>(ctx.slots.reportable)?.outcome ?? 'not_found';
        if (outcome !== 'ready') return { finish: true, say: [say(ctx, `ideas.report_${outcome}`, { ref: str(ctx.slots.reportRef) ?? '' })] };
        return [ask(ctx, 'ideas.report_reason', { ref: str(ctx.slots.reportRef) ?? '' }, reasonChoices(ctx))];
      },
      answer: (input, ctx) => {
        const picked = ctx.pick(input, reasonChoices(ctx)) as IdeaReportReason | null;
        if (picked === 'other') return { to: 'report_other' };
        if (picked) return reportCommand(ctx, picked);
        if (input.nlu.intent !== 'none') return { reroute: true };
        return { retry: 'retry.pick_number' };
      },
    },
    report_other: {
      freeText: true,
      ask: (ctx) => [say(ctx, 'ideas.report_other')],
      answer: (input, ctx) => {
        const text = freeText(input, 3, REPORT_TEXT_MAX);
        if ('tooShort' in text) return { retry: 'ideas.report_other_retry' };
        if ('tooLong' in text) return { retry: 'ideas.report_other_long', vars: { max: REPORT_TEXT_MAX } };
        return reportCommand(ctx, 'other', text.ok);
      },
    },
    report_done: {
      ask: (ctx) => {
        const outcome = result<{ outcome: string }>(ctx.slots.reported)?.outcome ?? 'not_found';
        return { finish: true, say: [say(ctx, `ideas.report_${outcome}`, { ref: str(ctx.slots.reportRef) ?? '' })] };
      },
      answer: () => ({ reroute: true }),
    },
  },
});
