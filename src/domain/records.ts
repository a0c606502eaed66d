/**
 * The records CivicLine keeps, as plain data. Both storage adapters store exactly these shapes;
 * the mongoose schemas in `src/store/schemas.ts` are their one schema definition.
 *
 * Every record has a string `_id` and a revision `_rev` that the store bumps on every write, so
 * a writer can say "replace this only if nobody changed it since I read it" (optimistic
 * concurrency, botbuilder's eTag).
 */
import type { ChannelName, GeoPoint, MediaRef, Reply } from '../core/message.js';
import type { Category } from './vocabulary.js';

/** Fields every stored record has. */
export interface StoredRecord {
  _id: string;
  /** Revision, set by the store: 1 on insert, +1 on every write. */
  _rev: number;
}

/** A resident, identified per channel address (`sms:+15551234567`, `telegram:123456`). */
export interface ResidentRecord extends StoredRecord {
  /** Same as `_id`: the channel address. */
  address: string;
  channel: ChannelName;
  locale: string;
  /** Said STOP (or blocked the bot): receives nothing but the opt-out confirmation. */
  optedOut: boolean;
  /** Wants to hear about volunteer calls. */
  volunteerCalls: boolean;
  interests: string[];
  neighbourhood?: string;
  /** The name they gave a volunteer coordinator. */
  name?: string;
  /** Volunteer hour milestones (10, 25, 50) already celebrated, so each is told once. */
  volunteerMilestones?: number[];
  createdAt: Date;
  lastSeenAt: Date;
}

/** A consent change (opt-out / opt-in), kept for compliance with its time and channel. */
export interface ConsentEventRecord extends StoredRecord {
  address: string;
  channel: ChannelName;
  kind: 'opt_out' | 'opt_in';
  /** The keyword or command that caused it (STOP, START, /stop...). */
  keyword: string;
  at: Date;
}

/** A conversation: where the resident is in a dialog, plus the replies to recent messages. */
export interface ConversationRecord extends StoredRecord {
  /** Same as `_id`: the resident's channel address. */
  address: string;
  /** The engine's state; opaque to the store (`ConversationState` in `src/engine/types.ts` defines it). */
  state: unknown;
  /**
   * The last few inbound message keys with the replies they got, so that a provider's retry of
   * a message is answered the same way and not processed twice.
   */
  recentInbound: InboundReceipt[];
  /** How many transcript entries this conversation has; the next entry's number. */
  transcriptLength: number;
  updatedAt: Date;
}

/** What a processed inbound message produced, kept so a retry gets the same answer. */
export interface InboundReceipt {
  key: string;
  replies: Reply[];
  /** The turn's effects (consent, profile), re-applied on a retry: each is idempotent. */
  effects: unknown[];
  /** The transcript number of the inbound entry; the replies follow it. */
  firstEntry: number;
  /** The turn failed: its apology was sent, and a retry of the message gets a real turn. */
  failed?: boolean;
}

/** One line of a conversation's transcript: a resident's message or a reply. */
export interface TranscriptEntryRecord extends StoredRecord {
  /** The conversation's address. */
  conversationId: string;
  /** Position in the transcript, from 0. */
  seq: number;
  direction: 'in' | 'out';
  channel: ChannelName;
  /** The provider's message id (inbound) or the inbound key a reply answers. */
  providerMessageId?: string;
  /**
   * Inbound entries only: the message's key in its conversation, hashed. Indexed, so a provider
   * message replayed after its receipt left the conversation's recent ones is still recognised.
   */
  inboundKey?: string;
  text: string;
  location?: GeoPoint;
  media?: MediaRef[];
  /** Outbound entries a person wrote from the staff inbox: their display name (others are the bot's). */
  staff?: string;
  at: Date;
}

/** The three status groups of a report (FixMyStreet): every status belongs to one. */
export type StatusGroup = 'open' | 'fixed' | 'closed';

/**
 * Where a report came from: a resident's channel, or `open311` for one another system posted
 * through CivicLine's Open311 GeoReport v2 server (issue 19). Such a report has no chat resident:
 * its `residentAddress` is `open311:<key id>`, a prefix no channel has, so nothing is ever sent to
 * it (the notifier skips it as `no_resident`) and no resident's erasure touches it.
 */
