/**
 * Answering a volunteer call: a resident who replies "yes" to a broadcast is signed up for its
 * role (or waitlisted when it is full), with the name we know, or the name they give now.
 * Started by the engine when a reply answers a call (the conversation's `followUp`).
 */
import type { RoleView } from '../src/engine/commands.js';
import { defineDialog, type StepContext } from '../src/engine/types.js';
import { freeText, notAnAnswer, result, say, str } from './dialog-kit.js';
import { askShift, pickedShift, signupWhen } from './volunteer-shifts.js';

const NAME_MAX = 80;

export const volunteerCallDialog = defineDialog({
  id: 'volunteer-call',
  version: 1,
  titleKey: 'dialog.volunteer_call',
  start: 'role',
  steps: {
    role: {
      load: (ctx) => ({ command: { type: 'role.get', input: { ref: str(ctx.slots.roleRef) ?? '' } }, resultSlot: 'role' }),
      ask: (ctx) => {
        const role = result<{ role: RoleView | null }>(ctx.slots.role)?.role;
        if (!role || role.status !== 'open') return { finish: true, say: [say(ctx, 'volunteer_call.closed')] };
        if (role.shifts) return { skipTo: 'shift' };
        return ctx.resident.name ? { skipTo: 'sign_up' } : { skipTo: 'name' };
      },
      answer: () => ({ reroute: true }),
    },
    // A role with shifts: the "yes" to the call is for one of them.
    shift: {
      ask: (ctx) => {
        const role = result<{ role: RoleView | null }>(ctx.slots.role)?.role;
        if (!role) return { finish: true, say: [say(ctx, 'volunteer_call.closed')] };
        const replies = askShift(ctx, role, null, []);
        return role.shifts?.length ? replies : { finish: true, say: replies };
      },
      answer: (input, ctx) => {
        const role = result<{ role: RoleView | null }>(ctx.slots.role)?.role;
        if (!role) return { reroute: true };
        const picked = pickedShift(input, ctx, role);
        const shift = picked && typeof picked !== 'string' ? picked : null;
        if (!shift && ctx.yesNo(input) === 'no') return { finish: true, say: [say(ctx, 'volunteer.maybe_later')] };
        if (!shift) return input.nlu.intent === 'none' ? { retry: 'retry.pick_number' } : { reroute: true };
        return { to: ctx.resident.name ? 'sign_up' : 'name', set: { shiftId: shift.ref } };
      },
    },
    name: {
      freeText: true,
      ask: (ctx) => [say(ctx, 'volunteer_call.ask_name')],
      answer: (input, ctx) => {
        const not = notAnAnswer(input, ctx);
        if (not) return { retry: not === 'question' ? 'volunteer.why_name' : 'volunteer.retry_name' };
        const text = freeText(input, 2, NAME_MAX);
        if (!('ok' in text)) return { retry: 'volunteer.retry_name' };
        return { to: 'sign_up', set: { name: text.ok } };
      },
    },
    sign_up: {
      load: (ctx) => ({
        command: {
          type: 'role.signUp',
          input: {
            ref: str(ctx.slots.roleRef) ?? '',
            ...(str(ctx.slots.shiftId) ? { shiftId: str(ctx.slots.shiftId) } : {}),
            name: str(ctx.slots.name) ?? ctx.resident.name ?? '',
            waitlist: true,
            ...(str(ctx.slots.broadcastId) ? { via: str(ctx.slots.broadcastId) } : {}),
          },
        },
        resultSlot: 'signup',
      }),
      ask: (ctx) => ({ finish: true, say: [say(ctx, `volunteer.signup_${outcomeOf(ctx)}`, signupVars(ctx))] }),
      answer: () => ({ reroute: true }),
    },
  },
});

function outcomeOf(ctx: StepContext): string {
  return result<{ outcome: string }>(ctx.slots.signup)?.outcome ?? 'not_found';
}

function signupVars(ctx: StepContext) {
  const role = result<{ role: RoleView | null }>(ctx.slots.role)?.role;
  return {
    title: role?.title ?? '',
    date: signupWhen(ctx, role),
    contact: role?.contact ?? '',
    name: str(ctx.slots.name) ?? ctx.resident.name ?? '',
  };
}
