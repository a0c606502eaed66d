/**
 * Runs the engine's commands and effects against the store. This is where "file a report" or
 * "sign up" actually happens; the dialogs only describe them.
 *
 * Retries: a command can run twice when a turn is retried (a provider redelivers a message
 * whose first attempt died half-way). Creating records is therefore keyed by the inbound
 * message (`sourceKey`, hashed: see `createOnce`), and sign-ups and supports have one id per
 * resident and role or idea. "Delete my data" is erasure.ts.
 */
import { createHash } from 'node:crypto';
import type { ChannelName, MediaRef } from '../core/message.js';
import type {
  Command,
  CommandResult,
  CommandResults,
  Effect,
  ReportSummary,
  ReportView,
  RoleSummary,
  RoleView,
  ShiftView,
  SignupSummary,
} from '../engine/commands.js';
import type { Collections, FindOptions, Store } from '../store/store.port.js';
import type { IdeaRecord, ShiftRecord, SignupRecord, VolunteerRoleRecord } from '../domain/records.js';
import { newReference } from '../domain/reference.js';
import { KeyedMutex } from './keyed-mutex.js';
import { withOpenReportKeys } from '../domain/open-report-keys.js';
import { spotKeyOf } from '../domain/signup-spots.js';
import { backOff } from './back-off.js';
import { statusGroupOf } from '../domain/report-status.js';
import { scheduleJob } from '../store/jobs.js';
import { OPEN311_FORWARD_JOB, open311ForwardJobId } from '../domain/open311-outbox.js';
import { Erasure } from './erasure.js';
import { requestHandoff, residentLeft, residentWrote } from './handoff-requests.js';
import { alreadyReported, locateReport } from './already-reported.js';
import type { Geocoder } from './geocoder.js';
import { coReporterCount, followReport } from './report-followers.js';
import { answerSurvey } from './report-surveys.js';
import { findSimilarIdeas, similarTermsOf } from './similar-ideas.js';
import { checkinView, recordCheckin } from './shift-checkins.js';
import { reportIdea } from './idea-reports.js';
import { shownToResidents } from '../domain/idea-visibility.js';
import { supportIdea, visibleIdeas } from './idea-support.js';
import { shorten } from '../engine/text.js';
import { castVote, getBallot, listBallots } from './ballot-votes.js';

/** Who a command runs for, and which inbound message caused it. */
export interface CommandScope {
  address: string;
  channel: ChannelName;
  locale: string;
  /** The inbound message's key, so a retry finds what the first attempt created. */
  sourceKey: string;
  now: Date;
}

/** What the rest of the service does after some commands (set up by the service). */
export interface CommandRunnerHooks {
  /**
   * A confirmed sign-up was cancelled at `now`: promote from the shift's waitlist, or the role's
   * for a role without shifts.
   */
  spotFreed?(roleId: string, shiftId: string | undefined, now: Date): Promise<void>;
}

/** How many times an optimistic write is retried before it gives up (and the turn fails). */
const WRITE_ATTEMPTS = 5;
/**
 * Sign-ups for one role from several service instances contend for its revision: each round
 * one wins, so the budget is larger, and losers wait a random, growing moment to spread out.
 */
const SIGNUP_ATTEMPTS = 30;
/**
 * The role list reads at most this many open roles (the status index, by start). Every one that
 * is upcoming and matches is listed and paged by the dialog: a city with more open roles than
 * this would miss the latest-starting ones, and the list is kept in the conversation's state.
 */
const ROLE_LIST_READ = 500;
/** "My sign-ups" reads this many of the resident's newest sign-ups, and lists every active one. */
const MY_SIGNUPS_READ = 200;
/** How long one instance reuses its list of upcoming roles and their spots (see `upcomingRoles`). */
const ROLE_LIST_FRESH_MS = 1_000;
/** A role's upcoming shifts offered to a resident at most (the soonest). */
const SHIFTS_READ = 20;
/** Sign-ups of a shift or role read, oldest first, to find its waitlist's first when a spot frees. */
const WAITLIST_READ = 10_000;
/** "My reports" reads this many of the resident's newest own and followed reports, and lists the first few. */
const MY_REPORTS_READ = 20;
const MY_REPORTS_LISTED = 5;
/** Ideas on one page of a resident's list, at most (the dialog asks for 4 or 8). */
const IDEA_PAGE_MAX = 10;
/** An idea's details as a list keeps them for the idea's own page: a phone screen. */
const IDEA_DETAILS_SHOWN = 300;

/** Settings of the runner (from the configuration). */
export interface CommandRunnerOptions {
  /** ADDRESS_HASH_SECRET, the key of the hashes that stand for addresses (see erasure.ts). */
  addressHashSecret?: string | undefined;
  /** HANDOFF_IDLE_MINUTES: when a conversation handed to a person is first checked for idleness. */
  handoffIdleMs?: number;
  /** DUPLICATE_RADIUS_METERS: how close an open report of the same category counts as "already reported". */
  duplicateRadiusM?: number;
  /** GEOCODER_URL's geocoder: text places get a point and shared points a street address (absent: off). */
  geocoder?: Geocoder | null;
  /** OPEN311_ENDPOINT is set: every new report is forwarded to the city's Open311 server by a job. */
  forwardToOpen311?: boolean;
  /**
   * The NLU's idea terms ("similar ideas?") in a locale, or in the text's detected language when
   * none is given; without it ideas carry none and none is ever offered.
   */
  ideaTerms?: (text: string, locale?: string) => string[];
  /** IDEA_REPORTS_TO_HIDE: how many residents' reports hide an idea until staff decide. */
  ideaReportsToHide?: number;
  /** IDEA_SUPPORT_THRESHOLD: supporters that send an idea to staff review (0: none; an idea may have its own). */
  ideaSupportThreshold?: number;
  /** DEFAULT_LOCALE: a ballot's text for a resident whose language it lacks. */
  defaultLocale?: string;
}

