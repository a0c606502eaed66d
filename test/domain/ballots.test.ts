/**
 * The ballot rules (src/domain/ballots.ts): which replies are picks, and how picks are checked
 * against a ballot's rule, in the words residents use in English and Spanish.
 */
import { describe, expect, it } from 'vitest';
import { checkPicks, isVotingOpen, isVotingOver, parsePicks } from '../../src/domain/ballots.js';

const budget = { rule: 'budget' as const, budget: 500, projects: [100, 300, 250].map((cost, i) => ({ id: `p${i + 1}`, cost })) };
const upTo2 = { rule: 'pick_up_to' as const, maxPicks: 2, projects: [1, 1, 1, 1].map((cost, i) => ({ id: `p${i + 1}`, cost })) };

describe('reading picks', () => {
  it.each([
    ['1 3', [1, 3]],
    ['1, 3 and 4', [1, 3, 4]],
    ['1 y 3', [1, 3]],
    ['#2 & #5', [2, 5]],
    ['3,1', [3, 1]],
    ['2 2', [2]],
    ['4.', [4]],
    ['uno y tres', [1, 3]],
    ['el 1 y el 3', [1, 3]],
    ['one and three', [1, 3]],
    ['Dos, por favor', [2]],
    ['１ ３', [1, 3]],
    ['1️⃣ 3️⃣', [1, 3]],
  ])('"%s" picks %j', (text, picks) => {
    expect(parsePicks(text)).toEqual(picks);
  });

  it.each(['I vote for the park', 'yes', '', 'menu', '1 or 3 maybe', 'R-7K3QX', '1234', 'once', 'the', 'por favor'])('"%s" is not picks', (text) => {
    expect(parsePicks(text)).toBeNull();
  });
});

describe('checking picks against the rule', () => {
  it('a budget ballot takes picks within the budget and refuses more, with the total', () => {
    expect(checkPicks(budget, [1, 2])).toEqual({ ok: ['p1', 'p2'], total: 400 });
    expect(checkPicks(budget, [3, 1])).toEqual({ ok: ['p1', 'p3'], total: 350 });
    expect(checkPicks(budget, [1, 2, 3])).toEqual({ overBudget: 650, budget: 500 });
  });

  it('a pick-up-to ballot refuses too many, and any ballot a number it does not list', () => {
    expect(checkPicks(upTo2, [4, 2])).toEqual({ ok: ['p2', 'p4'], total: 2 });
    expect(checkPicks(upTo2, [1, 2, 3])).toEqual({ tooMany: 3, max: 2 });
    expect(checkPicks(upTo2, [5])).toEqual({ unknown: 5, count: 4 });
    expect(checkPicks(budget, [0])).toEqual({ unknown: 0, count: 3 });
  });

  it('a ballot takes votes only while open and within its window', () => {
    const window = { opensAt: new Date('2026-12-01T00:00:00Z'), closesAt: new Date('2026-12-08T00:00:00Z') };
    expect(isVotingOpen({ ...window, status: 'open' }, new Date('2026-12-03T00:00:00Z'))).toBe(true);
    expect(isVotingOpen({ ...window, status: 'open' }, new Date('2026-11-30T00:00:00Z'))).toBe(false);
    expect(isVotingOpen({ ...window, status: 'open' }, new Date('2026-12-08T00:00:00Z'))).toBe(false);
    expect(isVotingOver({ ...window, status: 'open' }, new Date('2026-12-08T00:00:00Z'))).toBe(true);
    expect(isVotingOpen({ ...window, status: 'draft' }, new Date('2026-12-03T00:00:00Z'))).toBe(false);
    expect(isVotingOver({ ...window, status: 'closed' }, new Date('2026-12-03T00:00:00Z'))).toBe(true);
  });
});
