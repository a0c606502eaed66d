/**
 * The `web` channel: a plain JSON API (`/chat/api`, see web.routes.ts) for simple integrations
 * and scripts. A client posts a message and gets the rendered replies in the response. It was
 * the first HTTP channel and works with no account; the page at `/chat` is the web chat's
 * (Microsoft's Web Chat on our Direct Line, in ../webchat/).
 *
 * A conversation id is issued by the server (128 random bits and a tag that proves it was issued
 * here) and is the browser's secret for that conversation: it is what lets a reload show the
 * conversation again. Issuing is what the new-chat limit counts, so an id nobody was issued (an
 * invented one) is refused: 2,000 invented ids used to make 2,000 residents in 3 seconds.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { InboundMessage } from '../../core/message.js';
import type { ChannelAdapter, ChannelCapabilities } from '../channel.js';

/** What the page can do: buttons, a location button; no uploads in this minimal page. */
export const WEB_CAPABILITIES: ChannelCapabilities = { buttons: true, maxButtons: 13, maxTextLength: 4000, media: false, location: true };

const CONVERSATION_ID = /^[A-Za-z0-9_-]{22,64}$/;
/** The most a resident may type in one web message. */
export const WEB_TEXT_MAX = 2000;

/** The JSON body of `POST /chat/api/messages`. */
export const webMessageBody = z
  .object({
    conversationId: z.string().regex(CONVERSATION_ID, 'must be the id from POST /chat/api/session'),
    messageId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8-64 letters, digits, - or _ (unique per message)'),
    text: z.string().max(WEB_TEXT_MAX, `must be at most ${WEB_TEXT_MAX} characters`).default(''),
    choice: z.string().max(100).optional(),
    location: z
      .object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) })
      .strict()
      .optional(),
    locale: z
      .string()
      .regex(/^[a-z]{2}(-[A-Za-z]{2})?$/)
      .optional(),
  })
  .strict()
  .refine((body) => body.text.trim().length > 0 || body.choice || body.location, 'send text, a choice or a location');

export type WebMessageBody = z.infer<typeof webMessageBody>;

/** The body naming a conversation, for the history endpoint. */
export const webConversationQuery = z.strictObject({ conversationId: z.string().regex(CONVERSATION_ID, 'must be the id from POST /chat/api/session') });

/** Issues conversation ids and recognises the ones issued (by any instance sharing the secret). */
export interface WebConversationIds {
  /** A new, unguessable conversation id. */
  issue(): string;
  /** True when this service issued the id (ids made before tags were added are not, and are looked up instead). */
  wasIssued(conversationId: string): boolean;
}

const NONCE_LENGTH = 22; // 16 random bytes in base64url
const TAG_LENGTH = 22; // 128 bits of HMAC-SHA256 in base64url

/** Conversation ids tagged with a key derived from `secret` (the web chat's token secret). */
export function webConversationIds(secret: Buffer): WebConversationIds {
  // A key of its own, so a tag can never be mistaken for anything else signed with the secret.
  const key = createHmac('sha256', secret).update('civicline web conversation id').digest();
  const tagOf = (nonce: string) => createHmac('sha256', key).update(nonce).digest('base64url').slice(0, TAG_LENGTH);
  return {
    issue() {
      const nonce = randomBytes(16).toString('base64url');
      return `${nonce}${tagOf(nonce)}`;
    },
    wasIssued(conversationId) {
      if (conversationId.length !== NONCE_LENGTH + TAG_LENGTH) return false;
      const expected = Buffer.from(tagOf(conversationId.slice(0, NONCE_LENGTH)));
      const given = Buffer.from(conversationId.slice(NONCE_LENGTH));
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/** The web channel's address for a conversation id. */
export function webAddress(conversationId: string): string {
  return `web:${conversationId}`;
}

/** Turns a validated body into the normalized message. */
export function parseWebMessage(body: WebMessageBody, receivedAt: Date): InboundMessage {
  return {
    id: body.messageId,
    channel: 'web',
    address: webAddress(body.conversationId),
    text: body.text,
    ...(body.choice ? { choice: body.choice } : {}),
    ...(body.location ? { location: body.location } : {}),
    ...(body.locale ? { locale: body.locale } : {}),
    receivedAt,
  };
}

/**
 * The web channel adapter. The page only hears replies to what it sent (no push yet), so
 * messages sent unprompted wait in the transcript, which the page shows on load.
 */
export function createWebChannel(): ChannelAdapter {
  return {
    name: 'web',
    capabilities: WEB_CAPABILITIES,
    async send() {
      // Nothing to push to: the transcript, which the page loads, is the web chat's inbox.
      return { state: 'sent' };
    },
  };
}
