/**
 * Votes by text (issue 21): "vote" / "votar" shows the open ballot (or asks which, when several
 * are open), its projects numbered with their costs and the rule; a reply of numbers ("1 3",
 * "1, 3 and 4", "1 y 3") is checked against the rule (too many, over budget, no such project:
 * a retry saying why), read back, confirmed and recorded. Voting again before the close shows the
 * current vote and replaces it. After the close: "the vote has closed", with the result once
 * published. The engine also starts it with `ref` and `reply` when a resident answers a ballot
 * sent by broadcast with numbers (the `ballot` follow-up).
 */
import type { Reply } from '../src/core/message.js';
import type { MessageVars } from '../src/core/i18n.js';
import type { BallotView, CommandResults } from '../src/engine/commands.js';
import { defineDialog, type StepContext } from '../src/engine/types.js';
import { checkPicks, parsePicks, type PickCheck } from '../src/domain/ballots.js';
import { answerYesNo, ask, result, say, str, yesNoChoices } from './dialog-kit.js';

type Listed = CommandResults['ballot.list'];
type Got = CommandResults['ballot.get'];
type Voted = CommandResults['ballot.vote'];

export const ballotDialog = defineDialog({
  id: 'ballot',
  version: 1,
  titleKey: 'dialog.ballot',
  start: 'list',
  steps: {
    list: {
      load: (ctx) => (str(ctx.slots.ref) ? null : { command: { type: 'ballot.list', input: {} }, resultSlot: 'listed' }),
      ask: (ctx) => {
        if (str(ctx.slots.ref)) return { skipTo: 'show' };
        const listed = result<Listed>(ctx.slots.listed);
        if (!listed || listed.open.length === 0) {
          const recent = listed?.recent;
          return { finish: true, say: recent ? over(ctx, recent) : [say(ctx, 'ballot.none_open')] };
        }
        if (listed.open.length === 1) return { skipTo: 'show' };
        return [
          ask(
            ctx,
            'ballot.pick_ballot',
            undefined,
            listed.open.map((ballot) => ({ id: ballot.ref, label: ballot.title })),
          ),
        ];
      },
      answer: (input, ctx) => {
        const open = result<Listed>(ctx.slots.listed)?.open ?? [];
        const picked = ctx.pick(
          input,
          open.map((ballot) => ({ id: ballot.ref, label: ballot.title })),
        );
        if (!picked) return input.nlu.intent === 'none' ? { retry: 'retry.pick_number' } : { reroute: true };
        return { to: 'show', set: { ref: picked } };
      },
    },
    show: {
      load: (ctx) => ({ command: { type: 'ballot.get', input: { ref: chosenRef(ctx) } }, resultSlot: 'ballot' }),
      ask: (ctx) => {
        const { ballot, mine } = result<Got>(ctx.slots.ballot) ?? { ballot: null, mine: null };
        if (!ballot) return { finish: true, say: [say(ctx, 'ballot.not_found')] };
        if (ballot.state !== 'open') return { finish: true, say: over(ctx, ballot) };
        // A reply of numbers to the broadcast: checked at once, confirmed if it fits.
        const reply = str(ctx.slots.reply);
        if (reply && !str(ctx.slots.picked)) {
          const checked = checkPicks(ballot, parsePicks(reply) ?? []);
          if ('ok' in checked) return { skipTo: 'confirm' };
          return [{ kind: 'text', text: `${whyNot(ctx, checked, ballot)}\n${showText(ctx, ballot, mine)}` }];
        }
        return [{ kind: 'text', text: showText(ctx, ballot, mine) }];
      },
      answer: (input, ctx) => {
        const ballot = result<Got>(ctx.slots.ballot)?.ballot;
        if (!ballot) return { reroute: true };
        const numbers = parsePicks(input.text);
        if (!numbers) return input.nlu.intent === 'none' || input.nlu.confidence < 0.8 ? { retry: 'ballot.retry_numbers' } : { reroute: true };
        const checked = checkPicks(ballot, numbers);
        if (!('ok' in checked)) return { retry: retryKey(checked), vars: retryVars(ctx, checked, ballot) };
        return { to: 'confirm', set: { picked: input.text.trim(), reply: null } };
      },
    },
    confirm: {
      ask: (ctx) => {
        const { ballot, mine } = result<Got>(ctx.slots.ballot) ?? { ballot: null, mine: null };
        const checked = ballot ? checkPicks(ballot, parsePicks(pickedText(ctx)) ?? []) : null;
        if (!ballot || !checked || !('ok' in checked)) return { finish: true, say: [say(ctx, 'ballot.not_found')] };
        const lines = checked.ok.map((id) => projectLine(ctx, ballot, id)).join('\n');
        const key = ballot.rule === 'budget' ? 'ballot.confirm_budget' : 'ballot.confirm';
        const before = mine?.length ? `${ctx.t('ballot.replaces', { picks: mine.map((id) => projectTitle(ballot, id)).join(', ') })}\n` : '';
        const text = ctx.t(key, { picks: lines, total: money(ctx, checked.total), budget: money(ctx, ballot.budget ?? 0) });
        return [{ kind: 'text', text: `${before}${text}`, choices: yesNoChoices(ctx) }];
      },
      answer: (input, ctx) => {
        // "1 3" here is another choice of projects; a single "1" / "2" is the numbered Yes / No.
        const numbers = parsePicks(input.text);
        const ballot = result<Got>(ctx.slots.ballot)?.ballot;
        if (!input.choice && numbers && numbers.length > 1 && ballot) {
          const checked = checkPicks(ballot, numbers);
          if (!('ok' in checked)) return { retry: retryKey(checked), vars: retryVars(ctx, checked, ballot) };
          return { to: 'confirm', set: { picked: input.text.trim(), reply: null } };
        }
        const answer = answerYesNo(input, ctx);
        if (answer === 'yes') return { to: 'record' };
        if (answer === 'no') return { to: 'show', set: { picked: null, reply: null }, say: [say(ctx, 'ballot.not_recorded')] };
        return { retry: 'ballot.retry_confirm' };
      },
    },
    record: {
      load: (ctx) => ({ command: { type: 'ballot.vote', input: { ref: chosenRef(ctx), picks: parsePicks(pickedText(ctx)) ?? [] } }, resultSlot: 'voted' }),
      ask: (ctx) => {
        const outcome = result<Voted>(ctx.slots.voted)?.outcome ?? 'not_found';
        const ballot = result<Got>(ctx.slots.ballot)?.ballot;
        const vars = { title: ballot?.title ?? '', date: ballot ? ctx.formatDate(ballot.closesAt) : '' };
        return { finish: true, say: [say(ctx, `ballot.vote_${outcome}`, vars)] };
      },
      answer: () => ({ reroute: true }),
    },
  },
});

