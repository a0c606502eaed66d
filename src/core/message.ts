/**
 * The one message type that flows through the whole pipeline, whatever channel it came from.
 * Kept small on purpose (botbuilder's Activity has 42 fields and `any` escape hatches).
 */

/** A channel a resident can reach the city on. */
export const CHANNEL_NAMES = ['sms', 'telegram', 'webchat', 'web', 'console'] as const;
export type ChannelName = (typeof CHANNEL_NAMES)[number];

/** Commands channels offer residents (as /start, /help... on Telegram). */
export const CHANNEL_COMMANDS = ['start', 'help', 'menu', 'language', 'stop'] as const;
export type ChannelCommand = (typeof CHANNEL_COMMANDS)[number];

/** Deep links (`/start report`, a QR code on a street light) and the dialog each one opens. */
export const DEEP_LINKS: Readonly<Record<string, string>> = {
  report: 'report-problem',
  status: 'check-status',
  idea: 'submit-idea',
  ideas: 'ideas',
  volunteer: 'volunteer',
};

/** A point the resident shared (a GPS pin), with an optional label the channel gave it. */
export interface GeoPoint {
  lat: number;
  lon: number;
  label?: string;
}

/** A photo or other file a resident sent; `url` is what the channel lets us fetch it by. */
export interface MediaRef {
  url: string;
  contentType: string;
}

/** A message from a resident, normalized by the channel adapter that received it. */
export interface InboundMessage {
  /** The provider's message id (MessageSid, update_id, activity id): retries carry the same one. */
  id: string;
  channel: ChannelName;
  /** Who sent it, as `<channel>:<provider address>`, e.g. `sms:+15551234567`. */
  address: string;
  text: string;
  /** The id of a button the resident pressed, when the channel has buttons. */
  choice?: string;
  /**
   * Something the resident sent that the channel cannot pass on (a sticker, a voice note, an
   * edit of an earlier message): the bot says what it can read.
   */
  unsupported?: 'sticker' | 'voice' | 'video' | 'document' | 'contact' | 'edit' | 'other';
  /** A channel command (Telegram's /start, /help...), with a deep-link payload if any. */
  command?: { name: ChannelCommand; payload?: string };
  location?: GeoPoint;
  media?: MediaRef[];
  /** The language the channel says the resident uses (Telegram's language_code), if any. */
  locale?: string;
  receivedAt: Date;
  /** The provider payload; only the adapter that made this message may read it. */
  raw?: unknown;
}

/** One option the resident can pick; `label` is already in the resident's language. */
export interface Choice {
  id: string;
  label: string;
}

/** What the bot says, before a channel's renderer fits it to what the channel can show. */
export type Reply =
  | {
      kind: 'text';
      text: string;
      choices?: Choice[];
      /** Ask the channel to offer a "share my location" control, where it has one. */
      requestLocation?: boolean;
      /** Ask the channel to offer a photo upload, where it has one. */
      requestPhoto?: boolean;
    }
  | { kind: 'image'; url: string; caption?: string };

/** The unique key of an inbound message across channels, used to process a retry once. */
export function messageKey(message: Pick<InboundMessage, 'channel' | 'id'>): string {
  return `${message.channel}:${message.id}`;
}
