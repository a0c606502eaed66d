/**
 * Outbound messages as stored records, shared by every channel's sender: created once (an id
 * derived from what caused the message makes a retry find the first attempt's record), moved
 * through their states, and an opt-out recorded when a provider says the resident is gone.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ChannelName } from '../core/message.js';
import type { OutboundMessageRecord } from '../domain/records.js';
import type { Collections } from '../store/store.port.js';
import type { OutboundPurpose, SendOutcome } from './channel.js';

/** What is needed to record a message before sending it. */
export interface NewOutbound {
  /**
   * What makes this message unique when it answers something (address, inbound key, position),
   * so a retry finds the first attempt's record. Hashed into the id: ids appear in logs, and a
   * phone number or chat id must not.
   */
  idempotencyKey?: string;
  channel: ChannelName;
  address: string;
  text: string;
  purpose: string;
  mediaUrl?: string;
}

/** Records a message as queued, or returns the record a first attempt already made. */
export async function createOutbound(store: Collections, message: NewOutbound): Promise<OutboundMessageRecord> {
  return (await insertOutbound(store, outboundRecord(outboundId(message), message))).record;
}

/**
 * A message's record id: derived from its idempotency key (so a retry finds the first attempt's
 * record), else a new one. Known before anything is written, so a sender can tell a second
 * delivery of the same message that is already in flight in this process.
 */
export function outboundId(message: NewOutbound): string {
  return message.idempotencyKey ? `O-${createHash('sha256').update(message.idempotencyKey).digest('hex').slice(0, 32)}` : `O-${randomUUID()}`;
}

/** The state a new record starts in: queued, or already what the sender does next. */
export type OutboundStart =
  | { state: 'queued' }
  /** Its first request goes out right after the insert (see `insertOutbound`). */
  | { state: 'sending'; attempts: 1 }
  | { state: 'skipped'; lastError: string };

