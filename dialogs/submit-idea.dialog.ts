/**
 * Submit an idea: a one-line title, the details, an optional neighbourhood, a read-back, and a
 * reference others can support it by.
 */
import type { SimilarIdeaView } from '../src/engine/commands.js';
import { defineDialog, type Slots, type StepContext } from '../src/engine/types.js';
import type { Choice } from '../src/core/message.js';
import { answerYesNo, ask, choice, freeText, notAnAnswer, result, say, str, yesNoChoices } from './dialog-kit.js';

const TITLE_MAX = 140;
const DETAILS_MAX = 1000;
const NEIGHBOURHOOD_MAX = 80;
/**
 * An opener "<lead-in>: <idea>" whose lead-in has at most this many words ("idea:", "mi
 * propuesta -", "I have an idea:") carries the idea itself after the colon or dash.
 */
const LEAD_IN_WORDS = 4;
const LEAD_IN = /^(.{1,40}?)(?::|\s[-–—])\s*(.+)$/su;

function changeChoices(ctx: StepContext): Choice[] {
  return [choice(ctx, 'title', 'idea.change_title'), choice(ctx, 'details', 'idea.change_details'), choice(ctx, 'neighbourhood', 'idea.change_neighbourhood')];
}

/** The ideas `idea.findSimilar` offered. */
function similarIdeas(ctx: StepContext): SimilarIdeaView[] {
  return result<{ ideas: SimilarIdeaView[] }>(ctx.slots.similar)?.ideas ?? [];
}

/** Support one of the similar ideas, or file the resident's own. */
function similarChoices(ctx: StepContext): Choice[] {
  return [
    ...similarIdeas(ctx).map((idea) => choice(ctx, idea.ref, 'idea.support_similar', { ref: idea.ref, title: idea.title, count: idea.supporters })),
    choice(ctx, 'file', 'idea.file_mine'),
  ];
}

