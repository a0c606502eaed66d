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
  const now = new Date();
  const record = {
    _id: message.idempotencyKey ? `O-${createHash('sha256').update(message.idempotencyKey).digest('hex').slice(0, 32)}` : `O-${randomUUID()}`,
    channel: message.channel,
    address: message.address,
    text: message.text,
    ...(message.mediaUrl ? { mediaUrl: message.mediaUrl } : {}),
    purpose: message.purpose,
    state: 'queued' as const,
    attempts: 0,
    createdAt: now,
    updatedAt: now,
  };
  if (await store.outbound.insert(record)) return { ...record, _rev: 1 };
  const existing = await store.outbound.get(record._id);
  if (!existing) throw new Error('Outbound record vanished right after a conflicting insert');
  return existing;
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
  const record = await createOutbound(store, message);
  if (FINISHED_STATES.has(record.state)) return record.state === 'skipped' ? { state: 'skipped', reason: record.lastError ?? 'skipped' } : { state: 'sent' };
  if (wasCutOff(record)) {
    if (record.state === 'sending') await updateOutbound(store, record, { state: 'failed', lastError: INTERRUPTED });
    return { state: 'failed', error: INTERRUPTED, retryable: false, interrupted: true };
  }
  if (message.purpose !== 'reply' && message.purpose !== 'opt_out_confirmation' && (await store.residents.get(message.address))?.optedOut) {
    await updateOutbound(store, record, { state: 'skipped', lastError: 'opted out' });
    return { state: 'skipped', reason: 'opted_out' };
  }
  const sending = await updateOutbound(store, record, { state: 'sending', attempts: record.attempts + 1 });
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

/** Waits; used between retries. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
