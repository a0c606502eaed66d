/**
 * The channel-adapter interface: every channel (console, web page, SMS, Telegram, Bot
 * Framework) is a small object built by a factory, never a subclass. It turns provider
 * requests into `InboundMessage`s in its own way, and says what it can show (`capabilities`) so
 * one renderer can fit the engine's replies to it.
 */
import type { ChannelName, Choice } from '../core/message.js';
import type { ChannelFacts } from '../engine/types.js';

/** What a channel can show and receive. */
export interface ChannelCapabilities {
  /** Tappable choices (inline keyboard, suggested actions); without them, a numbered list. */
  buttons: boolean;
  /** At most this many buttons in one message; more becomes a numbered list. */
  maxButtons: number;
  /** Longer text is split into several messages. */
  maxTextLength: number;
  /** Residents can send photos. */
  media: boolean;
  /** Residents can share a GPS location. */
  location: boolean;
  /**
   * Messages sent in bulk (broadcasts) end with how to opt out: carriers expect it of SMS (CTIA),
   * and elsewhere it is noise, since every chat has its own way to stop a bot. Absent: no.
   */
  bulkOptOutLine?: boolean;
}

/** One message as a channel sends it, after rendering. */
export interface OutboundMessage {
  text: string;
  buttons?: Choice[];
  requestLocation?: boolean;
  requestPhoto?: boolean;
  imageUrl?: string;
}

/** Why a message is sent unprompted; everything but an opt-out's confirmation skips opted-out residents. */
export type OutboundPurpose = 'reply' | 'opt_out_confirmation' | 'status_update' | 'broadcast' | 'notification';

/** How to send unprompted messages. */
export interface SendOptions {
  purpose: OutboundPurpose;
  /**
   * What the messages are (a broadcast delivery, a report update): the same key sends them at
   * most once, however often `send` is called (a retry, a restarted worker).
   */
  key: string;
  /** The language the messages are in (the activity's locale on web chat). */
  locale: string;
}

/**
 * What an unprompted send did. `failed` with `interrupted` means an earlier attempt was cut off
 * mid-send (the process died): it may have arrived, so it is not sent again.
 */
export type SendOutcome =
  | { state: 'sent' }
  | { state: 'outbox' }
  | { state: 'skipped'; reason: string }
  | { state: 'failed'; error: string; retryable: boolean; interrupted?: boolean };

/** A channel adapter: its name, what it can do, and how to reach a resident unprompted. */
export interface ChannelAdapter {
  readonly name: ChannelName;
  readonly capabilities: ChannelCapabilities;
  /**
   * Whether an address of this channel is this adapter's to reach. Web chat has two adapters
   * (the city's own Direct Line, the Bot Framework), each with its own addresses; absent, every
   * address of the channel is.
   */
  owns?(address: string): boolean;
  /** Sends messages to an address outside a webhook's reply (status updates, broadcasts). */
  send(address: string, messages: readonly OutboundMessage[], options: SendOptions): Promise<SendOutcome>;
}

/** The facts the engine needs about a channel. */
export function channelFacts(capabilities: ChannelCapabilities): ChannelFacts {
  return { media: capabilities.media, location: capabilities.location, buttons: capabilities.buttons };
}
