/**
 * The mongoose schemas of every record: the one schema definition. MongoDB uses them as models;
 * the embedded store validates and casts each record with the same models (never connected)
 * before writing, so both adapters accept exactly the same records.
 */
import { Schema, type Connection, type Model, type SchemaDefinition, type SchemaDefinitionProperty, type SchemaOptions } from 'mongoose';
import type { ChannelName, GeoPoint, MediaRef } from '../core/message.js';
import type {
  AudienceFilter,
  BallotProject,
  BallotProjectResult,
  BallotRecord,
  BallotResults,
  BallotStatus,
  BallotVoteRecord,
  AuditEntryRecord,
  BroadcastRecord,
  BroadcastStatus,
  DeliveryRecord,
  DeliveryState,
  StaffRole,
  StaffSessionRecord,
  StaffUserRecord,
  ConsentEventRecord,
  ConversationRecord,
  IdeaNotice,
  IdeaRecord,
  IdeaModeration,
  IdeaSupportRecord,
  IdeaReportRecord,
  ReportFollowerRecord,
  ReportSurveyRecord,
  InboundReceipt,
  HandoffRecord,
  CannedReplyRecord,
  JobRecord,
  JobState,
  MetaRecord,
  Open311KeyRecord,
  Open311Submission,
  Open311Remote,
  ReportChannel,
  WebchatActivityRecord,
  OutboundMessageRecord,
  ReportRecord,
  ReportUpdateRecord,
  ResidentRecord,
  RoleOutcome,
  ShiftRecord,
  SignupRecord,
  StatusGroup,
  TranscriptEntryRecord,
  VolunteerRoleRecord,
} from '../domain/records.js';
import { COLLECTION_INDEXES, COLLECTION_NAMES, eachCollection, type AnyIndexSpec, type CollectionName, type RecordOf } from './collections.js';

/**
 * The longest `_id` or indexed string value, in UTF-16 units. The embedded store puts
 * `[value, sort, _id]` in one LMDB key, which may not exceed 1978 bytes; 200 units are at most
 * 600 UTF-8 bytes, so two of them and a number always fit. Enforced in the schema so MongoDB
 * refuses the same records.
 */
export const MAX_KEY_LENGTH = 200;

/**
 * Lists every member of a string union for a mongoose `enum`; the rest parameter fails to compile
 * (naming what is missing) when the union gains a member, so the schema cannot fall behind.
 */
function membersOf<U extends string>() {
  return <const A extends readonly U[]>(values: A, ..._complete: [Exclude<U, A[number]>] extends [never] ? [] : [missing: Exclude<U, A[number]>]): U[] => [
    ...values,
  ];
}

const CHANNELS_LIST = ['sms', 'telegram', 'webchat', 'web', 'console'] as const;
const CHANNELS = membersOf<ChannelName>()(CHANNELS_LIST);
// A report may also come from the Open311 server (issue 19): not a channel anyone is sent to.
const REPORT_CHANNELS = membersOf<ReportChannel>()([...CHANNELS_LIST, 'open311']);
const STATUS_GROUPS = membersOf<StatusGroup>()(['open', 'fixed', 'closed']);

// Every record schema: string ids we choose ourselves (no ObjectId), our own `_rev` instead of
// mongoose's `__v`, and empty objects kept (minimize would drop `location: {}` or `state: {}`,
// so a record would not read back as it was written). `strict: 'throw'` because mongoose's
// default silently drops fields the schema lacks: a field added to records.ts but not here
// would be lost on every write instead of failing the first test that writes it.
const RECORD_OPTIONS = { versionKey: false, minimize: false, strict: 'throw' } satisfies SchemaOptions;
// Nested values are plain data, not subdocuments with their own ObjectId `_id`.
const NESTED_OPTIONS = { ...RECORD_OPTIONS, _id: false } satisfies SchemaOptions;

/**
 * A schema definition that names every field of `T`, no more and no fewer, so that a field
 * added to (or removed from) a record type fails to compile here until the schema follows.
 */
type FieldsOf<T> = { [K in keyof Required<T>]: SchemaDefinitionProperty };

/** The schema of a stored record. */
function recordSchema<T>(fields: FieldsOf<T>): Schema<T> {
  return new Schema<T>(fields as SchemaDefinition<T>, RECORD_OPTIONS);
}

