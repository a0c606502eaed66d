/**
 * Find a volunteer role and sign up: browse open roles (filtered by interest and
 * neighbourhood), see one role's details, sign up with a name for the coordinator (or join the
 * waitlist of a full role), and see or cancel one's sign-ups.
 */
import type { RoleSummary, RoleView, SignupSummary } from '../src/engine/commands.js';
import { defineDialog, type StepContext } from '../src/engine/types.js';
import type { Choice } from '../src/core/message.js';
import { answerYesNo, ask, choice, freeText, notAnAnswer, result, say, str, yesNoChoices } from './dialog-kit.js';
import { askShift, backToList, pickedShift, signupWhen } from './volunteer-shifts.js';

const ROLES_SHOWN = 5;
const NAME_MAX = 80;

type RoleList = { roles: RoleSummary[]; interests: string[]; neighbourhoods: string[] };

function roleLabel(ctx: StepContext, role: RoleSummary): string {
  return ctx.t(role.demo ? 'volunteer.list_item_demo' : 'volunteer.list_item', {
    title: role.title,
    neighbourhood: role.neighbourhood,
    date: ctx.formatDate(role.startsAt),
    count: role.spotsLeft,
  });
}

function listChoices(ctx: StepContext): Choice[] {
  const roles = result<RoleList>(ctx.slots.list)?.roles ?? [];
  return [
    ...roles.slice(0, ROLES_SHOWN).map((role) => ({ id: role.ref, label: roleLabel(ctx, role) })),
    choice(ctx, 'filter', 'volunteer.filter'),
    choice(ctx, 'mine', 'volunteer.my_signups'),
  ];
}

function filterChoices(ctx: StepContext, values: readonly string[]): Choice[] {
  return [...values.map((value) => ({ id: `=${value}`, label: value })), choice(ctx, 'any', 'volunteer.any')];
}

function detailChoices(ctx: StepContext, role: RoleView): Choice[] {
  const signUp = role.spotsLeft > 0 ? choice(ctx, 'signup', 'volunteer.sign_up') : choice(ctx, 'waitlist', 'volunteer.join_waitlist');
  return [signUp, choice(ctx, 'list', 'volunteer.back_to_list')];
}

function mySignupChoices(ctx: StepContext): Choice[] {
  const signups = result<{ signups: SignupSummary[] }>(ctx.slots.mine)?.signups ?? [];
  return [
    ...signups.map((signup) => ({
      id: signup.ref,
      label: ctx.t(`volunteer.signup_item_${signup.status}`, {
        title: signup.title,
        date: signup.endsAt ? ctx.formatRange(signup.startsAt, signup.endsAt) : ctx.formatDate(signup.startsAt),
      }),
    })),
    choice(ctx, 'list', 'volunteer.back_to_list'),
  ];
}

