/**
 * Ballots on the staff side (issue 21): create and edit a draft, open it, close it, read its
 * results (votes and share per project, which projects a budget funds, turnout by channel and
 * language), send it to residents and publish its result to its voters. Sending and telling are
 * broadcasts (`broadcasts.ts`): persisted work, never a loop in a staff request. Every change is
 * audited, without residents' numbers or words.
 */
import { ballotText, picksFit, tallyVotes } from '../domain/ballots.js';
import type { AudienceFilter, BallotProject, BallotRecord, BallotRule, BroadcastRecord } from '../domain/records.js';
import { newReference } from '../domain/reference.js';
import type { Collections, Unsaved } from '../store/store.port.js';
import type { Translator } from '../core/i18n.js';
import { recordAudit } from './audit-log.js';
import { createBroadcast, createBroadcastOnce, MAX_MESSAGE_LENGTH, type BroadcastSetup, type PlanCounts } from './broadcasts.js';
import { shorten } from '../engine/text.js';
import { StaffError, type Actor } from './staff-deps.js';

/** The most projects a ballot may have: a text ballot lists them all, on SMS too. */
export const MAX_BALLOT_PROJECTS = 12;
/** How many ballots the staff list shows. */
const LIST_LIMIT = 100;
/**
 * The longest title, question and project title staff may write (as the API and the form take
 * them): with the project titles and the question cut (PROJECT_TITLE_WIDTHS), a ballot of twelve
 * projects and its result still fit one broadcast in every language.
 */
export const MAX_BALLOT_TITLE = 120;
export const MAX_BALLOT_QUESTION = 300;
export const MAX_PROJECT_TITLE = 80;
/**
 * Project titles in a ballot's broadcast and its result are cut to the first of these widths that
 * lets the text fit a broadcast (MAX_MESSAGE_LENGTH), the question to three times as much:
 * twelve projects with long titles do not fit whole, and an open ballot can no longer be edited
 * to make them shorter. "vote" shows them whole.
 */
const PROJECT_TITLE_WIDTHS = [Infinity, 80, 60, 45, 35, 25, 18, 12];
/** Tries of a revision-checked ballot change before it is refused as busy. */
const WRITE_ATTEMPTS = 5;

/** What staff write for a ballot. */
export interface BallotInput {
  title: Record<string, string>;
  question: Record<string, string>;
  projects: { title: Record<string, string>; cost: number }[];
  rule: BallotRule;
  budget?: number;
  maxPicks?: number;
  opensAt: Date;
  closesAt: Date;
}

/** A ballot's results as staff see them: live while open, frozen once published. */
export interface BallotReport {
  voters: number;
  projects: { id: string; title: string; cost: number; votes: number; share: number; funded: boolean }[];
  /** A budget ballot: what the funded projects cost together. */
  fundedTotal: number;
  byChannel: Record<string, number>;
  byLocale: Record<string, number>;
  /** Votes changed at least once. */
  changed: number;
  /** Whether these are the published results (else a live count). */
  published: boolean;
}

/** Creates a draft ballot. */
export async function createBallot(
  store: Pick<Collections, 'ballots' | 'audit'>,
  input: BallotInput,
  actor: Actor,
  defaultLocale: string,
  now: Date = new Date(),
): Promise<BallotRecord> {
  const fields = checkInput(input, defaultLocale);
  const draft: Omit<Unsaved<BallotRecord>, '_id'> = { ...fields, status: 'draft', createdBy: actor.username, createdAt: now, updatedAt: now, kind: 'ballot' };
  for (let attempt = 0; attempt < 5; attempt++) {
    const candidate = { ...draft, _id: newReference('P') };
    if (await store.ballots.insert(candidate)) {
      await recordAudit(store, { actor: actor.username, action: 'ballot.create', target: candidate._id, details: auditDetails(candidate) }, now);
      return { ...candidate, _rev: 1 };
    }
  }
  throw new Error('Could not draw an unused ballot reference');
}

