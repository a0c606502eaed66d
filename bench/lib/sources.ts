/**
 * The requests of the load, per channel, as each provider sends them: signed Twilio webhooks,
 * Telegram updates (typed text, and button presses naming the keyboard's message), and Bot
 * Framework activities with `deliveryMode: expectReplies`.
 *
 * Residents take turns round-robin: request n goes to resident n mod R, who says the next step
 * of the cycle from where their seeded conversation stands. A resident's next message comes R
 * requests later, long after their previous turn ended, so each resident's messages arrive in
 * order, as from a phone. Every message has a fresh provider id (a repeated MessageSid or
 * update_id would be a provider's retry, answered from the receipt: a cheaper path).
 */
import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import type { LoadRequest, LoadSource } from './load.js';
import type { FakeTelegramApi } from './fake-telegram.js';
import {
  CYCLE,
  ROLE_PLACEHOLDER,
  roleOf,
  smsNumber,
  startPosition,
  telegramChatId,
  WEBCHAT_CHANNEL_ID,
  webchatConversationId,
  type ConcreteInput,
  type Journey,
  type SeedPlan,
} from './script.js';

/** The public URL the service is configured with: Twilio signs requests for it. */
export const BENCH_PUBLIC_URL = 'https://bench.civicline.example';
export const BENCH_TWILIO_AUTH_TOKEN = 'bench-twilio-auth-token-0123456789';
export const BENCH_TELEGRAM_SECRET = 'bench-telegram-webhook-secret-0123456789';
export const TWILIO_SMS_PATH = '/webhooks/twilio/sms';
const ACCOUNT_SID = 'AC00000000000000000000000000000000';

/** A source that also says which journey each request belongs to (for latency per journey). */
export interface ConversationSource extends LoadSource {
  next(): LoadRequest & { journey: Journey };
}

/** Round-robin over `residents`, each resident stepping through the cycle in order. */
class Cursor {
  private count = 0;

  constructor(private readonly residents: number) {
    if (residents < 1) throw new Error('a load needs at least one resident');
  }

  next(): { resident: number; position: number; sequence: number } {
    const sequence = this.count++;
    const resident = sequence % this.residents;
    const round = Math.floor(sequence / this.residents);
    return { resident, position: (startPosition(resident) + round) % CYCLE.length, sequence };
  }
}

/** Unique ids per run: a random prefix and a counter. */
function idMaker(): (width: number) => string {
  const prefix = randomBytes(4).toString('hex');
  let counter = 0;
  return (width) => `${prefix}${(counter++).toString(16).padStart(width - prefix.length, '0')}`;
}

/** What each source needs from the seeded dataset; `check` off for the reference servers. */
export interface SourceOptions {
  plan: SeedPlan;
  residents: number;
  check: boolean;
}

/** What the resident says at a position: the recorded input, with their own role's reference. */
function inputAt(plan: SeedPlan, channel: keyof SeedPlan['inputs'], position: number, resident: number): ConcreteInput {
  const input = plan.inputs[channel][position];
  if (!input) throw new Error(`no ${channel} input at position ${position}`);
  return input.text.includes(ROLE_PLACEHOLDER) ? { ...input, text: input.text.replace(ROLE_PLACEHOLDER, roleOf(resident)) } : input;
}

/** Twilio: `application/x-www-form-urlencoded` bodies, signed with X-Twilio-Signature. */
export function twilioSource(options: SourceOptions): ConversationSource {
  const cursor = new Cursor(options.residents);
  const newId = idMaker();
  const url = `${BENCH_PUBLIC_URL}${TWILIO_SMS_PATH}`;
  return {
    next() {
      const { resident, position } = cursor.next();
      const sid = `SM${newId(32)}`;
      const params: Record<string, string> = {
        ToCountry: 'US',
        ToState: 'IL',
        SmsMessageSid: sid,
        NumMedia: '0',
        ToCity: 'SPRINGFIELD',
        FromZip: '62701',
        SmsSid: sid,
        FromState: 'IL',
        SmsStatus: 'received',
        FromCity: 'SPRINGFIELD',
        Body: inputAt(options.plan, 'sms', position, resident).text,
        FromCountry: 'US',
        To: '+12175550100',
        ToZip: '62701',
        NumSegments: '1',
        ReferralNumMedia: '0',
        MessageSid: sid,
        AccountSid: ACCOUNT_SID,
        From: smsNumber(resident),
        ApiVersion: '2010-04-01',
      };
      const expect = new RegExp(options.plan.expect[position] ?? '');
      return {
        method: 'POST',
        path: TWILIO_SMS_PATH,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilio.getExpectedTwilioSignature(BENCH_TWILIO_AUTH_TOKEN, url, params),
          'i-twilio-idempotency-token': newId(36),
        },
        body: new URLSearchParams(params).toString(),
        journey: (CYCLE[position] as (typeof CYCLE)[number]).journey,
        ...(options.check ? { check: (status: number, body: string) => status === 200 && matches(expect, unescapeXml(body), `sms ${position}`) } : {}),
      };
    },
  };
}

