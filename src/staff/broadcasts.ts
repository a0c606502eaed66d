/**
 * Volunteer-call broadcasts on the staff side: preview an audience, create a broadcast (which
 * plans one delivery record per recipient), pause, resume or cancel it, and read its progress.
 * Sending is the broadcast worker's job (`broadcast-worker.ts`): a broadcast is persisted work,
 * so everything here only writes records, and a crash between two steps loses nothing.
 *
 * Counting is done with the store's indexes: each delivery sits in a bucket
 * `<broadcastId>|<state>|<channel>`, so one `count` per state and channel gives the dashboard its
 * numbers without reading a hundred thousand records.
 */
import type { Config } from '../config.js';
import { CHANNEL_NAMES, type ChannelName } from '../core/message.js';
import type { ResidentMessenger } from '../channels/resident-messenger.js';
import { matchesAudience, matchesMessageNarrowing } from '../domain/audience.js';
import { newReference, REFERENCE_ALPHABET, REFERENCE_LENGTH } from '../domain/reference.js';
import { createHash } from 'node:crypto';
import type { AudienceFilter, BroadcastRecord, BroadcastStatus, DeliveryRecord, DeliveryState, ResidentRecord } from '../domain/records.js';
import { reportAudience } from '../pipeline/report-followers.js';
import { findEvery } from '../store/find-every.js';
import type { Collections, Unsaved } from '../store/store.port.js';
import { recordAudit } from './audit-log.js';
import { StaffError, type Actor } from './staff-deps.js';

/** Every state a delivery can be in, in the order the dashboard shows them. */
export const DELIVERY_STATES: readonly DeliveryState[] = ['queued', 'sending', 'sent', 'delivered', 'failed', 'skipped'];

/** Every channel a resident can be on; each has its own delivery buckets and worker lane. */
export const BROADCAST_CHANNELS: readonly ChannelName[] = CHANNEL_NAMES;

/**
 * What one broadcast may cost a resident by SMS: this many GSM-7 segments (153 characters each
 * in a split message), for the staff's message and what SMS adds to it together.
 */
export const SMS_BROADCAST_SEGMENTS = 7;

/**
 * Room kept in that budget for what SMS adds to a broadcast: the numbered Yes/No of a volunteer
 * call and the opt-out line carriers expect ("Reply STOP to opt out."), in the longest language
 * (Spanish, 91 characters; test/channels/sms/segments.test.ts measures every locale).
 */
export const SMS_ADDED_CHARACTERS = 100;

/**
 * The longest message variant, in characters: one screen on a phone, and with the room above
 * kept, within the SMS budget (971 characters).
 */
export const MAX_MESSAGE_LENGTH = SMS_BROADCAST_SEGMENTS * 153 - SMS_ADDED_CHARACTERS;

/** The longest answer window, in hours (30 days), as for VOLUNTEER_CALL_ANSWER_HOURS. */
export const MAX_ANSWER_WINDOW_HOURS = 720;

/**
 * The most reports whose residents one broadcast may go to (Love Your Block): a role made from
 * reports takes at most this many (love-your-block.ts), and each is one read plus its followers.
 */
export const MAX_AUDIENCE_REPORTS = 200;

/**
 * The store parts an audience is read from: residents; the reports and followers of a Love Your
 * Block call; a shift's sign-ups; an idea's supports; a ballot's votes.
 */
export type AudienceStore = Pick<Collections, 'residents' | 'reports' | 'reportFollowers' | 'signups' | 'ideas' | 'ideaSupports' | 'ballotVotes'>;

/** How far ahead a broadcast may be scheduled: a year, so a typo in the year is caught. */
const MAX_SCHEDULE_AHEAD_MS = 366 * 86_400_000;

// Deliveries are inserted this many at a time: enough for LMDB to commit them in a few batches
// (and MongoDB to pipeline them), few enough to keep memory and latency flat.
const INSERT_CHUNK = 500;

// An idea's supporters read for its notices (issue 21): a city's most supported idea has
// thousands; the plan inserts their deliveries INSERT_CHUNK at a time.
const IDEA_AUDIENCE_READ = 100_000;

// Reasons and answers are tallied by reading the records only when there are at most this many;
// above it the dashboard shows the counts per state, which come from the indexes.
const TALLY_LIMIT = 5000;

/** The store bucket of a delivery: one index gives the worker its queue and the dashboard its counts. */
export function deliveryBucket(broadcastId: string, state: DeliveryState, channel: ChannelName): string {
  return `${broadcastId}|${state}|${channel}`;
}

/** A delivery's id: one per recipient per broadcast, so planning twice plans nobody twice. */
export function deliveryId(broadcastId: string, address: string): string {
  return `${broadcastId}|${address}`;
}