/** Replaces a draft's fields; an open or closed ballot is not edited (votes were cast on it). */
export async function updateBallot(
  store: Pick<Collections, 'ballots' | 'audit'>,
  id: string,
  input: BallotInput,
  actor: Actor,
  defaultLocale: string,
  now: Date = new Date(),
): Promise<BallotRecord> {
  const fields = checkInput(input, defaultLocale);
  const updated = await change(store, id, (current) => {
    if (current.status !== 'draft') throw new StaffError(409, `Ballot ${id} is ${current.status}: only a draft can be edited`);
    return {
      ...current,
      ...fields,
      ...(fields.budget === undefined ? { budget: undefined } : {}),
      ...(fields.maxPicks === undefined ? { maxPicks: undefined } : {}),
      updatedAt: now,
    };
  });
  await recordAudit(store, { actor: actor.username, action: 'ballot.update', target: id, details: auditDetails(updated) }, now);
  return updated;
}

/** Opens a draft for votes (from its `opensAt`); its closing time must be ahead. */
export async function openBallot(store: Pick<Collections, 'ballots' | 'audit'>, id: string, actor: Actor, now: Date = new Date()): Promise<BallotRecord> {
  const updated = await change(store, id, (current) => {
    if (current.status !== 'draft') throw new StaffError(409, `Ballot ${id} is ${current.status}: only a draft can be opened`);
    if (current.closesAt.getTime() <= now.getTime()) throw new StaffError(409, `Ballot ${id} closes in the past: edit its closing time first`);
    return { ...current, status: 'open', updatedAt: now };
  });
  await recordAudit(store, { actor: actor.username, action: 'ballot.open', target: id }, now);
  return updated;
}

/** Closes an open ballot now (before its closing time, or to record that it is over). */
export async function closeBallot(store: Pick<Collections, 'ballots' | 'audit'>, id: string, actor: Actor, now: Date = new Date()): Promise<BallotRecord> {
  const updated = await change(store, id, (current) => {
    if (current.status !== 'open') throw new StaffError(409, `Ballot ${id} is ${current.status}: only an open ballot can be closed`);
    const closesAt = current.closesAt.getTime() < now.getTime() ? current.closesAt : now;
    return { ...current, status: 'closed', closesAt, closedAt: now, updatedAt: now };
  });
  await recordAudit(store, { actor: actor.username, action: 'ballot.close', target: id }, now);
  return updated;
}

/** The newest ballots. */
export function listBallotsForStaff(store: Pick<Collections, 'ballots'>): Promise<BallotRecord[]> {
  return store.ballots.find({ field: 'kind', equals: 'ballot' }, { order: 'desc', limit: LIST_LIMIT });
}

/**
 * A ballot's results: one indexed read of its votes (one record per voter, so each voter counts
 * once), tallied, with turnout by channel and language. Published results are the frozen tally;
 * turnout is read live either way (a voter's channel and language do not change the result).
 */
export async function ballotReport(store: Pick<Collections, 'ballotVotes'>, ballot: BallotRecord, defaultLocale: string): Promise<BallotReport> {
  const votes = (await store.ballotVotes.find({ field: 'ballotId', equals: ballot._id }, { order: 'asc' })).filter((vote) => picksFit(ballot, vote.picks));
  const tally = ballot.results ?? tallyVotes(ballot, votes);
  const byChannel: Record<string, number> = {};
  const byLocale: Record<string, number> = {};
  let changed = 0;
  for (const vote of votes) {
    byChannel[vote.channel] = (byChannel[vote.channel] ?? 0) + 1;
    byLocale[vote.locale] = (byLocale[vote.locale] ?? 0) + 1;
    if (vote.changes > 0) changed += 1;
  }
  const projects = ballot.projects.map((project) => {
    const line = tally.projects.find((result) => result.id === project.id);
    const votesFor = line?.votes ?? 0;
    return {
      id: project.id,
      title: ballotText(project.title, defaultLocale, defaultLocale),
      cost: project.cost,
      votes: votesFor,
      share: tally.voters > 0 ? votesFor / tally.voters : 0,
      funded: line?.funded ?? false,
    };
  });
  const fundedTotal = projects.filter((project) => project.funded).reduce((sum, project) => sum + project.cost, 0);
  return { voters: tally.voters, projects, fundedTotal, byChannel, byLocale, changed, published: ballot.results !== undefined };
}

