/**
 * Find a volunteer role and sign up: browse open roles page by page (filtered by interest and
 * neighbourhood, or found by typing part of a title), see one role's details, sign up with a
 * name for the coordinator (or join the waitlist of a full role), and see or cancel one's
 * sign-ups ("my sign-ups", or "cancel my food bank shift" straight to that one).
 */
import type { RoleSummary, RoleView, SignupSummary } from '../src/engine/commands.js';
import { defineDialog, type StepContext, type StepInput, type StepOutcome } from '../src/engine/types.js';
import type { Choice } from '../src/core/message.js';
import { shorten, shortListTitle } from '../src/engine/text.js';
import { answerYesNo, ask, choice, freeText, namedIn, notAnAnswer, result, say, str, yesNoChoices } from './dialog-kit.js';
import { askShift, backToList, pickedShift, signupWhen } from './volunteer-shifts.js';
import { heading, nextPage, pageOf, pageSize, typedWord, unwrapped } from './list-pages.js';

/** A title in an SMS list line is cut to this many characters (the details show it whole). */
const TITLE_AS_TEXT = 30;
/** An SMS list line tells the spots left only when this few are (or none): it saves a page's characters. */
const FEW_SPOTS = 3;
/**
 * Typing part of a title picks a role when more than half the words typed are the title's ("food
 * bank" opens "Food bank sorting shift", not "Food drive"). A sentence about one's sign-ups has
 * more words that are not the title's ("cancel my delivery shift": one in three), so it needs
 * less; withdrawing asks first.
 */
const LIST_TITLE_SHARE = 0.51;
const SIGNUP_TITLE_SHARE = 0.3;
/** The words typed that a list of matching roles quotes back, at most. */
const QUERY_QUOTED = 30;
const NAME_MAX = 80;

type RoleList = { roles: RoleSummary[]; interests: string[]; neighbourhoods: string[] };

function listedRoles(ctx: StepContext): RoleSummary[] {
  return result<RoleList>(ctx.slots.list)?.roles ?? [];
}

/** A role as a list line: short on SMS (cut title, the day), whole where choices are buttons. */
function roleLabel(ctx: StepContext, role: RoleSummary): string {
  const full = role.spotsLeft === 0;
  const label = ctx.channel.buttons
    ? ctx.t(full ? 'volunteer.list_item_full' : 'volunteer.list_item', {
        title: role.title,
        neighbourhood: role.neighbourhood,
        date: ctx.formatDate(role.startsAt),
        count: role.spotsLeft,
      })
    : ctx.t(full ? 'volunteer.list_item_short_full' : role.spotsLeft <= FEW_SPOTS ? 'volunteer.list_item_short_few' : 'volunteer.list_item_short', {
        title: shortListTitle(role.title, TITLE_AS_TEXT),
        date: ctx.formatDay(role.startsAt),
        count: role.spotsLeft,
      });
  return role.demo ? ctx.t('volunteer.demo_label', { label }) : label;
}

/** The words that work on a list whether or not they are offered: "more", "filter", "my sign-ups". */
function listWords(ctx: StepContext): Choice[] {
  return [choice(ctx, 'more', 'volunteer.more'), choice(ctx, 'filter', 'volunteer.filter'), choice(ctx, 'mine', 'volunteer.my_signups')];
}

function listChoices(ctx: StepContext): Choice[] {
  const roles = listedRoles(ctx);
  const { from, to, last } = pageOf(ctx, 'page', roles.length);
  return [
    ...roles.slice(from, to).map((role) => ({ id: role.ref, label: roleLabel(ctx, role) })),
    ...(last ? [] : [choice(ctx, 'more', 'volunteer.more')]),
    choice(ctx, 'filter', 'volunteer.filter'),
    choice(ctx, 'mine', 'volunteer.my_signups'),
  ];
}

/** The roles a typed title matched (the `matches` step), in the list's order. */
function matchedRoles(ctx: StepContext): RoleSummary[] {
  const refs = Array.isArray(ctx.slots.matches) ? ctx.slots.matches : [];
  return listedRoles(ctx).filter((role) => refs.includes(role.ref));
}

function matchChoices(ctx: StepContext): Choice[] {
  return [
    ...matchedRoles(ctx)
      .slice(0, pageSize(ctx))
      .map((role) => ({ id: role.ref, label: roleLabel(ctx, role) })),
    choice(ctx, 'list', 'volunteer.back_to_list'),
  ];
}

/** Part of a title typed on a list: one role opens it, several are listed to pick from. */
function roleByTitle(input: StepInput, ctx: StepContext): StepOutcome | null {
  if (input.choice) return null;
  const named = namedIn(input.text, listedRoles(ctx), (role) => role.title, LIST_TITLE_SHARE);
  const [only] = named;
  if (named.length === 1 && only) return toRole(only.ref);
  if (named.length > 1) return { to: 'matches', set: { matches: named.map((role) => role.ref), query: input.text } };
  return null;
}

/**
 * A role picked from the list (or the matches): its details. The list leaves the conversation's
 * state here: it holds every open role (hundreds in a big city), and the state is read and written
 * on each of the sign-up's turns. "Back to the list" loads it again, on the page the resident left.
 */