/** A delivery moved to another state, with its bucket to match. */
export function withState(delivery: DeliveryRecord, state: DeliveryState, now: Date, changes: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return { ...delivery, ...changes, state, bucket: deliveryBucket(delivery.broadcastId, state, delivery.channel), updatedAt: now };
}

/** The recipient counts of an audience, before anything is sent. */
export interface AudiencePreview {
  /** Residents in the audience: every one gets a delivery record. */
  total: number;
  /** Those who will be sent the message: not opted out, on a channel that is on. */
  sendable: number;
  /** Said STOP but still have volunteer calls on: planned, skipped and counted. */
  optedOut: number;
  /** On a channel whose credentials are not set: planned, skipped and counted. */
  channelOff: number;
  /** Sendable recipients per channel. */
  byChannel: Partial<Record<ChannelName, number>>;
  /** Sendable recipients per language (the message variant each gets). */
  byLocale: Record<string, number>;
  /** Of `total`, those in it as reporters or followers of the audience's reports (Love Your Block). */
  fromReports: number;
}

/** Whether a channel can be reached now; without it every channel counts as on. */
export type Reaches = (channel: ChannelName) => boolean;

/**
 * Counts who a broadcast to this audience would reach, for the "N recipients" shown before
 * sending. Reads the opted-in residents once through the `volunteerCalls` index (a city's
 * hundred thousand opted-in residents are one index range) and applies the same rule the plan
 * applies, so the preview and the plan agree.
 */
export async function previewAudience(
  store: AudienceStore,
  filter: AudienceFilter,
  now: Date = new Date(),
  reaches: Reaches = () => true,
): Promise<AudiencePreview> {
  const preview: AudiencePreview = { total: 0, sendable: 0, optedOut: 0, channelOff: 0, byChannel: {}, byLocale: {}, fromReports: 0 };
  for (const { resident, viaReports } of await audienceOf(store, filter, now)) {
    preview.total += 1;
    if (viaReports) preview.fromReports += 1;
    const skip = skipReason(resident, reaches);
    if (skip === 'opted_out') preview.optedOut += 1;
    else if (skip === 'channel_off') preview.channelOff += 1;
    else {
      preview.sendable += 1;
      preview.byChannel[resident.channel] = (preview.byChannel[resident.channel] ?? 0) + 1;
      preview.byLocale[resident.locale] = (preview.byLocale[resident.locale] ?? 0) + 1;
    }
  }
  return preview;
}

/** What staff ask for when creating a broadcast. */
export interface BroadcastInput {
  /** The message per language; the default language's is required, the others optional. */
  messages: Record<string, string>;
  audience: AudienceFilter;
  /** The role a "yes" signs up for; it must exist and be open. */
  roleId?: string;
  /** Not sent before this time; absent means now. */
  sendAt?: Date;
  /** How long a "yes" counts; VOLUNTEER_CALL_ANSWER_HOURS by default. */
  answerWindowHours?: number;
  /** The ballot the message carries (issue 21): a reply of numbers votes in it. It must be open. */
  ballotId?: string;
  /**
   * The broadcast's id, drawn by the caller and stored before (a ballot's result broadcast): a
   * second creation with it is refused (409), so two callers racing make one broadcast.
   */
  id?: string;
}

/** What creating a broadcast needs from the service (a `Service` has all of it). */
export interface BroadcastSetup {
  store: Collections;
  config: Pick<Config, 'defaultLocale' | 'volunteerCallAnswerHours'>;
  messenger: Pick<ResidentMessenger, 'reaches'>;
  i18n: { readonly locales: readonly string[] };
}

/** How many deliveries a plan made, and why the skipped ones are skipped. */
export interface PlanCounts {
  planned: number;
  queued: number;
  skipped: Record<string, number>;
}

/**
 * Creates a broadcast and plans its deliveries: checks the input (a message in the default
 * language, none longer than 1,000 characters, an open role), stores the broadcast as
 * `scheduled` with `planned` still 0, inserts one delivery per recipient, then sets `planned`.
 * The worker leaves a broadcast alone until `planned` is set, so it never sends half a plan, and
 * re-plans one whose planning a crash cut off (inserts of the same ids change nothing).
 */
