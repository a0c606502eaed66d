/**
 * The Telegram channel: turns updates into turns and replies into Bot API messages. It runs in
 * webhook mode (Telegram posts to /webhooks/telegram, secret header checked by the route) or in
 * long-polling mode for a city without a public URL yet; both feed `handleUpdate`.
 *
 * Text is sent without a parse mode, so nothing a resident typed can break the formatting.
 */
import type { Logger } from 'pino';
import type { Translator } from '../../core/i18n.js';
import { CHANNEL_COMMANDS, messageKey, type Reply } from '../../core/message.js';
import type { TurnPipeline } from '../../pipeline/turn-pipeline.js';
import { errorSummary } from '../../core/errors.js';
import { channelFacts, type ChannelAdapter, type ChannelCapabilities, type SendOutcome } from '../channel.js';
import { renderReplies } from '../render.js';
import { parseTelegramUpdate, telegramUpdate, type BotIdentity } from './telegram-update.js';
import type { TelegramApi, TelegramMessage, TelegramSender, TelegramSendResult } from './telegram-sender.js';
import { INTERRUPTED } from '../outbound-records.js';

/** Telegram messages hold up to 4,096 characters; up to 100 inline buttons. */
export const TELEGRAM_CAPABILITIES: ChannelCapabilities = { buttons: true, maxButtons: 20, maxTextLength: 4096, media: true, location: true };

/** Updates CivicLine asks Telegram for. */
const ALLOWED_UPDATES = ['message', 'edited_message', 'callback_query'] as const;
/** Long polling waits up to this long for updates (Telegram allows 50). */
const POLL_TIMEOUT_S = 25;
/** Telegram lets a bot download files up to 20 MB. */
const MAX_FILE_BYTES = 20 * 1024 * 1024;

/** How the channel is set up. */
export interface TelegramChannelOptions {
  api: TelegramApi;
  sender: TelegramSender;
  pipeline: TurnPipeline;
  i18n: Translator;
  logger: Logger;
  mode: 'webhook' | 'polling';
  /** Where Telegram posts updates, in webhook mode. */
  webhookUrl?: string;
  webhookSecret?: string;
}

/** What `handleUpdate` tells the webhook route. */
export type UpdateOutcome = { ok: true } | { ok: false; status: 400; error: string };

/** The running Telegram channel. */
export interface TelegramChannel extends ChannelAdapter {
  /** Registers commands and the webhook, or starts polling. */
  start(): Promise<void>;
  /** Stops polling (aborting the pending request) and waits for the update in hand. */
  stop(): Promise<void>;
  /** Handles one Update (from the webhook or from polling). */
  handleUpdate(body: unknown): Promise<UpdateOutcome>;
  /**
   * Downloads a photo a resident sent (`telegram-file:<file_id>`), for the staff dashboard. The
   * download URL carries the bot token, so it never leaves this function.
   */
  fetchFile(reference: string): Promise<{ bytes: Buffer; contentType: string } | null>;
}