function toRole(ref: string): StepOutcome {
  return { to: 'detail', set: { roleRef: ref, list: null, matches: null, query: null } };
}

/** "My sign-ups" from a list: the whole list, from its first page. */
const TO_MINE: StepOutcome = { to: 'mine', set: { said: null, minePage: null, list: null } };

function filterChoices(ctx: StepContext, values: readonly string[]): Choice[] {
  return [...values.map((value) => ({ id: `=${value}`, label: value })), choice(ctx, 'any', 'volunteer.any')];
}

function detailChoices(ctx: StepContext, role: RoleView): Choice[] {
  const signUp = role.spotsLeft > 0 ? choice(ctx, 'signup', 'volunteer.sign_up') : choice(ctx, 'waitlist', 'volunteer.join_waitlist');
  return [signUp, choice(ctx, 'list', 'volunteer.back_to_list')];
}

function mySignups(ctx: StepContext): SignupSummary[] {
  return result<{ signups: SignupSummary[] }>(ctx.slots.mine)?.signups ?? [];
}

function signupLabel(ctx: StepContext, signup: SignupSummary): string {
  // A shift is told by its hours (a resident may hold two shifts of one role); a role by its start.
  const when = signup.endsAt ? ctx.formatRange(signup.startsAt, signup.endsAt) : ctx.formatDate(signup.startsAt);
  // On SMS a shift by its day and start, without the year and the end: the whole range made a
  // page of four 338 characters, three segments (a page is kept to two).
  return ctx.channel.buttons
    ? ctx.t(`volunteer.signup_item_${signup.status}`, { title: signup.title, date: when })
    : ctx.t(`volunteer.signup_item_${signup.status}`, {
        title: shortListTitle(signup.title, TITLE_AS_TEXT),
        date: signup.endsAt ? ctx.formatDayTime(signup.startsAt) : ctx.formatDay(signup.startsAt),
      });
}

function mySignupChoices(ctx: StepContext): Choice[] {
  const signups = mySignups(ctx);
  const { from, to, last } = pageOf(ctx, 'minePage', signups.length);
  return [
    ...signups.slice(from, to).map((signup) => ({ id: signup.id, label: signupLabel(ctx, signup) })),
    ...(last ? [] : [choice(ctx, 'more', 'volunteer.more')]),
    choice(ctx, 'list', 'volunteer.back_to_list'),
  ];
}

/** The one sign-up a message names ("cancel my food bank shift"), if exactly one. */
function namedSignup(ctx: StepContext, text: string): SignupSummary | undefined {
  const named = namedIn(text, mySignups(ctx), (signup) => signup.title, SIGNUP_TITLE_SHARE);
  return named.length === 1 ? named[0] : undefined;
}

/**
 * The sign-up to withdraw: the one picked, else the one the message that opened "my sign-ups"
 * named. Flows stored before sign-ups had ids hold the role's reference instead.
 */
function signupToCancel(ctx: StepContext): SignupSummary | undefined {
  const picked = str(ctx.slots.cancelRef);
  if (picked) return mySignups(ctx).find((signup) => signup.id === picked || signup.ref === picked);
  const said = str(ctx.slots.said);
  return said ? namedSignup(ctx, said) : undefined;
}

/** The list step's answer: a role (by number, button, reference or title), a page, the filter, or my sign-ups. */
function answerList(input: StepInput, ctx: StepContext): StepOutcome {
  const reference = input.nlu.entities.reference;
  if (reference?.startsWith('V-')) return toRole(reference);
  const word = typedWord(input, ctx, listWords(ctx));
  if (!word) {
    // "cancel my food bank shift" here is about the resident's sign-ups, not this list.
    if (!input.choice && input.nlu.intent === 'my_signups') return { to: 'mine', set: { said: input.text, minePage: null, list: null } };
    const byTitle = roleByTitle(input, ctx);
    if (byTitle) return byTitle;
  }
  const picked = word ?? ctx.pick(input, listChoices(ctx));
  if (picked === 'more') return nextPage(ctx, 'list', 'page', listedRoles(ctx).length);
  if (picked === 'filter') return { to: 'filter_interest', set: { interest: null, neighbourhood: null, page: null } };
  if (picked === 'mine') return TO_MINE;
  if (picked) return toRole(picked);
  if (input.nlu.intent !== 'none' && input.nlu.intent !== 'find_volunteer') return { reroute: true };
  return { retry: 'volunteer.retry_list' };
}