export async function createBroadcast(
  setup: BroadcastSetup,
  input: BroadcastInput,
  actor: Actor,
  now: Date = new Date(),
): Promise<{ broadcast: BroadcastRecord; plan: PlanCounts }> {
  const { store, config } = setup;
  const messages = checkMessages(input.messages, config.defaultLocale, setup.i18n.locales);
  const sendAt = input.sendAt ?? now;
  if (Number.isNaN(sendAt.getTime())) throw invalid('sendAt: must be a date and time');
  if (sendAt.getTime() > now.getTime() + MAX_SCHEDULE_AHEAD_MS) throw invalid('sendAt: must be within a year from now');
  const answerWindowHours = input.answerWindowHours ?? Math.max(1, config.volunteerCallAnswerHours);
  if (!(answerWindowHours >= 1 && answerWindowHours <= MAX_ANSWER_WINDOW_HOURS)) {
    throw invalid(`answerWindowHours: must be between 1 and ${MAX_ANSWER_WINDOW_HOURS}`);
  }
  const audience = checkAudience(input.audience);
  if (audience.shiftId !== undefined) {
    const shift = await store.shifts.get(audience.shiftId);
    if (!shift) throw invalid(`audience.shiftId: no shift ${audience.shiftId}`);
    if (shift.status !== 'open') throw invalid(`audience.shiftId: shift ${audience.shiftId} is cancelled`);
    // A "yes" to a message about a shift signs up for nothing: its volunteers are signed up.
    if (input.roleId !== undefined) throw invalid("roleId: a message to a shift's volunteers is not a volunteer call");
  }
  if (audience.ballotId !== undefined) {
    const ballot = await store.ballots.get(audience.ballotId);
    if (!ballot) throw invalid(`audience.ballotId: no ballot ${audience.ballotId}`);
    if (input.roleId !== undefined || input.ballotId !== undefined) throw invalid("roleId, ballotId: a message to a ballot's voters is not a call or a ballot");
  }
  if (input.ballotId !== undefined) {
    const ballot = await store.ballots.get(input.ballotId);
    if (!ballot) throw invalid(`ballotId: no ballot ${input.ballotId}`);
    if (ballot.status !== 'open') throw invalid(`ballotId: ballot ${input.ballotId} is not open`);
    if (input.roleId !== undefined) throw invalid('roleId: a ballot is not a volunteer call');
  }
  if (input.roleId !== undefined) {
    const role = await store.roles.get(input.roleId);
    if (!role) throw invalid(`roleId: no volunteer role ${input.roleId}`);
    if (role.status !== 'open') throw invalid(`roleId: volunteer role ${input.roleId} is closed`);
  }

  const draft: Omit<Unsaved<BroadcastRecord>, '_id'> = {
    ...(input.roleId !== undefined ? { roleId: input.roleId } : {}),
    ...(input.ballotId !== undefined ? { ballotId: input.ballotId } : {}),
    messages,
    audience,
    status: 'scheduled',
    sendAt: sendAt.getTime() < now.getTime() ? now : sendAt,
    answerWindowHours,
    planned: 0,
    createdBy: actor.username,
    kind: 'broadcast',
    createdAt: now,
    updatedAt: now,
  };
  let broadcast: BroadcastRecord | null = null;
  if (input.id !== undefined) {
    const candidate = { ...draft, _id: input.id };
    if (!(await store.broadcasts.insert(candidate))) throw new StaffError(409, `Broadcast ${input.id} exists already`);
    broadcast = { ...candidate, _rev: 1 };
  }
  // Five random characters: a clash is rare, and a second draw settles it.
  for (let attempt = 0; attempt < 5 && !broadcast; attempt++) {
    const candidate = { ...draft, _id: newReference('B') };
    if (await store.broadcasts.insert(candidate)) broadcast = { ...candidate, _rev: 1 };
  }
  if (!broadcast) throw new Error('Could not draw an unused broadcast reference');

  const plan = await planBroadcast(store, (channel) => setup.messenger.reaches(channel), broadcast);
  const planned = (await finishPlanning(store, broadcast._id, now)) ?? broadcast;
  await recordAudit(
    store,
    {
      actor: actor.username,
      action: 'broadcast.create',
      target: broadcast._id,
      details: {
        planned: plan.planned,
        queued: plan.queued,
        skipped: plan.skipped,
        locales: Object.keys(messages),
        audience: draft.audience,
        sendAt: draft.sendAt.toISOString(),
        ...(input.roleId !== undefined ? { roleId: input.roleId } : {}),
        ...(input.ballotId !== undefined ? { ballotId: input.ballotId } : {}),
      },
    },
    now,
  );
  return { broadcast: planned, plan };
}

/** How many times the same broadcast (createBroadcastOnce) may go out, one after the other. */
const MAX_REPEATS = 20;