/** HANDOFF_IDLE_MINUTES' default, for runners built without the configuration (tests). */
const DEFAULT_HANDOFF_IDLE_MS = 30 * 60_000;
/** DUPLICATE_RADIUS_METERS' default, likewise. */
const DEFAULT_DUPLICATE_RADIUS_M = 250;
/** IDEA_REPORTS_TO_HIDE's default, likewise. */
const DEFAULT_IDEA_REPORTS_TO_HIDE = 3;

/** Executes commands and effects for the turn pipeline. */
export class CommandRunner {
  private readonly roleLocks = new KeyedMutex();
  /** The upcoming roles as last read, when and for which clock (see `upcomingRoles`). */
  private upcomingMemo: { readonly madeAt: number; readonly now: number; roles: Promise<UpcomingRole[]> } | undefined;
  /** Deletes residents' data, and knows the addresses it deleted (the pipeline asks at a first contact). */
  readonly erasure: Erasure;
  private readonly handoffIdleMs: number;
  private readonly duplicateRadiusM: number;
  private readonly geocoder: Geocoder | null;
  private readonly forwardToOpen311: boolean;
  private readonly ideaTerms: ((text: string, locale?: string) => string[]) | undefined;
  private readonly ideaReportsToHide: number;
  private readonly ideaSupportThreshold: number;
  private readonly defaultLocale: string;

  constructor(
    private readonly store: Collections & Pick<Store, 'media'>,
    private readonly hooks: CommandRunnerHooks = {},
    options: CommandRunnerOptions = {},
  ) {
    this.erasure = new Erasure(store, {
      secret: options.addressHashSecret,
      spotFreed: async (roleId: string, shiftId: string | undefined, now: Date) => this.hooks.spotFreed?.(roleId, shiftId, now),
    });
    this.handoffIdleMs = options.handoffIdleMs ?? DEFAULT_HANDOFF_IDLE_MS;
    this.duplicateRadiusM = options.duplicateRadiusM ?? DEFAULT_DUPLICATE_RADIUS_M;
    this.geocoder = options.geocoder ?? null;
    this.forwardToOpen311 = options.forwardToOpen311 ?? false;
    this.ideaSupportThreshold = options.ideaSupportThreshold ?? 0;
    this.ideaTerms = options.ideaTerms;
    this.ideaReportsToHide = options.ideaReportsToHide ?? DEFAULT_IDEA_REPORTS_TO_HIDE;
    this.defaultLocale = options.defaultLocale ?? 'en';
  }

  /**
   * The `similarTerms` an idea should carry ("similar ideas?"), from its title and details in their
   * detected language: none for an idea residents may not see (hidden, merged) or the city will not do.
   */
  similarTermsFor(idea: IdeaRecord): { similarTerms?: string[] } {
    if (!shownToResidents(idea) || idea.status === 'not_planned') return {};
    return similarTermsOf(this.ideaTerms?.(`${idea.title}\n${idea.details}`));
  }

  /** Runs one command and returns its result for the engine. */
  async run(command: Command, scope: CommandScope): Promise<CommandResult> {
    switch (command.type) {
      case 'report.create':
        return { type: command.type, value: await this.createReport(command.input, scope) };
      case 'report.get':
        return { type: command.type, value: { report: await this.reportView(command.input.ref, scope) } };
      case 'report.addResidentUpdate':
        return { type: command.type, value: { outcome: await this.addResidentUpdate(command.input, scope) } };
      case 'report.survey':
        return { type: command.type, value: await answerSurvey(this.store, command.input, scope) };
      case 'report.findNearby':
        return {
          type: command.type,
          value: { reports: await alreadyReported(this.store, command.input, { ...scope, radiusM: this.duplicateRadiusM, geocoder: this.geocoder }) },
        };
      case 'report.follow': {
        const { ref, note, photos } = command.input;
        const outcome = await followReport(this.store, {
          ref,
          address: scope.address,
          sourceKey: scope.sourceKey,
          now: scope.now,
          photos,
          ...(note ? { note } : {}),
        });
        const offered = await this.store.reports.get(ref.toUpperCase());
        // The report followed: the one offered, or the one staff merged it into meanwhile.
        const report = offered?.mergedInto ? await this.store.reports.get(offered.mergedInto) : offered;
        return {
          type: command.type,
          value: { outcome, residents: report ? await coReporterCount(this.store, report) : 0, ref: report?._id ?? ref.toUpperCase() },
        };
      }
      case 'report.listMine':
        return { type: command.type, value: { reports: await this.myReports(scope) } };
      case 'idea.create':
        return { type: command.type, value: await this.createIdea(command.input, scope) };
      case 'idea.findSimilar': {
        const terms = this.ideaTerms?.(command.input.text, scope.locale) ?? [];
        const ideas = await findSimilarIdeas(this.store, terms);
        return { type: command.type, value: { ideas: ideas.map(({ ref, title, supporters }) => ({ ref, title, supporters })) } };
      }
      case 'idea.browse': {
        const { order, neighbourhood, offset, limit } = command.input;
        const ideas = await visibleIdeas(this.store, { order, ...(neighbourhood ? { neighbourhood } : {}) });
        const page = ideas.slice(Math.max(0, offset), Math.max(0, offset) + Math.min(Math.max(1, limit), IDEA_PAGE_MAX));
        const summaries = page.map((idea) => ({
          ref: idea._id,
          title: idea.title,
          status: idea.status,
          supports: idea.supporters ?? 0,
          ...(idea.details ? { details: shorten(idea.details, IDEA_DETAILS_SHOWN) } : {}),
          ...(idea.neighbourhood ? { neighbourhood: idea.neighbourhood } : {}),
        }));
        return { type: command.type, value: { ideas: summaries, total: ideas.length } };
      }
      case 'idea.support':
        return { type: command.type, value: { outcome: await supportIdea(this.store, command.input.ref, scope, this.ideaSupportThreshold) } };
      case 'idea.report':
        return { type: command.type, value: { outcome: await reportIdea(this.store, command.input, scope, this.ideaReportsToHide) } };
      case 'role.list':
        return { type: command.type, value: await this.listRoles(command.input, scope) };
      case 'role.get': {
        const role = await this.store.roles.get(command.input.ref);
        return { type: command.type, value: { role: role ? await this.roleView(role, scope) : null } };
      }
      case 'role.signUp': {
        const outcome = await this.signUp(command.input, scope);
        if (command.input.via) await this.recordCallAnswer(command.input.via, outcome, scope);
        return { type: command.type, value: { outcome } };
      }
      case 'signup.listMine':
        return { type: command.type, value: { signups: await this.mySignups(scope) } };
      case 'checkin.get':
        return { type: command.type, value: await checkinView(this.store, command.input, scope) };
      case 'checkin.record':
        return { type: command.type, value: await recordCheckin(this.store, command.input, scope) };
      case 'signup.cancel':
        return { type: command.type, value: { outcome: await this.cancelSignup(command.input.ref, scope) } };
      case 'signup.confirmAttendance':
        return { type: command.type, value: { shift: await this.confirmAttendance(command.input.ref, scope) } };
      case 'resident.deleteData':
        await this.erasure.erase(scope);
        return { type: command.type, value: { deleted: true } };
      case 'ballot.list':
        return { type: command.type, value: await listBallots(this.store, scope, this.defaultLocale) };
      case 'ballot.get':
        return { type: command.type, value: await getBallot(this.store, command.input.ref, scope, this.defaultLocale) };
      case 'ballot.vote':
        return { type: command.type, value: { outcome: await castVote(this.store, command.input, scope) } };
    }
  }

