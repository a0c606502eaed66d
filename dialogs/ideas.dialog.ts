/**
 * Browse recent ideas and support one, once per resident: from the list by number, or
 * directly with "support I-4F2K9". "report I-4F2K9" (`reportRef`) asks why and reports it as
 * abusive instead (issue 21; src/pipeline/idea-reports.ts hides it after enough reports).
 */
import type { IdeaSummary } from '../src/engine/commands.js';
import { defineDialog, type StepContext } from '../src/engine/types.js';
import type { Choice } from '../src/core/message.js';
import { IDEA_REPORT_REASONS, type IdeaReportReason } from '../src/domain/records.js';
import { answerYesNo, ask, choice, freeText, result, say, str, yesNoChoices } from './dialog-kit.js';

const IDEAS_SHOWN = 5;
/** The longest "other" reason (src/pipeline/idea-reports.ts keeps at most this). */
const REPORT_TEXT_MAX = 500;

function reasonChoices(ctx: StepContext): Choice[] {
  return IDEA_REPORT_REASONS.map((reason) => choice(ctx, reason, `ideas.report_reason_${reason}`));
}

/** Support it, not this one, or report it as abusive. */
function confirmChoices(ctx: StepContext): Choice[] {
  return [...yesNoChoices(ctx, 'ideas.support', 'choice.no'), choice(ctx, 'report', 'ideas.report_choice')];
}

function reportCommand(ctx: StepContext, reason: IdeaReportReason, text?: string) {
  return {
    run: { type: 'idea.report' as const, input: { ref: str(ctx.slots.reportRef) ?? '', reason, ...(text ? { text } : {}) } },
    resultSlot: 'reported',
    then: 'report_done',
  };
}

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
      load: (ctx) =>
        str(ctx.slots.supportRef) || str(ctx.slots.reportRef)
          ? null
          : { command: { type: 'idea.listRecent', input: { limit: IDEAS_SHOWN } }, resultSlot: 'recent' },
      ask: (ctx) => {
        if (str(ctx.slots.reportRef)) return { skipTo: 'report_reason' };
        if (str(ctx.slots.supportRef)) return { skipTo: 'support' };
        const ideas = result<{ ideas: IdeaSummary[] }>(ctx.slots.recent)?.ideas ?? [];
        if (ideas.length === 0) return [ask(ctx, 'ideas.none_yet', undefined, [choice(ctx, 'new', 'ideas.share_new')])];
        return [ask(ctx, 'ideas.list', undefined, ideaChoices(ctx))];
      },
      answer: (input, ctx) => {
        // A reference is read where the flow starts ("support I-…" or "report I-…", advance.ts).
        if (input.nlu.entities.reference?.startsWith('I-')) return { reroute: true };
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
            confirmChoices(ctx),
          ),
        ];
      },
      answer: (input, ctx) => {
        // The idea shown can be reported from here too (issue 21), not only by "report I-…".
        if (ctx.pick(input, confirmChoices(ctx)) === 'report') return { to: 'report_reason', set: { reportRef: str(ctx.slots.supportRef) ?? null } };
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
