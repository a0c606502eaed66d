/**
 * Telegram's Update JSON, as CivicLine reads it: private messages (text, photos, locations,
 * commands), button presses (callback queries), edits, and what the bot cannot read. Group
 * chats are told apart, because reports are always made in a private chat.
 */
import { z } from 'zod';
import { CHANNEL_COMMANDS, type ChannelCommand, type InboundMessage } from '../../core/message.js';

const chat = z.object({ id: z.number().int(), type: z.enum(['private', 'group', 'supergroup', 'channel']) });
const user = z.object({ id: z.number().int(), is_bot: z.boolean().optional(), language_code: z.string().max(35).optional() });
const photoSize = z.object({ file_id: z.string().min(1).max(300), file_size: z.number().optional() });
const message = z.object({
  message_id: z.number().int(),
  chat,
  from: user.optional(),
  date: z.number().optional(),
  text: z.string().max(10_000).optional(),
  caption: z.string().max(10_000).optional(),
  photo: z.array(photoSize).max(20).optional(),
  location: z.object({ latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180) }).optional(),
  sticker: z.unknown().optional(),
  voice: z.unknown().optional(),
  audio: z.unknown().optional(),
  video: z.unknown().optional(),
  video_note: z.unknown().optional(),
  document: z.unknown().optional(),
  contact: z.unknown().optional(),
  reply_to_message: z.object({ from: user.optional() }).optional(),
});
const inlineButton = z.object({ text: z.string(), callback_data: z.string().optional() });

/** The parts of an Update that CivicLine reads; anything else in it is ignored. */
export const telegramUpdate = z.object({
  update_id: z.number().int().nonnegative(),
  message: message.optional(),
  edited_message: message.optional(),
  callback_query: z
    .object({
      id: z.string().min(1).max(100),
      from: user,
      data: z.string().max(64).optional(),
      message: z
        .object({
          message_id: z.number().int(),
          chat,
          reply_markup: z.object({ inline_keyboard: z.array(z.array(inlineButton)) }).optional(),
        })
        .optional(),
    })
    .optional(),
});

export type TelegramUpdate = z.infer<typeof telegramUpdate>;

/** Who the bot is (from getMe): group messages address it by name or by replying to it. */
export interface BotIdentity {
  id: number;
  username: string;
}

/** What an update means for CivicLine. */
export type ParsedUpdate =
  /** A resident's message (or button press) for the pipeline. */
  | { kind: 'message'; chatId: number; message: InboundMessage; pressed?: { callbackQueryId: string; messageId?: number } }
  /** A message in a group: answered only when it addresses the bot, and then with a pointer to a private chat. */
  | { kind: 'group'; chatId: number; addressed: boolean; locale?: string }
  /** Nothing to do (a service message, a chat-member change...). */
  | { kind: 'ignore' };

/** The Telegram channel's address for a private chat. */
export function telegramAddress(chatId: number): string {
  return `telegram:${chatId}`;
}

/** The chat id of a Telegram address. */
export function chatIdOf(address: string): number {
  return Number(address.slice('telegram:'.length));
}

/**
 * Reads an update. `botUsername` tells when a group message addresses the bot. A photo's
 * media reference is `telegram-file:<file_id>`: Telegram's file URLs contain the bot token, a
 * secret, so they are never stored; a file id is fetched with getFile when needed.
 */
export function parseTelegramUpdate(update: TelegramUpdate, bot: BotIdentity, receivedAt: Date): ParsedUpdate {
  // update_id counts per bot: with the bot's id, a replacement bot on the same store starts clean.
  const id = `${bot.id}:${update.update_id}`;
  const botUsername = bot.username;
  const callback = update.callback_query;
  if (callback) {
    const where = callback.message?.chat;
    if (!where || where.type !== 'private' || callback.data === undefined) return { kind: 'ignore' };
    const label = callback.message?.reply_markup?.inline_keyboard.flat().find((button) => button.callback_data === callback.data)?.text ?? '';
    return {
      kind: 'message',
      chatId: where.id,
      message: {
        id,
        channel: 'telegram',
        address: telegramAddress(where.id),
        text: label,
        choice: callback.data,
        ...(callback.from.language_code ? { locale: callback.from.language_code } : {}),
        receivedAt,
      },
      pressed: { callbackQueryId: callback.id, ...(callback.message ? { messageId: callback.message.message_id } : {}) },
    };
  }

  const edited = update.edited_message;
  const incoming = update.message ?? edited;
  if (!incoming) return { kind: 'ignore' };
  const locale = incoming.from?.language_code;
  if (incoming.chat.type !== 'private') {
    const text = incoming.text ?? incoming.caption ?? '';
    const addressed = (botUsername !== '' && text.toLowerCase().includes(`@${botUsername.toLowerCase()}`)) || incoming.reply_to_message?.from?.id === bot.id;
    return { kind: 'group', chatId: incoming.chat.id, addressed, ...(locale ? { locale } : {}) };
  }
  if (incoming.from?.is_bot) return { kind: 'ignore' };

  const base = {
    id,
    channel: 'telegram' as const,
    address: telegramAddress(incoming.chat.id),
    ...(locale ? { locale } : {}),
    receivedAt,
  };
  const text = incoming.text ?? incoming.caption ?? '';
  if (edited) return { kind: 'message', chatId: incoming.chat.id, message: { ...base, text, unsupported: 'edit' } };

  const command = parseCommand(incoming.text, botUsername);
  if (command) return { kind: 'message', chatId: incoming.chat.id, message: { ...base, text: incoming.text ?? '', command } };

  const largest = incoming.photo?.at(-1);
  if (largest) {
    return {
      kind: 'message',
      chatId: incoming.chat.id,
      message: { ...base, text, media: [{ url: `telegram-file:${largest.file_id}`, contentType: 'image/jpeg' }] },
    };
  }
  if (incoming.location) {
    return {
      kind: 'message',
      chatId: incoming.chat.id,
      message: { ...base, text, location: { lat: incoming.location.latitude, lon: incoming.location.longitude } },
    };
  }
  if (incoming.text !== undefined) return { kind: 'message', chatId: incoming.chat.id, message: { ...base, text: incoming.text } };
  return { kind: 'message', chatId: incoming.chat.id, message: { ...base, text, unsupported: unsupportedKind(incoming) } };
}

/** `/start`, `/start report`, `/help@CityBot`: the command when it is one of ours. */
function parseCommand(text: string | undefined, botUsername: string): { name: ChannelCommand; payload?: string } | null {
  const match = /^\/([a-z_]+)(?:@(\w+))?(?:\s+(\S[\s\S]*))?$/i.exec(text?.trim() ?? '');
  if (!match) return null;
  const [, name = '', target, payload] = match;
  if (target && (botUsername === '' || target.toLowerCase() !== botUsername.toLowerCase())) return null;
  const command = name.toLowerCase() as ChannelCommand;
  if (!CHANNEL_COMMANDS.includes(command)) return null;
  return { name: command, ...(payload ? { payload: payload.trim().toLowerCase().slice(0, 64) } : {}) };
}

function unsupportedKind(incoming: z.infer<typeof message>): NonNullable<InboundMessage['unsupported']> {
  if (incoming.sticker !== undefined) return 'sticker';
  if (incoming.voice !== undefined || incoming.audio !== undefined) return 'voice';
  if (incoming.video !== undefined || incoming.video_note !== undefined) return 'video';
  if (incoming.document !== undefined) return 'document';
  if (incoming.contact !== undefined) return 'contact';
  return 'other';
}
