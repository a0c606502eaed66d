/**
 * Sending to Telegram chats through telegraf's Bot API client, within Telegram's limits (about
 * 30 messages a second overall, 1 a second per chat), obeying `429 retry_after`, and treating
 * "bot was blocked by the user" (403) as an opt-out. Every message is a stored record, keyed by
 * the update it answers, so a retried update never sends the same reply twice.
 *
 * Keyboards: a reply's choices are inline buttons. Only the latest keyboard in a chat stays:
 * sending a new one removes the previous one, and pressing a button removes its own, so an old
 * button cannot be pressed into a later question.
 */
import type { Logger } from 'pino';
import type { Telegram } from 'telegraf';
import type { Choice } from '../../core/message.js';
import type { OutboundMessageRecord } from '../../domain/records.js';
import type { Collections } from '../../store/store.port.js';
import { RatePacer } from '../rate-pacer.js';
import {
  FINISHED_STATES,
  INTERRUPTED,
  insertOutbound,
  outboundId,
  outboundRecord,
  recordProviderOptOut,
  settleAll,
  sleep,
  updateOutbound,
  wasCutOff,
  type NewOutbound,
} from '../outbound-records.js';
import { chatIdOf } from './telegram-update.js';

/** One message for a chat, rendered: text, and buttons or a "send my location" key. */
export interface TelegramMessage {
  text: string;
  buttons?: Choice[];
  /** The label of a reply-keyboard button that shares the resident's location. */
  locationButton?: string;
}

/** The Bot API methods CivicLine calls (telegraf's `Telegram` client has them all). */
export type TelegramApi = Pick<
  Telegram,
  | 'sendMessage'
  | 'answerCbQuery'
  | 'editMessageReplyMarkup'
  | 'getFile'
  | 'getFileLink'
  | 'getMe'
  | 'setMyCommands'
  | 'setWebhook'
  | 'deleteWebhook'
  | 'callApi'
>;

/** Sends to Telegram chats and keeps each message's record. */
export interface TelegramSender {
  /**
   * Sends messages to a chat, in order. With a `key` (the update they answer), each message is
   * sent at most once however often this is called; a blocked bot stops the rest.
   */
  send(address: string, messages: readonly TelegramMessage[], options: { purpose: string; key?: string }): Promise<TelegramSendResult>;
  /** Acknowledges a button press (with a short notice, if given) and removes that message's buttons. */
  acknowledgePress(chatId: number, callbackQueryId: string, messageId: number | undefined, notice?: string): Promise<void>;
  /** Whether a message's keyboard is the chat's latest one (older ones answer questions that have passed). */
  isLatestKeyboard(chatId: number, messageId: number): Promise<boolean>;
  /**
   * Removes what sending left about a chat, once sent: the records of these messages and the
   * chat's keyboard. For the reply confirming that the resident's data is deleted.
   */
  forget(address: string, records: readonly OutboundMessageRecord[]): Promise<void>;
}

/** What a send did: the records, and whether what failed is worth trying again later. */
export interface TelegramSendResult {
  records: OutboundMessageRecord[];
  /** A message failed for now (Telegram busy, a long flood wait): the update should be redelivered. */
  retryLater: boolean;
}

/** How a sender is set up; the rates are Telegram's published limits by default. */
export interface TelegramSenderOptions {
  api: TelegramApi;
  store: Collections;
  logger: Logger;
  globalPerSecond?: number;
  perChatPerSecond?: number;
  maxAttempts?: number;
  /** First wait after a 5xx or network error; doubles each time. */
  backoffMs?: number;
}

/** Telegram's callback_data holds at most 64 bytes. */
const CALLBACK_DATA_MAX = 64;
/** A 429's retry_after above this is not waited out inside a request: the message fails. */
const RETRY_AFTER_MAX_S = 60;