export function createTelegramChannel(options: TelegramChannelOptions): TelegramChannel {
  const { api, sender, pipeline, i18n, logger } = options;
  // Known after getMe in start(); an update handled before that cannot address the bot in a group.
  let bot: BotIdentity = { id: 0, username: '' };
  let polling: { controller: AbortController; loop: Promise<void> } | null = null;

  async function handleUpdate(body: unknown): Promise<UpdateOutcome> {
    const update = telegramUpdate.safeParse(body);
    if (!update.success) return { ok: false, status: 400, error: update.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') };
    const parsed = parseTelegramUpdate(update.data, bot, new Date());
    if (parsed.kind === 'ignore') return { ok: true };
    if (parsed.kind === 'group') {
      // Reports are private: in a group, the bot only answers when addressed, to say where to go.
      if (parsed.addressed) {
        const locale = localeOf(i18n, parsed.locale);
        const text = i18n.t(locale, 'telegram.private_only', { bot: bot.username });
        await sender.send(`telegram:${parsed.chatId}`, [{ text }], { purpose: 'group_notice', key: `telegram:${update.data.update_id}` });
      }
      return { ok: true };
    }
    const { message } = parsed;
    // A flooding sender is answered 200 (Telegram must not redeliver), gets one "slow down", and
    // costs no more API calls or writes than that: checked before pressed buttons and photos.
    const refused = await pipeline.admit(message);
    if (refused) {
      await sender.send(message.address, renderTelegram(refused.replies, i18n, refused.locale), { purpose: 'reply', key: messageKey(message) });
      return { ok: true };
    }
    if (parsed.pressed) {
      const { callbackQueryId, messageId } = parsed.pressed;
      // A button of an earlier question (a double tap, a press racing the keyboard's removal)
      // must not answer the question asked since.
      if (messageId !== undefined && !(await sender.isLatestKeyboard(parsed.chatId, messageId))) {
        await sender.acknowledgePress(parsed.chatId, callbackQueryId, messageId, i18n.t(localeOf(i18n, message.locale), 'telegram.stale_button'));
        return { ok: true };
      }
      await sender.acknowledgePress(parsed.chatId, callbackQueryId, messageId);
    }
    if (message.media?.length && !(await photoIsReadable(message.media[0]!.url))) delete message.media;
    const turn = await pipeline.handle(message, channelFacts(TELEGRAM_CAPABILITIES));
    const sent = await sender.send(message.address, renderTelegram(turn.replies, i18n, turn.locale), { purpose: 'reply', key: messageKey(message) });
    // The resident's data was deleted by this turn: the confirmation leaves no record either.
    if (turn.forgotten) await sender.forget(message.address, sent.records);
    // Not answered 200: Telegram redelivers the update, the turn is a duplicate, and the reply is tried again.
    if (sent.retryLater) throw new Error('Telegram did not take the reply yet; the update will be redelivered');
    return { ok: true };
  }

  /** Checks with getFile that a photo exists and can be fetched later (under 20 MB). */
  async function photoIsReadable(reference: string): Promise<boolean> {
    try {
      const file = await api.getFile(reference.slice('telegram-file:'.length));
      return (file.file_size ?? 0) <= MAX_FILE_BYTES;
    } catch (error) {
      logger.warn({ err: errorSummary(error) }, 'telegram photo could not be read');
      return false;
    }
  }

  /**
   * Long polling: an update is acknowledged (the offset moves past it) only once handled, so a
   * store failure means it is fetched again, not lost. Stopping aborts the pending request.
   */
  async function poll(signal: AbortSignal): Promise<void> {
    let offset = 0;
    while (!signal.aborted) {
      try {
        const updates = await api.callApi(
          'getUpdates',
          { timeout: POLL_TIMEOUT_S, offset, allowed_updates: [...ALLOWED_UPDATES] },
          { signal: signal as never },
        );
        for (const update of updates) {
          const outcome = await handleUpdate(update);
          if (!outcome.ok) logger.warn({ updateId: update.update_id }, 'skipped a malformed Telegram update');
          offset = update.update_id + 1;
        }
      } catch (error) {
        if (signal.aborted) return;
        logger.error({ err: errorSummary(error) }, 'telegram polling failed; retrying in 5 s');
        await new Promise((resolve) => setTimeout(resolve, 5000));
      }
    }
  }

  return {
    name: 'telegram',
    capabilities: TELEGRAM_CAPABILITIES,
    handleUpdate,
    async fetchFile(reference) {
      if (!reference.startsWith('telegram-file:')) return null;
      const link = await api.getFileLink(reference.slice('telegram-file:'.length));
      const response = await fetch(link, { signal: AbortSignal.timeout(15_000) });
      if (!response.ok) return null;
      const bytes = Buffer.from(await response.arrayBuffer());
      // Telegram sends photos as JPEG; its file server's content type is not always an image one.
      return bytes.length <= MAX_FILE_BYTES ? { bytes, contentType: 'image/jpeg' } : null;
    },
    async send(address, messages, options) {
      const result = await sender.send(
        address,
        messages.map((m) => ({ text: m.text, ...(m.buttons ? { buttons: m.buttons } : {}) })),
        { purpose: options.purpose, key: options.key },
      );
      return sendOutcomeOf(result);
    },
    async start() {
      const me = await api.getMe();
      bot = { id: me.id, username: me.username };
      for (const locale of i18n.locales) {
        const commands = CHANNEL_COMMANDS.map((command) => ({ command, description: i18n.t(locale, `command.${command}`) }));
        await api.setMyCommands(commands, locale === i18n.defaultLocale ? {} : { language_code: locale });
      }
      if (options.mode === 'webhook') {
        if (!options.webhookUrl || !options.webhookSecret) throw new Error('Telegram webhook mode needs PUBLIC_URL and TELEGRAM_WEBHOOK_SECRET');
        await api.setWebhook(options.webhookUrl, { secret_token: options.webhookSecret, allowed_updates: [...ALLOWED_UPDATES] });
        logger.info({ bot: bot.username }, 'telegram webhook registered');
      } else {
        await api.deleteWebhook();
        const controller = new AbortController();
        polling = { controller, loop: poll(controller.signal) };
        logger.info({ bot: bot.username }, 'telegram long polling started');
      }
    },
    async stop() {
      if (!polling) return;
      polling.controller.abort();
      await polling.loop;
      polling = null;
    },
  };
}

/**
 * A turn's replies as Telegram messages: texts joined into as few messages as fit, each set
 * of choices as inline buttons on the message that asks, and a "send my location" key where
 * the flow asks for a place.
 */
export function renderTelegram(replies: readonly Reply[], i18n: Translator, locale: string): TelegramMessage[] {
  const messages: TelegramMessage[] = [];
  let pending = '';
  for (const rendered of renderReplies(replies, TELEGRAM_CAPABILITIES, i18n, locale)) {
    const text = rendered.imageUrl ? `${rendered.text}\n${rendered.imageUrl}`.trim() : rendered.text;
    const joined = pending ? `${pending}\n\n${text}` : text;
    const fits = joined.length <= TELEGRAM_CAPABILITIES.maxTextLength;
    if (!fits && pending) {
      messages.push({ text: pending });
      pending = text;
    } else {
      pending = joined;
    }
    if (rendered.buttons?.length || rendered.requestLocation) {
      messages.push({
        text: pending,
        ...(rendered.buttons?.length ? { buttons: rendered.buttons } : {}),
        ...(rendered.requestLocation ? { locationButton: i18n.t(locale, 'telegram.share_location') } : {}),
      });
      pending = '';
    }
  }
  if (pending) messages.push({ text: pending });
  return messages;
}

/** A supported locale for Telegram's language_code ("es-MX" → "es"), else the default. */
function localeOf(i18n: Translator, languageCode: string | undefined): string {
  const language = languageCode?.slice(0, 2).toLowerCase();
  return language && i18n.locales.includes(language) ? language : i18n.defaultLocale;
}

/** What a send to a chat did, as the channel-neutral outcome: the first message that did not go decides. */
function sendOutcomeOf(result: TelegramSendResult): SendOutcome {
  const stopped = result.records.find((record) => record.state === 'skipped' || record.state === 'failed');
  if (!stopped) return { state: 'sent' };
  if (stopped.state === 'skipped') return { state: 'skipped', reason: stopped.lastError === 'opted out' ? 'opted_out' : (stopped.lastError ?? 'skipped') };
  const interrupted = stopped.lastError === INTERRUPTED;
  return { state: 'failed', error: stopped.lastError ?? 'failed', retryable: result.retryLater, ...(interrupted ? { interrupted } : {}) };
}
