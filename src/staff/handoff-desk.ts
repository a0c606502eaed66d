/**
 * The staff inbox: conversations handed to a person (the resident asked, got stuck, asked
 * something the bot cannot answer, or answered a broadcast in words). Staff read the
 * conversation with what the resident has open, assign it, reply (the resident gets it on their
 * own channel, and the bot stays quiet while a person holds the conversation), and hand it back
 * to the bot. Replies and hand-backs are persisted jobs (job-scheduler.ts, handoff-jobs.ts), so
 * a restart loses none and sends none twice. Every action is in the audit log; what is said is
 * in the resident's transcript. The resident's side is src/pipeline/handoff-requests.ts.
 */
import { randomUUID } from 'node:crypto';
import type { CannedReplyRecord, HandoffRecord, ReportRecord, SignupRecord, TranscriptEntryRecord } from '../domain/records.js';
import { CATEGORIES, isCategory } from '../domain/vocabulary.js';
import { handoffRefOf, scheduleIdleCheck, updateHandoff } from '../pipeline/handoff-requests.js';
import { scheduleJob } from '../store/jobs.js';
import { recordAudit } from './audit-log.js';
import { HANDOFF_END_JOB, STAFF_REPLY_JOB } from './handoff-jobs.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';
import { USERNAME_PATTERN } from './staff-accounts.js';

/** Open requests are few: older ones without a stored `ref` are matched by hashing their ids. */
const OPEN_READ_LIMIT = 10_000;
const LIST_LIMIT = 200;
/** The transcript a person reads: the latest messages, enough to see what led here. */
const TRANSCRIPT_LIMIT = 100;
/** A staff reply fits two SMS segments of accented text and reads well in any chat. */
export const MAX_STAFF_REPLY_LENGTH = 1000;
const MAX_CANNED_TITLE_LENGTH = 80;
/** What a hand-off's staff id looks like (handoffRefOf): 16 base64url characters. */
const HANDOFF_ID = /^[A-Za-z0-9_-]{16}$/;
/** What a canned reply's id looks like (addCannedReply). */
const CANNED_REPLY_ID = /^canned-[0-9a-f-]{36}$/;

/** The id staff use for a hand-off request. */
export function handoffId(handoff: HandoffRecord): string {
  return handoff.ref ?? handoffRefOf(handoff._id);
}

/** Hand-off requests with a status: open ones oldest first (the longest waiting on top), closed ones newest first. */
export async function listHandoffs(deps: Pick<StaffDeps, 'store'>, status: HandoffRecord['status'], limit = LIST_LIMIT): Promise<HandoffRecord[]> {
  return deps.store.handoffs.find({ field: 'status', equals: status }, { order: status === 'open' ? 'asc' : 'desc', limit: Math.min(limit, LIST_LIMIT) });
}

/** How many conversations wait for a person (the dashboard home's count). */
export function waitingCount(deps: Pick<StaffDeps, 'store'>): Promise<number> {
  return deps.store.handoffs.count({ field: 'status', equals: 'open' });
}

/** A request by its staff id; a StaffError 404 when there is none. */
export async function getHandoff(deps: Pick<StaffDeps, 'store'>, id: string): Promise<HandoffRecord> {
  // Checked before the store sees it: an index key may not hold NUL or run long (a 500 the
  // bad-input fuzzer found).
  if (!HANDOFF_ID.test(id)) throw new StaffError(404, 'No hand-off request with that id');
  const [stored] = await deps.store.handoffs.find({ field: 'ref', equals: id }, { limit: 1 });
  if (stored) return stored;
  // Requests from before the inbox have no `ref`: only open ones still matter.
  const open = await deps.store.handoffs.find({ field: 'status', equals: 'open' }, { limit: OPEN_READ_LIMIT });
  const legacy = open.find((candidate) => !candidate.ref && handoffRefOf(candidate._id) === id);
  if (!legacy) throw new StaffError(404, 'No hand-off request with that id');
  return legacy;
}

/** What a person answering a hand-off sees. */
export interface HandoffConversation {
  handoff: HandoffRecord;
  /** The latest messages, oldest first. */
  transcript: TranscriptEntryRecord[];
  /** The resident's language, name and volunteer-call consent, from their profile. */
  resident: { locale: string; name?: string; optedOut: boolean };
  /** Reports of theirs that are not fixed or closed. */
  openReports: ReportRecord[];
  /** Their sign-ups that stand (confirmed or waitlisted). */
  signups: SignupRecord[];
  /** Staff replies and hand-backs not sent yet, or that could not be sent (with why). */
  outbox: { kind: string; state: string; dueAt: Date; lastError?: string }[];
}