/** The "my sign-ups" step's answer: one to withdraw (by number, button or title), a page, or back to the roles. */
function answerMine(input: StepInput, ctx: StepContext): StepOutcome {
  const signups = mySignups(ctx);
  const word = typedWord(input, ctx, [choice(ctx, 'more', 'volunteer.more')]);
  const named = word || input.choice ? undefined : namedSignup(ctx, input.text);
  if (named) return { to: 'confirm_cancel', set: { cancelRef: named.id, said: null } };
  const picked = word ?? ctx.pick(input, mySignupChoices(ctx));
  if (picked === 'more') return nextPage(ctx, 'mine', 'minePage', signups.length);
  if (picked === 'list') return { to: 'list', set: { roleRef: null, show: null, said: null, minePage: null } };
  if (picked) return { to: 'confirm_cancel', set: { cancelRef: picked, said: null } };
  // Reached straight from "my sign-ups", the next message may well be about something else.
  if (input.nlu.intent !== 'none' && input.nlu.intent !== 'my_signups') return { reroute: true };
  return { retry: 'retry.pick_number' };
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
        const roles = listedRoles(ctx);
        const filtered = Boolean(str(ctx.slots.interest) || str(ctx.slots.neighbourhood));
        if (roles.length === 0) {
          return [
            ask(ctx, filtered ? 'volunteer.none_filtered' : 'volunteer.none', undefined, [
              choice(ctx, 'filter', 'volunteer.filter'),
              choice(ctx, 'mine', 'volunteer.my_signups'),
            ]),
          ];
        }
        const keys = { all: 'volunteer.list', page: 'volunteer.list_page', again: 'volunteer.list_again', wrapped: 'volunteer.no_more' };
        return [{ kind: 'text', text: heading(ctx, keys, 'page', roles.length), choices: listChoices(ctx) }];
      },
      answer: (input, ctx) => unwrapped(answerList(input, ctx)),
    },
    matches: {
      ask: (ctx) => {
        const roles = matchedRoles(ctx);
        const shown = Math.min(roles.length, pageSize(ctx));
        const vars = { count: roles.length, shown, query: shorten(str(ctx.slots.query) ?? '', QUERY_QUOTED) };
        return [ask(ctx, roles.length > shown ? 'volunteer.matches_first' : 'volunteer.matches', vars, matchChoices(ctx))];
      },
      answer: (input, ctx) => {
        const reference = input.nlu.entities.reference;
        if (reference?.startsWith('V-')) return toRole(reference);
        // Another part of a title: searched among all the roles again.
        const byTitle = /\d/.test(input.text) ? null : roleByTitle(input, ctx);
        if (byTitle) return byTitle;
        const picked = ctx.pick(input, matchChoices(ctx));
        if (picked === 'list') return { to: 'list', set: { matches: null, query: null } };
        if (picked) return toRole(picked);
        if (input.nlu.intent !== 'none' && input.nlu.intent !== 'find_volunteer') return { reroute: true };
        return { retry: 'volunteer.retry_list' };
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
        // A new filter lists from its first page.
        return { to: 'list', set: { neighbourhood: picked === 'any' ? null : picked.slice(1), page: null } };
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
        const signups = mySignups(ctx);
        if (signups.length === 0) return [ask(ctx, 'volunteer.no_signups', undefined, [choice(ctx, 'list', 'volunteer.back_to_list')])];
        // "cancel my food bank shift": that one, to confirm (a picked one clears `said`).
        const said = str(ctx.slots.said);
        if (said && !str(ctx.slots.cancelRef) && namedSignup(ctx, said)) return { skipTo: 'confirm_cancel' };
        const keys = {
          all: 'volunteer.my_signups_list',
          page: 'volunteer.my_signups_page',
          again: 'volunteer.my_signups_again',
          wrapped: 'volunteer.no_more_signups',
        };
        return [{ kind: 'text', text: heading(ctx, keys, 'minePage', signups.length), choices: mySignupChoices(ctx) }];
      },
      answer: (input, ctx) => unwrapped(answerMine(input, ctx)),
    },
    confirm_cancel: {
      ask: (ctx) => {
        const signup = signupToCancel(ctx);
        if (!signup) return { finish: true, say: [say(ctx, 'volunteer.cancel_not_found')] };
        return [ask(ctx, 'volunteer.confirm_cancel', { title: signup.title }, yesNoChoices(ctx, 'volunteer.cancel_signup', 'volunteer.keep_signup'))];
      },
      answer: (input, ctx) => {
        const answer = answerYesNo(input, ctx, yesNoChoices(ctx, 'volunteer.cancel_signup', 'volunteer.keep_signup'));
        if (answer === 'no') return { finish: true, say: [say(ctx, 'volunteer.kept')] };
        if (answer !== 'yes') return { retry: 'retry.yes_no' };
        const signup = signupToCancel(ctx);
        // Withdraws this sign-up only: the resident's other roles and volunteer calls stay as they are.
        return { run: { type: 'signup.cancel', input: { ref: signup?.ref ?? str(ctx.slots.cancelRef) ?? '' } }, resultSlot: 'cancelled', then: 'cancelled' };
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

/**
 * The picked shift, as the sign-up's input: nothing for a role without shifts, nor for a shift
 * picked earlier for another role (the resident went back and chose again).
 */
function shiftOf(ctx: StepContext): { shiftId?: string } {
  const shiftId = str(ctx.slots.shiftId);
  const role = result<{ role: RoleView | null }>(ctx.slots.role)?.role;
  return shiftId && role?.shifts?.some((shift) => shift.ref === shiftId) ? { shiftId } : {};
}