/**
 * Creates a broadcast unless the same one is still going out. What makes two the same is `what`
 * (a ballot and its audience, a role's call, a shift's message) with the audience and the words:
 * the n-th of them gets a broadcast id derived from all that and n, so a second click, a reloaded
 * form or a second coordinator while the first is scheduled, sending or paused finds it and is
 * refused (409 naming it), instead of texting everyone twice. Once it is done or cancelled, the
 * next n goes out (a reminder is the same words again, later). Another text or audience is
 * another broadcast, at once.
 */
export async function createBroadcastOnce(
  setup: BroadcastSetup,
  input: Omit<BroadcastInput, 'id'>,
  what: string,
  actor: Actor,
  now: Date = new Date(),
): Promise<{ broadcast: BroadcastRecord; plan: PlanCounts }> {
  const messages = Object.entries(input.messages)
    .map(([locale, text]) => [locale, text.trim()])
    .sort(([a], [b]) => String(a).localeCompare(String(b)));
  const key = createHash('sha256')
    .update(JSON.stringify([what, input.roleId ?? null, input.ballotId ?? null, audienceKey(input.audience), messages]))
    .digest('hex');
  const busy = (id: string) =>
    new StaffError(409, `The same message to the same residents is going out already (broadcast ${id}): wait until it is done, or pause or cancel it`);
  for (let n = 1; n <= MAX_REPEATS; n++) {
    const id = derivedBroadcastId(`${key}|${n}`);
    const existing = await setup.store.broadcasts.get(id);
    // Another broadcast that drew this reference by chance is not ours: try the next.
    const ours = existing && existing.roleId === input.roleId && existing.ballotId === input.ballotId && existing.audience.shiftId === input.audience.shiftId;
    if (existing && (!ours || existing.status === 'done' || existing.status === 'cancelled')) continue;
    if (existing) throw busy(existing._id);
    try {
      return await createBroadcast(setup, { ...input, id }, actor, now);
    } catch (error) {
      // Made meanwhile by a second request at the same moment.
      if (error instanceof StaffError && error.status === 409) throw busy(id);
      throw error;
    }
  }
  throw new StaffError(409, `The same message went to the same residents ${MAX_REPEATS} times already`);
}

/** An audience as a stable key: the same residents asked for in any order give the same key. */
function audienceKey(audience: AudienceFilter): string {
  return JSON.stringify(
    Object.entries(audience)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => [name, Array.isArray(value) ? [...(value as unknown[])].map(String).sort() : value])
      .sort(([a], [b]) => String(a).localeCompare(String(b))),
  );
}

/** A broadcast reference (`B-` and five characters of the reference alphabet) derived from a text. */
function derivedBroadcastId(text: string): string {
  const digest = createHash('sha256').update(text).digest();
  let code = '';
  for (let i = 0; i < REFERENCE_LENGTH; i++) code += REFERENCE_ALPHABET[digest[i]! % REFERENCE_ALPHABET.length];
  return `B-${code}`;
}

/**
 * Inserts one delivery per resident in the broadcast's audience, most recently active first
 * (they are the likeliest to answer, so they hear first). Opted-out residents and residents of
 * a channel that is off get a `skipped` delivery with the reason, so they are counted. The
 * audience is taken as of the broadcast's creation, so planning again (after a crash) plans the
 * same residents, and an insert of an existing id changes nothing.
 */
export async function planBroadcast(store: AudienceStore & Pick<Collections, 'deliveries'>, reaches: Reaches, broadcast: BroadcastRecord): Promise<PlanCounts> {
  const members = await audienceOf(store, broadcast.audience, broadcast.createdAt);
  const counts: PlanCounts = { planned: 0, queued: 0, skipped: {} };
  const deliveries = members.map(({ resident, viaReports }, seq): Unsaved<DeliveryRecord> => {
    const reason = skipReason(resident, reaches);
    const state: DeliveryState = reason ? 'skipped' : 'queued';
    counts.planned += 1;
    if (reason) counts.skipped[reason] = (counts.skipped[reason] ?? 0) + 1;
    else counts.queued += 1;
    return {
      _id: deliveryId(broadcast._id, resident.address),
      broadcastId: broadcast._id,
      address: resident.address,
      channel: resident.channel,
      locale: resident.locale,
      seq,
      state,
      bucket: deliveryBucket(broadcast._id, state, resident.channel),
      ...(reason ? { reason } : {}),
      ...(viaReports ? { via: 'reports' as const } : {}),
      attempts: 0,
      createdAt: broadcast.createdAt,
      updatedAt: broadcast.createdAt,
    };
  });
  for (let start = 0; start < deliveries.length; start += INSERT_CHUNK) {
    await Promise.all(deliveries.slice(start, start + INSERT_CHUNK).map((delivery) => store.deliveries.insert(delivery)));
  }
  return counts;
}

