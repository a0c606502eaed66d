/**
 * "What do you want to stop?": asked when a resident writes something that sounds like leaving
 * ("take me off the food bank list", "ya no quiero ser voluntario") without being an exact
 * carrier keyword (those opt out at once, before any dialog). Such sentences were read as
 * "unsubscribe me from everything", which silenced residents who only meant one role and kept
 * their spot taken. So the resident picks: leave a role (its spot goes to the waitlist), stop
 * volunteer calls, stop all messages, or nothing; and exactly that is done.
 * Started by the engine for the `unsubscribe` intent with the words in slot `said`.
 */
import type { SignupSummary } from '../src/engine/commands.js';
import { defineDialog, type StepContext } from '../src/engine/types.js';
import type { Choice } from '../src/core/message.js';
import { words } from '../src/engine/nlu/text-normalizer.js';
import { ask, choice, result, say, str } from './dialog-kit.js';

// Title words shorter than this ("de", "the", "in") say nothing about which role was meant.
const MIN_TITLE_WORD = 4;

type Mine = { signups: SignupSummary[] };

function signupsOf(ctx: StepContext): SignupSummary[] {
  return result<Mine>(ctx.slots.mine)?.signups ?? [];
}

/**
 * The sign-up the resident's words point at: the only one they have, or the one whose title
 * shares the most words with what they wrote ("food bank" → "Food bank sorting shift"), if that
 * one is clearly ahead. Null when it is not clear: they are then asked which.
 */
function namedSignup(ctx: StepContext): SignupSummary | undefined {
  const signups = signupsOf(ctx);
  if (signups.length === 1) return signups[0];
  const said = new Set(words(str(ctx.slots.said) ?? ''));
  const scored = signups
    .map((signup) => ({ signup, score: words(signup.title).filter((word) => word.length >= MIN_TITLE_WORD && said.has(word)).length }))
    .sort((a, b) => b.score - a.score);
  const [best, second] = scored;
  if (!best || best.score === 0 || (second && second.score === best.score)) return undefined;
  return best.signup;
}

function whatChoices(ctx: StepContext): Choice[] {
  const named = namedSignup(ctx);
  const role = named
    ? choice(ctx, 'role', 'leave.choice_role_named', { title: named.title })
    : signupsOf(ctx).length > 0
      ? choice(ctx, 'role', 'leave.choice_role')
      : null;
  return [
    ...(role ? [role] : []),
    choice(ctx, 'calls', 'leave.choice_calls'),
    choice(ctx, 'all', 'leave.choice_all'),
    choice(ctx, 'keep', 'leave.choice_keep'),
  ];
}

function whichChoices(ctx: StepContext): Choice[] {
  return [...signupsOf(ctx).map((signup) => ({ id: signup.ref, label: signup.title })), choice(ctx, 'keep', 'leave.choice_keep')];
}

function withdraw(ref: string) {
  return { run: { type: 'signup.cancel' as const, input: { ref } }, resultSlot: 'cancelled', then: 'left_role', set: { cancelRef: ref } };
}

export const leaveDialog = defineDialog({
  id: 'leave',
  version: 1,
  titleKey: 'dialog.leave',
  start: 'what',
  steps: {
    what: {
      load: () => ({ command: { type: 'signup.listMine', input: {} }, resultSlot: 'mine' }),
      ask: (ctx) => [ask(ctx, 'leave.ask', undefined, whatChoices(ctx))],
      answer: (input, ctx) => {
        const picked = ctx.pick(input, whatChoices(ctx)) ?? (ctx.yesNo(input) === 'no' ? 'keep' : null);
        if (picked === 'role') {
          const named = namedSignup(ctx);
          return named ? withdraw(named.ref) : { to: 'which_role' };
        }
        if (picked === 'calls') {
          return { finish: true, say: [say(ctx, 'leave.calls_off')], effects: [{ type: 'resident.setVolunteerCalls', on: false }] };
        }
        if (picked === 'all') return { finish: true, say: [say(ctx, 'consent.opted_out')], effects: [{ type: 'consent.optOut', keyword: 'unsubscribe' }] };
        if (picked === 'keep') return { finish: true, say: [say(ctx, 'leave.kept')] };
        return { retry: 'retry.pick_number' };
      },
    },
    which_role: {
      ask: (ctx) => [ask(ctx, 'leave.which_role', undefined, whichChoices(ctx))],
      answer: (input, ctx) => {
        const picked = ctx.pick(input, whichChoices(ctx));
        if (picked === 'keep') return { finish: true, say: [say(ctx, 'leave.kept')] };
        if (picked) return withdraw(picked);
        return { retry: 'retry.pick_number' };
      },
    },
    left_role: {
      ask: (ctx) => {
        const outcome = result<{ outcome: string }>(ctx.slots.cancelled)?.outcome ?? 'not_found';
        if (outcome !== 'cancelled') return { finish: true, say: [say(ctx, 'volunteer.cancel_not_found')] };
        const title = signupsOf(ctx).find((signup) => signup.ref === str(ctx.slots.cancelRef))?.title ?? '';
        return { finish: true, say: [say(ctx, 'leave.role_left', { title })] };
      },
      answer: () => ({ reroute: true }),
    },
  },
});