/** The ballot named (from the list, the broadcast) or the only one open. */
function chosenRef(ctx: StepContext): string {
  return str(ctx.slots.ref) ?? result<Listed>(ctx.slots.listed)?.open[0]?.ref ?? '';
}

/** The numbers of the vote being confirmed: typed in the dialog, or the reply to the broadcast. */
function pickedText(ctx: StepContext): string {
  return str(ctx.slots.picked) ?? str(ctx.slots.reply) ?? '';
}

/** The ballot, its numbered projects, the rule and the resident's current vote. */
function showText(ctx: StepContext, ballot: BallotView, mine: string[] | null): string {
  const projects = ballot.projects.map((project, i) => ctx.t('ballot.project_line', { n: i + 1, title: project.title, cost: money(ctx, project.cost) }));
  const rule =
    ballot.rule === 'budget'
      ? ctx.t('ballot.rule_budget', { budget: money(ctx, ballot.budget ?? 0) })
      : ctx.t('ballot.rule_pick_up_to', { count: ballot.maxPicks ?? ballot.projects.length });
  const lines = [ballot.title, ballot.question, ...projects, rule, ctx.t('ballot.closes', { date: ctx.formatDate(ballot.closesAt) })];
  if (mine?.length) lines.push(ctx.t('ballot.current_vote', { picks: mine.map((id) => projectTitle(ballot, id)).join(', ') }));
  return lines.filter(Boolean).join('\n');
}

/** "The vote has closed", with the result once published. */
function over(ctx: StepContext, ballot: BallotView): Reply[] {
  if (ballot.state !== 'results' || !ballot.results) return [say(ctx, 'ballot.closed', { title: ballot.title })];
  const lines = ballot.results.map((line) =>
    ctx.t(line.funded ? 'ballot.result_line_funded' : 'ballot.result_line', { title: projectTitle(ballot, line.id), count: line.votes }),
  );
  return [{ kind: 'text', text: `${ctx.t('ballot.results', { title: ballot.title, count: ballot.voters ?? 0 })}\n${lines.join('\n')}` }];
}

function projectLine(ctx: StepContext, ballot: BallotView, id: string): string {
  const index = ballot.projects.findIndex((project) => project.id === id);
  const project = ballot.projects[index];
  return ctx.t('ballot.project_line', { n: index + 1, title: project?.title ?? id, cost: money(ctx, project?.cost ?? 0) });
}

function projectTitle(ballot: BallotView, id: string): string {
  return ballot.projects.find((project) => project.id === id)?.title ?? id;
}

/** Whole currency units with the locale's grouping ("500,000", "500.000"). */
function money(ctx: StepContext, amount: number): string {
  return new Intl.NumberFormat(ctx.locale, { maximumFractionDigits: 0 }).format(amount);
}

function retryKey(checked: Exclude<PickCheck, { ok: string[] }>): string {
  if ('unknown' in checked) return 'ballot.retry_unknown';
  if ('tooMany' in checked) return 'ballot.retry_too_many';
  return 'ballot.retry_over_budget';
}

function retryVars(ctx: StepContext, checked: Exclude<PickCheck, { ok: string[] }>, ballot: BallotView): MessageVars {
  if ('unknown' in checked) return { n: checked.unknown, count: ballot.projects.length };
  if ('tooMany' in checked) return { picked: checked.tooMany, count: checked.max };
  return { total: money(ctx, checked.overBudget), budget: money(ctx, checked.budget) };
}

function whyNot(ctx: StepContext, checked: Exclude<PickCheck, { ok: string[] }>, ballot: BallotView): string {
  return ctx.t(retryKey(checked), retryVars(ctx, checked, ballot));
}
