/**
 * Sending SMS outside a webhook's reply: late replies now, status updates and broadcasts later.
 * Every message is a stored record whose state follows it (queued → sending → sent →
 * delivered / undelivered / failed), with its attempts and last error, so nothing is
 * fire-and-forget.
 *
 * - Rate: one pacer per sender (Twilio queues what a number cannot send at once, but a long
 *   queue delays replies to residents who are talking to us now).
 * - Transient errors (429, 5xx, network) are retried with exponential backoff; permanent ones
 *   (invalid number, unsubscribed...) are recorded and not retried. 21610 means the number
 *   texted STOP to Twilio: it is recorded as an opt-out.
 * - Opted-out residents are skipped (recorded as such), except for a reply to their own message.
 * - Without Twilio credentials the "sender" writes to a local outbox: stored, logged by id.
 */
import type { Logger } from 'pino';
import type { Collections } from '../../store/store.port.js';
import type { OutboundMessageRecord, OutboundState } from '../../domain/records.js';
import { RatePacer } from '../rate-pacer.js';
import type { OutboundPurpose } from '../channel.js';
import { createOutbound, FINISHED_STATES, INTERRUPTED, recordProviderOptOut, redactNumbers, sleep, updateOutbound, wasCutOff } from '../outbound-records.js';
import { foldToGsm7, smsSegments } from './gsm7.js';

/** What a caller says about one message to send. */
export interface SmsSendOptions {
  /**
   * Why it is sent. Nothing is sent to an opted-out resident, checked before every attempt,
   * except `opt_out_confirmation`: the one message an opt-out is answered with.
   */
  purpose: OutboundPurpose;
  mediaUrl?: string;
  /** Makes the send happen once (a retried webhook's late reply): address, inbound key, position. */
  idempotencyKey?: string;
}

/** Sends SMS and keeps their delivery state. */
export interface SmsSender {
  /** Sends one message (retrying as needed) and returns its final stored record. */
  send(address: string, text: string, options: SmsSendOptions): Promise<OutboundMessageRecord>;
  /** Records a delivery status callback; false when no message has that provider id. */
  recordStatus(providerMessageId: string, status: string, errorCode?: string): Promise<boolean>;
}

/** The part of the twilio client the sender uses (so tests can point it at a fake API). */
export interface TwilioMessagesClient {
  messages: {
    create(params: {
      to: string;
      body: string;
      from?: string;
      messagingServiceSid?: string;
      statusCallback?: string;
      mediaUrl?: string[];
    }): Promise<{ sid: string; status: string }>;
  };
}

/** How a Twilio sender is set up. */
export interface TwilioSenderOptions {
  client: TwilioMessagesClient;
  store: Collections;
  logger: Logger;
  /** The number to send from, or a Messaging Service SID (one of the two). */
  from?: string;
  messagingServiceSid?: string;
  /** Where Twilio posts delivery status (PUBLIC_URL + /webhooks/twilio/status), when known. */
  statusCallbackUrl?: string;
  ratePerSecond: number;
  maxAttempts: number;
  /** The first retry waits this long; each next one twice as long (plus jitter). */
  backoffMs: number;
}

// A status may only move forward: a late "sent" callback must not undo "delivered".
const STATE_RANK: Readonly<Record<OutboundState, number>> = {
  queued: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  undelivered: 3,
  failed: 3,
  skipped: 3,
  outbox: 3,
};

/** Twilio error codes that mean the number opted out through Twilio (STOP to the carrier). */
const OPTED_OUT_CODES = new Set([21610]);

