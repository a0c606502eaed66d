/**
 * Browse recent ideas and support one, once per resident: from the list by number, or
 * directly with "support I-4F2K9".
 */
import type { IdeaSummary } from '../src/engine/commands.js';
import { defineDialog, type StepContext } from '../src/engine/types.js';
import type { Choice } from '../src/core/message.js';
import { answerYesNo, ask, choice, result, say, str, yesNoChoices } from './dialog-kit.js';

const IDEAS_SHOWN = 5;

function ideaChoices(ctx: StepContext): Choice[] {
  const ideas = result<{ ideas: IdeaSummary[] }>(ctx.slots.recent)?.ideas ?? [];
  return [
    ...ideas.map((idea) => ({ id: idea.ref, label: ctx.t('ideas.list_item', { title: idea.title, count: idea.supports }) })),
    choice(ctx, 'new', 'ideas.share_new'),
  ];
}

export const ideasDialog = defineDialog({
  id: 'ideas',
  version: 1,
  titleKey: 'dialog.ideas',
  start: 'list',
  steps: {
    list: {
      load: (ctx) => (str(ctx.slots.supportRef) ? null : { command: { type: 'idea.listRecent', input: { limit: IDEAS_SHOWN } }, resultSlot: 'recent' }),
      ask: (ctx) => {
        if (str(ctx.slots.supportRef)) return { skipTo: 'support' };
        const ideas = result<{ ideas: IdeaSummary[] }>(ctx.slots.recent)?.ideas ?? [];
        if (ideas.length === 0) return [ask(ctx, 'ideas.none_yet', undefined, [choice(ctx, 'new', 'ideas.share_new')])];
        return [ask(ctx, 'ideas.list', undefined, ideaChoices(ctx))];
      },
      answer: (input, ctx) => {
        const reference = input.nlu.entities.reference;
        if (reference?.startsWith('I-')) return { to: 'support', set: { supportRef: reference } };
        const picked = ctx.pick(input, ideaChoices(ctx));
        if (picked === 'new') return { startDialog: 'submit-idea' };
        if (picked) return { to: 'confirm_support', set: { supportRef: picked } };
        if (input.nlu.intent !== 'none') return { reroute: true };
        return { retry: 'retry.pick_number' };
      },
    },
    confirm_support: {
      ask: (ctx) => {
        const ideas = result<{ ideas: IdeaSummary[] }>(ctx.slots.recent)?.ideas ?? [];
        const idea = ideas.find((candidate) => candidate.ref === str(ctx.slots.supportRef));
        return [
          ask(
            ctx,
            'ideas.confirm_support',
            { title: idea?.title ?? '', ref: str(ctx.slots.supportRef) ?? '', count: idea?.supports ?? 0 },
            yesNoChoices(ctx, 'ideas.support', 'choice.no'),
          ),
        ];
      },
      answer: (input, ctx) => {
        const answer = answerYesNo(input, ctx, yesNoChoices(ctx, 'ideas.support', 'choice.no'));
        if (answer === 'yes') return { to: 'support' };
        if (answer === 'no') return { to: 'list', set: { supportRef: null } };
        return { retry: 'retry.yes_no' };
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
  },
});
