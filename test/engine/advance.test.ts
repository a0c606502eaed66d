/**
 * The engine alone: a pure function, tested with in-memory locales and a tiny scripted NLU.
 * No store, no HTTP, no files.
 */
import { describe, expect, it } from 'vitest';
import { advance, initialState } from '../../src/engine/advance.js';
import { createTranslator } from '../../src/core/i18n.js';
import { defineDialog, type EngineEnv, type TurnEvent } from '../../src/engine/types.js';
import type { Nlu, NluResult } from '../../src/engine/nlu/index.js';
import type { InboundMessage } from '../../src/core/message.js';

const keywords = { optOut: ['stop'], optIn: ['start'], help: ['help'], menu: ['menu'], back: ['back'], exit: ['exit'], languageNames: ['english'] };
const i18n = createTranslator(
  [
    {
      locale: 'en',
      keywords,
      messages: {
        'menu.prompt': 'Menu?',
        'menu.report': 'Report',
        'dialog.menu': 'the menu',
        'dialog.count': 'counting',
        'count.ask': 'Count {n}?',
        'count.retry': 'Say a number.',
        'count.done': 'Counted {ref}.',
        not_understood: 'Huh?',
        'consent.opted_out': 'Bye.',
        'flow.restarted_after_update': 'Updated, restarting.',
        'flow.stuck': 'Stuck?',
        'choice.keep_trying': 'Keep',
        'choice.menu': 'Menu',
        'choice.human': 'Person',
      },
    },
  ],
  'en',
);

/** An NLU that knows "count" as an intent and numbers as choices. */
const nlu: Nlu = {
  locales: ['en'],
  parse: (text): NluResult => ({
    intent: text === 'count' ? 'report_problem' : 'none',
    confidence: 1,
    category: null,
    categoryConfidence: 0,
    locale: 'en',
    entities: {},
  }),
  detectLocale: () => null,
  ideaTerms: () => [],
  isSharedWord: () => false,
  yesNo: (text) => (text === 'yes' ? 'yes' : text === 'no' ? 'no' : null),
  matchChoice: (text, choices) => choices[Number(text) - 1]?.id ?? null,
};

const counting = defineDialog({
  id: 'report-problem',
  version: 2,
  titleKey: 'dialog.count',
  start: 'ask',
  steps: {
    ask: {
      ask: (ctx) => [{ kind: 'text', text: ctx.t('count.ask', { n: Number(ctx.slots.n ?? 0) }) }],
      answer: (input) =>
        /^\d+$/.test(input.text)
          ? { run: { type: 'report.create', input: { category: 'other', description: input.text, photos: [] } }, resultSlot: 'made', then: 'done' }
          : { retry: 'count.retry' },
    },
    done: {
      ask: (ctx) => ({ finish: true, say: [{ kind: 'text', text: ctx.t('count.done', { ref: (ctx.slots.made as { ref: string }).ref }) }] }),
      answer: () => ({ reroute: true }),
    },
  },
});
const menu = defineDialog({
  id: 'menu',
  version: 1,
  titleKey: 'dialog.menu',
  start: 'choose',
  steps: {
    choose: {
      ask: (ctx) => [{ kind: 'text', text: ctx.t('menu.prompt'), choices: [{ id: 'r', label: ctx.t('menu.report') }] }],
      answer: () => ({ reroute: true }),
    },
  },
});

const env: EngineEnv = {
  dialogs: new Map([counting, menu].map((d) => [d.id, d])),
  i18n,
  nlu,
  timeZone: 'UTC',
  cityName: 'Testville',
  resumePromptAfterMs: 60_000,
  flowExpiresAfterMs: 3_600_000,
  maxFailures: 2,
  handoffHoldMs: 60 * 60_000,
};

let n = 0;
function said(text: string, optedOut = false): TurnEvent {
  n += 1;
  const message: InboundMessage = { id: `m${n}`, channel: 'console', address: 'console:t', text, receivedAt: new Date(1_000_000 + n * 1000) };
  return { type: 'message', message, resident: { optedOut, volunteerCalls: false }, channel: { media: false, location: false } };
}

describe('advance', () => {
  it('is pure: the input state is not changed', () => {
    const state = initialState('en', 0);
    const before = structuredClone(state);
    advance(env, state, said('count'));
    expect(state).toEqual(before);
  });

  it('asks for a command and finishes the flow with its result', () => {
    const asked = advance(env, initialState('en', 0), said('count'));
    expect(asked.replies.map((r) => r.kind === 'text' && r.text)).toEqual(['Count 0?']);
    const waiting = advance(env, asked.state, said('42'));
    expect(waiting.command).toEqual({ type: 'report.create', input: { category: 'other', description: '42', photos: [] } });
    expect(waiting.replies).toEqual([]);
    const done = advance(env, waiting.state, {
      type: 'result',
      result: { type: 'report.create', value: { ref: 'R-ABCDE' } },
      resident: { optedOut: false, volunteerCalls: false },
      channel: { media: false, location: false },
    });
    expect(done.replies).toEqual([{ kind: 'text', text: 'Counted R-ABCDE.' }]);
    expect(done.state.flow).toBeNull();
    expect(done.state.turns).toBe(2);
  });

  it('re-asks with an explanation, then offers a way out after repeated failures', () => {
    const asked = advance(env, initialState('en', 0), said('count'));
    const retry = advance(env, asked.state, said('many'));
    expect(retry.replies).toEqual([{ kind: 'text', text: 'Say a number.\nCount 0?' }]);
    const stuck = advance(env, retry.state, said('lots'));
    expect(stuck.replies[0]).toMatchObject({ text: 'Say a number.\nStuck?', choices: [{ id: 'keep' }, { id: 'menu' }, { id: 'human' }] });
    const person = advance(env, stuck.state, said('3'));
    expect(person.effects).toEqual([{ type: 'staff.handoff', reason: 'stuck' }]);
  });

  it('restarts a flow whose dialog version changed, never guessing a step', () => {
    const asked = advance(env, initialState('en', 0), said('count'));
    const old = structuredClone(asked.state);
    old.flow!.version = 1;
    const out = advance(env, old, said('7'));
    expect(out.replies.map((r) => r.kind === 'text' && r.text)).toEqual(['Updated, restarting.', 'Count 0?']);
    expect(out.command).toBeUndefined();
    expect(out.state.flow?.version).toBe(2);
  });

  it('opts out on STOP in any step and stays silent for an opted-out resident', () => {
    const asked = advance(env, initialState('en', 0), said('count'));
    const stopped = advance(env, asked.state, said('STOP'));
    expect(stopped.effects).toEqual([{ type: 'consent.optOut', keyword: 'STOP' }]);
    expect(stopped.state.flow).toBeNull();
    const silent = advance(env, stopped.state, said('count', true));
    expect(silent.replies).toEqual([]);
    expect(silent.trace.outcome).toBe('suppressed_opted_out');
  });

  it('never lets time run backwards in state', () => {
    const later = advance(env, initialState('en', 5_000_000), said('hello'));
    expect(later.state.lastActiveAt).toBe(5_000_000);
  });
});