  /** Applies one effect (profile, consent, hand-off). Each is idempotent, but a hand-off's unread count. */
  async apply(effect: Effect, scope: CommandScope): Promise<void> {
    switch (effect.type) {
      case 'resident.setLocale':
        return this.updateResident(scope, (r) => ({ ...r, locale: effect.locale }));
      case 'resident.setProfile':
        return this.updateResident(scope, (r) => ({
          ...r,
          ...(effect.name !== undefined ? { name: effect.name } : {}),
          ...(effect.interests !== undefined ? { interests: effect.interests } : {}),
          ...(effect.neighbourhood !== undefined ? { neighbourhood: effect.neighbourhood } : {}),
        }));
      case 'resident.setVolunteerCalls':
        return this.updateResident(scope, (r) => ({ ...r, volunteerCalls: effect.on }));
      case 'consent.optOut':
      case 'consent.optIn': {
        const optedOut = effect.type === 'consent.optOut';
        // One consent record per inbound message, so a retried STOP is recorded once.
        await this.store.consentEvents.insert({
          _id: `${scope.sourceKey}|consent`,
          address: scope.address,
          channel: scope.channel,
          kind: optedOut ? 'opt_out' : 'opt_in',
          keyword: effect.keyword.slice(0, 40),
          at: scope.now,
        });
        // The profile follows the log's latest event, not this message: an old STOP applied again
        // (its event already recorded, a START after it) must not opt out a resident whose
        // consent log ends with START. A replayed STOP once did exactly that.
        const [latest] = await this.store.consentEvents.find({ field: 'address', equals: scope.address }, { order: 'desc', limit: 1 });
        const inEffect = latest ? latest.kind === 'opt_out' : optedOut;
        await this.updateResident(scope, (r) => ({ ...r, optedOut: inEffect }));
        return;
      }
      case 'volunteerCall.declined':
        return this.recordCallAnswer(effect.broadcastId, 'declined', scope);
      case 'staff.handoff':
        return requestHandoff(this.store, scope, { reason: effect.reason, about: effect.about }, this.handoffIdleMs);
      case 'staff.handoff.wrote':
        return residentWrote(this.store, scope, this.handoffIdleMs);
      case 'staff.handoff.left':
        return residentLeft(this.store, scope, effect.why === 'opted_out' ? 'opted_out' : 'resident');
    }
  }

  private async createReport(input: Extract<Command, { type: 'report.create' }>['input'], scope: CommandScope): Promise<{ ref: string }> {
    // Before the reference is drawn: a retry of this message geocodes again (from the cache).
    const location = await locateReport(this.geocoder, input, scope.locale);
    const created = await this.createOnce('R', scope, {
      ownerOf: async (ref) => (await this.store.reports.get(ref))?.residentAddress ?? null,
      insert: async (ref) => {
        // With the keys that let the next resident nearby find it while it is open (issue 18).
        const report = withOpenReportKeys({
          _id: ref,
          category: input.category,
          status: 'open',
          statusGroup: statusGroupOf('open'),
          location,
          description: input.description,
          photos: input.photos,
          residentAddress: scope.address,
          channel: scope.channel,
          locale: scope.locale,
          createdAt: scope.now,
          updatedAt: scope.now,
        });
        const inserted = await this.store.reports.insert(report);
        if (inserted) await this.store.reportUpdates.insert({ _id: `${ref}|0`, reportId: ref, status: 'open', by: 'system', at: scope.now });
        return inserted;
      },
    });
    // After createOnce, which returns the reference on a retried message too: a turn cut off
    // between the insert and this line schedules the forward when the message is retried. `once`:
    // a report is forwarded once ever, whatever becomes of its job.
    if (this.forwardToOpen311) {
      await scheduleJob(
        this.store,
        { id: open311ForwardJobId(created.ref), kind: OPEN311_FORWARD_JOB, dueAt: scope.now, payload: { ref: created.ref }, once: true },
        scope.now,
      );
    }
    return created;
  }