/** A new record, not yet written. */
export function outboundRecord(id: string, message: NewOutbound, start: OutboundStart = { state: 'queued' }): Omit<OutboundMessageRecord, '_rev'> {
  const now = new Date();
  return {
    _id: id,
    channel: message.channel,
    address: message.address,
    text: message.text,
    ...(message.mediaUrl ? { mediaUrl: message.mediaUrl } : {}),
    purpose: message.purpose,
    attempts: 0,
    ...start,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * Inserts a new record, or returns the one a first attempt made (`created` false). A sender that
 * finds no record and is about to send inserts it as "sending" (or "skipped" when it will not
 * send): one write where queued-then-sending took two, each validated, encoded and a commit to
 * wait for. The meaning of "sending" stays the same: a request is in flight, so a record left so
 * by a crash may have arrived. (Measured: see the Telegram sender's `deliver`.)
 */
export async function insertOutbound(
  store: Collections,
  record: Omit<OutboundMessageRecord, '_rev'>,
): Promise<{ record: OutboundMessageRecord; created: boolean }> {
  if (await store.outbound.insert(record)) return { record: { ...record, _rev: 1 }, created: true };
  const existing = await store.outbound.get(record._id);
  if (!existing) throw new Error('Outbound record vanished right after a conflicting insert');
  return { record: existing, created: false };
}

/** Writes changes to a record its sender owns (nobody else writes it while it is being sent). */
export function updateOutbound(store: Collections, record: OutboundMessageRecord, changes: Partial<OutboundMessageRecord>): Promise<OutboundMessageRecord> {
  return store.outbound.upsert({ ...record, ...changes, updatedAt: new Date() });
}

/**
 * Records that a provider told us the resident is unreachable by choice (texted STOP to the
 * carrier, blocked the bot): an opt-out like any other, with its own consent event.
 */
export async function recordProviderOptOut(
  store: Collections,
  options: { address: string; channel: ChannelName; keyword: string; eventId: string },
): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const resident = await store.residents.get(options.address);
    if (!resident || resident.optedOut || (await store.residents.replace({ ...resident, optedOut: true }, resident._rev))) break;
  }
  await store.consentEvents.insert({
    _id: `${options.eventId}|consent`,
    address: options.address,
    channel: options.channel,
    kind: 'opt_out',
    keyword: options.keyword,
    at: new Date(),
  });
}

/**
 * Sends something once per idempotency key, for channels whose sending is one call (web chat):
 * records it, skips opted-out residents, and does not repeat an attempt a crash cut off.
 */
export async function sendRecorded(
  store: Collections,
  message: NewOutbound & { idempotencyKey: string; purpose: OutboundPurpose },
  deliver: () => Promise<void>,
): Promise<SendOutcome> {
  const optedOut = async () =>
    message.purpose !== 'reply' && message.purpose !== 'opt_out_confirmation' && (await store.residents.get(message.address))?.optedOut === true;
  const id = outboundId(message);
  let record = await store.outbound.get(id);
  if (!record) {
    // The first attempt: recorded once as what happens next, not queued and then changed.
    const skip = await optedOut();
    const inserted = await insertOutbound(
      store,
      outboundRecord(id, message, skip ? { state: 'skipped', lastError: 'opted out' } : { state: 'sending', attempts: 1 }),
    );
    if (inserted.created) return skip ? { state: 'skipped', reason: 'opted_out' } : deliverRecorded(store, inserted.record, deliver);
    record = inserted.record; // made meanwhile by another attempt: decided below like any found record
  }
  if (FINISHED_STATES.has(record.state)) return record.state === 'skipped' ? { state: 'skipped', reason: record.lastError ?? 'skipped' } : { state: 'sent' };
  if (wasCutOff(record)) {
    if (record.state === 'sending') await updateOutbound(store, record, { state: 'failed', lastError: INTERRUPTED });
    return { state: 'failed', error: INTERRUPTED, retryable: false, interrupted: true };
  }
  if (await optedOut()) {
    await updateOutbound(store, record, { state: 'skipped', lastError: 'opted out' });
    return { state: 'skipped', reason: 'opted_out' };
  }
  return deliverRecorded(store, await updateOutbound(store, record, { state: 'sending', attempts: record.attempts + 1 }), deliver);
}

/** Delivers a message whose record says "sending", and records how it went. */
async function deliverRecorded(store: Collections, sending: OutboundMessageRecord, deliver: () => Promise<void>): Promise<SendOutcome> {
  try {
    await deliver();
  } catch (error) {
    const description = redactNumbers(error instanceof Error ? error.message : String(error)).slice(0, 200);
    await updateOutbound(store, sending, { state: 'failed', lastError: description });
    return { state: 'failed', error: description, retryable: false };
  }
  await updateOutbound(store, sending, { state: 'sent' });
  return { state: 'sent' };
}

/** The error of a send a crash cut off: it may have arrived, so it is not repeated. */
export const INTERRUPTED = 'interrupted mid-send: it may have arrived, so it is not sent again';

/**
 * A record whose send a crash cut off: still "sending" with nobody sending it (the caller
 * checks nobody is), or already marked so by an earlier call. Either way it may have arrived.
 */
export function wasCutOff(record: OutboundMessageRecord): boolean {
  return record.state === 'sending' || (record.state === 'failed' && record.lastError === INTERRUPTED);
}

/** States after which a message is not sent again. */
export const FINISHED_STATES: ReadonlySet<string> = new Set(['sent', 'delivered', 'undelivered', 'skipped', 'outbox']);

/** Provider messages may quote the number ("The 'To' number +1555... is not valid"). */
export function redactNumbers(text: string): string {
  return text.replace(/\+?\d[\d\s().-]{5,}\d/g, '[number]');
}

/** An error of outbound work for a log line: its name and message with any phone number taken out. */
export function outboundErrorSummary(error: unknown): { name: string; message: string } {
  const name = error instanceof Error ? error.name : 'Error';
  const message = redactNumbers(error instanceof Error ? error.message : String(error)).slice(0, 200);
  return { name, message };
}

/**
 * Waits for all of some independent writes (issued together, the embedded store commits them in
 * one transaction), then throws the first failure: Promise.all would leave the others to fail
 * unobserved, and an unhandled rejection ends the process.
 */
export async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Waits; used between retries. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