/** A request with the conversation, the resident's language and what they have open. */
export async function handoffConversation(deps: Pick<StaffDeps, 'store' | 'config'>, id: string): Promise<HandoffConversation> {
  const { store } = deps;
  const handoff = await getHandoff(deps, id);
  const { address } = handoff;
  const [recent, resident, reports, signups, jobs] = await Promise.all([
    store.transcripts.find({ field: 'conversationId', equals: address }, { order: 'desc', limit: TRANSCRIPT_LIMIT }),
    store.residents.get(address),
    store.reports.find({ field: 'residentAddress', equals: address }, { order: 'desc', limit: 50 }),
    store.signups.find({ field: 'address', equals: address }, { order: 'desc', limit: 50 }),
    store.jobs.find({ field: 'address', equals: address }, { order: 'desc', limit: 50 }),
  ]);
  return {
    handoff,
    transcript: recent.reverse(),
    resident: {
      locale: resident?.locale ?? handoff.locale ?? deps.config.defaultLocale,
      ...(resident?.name ? { name: resident.name } : {}),
      optedOut: resident?.optedOut ?? false,
    },
    openReports: reports.filter((report) => report.statusGroup === 'open'),
    signups: signups.filter((signup) => signup.status === 'confirmed' || signup.status === 'waitlisted'),
    outbox: jobs
      // This request's own (by the job's id: a settled job's payload is dropped), so a reply that
      // failed in an earlier conversation of the resident's is not shown as this one's.
      .filter((job) => isJobOf(job, handoffId(handoff)) && job.state !== 'done')
      .map((job) => ({ kind: job.kind, state: job.state, dueAt: job.dueAt, ...(job.lastError ? { lastError: job.lastError } : {}) })),
  };
}

// The ids of a request's reply and hand-back jobs start with these and its id.
const STAFF_REPLY_JOB_PREFIX = 'staff-reply|';
const HANDOFF_END_JOB_PREFIX = 'handoff-end|';

/** Whether a job is a reply to, or the hand-back of, the request with this id. */
function isJobOf(job: { _id: string; kind: string }, ref: string): boolean {
  return (
    (job.kind === STAFF_REPLY_JOB && job._id.startsWith(`${STAFF_REPLY_JOB_PREFIX}${ref}|`)) ||
    (job.kind === HANDOFF_END_JOB && job._id.startsWith(`${HANDOFF_END_JOB_PREFIX}${ref}|`))
  );
}

/** Assigns a request to a staff member (or to nobody with null); audited. */
export async function assignHandoff(deps: Pick<StaffDeps, 'store'>, id: string, username: string | null, actor: Actor): Promise<HandoffRecord> {
  const handoff = await getHandoff(deps, id);
  // The form's shape first: a 20 kB "username" must be a 400, not a store key too long to read (a 500).
  if (username !== null && (!USERNAME_PATTERN.test(username.toLowerCase()) || !(await deps.store.staffUsers.get(username.toLowerCase()))?.active)) {
    throw new StaffError(400, 'No active staff account with that username');
  }
  const assigned = await updateHandoff(deps.store, handoff._id, (current) => {
    const { assignedTo: _previous, ...rest } = current;
    return username === null ? rest : { ...rest, assignedTo: username.toLowerCase() };
  });
  await recordAudit(deps.store, {
    actor: actor.username,
    action: 'handoff.assign',
    target: handoffId(handoff),
    details: { to: username?.toLowerCase() ?? null },
  });
  return assigned ?? handoff;
}

/**
 * Sends a person's reply to the resident, on their channel, in the same thread: a job, run at
 * once by the scheduler. The conversation is this person's until they hand back; a reply to a
 * closed request opens it again. Audited (without the text, which is in the transcript).
 */
export async function replyToHandoff(deps: Pick<StaffDeps, 'store' | 'jobs' | 'config'>, id: string, text: string, actor: Actor): Promise<HandoffRecord> {
  const reply = text.trim();
  if (!reply) throw new StaffError(400, 'Write a reply first');
  if (reply.length > MAX_STAFF_REPLY_LENGTH) throw new StaffError(400, `A reply may be at most ${MAX_STAFF_REPLY_LENGTH} characters`);
  const handoff = await getHandoff(deps, id);
  const now = new Date();
  const ref = handoffId(handoff);
  await scheduleJob(
    deps.store,
    {
      id: `${STAFF_REPLY_JOB_PREFIX}${ref}|${randomUUID()}`,
      kind: STAFF_REPLY_JOB,
      dueAt: now,
      address: handoff.address,
      payload: { ref, text: reply, staff: actor.username },
    },
    now,
  );
  const updated = await updateHandoff(deps.store, handoff._id, (current) => {
    const { closedAt: _closedAt, closedBy: _closedBy, ...rest } = current;
    return {
      ...rest,
      ref,
      status: 'open',
      unread: 0,
      lastActivityAt: now,
      answeredAt: current.answeredAt ?? now,
      assignedTo: current.assignedTo ?? actor.username,
    };
  });
  await scheduleIdleCheck(deps.store, { ref, address: handoff.address }, new Date(now.getTime() + deps.config.handoffIdleMs), now);
  await recordAudit(deps.store, { actor: actor.username, action: 'handoff.reply', target: ref, details: { length: reply.length } });
  deps.jobs.kick();
  return updated ?? handoff;
}