export const volunteerDialog = defineDialog({
  id: 'volunteer',
  version: 1,
  titleKey: 'dialog.volunteer',
  start: 'list',
  steps: {
    list: {
      load: (ctx) => {
        if (str(ctx.slots.roleRef) || str(ctx.slots.show) === 'mine') return null;
        const interest = str(ctx.slots.interest);
        const neighbourhood = str(ctx.slots.neighbourhood);
        return {
          command: { type: 'role.list', input: { ...(interest ? { interest } : {}), ...(neighbourhood ? { neighbourhood } : {}) } },
          resultSlot: 'list',
        };
      },
      ask: (ctx) => {
        if (str(ctx.slots.roleRef)) return { skipTo: 'detail' };
        // Started for "my sign-ups": straight to them (slot `show`, set by the engine).
        if (str(ctx.slots.show) === 'mine') return { skipTo: 'mine' };
        const roles = result<RoleList>(ctx.slots.list)?.roles ?? [];
        const filtered = Boolean(str(ctx.slots.interest) || str(ctx.slots.neighbourhood));
        if (roles.length === 0) {
          return [
            ask(ctx, filtered ? 'volunteer.none_filtered' : 'volunteer.none', undefined, [
              choice(ctx, 'filter', 'volunteer.filter'),
              choice(ctx, 'mine', 'volunteer.my_signups'),
            ]),
          ];
        }
        return [ask(ctx, 'volunteer.list', { count: roles.length }, listChoices(ctx))];
      },
      answer: (input, ctx) => {
        const reference = input.nlu.entities.reference;
        if (reference?.startsWith('V-')) return { to: 'detail', set: { roleRef: reference, shiftId: null } };
        const picked = ctx.pick(input, listChoices(ctx));
        if (picked === 'filter') return { to: 'filter_interest', set: { interest: null, neighbourhood: null } };
        if (picked === 'mine' || (!picked && input.nlu.intent === 'my_signups')) return { to: 'mine' };
        if (picked) return { to: 'detail', set: { roleRef: picked, shiftId: null } };
        if (input.nlu.intent !== 'none' && input.nlu.intent !== 'find_volunteer') return { reroute: true };
        return { retry: 'retry.pick_number' };
      },
    },
    filter_interest: {
      ask: (ctx) => [ask(ctx, 'volunteer.ask_interest', undefined, filterChoices(ctx, result<RoleList>(ctx.slots.list)?.interests ?? []))],
      answer: (input, ctx) => {
        const picked = ctx.pick(input, filterChoices(ctx, result<RoleList>(ctx.slots.list)?.interests ?? []));
        if (!picked) return { retry: 'retry.pick_number' };
        return { to: 'filter_neighbourhood', set: { interest: picked === 'any' ? null : picked.slice(1) } };
      },
    },
    filter_neighbourhood: {
      ask: (ctx) => [ask(ctx, 'volunteer.ask_neighbourhood', undefined, filterChoices(ctx, result<RoleList>(ctx.slots.list)?.neighbourhoods ?? []))],
      answer: (input, ctx) => {
        const picked = ctx.pick(input, filterChoices(ctx, result<RoleList>(ctx.slots.list)?.neighbourhoods ?? []));
        if (!picked) return { retry: 'retry.pick_number' };
        return { to: 'list', set: { neighbourhood: picked === 'any' ? null : picked.slice(1) } };
      },
    },
    detail: {
      load: (ctx) => ({ command: { type: 'role.get', input: { ref: str(ctx.slots.roleRef) ?? '' } }, resultSlot: 'role' }),
      ask: (ctx) => {
        const role = result<{ role: RoleView | null }>(ctx.slots.role)?.role;
        if (!role || role.status !== 'open') return { finish: true, say: [say(ctx, 'volunteer.not_found', { ref: str(ctx.slots.roleRef) ?? '' })] };
        // A role with shifts: its details, then which shift (the shifts are the choices).
        if (role.shifts) {
          const about = ctx.t('volunteer.detail_shifts', {
            title: role.title,
            description: role.description,
            place: role.place,
            neighbourhood: role.neighbourhood,
          });
          const demo = role.demo ? `\n${ctx.t('volunteer.demo_note')}` : '';
          return askShift(ctx, role, { kind: 'text', text: about + demo }, [backToList(ctx)]);
        }
        const details = ctx.t('volunteer.detail', {
          title: role.title,
          description: role.description,
          place: role.place,
          neighbourhood: role.neighbourhood,
          date: role.schedule ?? ctx.formatDate(role.startsAt),
          count: role.spotsLeft,
          capacity: role.capacity,
        });
        const demo = role.demo ? `\n${ctx.t('volunteer.demo_note')}` : '';
        return [{ kind: 'text', text: details + demo, choices: detailChoices(ctx, role) }];
      },
      answer: (input, ctx) => {
        const role = result<{ role: RoleView | null }>(ctx.slots.role)?.role;
        if (!role) return { reroute: true };
        if (role.shifts) {
          const picked = pickedShift(input, ctx, role, [backToList(ctx)]);
          if (picked === 'list') return { to: 'list', set: { roleRef: null, show: null } };
          if (picked && typeof picked !== 'string') return { to: 'name', set: { shiftId: picked.ref, waitlist: picked.spotsLeft === 0 } };
          return { retry: 'retry.pick_number' };
        }
        const picked = ctx.pick(input, detailChoices(ctx, role)) ?? (ctx.yesNo(input) === 'yes' ? (role.spotsLeft > 0 ? 'signup' : 'waitlist') : null);
        if (picked === 'list') return { to: 'list', set: { roleRef: null, show: null } };
        if (picked === 'signup' || picked === 'waitlist') return { to: 'name', set: { waitlist: picked === 'waitlist' } };
        return { retry: 'retry.pick_number' };
      },
    },
    name: {
      // A resident we know by name confirms it; "no" asks for the name to use instead.
      ask: (ctx) => (ctx.resident.name ? [ask(ctx, 'volunteer.confirm_name', { name: ctx.resident.name }, yesNoChoices(ctx))] : { skipTo: 'other_name' }),
      answer: (input, ctx) => {
        const answer = answerYesNo(input, ctx);
        if (answer === 'yes' && ctx.resident.name) return signUp(ctx, ctx.resident.name);
        if (answer === 'no') return { to: 'other_name' };
        return { retry: 'retry.yes_no' };
      },
    },
    other_name: {
      freeText: true,
      ask: (ctx) => [say(ctx, ctx.resident.name ? 'volunteer.ask_other_name' : 'volunteer.ask_name')],
      answer: (input, ctx) => {
        const not = notAnAnswer(input, ctx);
        if (not) return { retry: not === 'question' ? 'volunteer.why_name' : 'volunteer.retry_name' };
        const text = freeText(input, 2, NAME_MAX);
        if (!('ok' in text)) return { retry: 'volunteer.retry_name' };
        return signUp(ctx, text.ok);
      },
    },
    signed_up: {
      ask: (ctx) => {
        const outcome = result<{ outcome: string }>(ctx.slots.signup)?.outcome ?? 'not_found';
        const role = result<{ role: RoleView | null }>(ctx.slots.role)?.role;
        const vars = {
          title: role?.title ?? '',
          date: signupWhen(ctx, role),
          contact: role?.contact ?? '',
          name: str(ctx.slots.name) ?? '',
        };
        if (outcome === 'full') return [ask(ctx, 'volunteer.signup_full', vars, yesNoChoices(ctx, 'volunteer.join_waitlist', 'choice.no'))];
        return {
          finish: true,
          say: [say(ctx, `volunteer.signup_${outcome}`, vars)],
        };
      },
      answer: (input, ctx) => {
        if (answerYesNo(input, ctx, yesNoChoices(ctx, 'volunteer.join_waitlist', 'choice.no')) === 'yes') return signUp(ctx, str(ctx.slots.name) ?? '', true);
        return { finish: true, say: [say(ctx, 'volunteer.maybe_later')] };
      },
    },
    mine: {
      load: () => ({ command: { type: 'signup.listMine', input: {} }, resultSlot: 'mine' }),
      ask: (ctx) => {
        const signups = result<{ signups: SignupSummary[] }>(ctx.slots.mine)?.signups ?? [];
        if (signups.length === 0) return [ask(ctx, 'volunteer.no_signups', undefined, [choice(ctx, 'list', 'volunteer.back_to_list')])];
        return [ask(ctx, 'volunteer.my_signups_list', { count: signups.length }, mySignupChoices(ctx))];
      },
      answer: (input, ctx) => {
        const picked = ctx.pick(input, mySignupChoices(ctx));
        if (picked === 'list') return { to: 'list', set: { roleRef: null, show: null } };
        if (picked) return { to: 'confirm_cancel', set: { cancelRef: picked } };
        // Reached straight from "my sign-ups", the next message may well be about something else.
        if (input.nlu.intent !== 'none' && input.nlu.intent !== 'my_signups') return { reroute: true };
        return { retry: 'retry.pick_number' };
      },
    },
    confirm_cancel: {
      ask: (ctx) => {
        const signup = result<{ signups: SignupSummary[] }>(ctx.slots.mine)?.signups.find((s) => s.ref === str(ctx.slots.cancelRef));
        return [ask(ctx, 'volunteer.confirm_cancel', { title: signup?.title ?? '' }, yesNoChoices(ctx, 'volunteer.cancel_signup', 'volunteer.keep_signup'))];
      },
      answer: (input, ctx) => {
        const answer = answerYesNo(input, ctx, yesNoChoices(ctx, 'volunteer.cancel_signup', 'volunteer.keep_signup'));
        if (answer === 'no') return { finish: true, say: [say(ctx, 'volunteer.kept')] };
        if (answer !== 'yes') return { retry: 'retry.yes_no' };
        return { run: { type: 'signup.cancel', input: { ref: str(ctx.slots.cancelRef) ?? '' } }, resultSlot: 'cancelled', then: 'cancelled' };
      },
    },
    cancelled: {
      ask: (ctx) => {
        const outcome = result<{ outcome: string }>(ctx.slots.cancelled)?.outcome ?? 'not_found';
        return { finish: true, say: [say(ctx, `volunteer.cancel_${outcome}`)] };
      },
      answer: () => ({ reroute: true }),
    },
  },
});

function signUp(ctx: StepContext, name: string, waitlist = ctx.slots.waitlist === true) {
  return {
    run: { type: 'role.signUp' as const, input: { ref: str(ctx.slots.roleRef) ?? '', ...shiftOf(ctx), name, waitlist } },
    resultSlot: 'signup',
    then: 'signed_up',
    set: { name },
  };
}

/** The picked shift, as the sign-up's input (nothing for a role without shifts). */
function shiftOf(ctx: StepContext): { shiftId?: string } {
  const shiftId = str(ctx.slots.shiftId);
  return shiftId ? { shiftId } : {};
}
