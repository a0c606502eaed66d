/**
 * Commands: what a dialog asks the world to do or tell it, as data. The engine never runs them;
 * the turn pipeline does (`src/pipeline/command-runner.ts`) and feeds the result back. Commands are
 * executed idempotently per inbound message, so a provider's retry does not file a report twice.
 */
import type { GeoPoint, MediaRef } from '../core/message.js';
import type { HandoffReason, IdeaReportReason } from '../domain/records.js';
import type { RoleTally } from '../domain/volunteer-hours.js';

/** A report as a resident sees it. Dates are ISO strings so state stays plain JSON. */
export interface ReportView {
  ref: string;
  category: string;
  status: string;
  statusGroup: 'open' | 'fixed' | 'closed';
  locationText: string;
  /** The reporter's words: empty for anyone but the reporter. */
  description: string;
  createdAt: string;
  /** The status changes and the city's notes; the reporter's own replies only for the reporter. */
  updates: { status?: string; note?: string; at: string }[];
}

/** A line in "my reports". */
export interface ReportSummary {
  ref: string;
  category: string;
  status: string;
  createdAt: string;
  /** The resident follows it (someone else reported it). */
  following?: boolean;
}

/** An open report near where a resident is about to file one ("already reported?"). */
export interface NearbyReportView {
  ref: string;
  category: string;
  status: string;
  /** The place as its reporter wrote it, or the street the geocoder gave for its point; may be empty. */
  place: string;
  createdAt: string;
  /** Whole days since it was reported, when it was looked up. */
  ageDays: number;
  /** Metres from the resident's point, when both have one. */
  distanceM?: number;
  /** The resident reported it, or already follows it: offered as "that's the one", not to follow. */
  yours?: 'reported' | 'following';
  /** Its reporter and followers. */
  residents: number;
}

/** An existing idea offered before a new one is filed ("similar ideas?"): only what any resident may see. */
export interface SimilarIdeaView {
  ref: string;
  title: string;
  supporters: number;
}

/** A line in a list of ideas. */
export interface IdeaSummary {
  ref: string;
  title: string;
  supports: number;
  status: string;
  /** Its details, cut to a phone screen (the list keeps a page of these in the conversation). */
  details?: string;
  neighbourhood?: string;
}

/** A line in a list of volunteer roles. */
export interface RoleSummary {
  ref: string;
  title: string;
  neighbourhood: string;
  startsAt: string;
  spotsLeft: number;
  demo: boolean;
}

/** A volunteer role with everything a resident needs to decide. */
export interface RoleView extends RoleSummary {
  description: string;
  place: string;
  schedule?: string;
  contact: string;
  capacity: number;
  interests: string[];
  status: 'open' | 'closed';
  /**
   * The shifts a resident can sign up for (open, not started, soonest first), when the role has
   * shifts at all; then a sign-up is for one of them, never for the role as a whole.
   */
  shifts?: ShiftView[];
}

/** One shift of a role, as a resident picks it. */
export interface ShiftView {
  /** The shift's id (`S-…`). */
  ref: string;
  startsAt: string;
  endsAt: string;
  /** Where, the role's place unless the shift has its own. */
  place: string;
  spotsLeft: number;
}

/** A line in "my sign-ups". */
export interface SignupSummary {
  /** The sign-up's own id (`<shiftId or roleId>|<address>`): a resident may hold several for one role (one per shift). */
  id: string;
  /** What the sign-up is for: the shift's id, or the role's reference for a role without shifts (`signup.cancel` takes it). */
  ref: string;
  /** The role's reference. */
  roleRef: string;
  title: string;
  status: 'confirmed' | 'waitlisted';
  startsAt: string;
  /** The shift's end, for a shift. */
  endsAt?: string;
}

/** A shift a resident is asked about afterwards ("did you make it?"), in their language. */
export interface CheckinView {
  /** The shift's id (`S-…`). */
  ref: string;
  /** The name the resident gave when signing up, to thank them by. */
  name: string;
  title: string;
  startsAt: string;
  endsAt: string;
  /** The role's outcome question and its unit ("bags of trash"), when it measures one. */
  outcome?: { question: string; unit: string };
}

