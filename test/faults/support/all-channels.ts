/**
 * The real app in this process with every channel on (signed SMS, Telegram's webhook against a
 * fake Bot API, Bot Framework in development mode against a fake connector, Direct Line, the JSON
 * chat API), and one small client per channel that speaks to it the way the provider does.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type RunningApp } from '../../support/http.js';
import { BOT_TOKEN, startFakeTelegram, type FakeTelegram } from '../../support/fake-telegram.js';
import { startFakeConnector, type FakeConnector } from '../../support/fake-connector.js';
import { AUTH_TOKEN } from '../../support/twilio.js';
import { botFrameworkAddress } from '../../../src/channels/webchat/activity-mapping.js';
import type { Agent } from 'node:http';
import { agent, formBody, send, sid, twilioHeaders, twimlMessages, type Response } from './client.js';

export const PUBLIC_URL = 'https://bot.springfield.example';
export const TELEGRAM_SECRET = 'telegram-webhook-secret-0123456789';
export const ADMIN_TOKEN = 'faults-admin-token-0123456789';

/** The app and its fakes. */
export interface Channels {
  app: RunningApp;
  telegram: FakeTelegram;
  connector: FakeConnector;
  /** The sockets residents' requests go through (a test may swap in a wider agent). */
  agent: Agent;
  close(): Promise<void>;
}

/** What residents need to reach a service: its URL and the fakes it talks to. */
export type Reachable = Pick<Channels, 'telegram' | 'connector' | 'agent'> & { app: { url: string } };

/**
 * Every channel for a whole test file: started before its tests, stopped after. Returns a
 * getter, since the channels exist only once `beforeAll` has run.
 */
export function useAllChannels(env: Record<string, string> = {}): () => Channels {
  let channels: Channels | undefined;
  beforeAll(async () => {
    channels = await startAllChannels(env);
  });
  afterAll(() => channels?.close());
  return () => {
    if (!channels) throw new Error('The channels are not started yet');
    return channels;
  };
}

/** Starts the app with every channel on; `env` adds to (or overrides) the channels' settings. */
export async function startAllChannels(env: Record<string, string> = {}): Promise<Channels> {
  const telegram = await startFakeTelegram();
  const connector = await startFakeConnector();
  const app = await startTestApp(
    {
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      PUBLIC_URL,
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      BOT_FRAMEWORK_DEV_MODE: 'true',
      ADMIN_TOKEN: ADMIN_TOKEN,
      ...env,
    },
    { telegramRates: { perChatPerSecond: 1000, globalPerSecond: 100_000 } },
  );
  await app.service.telegram!.start();
  return {
    app,
    telegram,
    connector,
    agent,
    async close() {
      await app.close();
      await telegram.close();
      await connector.close();
    },
  };
}

/** What a resident got back for one message: the HTTP status and the reply texts. */
export interface Answer {
  status: number;
  replies: string[];
  response: Response;
}

let phones = 0;
/** A resident texting the city's number. */
export class SmsResident {
  readonly phone: string;
  readonly address: string;
  constructor(readonly channels: Reachable) {
    phones += 1;
    this.phone = `+1312${String(process.pid % 100).padStart(2, '0')}${String(phones).padStart(5, '0')}`;
    this.address = `sms:${this.phone}`;
  }

  /** The webhook Twilio would post for a message (same `id` = Twilio retrying it). */
  request(text: string, id = sid()) {
    const path = '/webhooks/twilio/sms';
    const params = {
      MessageSid: id,
      SmsSid: id,
      AccountSid: 'AC00000000000000000000000000000000',
      From: this.phone,
      To: '+12175550100',
      Body: text,
      NumMedia: '0',
    };
    return { url: `${this.channels.app.url}${path}`, headers: twilioHeaders(PUBLIC_URL, path, params), body: formBody(params) };
  }

  async send(text: string, id = sid()): Promise<Answer> {
    const response = await send({ ...this.request(text, id), agent: this.channels.agent });
    return { status: response.status, replies: twimlMessages(response.text), response };
  }
}

let chats = 0;
/** A resident in a private Telegram chat with the bot. */
export class TelegramResident {
  readonly chatId: number;
  readonly address: string;
  private static updates = 500_000_000;
  constructor(readonly channels: Reachable) {
    chats += 1;
    this.chatId = 90_000_000 + (process.pid % 1000) * 10_000 + chats;
    this.address = `telegram:${this.chatId}`;
  }

  /** The update Telegram would post (same `updateId` = Telegram redelivering it). */
  update(text: string, updateId = TelegramResident.updates++): Record<string, unknown> {
    return {
      update_id: updateId,
      message: {
        message_id: updateId % 1_000_000,
        from: { id: this.chatId, is_bot: false, first_name: 'Ana', language_code: 'en' },
        chat: { id: this.chatId, first_name: 'Ana', type: 'private' },
        date: Math.floor(Date.now() / 1000),
        text,
      },
    };
  }

  /** What the bot has sent this chat so far (sendMessage calls to the fake). */
  sent(): string[] {
    return this.channels.telegram
      .callsOf('sendMessage')
      .filter((call) => call.payload.chat_id === this.chatId)
      .map((call) => String(call.payload.text));
  }

  async send(text: string, updateId?: number): Promise<Answer> {
    const before = this.sent().length;
    const response = await send({
      agent: this.channels.agent,
      url: `${this.channels.app.url}/webhooks/telegram`,
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET },
      body: JSON.stringify(this.update(text, updateId)),
    });
    return { status: response.status, replies: this.sent().slice(before), response };
  }
}