/** The schema of a value nested in a record. */
function nestedSchema<T>(fields: FieldsOf<T>): Schema<T> {
  return new Schema<T>(fields as SchemaDefinition<T>, NESTED_OPTIONS);
}

const ID = { type: String, required: true };
const REV = { type: Number, required: true, min: 1 };

const geoPointSchema = nestedSchema<GeoPoint>({
  lat: { type: Number, required: true, min: -90, max: 90 },
  lon: { type: Number, required: true, min: -180, max: 180 },
  label: String,
});

const mediaRefSchema = nestedSchema<MediaRef>({
  url: { type: String, required: true },
  contentType: { type: String, required: true },
});

/**
 * Receipts are checked by this plain function rather than cast as subdocuments: casting a
 * conversation's 20 receipts with their replies cost about 450 µs per write (measured), more
 * than the rest of a turn together. Replies and effects are the engine's data, kept as they are.
 */
function isReceiptList(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.every(
      (receipt: Partial<InboundReceipt> | null) =>
        typeof receipt === 'object' &&
        receipt !== null &&
        typeof receipt.key === 'string' &&
        Number.isInteger(receipt.firstEntry) &&
        Array.isArray(receipt.replies) &&
        Array.isArray(receipt.effects),
    )
  );
}

const translationSchema = nestedSchema<{ title: string; description: string }>({
  title: { type: String, required: true },
  description: { type: String, required: true },
});

const outcomeTranslationSchema = nestedSchema<{ unit: string; question: string }>({
  unit: { type: String, required: true },
  question: { type: String, required: true },
});

const roleOutcomeSchema = nestedSchema<RoleOutcome>({
  unit: { type: String, required: true },
  question: { type: String, required: true },
  target: { type: Number, min: 0 },
  translations: { type: Map, of: outcomeTranslationSchema, default: undefined },
});

const residentSchema = recordSchema<ResidentRecord>({
  _id: ID,
  _rev: REV,
  address: { type: String, required: true },
  channel: { type: String, required: true, enum: CHANNELS },
  locale: { type: String, required: true },
  optedOut: { type: Boolean, required: true },
  volunteerCalls: { type: Boolean, required: true },
  interests: { type: [String] },
  neighbourhood: String,
  name: String,
  volunteerMilestones: { type: [Number], default: undefined },
  createdAt: { type: Date, required: true },
  lastSeenAt: { type: Date, required: true },
});

const consentEventSchema = recordSchema<ConsentEventRecord>({
  _id: ID,
  _rev: REV,
  address: { type: String, required: true },
  channel: { type: String, required: true, enum: CHANNELS },
  kind: {
    type: String,
    required: true,
    enum: membersOf<ConsentEventRecord['kind']>()(['opt_out', 'opt_in']),
  },
  keyword: { type: String, required: true },
  at: { type: Date, required: true },
});

const conversationSchema = recordSchema<ConversationRecord>({
  _id: ID,
  _rev: REV,
  address: { type: String, required: true },
  // The engine's state is opaque here (it versions and validates it itself). Not `required`:
  // mongoose's required check on Mixed would refuse a legitimate `null` state.
  state: { type: Schema.Types.Mixed },
  recentInbound: { type: Schema.Types.Mixed, required: true, validate: { validator: isReceiptList, message: 'must be a list of receipts' } },
  transcriptLength: { type: Number, required: true, min: 0 },
  updatedAt: { type: Date, required: true },
});

const transcriptEntrySchema = recordSchema<TranscriptEntryRecord>({
  _id: ID,
  _rev: REV,
  conversationId: { type: String, required: true },
  seq: { type: Number, required: true, min: 0 },
  direction: {
    type: String,
    required: true,
    enum: membersOf<TranscriptEntryRecord['direction']>()(['in', 'out']),
  },
  channel: { type: String, required: true, enum: CHANNELS },
  providerMessageId: String,
  inboundKey: String,
  text: { type: String, default: '' },
  location: { type: geoPointSchema },
  // Optional arrays stay absent when absent (mongoose would otherwise default them to []).
  media: { type: [mediaRefSchema], default: undefined },
  staff: String,
  at: { type: Date, required: true },
});

const reportLocationSchema = nestedSchema<ReportRecord['location']>({
  text: String,
  point: { type: geoPointSchema },
  pointFrom: { type: String, enum: membersOf<NonNullable<ReportRecord['location']['pointFrom']>>()(['resident', 'geocoder']) },
});