  /**
   * "My reports": the resident's own reports and those they follow, open ones first, then the
   * newest, with their state (a fixed one stays listed: residents ask about those too).
   */
  private async myReports(scope: CommandScope): Promise<ReportSummary[]> {
    const [own, follows] = await Promise.all([
      this.store.reports.find({ field: 'residentAddress', equals: scope.address }, { order: 'desc', limit: MY_REPORTS_READ }),
      this.store.reportFollowers.find({ field: 'address', equals: scope.address }, { order: 'desc', limit: MY_REPORTS_READ }),
    ]);
    const followed = (await Promise.all(follows.map((follow) => this.store.reports.get(follow.reportId)))).filter((report) => report !== null);
    const followedIds = new Set(followed.map((report) => report._id));
    return [...own, ...followed]
      .sort((a, b) => Number(b.statusGroup === 'open') - Number(a.statusGroup === 'open') || b.createdAt.getTime() - a.createdAt.getTime())
      .slice(0, MY_REPORTS_LISTED)
      .map((report) => ({
        ref: report._id,
        category: String(report.category),
        status: report.status,
        createdAt: report.createdAt.toISOString(),
        ...(followedIds.has(report._id) ? { following: true } : {}),
      }));
  }

  /** A resident's reply to an update of their own report, kept as their update (once per message). */
  private async addResidentUpdate(input: { ref: string; text: string; media?: MediaRef[] }, scope: CommandScope): Promise<'added' | 'not_found'> {
    const report = await this.store.reports.get(input.ref.toUpperCase());
    if (!report || report.residentAddress !== scope.address) return 'not_found';
    await this.store.reportUpdates.insert({
      _id: `${report._id}|${createHash('sha256').update(scope.sourceKey).digest('hex').slice(0, 20)}`,
      reportId: report._id,
      ...(input.text ? { note: input.text.slice(0, 2000) } : {}),
      ...(input.media?.length ? { photos: input.media } : {}),
      by: 'resident',
      at: scope.now,
    });
    return 'added';
  }