export type ReportChannel = ChannelName | 'open311';

/** What an Open311 client posted with a report besides its category, place and words. */
export interface Open311Submission {
  /** The API key (its id) that posted it: the key's audit trail and rate limit. */
  keyId: string;
  /** The client's `media_url`: a link staff may open, never fetched by the server. */
  mediaUrl?: string;
  /** The service definition's attributes it answered (`attribute[code]`), in the definition's order. */
  attributes?: { code: string; value: string }[];
}

/** A 311 service request. `_id` is its reference, e.g. `R-7K3QX`. */
export interface ReportRecord extends StoredRecord {
  category: Category | string;
  status: string;
  statusGroup: StatusGroup;
  /**
   * Where it is: the place as the resident wrote it, and a point. The point is the resident's
   * shared location, or the geocoder's for their text (`pointFrom: 'geocoder'`, approximate);
   * a shared point's `label` is the geocoder's street address for it, when GEOCODER_URL is set.
   */
  location: { text?: string; point?: GeoPoint; pointFrom?: 'resident' | 'geocoder' };
  description: string;
  photos: MediaRef[];
  residentAddress: string;
  channel: ReportChannel;
  locale: string;
  createdAt: Date;
  updatedAt: Date;
  /**
   * The note of the latest status change staff made with one (what the reporter was told): the
   * Open311 `status_notes`. Internal notes and residents' replies never go here.
   */
  statusNote?: string;
  /** Posted through the Open311 server: what the client sent besides the report's fields. */
  open311?: Open311Submission;
  /**
   * Posted through the Open311 server: the token the POST answered with, which
   * `GET /open311/v2/tokens/{token}` turns into the request id. Random, indexed (only these carry it).
   */
  open311Token?: string;
  /** When the report first reached the `fixed` group (for "median time to fix"). */
  fixedAt?: Date;
  /**
   * While open and pinned: `<category>|<grid cell>` of its point (src/domain/places.ts), so the
   * open reports of a category near a point are a few equality reads ("already reported?").
   * Removed when the report leaves the open group; set by `withOpenReportKeys`.
   */
  openCell?: string;
  /** While open and its place is text that names one: `<category>|<place key>`, as `openCell`. */
  openPlace?: string;
  /**
   * When a resident answered "is it fixed?" with no and so reopened it: staff see it flagged.
   * Kept when staff change the status again (the report's history), and names nobody.
   */
  reopenedByResident?: Date;
  /** The staff member (username) working on it; kept when it is fixed or closed, as its history. */
  assignee?: string;
  /**
   * The department staff routed it to (an id of the routing table, src/staff/report-routing.ts).
   * Absent while it goes where its category goes: the department is read from the table then, so
   * editing which categories a department handles re-routes every report nobody routed by hand.
   */
  department?: string;
  /**
   * While open: its work queue, `assigned|<username>` or `unassigned`, so "my open reports" and
   * "open and nobody's" are one equality read each. Absent once fixed or closed, as `openCell`:
   * the index holds open reports only. Set by `withOpenReportKeys`.
   */
  openQueue?: string;
  /**
   * Staff merged it into this report (the one kept, issue 18): it is then a `duplicate`, its
   * reporter and followers follow the kept one, and its page links there. Indexed, so the kept
   * report lists what was merged into it, and a report with others merged into it is found.
   */
  mergedInto?: string;
  /**
   * Forwarded to the city's Open311 server (OPEN311_ENDPOINT, src/staff/open311-client.ts): the
   * id or token its POST answered with, when it was sent, and when its status was last read back.
   */
  open311Remote?: Open311Remote;
  /**
   * Present while forwarded (with a request id, or a token the poll turns into one) and not yet
   * closed on the city's side: the poll reads the reports whose status it must read back through
   * one equality read (like `openCell`, present only in the state it indexes). `yes` is asked about
   * at every poll; `unknown` is a request the city's server stopped returning (see
   * `Open311Remote.unknownSince`), asked about once a day and counted on the dashboard. Removed
   * once the city's server calls the request closed, or the poll finds the report closed or
   * merged here.
   */
  open311Open?: 'yes' | 'unknown';
  /**
   * When the poll should ask about it next, the `open311Open` index's order: the poll takes the
   * earliest first and moves each one it asked about to the back, so every open request is asked
   * about within a bounded number of polls however many there are. Absent (just forwarded) sorts first.
   */
  open311PollAt?: Date;
  /**
   * `open311Remote.id` again, indexed: an `updated_after` answer names requests by their id, and
   * the poll finds the report of each with one read.
   */
  open311RemoteId?: string;
}