/**
 * Records that a broadcast's plan is complete: `planned` from the stored deliveries, `done` at
 * once when nobody is in the audience, and the queue swept again if staff cancelled while it was
 * being planned. Returns the updated broadcast (null if it no longer exists).
 */
export async function finishPlanning(store: Pick<Collections, 'broadcasts' | 'deliveries'>, broadcastId: string, now: Date): Promise<BroadcastRecord | null> {
  const planned = await store.deliveries.count({ field: 'broadcastId', equals: broadcastId });
  const updated = await updateBroadcast(store, broadcastId, (current) => ({
    ...current,
    planned,
    ...(planned === 0 && current.status !== 'cancelled' ? { status: 'done' as const, finishedAt: now } : {}),
    updatedAt: now,
  }));
  if (updated?.status === 'cancelled') await skipQueued(store, broadcastId, 'cancelled', now);
  return updated;
}

/** Pauses a scheduled or sending broadcast: the worker finishes the messages in flight and takes no more. */
export function pauseBroadcast(store: Pick<Collections, 'broadcasts' | 'audit'>, id: string, actor: Actor, now: Date = new Date()): Promise<BroadcastRecord> {
  return changeStatus(store, id, actor, now, { action: 'pause', from: ['scheduled', 'sending'], to: 'paused' });
}

/**
 * Resumes a paused broadcast. It becomes `scheduled` again: the worker starts it at once when its
 * time has come, or at its time when it was paused before it.
 */
export function resumeBroadcast(store: Pick<Collections, 'broadcasts' | 'audit'>, id: string, actor: Actor, now: Date = new Date()): Promise<BroadcastRecord> {
  return changeStatus(store, id, actor, now, { action: 'resume', from: ['paused'], to: 'scheduled' });
}

/**
 * Cancels a broadcast: the status first (so the worker stops taking deliveries), then every
 * delivery still queued becomes `skipped` with reason `cancelled`. Messages already in flight
 * finish and are counted as what they became.
 */
export async function cancelBroadcast(
  store: Pick<Collections, 'broadcasts' | 'deliveries' | 'audit'>,
  id: string,
  actor: Actor,
  now: Date = new Date(),
): Promise<{ broadcast: BroadcastRecord; skipped: number }> {
  const changed = await changeStatus(store, id, actor, now, { action: 'cancel', from: ['scheduled', 'sending', 'paused'], to: 'cancelled' });
  const skipped = await skipQueued(store, id, 'cancelled', now);
  const broadcast = (await finishIfSettled(store, id, now)) ?? changed;
  return { broadcast, skipped };
}

/**
 * Marks a cancelled broadcast finished once nothing of it is in flight any more. The worker calls
 * it after each message it sends for a cancelled broadcast; returns the broadcast as it is now.
 */
export async function finishIfSettled(store: Pick<Collections, 'broadcasts' | 'deliveries'>, id: string, now: Date): Promise<BroadcastRecord | null> {
  const current = await store.broadcasts.get(id);
  if (!current || current.status !== 'cancelled' || current.finishedAt) return current;
  if ((await countIn(store, id, ['queued', 'sending'])) > 0) return current;
  return updateBroadcast(store, id, (latest) => (latest.status === 'cancelled' && !latest.finishedAt ? { ...latest, finishedAt: now, updatedAt: now } : null));
}

/** Where a broadcast is: its status and the deliveries per state, per channel and per answer. */
export interface BroadcastProgress {
  id: string;
  status: BroadcastStatus;
  planned: number;
  sendAt: Date;
  finishedAt?: Date;
  byState: Record<DeliveryState, number>;
  /** Per channel that has deliveries, the deliveries per state. */
  byChannel: Partial<Record<ChannelName, Record<DeliveryState, number>>>;
  /** Skipped and failed deliveries per reason (`opted_out`, `cancelled`, `interrupted`...), when few enough to read. */
  byReason?: Record<string, number>;
  /** Residents who answered the call. */
  answered: number;
  /** The answers per outcome (`confirmed`, `waitlisted`...), when few enough to read. */
  byAnswer?: Record<string, number>;
}

/**
 * A broadcast's progress for the dashboard, cheap enough to poll: one index count per state and
 * channel, plus the answers; reasons and answer outcomes are tallied only while there are few.
 */