/** A sender for one bot; see the module comment for what it guarantees. */
export function createTelegramSender(options: TelegramSenderOptions): TelegramSender {
  const { api, store, logger } = options;
  const global = new RatePacer(options.globalPerSecond ?? 30);
  const perChat = new ChatPacers(options.perChatPerSecond ?? 1);
  // Space the requests themselves at both rates: a record's write sits between a pacer's slot
  // and its request (see the SMS sender's gate).
  const globalGate = new RatePacer(options.globalPerSecond ?? 30);
  const perChatGate = new ChatPacers(options.perChatPerSecond ?? 1);
  const maxAttempts = options.maxAttempts ?? 5;
  // Two deliveries of one update can reach here together: the second waits for the first's
  // attempt (registered before its first write, so the second cannot find its record and think
  // it abandoned) instead of sending again. (A record left "sending" by a crash is sent again.)
  const inFlight = new Map<string, Promise<SendOutcome>>();
  const backoffMs = options.backoffMs ?? 1000;

  async function pace(chatId: number): Promise<void> {
    await perChat.wait(chatId);
    await global.wait();
  }

  /**
   * Sends one message of `send`, or finds what an earlier attempt did. A message seen for the
   * first time is written twice: inserted as "sending" when its request is about to go, then its
   * outcome (together with the chat's keyboard). It used to be written queued, then sending, then
   * sent: three writes in a row, each validated, encoded and a commit to wait for. Measured with
   * npm run bench (medians of three interleaved runs), with the keyboard changes below: a Telegram
   * turn at 10 connections went from 1.37 to 1.05 store commits and from 1,482 to 1,244 µs of CPU
   * (-16%); at 50, from 1,017 to 985 µs (-3%; -4% in an earlier series), p99 88 → 69 ms.
   */
  async function deliver(address: string, message: TelegramMessage, outbound: NewOutbound, id: string, optedOut: boolean): Promise<SendOutcome> {
    // A read first (cheap, no commit): a redelivered update's sent messages must not wait for the pacers.
    const found = await store.outbound.get(id);
    if (!found) {
      if (optedOut) {
        const skipped = await insertOutbound(store, outboundRecord(id, outbound, { state: 'skipped', lastError: 'opted out' }));
        return skipped.created ? done(skipped.record) : resume(address, message, skipped.record, outbound.purpose, optedOut);
      }
      const chatId = chatIdOf(address);
      await pace(chatId);
      const claimed = await insertOutbound(store, outboundRecord(id, outbound, { state: 'sending', attempts: 1 }));
      return claimed.created ? sendOne(address, message, claimed.record, true) : resume(address, message, claimed.record, outbound.purpose, optedOut);
    }
    return resume(address, message, found, outbound.purpose, optedOut);
  }

  /** A message an earlier attempt recorded: what was sent stays sent; what failed is tried again. */
  async function resume(address: string, message: TelegramMessage, record: OutboundMessageRecord, purpose: string, optedOut: boolean): Promise<SendOutcome> {
    if (FINISHED_STATES.has(record.state)) return done(record);
    if (optedOut) return done(await updateOutbound(store, record, { state: 'skipped', lastError: 'opted out' }));
    // "sending" with nobody sending it (in flight here, the caller would have waited for it): a
    // crash cut the request off, and it may have arrived. A reply is worth a possible duplicate;
    // a broadcast or an update is not.
    if (wasCutOff(record) && purpose !== 'reply') {
      return { record: record.state === 'failed' ? record : await updateOutbound(store, record, { state: 'failed', lastError: INTERRUPTED }), stop: true };
    }
    return sendOne(address, message, { ...record, attempts: 0 }, false);
  }

  /**
   * Sends a message, retrying 5xx, network errors and short flood waits. `claimed`: its record
   * was inserted as "sending" for the first attempt (after the pacers), so that attempt goes at once.
   */
  async function sendOne(address: string, message: TelegramMessage, record: OutboundMessageRecord, claimed: boolean): Promise<SendOutcome> {
    const chatId = chatIdOf(address);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (!claimed || attempt > 1) {
        await pace(chatId);
        record = await updateOutbound(store, record, { state: 'sending', attempts: attempt });
      }
      let sent: Awaited<ReturnType<TelegramApi['sendMessage']>>;
      try {
        await perChatGate.wait(chatId);
        await globalGate.wait();
        sent = await api.sendMessage(chatId, message.text, { reply_markup: replyMarkup(message), link_preview_options: { is_disabled: true } });
      } catch (error) {
        const failure = classify(error);
        logger.warn({ outboundId: record._id, attempt, code: failure.code, retryAfter: failure.retryAfterS }, 'telegram send failed');
        if (failure.blocked) {
          await recordProviderOptOut(store, { address, channel: 'telegram', keyword: 'telegram:blocked', eventId: record._id });
          return { record: await updateOutbound(store, record, { state: 'failed', lastError: failure.description }), blocked: true };
        }
        if (!failure.transient || attempt === maxAttempts) {
          // A flood wait too long to sit out, or Telegram still failing: worth another try later.
          const retryLater = failure.transient || failure.code === 429;
          return { record: await updateOutbound(store, record, { state: 'failed', lastError: failure.description }), retryLater };
        }
        // Back to queued while it waits: "sending" means a request is in flight (see `send`).
        record = await updateOutbound(store, record, { state: 'queued', lastError: failure.description });
        await sleep(failure.retryAfterS !== undefined ? failure.retryAfterS * 1000 : backoffMs * 2 ** (attempt - 1));
        continue;
      }
      // Telegram took it. What follows are our writes: one failing is not a failed send to retry
      // (that would send it twice) but the store's failure, left "sending" like a crash.
      // The outcome and the chat's new keyboard are written together: one commit, not two.
      const recorded = updateOutbound(store, record, { state: 'sent', providerMessageId: String(sent.message_id) });
      await settleAll([recorded, ...(message.buttons?.length ? [replaceKeyboard(chatId, sent.message_id)] : [])]);
      return done(await recorded);
    }
    return { record: await updateOutbound(store, record, { state: 'failed' }), retryLater: true };
  }

  /**
   * Remembers the chat's new keyboard and removes the buttons of the previous one, at once: the
   * new message is already the latest. None to remove after a press (it left 0): asking Telegram
   * to edit message 0 was a request per pressed button that could only fail (measured: about 2-4%
   * of a benchmark Telegram turn's CPU, 5 of whose 13 turns are presses; near the noise).
   */
  async function replaceKeyboard(chatId: number, messageId: number): Promise<void> {
    const key = `telegram-keyboard|${chatId}`;
    const previous = await store.meta.get(key);
    const stale = typeof previous?.value === 'number' && previous.value !== 0 && previous.value !== messageId ? previous.value : null;
    await settleAll([store.meta.upsert({ _id: key, value: messageId }), ...(stale === null ? [] : [removeButtons(chatId, stale)])]);
  }

  async function removeButtons(chatId: number, messageId: number): Promise<void> {
    try {
      await api.editMessageReplyMarkup(chatId, messageId, undefined, { inline_keyboard: [] });
    } catch {
      // Already removed, too old to edit, or deleted by the resident: nothing left to press.
    }
  }

  return {
    async send(address, messages, sendOptions) {
      const records: OutboundMessageRecord[] = [];
      let retryLater = false;
      const optedOut = sendOptions.purpose !== 'reply' && (await store.residents.get(address))?.optedOut === true;
      for (const [i, message] of messages.entries()) {
        const outbound: NewOutbound = {
          ...(sendOptions.key ? { idempotencyKey: `${address}|${sendOptions.key}|${i}` } : {}),
          channel: 'telegram',
          address,
          text: message.text,
          purpose: sendOptions.purpose,
        };
        const id = outboundId(outbound);
        let sending = inFlight.get(id);
        if (!sending) {
          sending = deliver(address, message, outbound, id, optedOut).finally(() => inFlight.delete(id));
          inFlight.set(id, sending);
        }
        const result = await sending;
        records.push(result.record);
        retryLater ||= result.retryLater === true;
        if (result.blocked || result.retryLater || result.stop) break; // keep the order: later messages wait for this one
      }
      return { records, retryLater };
    },

    async isLatestKeyboard(chatId, messageId) {
      const latest = await store.meta.get(`telegram-keyboard|${chatId}`);
      return typeof latest?.value !== 'number' || latest.value === messageId;
    },

    async forget(address, records) {
      await settleAll([...records.map((record) => store.outbound.delete(record._id)), store.meta.delete(`telegram-keyboard|${chatIdOf(address)}`)]);
    },

    async acknowledgePress(chatId, callbackQueryId, messageId, notice) {
      const answer = async () => {
        try {
          await api.answerCbQuery(callbackQueryId, notice);
        } catch {
          // A press older than Telegram's answer window: the press is still handled.
        }
      };
      // Together rather than one after another: none needs another's result, and the keyboard
      // is marked used before the two requests return (a double tap finds it stale sooner). This
      // saves a press's latency, not CPU: the same two requests and one write.
      await settleAll([
        answer(),
        ...(messageId !== undefined ? [removeButtons(chatId, messageId)] : []),
        // A keyboard answers one question: once pressed, a second tap on it is stale too.
        ...(notice === undefined ? [store.meta.upsert({ _id: `telegram-keyboard|${chatId}`, value: 0 })] : []),
      ]);
    },
  };
}

