/**
 * The `web` channel: a plain JSON API (`/chat/api`, see web.routes.ts) for simple integrations
 * and scripts. A client posts a message and gets the rendered replies in the response. It was
 * the first HTTP channel and works with no account; the page at `/chat` is the web chat's
 * (Microsoft's Web Chat on our Direct Line, in ../webchat/).
 *
 * A conversation id is issued by the server (128 random bits) and is the browser's secret for
 * that conversation: it is what lets a reload show the conversation again.
 */
import { randomBytes } from 'node:crypto';
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

/** A new, unguessable conversation id. */
export function newWebConversationId(): string {
  return randomBytes(16).toString('base64url');
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