export async function broadcastProgress(store: Pick<Collections, 'broadcasts' | 'deliveries'>, id: string): Promise<BroadcastProgress | null> {
  const broadcast = await store.broadcasts.get(id);
  if (!broadcast) return null;
  const cells = BROADCAST_CHANNELS.flatMap((channel) => DELIVERY_STATES.map((state) => ({ channel, state })));
  const [counts, answered] = await Promise.all([
    Promise.all(cells.map(({ channel, state }) => store.deliveries.count({ field: 'bucket', equals: deliveryBucket(id, state, channel) }))),
    store.deliveries.count({ field: 'answeredIn', equals: id }),
  ]);
  const byState = zeroStates();
  const byChannel: BroadcastProgress['byChannel'] = {};
  cells.forEach(({ channel, state }, i) => {
    const count = counts[i] ?? 0;
    if (count === 0) return;
    byState[state] += count;
    (byChannel[channel] ??= zeroStates())[state] += count;
  });
  const progress: BroadcastProgress = {
    id,
    status: broadcast.status,
    planned: broadcast.planned,
    sendAt: broadcast.sendAt,
    ...(broadcast.finishedAt ? { finishedAt: broadcast.finishedAt } : {}),
    byState,
    byChannel,
    answered,
  };
  if (byState.skipped + byState.failed <= TALLY_LIMIT) {
    const channels = Object.keys(byChannel) as ChannelName[];
    const finished = await Promise.all(
      channels.flatMap((channel) =>
        (['skipped', 'failed'] as const).map((state) => store.deliveries.find({ field: 'bucket', equals: deliveryBucket(id, state, channel) })),
      ),
    );
    progress.byReason = tally(finished.flat().map((delivery) => delivery.reason ?? 'unknown'));
  }
  if (answered > 0 && answered <= TALLY_LIMIT) {
    const answers = await store.deliveries.find({ field: 'answeredIn', equals: id });
    progress.byAnswer = tally(answers.map((delivery) => delivery.answer ?? 'unknown'));
  }
  return progress;
}

/** The latest broadcasts, newest first. */
export function listBroadcasts(store: Pick<Collections, 'broadcasts'>, limit = 50): Promise<BroadcastRecord[]> {
  return store.broadcasts.find({ field: 'kind', equals: 'broadcast' }, { order: 'desc', limit: Math.max(1, Math.min(Math.floor(limit) || 1, 200)) });
}

/** One broadcast, or null. */
export function getBroadcast(store: Pick<Collections, 'broadcasts'>, id: string): Promise<BroadcastRecord | null> {
  return store.broadcasts.get(id);
}

/**
 * Marks every still-queued delivery of a broadcast skipped with a reason; returns how many. A
 * delivery the worker claims meanwhile leaves the queue and is sent; one that changes is read
 * again on the next page, so the loop ends with the queue empty.
 */
export async function skipQueued(store: Pick<Collections, 'deliveries'>, broadcastId: string, reason: string, now: Date): Promise<number> {
  let skipped = 0;
  for (const channel of BROADCAST_CHANNELS) {
    const bucket = deliveryBucket(broadcastId, 'queued', channel);
    for (;;) {
      const page = await store.deliveries.find({ field: 'bucket', equals: bucket }, { limit: INSERT_CHUNK });
      if (page.length === 0) break;
      const moved = await Promise.all(page.map((delivery) => store.deliveries.replace(withState(delivery, 'skipped', now, { reason }), delivery._rev)));
      skipped += moved.filter(Boolean).length;
    }
  }
  return skipped;
}

/** How many deliveries of a broadcast are in any of these states, over every channel. */
export async function countIn(store: Pick<Collections, 'deliveries'>, broadcastId: string, states: readonly DeliveryState[]): Promise<number> {
  const counts = await Promise.all(
    BROADCAST_CHANNELS.flatMap((channel) =>
      states.map((state) => store.deliveries.count({ field: 'bucket', equals: deliveryBucket(broadcastId, state, channel) })),
    ),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

/**
 * Applies a change to the stored broadcast with optimistic concurrency, re-reading on a
 * conflict (the worker and staff may write it at once). `change` returns null to leave it as it
 * is. Returns the broadcast as stored afterwards, or null when there is none.
 */
export async function updateBroadcast(
  store: Pick<Collections, 'broadcasts'>,
  id: string,
  change: (current: BroadcastRecord) => BroadcastRecord | null,
): Promise<BroadcastRecord | null> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const current = await store.broadcasts.get(id);
    if (!current) return null;
    const next = change(current);
    if (!next) return current;
    if (await store.broadcasts.replace(next, current._rev)) return { ...next, _rev: current._rev + 1 };
  }
  throw new Error(`Broadcast ${id} kept changing while being updated`);
}