/** Hands the conversation back to the bot (the resident is told) and closes the request; audited. */
export async function handBack(deps: Pick<StaffDeps, 'store' | 'jobs'>, id: string, actor: Actor): Promise<HandoffRecord> {
  const handoff = await getHandoff(deps, id);
  if (handoff.status !== 'open') throw new StaffError(409, 'This conversation is already back with the bot');
  const now = new Date();
  const ref = handoffId(handoff);
  const closed = await updateHandoff(deps.store, handoff._id, (current) =>
    current.status === 'open' ? { ...current, ref, status: 'closed', closedAt: now, closedBy: actor.username, unread: 0 } : null,
  );
  if (!closed) throw new StaffError(409, 'This conversation is already back with the bot');
  await scheduleJob(
    deps.store,
    { id: `${HANDOFF_END_JOB_PREFIX}${ref}|${now.getTime()}`, kind: HANDOFF_END_JOB, dueAt: now, address: handoff.address, payload: { ref } },
    now,
  );
  await recordAudit(deps.store, { actor: actor.username, action: 'handoff.hand_back', target: ref });
  deps.jobs.kick();
  return closed;
}

/**
 * Closes a request without telling the resident (spam, or handled elsewhere); audited. A person
 * who was answering should hand back instead, so the resident knows the bot is back.
 */
export async function closeHandoff(deps: Pick<StaffDeps, 'store'>, id: string, actor: Actor): Promise<HandoffRecord> {
  const handoff = await getHandoff(deps, id);
  const now = new Date();
  const closed = await updateHandoff(deps.store, handoff._id, (current) =>
    current.status === 'open' ? { ...current, status: 'closed', closedAt: now, closedBy: actor.username, unread: 0 } : null,
  );
  if (!closed) throw new StaffError(404, 'No open hand-off request with that id (someone may have closed it already)');
  await recordAudit(deps.store, { actor: actor.username, action: 'handoff.close', target: handoffId(handoff) });
  return closed;
}

/** Canned replies, by language then title. */
export async function listCannedReplies(deps: Pick<StaffDeps, 'store' | 'i18n'>, locale?: string): Promise<CannedReplyRecord[]> {
  const locales = locale ? [locale] : deps.i18n.locales;
  const lists = await Promise.all(locales.map((each) => deps.store.cannedReplies.find({ field: 'locale', equals: each }, { limit: 500 })));
  return lists.flat();
}

/**
 * The canned replies for a report of a category, in the resident's language: offered as the note
 * of a status change (the resident reads it), by title.
 */
export async function cannedRepliesForReport(deps: Pick<StaffDeps, 'store'>, category: string, locale: string): Promise<CannedReplyRecord[]> {
  const replies = await deps.store.cannedReplies.find({ field: 'locale', equals: locale }, { limit: 500 });
  return replies.filter((reply) => reply.category === category);
}

/**
 * Adds a canned reply in one of the city's languages; audited. With a report category it is also
 * offered on the status form of that category's reports (cannedRepliesForReport).
 */
export async function addCannedReply(
  deps: Pick<StaffDeps, 'store' | 'i18n'>,
  input: { locale: string; title: string; text: string; category?: string | undefined },
  actor: Actor,
): Promise<CannedReplyRecord> {
  const title = input.title.trim();
  const text = input.text.trim();
  const category = input.category || undefined;
  if (!deps.i18n.locales.includes(input.locale)) throw new StaffError(400, `The language must be one of ${deps.i18n.locales.join(', ')}`);
  if (category !== undefined && !isCategory(category)) throw new StaffError(400, `Unknown category ${category}; one of ${CATEGORIES.join(', ')}`);
  if (!title || title.length > MAX_CANNED_TITLE_LENGTH) throw new StaffError(400, `A title of 1 to ${MAX_CANNED_TITLE_LENGTH} characters is needed`);
  if (!text || text.length > MAX_STAFF_REPLY_LENGTH) throw new StaffError(400, `A text of 1 to ${MAX_STAFF_REPLY_LENGTH} characters is needed`);
  const record = {
    _id: `canned-${randomUUID()}`,
    locale: input.locale,
    ...(category ? { category } : {}),
    title,
    text,
    createdBy: actor.username,
    createdAt: new Date(),
  };
  await deps.store.cannedReplies.insert(record);
  await recordAudit(deps.store, {
    actor: actor.username,
    action: 'canned_reply.add',
    target: record._id,
    details: { locale: record.locale, title, ...(category ? { category } : {}) },
  });
  return { ...record, _rev: 1 };
}

/** A canned reply's text by its id, if there is one with that id. */
export async function cannedReplyText(deps: Pick<StaffDeps, 'store'>, id: string): Promise<string | undefined> {
  return CANNED_REPLY_ID.test(id) ? (await deps.store.cannedReplies.get(id))?.text : undefined;
}

/** Removes a canned reply; audited. */
export async function removeCannedReply(deps: Pick<StaffDeps, 'store'>, id: string, actor: Actor): Promise<void> {
  if (!CANNED_REPLY_ID.test(id) || !(await deps.store.cannedReplies.delete(id))) throw new StaffError(404, 'No canned reply with that id');
  await recordAudit(deps.store, { actor: actor.username, action: 'canned_reply.remove', target: id });
}