/** Inline buttons, a location key, or nothing (and any earlier location key taken away). */
function replyMarkup(message: TelegramMessage) {
  if (message.buttons?.length) {
    return { inline_keyboard: message.buttons.map((choice, index) => [{ text: choice.label, callback_data: callbackData(choice.id, index) }]) };
  }
  if (message.locationButton) {
    return { keyboard: [[{ text: message.locationButton, request_location: true }]], resize_keyboard: true, one_time_keyboard: true };
  }
  return { remove_keyboard: true as const };
}

/** A choice's id as callback data; an id too long for 64 bytes is sent by position (its label still matches). */
export function callbackData(id: string, index: number): string {
  return Buffer.byteLength(id) <= CALLBACK_DATA_MAX ? id : `#${index + 1}`;
}

/** What sending one message came to: its record, and whether the messages after it wait. */
interface SendOutcome {
  record: OutboundMessageRecord;
  /** The bot was blocked: nothing more goes to this chat. */
  blocked?: boolean;
  /** It failed for now: the update should be redelivered, and the later messages wait for it. */
  retryLater?: boolean;
  /** It may have arrived and is not sent again: the later messages are not sent either. */
  stop?: boolean;
}

/** A message that needs nothing more (sent, skipped, or failed for good). */
function done(record: OutboundMessageRecord): SendOutcome {
  return { record };
}