/** A ballot as a resident sees it (issue 21): texts in their language, projects numbered as listed. */
export interface BallotView {
  ref: string;
  title: string;
  question: string;
  /** In ballot order: the resident picks by position (1-based). */
  projects: { id: string; title: string; cost: number }[];
  rule: 'budget' | 'pick_up_to';
  budget?: number;
  maxPicks?: number;
  closesAt: string;
  /** `open`: takes votes; `closed`: over, no result yet; `results`: over, result published. */
  state: 'open' | 'closed' | 'results';
  /** Once published: votes per project in ballot order, and which are funded. */
  results?: { id: string; votes: number; funded: boolean }[];
  voters?: number;
}

/** Everything the engine can ask for, with the result each one returns. */
export interface CommandResults {
  'report.create': { ref: string };
  'report.get': { report: ReportView | null };
  'report.listMine': { reports: ReportSummary[] };
  'report.addResidentUpdate': { outcome: 'added' | 'not_found' };
  'report.findNearby': { reports: NearbyReportView[] };
  /** `ref`: the report followed (the one offered, or the one it was merged into meanwhile). */
  'report.follow': { outcome: 'following' | 'already' | 'own' | 'not_found' | 'not_open'; residents: number; ref: string };
  /** `surveyId` names the answers to add the rating and comment to; `reopened` when this "no" reopened the report. */
  'report.survey': { outcome: 'recorded' | 'reopened' | 'not_found'; surveyId: string | null };
  'idea.create': { ref: string };
  /** The closest ideas already made (at most two, best first), to support instead of filing. */
  'idea.findSimilar': { ideas: SimilarIdeaView[] };
  /** One page of the ideas asked for, and how many there are in all. */
  'idea.browse': { ideas: IdeaSummary[]; total: number };
  /** `unavailable`: hidden by moderation or merged into another idea. */
  'idea.support': { outcome: 'supported' | 'already' | 'own' | 'not_found' | 'unavailable' };
  /**
   * A resident's report of an idea as abusive (one per resident); `not_found` for one residents
   * cannot see; `ready` when asked without a reason and they may report it.
   */
  'idea.report': { outcome: 'reported' | 'already' | 'own' | 'not_found' | 'ready' };
  /** Every open, upcoming role that matches, those with a spot left first (the dialog pages them). */
  'role.list': { roles: RoleSummary[]; interests: string[]; neighbourhoods: string[] };
  'role.get': { role: RoleView | null };
  /** `pick_shift`: the role has shifts and none was named (a sign-up is for a shift). */
  'role.signUp': { outcome: 'confirmed' | 'waitlisted' | 'already' | 'full' | 'closed' | 'not_found' | 'pick_shift' };
  /** Every active sign-up of the resident, coming ones first (the dialog pages them). */
  'signup.listMine': { signups: SignupSummary[] };
  /** `over`: its shift has started (or its role is over), so it is kept as it is. */
  'signup.cancel': { outcome: 'cancelled' | 'not_found' | 'over' };
  /** The resident's confirmed sign-up for the shift, or null (none, withdrawn, or marked a no-show by staff). */
  'checkin.get': { checkin: CheckinView | null };
  /** `tally`: the role's outcome so far, for the thank-you (after a "yes"). */
  'checkin.record': { outcome: 'recorded' | 'not_found'; tally: RoleTally | null };
  /** `shift`: what the resident confirmed (null: no confirmed sign-up for it, or the shift is past or cancelled). */
  'signup.confirmAttendance': { shift: { title: string; startsAt: string; endsAt: string } | null };
  'resident.deleteData': { deleted: true };
  /** The ballots open now, soonest closing first; `recent`: the latest that is over, when none is open. */
  'ballot.list': { open: BallotView[]; recent: BallotView | null };
  /** `mine`: the resident's current picks (project ids), when they voted. */
  'ballot.get': { ballot: BallotView | null; mine: string[] | null };
  /** `invalid`: the picks do not fit the rule (the dialog checked; the ballot changed meanwhile). */
  'ballot.vote': { outcome: 'recorded' | 'changed' | 'unchanged' | 'closed' | 'not_found' | 'invalid' };
}