const open311AttributeSchema = nestedSchema<{ code: string; value: string }>({
  code: { type: String, required: true },
  value: { type: String, required: true },
});

const open311SubmissionSchema = nestedSchema<Open311Submission>({
  keyId: { type: String, required: true },
  mediaUrl: String,
  attributes: { type: [open311AttributeSchema], default: undefined },
});

const open311RemoteSchema = nestedSchema<Open311Remote>({
  id: String,
  token: String,
  sentAt: { type: Date, required: true },
  lastPolledAt: Date,
  lastNotes: String,
  appliedStatus: String,
  unreadableAnswer: Boolean,
  missedPolls: Number,
  unknownSince: Date,
});

const reportSchema = recordSchema<ReportRecord>({
  _id: ID,
  _rev: REV,
  // Categories are data staff can edit, so any string; the defaults live in vocabulary.ts.
  category: { type: String, required: true },
  status: { type: String, required: true },
  statusGroup: { type: String, required: true, enum: STATUS_GROUPS },
  location: { type: reportLocationSchema, required: true },
  description: { type: String, required: true },
  photos: { type: [mediaRefSchema] },
  residentAddress: { type: String, required: true },
  channel: { type: String, required: true, enum: REPORT_CHANNELS },
  locale: { type: String, required: true },
  createdAt: { type: Date, required: true },
  updatedAt: { type: Date, required: true },
  statusNote: String,
  open311: { type: open311SubmissionSchema },
  open311Token: String,
  fixedAt: Date,
  openCell: String,
  openPlace: String,
  reopenedByResident: Date,
  assignee: String,
  department: String,
  openQueue: String,
  mergedInto: String,
  open311Remote: { type: open311RemoteSchema },
  open311Open: { type: String, enum: ['yes', 'unknown'] },
  open311PollAt: Date,
  open311RemoteId: String,
});

const reportUpdateSchema = recordSchema<ReportUpdateRecord>({
  _id: ID,
  _rev: REV,
  reportId: { type: String, required: true },
  status: String,
  note: String,
  by: {
    type: String,
    required: true,
    enum: membersOf<ReportUpdateRecord['by']>()(['resident', 'staff', 'system']),
  },
  photos: { type: [mediaRefSchema], default: undefined },
  staff: String,
  notified: Boolean,
  follower: Boolean,
  internal: Boolean,
  notFixed: Boolean,
  at: { type: Date, required: true },
});

const reportFollowerSchema = recordSchema<ReportFollowerRecord>({
  _id: ID,
  _rev: REV,
  reportId: { type: String, required: true },
  address: { type: String, required: true },
  at: { type: Date, required: true },
  via: { type: String, required: true, enum: membersOf<ReportFollowerRecord['via']>()(['follow', 'merge']) },
  noteId: String,
  mergedFrom: String,
});

const reportSurveySchema = recordSchema<ReportSurveyRecord>({
  _id: ID,
  _rev: REV,
  reportId: { type: String, required: true },
  category: { type: String, required: true },
  month: { type: String, required: true },
  fixed: { type: String, required: true, enum: membersOf<ReportSurveyRecord['fixed']>()(['yes', 'no']) },
  rating: { type: Number, min: 1, max: 5 },
  comment: String,
  address: String,
  channel: { type: String, required: true, enum: CHANNELS },
  locale: { type: String, required: true },
  at: { type: Date, required: true },
});

const ideaResponseSchema = nestedSchema<NonNullable<IdeaRecord['response']>>({
  note: String,
  by: { type: String, required: true },
  at: { type: Date, required: true },
});

const ideaModerationSchema = nestedSchema<IdeaModeration>({
  state: { type: String, required: true, enum: membersOf<IdeaModeration['state']>()(['hidden', 'restored']) },
  reason: { type: String, required: true, enum: membersOf<IdeaModeration['reason']>()(['reports', 'staff']) },
  by: { type: String, required: true },
  at: { type: Date, required: true },
  note: String,
});

