/**
 * The answer to a shift reminder (issue 20; the reminder is src/staff/shift-reminder-jobs.ts).
 * The engine starts this dialog with the resident's answer (the follow-up's reader in
 * advance.ts): "1" / "yes" / "confirm" records that they will be there and thanks them; "2" /
 * "can't make it" asks whether to take them off the shift (a slip of the thumb must not give
 * their spot away), and "yes" then withdraws them, which gives the spot to the waitlist at once.
 * Leaving a shift opts the resident out of nothing.
 */
import type { CommandResults } from '../src/engine/commands.js';
import { defineDialog, type StepContext } from '../src/engine/types.js';
import { answerYesNo, ask, result, say, str, yesNoChoices } from './dialog-kit.js';

type Confirmed = CommandResults['signup.confirmAttendance'];
type Withdrawn = CommandResults['signup.cancel'];

export const shiftReminderDialog = defineDialog({
  id: 'shift-reminder',
  version: 1,
  titleKey: 'dialog.shift_reminder',
  start: 'answer',
  steps: {
    answer: {
      ask: () => ({ skipTo: 'confirm' }),
      answer: () => ({ reroute: true }),
    },
    confirm: {
      load: (ctx) =>
        ctx.slots.answer === 'no' ? null : { command: { type: 'signup.confirmAttendance', input: { ref: shiftId(ctx) } }, resultSlot: 'confirmed' },
      ask: (ctx) => {
        if (ctx.slots.answer === 'no') return { skipTo: 'withdraw' };
        const confirmed = result<Confirmed>(ctx.slots.confirmed);
        if (!confirmed?.shift) return { finish: true, say: [say(ctx, 'shift_reminder.not_found')] };
        const { title, startsAt, endsAt } = confirmed.shift;
        return { finish: true, say: [say(ctx, 'shift_reminder.thanks', { title, date: ctx.formatRange(startsAt, endsAt) })] };
      },
      answer: () => ({ reroute: true }),
    },
    withdraw: {
      ask: (ctx) => [ask(ctx, 'shift_reminder.ask_withdraw', undefined, yesNoChoices(ctx))],
      answer: (input, ctx) => {
        const answer = answerYesNo(input, ctx);
        if (!answer) return { retry: 'shift_reminder.retry_withdraw' };
        if (answer === 'no') return { finish: true, say: [say(ctx, 'shift_reminder.kept')] };
        return { run: { type: 'signup.cancel', input: { ref: shiftId(ctx) } }, resultSlot: 'withdrawn', then: 'withdrawn' };
      },
    },
    withdrawn: {
      ask: (ctx) => {
        const outcome = result<Withdrawn>(ctx.slots.withdrawn)?.outcome;
        // "2" after the shift started (the reminder counts until it ends): it took place, and stays.
        const key = outcome === 'cancelled' ? 'shift_reminder.withdrawn' : outcome === 'over' ? 'volunteer.cancel_over' : 'shift_reminder.not_found';
        return { finish: true, say: [say(ctx, key)] };
      },
      answer: () => ({ reroute: true }),
    },
  },
});

function shiftId(ctx: StepContext): string {
  return str(ctx.slots.shiftId) ?? '';
}
