/**
 * Picking a shift of a role, shared by the two ways into a sign-up: finding a role
 * (volunteer.dialog.ts) and answering a volunteer call (volunteer-call.dialog.ts). A role with
 * shifts is signed up for one shift at a time; a full shift can still be picked, for its waitlist.
 */
import type { RoleView, ShiftView } from '../src/engine/commands.js';
import type { StepContext, StepInput } from '../src/engine/types.js';
import type { Choice, Reply } from '../src/core/message.js';
import { ask, choice, str } from './dialog-kit.js';

/** One choice per shift, soonest first: its time, its place when it is not the role's, and its spots (or the waitlist). */
export function shiftChoices(ctx: StepContext, role: RoleView): Choice[] {
  return (role.shifts ?? []).map((shift) => ({ id: shift.ref, label: shiftLabel(ctx, role, shift) }));
}

function shiftLabel(ctx: StepContext, role: RoleView, shift: ShiftView): string {
  const date = ctx.formatRange(shift.startsAt, shift.endsAt);
  const elsewhere = shift.place !== role.place;
  if (shift.spotsLeft === 0) return ctx.t(elsewhere ? 'volunteer.shift_item_full_at' : 'volunteer.shift_item_full', { date, place: shift.place });
  return ctx.t(elsewhere ? 'volunteer.shift_item_at' : 'volunteer.shift_item', { date, place: shift.place, count: shift.spotsLeft });
}

/** The question that offers the shifts (with `extra` choices after them), or says there are none coming up. */
export function askShift(ctx: StepContext, role: RoleView, intro: Reply | null, extra: Choice[]): Reply[] {
  const shifts = shiftChoices(ctx, role);
  if (shifts.length === 0) return [ask(ctx, 'volunteer.no_shifts', { title: role.title }, extra)];
  const question = ask(ctx, 'volunteer.pick_shift', { count: shifts.length }, [...shifts, ...extra]);
  return intro ? [intro, question] : [question];
}

/**
 * What the resident picked from the question `askShift` asked with the same `extra` choices: a
 * shift (by number, button, or "yes" when there is only one), an extra choice's id, or null.
 */
export function pickedShift(input: StepInput, ctx: StepContext, role: RoleView, extra: Choice[] = []): ShiftView | string | null {
  const shifts = role.shifts ?? [];
  const picked = ctx.pick(input, [...shiftChoices(ctx, role), ...extra]);
  if (picked) return shifts.find((shift) => shift.ref === picked) ?? picked;
  if (shifts.length === 1 && ctx.yesNo(input) === 'yes') return shifts[0]!;
  return null;
}

/** When a sign-up is for: the picked shift's time, else the role's schedule or date. */
export function signupWhen(ctx: StepContext, role: RoleView | null | undefined): string {
  if (!role) return '';
  const shift = role.shifts?.find((s) => s.ref === str(ctx.slots.shiftId));
  if (shift) return ctx.formatRange(shift.startsAt, shift.endsAt);
  return role.schedule ?? ctx.formatDate(role.startsAt);
}

/** The "back to the roles" choice, offered under the shifts. */
export function backToList(ctx: StepContext): Choice {
  return choice(ctx, 'list', 'volunteer.back_to_list');
}