const ideaSchema = recordSchema<IdeaRecord>({
  _id: ID,
  _rev: REV,
  title: { type: String, required: true },
  details: { type: String, default: '' },
  neighbourhood: String,
  authorAddress: { type: String, required: true },
  channel: { type: String, required: true, enum: CHANNELS },
  status: {
    type: String,
    required: true,
    enum: membersOf<IdeaRecord['status']>()(['new', 'under_review', 'accepted', 'not_planned']),
  },
  kind: { type: String, required: true, enum: membersOf<IdeaRecord['kind']>()(['idea']) },
  createdAt: { type: Date, required: true },
  response: { type: ideaResponseSchema },
  similarTerms: { type: [String], default: undefined },
  moderation: { type: ideaModerationSchema },
  reports: { type: Number, min: 0 },
  moderationQueue: { type: String, enum: membersOf<NonNullable<IdeaRecord['moderationQueue']>>()(['review', 'hidden']) },
  mergedInto: String,
  supporters: { type: Number, min: 0 },
  supportThreshold: { type: Number, min: 0 },
  thresholdReachedAt: Date,
});

const ideaSupportSchema = recordSchema<IdeaSupportRecord>({
  _id: ID,
  _rev: REV,
  ideaId: { type: String, required: true },
  address: { type: String, required: true },
  at: { type: Date, required: true },
  mergedFrom: String,
});

const ideaReportSchema = recordSchema<IdeaReportRecord>({
  _id: ID,
  _rev: REV,
  ideaId: { type: String, required: true },
  address: { type: String, required: true },
  reason: { type: String, required: true, enum: membersOf<IdeaReportRecord['reason']>()(['spam', 'offensive', 'personal_info', 'other']) },
  text: String,
  at: { type: Date, required: true },
});

const volunteerRoleSchema = recordSchema<VolunteerRoleRecord>({
  _id: ID,
  _rev: REV,
  title: { type: String, required: true },
  description: { type: String, required: true },
  // A Map validates each translation; it reads back as a plain object (flattenMaps / lean).
  translations: { type: Map, of: translationSchema, default: undefined },
  interests: { type: [String] },
  neighbourhood: { type: String, required: true },
  place: { type: String, required: true },
  startsAt: { type: Date, required: true },
  endsAt: Date,
  schedule: String,
  capacity: { type: Number, required: true, min: 0 },
  contact: { type: String, required: true },
  status: {
    type: String,
    required: true,
    enum: membersOf<VolunteerRoleRecord['status']>()(['open', 'closed']),
  },
  demo: { type: Boolean, required: true },
  reminderHours: { type: [Number], default: undefined },
  releaseUnconfirmedHours: { type: Number, min: 0 },
  outcome: { type: roleOutcomeSchema, default: undefined },
  fromReports: { type: [String], default: undefined },
  createdAt: { type: Date, required: true },
  updatedAt: Date,
});

const shiftSchema = recordSchema<ShiftRecord>({
  _id: ID,
  _rev: REV,
  roleId: { type: String, required: true },
  startsAt: { type: Date, required: true },
  endsAt: { type: Date, required: true },
  place: String,
  capacity: { type: Number, required: true, min: 0 },
  status: { type: String, required: true, enum: membersOf<ShiftRecord['status']>()(['open', 'cancelled']) },
  createdAt: { type: Date, required: true },
  updatedAt: { type: Date, required: true },
});

const signupSchema = recordSchema<SignupRecord>({
  _id: ID,
  _rev: REV,
  roleId: { type: String, required: true },
  shiftId: String,
  address: { type: String, required: true },
  name: { type: String, required: true },
  channel: { type: String, required: true, enum: CHANNELS },
  status: {
    type: String,
    required: true,
    enum: membersOf<SignupRecord['status']>()(['confirmed', 'waitlisted', 'cancelled']),
  },
  cancelledBy: { type: String, enum: membersOf<NonNullable<SignupRecord['cancelledBy']>>()(['resident', 'released', 'staff']) },
  attendanceConfirmedAt: Date,
  remindedAt: Date,
  attendance: { type: String, enum: membersOf<NonNullable<SignupRecord['attendance']>>()(['attended', 'no_show']) },
  attendanceBy: { type: String, enum: membersOf<NonNullable<SignupRecord['attendanceBy']>>()(['resident', 'staff']) },
  hoursReported: { type: Number, min: 0 },
  hoursApproved: { type: Number, min: 0 },
  outcomeReported: { type: Number, min: 0 },
  confirmedIn: String,
  createdAt: { type: Date, required: true },
  updatedAt: { type: Date, required: true },
});

