/**
 * Participatory-budgeting ballots (issue 21), the pure rules: reading a reply's numbers ("1 3",
 * "1, 3 and 4", "1 y 3"), checking picks against a ballot's rule, whether a ballot takes votes,
 * and the tally (votes per project, and for a budget ballot which projects are funded). Pure, so
 * the dialog, the command runner, the staff desk and the brute-force test all use the same rules.
 */
import type { BallotProjectResult, BallotRecord } from './records.js';

/** The facts of a ballot the rules read (a stored ballot, or a resident's view of one). */
export interface BallotRules {
  projects: readonly { id: string; cost: number }[];
  rule: BallotRecord['rule'];
  budget?: number | undefined;
  maxPicks?: number | undefined;
}

/** Words allowed between a reply's numbers, in every language: "and", "y", "e", "&", "+". */
const JOINERS = new Set([
  'and',
  'y',
  'e',
  '&',
  '+',
  'plus',
  'mas',
  'más',
  'numbers',
  'number',
  'numeros',
  'números',
  'vote',
  'voto',
  'projects',
  'proyectos',
  '#',
  // "el 1 y el 3", "the 2nd", "I pick 2", "2 please", "el 3 por favor"
  'el',
  'la',
  'los',
  'las',
  'the',
  'i',
  'my',
  'mi',
  'pick',
  'elijo',
  'please',
  'por',
  'favor',
  'porfa',
]);

/** Numbers as words up to ten, English and Spanish: "uno y tres", "one and three" ("once", Spanish 11, is an English word). */
const NUMBER_WORDS: Readonly<Record<string, number>> = Object.fromEntries(
  [
    ['one', 'uno', 'una'],
    ['two', 'dos'],
    ['three', 'tres'],
    ['four', 'cuatro'],
    ['five', 'cinco'],
    ['six', 'seis'],
    ['seven', 'siete'],
    ['eight', 'ocho'],
    ['nine', 'nueve'],
    ['ten', 'diez'],
  ].flatMap((words, i) => words.map((word) => [word, i + 1] as const)),
);

/**
 * The project numbers a reply names ("1 3", "1, 3 and 4", "#2 y #5", "uno y tres", "el 1 y el
 * 3"), or null when the reply is not only numbers and joining words ("I vote for the park" is not
 * a pick). Duplicates count once. A phone's keycap emoji ("1️⃣") and full-width digits ("１") are
 * digits: read as words, "uno y tres" or "１ ３" went to a person as a question about the ballot.
 */
export function parsePicks(text: string): number[] | null {
  const tokens = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f\ufe0f\u20e3]/g, '')
    .toLocaleLowerCase()
    .replace(/[,;.!¡?¿/]+/g, ' ')
    .replace(/#(\d)/g, '$1')
    .split(/\s+/)
    .filter(Boolean);
  const numbers: number[] = [];
  for (const token of tokens) {
    if (/^\d{1,3}$/.test(token)) numbers.push(Number(token));
    else if (NUMBER_WORDS[token] !== undefined) numbers.push(NUMBER_WORDS[token]);
    else if (!JOINERS.has(token)) return null;
  }
  if (numbers.length === 0) return null;
  return [...new Set(numbers)];
}

/** Why picks do not fit a ballot, or the picked project ids in ballot order. */
export type PickCheck =
  { ok: string[]; total: number } | { unknown: number; count: number } | { tooMany: number; max: number } | { overBudget: number; budget: number };

/** Checks numbered picks (1-based, as listed) against the ballot's projects and rule. */
export function checkPicks(ballot: BallotRules, numbers: readonly number[]): PickCheck {
  const count = ballot.projects.length;
  const unknown = numbers.find((n) => !Number.isInteger(n) || n < 1 || n > count);
  if (unknown !== undefined) return { unknown, count };
  const picked = [...new Set(numbers)].sort((a, b) => a - b).map((n) => ballot.projects[n - 1]!);
  const total = picked.reduce((sum, project) => sum + project.cost, 0);
  if (ballot.rule === 'pick_up_to' && picked.length > (ballot.maxPicks ?? count)) return { tooMany: picked.length, max: ballot.maxPicks ?? count };
  if (ballot.rule === 'budget' && total > (ballot.budget ?? 0)) return { overBudget: total, budget: ballot.budget ?? 0 };
  return { ok: picked.map((project) => project.id), total };
}

/** Whether a vote's stored picks still fit the ballot (a tally counts only those). */
export function picksFit(ballot: BallotRules, picks: readonly string[]): boolean {
  const numbers = picks.map((id) => ballot.projects.findIndex((project) => project.id === id) + 1);
  return 'ok' in checkPicks(ballot, numbers);
}

/** Whether a ballot takes votes at `now`: open, and within its window. */
export function isVotingOpen(ballot: Pick<BallotRecord, 'status' | 'opensAt' | 'closesAt'>, now: Date): boolean {
  return ballot.status === 'open' && ballot.opensAt.getTime() <= now.getTime() && now.getTime() < ballot.closesAt.getTime();
}

/** Whether voting is over: closed by staff, or past its closing time. */
export function isVotingOver(ballot: Pick<BallotRecord, 'status' | 'closesAt'>, now: Date): boolean {
  return ballot.status === 'closed' || (ballot.status === 'open' && now.getTime() >= ballot.closesAt.getTime());
}

/** A ballot's tally: voters, and per project its votes and (budget ballots) whether it is funded. */
export interface Tally {
  voters: number;
  /** In ballot order. */
  projects: BallotProjectResult[];
}

/**
 * Counts votes: each vote record is one resident (its id is ballot and address), each picked
 * project gets one vote from it. For a budget ballot, projects are funded in order of votes
 * (ties: the cheaper first, then ballot order) while what is left of the budget covers them; a
 * project that does not fit is skipped and the next may still fit. A pick-up-to ballot funds none.
 */
export function tallyVotes(ballot: BallotRules, votes: Iterable<{ picks: readonly string[] }>): Tally {
  const counts = new Map(ballot.projects.map((project) => [project.id, 0]));
  let voters = 0;
  for (const vote of votes) {
    voters += 1;
    for (const id of new Set(vote.picks)) if (counts.has(id)) counts.set(id, counts.get(id)! + 1);
  }
  const funded = new Set<string>();
  if (ballot.rule === 'budget') {
    let left = ballot.budget ?? 0;
    const order = ballot.projects
      .map((project, index) => ({ project, index, votes: counts.get(project.id)! }))
      .filter((entry) => entry.votes > 0)
      .sort((a, b) => b.votes - a.votes || a.project.cost - b.project.cost || a.index - b.index);
    for (const { project } of order) {
      if (project.cost <= left) {
        funded.add(project.id);
        left -= project.cost;
      }
    }
  }
  return { voters, projects: ballot.projects.map((project) => ({ id: project.id, votes: counts.get(project.id)!, funded: funded.has(project.id) })) };
}

/** A ballot's text in a locale: the locale's, else the default language's, else any. */
export function ballotText(texts: Record<string, string>, locale: string, defaultLocale: string): string {
  return texts[locale] ?? texts[defaultLocale] ?? Object.values(texts)[0] ?? '';
}
