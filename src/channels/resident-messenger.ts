/**
 * Reaches a resident unprompted on the channel of their address (status updates, idea answers,
 * waitlist promotions, volunteer calls): renders the engine's replies for that channel and
 * sends them through its adapter, once per key. Web chat has two adapters with addresses of
 * their own (`webchat:bf:...` the Bot Framework's, `webchat:<id>` the self-hosted Direct Line's):
 * the address alone decides, never something stored about it, so one can never take the other's.
 */
import { CHANNEL_NAMES, type ChannelName, type Reply } from '../core/message.js';
import type { Translator } from '../core/i18n.js';
import type { ChannelAdapter, SendOptions, SendOutcome } from './channel.js';
import { renderReplies } from './render.js';

/** Sends to residents on their own channel. */
export interface ResidentMessenger {
  send(address: string, replies: readonly Reply[], options: SendOptions): Promise<SendOutcome>;
  /** Whether residents of a channel can be reached now (its credentials are set). */
  reaches(channel: ChannelName): boolean;
}

/** The adapters to send through; a missing one is a channel that is off. */
export interface MessengerOptions {
  i18n: Translator;
  sms?: ChannelAdapter | null;
  telegram?: ChannelAdapter | null;
  botframework?: ChannelAdapter | null;
  directLine?: ChannelAdapter | null;
  web?: ChannelAdapter | null;
  console?: ChannelAdapter | null;
}

/** Builds the messenger for a service's channels. */
export function createResidentMessenger(options: MessengerOptions): ResidentMessenger {
  const { i18n } = options;

  function adapterFor(address: string): ChannelAdapter | null {
    const channel = channelOf(address);
    if (channel === 'webchat') return [options.botframework, options.directLine].find((adapter) => adapter && (adapter.owns?.(address) ?? true)) ?? null;
    return (channel && options[channel]) || null;
  }

  return {
    async send(address, replies, sendOptions) {
      const adapter = adapterFor(address);
      if (!adapter) return { state: 'skipped', reason: 'channel_off' };
      // A broadcast by SMS says how to opt out, in the resident's language (carrier rules); the
      // line is the channel's, not the city's message, so staff neither write nor see it.
      const bulk = sendOptions.purpose === 'broadcast' && adapter.capabilities.bulkOptOutLine;
      const withLine: readonly Reply[] = bulk ? [...replies, { kind: 'text', text: i18n.t(sendOptions.locale, 'broadcast.opt_out_line') }] : replies;
      const messages = renderReplies(withLine, adapter.capabilities, i18n, sendOptions.locale);
      return adapter.send(address, messages, sendOptions);
    },
    reaches(channel) {
      if (channel === 'webchat') return Boolean(options.directLine ?? options.botframework);
      return Boolean(options[channel]);
    },
  };
}

/** The channel an address belongs to (`sms:+1555...` → `sms`), or null. */
export function channelOf(address: string): ChannelName | null {
  const prefix = address.slice(0, address.indexOf(':'));
  return (CHANNEL_NAMES as readonly string[]).includes(prefix) ? (prefix as ChannelName) : null;
}