const outboundMessageSchema = recordSchema<OutboundMessageRecord>({
  _id: ID,
  _rev: REV,
  channel: { type: String, required: true, enum: CHANNELS },
  address: { type: String, required: true },
  text: { type: String, required: true },
  mediaUrl: String,
  purpose: { type: String, required: true },
  state: {
    type: String,
    required: true,
    enum: membersOf<OutboundMessageRecord['state']>()(['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'skipped', 'outbox']),
  },
  attempts: { type: Number, required: true, min: 0 },
  lastError: String,
  providerMessageId: String,
  createdAt: { type: Date, required: true },
  updatedAt: { type: Date, required: true },
});

const handoffSchema = recordSchema<HandoffRecord>({
  _id: ID,
  _rev: REV,
  address: { type: String, required: true },
  channel: { type: String, required: true, enum: CHANNELS },
  reason: { type: String, required: true, enum: membersOf<HandoffRecord['reason']>()(['asked', 'stuck', 'question', 'broadcast_reply']) },
  status: { type: String, required: true, enum: membersOf<HandoffRecord['status']>()(['open', 'closed']) },
  at: { type: Date, required: true },
  ref: String,
  locale: String,
  about: String,
  assignedTo: String,
  lastActivityAt: Date,
  unread: { type: Number, min: 0 },
  answeredAt: Date,
  closedAt: Date,
  closedBy: String,
});

const cannedReplySchema = recordSchema<CannedReplyRecord>({
  _id: ID,
  _rev: REV,
  locale: { type: String, required: true },
  category: String,
  title: { type: String, required: true },
  text: { type: String, required: true },
  createdBy: { type: String, required: true },
  createdAt: { type: Date, required: true },
});

const jobSchema = recordSchema<JobRecord>({
  _id: ID,
  _rev: REV,
  kind: { type: String, required: true },
  dueAt: { type: Date, required: true },
  state: { type: String, required: true, enum: membersOf<JobState>()(['pending', 'running', 'done', 'failed', 'cancelled']) },
  queueOf: String,
  address: String,
  payload: { type: Schema.Types.Mixed, required: true },
  attempts: { type: Number, required: true, min: 0 },
  lastError: String,
  leaseUntil: Date,
  claimedBy: String,
  createdAt: { type: Date, required: true },
  updatedAt: { type: Date, required: true },
});

const webchatActivitySchema = recordSchema<WebchatActivityRecord>({
  _id: ID,
  _rev: REV,
  conversationId: { type: String, required: true },
  seq: { type: Number, required: true, min: 0 },
  activity: { type: Schema.Types.Mixed, required: true },
  at: { type: Date, required: true },
});

const metaSchema = recordSchema<MetaRecord>({
  _id: ID,
  _rev: REV,
  value: { type: Schema.Types.Mixed },
});

const staffUserSchema = recordSchema<StaffUserRecord>({
  _id: ID,
  _rev: REV,
  username: { type: String, required: true },
  displayName: { type: String, required: true },
  role: { type: String, required: true, enum: membersOf<StaffRole>()(['admin', 'coordinator']) },
  passwordHash: { type: String, required: true },
  active: { type: Boolean, required: true },
  failedLogins: { type: Number, required: true, min: 0 },
  lockedUntil: Date,
  createdAt: { type: Date, required: true },
  updatedAt: { type: Date, required: true },
});

const staffSessionSchema = recordSchema<StaffSessionRecord>({
  _id: ID,
  _rev: REV,
  username: { type: String, required: true },
  csrfToken: { type: String, required: true },
  createdAt: { type: Date, required: true },
  expiresAt: { type: Date, required: true },
});

const auditEntrySchema = recordSchema<AuditEntryRecord>({
  _id: ID,
  _rev: REV,
  actor: { type: String, required: true },
  action: { type: String, required: true },
  target: String,
  details: { type: Schema.Types.Mixed },
  kind: { type: String, required: true, enum: membersOf<AuditEntryRecord['kind']>()(['audit']) },
  at: { type: Date, required: true },
});

const audienceSchema = nestedSchema<AudienceFilter>({
  channels: { type: [{ type: String, enum: CHANNELS }], default: undefined },
  locales: { type: [String], default: undefined },
  interests: { type: [String], default: undefined },
  neighbourhoods: { type: [String], default: undefined },
  activeWithinDays: { type: Number, min: 1 },
  shiftId: String,
  ballotId: String,
  reports: { type: [String], default: undefined },
  optedIn: Boolean,
  ideaId: String,
});

const ideaNoticeSchema = nestedSchema<IdeaNotice>({
  event: { type: String, required: true, enum: membersOf<IdeaNotice['event']>()(['reached', 'answered']) },
  ideaId: { type: String, required: true },
  title: { type: String, required: true },
  status: { type: String, required: true, enum: membersOf<IdeaNotice['status']>()(['new', 'under_review', 'accepted', 'not_planned']) },
  supporters: Number,
  note: String,
});

const broadcastSchema = recordSchema<BroadcastRecord>({
  _id: ID,
  _rev: REV,
  roleId: String,
  // Text per locale; a Map checks each value is a string, and reads back as a plain object.
  messages: { type: Map, of: String, required: true },
  audience: { type: audienceSchema, required: true },
  status: { type: String, required: true, enum: membersOf<BroadcastStatus>()(['scheduled', 'sending', 'paused', 'cancelled', 'done']) },
  sendAt: { type: Date, required: true },
  answerWindowHours: { type: Number, required: true, min: 1 },
  planned: { type: Number, required: true, min: 0 },
  createdBy: { type: String, required: true },
  kind: { type: String, required: true, enum: membersOf<BroadcastRecord['kind']>()(['broadcast']) },
  createdAt: { type: Date, required: true },
  updatedAt: { type: Date, required: true },
  finishedAt: Date,
  ideaNotice: { type: ideaNoticeSchema },
  ballotId: String,
});

const deliverySchema = recordSchema<DeliveryRecord>({
  _id: ID,
  _rev: REV,
  broadcastId: { type: String, required: true },
  address: { type: String, required: true },
  channel: { type: String, required: true, enum: CHANNELS },
  locale: { type: String, required: true },
  seq: { type: Number, required: true, min: 0 },
  state: { type: String, required: true, enum: membersOf<DeliveryState>()(['queued', 'sending', 'sent', 'delivered', 'failed', 'skipped']) },
  bucket: { type: String, required: true },
  reason: String,
  attempts: { type: Number, required: true, min: 0 },
  lastError: String,
  leaseUntil: Date,
  claimedBy: String,
  via: { type: String, enum: membersOf<NonNullable<DeliveryRecord['via']>>()(['reports']) },
  answer: { type: String, enum: membersOf<NonNullable<DeliveryRecord['answer']>>()(['confirmed', 'waitlisted', 'declined', 'full', 'closed']) },
  answeredIn: String,
  answeredAt: Date,
  createdAt: { type: Date, required: true },
  updatedAt: { type: Date, required: true },
});

const open311KeySchema = recordSchema<Open311KeyRecord>({
  _id: ID,
  _rev: REV,
  name: { type: String, required: true },
  secretHash: { type: String, required: true },
  perMinute: { type: Number, required: true, min: 1 },
  createdBy: { type: String, required: true },
  createdAt: { type: Date, required: true },
  lastUsedAt: Date,
  revokedAt: Date,
  revokedBy: String,
  kind: { type: String, required: true, enum: membersOf<Open311KeyRecord['kind']>()(['open311Key']) },
});

const ballotProjectSchema = nestedSchema<BallotProject>({
  id: { type: String, required: true },
  title: { type: Map, of: String, required: true },
  cost: { type: Number, required: true, min: 0 },
});

const ballotProjectResultSchema = nestedSchema<BallotProjectResult>({
  id: { type: String, required: true },
  votes: { type: Number, required: true, min: 0 },
  funded: { type: Boolean, required: true },
});

const ballotResultsSchema = nestedSchema<BallotResults>({
  voters: { type: Number, required: true, min: 0 },
  projects: { type: [ballotProjectResultSchema], required: true },
  at: { type: Date, required: true },
  by: { type: String, required: true },
});

const ballotSchema = recordSchema<BallotRecord>({
  _id: ID,
  _rev: REV,
  title: { type: Map, of: String, required: true },
  question: { type: Map, of: String, required: true },
  projects: { type: [ballotProjectSchema], required: true },
  rule: { type: String, required: true, enum: membersOf<BallotRecord['rule']>()(['budget', 'pick_up_to']) },
  budget: { type: Number, min: 0 },
  maxPicks: { type: Number, min: 1 },
  opensAt: { type: Date, required: true },
  closesAt: { type: Date, required: true },
  status: { type: String, required: true, enum: membersOf<BallotStatus>()(['draft', 'open', 'closed']) },
  createdBy: { type: String, required: true },
  createdAt: { type: Date, required: true },
  updatedAt: { type: Date, required: true },
  closedAt: Date,
  results: ballotResultsSchema,
  resultsBroadcastId: String,
  kind: { type: String, required: true, enum: membersOf<BallotRecord['kind']>()(['ballot']) },
});

const ballotVoteSchema = recordSchema<BallotVoteRecord>({
  _id: ID,
  _rev: REV,
  ballotId: { type: String, required: true },
  address: { type: String, required: true },
  picks: { type: [String], required: true },
  channel: { type: String, required: true, enum: CHANNELS },
  locale: { type: String, required: true },
  at: { type: Date, required: true },
  firstAt: { type: Date, required: true },
  changes: { type: Number, required: true, min: 0 },
});

/** The schema of every collection, with the key constraints and indexes of `collections.ts`. */
export type StoreSchemas = { readonly [K in CollectionName]: Schema<RecordOf<K>> };

/** The models of every collection on one connection. */
export type StoreModels = { readonly [K in CollectionName]: Model<RecordOf<K>> };

/** Every collection's schema, built once with its key constraints and indexes. */
export const STORE_SCHEMAS: StoreSchemas = withKeysAndIndexes({
  residents: residentSchema,
  consentEvents: consentEventSchema,
  conversations: conversationSchema,
  transcripts: transcriptEntrySchema,
  reports: reportSchema,
  reportUpdates: reportUpdateSchema,
  reportFollowers: reportFollowerSchema,
  reportSurveys: reportSurveySchema,
  ideas: ideaSchema,
  ideaSupports: ideaSupportSchema,
  ideaReports: ideaReportSchema,
  roles: volunteerRoleSchema,
  shifts: shiftSchema,
  signups: signupSchema,
  outbound: outboundMessageSchema,
  handoffs: handoffSchema,
  cannedReplies: cannedReplySchema,
  jobs: jobSchema,
  webchatActivities: webchatActivitySchema,
  meta: metaSchema,
  staffUsers: staffUserSchema,
  staffSessions: staffSessionSchema,
  audit: auditEntrySchema,
  broadcasts: broadcastSchema,
  deliveries: deliverySchema,
  open311Keys: open311KeySchema,
  ballots: ballotSchema,
  ballotVotes: ballotVoteSchema,
});

/**
 * Builds the models of every collection on a connection. MongoDB passes its open connection;
 * the embedded store passes one that is never opened, only to validate and cast records. Each
 * MongoDB collection is named exactly as in `Collections` (not mongoose's pluralised lowercase).
 */
export function buildModels(connection: Connection): StoreModels {
  const model = <K extends CollectionName>(name: K): Model<RecordOf<K>> =>
    connection.model<RecordOf<K>>(name, STORE_SCHEMAS[name] as Schema<RecordOf<K>>, name);
  return eachCollection<StoreModels>(model);
}

/**
 * Adds to each schema what follows from it being a key: `_id` and indexed strings get a length
 * limit and may not contain NUL (LMDB array keys use NUL as the separator), and every index of
 * `collections.ts` becomes a MongoDB compound index `{ field, sortBy, _id }`. `_id` is in the
 * index because both adapters break sort ties by `_id`: without it MongoDB would have to sort
 * the ties of a large result in memory.
 */
function withKeysAndIndexes(schemas: StoreSchemas): StoreSchemas {
  for (const name of COLLECTION_NAMES) {
    const schema = schemas[name] as Schema;
    const indexes: readonly AnyIndexSpec[] = COLLECTION_INDEXES[name];
    const keyFields = new Set(['_id', ...indexes.map((index) => index.field)]);
    for (const field of keyFields) {
      const path = schema.path(field);
      const elements = (path as unknown as { embeddedSchemaType?: typeof path }).embeddedSchemaType;
      const isKey = (value: unknown) => typeof value !== 'string' || (value.length <= MAX_KEY_LENGTH && !value.includes('\0'));
      // An indexed array of strings (a multikey index) is a key per element.
      if (path.instance === 'Array' && elements?.instance === 'String') {
        elements.validate({ validator: isKey, message: `${field} has an element too long or with NUL` });
        continue;
      }
      if (path.instance !== 'String') continue;
      path.validate({ validator: isKey, message: `${field} is too long or contains NUL` });
    }
    for (const index of indexes) {
      schema.index({ [index.field]: 1, ...(index.sortBy ? { [index.sortBy]: 1 } : {}), _id: 1 });
    }
  }
  return schemas;
}