  /** Counts a resident's answer to a broadcast's volunteer call on their delivery record. */
  private async recordCallAnswer(broadcastId: string, outcome: string, scope: CommandScope): Promise<void> {
    const answer = outcome === 'already' ? 'confirmed' : outcome;
    if (answer !== 'confirmed' && answer !== 'waitlisted' && answer !== 'declined' && answer !== 'full' && answer !== 'closed') return;
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const delivery = await this.store.deliveries.get(`${broadcastId}|${scope.address}`);
      if (!delivery || delivery.answeredIn) return;
      if (await this.store.deliveries.replace({ ...delivery, answer, answeredIn: broadcastId, answeredAt: scope.now, updatedAt: scope.now }, delivery._rev))
        return;
    }
  }

  /**
   * A report as the resident asking sees it. Anyone who knows a reference may see its status and
   * the city's notes; the reporter's own words (the description and their replies to updates)
   * only the reporter, from the address that filed it: a reference is shared, shown on posters,
   * typed in front of others, and once showed the reporter's replies to whoever sent it.
   */
  private async reportView(ref: string, scope: CommandScope): Promise<ReportView | null> {
    const report = await this.store.reports.get(ref.toUpperCase());
    if (!report) return null;
    const own = report.residentAddress === scope.address;
    // Staff's internal notes are for staff: never shown to anyone asking about the report.
    const all = (await this.store.reportUpdates.find({ field: 'reportId', equals: report._id }, { order: 'asc', limit: 100 }))
      .filter((update) => !update.internal)
      .slice(0, 20);
    // A follower's words are theirs: not shown to the reporter either.
    const updates = all.filter((update) => update.by !== 'resident' || (own && !update.follower));
    const point = report.location.point;
    return {
      ref: report._id,
      category: String(report.category),
      status: report.status,
      statusGroup: report.statusGroup,
      locationText: report.location.text ?? (point ? `${point.lat.toFixed(5)}, ${point.lon.toFixed(5)}` : ''),
      description: own ? report.description : '',
      createdAt: report.createdAt.toISOString(),
      updates: updates.map((u) => ({ ...(u.status ? { status: u.status } : {}), ...(u.note ? { note: u.note } : {}), at: u.at.toISOString() })),
    };
  }

  private createIdea(input: Extract<Command, { type: 'idea.create' }>['input'], scope: CommandScope): Promise<{ ref: string }> {
    return this.createOnce('I', scope, {
      ownerOf: async (ref) => (await this.store.ideas.get(ref))?.authorAddress ?? null,
      insert: (ref) =>
        this.store.ideas.insert({
          _id: ref,
          title: input.title,
          details: input.details,
          ...(input.neighbourhood ? { neighbourhood: input.neighbourhood } : {}),
          authorAddress: scope.address,
          channel: scope.channel,
          status: 'new',
          kind: 'idea',
          ...similarTermsOf(this.ideaTerms?.(`${input.title}\n${input.details}`, scope.locale)),
          createdAt: scope.now,
        }),
    });
  }

  /**
   * Creates a record under a fresh reference, once per inbound message. The reference is
   * written down (planned) before the record is inserted, so a retry of a message whose first
   * attempt died at any point finds it: the record is there and is this resident's, or it is
   * inserted now under the same reference. `insert` returns false on a collision. The marker's
   * id is a keyed hash of the source key, which holds the resident's address: the marker would
   * otherwise link a report to the address after its author deleted their data.
   */
  private async createOnce(
    prefix: 'R' | 'I',
    scope: CommandScope,
    record: { insert: (ref: string) => Promise<boolean>; ownerOf: (ref: string) => Promise<string | null> },
  ): Promise<{ ref: string }> {
    const marker = await this.erasure.createdMarker(scope.sourceKey);
    const planned = (await this.store.meta.get(marker))?.value;
    if (typeof planned === 'string') {
      const owner = await record.ownerOf(planned);
      if (owner === scope.address || (owner === null && (await record.insert(planned)))) return { ref: planned };
    }
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const ref = newReference(prefix);
      await this.store.meta.upsert({ _id: marker, value: ref });
      if (await record.insert(ref)) return { ref };
    }
    throw new Error('Could not draw a free reference');
  }

  /**
   * The open, upcoming roles that match the filter, all of them: those with a spot left first
   * and full ones last (each group by start), so the first page is what a resident can join.
   */
  private async listRoles(filter: { interest?: string; neighbourhood?: string }, scope: CommandScope) {
    const upcoming = await this.upcomingRoles(scope.now);
    const matching = upcoming.filter(
      ({ role }) => (!filter.interest || role.interests.includes(filter.interest)) && (!filter.neighbourhood || role.neighbourhood === filter.neighbourhood),
    );
    // Summaries, not views: the list is kept in the conversation's state until the resident
    // picks, and is read and written back on every turn until then (the details are fetched
    // with role.get when a role is picked).
    const summaries = matching.map(({ role, shifts, spotsLeft }) => roleSummaryOf(role, shifts, spotsLeft, scope.locale));
    // A stable sort: within each group the roles keep the index's order by start.
    const roles = summaries.sort((a, b) => Number(a.spotsLeft === 0) - Number(b.spotsLeft === 0));
    return {
      roles,
      interests: [...new Set(upcoming.flatMap(({ role }) => role.interests))].sort().slice(0, 8),
      neighbourhoods: [...new Set(upcoming.map(({ role }) => role.neighbourhood))].sort().slice(0, 8),
    };
  }

  /**
   * Every open, upcoming role with its coming shifts and spots left. That is a few index reads
   * per open role (its coming shifts, a count of its spots taken), a few milliseconds for a city
   * with a hundred roles, and the same for every resident asking. So one instance reuses it for
   * ROLE_LIST_FRESH_MS: a sign-up, withdrawal or promotion through it updates that role in it
   * (`spotsChanged`), a staff change to roles or shifts forgets it (`rolesChanged`), and a change
   * made on another instance shows within that time. A resident who
   * picks a role gets its details read afresh (`roleView`), and a sign-up counts its spots under
   * the shift's lock and revision claim whatever the list said.
   */
  private upcomingRoles(now: Date): Promise<UpcomingRole[]> {
    const held = this.upcomingMemo;
    if (held && performance.now() - held.madeAt < ROLE_LIST_FRESH_MS && Math.abs(now.getTime() - held.now) < ROLE_LIST_FRESH_MS) {
      return held.roles;
    }
    const roles = this.readUpcomingRoles(now);
    const memo = { madeAt: performance.now(), now: now.getTime(), roles };
    this.upcomingMemo = memo;
    roles.catch(() => {
      if (this.upcomingMemo === memo) this.upcomingMemo = undefined;
    });
    return roles;
  }

  private async readUpcomingRoles(now: Date): Promise<UpcomingRole[]> {
    const open = await this.store.roles.find({ field: 'status', equals: 'open' }, { order: 'asc', limit: ROLE_LIST_READ });
    const withShifts = await Promise.all(open.map(async (role) => ({ role, shifts: await this.shiftsOf(role, now) })));
    // A role with shifts is upcoming while a shift is; one without, until it ends (or always, when recurring).
    const upcoming = withShifts.filter(({ role, shifts }) => (shifts ? shifts.length > 0 : (role.endsAt ?? role.startsAt) >= now || Boolean(role.schedule)));
    return Promise.all(upcoming.map(async ({ role, shifts }) => ({ role, shifts, spotsLeft: await this.spotsLeft(role, shifts) })));
  }

  /** Roles or shifts changed (staff): the next role list is read afresh. */
  rolesChanged(): void {
    this.upcomingMemo = undefined;
  }

  /**
   * A sign-up for this role changed through this instance: the list kept is brought up to date
   * for this role only (its shifts and spots read again), so the resident who just signed up or
   * withdrew, and everyone after them, sees the spots as they are, without the whole list read.
   */
  private spotsChanged(roleId: string): void {
    const held = this.upcomingMemo;
    if (!held) return;
    const now = new Date(held.now);
    held.roles = held.roles.then(async (roles) => {
      const at = roles.findIndex((entry) => entry.role._id === roleId);
      const entry = roles[at];
      if (!entry) return roles;
      const shifts = await this.shiftsOf(entry.role, now);
      const updated = roles.slice();
      updated[at] = { role: entry.role, shifts, spotsLeft: await this.spotsLeft(entry.role, shifts) };
      return updated;
    });
    held.roles.catch(() => {
      if (this.upcomingMemo === held) this.upcomingMemo = undefined;
    });
  }

  /**
   * "My sign-ups": every active (not withdrawn) sign-up of the resident, those still to come
   * first, soonest first, then past ones, latest first. Withdrawing one is `signup.cancel`.
   */
  private async mySignups(scope: CommandScope): Promise<SignupSummary[]> {
    const signups = await this.store.signups.find({ field: 'address', equals: scope.address }, { order: 'desc', limit: MY_SIGNUPS_READ });
    const active = signups.flatMap((signup) => (signup.status === 'cancelled' ? [] : [{ ...signup, status: signup.status }]));
    const roleIds = [...new Set(active.map((signup) => signup.roleId))];
    const roles = new Map((await Promise.all(roleIds.map((id) => this.store.roles.get(id)))).flatMap((role) => (role ? [[role._id, role] as const] : [])));
    const shifts = await Promise.all(active.map((signup) => (signup.shiftId ? this.store.shifts.get(signup.shiftId) : null)));
    const listed = active.flatMap((signup, i) => {
      const role = roles.get(signup.roleId);
      const shift = shifts[i];
      if (!role || (signup.shiftId && !shift)) return [];
      // A shift sign-up is dated by its shift; one for a role as a whole, by the role.
      const startsAt = shift?.startsAt ?? role.startsAt;
      const summary: SignupSummary = {
        id: signup._id,
        ref: shift?._id ?? role._id,
        roleRef: role._id,
        title: localizedRole(role, scope.locale).title,
        status: signup.status,
        startsAt: startsAt.toISOString(),
        ...(shift ? { endsAt: shift.endsAt.toISOString() } : {}),
      };
      const coming = shift ? shift.endsAt >= scope.now : (role.endsAt ?? role.startsAt) >= scope.now || Boolean(role.schedule);
      return [{ summary, coming, at: startsAt.getTime() }];
    });
    return listed.sort((a, b) => Number(b.coming) - Number(a.coming) || (a.coming ? a.at - b.at : b.at - a.at)).map((line) => line.summary);
  }

  /**
   * A role's shifts a resident can still sign up for (open, not started, soonest first, at most
   * SHIFTS_READ), with their spots left; null when the role has no shifts at all, so it is signed
   * up for as a whole. One index read from now (`from`), however many shifts are past.
   */
  private async shiftsOf(role: VolunteerRoleRecord, now: Date): Promise<ShiftWithSpots[] | null> {
    const byRole = { field: 'roleId', equals: role._id } as const;
    const coming = await this.store.shifts.find(byRole, { order: 'asc', from: now, limit: SHIFTS_READ });
    if (coming.length === 0 && (await this.store.shifts.count(byRole)) === 0) return null;
    const open = coming.filter((shift) => shift.status === 'open' && shift.startsAt > now);
    return Promise.all(open.map(async (shift) => ({ shift, spotsLeft: Math.max(0, shift.capacity - (await this.confirmedCount(role._id, shift._id))) })));
  }

  /** Spots left: of its coming shifts together, or of the role itself when it has none. */
  private async spotsLeft(role: VolunteerRoleRecord, shifts: ShiftWithSpots[] | null): Promise<number> {
    return shifts ? shifts.reduce((sum, { spotsLeft }) => sum + spotsLeft, 0) : Math.max(0, role.capacity - (await this.confirmedCount(role._id)));
  }

  /** The summary, and everything a resident needs to decide (the shifts to pick from, when it has shifts). */
  private async roleView(role: VolunteerRoleRecord, scope: CommandScope): Promise<RoleView> {
    const shifts = await this.shiftsOf(role, scope.now);
    return {
      ...roleSummaryOf(role, shifts, await this.spotsLeft(role, shifts), scope.locale),
      description: localizedRole(role, scope.locale).description,
      place: role.place,
      ...(role.schedule ? { schedule: role.schedule } : {}),
      contact: role.contact,
      capacity: role.capacity,
      interests: role.interests,
      status: role.status,
      ...(shifts ? { shifts: shifts.map(({ shift, spotsLeft }) => shiftView(role, shift, spotsLeft)) } : {}),
    };
  }

  /**
   * Confirmed sign-ups for a shift, or for a role as a whole (a role's shift sign-ups are not the
   * role's): a count of the spots' index keys, however many sign-ups were withdrawn or waitlisted.
   */
  private confirmedCount(roleId: string, shiftId?: string): Promise<number> {
    return this.store.signups.count({ field: 'confirmedIn', equals: spotKeyOf({ roleId, shiftId }) });
  }

  /** The sign-ups for a shift (by its index), or for a role as a whole (its sign-ups without a shift). */
  private async signupsFor(roleId: string, shiftId: string | undefined, options: FindOptions = {}): Promise<SignupRecord[]> {
    if (shiftId) return this.store.signups.find({ field: 'shiftId', equals: shiftId }, options);
    return (await this.store.signups.find({ field: 'roleId', equals: roleId }, options)).filter((s) => !s.shiftId);
  }

  /**
   * Signs up, or waitlists when full, for a shift or (for a role without shifts) the role. Safe
   * against sign-ups racing for the last spot, in this process (one sign-up per shift or role at
   * a time) and across service instances: the sign-up is written first, then the shift's (or
   * role's) revision is claimed; a sign-up that loses the claim re-counts (now seeing the winner)
   * and corrects its own status before claiming again.
   */
  private signUp(input: { ref: string; shiftId?: string; name: string; waitlist: boolean }, scope: CommandScope): Promise<SignUpOutcome> {
    const slotId = input.shiftId ?? input.ref;
    return this.roleLocks.run(slotId, async () => {
      const id = `${slotId}|${scope.address}`;
      const existing = await this.store.signups.get(id);
      if (existing && existing.status !== 'cancelled') return existing.status === 'confirmed' ? 'already' : 'waitlisted';
      for (let attempt = 0; attempt < SIGNUP_ATTEMPTS; attempt++) {
        if (attempt > 0) await backOff(attempt);
        const slot = await this.signUpSlot(input, scope.now);
        if (typeof slot === 'string') return slot;
        // The spots taken by others: a retry after a lost claim finds its own sign-up confirmed.
        const own = (await this.store.signups.get(id))?.status === 'confirmed' ? 1 : 0;
        const hasSpot = (await this.confirmedCount(slot.role._id, input.shiftId)) - own < slot.capacity;
        if (!hasSpot && !input.waitlist) return 'full';
        const status = hasSpot ? 'confirmed' : 'waitlisted';
        await this.store.signups.upsert({
          _id: id,
          roleId: slot.role._id,
          ...(input.shiftId ? { shiftId: input.shiftId } : {}),
          address: scope.address,
          name: input.name,
          channel: scope.channel,
          status,
          // A new place in the queue: withdrawing and signing up again does not keep the old one.
          createdAt: scope.now,
          updatedAt: scope.now,
        });
        if (!(await slot.claim())) continue;
        this.spotsChanged(slot.role._id);
        await this.updateResident(scope, (r) => ({ ...r, name: input.name }));
        return status;
      }
      throw new Error('Role kept changing while signing up');
    });
  }

  /** What a sign-up is for, with its capacity and the revision claim that serialises sign-ups; or why there is none. */
  private async signUpSlot(input: { ref: string; shiftId?: string }, now: Date): Promise<SignUpSlot | 'closed' | 'not_found' | 'pick_shift'> {
    const role = await this.store.roles.get(input.ref);
    if (!role) return 'not_found';
    if (role.status !== 'open') return 'closed';
    if (!input.shiftId) {
      if ((await this.store.shifts.count({ field: 'roleId', equals: role._id })) > 0) return 'pick_shift';
      return { role, capacity: role.capacity, claim: () => this.store.roles.replace(role, role._rev) };
    }
    const shift = await this.store.shifts.get(input.shiftId);
    if (!shift || shift.roleId !== role._id) return 'not_found';
    if (shift.status !== 'open' || shift.startsAt <= now) return 'closed';
    return { role, capacity: shift.capacity, claim: () => this.store.shifts.replace(shift, shift._rev) };
  }

  /**
   * Gives free spots of a shift (or of a role without shifts) to its waitlist, first come first
   * served, under the same lock and revision claim as sign-ups (so a promotion and a sign-up
   * cannot both take the last spot). Returns the sign-ups promoted, for the caller to tell them.
   */
  promoteFromWaitlist(roleId: string, now: Date, shiftId?: string): Promise<SignupRecord[]> {
    return this.roleLocks.run(shiftId ?? roleId, async () => {
      for (let attempt = 0; attempt < SIGNUP_ATTEMPTS; attempt++) {
        if (attempt > 0) await backOff(attempt);
        const slot = await this.promotionSlot(roleId, shiftId, now);
        if (!slot) return [];
        // Free spots from the count of spots taken (however many sign-ups there are); the
        // waitlist in sign-up order from the first WAITLIST_READ sign-ups.
        const free = slot.capacity - (await this.confirmedCount(roleId, shiftId));
        if (free <= 0) return [];
        const signups = await this.signupsFor(roleId, shiftId, { order: 'asc', limit: WAITLIST_READ });
        const promoted = signups.filter((s) => s.status === 'waitlisted').slice(0, free);
        if (promoted.length === 0) return [];
        // Revision-checked: a resident who withdraws meanwhile (another instance) stays withdrawn.
        const done: SignupRecord[] = [];
        for (const signup of promoted) {
          const next = { ...signup, status: 'confirmed' as const, updatedAt: now };
          if (await this.store.signups.replace(next, signup._rev)) done.push({ ...next, _rev: signup._rev + 1 });
        }
        if (done.length === 0) continue;
        if (await slot.claim()) {
          this.spotsChanged(roleId);
          return done;
        }
        // Lost the claim: another instance signed someone up meanwhile. Put them back and recount.
        for (const signup of done) await this.store.signups.replace({ ...signup, status: 'waitlisted', updatedAt: now }, signup._rev);
      }
      throw new Error('Role kept changing while promoting from its waitlist');
    });
  }

  /** The capacity and claim of what a waitlist waits for; null when nobody should be promoted (closed, cancelled, started). */
  private async promotionSlot(roleId: string, shiftId: string | undefined, now: Date): Promise<Omit<SignUpSlot, 'role'> | null> {
    const role = await this.store.roles.get(roleId);
    if (!role || role.status !== 'open') return null;
    if (!shiftId) return { capacity: role.capacity, claim: () => this.store.roles.replace(role, role._rev) };
    const shift = await this.store.shifts.get(shiftId);
    if (!shift || shift.roleId !== roleId || shift.status !== 'open' || shift.startsAt <= now) return null;
    return { capacity: shift.capacity, claim: () => this.store.shifts.replace(shift, shift._rev) };
  }

  /**
   * Withdraws a sign-up (`<shiftId or roleId>|<address>`), under its shift's or role's lock and
   * revision-checked, so a promotion running now cannot undo it; a confirmed spot freed goes to
   * the waitlist at once. `by` says who: the resident, a release for not confirming, or staff.
   */
  withdrawSignup(signupId: string, by: NonNullable<SignupRecord['cancelledBy']>, now: Date): Promise<'cancelled' | 'not_found'> {
    const slotId = signupId.slice(0, signupId.indexOf('|'));
    return this.roleLocks.run(slotId, async () => {
      for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        const signup = await this.store.signups.get(signupId);
        if (!signup || signup.status === 'cancelled') return 'not_found';
        if (!(await this.store.signups.replace({ ...signup, status: 'cancelled', cancelledBy: by, updatedAt: now }, signup._rev))) continue;
        this.spotsChanged(signup.roleId);
        // A confirmed spot freed: the first on the waitlist gets it (and is told).
        if (signup.status === 'confirmed') await this.hooks.spotFreed?.(signup.roleId, signup.shiftId, now);
        return 'cancelled';
      }
      throw new Error('Sign-up kept changing while withdrawing it');
    });
  }

  /**
   * A resident answers a shift reminder "1, I'll be there": their confirmed sign-up for the shift
   * notes when (the first time; a second "1" changes nothing), so they are not released and the
   * next reminder asks nothing. Null when there is no confirmed sign-up or the shift is over.
   */
  private async confirmAttendance(shiftId: string, scope: CommandScope): Promise<CommandResults['signup.confirmAttendance']['shift']> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const signup = await this.store.signups.get(`${shiftId}|${scope.address}`);
      const shift = await this.store.shifts.get(shiftId);
      if (!signup || signup.status !== 'confirmed' || !shift || shift.status !== 'open' || shift.endsAt < scope.now) return null;
      const role = await this.store.roles.get(shift.roleId);
      if (!role) return null;
      const confirmed = { title: localizedRole(role, scope.locale).title, startsAt: shift.startsAt.toISOString(), endsAt: shift.endsAt.toISOString() };
      if (signup.attendanceConfirmedAt) return confirmed;
      if (await this.store.signups.replace({ ...signup, attendanceConfirmedAt: scope.now, updatedAt: scope.now }, signup._rev)) return confirmed;
    }
    throw new Error('Sign-up kept changing while confirming it');
  }

  /**
   * A resident withdraws one of their sign-ups (`ref`: the shift's id, or the role's reference).
   * Not from a shift that has started, nor a role without shifts that is over ('over'): "my
   * sign-ups" lists past ones too, and withdrawing one cancelled the attendance and hours kept on
   * it (staff's approved hours included), so the work left the impact numbers.
   */
  private async cancelSignup(ref: string, scope: CommandScope): Promise<'cancelled' | 'not_found' | 'over'> {
    const signupId = `${ref}|${scope.address}`;
    const signup = await this.store.signups.get(signupId);
    if (!signup || signup.status === 'cancelled') return 'not_found';
    // A place on a waitlist holds no work: it can always be given up.
    if (signup.status === 'confirmed' && (await this.tookPlace(signup, scope.now))) return 'over';
    return this.withdrawSignup(signupId, 'resident', scope.now);
  }

  /** Whether what a sign-up is for has begun: its shift started, or its role (without shifts or a schedule) ended. */
  private async tookPlace(signup: SignupRecord, now: Date): Promise<boolean> {
    if (signup.shiftId) {
      const shift = await this.store.shifts.get(signup.shiftId);
      return shift !== null && shift.startsAt <= now;
    }
    const role = await this.store.roles.get(signup.roleId);
    return role !== null && !role.schedule && (role.endsAt ?? role.startsAt) < now;
  }

  private async updateResident(scope: CommandScope, change: (resident: ResidentShape) => ResidentShape): Promise<void> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const current = await this.store.residents.get(scope.address);
      if (!current) {
        if (await this.store.residents.insert(change(newResident(scope)))) return;
        continue;
      }
      if (await this.store.residents.replace(change(current), current._rev)) return;
    }
    throw new Error('Resident kept changing while updating it');
  }
}