export const submitIdeaDialog = defineDialog({
  id: 'submit-idea',
  version: 1,
  titleKey: 'dialog.idea',
  start: 'title',
  // "idea: more bike racks downtown please" was asked "What's your idea?": the message opened
  // the dialog (it reads as submit_idea) and says the idea after its lead-in.
  seed: (input): Slots => {
    const [, leadIn = '', rest = ''] = LEAD_IN.exec(input.text.trim()) ?? [];
    if (!rest || leadIn.trim().split(/\s+/).length > LEAD_IN_WORDS) return {};
    const title = freeText({ ...input, text: rest }, 3, TITLE_MAX);
    return 'ok' in title ? { title: title.ok } : {};
  },
  steps: {
    title: {
      freeText: true,
      ask: (ctx) => (str(ctx.slots.title) ? { skipTo: 'similar' } : [say(ctx, 'idea.ask_title')]),
      answer: (input) => {
        const text = freeText(input, 3, TITLE_MAX);
        if ('tooShort' in text) return { retry: 'idea.retry_title' };
        if ('tooLong' in text) return { retry: 'idea.retry_title_long', vars: { max: TITLE_MAX } };
        return { to: 'similar', set: { title: text.ok } };
      },
    },
    // "Similar ideas?" (issue 21): right after the one-line idea, before the resident writes the
    // details, the closest ideas already made are offered to support instead.
    similar: {
      load: (ctx) =>
        ctx.slots.similarChecked ? null : { command: { type: 'idea.findSimilar', input: { text: str(ctx.slots.title) ?? '' } }, resultSlot: 'similar' },
      ask: (ctx) => {
        const ideas = similarIdeas(ctx);
        if (ctx.slots.similarChecked || ideas.length === 0) return { skipTo: 'details' };
        const [first] = ideas;
        const intro =
          ideas.length === 1 && first ? ctx.t('idea.similar_one', { ref: first.ref, title: first.title, count: first.supporters }) : ctx.t('idea.similar_many');
        return [{ kind: 'text', text: intro, choices: similarChoices(ctx) }];
      },
      answer: (input, ctx) => {
        const picked = ctx.pick(input, similarChoices(ctx)) ?? (answerYesNo(input, ctx) === 'no' ? 'file' : null);
        if (picked === 'file') return { to: 'details', set: { similarChecked: true } };
        const idea = similarIdeas(ctx).find((candidate) => candidate.ref === picked);
        if (idea)
          return { run: { type: 'idea.support', input: { ref: idea.ref } }, resultSlot: 'supported', then: 'supported_instead', set: { supportRef: idea.ref } };
        return { retry: 'retry.pick_number' };
      },
    },
    supported_instead: {
      ask: (ctx) => {
        const outcome = result<{ outcome: string }>(ctx.slots.supported)?.outcome ?? 'not_found';
        const ref = str(ctx.slots.supportRef) ?? '';
        const title = similarIdeas(ctx).find((idea) => idea.ref === ref)?.title ?? '';
        return { finish: true, say: [say(ctx, outcome === 'supported' ? 'idea.similar_supported' : `ideas.support_${outcome}`, { ref, title })] };
      },
      answer: () => ({ reroute: true }),
    },
    details: {
      freeText: true,
      ask: (ctx) => (str(ctx.slots.details) ? { skipTo: 'neighbourhood' } : [say(ctx, 'idea.ask_details')]),
      answer: (input) => {
        const text = freeText(input, 3, DETAILS_MAX);
        if ('tooShort' in text) return { retry: 'idea.retry_details' };
        if ('tooLong' in text) return { retry: 'idea.retry_details_long', vars: { max: DETAILS_MAX } };
        return { to: 'neighbourhood', set: { details: text.ok } };
      },
    },
    neighbourhood: {
      ask: (ctx) =>
        str(ctx.slots.neighbourhood) || ctx.slots.neighbourhoodSkipped
          ? { skipTo: 'confirm' }
          : [ask(ctx, 'idea.ask_neighbourhood', undefined, [choice(ctx, 'skip', 'choice.skip')])],
      answer: (input, ctx) => {
        if (ctx.pick(input, [choice(ctx, 'skip', 'choice.skip')]) === 'skip' || answerYesNo(input, ctx) === 'no') {
          return { to: 'confirm', set: { neighbourhoodSkipped: true } };
        }
        const not = notAnAnswer(input, ctx);
        if (not) return { retry: not === 'question' ? 'idea.why_neighbourhood' : 'idea.retry_neighbourhood' };
        const text = freeText(input, 2, NEIGHBOURHOOD_MAX);
        if (!('ok' in text)) return { retry: 'idea.retry_neighbourhood' };
        return { to: 'confirm', set: { neighbourhood: text.ok } };
      },
    },
    confirm: {
      ask: (ctx) => [
        ask(
          ctx,
          'idea.confirm',
          {
            title: str(ctx.slots.title) ?? '',
            details: str(ctx.slots.details) ?? '',
            neighbourhood: str(ctx.slots.neighbourhood) ?? ctx.t('idea.no_neighbourhood'),
          },
          yesNoChoices(ctx, 'idea.send', 'idea.change'),
        ),
      ],
      answer: (input, ctx) => {
        const answer = answerYesNo(input, ctx, yesNoChoices(ctx, 'idea.send', 'idea.change'));
        if (answer === 'no') return { to: 'change' };
        if (answer !== 'yes') return { retry: 'retry.yes_no' };
        const neighbourhood = str(ctx.slots.neighbourhood);
        return {
          run: {
            type: 'idea.create',
            input: { title: str(ctx.slots.title) ?? '', details: str(ctx.slots.details) ?? '', ...(neighbourhood ? { neighbourhood } : {}) },
          },
          resultSlot: 'created',
          then: 'filed',
        };
      },
    },
    change: {
      ask: (ctx) => [ask(ctx, 'idea.ask_change', undefined, changeChoices(ctx))],
      answer: (input, ctx) => {
        const picked = ctx.pick(input, changeChoices(ctx));
        if (picked === 'title') return { to: 'title', set: { title: null, similarChecked: null } };
        if (picked === 'details') return { to: 'details', set: { details: null } };
        if (picked === 'neighbourhood') return { to: 'neighbourhood', set: { neighbourhood: null, neighbourhoodSkipped: null } };
        return { retry: 'retry.pick_number' };
      },
    },
    filed: {
      ask: (ctx) => ({ finish: true, say: [say(ctx, 'idea.filed', { ref: result<{ ref: string }>(ctx.slots.created)?.ref ?? '' })] }),
      answer: () => ({ reroute: true }),
    },
  },
});