async function changeStatus(
  store: Pick<Collections, 'broadcasts' | 'audit'>,
  id: string,
  actor: Actor,
  now: Date,
  move: { action: string; from: readonly BroadcastStatus[]; to: BroadcastStatus },
): Promise<BroadcastRecord> {
  let refused: BroadcastStatus | undefined;
  const updated = await updateBroadcast(store, id, (current) => {
    refused = move.from.includes(current.status) ? undefined : current.status;
    return refused ? null : { ...current, status: move.to, updatedAt: now };
  });
  if (!updated) throw new StaffError(404, `No broadcast ${id}`);
  if (refused) throw new StaffError(409, `Cannot ${move.action} broadcast ${id}: it is ${refused}`);
  await recordAudit(store, { actor: actor.username, action: `broadcast.${move.action}`, target: id, details: { status: move.to } }, now);
  return updated;
}

/** One resident of an audience, and whether they are in it through its reports. */
interface AudienceMember {
  resident: ResidentRecord;
  viaReports: boolean;
}

/**
 * The residents in an audience, each once: a shift's confirmed volunteers; or the reports'
 * reporters and followers first, in the reports' order (the call is about their street), then
 * the opted-in residents, most recently active first.
 */
async function audienceOf(store: AudienceStore, filter: AudienceFilter, now: Date): Promise<AudienceMember[]> {
  // Everyone who voted in a ballot, once each (a vote's id is ballot and address), in voting order.
  if (filter.ballotId !== undefined) {
    const votes = await store.ballotVotes.find({ field: 'ballotId', equals: filter.ballotId }, { order: 'asc' });
    const residents = await Promise.all(votes.map((vote) => store.residents.get(vote.address)));
    return residents.flatMap((resident) => (resident ? [{ resident, viaReports: false }] : []));
  }
  // An idea's supporters and author (told it reached its threshold, or staff answered): the whole audience.
  if (filter.ideaId !== undefined) return (await ideaAudience(store, filter.ideaId, now)).map((resident) => ({ resident, viaReports: false }));
  // A shift's confirmed volunteers, in sign-up order: the whole audience (a coordinator messaging one shift).
  if (filter.shiftId !== undefined) {
    const signups = await findEvery(store.signups, { field: 'shiftId', equals: filter.shiftId }, (signup) => signup.createdAt);
    const residents = await Promise.all(signups.filter((signup) => signup.status === 'confirmed').map((signup) => store.residents.get(signup.address)));
    return residents.flatMap((resident) => (resident ? [{ resident, viaReports: false }] : []));
  }
  const members: AudienceMember[] = [];
  const seen = new Set<string>();
  for (const resident of await reportResidents(store, filter)) {
    if (seen.has(resident.address)) continue;
    seen.add(resident.address);
    members.push({ resident, viaReports: true });
  }
  if (filter.optedIn === false) return members;
  // No limit: the index range of opted-in residents is the audience's upper bound, and the
  // embedded store reads it in one pass (100,000 residents are tens of megabytes, briefly).
  const optedIn = await store.residents.find({ field: 'volunteerCalls', equals: true }, { order: 'desc' });
  for (const resident of optedIn) {
    if (seen.has(resident.address) || !matchesAudience(resident, filter, now)) continue;
    seen.add(resident.address);
    members.push({ resident, viaReports: false });
  }
  return members;
}

/**
 * The residents behind the audience's reports (their reporters and followers, as a status change
 * tells them), narrowed by channel and language. A reporter who deleted their data, a report posted
 * through Open311 and an address with no resident record are nobody to call.
 */
async function reportResidents(store: AudienceStore, filter: AudienceFilter): Promise<ResidentRecord[]> {
  const residents: ResidentRecord[] = [];
  const seen = new Set<string>();
  for (const ref of (filter.reports ?? []).slice(0, MAX_AUDIENCE_REPORTS)) {
    const report = await store.reports.get(ref);
    if (!report) continue;
    for (const address of await reportAudience(store, report)) {
      if (seen.has(address)) continue;
      seen.add(address);
      const resident = await store.residents.get(address);
      if (resident && matchesMessageNarrowing(resident, filter)) residents.push(resident);
    }
  }
  return residents;
}

/**
 * An idea's author and its supporters as of `at` (a notice is about what happened then, and a
 * plan made again after a crash plans the same residents), in the order they supported it.
 * Bounded by IDEA_AUDIENCE_READ supporters; residents whose data was deleted are not in it.
 */