interface TelegramFailure {
  transient: boolean;
  blocked: boolean;
  code?: number;
  retryAfterS?: number;
  description: string;
}

function classify(error: unknown): TelegramFailure {
  const telegram = error as { code?: unknown; description?: unknown; parameters?: { retry_after?: unknown } };
  const code = typeof telegram.code === 'number' ? telegram.code : undefined;
  const description = typeof telegram.description === 'string' ? telegram.description.slice(0, 200) : 'network error';
  if (code === undefined) return { transient: true, blocked: false, description };
  const retryAfter = typeof telegram.parameters?.retry_after === 'number' ? telegram.parameters.retry_after : undefined;
  if (code === 429) {
    const waitable = retryAfter !== undefined && retryAfter <= RETRY_AFTER_MAX_S;
    return { transient: waitable, blocked: false, code, ...(retryAfter !== undefined ? { retryAfterS: retryAfter } : {}), description: `429: ${description}` };
  }
  // 403 is "bot was blocked by the user" or "user is deactivated": the chat is gone for us.
  if (code === 403) return { transient: false, blocked: true, code, description: `403: ${description}` };
  return { transient: code >= 500, blocked: false, code, description: `${code}: ${description}` };
}

/** One pacer per chat, forgotten when idle so the map does not grow with every chat ever seen. */
class ChatPacers {
  private readonly pacers = new Map<number, { pacer: RatePacer; lastUsed: number }>();

  constructor(private readonly perSecond: number) {}

  async wait(chatId: number): Promise<void> {
    const now = Date.now();
    if (this.pacers.size > 10_000) {
      for (const [id, entry] of this.pacers) if (now - entry.lastUsed > 60_000) this.pacers.delete(id);
    }
    let entry = this.pacers.get(chatId);
    if (!entry) this.pacers.set(chatId, (entry = { pacer: new RatePacer(this.perSecond), lastUsed: now }));
    entry.lastUsed = now;
    await entry.pacer.wait();
  }
}
