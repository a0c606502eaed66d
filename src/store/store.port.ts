/**
 * The storage port: a narrow document-collection interface that both adapters implement, the
 * embedded one (LMDB under DATA_DIR) and MongoDB (mongoose). Queries are limited to what both do
 * well: get by id, equality on one declared index ordered by that index's sort field, and counts.
 * Everything richer is composed in the repositories on top, so the MongoDB-only code stays thin.
 */
import type {
  AuditEntryRecord,
  BallotRecord,
  BallotVoteRecord,
  BroadcastRecord,
  DeliveryRecord,
  StaffSessionRecord,
  StaffUserRecord,
  ConsentEventRecord,
  ConversationRecord,
  IdeaRecord,
  IdeaSupportRecord,
  IdeaReportRecord,
  ReportFollowerRecord,
  ReportSurveyRecord,
  HandoffRecord,
  CannedReplyRecord,
  JobRecord,
  WebchatActivityRecord,
  MetaRecord,
  Open311KeyRecord,
  OutboundMessageRecord,
  ReportRecord,
  ReportUpdateRecord,
  ResidentRecord,
  ShiftRecord,
  SignupRecord,
  StoredRecord,
  TranscriptEntryRecord,
  VolunteerRoleRecord,
} from '../domain/records.js';
import type { MediaFiles } from './media-files.js';

/** A record as written: the store sets `_rev`. */
export type Unsaved<T extends StoredRecord> = Omit<T, '_rev'> & { _rev?: number };

/** Which records to find: equality on an indexed field. */
export interface Where<T> {
  field: keyof T & string;
  equals: string | number | boolean;
}

/** How to order and cut a result. Order is by the index's `sortBy` field (then `_id`). */
export interface FindOptions {
  order?: 'asc' | 'desc';
  limit?: number;
  /**
   * Start at this value of the index's sort field, inclusive: ascending reads sort values from it
   * up, descending from it down. A window ("shifts starting from now", "requests before
   * end_date") is then one read from its edge, not a scan of the years before it. Records without
   * a sort value are not returned. Only for indexes with a `sortBy`.
   */
  from?: Date | number | string;
}

/** One collection of records. Every method is safe to call concurrently. */
export interface Collection<T extends StoredRecord> {
  get(id: string): Promise<T | null>;
  /** Inserts the record with `_rev` 1; false (and nothing written) if the id exists. */
  insert(record: Unsaved<T>): Promise<boolean>;
  /** Writes the record whatever is there; returns it with its new `_rev`. */
  upsert(record: Unsaved<T>): Promise<T>;
  /**
   * Replaces the record only if its stored `_rev` is `expectedRev` (optimistic concurrency);
   * false if someone else wrote it first or it does not exist.
   */
  replace(record: Unsaved<T>, expectedRev: number): Promise<boolean>;
  /** Records whose indexed `field` equals the value, ordered by the index's sort field. */
  find(where: Where<T>, options?: FindOptions): Promise<T[]>;
  count(where: Where<T>): Promise<number>;
  delete(id: string): Promise<boolean>;
}

/** An index: equality on `field`, results ordered by `sortBy` (a date, number or string field). */
export interface IndexSpec<T> {
  field: keyof T & string;
  sortBy?: keyof T & string;
}

/** Every collection the service keeps, by name, with its record type. */
export interface Collections {
  residents: Collection<ResidentRecord>;
  consentEvents: Collection<ConsentEventRecord>;
  conversations: Collection<ConversationRecord>;
  transcripts: Collection<TranscriptEntryRecord>;
  reports: Collection<ReportRecord>;
  reportUpdates: Collection<ReportUpdateRecord>;
  reportFollowers: Collection<ReportFollowerRecord>;
  reportSurveys: Collection<ReportSurveyRecord>;
  ideas: Collection<IdeaRecord>;
  ideaSupports: Collection<IdeaSupportRecord>;
  ideaReports: Collection<IdeaReportRecord>;
  roles: Collection<VolunteerRoleRecord>;
  shifts: Collection<ShiftRecord>;
  signups: Collection<SignupRecord>;
  outbound: Collection<OutboundMessageRecord>;
  handoffs: Collection<HandoffRecord>;
  cannedReplies: Collection<CannedReplyRecord>;
  jobs: Collection<JobRecord>;
  webchatActivities: Collection<WebchatActivityRecord>;
  meta: Collection<MetaRecord>;
  staffUsers: Collection<StaffUserRecord>;
  staffSessions: Collection<StaffSessionRecord>;
  audit: Collection<AuditEntryRecord>;
  broadcasts: Collection<BroadcastRecord>;
  deliveries: Collection<DeliveryRecord>;
  open311Keys: Collection<Open311KeyRecord>;
  ballots: Collection<BallotRecord>;
  ballotVotes: Collection<BallotVoteRecord>;
}

/** The opened store: the collections plus health and lifecycle. */
export interface Store extends Collections {
  /** Which adapter this is, for logs and /readyz. */
  readonly kind: 'embedded' | 'mongodb';
  /** Photos residents uploaded: files under DATA_DIR/media, or in the database on MongoDB (every instance serves them). */
  readonly media: MediaFiles;
  /** Resolves when the store can read and write; rejects otherwise (drives /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
