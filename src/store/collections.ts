/**
 * The collections the service keeps and the indexes each one can be queried by. This table is
 * the one source for both adapters: the mongoose schemas build their MongoDB indexes from it and
 * the embedded store keeps one LMDB index database per entry, so a query that works on one works
 * on the other.
 */
import type { Collection, Collections, IndexSpec } from './store.port.js';

/** The name of a collection, as a key of `Collections`. */
export type CollectionName = keyof Collections;

/** The record type a collection holds. */
export type RecordOf<K extends CollectionName> = Collections[K] extends Collection<infer T> ? T : never;

/** The indexes of every collection, typed so a misspelt field does not compile. */
export type CollectionIndexes = { readonly [K in CollectionName]: readonly IndexSpec<RecordOf<K>>[] };

/**
 * Every collection's indexes: equality on `field`, ordered by `sortBy`, ties broken by `_id`.
 * `find` and `count` accept only these fields, in both adapters, so that an unindexed query (a
 * full scan in MongoDB, impossible in the embedded store) fails in development, not under load.
 */
export const COLLECTION_INDEXES: CollectionIndexes = {
  residents: [{ field: 'volunteerCalls', sortBy: 'lastSeenAt' }],
  consentEvents: [{ field: 'address', sortBy: 'at' }],
  conversations: [],
  transcripts: [
    { field: 'conversationId', sortBy: 'seq' },
    // Replays of old provider messages (turn-pipeline.ts); inbound entries only carry the field.
    { field: 'inboundKey' },
  ],
  reports: [
    { field: 'residentAddress', sortBy: 'createdAt' },
    { field: 'channel', sortBy: 'createdAt' },
    { field: 'statusGroup', sortBy: 'createdAt' },
    { field: 'category', sortBy: 'createdAt' },
    // "Already reported?" (src/store/nearby-reports.ts): only open reports carry these two, so the
    // indexes hold the open ones and a lookup never reads the fixed and closed years of history.
    { field: 'openCell', sortBy: 'createdAt' },
    { field: 'openPlace', sortBy: 'createdAt' },
    // The work queues ("mine", "unassigned"): only open reports carry the field, as above.
    { field: 'openQueue', sortBy: 'createdAt' },
    // Reports staff routed by hand to a department other than their category's (report-routing.ts).
    { field: 'department', sortBy: 'createdAt' },
    // The reports merged into one (issue 18): only merged reports carry it.
    { field: 'mergedInto', sortBy: 'createdAt' },
    // GET /open311/v2/tokens/{token}: only reports posted through Open311 carry it.
    { field: 'open311Token' },
    // The requests forwarded to the city's Open311 server and not closed there (its poll), the
    // one asked about longest ago first: the poll goes round them however many there are.
    { field: 'open311Open', sortBy: 'open311PollAt' },
    // The report of a request the city's server names (its updated_after answer): only forwarded ones carry it.
    { field: 'open311RemoteId' },
  ],
  reportUpdates: [{ field: 'reportId', sortBy: 'at' }],
  reportFollowers: [
    // A report's followers, to tell them its updates; a resident's followed reports ("my reports").
    { field: 'reportId', sortBy: 'at' },
    { field: 'address', sortBy: 'at' },
  ],
  reportSurveys: [
    // A report's answers (its staff page); a resident's (erasure); a month's (the home page's charts).
    { field: 'reportId', sortBy: 'at' },
    { field: 'address', sortBy: 'at' },
    { field: 'month', sortBy: 'at' },
  ],
  ideas: [
    { field: 'kind', sortBy: 'createdAt' },
    { field: 'authorAddress', sortBy: 'createdAt' },
    // "Similar ideas?" (src/pipeline/similar-ideas.ts): one entry per stem, newest first.
    { field: 'similarTerms', sortBy: 'createdAt' },
    // The moderation queue (reported or hidden, awaiting staff): only such ideas carry it.
    { field: 'moderationQueue', sortBy: 'createdAt' },
    // The ideas merged into one (its page; merge chains are refused): only merged ideas carry it.
    { field: 'mergedInto', sortBy: 'createdAt' },
  ],
  ideaSupports: [
    { field: 'ideaId', sortBy: 'at' },
    { field: 'address', sortBy: 'at' },
  ],
  ideaReports: [
    // An idea's reports (the moderation queue's reasons); a resident's (erasure).
    { field: 'ideaId', sortBy: 'at' },
    { field: 'address', sortBy: 'at' },
  ],
  roles: [{ field: 'status', sortBy: 'startsAt' }],
  shifts: [
    // A role's shifts in time order (its page, the resident's list).
    { field: 'roleId', sortBy: 'startsAt' },
    // Open shifts by start: reminder planning reads the next hours' window, check-in the day's.
    { field: 'status', sortBy: 'startsAt' },
  ],
  signups: [
    { field: 'roleId', sortBy: 'createdAt' },
    { field: 'address', sortBy: 'createdAt' },
    // A shift's volunteers (its capacity, waitlist, reminders and check-in list).
    { field: 'shiftId', sortBy: 'createdAt' },
    // The spots taken of a shift or a role (only confirmed sign-ups carry it; derived-keys.ts):
    // the volunteer list counts these keys for every role it shows.
    { field: 'confirmedIn' },
  ],
  outbound: [
    { field: 'providerMessageId', sortBy: 'createdAt' },
    { field: 'address', sortBy: 'createdAt' },
    { field: 'state', sortBy: 'createdAt' },
  ],
  handoffs: [{ field: 'status', sortBy: 'at' }, { field: 'address', sortBy: 'at' }, { field: 'ref' }],
  cannedReplies: [{ field: 'locale', sortBy: 'title' }],
  jobs: [
    // The scheduler's queue: pending jobs by due time, running ones for expired leases.
    { field: 'state', sortBy: 'dueAt' },
    // One resident's jobs in due order (only pending and running ones carry the field).
    { field: 'queueOf', sortBy: 'dueAt' },
    { field: 'address', sortBy: 'createdAt' },
  ],
  webchatActivities: [{ field: 'conversationId', sortBy: 'seq' }],
  meta: [],
  staffUsers: [{ field: 'role', sortBy: 'createdAt' }],
  staffSessions: [{ field: 'username', sortBy: 'createdAt' }],
  audit: [
    { field: 'kind', sortBy: 'at' },
    { field: 'actor', sortBy: 'at' },
  ],
  broadcasts: [
    { field: 'kind', sortBy: 'createdAt' },
    { field: 'status', sortBy: 'sendAt' },
  ],
  deliveries: [
    { field: 'bucket', sortBy: 'seq' },
    { field: 'broadcastId', sortBy: 'seq' },
    { field: 'answeredIn', sortBy: 'answeredAt' },
    { field: 'address', sortBy: 'createdAt' },
  ],
  open311Keys: [{ field: 'kind', sortBy: 'createdAt' }],
  // Ballots newest first (the staff list); open ones by closing time (what residents may vote in).
  ballots: [
    { field: 'kind', sortBy: 'createdAt' },
    { field: 'status', sortBy: 'closesAt' },
  ],
  ballotVotes: [
    // A ballot's votes: the tally and the voters' audience are one indexed read of its voters.
    { field: 'ballotId', sortBy: 'at' },
    // A resident's votes (erasure).
    { field: 'address', sortBy: 'at' },
  ],
};

/** An index of any collection, for code that handles every collection alike. */
export interface AnyIndexSpec {
  readonly field: string;
  readonly sortBy?: string | undefined;
}

/** Every collection name, in a stable order (for opening databases and building models). */
export const COLLECTION_NAMES = Object.keys(COLLECTION_INDEXES) as CollectionName[];

/**
 * Builds one thing per collection (an adapter's collection, a model) from a function of its
 * name, so adding a collection to `COLLECTION_INDEXES` is all a new collection needs here.
 */
// The factory is typed loosely: TypeScript cannot see that `make(name)` for a generic name is
// that name's entry, but each entry comes from the same factory called with its own name.
export function eachCollection<Each extends { readonly [K in CollectionName]: unknown }>(make: (name: CollectionName) => unknown): Each {
  return Object.fromEntries(COLLECTION_NAMES.map((name) => [name, make(name)])) as Each;
}