/** What sending and publishing need: the broadcast setup, the translator and the city's time zone. */
export interface BallotSetup extends BroadcastSetup {
  i18n: Translator;
  config: BroadcastSetup['config'] & { cityTimeZone: string };
}

/**
 * Sends an open ballot by broadcast to an audience of opted-in residents: each gets it in their
 * language (projects numbered, the rule, the closing time), and a reply of numbers votes (the
 * `ballot` follow-up, for as long as the ballot is open). A ballot whose window has not begun
 * is sent when it begins.
 */
export async function sendBallot(
  setup: BallotSetup,
  id: string,
  audience: AudienceFilter,
  actor: Actor,
  now: Date = new Date(),
): Promise<{ broadcast: BroadcastRecord; plan: PlanCounts }> {
  const ballot = await setup.store.ballots.get(id);
  if (!ballot) throw new StaffError(404, `No ballot ${id}`);
  if (ballot.status !== 'open') throw new StaffError(409, `Ballot ${id} is ${ballot.status}: only an open ballot is sent`);
  if (audience.ballotId !== undefined || audience.shiftId !== undefined)
    throw new StaffError(400, 'Invalid audience. A ballot goes to residents, not to a shift or a ballot');
  const messages = Object.fromEntries(setup.i18n.locales.map((locale) => [locale, ballotMessage(setup, ballot, locale)]));
  // Not before voting opens: a reply to it then was told "the vote has closed".
  const sendAt = new Date(Math.max(now.getTime(), ballot.opensAt.getTime()));
  const hoursLeft = Math.ceil((ballot.closesAt.getTime() - sendAt.getTime()) / 3_600_000);
  // One send of a ballot to one audience at a time: a second click while the first goes out is
  // refused, instead of texting every resident twice; once it is over, sending again is a reminder.
  return createBroadcastOnce(
    setup,
    { messages, audience, ballotId: id, sendAt, answerWindowHours: Math.max(1, Math.min(720, hoursLeft)) },
    `ballot|${id}`,
    actor,
    now,
  );
}

/**
 * Publishes a closed ballot's result: the tally is frozen on the ballot and one broadcast tells
 * every voter once, in their language. Publishing again changes nothing (409).
 *
 * Exactly once, also when two coordinators press Publish together: the freeze draws the result
 * broadcast's id and stores it with the tally in one revision-checked write, and the broadcast is
 * created with that id, so of two publishes the one that finds the id taken is refused. A publish
 * that froze the result but stopped before its broadcast (a crash, a store error) is completed by
 * the next with the result it froze: otherwise its voters would never be told.
 */
export async function publishResults(
  setup: BallotSetup,
  id: string,
  actor: Actor,
  now: Date = new Date(),
): Promise<{ ballot: BallotRecord; broadcast: BroadcastRecord; plan: PlanCounts }> {
  const { store } = setup;
  const current = await store.ballots.get(id);
  if (!current) throw new StaffError(404, `No ballot ${id}`);
  if (current.status !== 'closed') throw new StaffError(409, `Ballot ${id} is ${current.status}: close it before publishing its result`);
  const published = () => new StaffError(409, `Ballot ${id}'s result is already published`);
  if (current.resultsBroadcastId && (await store.broadcasts.get(current.resultsBroadcastId))) throw published();
  const retry = current.results !== undefined;
  let frozen = current;
  if (!current.results) {
    const votes = (await store.ballotVotes.find({ field: 'ballotId', equals: id }, { order: 'asc' })).filter((vote) => picksFit(current, vote.picks));
    const tally = tallyVotes(current, votes);
    frozen = await change(store, id, (latest) => {
      if (latest.results) throw published();
      return { ...latest, results: { ...tally, at: now, by: actor.username }, resultsBroadcastId: newReference('B'), updatedAt: now };
    });
  }
  const messages = Object.fromEntries(setup.i18n.locales.map((locale) => [locale, resultMessage(setup, frozen, locale)]));
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    // A result frozen before the id was stored with it gets one now (one id, whoever writes first).
    if (!frozen.resultsBroadcastId)
      frozen = await change(store, id, (latest) => ({ ...latest, resultsBroadcastId: latest.resultsBroadcastId ?? newReference('B'), updatedAt: now }));
    const broadcastId = frozen.resultsBroadcastId!;
    try {
      const { broadcast, plan } = await createBroadcast(setup, { messages, audience: { ballotId: id }, id: broadcastId }, actor, now);
      await recordAudit(
        store,
        { actor: actor.username, action: 'ballot.publish', target: id, details: { voters: frozen.results?.voters ?? 0, broadcastId: broadcast._id, retry } },
        now,
      );
      return { ballot: frozen, broadcast, plan };
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 409) throw error;
      // Taken: by another publish of this ballot (it tells the voters), or, rarely, by an
      // unrelated broadcast that drew the same reference (draw another).
      const taken = await store.broadcasts.get(broadcastId);
      if (!taken || taken.audience.ballotId === id) throw published();
      frozen = await change(store, id, (latest) => ({
        ...latest,
        resultsBroadcastId: latest.resultsBroadcastId === broadcastId ? newReference('B') : latest.resultsBroadcastId,
        updatedAt: now,
      }));
    }
  }
  throw new StaffError(409, `Ballot ${id} is being changed by someone else: try again`);
}

