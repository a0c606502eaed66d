/**
 * After a volunteer shift (issue 20): "Did you make it to Food bank packing?" is asked by a job
 * (src/staff/shift-checkin-jobs.ts); the engine starts this dialog with the resident's yes or no
 * (the follow-up's reader in advance.ts), or without one when the reply was unclear. A "yes" asks
 * the hours given, then the role's outcome question when it has one ("How many bags of trash did
 * your group collect?"), and ends with a thank-you carrying the role's outcome so far; a "no" is
 * thanked for telling us. The answers are kept on the sign-up together, once all are given.
 */
import type { CommandResults } from '../src/engine/commands.js';
import { defineDialog, type StepContext, type StepInput, type StepOutcome } from '../src/engine/types.js';
import { HOURS_MAX, HOURS_MIN, OUTCOME_MAX, thankYouText } from '../src/domain/volunteer-hours.js';
import { parseHours, parseWholeNumber } from '../src/engine/hours.js';
import { answerYesNo, ask, result, say, str, yesNoChoices } from './dialog-kit.js';

type Checkin = CommandResults['checkin.get']['checkin'];

/** Requests heard over the hours and outcome questions, and how sure the NLU must be of them (the engine's interrupt level). */
const REQUESTS_OVER_ANSWERS: ReadonlySet<string> = new Set(['human', 'delete_my_data']);
const REQUEST_CONFIDENCE = 0.8;
type Recorded = CommandResults['checkin.record'];

export const shiftCheckinDialog = defineDialog({
  id: 'shift-checkin',
  version: 1,
  titleKey: 'dialog.shift_checkin',
  start: 'load',
  steps: {
    load: {
      load: (ctx) => ({ command: { type: 'checkin.get', input: { ref: str(ctx.slots.ref) ?? '' } }, resultSlot: 'checkin' }),
      ask: (ctx) => {
        if (!checkinOf(ctx)) return { finish: true, say: [say(ctx, 'shift_checkin.not_found')] };
        return { skipTo: 'attended' };
      },
      answer: () => ({ reroute: true }),
    },
    attended: {
      ask: (ctx) => {
        const attended = str(ctx.slots.attended);
        if (attended) return { skipTo: attended === 'yes' ? 'hours' : 'save' };
        const checkin = checkinOf(ctx)!;
        return [ask(ctx, 'shift_checkin.ask', { title: checkin.title, when: ctx.formatRange(checkin.startsAt, checkin.endsAt) }, yesNoChoices(ctx))];
      },
      answer: (input, ctx) => {
        const answer = answerYesNo(input, ctx);
        if (!answer) return { retry: 'shift_checkin.retry_attended' };
        return { to: answer === 'yes' ? 'hours' : 'save', set: { attended: answer } };
      },
    },
    hours: {
      // "I gave 3 hours volunteering" is an answer, not a new search for roles.
      freeText: true,
      // The "yes" is kept at once: a resident who then goes to the menu or stops answering
      // still made it (it waited for the last answer, and was lost with it).
      load: (ctx) => (ctx.slots.marked ? null : { command: record(ctx, false), resultSlot: 'marked' }),
      // Given with the "yes" already ("3 hours"): on to the outcome.
      ask: (ctx) => (typeof ctx.slots.hours === 'number' ? { skipTo: nextAfterHours(ctx) } : [say(ctx, 'shift_checkin.ask_hours')]),
      answer: (input, ctx) => {
        const hours = parseHours(input.text);
        if (hours === null) return asksForElse(input) ? { reroute: true } : { retry: 'shift_checkin.retry_hours' };
        if (hours < HOURS_MIN) return { retry: 'shift_checkin.hours_too_few' };
        if (hours > HOURS_MAX) return { retry: 'shift_checkin.hours_too_many' };
        return { to: nextAfterHours(ctx), set: { hours } };
      },
    },
    outcome: {
      freeText: true,
      // The hours likewise, before the role's own question.
      load: (ctx) => (ctx.slots.markedHours ? null : { command: record(ctx, false), resultSlot: 'markedHours' }),
      // The role's own question, as the coordinator wrote it (in the resident's language when they did).
      ask: (ctx) => [{ kind: 'text', text: checkinOf(ctx)?.outcome?.question ?? '' }],
      answer: (input, ctx): StepOutcome => {
        const count = parseWholeNumber(input.text);
        const unit = checkinOf(ctx)?.outcome?.unit ?? '';
        if (count === null) return asksForElse(input) ? { reroute: true } : { retry: 'shift_checkin.retry_outcome', vars: { unit } };
        if (count > OUTCOME_MAX) return { retry: 'shift_checkin.outcome_too_many', vars: { max: OUTCOME_MAX.toLocaleString(ctx.locale) } };
        return { to: 'save', set: { outcome: count } };
      },
    },
    save: {
      load: (ctx) => ({ command: record(ctx, true), resultSlot: 'saved' }),
      ask: (ctx) => {
        const saved = result<Recorded>(ctx.slots.saved);
        const checkin = checkinOf(ctx);
        if (saved?.outcome !== 'recorded' || !checkin) return { finish: true, say: [say(ctx, 'shift_checkin.not_found')] };
        if (ctx.slots.attended !== 'yes' || !saved.tally) return { finish: true, say: [say(ctx, 'shift_checkin.no_show')] };
        const text = thankYouText(ctx.t, ctx.locale, {
          name: checkin.name || ctx.resident.name,
          title: checkin.title,
          unit: checkin.outcome?.unit,
          tally: saved.tally,
        });
        return { finish: true, say: [{ kind: 'text', text }] };
      },
      answer: () => ({ reroute: true }),
    },
  },
});

/**
 * A reply with no number that surely asks for a person or to delete the resident's data: the
 * answers are free text (so the engine lets no request interrupt them), and "delete my data"
 * here was asked for hours again and again. What was answered so far is kept already.
 */
function asksForElse(input: StepInput): boolean {
  return REQUESTS_OVER_ANSWERS.has(input.nlu.intent) && input.nlu.confidence >= REQUEST_CONFIDENCE;
}

/** Keeps the answers given so far on the sign-up (`all`: the last, with the outcome). */
function record(ctx: StepContext, all: boolean) {
  return {
    type: 'checkin.record' as const,
    input: {
      ref: str(ctx.slots.ref) ?? '',
      attended: ctx.slots.attended === 'yes' ? ('yes' as const) : ('no' as const),
      ...(typeof ctx.slots.hours === 'number' ? { hours: ctx.slots.hours } : {}),
      ...(all && typeof ctx.slots.outcome === 'number' ? { outcome: ctx.slots.outcome } : {}),
    },
  };
}

/** The step after the hours: the role's outcome question, when it has one. */
function nextAfterHours(ctx: StepContext): string {
  return checkinOf(ctx)?.outcome ? 'outcome' : 'save';
}

/** The shift as loaded when the dialog began, or null when the resident has no sign-up for it any more. */
function checkinOf(ctx: StepContext): Checkin {
  return result<CommandResults['checkin.get']>(ctx.slots.checkin)?.checkin ?? null;
}