/** Telegram: Update JSON with the webhook secret; picks are button presses (callback queries). */
export function telegramSource(options: SourceOptions & { api: FakeTelegramApi }): ConversationSource {
  const cursor = new Cursor(options.residents);
  let updateId = 500_000_000;
  let messageId = 1;
  const newId = idMaker();
  return {
    next() {
      const { resident, position } = cursor.next();
      const chatId = telegramChatId(resident);
      const input = inputAt(options.plan, 'telegram', position, resident);
      const from = { id: chatId, is_bot: false, first_name: 'Resident', language_code: 'en' };
      const chat = { id: chatId, first_name: 'Resident', type: 'private' };
      const update = input.choice
        ? {
            update_id: updateId++,
            callback_query: {
              id: newId(19),
              from,
              chat_instance: `-${chatId}`,
              data: input.choice,
              message: {
                // The keyboard's message as Telegram names it (1 when the fake never sent this chat one).
                message_id: options.api.latestKeyboard(chatId) ?? 1,
                from: { id: 123456, is_bot: true, first_name: 'Springfield', username: 'SpringfieldBenchBot' },
                chat,
                date: Math.floor(Date.now() / 1000),
                text: '…',
                reply_markup: { inline_keyboard: [[{ text: input.text, callback_data: input.choice }]] },
              },
            },
          }
        : { update_id: updateId++, message: { message_id: messageId++, from, chat, date: Math.floor(Date.now() / 1000), text: input.text } };
      const expect = new RegExp(options.plan.expect[position] ?? '');
      // Texts sent to this chat before this turn (none, normally) are not this turn's.
      options.api.takeTexts(chatId);
      return {
        method: 'POST',
        path: '/webhooks/telegram',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': BENCH_TELEGRAM_SECRET },
        body: JSON.stringify(update),
        journey: (CYCLE[position] as (typeof CYCLE)[number]).journey,
        // The webhook answers after the replies went out, so they are at the fake API by now.
        ...(options.check ? { check: (status: number) => status === 200 && matches(expect, options.api.takeTexts(chatId), `telegram ${position}`) } : {}),
      };
    },
  };
}

/** Bot Framework: message activities from Web Chat with `deliveryMode: expectReplies`. */
export function botFrameworkSource(options: SourceOptions): ConversationSource {
  const cursor = new Cursor(options.residents);
  const newId = idMaker();
  return {
    next() {
      const { resident, position } = cursor.next();
      const input = inputAt(options.plan, 'webchat', position, resident);
      const now = new Date();
      const activity = {
        type: 'message',
        id: newId(24),
        timestamp: now.toISOString(),
        localTimestamp: now.toISOString(),
        // Loopback: the development-mode endpoint takes no other; never called with expectReplies.
        serviceUrl: 'http://127.0.0.1:9/',
        channelId: WEBCHAT_CHANNEL_ID,
        from: { id: `resident-${resident}`, name: 'Resident', role: 'user' },
        conversation: { id: webchatConversationId(resident) },
        recipient: { id: 'civicline-bot', name: 'CivicLine', role: 'bot' },
        textFormat: 'plain',
        locale: 'en-US',
        text: input.text,
        ...(input.choice ? { value: { choice: input.choice } } : {}),
        entities: [{ type: 'ClientCapabilities', requiresBotState: true, supportsListening: true, supportsTts: true }],
        channelData: { clientActivityID: newId(20) },
        deliveryMode: 'expectReplies',
      };
      const expect = new RegExp(options.plan.expect[position] ?? '');
      return {
        method: 'POST',
        path: '/api/messages',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(activity),
        journey: (CYCLE[position] as (typeof CYCLE)[number]).journey,
        ...(options.check ? { check: (status: number, body: string) => status === 200 && matches(expect, body, `webchat ${position}`) } : {}),
      };
    },
  };
}

/** Whether a reply is the scripted one; with BENCH_DEBUG set, says which were not. */
function matches(expect: RegExp, reply: string, where: string): boolean {
  if (expect.test(reply)) return true;
  if (process.env.BENCH_DEBUG) process.stderr.write(`off-script at ${where}: expected ${String(expect)}, got ${JSON.stringify(reply.slice(0, 300))}\n`);
  return false;
}

function unescapeXml(xml: string): string {
  return xml.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&apos;', "'").replaceAll('&amp;', '&');
}