/** The ballot as a broadcast in one language: the same lines "vote" shows. */
export function ballotMessage(setup: Pick<BallotSetup, 'i18n' | 'config'>, ballot: BallotRecord, locale: string): string {
  const { i18n, config } = setup;
  const text = (texts: Record<string, string>) => ballotText(texts, locale, config.defaultLocale);
  const money = (amount: number) => new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }).format(amount);
  const date = new Intl.DateTimeFormat(locale, { timeZone: config.cityTimeZone, dateStyle: 'medium', timeStyle: 'short' }).format(ballot.closesAt);
  const rule =
    ballot.rule === 'budget'
      ? i18n.t(locale, 'ballot.rule_budget', { budget: money(ballot.budget ?? 0) })
      : i18n.t(locale, 'ballot.rule_pick_up_to', { count: ballot.maxPicks ?? ballot.projects.length });
  return fitting((width) =>
    [
      text(ballot.title),
      shorten(text(ballot.question), width * 3),
      ...ballot.projects.map((project, i) =>
        i18n.t(locale, 'ballot.project_line', { n: i + 1, title: shorten(text(project.title), width), cost: money(project.cost) }),
      ),
      rule,
      i18n.t(locale, 'ballot.closes', { date }),
    ].join('\n'),
  );
}

/** The text built with the widest project titles that let it fit a broadcast (else the narrowest). */
function fitting(build: (width: number) => string): string {
  let text = '';
  for (const width of PROJECT_TITLE_WIDTHS) {
    text = build(width);
    if ([...text].length <= MAX_MESSAGE_LENGTH) break;
  }
  return text;
}

/** The published result in one language, as "vote" shows it after the close. */
export function resultMessage(setup: Pick<BallotSetup, 'i18n' | 'config'>, ballot: BallotRecord, locale: string): string {
  const { i18n, config } = setup;
  const results = ballot.results;
  const title = ballotText(ballot.title, locale, config.defaultLocale);
  if (!results) return i18n.t(locale, 'ballot.closed', { title });
  return fitting((width) => {
    const lines = results.projects.map((line) => {
      const project = ballot.projects.find((candidate) => candidate.id === line.id);
      const name = project ? ballotText(project.title, locale, config.defaultLocale) : line.id;
      return i18n.t(locale, line.funded ? 'ballot.result_line_funded' : 'ballot.result_line', { title: shorten(name, width), count: line.votes });
    });
    return [i18n.t(locale, 'ballot.results', { title, count: results.voters }), ...lines].join('\n');
  });
}

/** Reads, changes and writes a ballot at its revision; the change may throw a StaffError to refuse. */
async function change(store: Pick<Collections, 'ballots'>, id: string, update: (current: BallotRecord) => BallotRecord): Promise<BallotRecord> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await store.ballots.get(id);
    if (!current) throw new StaffError(404, `No ballot ${id}`);
    const next = withoutUndefined(update(current));
    if (await store.ballots.replace(next, current._rev)) return { ...next, _rev: current._rev + 1 };
  }
  throw new StaffError(409, `Ballot ${id} is being changed by someone else: try again`);
}

