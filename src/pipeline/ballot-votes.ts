/**
 * Votes by text (issue 21) on the resident's side: the ballots a resident may vote in, one
 * ballot as they see it (with their current vote), and casting or changing a vote. A resident has
 * one vote per ballot (its id is `<ballotId>|<address>`), written revision-checked: two messages
 * at once from one resident leave one of their votes, never two, and a change replaces the vote.
 */
import type { BallotView, CommandResults } from '../engine/commands.js';
import { ballotText, checkPicks, isVotingOpen, isVotingOver } from '../domain/ballots.js';
import type { BallotRecord, BallotVoteRecord } from '../domain/records.js';
import type { Collections } from '../store/store.port.js';
import type { CommandScope } from './command-runner.js';

/** Ballots read for "vote": open ones by closing time; more than a city runs at once. */
const OPEN_BALLOTS_READ = 20;
/** The newest ballots read for the latest one that is over ("the vote has closed"). */
const RECENT_BALLOTS_READ = 5;
/** A ballot over for longer than this is not offered as "the vote has closed" any more. */
const RECENT_DAYS_MS = 30 * 86_400_000;
/** Tries of a revision-checked vote before the turn fails (only the resident's own messages contend). */
const VOTE_ATTEMPTS = 10;

/** A ballot vote's id: one per resident per ballot. */
export function ballotVoteId(ballotId: string, address: string): string {
  return `${ballotId}|${address}`;
}

/** The ballot as a resident in `locale` sees it at `now`. */
export function ballotView(ballot: BallotRecord, locale: string, defaultLocale: string, now: Date): BallotView {
  const state = isVotingOpen(ballot, now) ? 'open' : ballot.results ? 'results' : 'closed';
  return {
    ref: ballot._id,
    title: ballotText(ballot.title, locale, defaultLocale),
    question: ballotText(ballot.question, locale, defaultLocale),
    projects: ballot.projects.map((project) => ({ id: project.id, title: ballotText(project.title, locale, defaultLocale), cost: project.cost })),
    rule: ballot.rule,
    ...(ballot.budget !== undefined ? { budget: ballot.budget } : {}),
    ...(ballot.maxPicks !== undefined ? { maxPicks: ballot.maxPicks } : {}),
    closesAt: ballot.closesAt.toISOString(),
    state,
    ...(ballot.results && state === 'results' ? { results: ballot.results.projects.map((line) => ({ ...line })), voters: ballot.results.voters } : {}),
  };
}

/** The ballots open now, and when there are none the latest that is over (within 30 days). */
export async function listBallots(
  store: Pick<Collections, 'ballots'>,
  scope: Pick<CommandScope, 'locale' | 'now'>,
  defaultLocale: string,
): Promise<CommandResults['ballot.list']> {
  const { now, locale } = scope;
  const open = (await store.ballots.find({ field: 'status', equals: 'open' }, { order: 'asc', from: now, limit: OPEN_BALLOTS_READ })).filter((ballot) =>
    isVotingOpen(ballot, now),
  );
  if (open.length > 0) return { open: open.map((ballot) => ballotView(ballot, locale, defaultLocale, now)), recent: null };
  const newest = await store.ballots.find({ field: 'kind', equals: 'ballot' }, { order: 'desc', limit: RECENT_BALLOTS_READ });
  const recent = newest
    .filter((ballot) => isVotingOver(ballot, now) && now.getTime() - ballot.closesAt.getTime() < RECENT_DAYS_MS)
    .sort((a, b) => b.closesAt.getTime() - a.closesAt.getTime())[0];
  return { open: [], recent: recent ? ballotView(recent, locale, defaultLocale, now) : null };
}

/** One ballot as the resident sees it, with their current picks. Drafts are not found. */
export async function getBallot(
  store: Pick<Collections, 'ballots' | 'ballotVotes'>,
  ref: string,
  scope: Pick<CommandScope, 'address' | 'locale' | 'now'>,
  defaultLocale: string,
): Promise<CommandResults['ballot.get']> {
  const ballot = await store.ballots.get(ref.toUpperCase());
  if (!ballot || ballot.status === 'draft') return { ballot: null, mine: null };
  const vote = await store.ballotVotes.get(ballotVoteId(ballot._id, scope.address));
  return { ballot: ballotView(ballot, scope.locale, defaultLocale, scope.now), mine: vote ? vote.picks : null };
}

/**
 * Casts or changes the resident's vote: the picks are checked against the ballot's rule and
 * window again here (the dialog checked what it showed; staff may have closed it since), then
 * written: inserted the first time, replaced at its revision after. A retried turn writing the
 * same picks changes nothing (`unchanged`).
 */
export async function castVote(
  store: Pick<Collections, 'ballots' | 'ballotVotes'>,
  input: { ref: string; picks: readonly number[] },
  scope: Pick<CommandScope, 'address' | 'channel' | 'locale' | 'now'>,
): Promise<CommandResults['ballot.vote']['outcome']> {
  const ballot = await store.ballots.get(input.ref.toUpperCase());
  if (!ballot || ballot.status === 'draft') return 'not_found';
  if (!isVotingOpen(ballot, scope.now)) return 'closed';
  const checked = checkPicks(ballot, input.picks);
  if (!('ok' in checked)) return 'invalid';
  const id = ballotVoteId(ballot._id, scope.address);
  for (let attempt = 0; attempt < VOTE_ATTEMPTS; attempt++) {
    const current = await store.ballotVotes.get(id);
    if (!current) {
      const vote: BallotVoteRecord = {
        _id: id,
        _rev: 1,
        ballotId: ballot._id,
        address: scope.address,
        picks: checked.ok,
        channel: scope.channel,
        locale: scope.locale,
        at: scope.now,
        firstAt: scope.now,
        changes: 0,
      };
      if (await store.ballotVotes.insert(vote)) return 'recorded';
      continue;
    }
    if (samePicks(current.picks, checked.ok)) return 'unchanged';
    const changed = { ...current, picks: checked.ok, channel: scope.channel, locale: scope.locale, at: scope.now, changes: current.changes + 1 };
    if (await store.ballotVotes.replace(changed, current._rev)) return 'changed';
  }
  throw new Error(`Vote in ${ballot._id} kept conflicting`);
}

function samePicks(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