type ResidentShape = Parameters<Collections['residents']['insert']>[0];

/** A resident record for an address seen for the first time. */
export function newResident(scope: Pick<CommandScope, 'address' | 'channel' | 'locale' | 'now'>): ResidentShape {
  return {
    _id: scope.address,
    address: scope.address,
    channel: scope.channel,
    locale: scope.locale,
    optedOut: false,
    volunteerCalls: false,
    interests: [],
    createdAt: scope.now,
    lastSeenAt: scope.now,
  };
}

/** Waits a random time up to 2^attempt ms (at most 100 ms), so retries do not collide again. */
function localizedRole(role: VolunteerRoleRecord, locale: string): { title: string; description: string } {
  return role.translations?.[locale] ?? { title: role.title, description: role.description };
}

/** A shift with the spots it has left. */
interface ShiftWithSpots {
  shift: ShiftRecord;
  spotsLeft: number;
}

/** An open role a resident can still sign up for, as the list needs it. */
interface UpcomingRole {
  role: VolunteerRoleRecord;
  shifts: ShiftWithSpots[] | null;
  spotsLeft: number;
}

function roleSummaryOf(role: VolunteerRoleRecord, shifts: ShiftWithSpots[] | null, spotsLeft: number, locale: string): RoleSummary {
  return {
    ref: role._id,
    title: localizedRole(role, locale).title,
    neighbourhood: role.neighbourhood,
    // A role with shifts is dated by its next one.
    startsAt: (shifts?.[0]?.shift.startsAt ?? role.startsAt).toISOString(),
    spotsLeft,
    demo: role.demo,
  };
}

/** What a sign-up is for: the role, the capacity that applies, and the claim on the shift's or role's revision. */
interface SignUpSlot {
  role: VolunteerRoleRecord;
  capacity: number;
  claim(): Promise<boolean>;
}

type SignUpOutcome = CommandResults['role.signUp']['outcome'];

/** A shift as a resident picks it: the role's place unless the shift has its own. */
function shiftView(role: VolunteerRoleRecord, shift: ShiftRecord, spotsLeft: number): ShiftView {
  return { ref: shift._id, startsAt: shift.startsAt.toISOString(), endsAt: shift.endsAt.toISOString(), place: shift.place ?? role.place, spotsLeft };
}