/** A report's request in the city's Open311 server (see `ReportRecord.open311Remote`). */
export interface Open311Remote {
  /** `service_request_id`; absent while the server answered a token only (a batch service). */
  id?: string;
  token?: string;
  sentAt: Date;
  lastPolledAt?: Date;
  /** The status_notes last read back, so the same note does not become an update twice. */
  lastNotes?: string;
  /**
   * The city's status (`open`, `closed`) last taken in; absent is `open`. Written, revision-checked,
   * before the change is applied, so a second poll at once sees it and applies nothing.
   */
  appliedStatus?: string;
  /**
   * The city's server took the POST (2xx) but its answer was not the JSON expected (XML, a proxy's
   * HTML): filed there, so never posted again, but with no id it cannot be polled. Staff see it.
   */
  unreadableAnswer?: boolean;
  /**
   * Polls in a row whose answer left this request out (asked by id, or its token unknown there):
   * at six (`MISSING_POLLS` in src/staff/open311-client.ts) the request is taken for one the
   * city no longer knows. Reset when it
   * is seen again.
   */
  missedPolls?: number;
  /**
   * Since when the city's server no longer knows the request (left out of that many answers in a
   * row): staff see it (the dashboard counts them), and the poll asks about it once a day only.
   */
  unknownSince?: Date;
}

/**
 * One resident's answers to "is it really fixed?" about one report (issue 18), kept for the city's
 * satisfaction numbers. `_id` is `<reportId>|<hash of the message that answered>`, so a retried
 * message records once. `address` links it to the resident until they delete their data; then
 * it goes with the comment (their words), and the numbers stay.
 */
export interface ReportSurveyRecord extends StoredRecord {
  reportId: string;
  /** The report's category when answered, so the charts per category read no reports. */
  category: string;
  /** `YYYY-MM` (UTC) of `at`: the home page's charts read one month through one index. */
  month: string;
  fixed: 'yes' | 'no';
  /** How satisfied with how the city handled it, 1 (not at all) to 5 (very). */
  rating?: number;
  /** Anything the resident added, in their words. */
  comment?: string;
  /** Absent once the resident deleted their data. */
  address?: string;
  channel: ChannelName;
  locale: string;
  at: Date;
}

/**
 * A resident who follows a report someone else filed ("already reported? follow it"): they hear
 * its updates and count as a co-reporter. `_id` is `<reportId>|<address>`, so they follow once.
 */
export interface ReportFollowerRecord extends StoredRecord {
  reportId: string;
  address: string;
  at: Date;
  /** How they came to follow it: they chose to, or their own report was merged into it. */
  via: 'follow' | 'merge';
  /** The update that holds the words and photos they added when following (erased with them). */
  noteId?: string;
  /**
   * The report they reported or followed that staff merged into this one: they are told of the
   * merge once, and a merge run again recognises the followers it moved already.
   */
  mergedFrom?: string;
}

/** An update on a report: a note, a status change, or a resident's follow-up. */
export interface ReportUpdateRecord extends StoredRecord {
  reportId: string;
  status?: string;
  note?: string;
  by: 'resident' | 'staff' | 'system';
  /**
   * A resident's words added by a follower, not the reporter: the reporter's own-words view
   * (`status R-…` from the reporter's address) leaves them out, and erasing the reporter keeps them.
   */
  follower?: boolean;
  /** A resident answered "is it fixed?" with no, and this update reopened the report (issue 18). */
  notFixed?: boolean;
  /** Photos a resident sent with a follow-up. */
  photos?: MediaRef[];
  /** The staff member (username) who wrote a staff update. */
  staff?: string;
  /** Whether the resident was told (false: opted out, channel off, or no one to tell). */
  notified?: boolean;
  /**
   * A note staff wrote for staff: never sent to the resident, never shown when anyone asks for
   * the report's status (`status R-…`). Internal notes carry no status change.
   */
  internal?: boolean;
  at: Date;
}

