/**
 * The SMS channel (Twilio): what SMS can show, and how replies become message bodies. Choices
 * become a numbered list; a turn's replies are joined into as few bodies as fit (each body is a
 * separate, separately billed message), and folded into GSM-7 so an accent does not halve the
 * characters per segment.
 */
import type { Reply } from '../../core/message.js';
import type { Translator } from '../../core/i18n.js';
import type { ChannelAdapter, ChannelCapabilities } from '../channel.js';
import { renderReplies, split } from '../render.js';
import { foldToGsm7 } from './gsm7.js';
import type { SmsSender } from './sms-sender.js';
import { INTERRUPTED } from '../outbound-records.js';

/** Twilio concatenates up to 1,600 characters into one message. */
export const SMS_MAX_BODY = 1600;

export const SMS_CAPABILITIES: ChannelCapabilities = {
  buttons: false,
  maxButtons: 0,
  maxTextLength: SMS_MAX_BODY,
  media: true,
  location: false,
  bulkOptOutLine: true,
};

/** The bodies to send for a turn's replies: as few as fit, in GSM-7 where possible. */
export function renderSmsBodies(replies: readonly Reply[], i18n: Translator, locale: string): string[] {
  const texts = renderReplies(replies, SMS_CAPABILITIES, i18n, locale).map((message) =>
    message.imageUrl ? `${message.text}\n${message.imageUrl}`.trim() : message.text,
  );
  return packBodies(texts);
}

/** Texts joined into as few bodies as fit (each is split first if it alone is too long), in GSM-7. */
function packBodies(texts: readonly string[]): string[] {
  const bodies: string[] = [];
  for (const text of texts.flatMap((t) => split(foldToGsm7(t), SMS_MAX_BODY))) {
    if (!text) continue;
    const last = bodies[bodies.length - 1];
    if (last !== undefined && last.length + 2 + text.length <= SMS_MAX_BODY) bodies[bodies.length - 1] = `${last}\n\n${text}`;
    else bodies.push(text);
  }
  return bodies;
}

/** The SMS channel adapter: unprompted messages go through the sender. */
export function createSmsChannel(sender: SmsSender): ChannelAdapter {
  return {
    name: 'sms',
    capabilities: SMS_CAPABILITIES,
    async send(address, messages, options) {
      // As few bodies as fit in Twilio's 1,600 characters; a longer one is refused (21617).
      let outbox = false;
      for (const [i, body] of packBodies(messages.map((m) => m.text)).entries()) {
        const record = await sender.send(address, body, { purpose: options.purpose, idempotencyKey: `${address}|${options.key}|${i}` });
        if (record.state === 'skipped') return { state: 'skipped', reason: record.lastError === 'opted out' ? 'opted_out' : (record.lastError ?? 'skipped') };
        if (record.state === 'failed') {
          const interrupted = record.lastError === INTERRUPTED;
          return { state: 'failed', error: record.lastError ?? 'failed', retryable: false, ...(interrupted ? { interrupted } : {}) };
        }
        outbox ||= record.state === 'outbox';
      }
      return { state: outbox ? 'outbox' : 'sent' };
    },
  };
}
