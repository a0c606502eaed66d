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
}

/** One message as a channel sends it, after rendering. */
export interface OutboundMessage {
  text: string;
  buttons?: Choice[];
  requestLocation?: boolean;
  requestPhoto?: boolean;
  imageUrl?: string;
}

/** A channel adapter: its name, what it can do, and how to reach a resident unprompted. */
export interface ChannelAdapter {
  readonly name: ChannelName;
  readonly capabilities: ChannelCapabilities;
  /** Sends messages to an address outside a webhook's reply (status updates, broadcasts). */
  send(address: string, messages: readonly OutboundMessage[]): Promise<void>;
}

/** The facts the engine needs about a channel. */
export function channelFacts(capabilities: ChannelCapabilities): ChannelFacts {
  return { media: capabilities.media, location: capabilities.location };
}