/** A Twilio sender with persisted delivery records. */
export function createTwilioSmsSender(options: TwilioSenderOptions): SmsSender {
  const { client, store, logger } = options;
  const pacer = new RatePacer(options.ratePerSecond);
  // The pacer spaces attempts, but a record's write sits between an attempt's slot and its
  // request, and a slow write then a fast one put two requests closer than the rate (seen on
  // FerretDB). The gate spaces the requests themselves; it waits at most about one interval,
  // so a crash rarely finds a message "sending" that has not gone out.
  const requestGate = new RatePacer(options.ratePerSecond);
  // A retried webhook's late reply can arrive while the first is still being sent.
  const inFlight = new Map<string, Promise<OutboundMessageRecord>>();

  async function deliver(address: string, initial: OutboundMessageRecord, sendOptions: SmsSendOptions): Promise<OutboundMessageRecord> {
    let record = initial;
    const to = address.replace(/^sms:/, '');
    for (let attempt = record.attempts + 1; attempt <= options.maxAttempts; attempt++) {
      // Checked before every attempt: a resident may opt out while a retry waits.
      if (sendOptions.purpose !== 'opt_out_confirmation' && (await store.residents.get(address))?.optedOut) {
        return updateOutbound(store, record, { state: 'skipped', lastError: 'opted out' });
      }
      await pacer.wait();
      record = await updateOutbound(store, record, { state: 'sending', attempts: attempt });
      try {
        await requestGate.wait();
        const sent = await client.messages.create({
          to,
          body: record.text,
          ...(options.messagingServiceSid ? { messagingServiceSid: options.messagingServiceSid } : { from: options.from ?? '' }),
          ...(options.statusCallbackUrl ? { statusCallback: options.statusCallbackUrl } : {}),
          ...(sendOptions.mediaUrl ? { mediaUrl: [sendOptions.mediaUrl] } : {}),
        });
        logger.info({ outboundId: record._id, attempt, segments: smsSegments(record.text).segments }, 'sms sent');
        return updateOutbound(store, record, { state: 'sent', providerMessageId: sent.sid });
      } catch (error) {
        const failure = classify(error);
        logger.warn({ outboundId: record._id, attempt, code: failure.code, transient: failure.transient }, 'sms send failed');
        if (!failure.transient) {
          if (failure.code !== undefined && OPTED_OUT_CODES.has(failure.code)) {
            await recordProviderOptOut(store, { address, channel: 'sms', keyword: 'carrier:21610', eventId: record._id });
          }
          return updateOutbound(store, record, { state: 'failed', lastError: failure.description });
        }
        // Back to queued while it waits: "sending" means a request is in flight (see `send`).
        record = await updateOutbound(store, record, { state: 'queued', lastError: failure.description });
        if (attempt < options.maxAttempts) await sleep(options.backoffMs * 2 ** (attempt - 1) * (1 + Math.random() / 4));
      }
    }
    return updateOutbound(store, record, { state: 'failed' });
  }

  return {
    async send(address, text, sendOptions) {
      const record = await recordSms(store, address, text, sendOptions);
      if (FINISHED_STATES.has(record.state)) return record; // a retry: the first attempt sent it
      const running = inFlight.get(record._id);
      if (running) return running;
      // "sending" with nobody sending it: a crash cut the request off, and it may have arrived.
      // A late reply is worth a possible duplicate; a broadcast or an update is not.
      if (wasCutOff(record) && sendOptions.purpose !== 'reply' && sendOptions.purpose !== 'opt_out_confirmation') {
        return record.state === 'failed' ? record : updateOutbound(store, record, { state: 'failed', lastError: INTERRUPTED });
      }
      const sending = deliver(address, record, sendOptions).finally(() => inFlight.delete(record._id));
      inFlight.set(record._id, sending);
      return sending;
    },
    recordStatus: (providerMessageId, status, errorCode) => recordStatus(store, providerMessageId, status, errorCode),
  };
}

/**
 * The sender for a service without Twilio credentials: messages go to a local outbox (stored
 * with state `outbox`), so every flow can be tried without an account. The log names the
 * stored id, not the number or the text.
 */
export function createOutboxSmsSender(store: Collections, logger: Logger): SmsSender {
  return {
    async send(address, text, sendOptions) {
      const record = await recordSms(store, address, text, sendOptions);
      if (FINISHED_STATES.has(record.state)) return record;
      const stored = await updateOutbound(store, record, { state: 'outbox' });
      logger.info({ outboundId: stored._id, segments: smsSegments(stored.text).segments }, 'sms written to the local outbox (no Twilio credentials)');
      return stored;
    },
    recordStatus: (providerMessageId, status, errorCode) => recordStatus(store, providerMessageId, status, errorCode),
  };
}

/** The stored record of an SMS about to be sent (or the first attempt's, for a retry), in GSM-7. */
function recordSms(store: Collections, address: string, text: string, options: SmsSendOptions): Promise<OutboundMessageRecord> {
  return createOutbound(store, {
    channel: 'sms',
    address,
    text: foldToGsm7(text),
    purpose: options.purpose,
    ...(options.mediaUrl ? { mediaUrl: options.mediaUrl } : {}),
    ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
  });
}

/** Applies a status callback, never moving a message's state backwards. */
async function recordStatus(store: Collections, providerMessageId: string, status: string, errorCode?: string): Promise<boolean> {
  const state = twilioStatusToState(status);
  for (let attempt = 0; attempt < 5; attempt++) {
    const [record] = await store.outbound.find({ field: 'providerMessageId', equals: providerMessageId }, { limit: 1 });
    if (!record) return false;
    if (!state || STATE_RANK[state] < STATE_RANK[record.state] || state === record.state) return true;
    const next = { ...record, state, updatedAt: new Date(), ...(errorCode ? { lastError: `Twilio error ${errorCode}` } : {}) };
    if (await store.outbound.replace(next, record._rev)) return true;
  }
  return true;
}

function twilioStatusToState(status: string): OutboundState | null {
  switch (status) {
    case 'accepted':
    case 'scheduled':
    case 'queued':
    case 'sending':
    case 'sent':
      return 'sent';
    case 'delivered':
    case 'read':
    case 'partially_delivered':
      return 'delivered';
    case 'undelivered':
      return 'undelivered';
    case 'failed':
    case 'canceled':
      return 'failed';
    default:
      return null;
  }
}

interface SendFailure {
  transient: boolean;
  code?: number;
  /** Code and message for the record, with any phone number taken out. */
  description: string;
}

/** Sorts a send error into retry-worthy or not. */
function classify(error: unknown): SendFailure {
  const rest = error as { status?: unknown; code?: unknown; message?: unknown };
  const status = typeof rest.status === 'number' ? rest.status : undefined;
  const code = typeof rest.code === 'number' ? rest.code : undefined;
  const message = redactNumbers(typeof rest.message === 'string' ? rest.message : String(error)).slice(0, 200);
  if (status === undefined) return { transient: true, description: `network: ${message}` };
  const transient = status === 429 || status >= 500;
  return { transient, ...(code !== undefined ? { code } : {}), description: `${status}${code !== undefined ? ` / ${code}` : ''}: ${message}` };
}
