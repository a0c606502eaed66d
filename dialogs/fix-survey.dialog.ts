/**
 * "Is it really fixed?" (issue 18): some days after a report is fixed or closed, its reporter and
 * followers are asked (src/staff/fix-survey-jobs.ts). The engine starts this dialog with their
 * yes or no (the follow-up's reader in advance.ts), or without one when the reply was unclear.
 * The answer is recorded at once (a "no" reopens the report for staff), then a 1-5 rating of how
 * the city handled it and an optional comment are added to it.
 */
import type { Choice } from '../src/core/message.js';
import type { CommandResults } from '../src/engine/commands.js';
import { defineDialog, type StepContext } from '../src/engine/types.js';
import { answerYesNo, ask, bareYesNo, choice, freeText, result, say, str, yesNoChoices } from './dialog-kit.js';

const COMMENT_MAX = 1000;
/** "4", "4/5", "4 stars", "5!": a rating typed with more than the number. */
const RATING_TYPED = /^\s*([1-5])(?:\s*(?:\/\s*5|stars?|estrellas?|de 5|out of 5))?\s*[.!]*\s*$/iu;

type Recorded = CommandResults['report.survey'];

export const fixSurveyDialog = defineDialog({
  id: 'fix-survey',
  version: 1,
  titleKey: 'dialog.fix_survey',
  start: 'fixed',
  steps: {
    fixed: {
      ask: (ctx) => (str(ctx.slots.fixed) ? { skipTo: 'record' } : [ask(ctx, 'fix_survey.ask', aboutVars(ctx), yesNoChoices(ctx))]),
      answer: (input, ctx) => {
        const answer = answerYesNo(input, ctx);
        if (!answer) return { retry: 'fix_survey.retry_fixed' };
        return { to: 'record', set: { fixed: answer } };
      },
    },
    record: {
      load: (ctx) => ({
        command: { type: 'report.survey', input: { ref: str(ctx.slots.ref) ?? '', fixed: ctx.slots.fixed === 'no' ? 'no' : 'yes' } },
        resultSlot: 'recorded',
      }),
      ask: (ctx) => {
        const recorded = result<Recorded>(ctx.slots.recorded);
        if (!recorded?.surveyId) return { finish: true, say: [say(ctx, 'fix_survey.not_found', { ref: str(ctx.slots.ref) ?? '' })] };
        return { skipTo: 'rating' };
      },
      answer: () => ({ reroute: true }),
    },
    rating: {
      ask: (ctx) => [
        ask(ctx, ctx.slots.fixed === 'no' ? 'fix_survey.ask_rating_not_fixed' : 'fix_survey.ask_rating', { ref: str(ctx.slots.ref) ?? '' }, ratingChoices(ctx)),
      ],
      answer: (input, ctx) => {
        const picked = ctx.pick(input, ratingChoices(ctx)) ?? RATING_TYPED.exec(input.text)?.[1] ?? null;
        if (!picked) return { retry: 'fix_survey.retry_rating' };
        return { to: 'comment', set: { rating: Number(picked) } };
      },
    },
    comment: {
      freeText: true,
      // On SMS a "Skip" choice would read "1. Skip / Reply 1." under a question that wants words.
      ask: (ctx) => [ask(ctx, 'fix_survey.ask_comment', undefined, ctx.channel.buttons ? [skipChoice(ctx)] : [])],
      answer: (input, ctx) => {
        // Only a bare "no" skips: "no, they only patched half of it" is the comment.
        if (ctx.pick(input, [skipChoice(ctx)]) === 'skip' || bareYesNo(input, ctx) === 'no') return { to: 'save', set: { comment: null } };
        const text = freeText(input, 2, COMMENT_MAX);
        if ('tooShort' in text) return { retry: 'fix_survey.retry_comment' };
        if ('tooLong' in text) return { retry: 'fix_survey.retry_comment_long', vars: { max: COMMENT_MAX } };
        return { to: 'save', set: { comment: text.ok } };
      },
    },
    save: {
      load: (ctx) => {
        const recorded = result<Recorded>(ctx.slots.recorded);
        const comment = str(ctx.slots.comment);
        return {
          command: {
            type: 'report.survey',
            input: {
              ref: str(ctx.slots.ref) ?? '',
              surveyId: recorded?.surveyId ?? '',
              ...(typeof ctx.slots.rating === 'number' ? { rating: ctx.slots.rating } : {}),
              ...(comment ? { comment } : {}),
            },
          },
          resultSlot: 'saved',
        };
      },
      ask: (ctx) => ({ finish: true, say: [say(ctx, ctx.slots.fixed === 'no' ? 'fix_survey.thanks_not_fixed' : 'fix_survey.thanks')] }),
      answer: () => ({ reroute: true }),
    },
  },
});

/** The 1-5 scale: ids are the ratings, so "4" means 4 on SMS's numbered list and typed anywhere. */
function ratingChoices(ctx: StepContext): Choice[] {
  return [1, 2, 3, 4, 5].map((n) => choice(ctx, String(n), `fix_survey.rating_${n}`));
}

function skipChoice(ctx: StepContext): Choice {
  return choice(ctx, 'skip', 'choice.skip');
}

/** The report the question is about, as the notification named it: its reference and kind of problem. */
function aboutVars(ctx: StepContext): { ref: string; what: string } {
  const category = str(ctx.slots.category);
  return { ref: str(ctx.slots.ref) ?? '', what: ctx.t(`category.${category ?? 'other'}`) };
}