function withoutUndefined(ballot: BallotRecord): BallotRecord {
  return Object.fromEntries(Object.entries(ballot).filter(([, value]) => value !== undefined)) as unknown as BallotRecord;
}

/** The input checked: texts in the default language, 2-12 projects, the rule's number, a window. */
function checkInput(
  input: BallotInput,
  defaultLocale: string,
): Pick<BallotRecord, 'title' | 'question' | 'projects' | 'rule' | 'opensAt' | 'closesAt'> & { budget?: number; maxPicks?: number } {
  const texts = (name: string, values: Record<string, string>, max: number) => {
    const cleaned: Record<string, string> = Object.fromEntries(
      Object.entries(values)
        .map(([locale, text]) => [locale, text.trim()])
        .filter(([, text]) => text),
    );
    if (!cleaned[defaultLocale]) throw invalid(`${name}.${defaultLocale}: required`);
    const long = Object.entries(cleaned).find(([, text]) => [...text].length > max);
    if (long) throw invalid(`${name}.${long[0]}: at most ${max} characters (it goes to residents by SMS)`);
    return cleaned;
  };
  if (input.projects.length < 2 || input.projects.length > MAX_BALLOT_PROJECTS) throw invalid(`projects: between 2 and ${MAX_BALLOT_PROJECTS}`);
  const projects: BallotProject[] = input.projects.map((project, i) => {
    if (!(Number.isInteger(project.cost) && project.cost >= 0)) throw invalid(`projects.${i}.cost: a whole number, 0 or more`);
    return { id: `p${i + 1}`, title: texts(`projects.${i}.title`, project.title, MAX_PROJECT_TITLE), cost: project.cost };
  });
  if (Number.isNaN(input.opensAt.getTime()) || Number.isNaN(input.closesAt.getTime())) throw invalid('opensAt, closesAt: dates and times');
  if (input.closesAt.getTime() <= input.opensAt.getTime()) throw invalid('closesAt: must be after opensAt');
  const base = {
    title: texts('title', input.title, MAX_BALLOT_TITLE),
    question: texts('question', input.question, MAX_BALLOT_QUESTION),
    projects,
    rule: input.rule,
    opensAt: input.opensAt,
    closesAt: input.closesAt,
  };
  if (input.rule === 'budget') {
    if (!(Number.isInteger(input.budget) && (input.budget ?? 0) > 0)) throw invalid('budget: a whole number above 0 for a budget ballot');
    if (input.maxPicks !== undefined) throw invalid('maxPicks: only for a pick_up_to ballot');
    // Listed to every voter, and no pick with it could fit: a typo in its cost or in the budget.
    const dearer = projects.findIndex((project) => project.cost > input.budget!);
    if (dearer >= 0) throw invalid(`projects.${dearer}.cost: more than the whole budget, so no voter could pick it`);
    return { ...base, budget: input.budget! };
  }
  if (!(Number.isInteger(input.maxPicks) && (input.maxPicks ?? 0) >= 1 && (input.maxPicks ?? 0) <= projects.length)) {
    throw invalid('maxPicks: a whole number from 1 to the number of projects for a pick_up_to ballot');
  }
  if (input.budget !== undefined) throw invalid('budget: only for a budget ballot');
  return { ...base, maxPicks: input.maxPicks! };
}

function auditDetails(ballot: Pick<BallotRecord, 'rule' | 'budget' | 'maxPicks' | 'projects' | 'opensAt' | 'closesAt'>): Record<string, unknown> {
  return {
    rule: ballot.rule,
    ...(ballot.budget !== undefined ? { budget: ballot.budget } : {}),
    ...(ballot.maxPicks !== undefined ? { maxPicks: ballot.maxPicks } : {}),
    projects: ballot.projects.length,
    opensAt: ballot.opensAt.toISOString(),
    closesAt: ballot.closesAt.toISOString(),
  };
}

function invalid(message: string): StaffError {
  return new StaffError(400, `Invalid ballot. ${message}`);
}