/** A resident's idea for the city. `_id` is its reference, e.g. `I-4F2K9`. */
export interface IdeaRecord extends StoredRecord {
  title: string;
  details: string;
  neighbourhood?: string;
  authorAddress: string;
  channel: ChannelName;
  status: 'new' | 'under_review' | 'accepted' | 'not_planned';
  /** Always `idea`: lets the store list ideas newest first through one index. */
  kind: 'idea';
  createdAt: Date;
  /** The city's answer: the note staff wrote with the last status, when and by whom. */
  response?: { note?: string; by: string; at: Date };
  /**
   * The word stems of its title and details that "similar ideas?" finds it by (a multikey index:
   * one entry per stem). Only ideas a resident may be offered to support carry them.
   */
  similarTerms?: string[];
  /**
   * How many residents support it (issue 21): recounted from the `ideaSupports` index with each
   * support (a revision-checked write), so "popular ideas" is one read and a sort. Ideas stored
   * before it count as 0 until their next support.
   */
  supporters?: number;
  /** Staff's own support threshold for this idea; absent: IDEA_SUPPORT_THRESHOLD (0: none). */
  supportThreshold?: number;
  /** When it reached its support threshold and went to staff review (set once). */
  thresholdReachedAt?: Date;
  /**
   * Staff's (or the automatic hide's) last moderation decision. A `hidden` idea is never shown
   * to residents nor counted (src/domain/idea-visibility.ts); `restored` is staff's "it may stay",
   * after which reports no longer hide it by themselves.
   */
  moderation?: IdeaModeration;
  /** How many residents reported it (one per resident), kept with the idea so a hide is revision-checked. */
  reports?: number;
  /**
   * The moderation queue's index: `review` while it waits for a staff decision (reported, or
   * hidden by reports, since staff last decided), `hidden` once staff hid it. Only such ideas carry it.
   */
  moderationQueue?: 'review' | 'hidden';
  /** The idea staff merged this one into: it is no longer listed, its supporters moved there. */
  mergedInto?: string;
}

/** A moderation decision on an idea: hidden or restored, why, by whom (`system` for the automatic hide). */
export interface IdeaModeration {
  state: 'hidden' | 'restored';
  /** `reports` (hidden by residents' reports), or `staff`. */
  reason: 'reports' | 'staff';
  by: string;
  at: Date;
  note?: string;
}

/** One resident's support of one idea; `_id` is `<ideaId>|<address>` so it exists once. */
export interface IdeaSupportRecord extends StoredRecord {
  ideaId: string;
  address: string;
  at: Date;
  /** The idea it was moved from when staff merged that idea into this one. */
  mergedFrom?: string;
}

/** Why a resident reported an idea. */
export const IDEA_REPORT_REASONS = ['spam', 'offensive', 'personal_info', 'other'] as const;
export type IdeaReportReason = (typeof IDEA_REPORT_REASONS)[number];

/** One resident's report of an idea as abusive; `_id` is `<ideaId>|<address>` so it exists once. */
export interface IdeaReportRecord extends StoredRecord {
  ideaId: string;
  address: string;
  reason: IdeaReportReason;
  /** Their own words, for `other` (shown to staff, escaped). */
  text?: string;
  at: Date;
}

/** A volunteer role ("impact volunteering": a role with a clear outcome). `_id` like `V-8M2PQ`. */
export interface VolunteerRoleRecord extends StoredRecord {
  title: string;
  description: string;
  /** Text in other languages, by locale, for cities that write roles in several. */
  translations?: Record<string, { title: string; description: string }>;
  interests: string[];
  neighbourhood: string;
  place: string;
  startsAt: Date;
  endsAt?: Date;
  /** A recurring schedule in words ("Saturdays 9–12"), when there is one. */
  schedule?: string;
  capacity: number;
  contact: string;
  status: 'open' | 'closed';
  /** Seeded demo data, shown as such to residents and staff. */
  demo: boolean;
  /**
   * Hours before each shift when its volunteers are reminded ("Reply 1 to confirm, 2 if you
   * can't make it"); absent means the city default (`VOLUNTEER_REMINDER_HOURS`, 48 and 2).
   */
  reminderHours?: number[];
  /**
   * A volunteer who has not confirmed this many hours before the shift is released and the spot
   * goes to the waitlist; absent means never released.
   */
  releaseUnconfirmedHours?: number;
  /** What the role is meant to achieve, asked of volunteers after each shift (impact volunteering). */
  outcome?: RoleOutcome;
  /** The reports this role was made from ("Love Your Block"): closed together when the work is done. */
  fromReports?: string[];
  createdAt: Date;
  updatedAt?: Date;
}

