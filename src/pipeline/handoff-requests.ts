/**
 * The resident's side of the staff inbox, as the turn pipeline writes it: a conversation handed
 * to a person (one open request per resident at a time), the resident's messages while a
 * person holds it, and the resident going back to the bot. Staff's side is
 * src/staff/handoff-desk.ts; both keep `lastActivityAt`, from which the idle hand-back counts.
 */
import { createHash } from 'node:crypto';
import type { HandoffReason, HandoffRecord } from '../domain/records.js';
import { scheduleJob } from '../store/jobs.js';
import type { Collections } from '../store/store.port.js';
import type { CommandScope } from './command-runner.js';

/** The job kind that hands an idle conversation back to the bot (run by src/staff/handoff-jobs.ts). */
export const HANDOFF_IDLE_JOB = 'handoff_idle';

const WRITE_ATTEMPTS = 10;
/** A resident has one open request; a few old ones never closed (from before the inbox) are read past. */
const OPEN_PER_RESIDENT_LIMIT = 20;

/** The id staff and URLs use for a request: a hash of the stored id, which names the resident. */
export function handoffRefOf(storedId: string): string {
  return createHash('sha256').update(storedId).digest('base64url').slice(0, 16);
}

/** The resident's open request, if any (the latest). */
export async function openHandoffOf(store: Pick<Collections, 'handoffs'>, address: string): Promise<HandoffRecord | null> {
  const mine = await store.handoffs.find({ field: 'address', equals: address }, { order: 'desc', limit: OPEN_PER_RESIDENT_LIMIT });
  return mine.find((handoff) => handoff.status === 'open') ?? null;
}

/**
 * Changes a request with a revision-checked write, read again on a conflict (the resident and
 * staff may write at once); `change` returns null to leave it. Returns what was written.
 */
export async function updateHandoff(
  store: Pick<Collections, 'handoffs'>,
  id: string,
  change: (current: HandoffRecord) => HandoffRecord | null,
): Promise<HandoffRecord | null> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await store.handoffs.get(id);
    if (!current) return null;
    const next = change(current);
    if (!next) return null;
    if (await store.handoffs.replace(next, current._rev)) return { ...next, _rev: current._rev + 1 };
  }
  throw new Error('A hand-off request kept changing while updating it');
}

/**
 * Hands the conversation to a person: a new request (keyed by the message, so a retried one
 * is one request), or the open one with one more message to read; and the idle check.
 */
export async function requestHandoff(
  store: Pick<Collections, 'handoffs' | 'jobs'>,
  scope: CommandScope,
  request: { reason: HandoffReason; about?: string | undefined },
  idleMs: number,
): Promise<void> {
  const open = await openHandoffOf(store, scope.address);
  if (open) {
    await noteActivity(store, open._id, scope.now, { unread: 1 });
    return;
  }
  const id = `${scope.sourceKey}|handoff`;
  const ref = handoffRefOf(id);
  await store.handoffs.insert({
    _id: id,
    ref,
    address: scope.address,
    channel: scope.channel,
    reason: request.reason,
    ...(request.about ? { about: request.about.slice(0, 200) } : {}),
    status: 'open',
    locale: scope.locale,
    at: scope.now,
    lastActivityAt: scope.now,
    unread: 1,
  });
  await scheduleIdleCheck(store, { ref, address: scope.address }, new Date(scope.now.getTime() + idleMs), scope.now);
}

/** The resident wrote while a person holds the conversation: one more message for staff to read. */
export async function residentWrote(store: Pick<Collections, 'handoffs' | 'jobs'>, scope: CommandScope, idleMs: number): Promise<void> {
  const open = await openHandoffOf(store, scope.address);
  // Staff closed it while the resident's hold was still in their conversation: a new request,
  // so the message is read by someone rather than by nobody.
  if (!open) return requestHandoff(store, scope, { reason: 'asked' }, idleMs);
  await noteActivity(store, open._id, scope.now, { unread: 1 });
}

/**
 * The resident went back to the bot (`resident`) or opted out (`opted_out`, so staff see why
 * their replies would not be sent): their request is closed.
 */
export async function residentLeft(store: Pick<Collections, 'handoffs'>, scope: CommandScope, closedBy: 'resident' | 'opted_out' = 'resident'): Promise<void> {
  const open = await openHandoffOf(store, scope.address);
  if (!open) return;
  await updateHandoff(store, open._id, (current) =>
    current.status === 'open' ? { ...current, status: 'closed', closedAt: scope.now, closedBy, lastActivityAt: scope.now } : null,
  );
}

/** Schedules (again) the check that hands an idle conversation back to the bot. */
export function scheduleIdleCheck(store: Pick<Collections, 'jobs'>, handoff: { ref: string; address: string }, dueAt: Date, now: Date): Promise<boolean> {
  return scheduleJob(store, { id: `handoff-idle|${handoff.ref}`, kind: HANDOFF_IDLE_JOB, dueAt, address: handoff.address, payload: { ref: handoff.ref } }, now);
}

async function noteActivity(store: Pick<Collections, 'handoffs'>, id: string, at: Date, add: { unread: number }): Promise<void> {
  await updateHandoff(store, id, (current) => ({
    ...current,
    lastActivityAt: current.lastActivityAt && current.lastActivityAt > at ? current.lastActivityAt : at,
    unread: (current.unread ?? 0) + add.unread,
  }));
}