/**
 * A browser using the plain JSON chat API. Each is its own client address (behind the proxy), as
 * residents' browsers are: the per-address new-chat limit is the abuse suite's to test.
 */
export class WebResident {
  /** Issued by the service (`start`, or the first `send`): an invented id starts no conversation. */
  conversationId = '';
  private session: Promise<Response> | null = null;
  private readonly clientAddress = `198.18.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
  constructor(readonly channels: Reachable) {}

  get address(): string {
    return `web:${this.conversationId}`;
  }

  /** Asks for a conversation id once; messages sent at once share the request. */
  async start(): Promise<Response> {
    this.session ??= send({
      agent: this.channels.agent,
      url: `${this.channels.app.url}/chat/api/session`,
      headers: { 'content-type': 'application/json', 'x-forwarded-for': this.clientAddress },
      body: '{}',
    });
    const started = await this.session;
    if (started.status === 201) this.conversationId = (JSON.parse(started.text) as { conversationId: string }).conversationId;
    return started;
  }

  async send(text: string, messageId = randomBytes(12).toString('hex')): Promise<Answer & { duplicate?: boolean }> {
    const started = await this.start();
    if (started.status !== 201) return { status: started.status, replies: [], response: started };
    const response = await send({
      agent: this.channels.agent,
      url: `${this.channels.app.url}/chat/api/messages`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ conversationId: this.conversationId, messageId, text }),
    });
    if (response.status !== 200) return { status: response.status, replies: [], response };
    const body = JSON.parse(response.text) as { replies: { text: string }[]; duplicate: boolean };
    return { status: 200, replies: body.replies.map((r) => r.text), response, duplicate: body.duplicate };
  }
}

/** A Bot Framework channel (the Emulator, in development mode) posting activities. */
export class BotFrameworkResident {
  readonly conversationId = `c-${randomBytes(8).toString('hex')}`;
  /** The Bot Framework's own address of the conversation (never a Direct Line one's). */
  readonly address = botFrameworkAddress('emulator', this.conversationId);
  constructor(readonly channels: Reachable) {}

  activity(text: string, id = randomBytes(8).toString('hex')): Record<string, unknown> {
    return {
      type: 'message',
      id,
      serviceUrl: this.channels.connector.url,
      channelId: 'emulator',
      from: { id: 'resident', role: 'user' },
      conversation: { id: this.conversationId },
      recipient: { id: 'civicline-bot', role: 'bot' },
      text,
      locale: 'en-US',
      deliveryMode: 'expectReplies',
    };
  }

  async send(text: string, id?: string): Promise<Answer> {
    const response = await send({
      agent: this.channels.agent,
      url: `${this.channels.app.url}/api/messages`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(this.activity(text, id)),
    });
    type Activity = { text?: string; attachments?: { content?: { title?: string; text?: string } }[] };
    const activities = response.status === 200 && response.text ? ((JSON.parse(response.text) as { activities?: Activity[] }).activities ?? []) : [];
    // A hero card carries its words in the card.
    const textOf = (a: Activity) => [a.text, ...(a.attachments ?? []).flatMap((c) => [c.content?.title, c.content?.text])].filter(Boolean).join('\n');
    return { status: response.status, replies: activities.map(textOf), response };
  }
}

/** A browser on the web chat page, through the Direct Line endpoint. */
export class DirectLineResident {
  token = '';
  conversationId = '';
  constructor(readonly channels: Reachable) {}

  get address(): string {
    return `webchat:${this.conversationId}`;
  }

  async start(): Promise<void> {
    const base = `${this.channels.app.url}/v3/directline`;
    const generated = await send({ url: `${base}/tokens/generate` });
    if (generated.status !== 200) throw new Error(`tokens/generate: ${generated.status} ${generated.text}`);
    const started = await send({ url: `${base}/conversations`, headers: { authorization: `Bearer ${JSON.parse(generated.text).token}` } });
    if (started.status !== 201) throw new Error(`conversations: ${started.status} ${started.text}`);
    const body = JSON.parse(started.text) as { token: string; conversationId: string };
    this.token = body.token;
    this.conversationId = body.conversationId;
  }

  /** Posts a message as Web Chat does (a resend carries the same clientActivityID). */
  post(text: string, clientActivityID = randomBytes(8).toString('hex')): Promise<Response> {
    return send({
      agent: this.channels.agent,
      url: `${this.channels.app.url}/v3/directline/conversations/${this.conversationId}/activities`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ type: 'message', text, from: { id: 'me' }, channelData: { clientActivityID } }),
    });
  }

  /** The bot's messages in the conversation's log, in order. */
  async botMessages(): Promise<string[]> {
    const response = await send({
      method: 'GET',
      url: `${this.channels.app.url}/v3/directline/conversations/${this.conversationId}/activities`,
      headers: { authorization: `Bearer ${this.token}` },
    });
    type Activity = { from?: { id?: string }; text?: string; attachments?: { content?: { title?: string; text?: string } }[] };
    const { activities } = JSON.parse(response.text) as { activities: Activity[] };
    return activities
      .filter((a) => a.from?.id === 'civicline')
      .map((a) => [a.text, ...(a.attachments ?? []).flatMap((c) => [c.content?.title, c.content?.text])].filter(Boolean).join('\n'));
  }
}