/** A role's measured outcome: "How many bags of trash did your group collect?", against a target. */
export interface RoleOutcome {
  /** What is counted, plural ("bags of trash"). */
  unit: string;
  /** The question asked after a shift. */
  question: string;
  /** The role's goal in that unit, for the impact page; absent when there is none. */
  target?: number;
  /** Unit and question in other languages, by locale. */
  translations?: Record<string, { unit: string; question: string }>;
}

/**
 * One shift of a role: a date, start and end, a place and its own capacity. Residents sign up
 * for a shift; a role with no shifts is signed up for as a whole (its own date and capacity),
 * which is also how a recurring role ("Saturdays 9–12") is joined.
 */
export interface ShiftRecord extends StoredRecord {
  roleId: string;
  startsAt: Date;
  endsAt: Date;
  /** Where, when not the role's own place. */
  place?: string;
  capacity: number;
  /** A cancelled shift keeps its sign-ups for the record; its volunteers are told. */
  status: 'open' | 'cancelled';
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A resident's sign-up for a role, or for one shift of it. `_id` is `<roleId>|<address>` for a
 * role signed up for as a whole and `<shiftId>|<address>` for a shift, so there is one per pair.
 * What happened at the shift (attendance, hours, the outcome) is kept on it: a sign-up is the
 * unit a coordinator checks in and the impact page counts.
 */
export interface SignupRecord extends StoredRecord {
  roleId: string;
  /** The shift, when the role has shifts. */
  shiftId?: string;
  address: string;
  name: string;
  channel: ChannelName;
  status: 'confirmed' | 'waitlisted' | 'cancelled';
  /** Why a sign-up was cancelled: by the resident, released unconfirmed, or by staff. */
  cancelledBy?: 'resident' | 'released' | 'staff';
  /** When the resident answered a reminder "1: I'll be there". */
  attendanceConfirmedAt?: Date;
  /**
   * When a reminder of the shift last reached the resident (sent, or in the outbox), for a role
   * with a release deadline: a volunteer is released for not confirming only when a reminder
   * reached them before it.
   */
  remindedAt?: Date;
  /** Whether they came: what the resident said after the shift, or what staff marked at check-in. */
  attendance?: 'attended' | 'no_show';
  attendanceBy?: 'resident' | 'staff';
  /** Hours the resident said they gave. */
  hoursReported?: number;
  /** Hours a coordinator approved or corrected; these count when present. */
  hoursApproved?: number;
  /** The resident's answer to the role's outcome question, in the role's unit. */
  outcomeReported?: number;
  /** The spot held while confirmed (signup-spots.ts); set by the store on every write. */
  confirmedIn?: string;
  createdAt: Date;
  updatedAt: Date;
}

/** Where an outbound message is: FixMyStreet keeps each delivery's state, attempts and error. */
export type OutboundState = 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'skipped' | 'outbox';

/**
 * A message the service sends outside a webhook's own reply (a late reply, a status update, a
 * broadcast), with its delivery state as the provider reports it.
 */
export interface OutboundMessageRecord extends StoredRecord {
  channel: ChannelName;
  address: string;
  text: string;
  mediaUrl?: string;
  /** Why it was sent: `reply`, `status_update`, `broadcast`... */
  purpose: string;
  state: OutboundState;
  attempts: number;
  /** The provider's error code and message of the last failed attempt (never the text sent). */
  lastError?: string;
  /** The provider's id once accepted (Twilio's MessageSid), which status callbacks name. */
  providerMessageId?: string;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Why a conversation went to the staff inbox: the resident asked for a person, got stuck in a
 * step, asked something the bot cannot answer, or answered a broadcast in words.
 */
export type HandoffReason = 'asked' | 'stuck' | 'question' | 'broadcast_reply';

/**
 * A conversation handed to a person (the staff inbox): open while it waits for or has a person,
 * closed when staff hand it back, the resident goes back to the bot, or nobody writes for
 * HANDOFF_IDLE_MINUTES. Residents have at most one open at a time.
 */
export interface HandoffRecord extends StoredRecord {
  address: string;
  channel: ChannelName;
  reason: HandoffReason;
  status: 'open' | 'closed';
  /** When it was asked for. */
  at: Date;
  /** The id staff and URLs use: a hash of `_id`, which names the resident. Absent on requests stored before the inbox. */
  ref?: string;
  /** The resident's language when they asked. */
  locale?: string;
  /** What a `broadcast_reply` answered: the broadcast's id. */
  about?: string;
  /** The staff member (username) it is assigned to. */
  assignedTo?: string;
  /** When the resident or a person last wrote in it: the idle hand-back counts from here. */
  lastActivityAt?: Date;
  /** The resident's messages since a person last replied. */
  unread?: number;
  /** A person's first reply. */
  answeredAt?: Date;
  closedAt?: Date;
  /** Who closed it: a staff username, `resident` (went back to the bot), `opted_out` or `idle`. */
  closedBy?: string;
}

/**
 * A canned reply in one language: sent from the inbox, or, when it names a report category,
 * offered as the resident's note when staff change the status of a report of that category.
 */
export interface CannedReplyRecord extends StoredRecord {
  locale: string;
  /** The report category it answers (`pothole`...); absent for the inbox's general replies. */
  category?: string;
  /** What staff pick it by ("Opening hours"). */
  title: string;
  text: string;
  createdBy: string;
  createdAt: Date;
}

/** Where a scheduled job is: waiting for its time, being run by a worker, or settled. */
export type JobState = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';

/**
 * One piece of persisted outbound work with a due time (a staff reply, the end of a hand-off):
 * claimed with a lease by one instance's scheduler, run, and settled, exactly once across
 * restarts (see src/staff/job-scheduler.ts).
 */
export interface JobRecord extends StoredRecord {
  /** Which handler runs it (`staff_reply`, `handoff_idle`...). */
  kind: string;
  dueAt: Date;
  state: JobState;
  /**
   * The resident it writes to, while pending or running (removed once settled): one resident's
   * jobs run one at a time, in due order, so two staff replies never arrive swapped.
   */
  queueOf?: string;
  /** The resident it is about, kept after it ran: deleting their data deletes their jobs. */
  address?: string;
  /** What its handler needs; cleared when it settles (a staff reply's text is in the transcript). */
  payload: Record<string, unknown>;
  attempts: number;
  /** The last failure, without phone numbers. */
  lastError?: string;
  /** While running: until when its worker holds it; past it another instance may take it over. */
  leaseUntil?: Date;
  /** While running: the worker (one per process start) whose claim it is. */
  claimedBy?: string;
  createdAt: Date;
  updatedAt: Date;
}

/** One activity of a self-hosted web chat conversation (Direct Line), as the browser sees it. */
export interface WebchatActivityRecord extends StoredRecord {
  conversationId: string;
  /** Position in the conversation: the Direct Line watermark. */
  seq: number;
  /** The Bot Framework Activity JSON, as sent to the browser. */
  activity: unknown;
  at: Date;
}

/** What a staff member may do: admins everything, coordinators the daily work. */
export type StaffRole = 'admin' | 'coordinator';

/** A staff account. `_id` is the username, lower-cased. */
export interface StaffUserRecord extends StoredRecord {
  username: string;
  displayName: string;
  role: StaffRole;
  /** `scrypt$N$r$p$salt$hash` (node:crypto scrypt, a memory-hard key-derivation function). */
  passwordHash: string;
  active: boolean;
  /** Failed logins in a row, and until when the account is slowed down after them. */
  failedLogins: number;
  lockedUntil?: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** A dashboard session. `_id` is a hash of the cookie's token, so a stolen database holds no usable session. */
export interface StaffSessionRecord extends StoredRecord {
  username: string;
  /** The token every form and API call of this session must send back (CSRF). */
  csrfToken: string;
  createdAt: Date;
  expiresAt: Date;
}

/** One staff action: who did what to which record, and when. */
export interface AuditEntryRecord extends StoredRecord {
  /** A staff username, or `admin-token` for scripts. */
  actor: string;
  action: string;
  /** The record acted on (a reference, a username...). */
  target?: string;
  /** What changed, without residents' numbers or text. */
  details?: Record<string, unknown>;
  /** Always `audit`: lists the log newest first through one index. */
  kind: 'audit';
  at: Date;
}

/**
 * Who a broadcast goes to: residents who opted in to volunteer calls, narrowed by these, and (Love
 * Your Block) the residents who reported or follow some reports. Channels and languages narrow
 * everyone; interests, neighbourhoods and activity narrow the opted-in residents only (a reporter
 * is in the audience because of the report, wherever they live).
 */
export interface AudienceFilter {
  channels?: ChannelName[];
  locales?: string[];
  /** Any of these interests. */
  interests?: string[];
  neighbourhoods?: string[];
  /** Wrote to us within this many days. */
  activeWithinDays?: number;
  /**
   * The confirmed volunteers of this shift, instead of the residents who opted in to volunteer
   * calls (a coordinator messaging one shift, issue 20); no other field narrows it.
   */
  shiftId?: string;
  /**
   * Report references: their reporters and followers are in the audience (each once), whether or
   * not they opted in to volunteer calls, since the call is about what they asked the city to fix.
   */
  reports?: string[];
  /** `false` leaves out the opted-in residents (only the reports' residents); absent means in. */
  optedIn?: boolean;
  /**
   * The supporters and the author of this idea (issue 21: "they reached the threshold", "the
   * city answered"), instead of the residents who opted in to volunteer calls; no other field
   * narrows it.
   */
  ideaId?: string;
  /**
   * Everyone who voted in this ballot (issue 21: its result told to its voters), instead of the
   * residents who opted in to volunteer calls; no other field narrows it.
   */
  ballotId?: string;
}

/** What residents behind an idea are told (issue 21), composed in each resident's language. */
export interface IdeaNotice {
  /** `reached`: it reached its support threshold and went to staff review; `answered`: staff answered. */
  event: 'reached' | 'answered';
  ideaId: string;
  title: string;
  status: IdeaRecord['status'];
  /** The supporters it reached (for `reached`). */
  supporters?: number;
  /** Staff's note with the answer. */
  note?: string;
}

/** Where a broadcast is. */
export type BroadcastStatus = 'scheduled' | 'sending' | 'paused' | 'cancelled' | 'done';

/** A volunteer call sent to many residents: persisted work, one delivery per recipient. `_id` like `B-7K3QX`. */
export interface BroadcastRecord extends StoredRecord {
  /** The role a "yes" signs up for, when the call is for one. */
  roleId?: string;
  /** The message in each language; residents in another language get the default one. */
  messages: Record<string, string>;
  audience: AudienceFilter;
  status: BroadcastStatus;
  /** Not sent before this time (now, for "send now"). */
  sendAt: Date;
  /** How long a "yes" to this call counts, in hours. */
  answerWindowHours: number;
  /** Deliveries planned (the recipient count when it was sent). */
  planned: number;
  createdBy: string;
  /** Always `broadcast`: lists broadcasts newest first through one index. */
  kind: 'broadcast';
  createdAt: Date;
  updatedAt: Date;
  finishedAt?: Date;
  /**
   * A notice to an idea's supporters (issue 21) instead of staff's text (`messages` is then
   * empty): the worker plans it at once and composes it in each resident's language.
   */
  ideaNotice?: IdeaNotice;
  /** The ballot this broadcast carries (issue 21): a reply with numbers votes in it. */
  ballotId?: string;
}

/** Where one recipient's delivery of a broadcast is. */
export type DeliveryState = 'queued' | 'sending' | 'sent' | 'delivered' | 'failed' | 'skipped';

/** One recipient of one broadcast. `_id` is `<broadcastId>|<address>`, so nobody is planned twice. */
export interface DeliveryRecord extends StoredRecord {
  broadcastId: string;
  address: string;
  channel: ChannelName;
  locale: string;
  /** Position in the broadcast: deliveries go out in this order. */
  seq: number;
  state: DeliveryState;
  /** `<broadcastId>|<state>|<channel>`: one index gives the worker its queue and the dashboard its counts. */
  bucket: string;
  /** Why it was skipped or failed (`opted_out`, `interrupted`...). */
  reason?: string;
  attempts: number;
  lastError?: string;
  /**
   * While `sending`: until when the worker that claimed it is working on it. Past it, the worker
   * is taken to have died, and another may take the delivery over (see broadcast-worker.ts).
   */
  leaseUntil?: Date;
  /** While `sending`: the worker (one per process start) whose claim it is. */
  claimedBy?: string;
  /**
   * `reports`: in the audience as a reporter or follower of one of the broadcast's reports, so sent
   * without the volunteer-calls opt-in (opt-outs still apply). Absent: an opted-in resident.
   */
  via?: 'reports';
  /** The resident answered the call: their sign-up's outcome. */
  answer?: 'confirmed' | 'waitlisted' | 'declined' | 'full' | 'closed';
  /** The broadcast id once answered (indexed: counts the answers of a broadcast). */
  answeredIn?: string;
  answeredAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * An Open311 API key (issue 19) an admin made for another system: `cl_<_id>_<secret>` is given
 * once at creation, and only a SHA-256 of the secret is kept (the secret is 256 random bits, so a
 * fast hash loses nothing to guessing, and checking it costs a POST no scrypt).
 */
export interface Open311KeyRecord extends StoredRecord {
  /** Who it is for ("City CRM", "FixMyStreet"): shown to staff, in the audit log. */
  name: string;
  /** Hex SHA-256 of the key's secret part. */
  secretHash: string;
  /** Service requests it may post a minute (burst: the same number). */
  perMinute: number;
  createdBy: string;
  createdAt: Date;
  /** Last accepted use, written at most once a minute. */
  lastUsedAt?: Date;
  revokedAt?: Date;
  revokedBy?: string;
  /** Always `open311Key`: lists the keys newest first through one index. */
  kind: 'open311Key';
}

/** Where a ballot is: staff edit a draft, residents vote while it is open, results come once it is closed. */
export type BallotStatus = 'draft' | 'open' | 'closed';

/** How a vote's picks are limited: a total budget the picked projects' costs must fit, or a number of picks. */
export type BallotRule = 'budget' | 'pick_up_to';

/** One project residents may pick. */
export interface BallotProject {
  /** Short and stable (`p1`, `p2`...): votes name projects by it, so titles can be corrected. */
  id: string;
  /** The title per locale; the default language's is required. */
  title: Record<string, string>;
  /** What it costs, in whole currency units. */
  cost: number;
}

/** One project's line in a ballot's result. */
export interface BallotProjectResult {
  id: string;
  votes: number;
  /** A budget ballot: funded in order of votes while the budget lasts. */
  funded: boolean;
}

/** A ballot's result, frozen when staff publish it. */
export interface BallotResults {
  voters: number;
  projects: BallotProjectResult[];
  at: Date;
  by: string;
}

/**
 * A participatory-budgeting ballot (issue 21): a few projects residents pick from by text, under
 * a rule, within a window. `_id` like `P-7K3QX`.
 */
export interface BallotRecord extends StoredRecord {
  /** Per locale; the default language's is required. */
  title: Record<string, string>;
  question: Record<string, string>;
  projects: BallotProject[];
  rule: BallotRule;
  /** For `budget`: the total the picked projects' costs must fit in. */
  budget?: number;
  /** For `pick_up_to`: the most projects a vote may pick. */
  maxPicks?: number;
  opensAt: Date;
  closesAt: Date;
  status: BallotStatus;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  closedAt?: Date;
  /** Set when staff publish the result; the broadcast that tells the voters. */
  results?: BallotResults;
  resultsBroadcastId?: string;
  /** Always `ballot`: lists ballots newest first through one index. */
  kind: 'ballot';
}

/**
 * One resident's vote in one ballot. `_id` is `<ballotId>|<address>`, so a resident has one vote;
 * a change replaces it (revision-checked) until the ballot closes.
 */
export interface BallotVoteRecord extends StoredRecord {
  ballotId: string;
  address: string;
  /** The projects picked, by id, in ballot order. */
  picks: string[];
  channel: ChannelName;
  locale: string;
  /** When the vote was last cast or changed. */
  at: Date;
  firstAt: Date;
  /** How many times it was changed. */
  changes: number;
}

/** Small facts the service keeps about itself (e.g. "demo data seeded"). */
export interface MetaRecord extends StoredRecord {
  value: unknown;
}