/** The inputs of each command. */
export interface CommandInputs {
  'report.create': {
    category: string;
    locationText?: string;
    point?: GeoPoint;
    description: string;
    photos: MediaRef[];
  };
  'report.get': { ref: string };
  'report.listMine': Record<string, never>;
  /** A resident's reply to an update on their report, added to it. */
  'report.addResidentUpdate': { ref: string; text: string; media?: MediaRef[] };
  /** Open reports of the category at the place or near the point (at most two, best first). */
  'report.findNearby': { category: string; placeText?: string; point?: GeoPoint };
  /** Follow someone else's report instead of filing one, adding what the resident saw. */
  'report.follow': { ref: string; note?: string; photos: MediaRef[] };
  /**
   * "Is it really fixed?" (issue 18): the first answer (`fixed`, no `surveyId`) is recorded, and a
   * "no" reopens the report; later ones (`surveyId` from the first) add the rating and comment.
   */
  'report.survey': { ref: string; surveyId?: string; fixed?: 'yes' | 'no'; rating?: number; comment?: string };
  'idea.create': { title: string; details: string; neighbourhood?: string };
  /** `text`: the new idea as far as the resident has written it, in the conversation's language. */
  'idea.findSimilar': { text: string };
  /** Newest or most supported first, optionally one neighbourhood's; `offset` and `limit` make a page. */
  'idea.browse': { order: 'newest' | 'popular'; neighbourhood?: string; offset: number; limit: number };
  'idea.support': { ref: string };
  /** Without `reason`, only whether they may report it (before asking why). `text`: their own words, for `other`. */
  'idea.report': { ref: string; reason?: IdeaReportReason; text?: string };
  'role.list': { interest?: string; neighbourhood?: string };
  'role.get': { ref: string };
  /**
   * `shiftId`: the shift, for a role with shifts. `via`: the broadcast whose call the resident
   * answered, so its answers are counted.
   */
  'role.signUp': { ref: string; shiftId?: string; name: string; waitlist: boolean; via?: string };
  'signup.listMine': Record<string, never>;
  /** `ref`: a `SignupSummary.ref` (the shift's id, or the role's reference). */
  'signup.cancel': { ref: string };
  'checkin.get': { ref: string };
  /**
   * After a shift (`ref`, the shift's id): whether the resident made it, and if so their hours and
   * their answer to the role's outcome question. Kept on their sign-up; never over staff's check-in.
   */
  'checkin.record': { ref: string; attended: 'yes' | 'no'; hours?: number; outcome?: number };
  /** "1" to a shift reminder: `ref` is the shift's id. */
  'signup.confirmAttendance': { ref: string };
  'resident.deleteData': Record<string, never>;
  'ballot.list': Record<string, never>;
  'ballot.get': { ref: string };
  /** `picks`: the projects' positions as listed (1-based). */
  'ballot.vote': { ref: string; picks: number[] };
}

export type CommandType = keyof CommandInputs;

/** A command as data: its type and input. */
export type Command = { [K in CommandType]: { type: K; input: CommandInputs[K] } }[CommandType];

/** The result of one command, tagged with its type. */
export type CommandResult = { [K in CommandType]: { type: K; value: CommandResults[K] } }[CommandType];

/**
 * Effects: things to do after the turn whose result the dialog does not wait for. They change
 * the resident's profile or consent, or tell staff; each is idempotent.
 */
export type Effect =
  | { type: 'resident.setLocale'; locale: string }
  | { type: 'resident.setProfile'; name?: string; interests?: string[]; neighbourhood?: string }
  | { type: 'resident.setVolunteerCalls'; on: boolean }
  | { type: 'consent.optOut'; keyword: string }
  | { type: 'consent.optIn'; keyword: string }
  /** The conversation goes to a person (the staff inbox), with why and what it answers. */
  | { type: 'staff.handoff'; reason: HandoffReason; about?: string }
  /** The resident wrote while a person holds the conversation. */
  | { type: 'staff.handoff.wrote' }
  /** The resident went back to the bot (the menu word), or opted out, while a person held the conversation. */
  | { type: 'staff.handoff.left'; why?: 'opted_out' }
  | { type: 'volunteerCall.declined'; broadcastId: string };