async function ideaAudience(store: AudienceStore, ideaId: string, at: Date): Promise<ResidentRecord[]> {
  const idea = await store.ideas.get(ideaId);
  if (!idea) return [];
  const supports = await store.ideaSupports.find({ field: 'ideaId', equals: ideaId }, { order: 'asc', limit: IDEA_AUDIENCE_READ });
  const addresses = [idea.authorAddress, ...supports.filter((support) => support.at.getTime() <= at.getTime()).map((support) => support.address)];
  const residents: ResidentRecord[] = [];
  for (let start = 0; start < addresses.length; start += INSERT_CHUNK) {
    const chunk = await Promise.all(addresses.slice(start, start + INSERT_CHUNK).map((address) => store.residents.get(address)));
    residents.push(...chunk.filter((resident): resident is ResidentRecord => resident !== null));
  }
  return residents;
}

/** Why a resident in the audience is not sent the message, if they are not. */
function skipReason(resident: ResidentRecord, reaches: Reaches): 'opted_out' | 'channel_off' | null {
  if (resident.optedOut) return 'opted_out';
  if (!reaches(resident.channel)) return 'channel_off';
  return null;
}

/** The messages trimmed, checked against the locales, with the default language's present. */
function checkMessages(messages: Record<string, string>, defaultLocale: string, locales: readonly string[]): Record<string, string> {
  const cleaned: Record<string, string> = {};
  for (const [locale, text] of Object.entries(messages)) {
    if (!locales.includes(locale)) throw invalid(`messages.${locale}: not a language of this service (${locales.join(', ')})`);
    const trimmed = text.trim();
    if (trimmed.length === 0) throw invalid(`messages.${locale}: must not be empty`);
    if ([...trimmed].length > MAX_MESSAGE_LENGTH) throw invalid(`messages.${locale}: must be at most ${MAX_MESSAGE_LENGTH} characters`);
    cleaned[locale] = trimmed;
  }
  if (cleaned[defaultLocale] === undefined) {
    throw invalid(`messages.${defaultLocale}: required (residents whose language has no variant get the ${defaultLocale} one)`);
  }
  return cleaned;
}

/** The filter as stored: empty lists dropped (they narrow nothing), text trimmed, values checked. */
function checkAudience(filter: AudienceFilter): AudienceFilter {
  const list = (values: readonly string[] | undefined) => [...new Set((values ?? []).map((value) => value.trim()).filter(Boolean))];
  const channels = [...new Set(filter.channels ?? [])];
  const unknown = channels.find((channel) => !BROADCAST_CHANNELS.includes(channel));
  if (unknown !== undefined) throw invalid(`audience.channels: must be some of ${BROADCAST_CHANNELS.join(', ')}`);
  const days = filter.activeWithinDays;
  if (days !== undefined && !(Number.isInteger(days) && days >= 1)) throw invalid('audience.activeWithinDays: must be a whole number of days, at least 1');
  const locales = list(filter.locales);
  const interests = list(filter.interests);
  const neighbourhoods = list(filter.neighbourhoods);
  const reports = list(filter.reports).map((ref) => ref.toUpperCase());
  if (reports.length > MAX_AUDIENCE_REPORTS) throw invalid(`audience.reports: at most ${MAX_AUDIENCE_REPORTS} reports`);
  if (filter.optedIn === false && reports.length === 0) throw invalid('audience.optedIn: false leaves nobody without audience.reports');
  // A ballot's voters or a shift's confirmed volunteers: each is the whole audience.
  const narrowed =
    channels.length || locales.length || interests.length || neighbourhoods.length || days !== undefined || reports.length || filter.optedIn !== undefined;
  for (const [field, value, who] of [
    ['ballotId', filter.ballotId, "a ballot's voters"],
    ['shiftId', filter.shiftId, "a shift's confirmed volunteers"],
  ] as const) {
    const id = value?.trim();
    if (id === undefined) continue;
    if (!id) throw invalid(`audience.${field}: must not be empty`);
    const other = field === 'ballotId' ? filter.shiftId : filter.ballotId;
    if (narrowed || other !== undefined) throw invalid(`audience.${field}: ${who} are the whole audience; no other field narrows it`);
    return field === 'ballotId' ? { ballotId: id } : { shiftId: id };
  }
  return {
    ...(channels.length ? { channels } : {}),
    ...(locales.length ? { locales } : {}),
    ...(interests.length ? { interests } : {}),
    ...(neighbourhoods.length ? { neighbourhoods } : {}),
    ...(days !== undefined ? { activeWithinDays: days } : {}),
    ...(reports.length ? { reports } : {}),
    ...(filter.optedIn === false ? { optedIn: false } : {}),
  };
}

/** A 400 for staff: what is wrong with the input (field and rule, never a resident's data). */
function invalid(message: string): StaffError {
  return new StaffError(400, `Invalid broadcast. ${message}`);
}

function zeroStates(): Record<DeliveryState, number> {
  return { queued: 0, sending: 0, sent: 0, delivered: 0, failed: 0, skipped: 0 };
}

function tally(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
