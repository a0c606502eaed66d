/**
 * Bot Framework Activities, both ways: an incoming message activity becomes the normalized
 * message; the engine's replies become activities with suggested actions (buttons), or a hero
 * card where suggested actions do not fit (Teams, or more choices than Web Chat shows well).
 *
 * This folder is the only place that imports botbuilder: replacing it with its successor (the
 * Microsoft 365 Agents SDK, same Activity protocol) touches these files only.
 */
import { createHash } from 'node:crypto';
import { CardFactory, MessageFactory, type Activity, type CardAction } from 'botbuilder';
import { z } from 'zod';
import type { InboundMessage, Reply } from '../../core/message.js';
import type { Translator } from '../../core/i18n.js';
import type { ChannelCapabilities, OutboundMessage } from '../channel.js';
import { renderReplies } from '../render.js';

/** Web Chat shows buttons, photos and (through our page) the browser's location. */
export const WEBCHAT_CAPABILITIES: ChannelCapabilities = { buttons: true, maxButtons: 20, maxTextLength: 4000, media: true, location: true };

/** More suggested actions than this become a hero card's buttons. */
const MAX_SUGGESTED_ACTIONS = 10;
/** Channels that do not show suggested actions (they get hero cards). */
const NO_SUGGESTED_ACTIONS = new Set(['msteams', 'skype', 'email']);

// botbuilder copies `from` and `recipient` into the reply it posts: a `name` or `role` that is not
// a string made its serializer throw after the turn was taken, and the sender was told to retry.
const account = z.object({ id: z.string().min(1).max(500), name: z.string().max(500).optional(), role: z.string().max(50).optional() }).loose();

/** An Activity's attachments and entities, as both entry points (Bot Framework, Direct Line) read them. */
export const activityAttachments = z.array(z.object({ contentType: z.string().max(200), contentUrl: z.string().max(4000).optional() }).loose()).max(10);
export const activityEntities = z.array(z.object({ type: z.string().max(100) }).loose()).max(20);

/** The parts of an Activity CivicLine reads; botbuilder checks the rest. */
export const incomingActivity = z
  .object({
    type: z.string().min(1).max(50),
    // Replies name it in the URL they are posted to (replyToId): channels' ids are ASCII.
    id: z
      .string()
      .max(500)
      .regex(/^[\x20-\x7e]*$/, 'must be printable ASCII')
      .optional(),
    serviceUrl: z.string().url().max(2000),
    channelId: z.string().min(1).max(100),
    // botbuilder sends it back in a header (x-ms-conversation-id) with every reply: one a header
    // cannot carry would fail the reply after the turn was taken. Channels' ids are ASCII.
    conversation: account.extend({
      id: z
        .string()
        .min(1)
        .max(500)
        .regex(/^[\x20-\x7e]+$/, 'must be printable ASCII'),
    }),
    from: account,
    recipient: account.optional(),
    text: z.string().max(10_000).optional(),
    locale: z.string().max(35).optional(),
    value: z.unknown().optional(),
    attachments: activityAttachments.optional(),
    entities: activityEntities.optional(),
    deliveryMode: z.string().max(50).optional(),
    // A conversationUpdate's new members (a greeting is owed when one is not the bot). Checked to
    // be a list: `{"membersAdded": {}}` made the turn throw, and the sender was told to retry.
    membersAdded: z
      .array(z.object({ id: z.string().max(500).optional() }).loose())
      .max(1000)
      .optional(),
  })
  .loose();

/** An incoming activity as `incomingActivity` parsed it. */
export type IncomingActivity = z.infer<typeof incomingActivity>;

/**
 * Web chat has two entry points and they must never share a resident: a Bot Framework activity
 * names any conversation id it likes (in development mode anyone on the machine can send one),
 * so had both mapped `webchat:<id>` alike, an activity naming a Direct Line conversation's id
 * would have continued that resident's conversation and re-routed their updates. So the city's
 * own web chat (Direct Line, issue 16 finding 8) keeps `webchat:<id>`, as SPEC names it, and the
 * Bot Framework's conversations live under `webchat:bf:<channelId>:<conversationId>`. Direct Line
 * ids never hold a `:` (the service makes them, base64url; see `directLineAddress`), so no id of
 * one can spell an address of the other. Both stay the `webchat` channel for staff and audiences.
 */
const BOT_FRAMEWORK_PREFIX = 'webchat:bf:';
/** The ids Direct Line hands out (`newId()`: base64url), at most as long as the store keys allow. */
const DIRECT_LINE_ID = /^[A-Za-z0-9_-]{1,120}$/;
/** Bot Framework channel ids as the channels send them (`msteams`, `webchat`, `emulator`...). */
const CHANNEL_ID = /^[A-Za-z0-9._-]{1,40}$/;
/** Longest `<channelId>:<conversationId>` kept as it is; longer ones (or odd ones) are hashed. */
const MAX_PLAIN_BOT_FRAMEWORK_ID = 117;

/** The address of a conversation of the city's own web chat (Direct Line): `webchat:<id>`. */
export function directLineAddress(conversationId: string): string {
  // Ids are this service's own (signed tokens), so always the plain form; anything else is hashed
  // (hex holds no `:`), so even an id that got in some other way cannot reach another space.
  return `webchat:${DIRECT_LINE_ID.test(conversationId) ? conversationId : sha256(conversationId)}`;
}

/**
 * The address of a Bot Framework conversation: `webchat:bf:<channelId>:<conversationId>`. The
 * channel is part of it, since channels' conversation ids are only unique within a channel. Some
 * conversation ids are longer than the store's keys allow (or a channel id is unusual): then the
 * pair is hashed, `webchat:bf:<sha256 hex>` (no `:` after the prefix, so it is never a plain one).
 */
export function botFrameworkAddress(channelId: string, conversationId: string): string {
  const plain = `${channelId}:${conversationId}`;
  const keptAsIs = CHANNEL_ID.test(channelId) && /^[\x20-\x7e]+$/.test(conversationId) && plain.length <= MAX_PLAIN_BOT_FRAMEWORK_ID;
  // Hashed as JSON, so ('a', 'b:c') and ('a:b', 'c') stay two conversations.
  return `${BOT_FRAMEWORK_PREFIX}${keptAsIs ? plain : sha256(JSON.stringify([channelId, conversationId]))}`;
}

/** Whether an address is a Bot Framework conversation's (see `botFrameworkAddress`). */
export function isBotFrameworkAddress(address: string): boolean {
  return address.startsWith(BOT_FRAMEWORK_PREFIX);
}

/** Whether an address is a conversation of the city's own web chat (see `directLineAddress`). */
export function isDirectLineAddress(address: string): boolean {
  return address.startsWith('webchat:') && DIRECT_LINE_ID.test(address.slice('webchat:'.length));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A message activity as the normalized message, from the resident at `address`: the entry point
 * that took the activity says whose it is (`botFrameworkAddress`, `directLineAddress`).
 */
export function activityToMessage(activity: IncomingActivity, address: string, receivedAt: Date, fallbackId: string): InboundMessage {
  const value = activity.value as { choice?: unknown; location?: { lat?: unknown; lon?: unknown } } | undefined;
  const choice = typeof value?.choice === 'string' ? value.choice.slice(0, 100) : undefined;
  const geo = activity.entities?.find((e) => e.type === 'GeoCoordinates') as { latitude?: unknown; longitude?: unknown } | undefined;
  const lat = coordinate(geo?.latitude ?? value?.location?.lat);
  const lon = coordinate(geo?.longitude ?? value?.location?.lon);
  const location = Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 ? { lat, lon } : undefined;
  const media = (activity.attachments ?? [])
    .filter((a) => a.contentType.startsWith('image/') && typeof a.contentUrl === 'string' && /^https?:\/\//.test(a.contentUrl))
    .map((a) => ({ url: a.contentUrl as string, contentType: a.contentType }));
  return {
    id: activity.id ?? fallbackId,
    channel: 'webchat',
    address,
    text: activity.text ?? '',
    ...(choice ? { choice } : {}),
    ...(location && (geo || value?.location) ? { location } : {}),
    ...(media.length ? { media } : {}),
    ...(activity.locale ? { locale: activity.locale } : {}),
    receivedAt,
  };
}

/** Keys a stored object never keeps: mongoose (both adapters validate with it) reads `constructor` to tell a plain object. */
const UNSAFE_KEYS = new Set(['constructor', '__proto__', 'prototype']);
/**
 * Keys a MongoDB-protocol server may refuse in a document: FerretDB refuses keys that start with
 * `$` or hold a `.` or a NUL (MongoDB reads `$` keys as operators in places), so none is kept.
 */
const UNSTORABLE_KEY = /^\$|[.\0]/;
/** JSON that senders put in an activity is kept this deep at most (Web Chat's own is 3 levels). */
const MAX_KEPT_DEPTH = 8;

/**
 * A copy of JSON a sender chose (the parts of an activity that are kept: a conversation
 * reference, a Direct Line echo) that the store can hold: only JSON values, without the keys
 * and the nested arrays above, at most `MAX_KEPT_DEPTH` levels deep (deeper parts are dropped). `{"constructor":
 * {"toString": 1}}` made mongoose throw, and a 30,000-level array overflowed the stack.
 */
export function plainData(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'object' || depth >= MAX_KEPT_DEPTH) return undefined;
  if (Array.isArray(value)) {
    // FerretDB stores no array directly inside an array: those are dropped.
    return value.flatMap((each) => (Array.isArray(each) ? [] : [plainData(each, depth + 1)])).filter((each) => each !== undefined);
  }
  const kept: Record<string, unknown> = {};
  for (const [key, each] of Object.entries(value)) {
    const copy = UNSAFE_KEYS.has(key) || UNSTORABLE_KEY.test(key) ? undefined : plainData(each, depth + 1);
    if (copy !== undefined) kept[key] = copy;
  }
  return kept;
}

/**
 * A coordinate as sent: a number, or a number in a string (some clients send them so). Anything
 * else is not one; `Number()` on an arbitrary object could even throw (`{"valueOf": 1}`).
 */
function coordinate(value: unknown): number {
  if (typeof value === 'number') return value;
  return typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
}

/** The engine's replies as activities for a channel. */
export function repliesToActivities(replies: readonly Reply[], i18n: Translator, locale: string, channelId: string): Partial<Activity>[] {
  return renderReplies(replies, WEBCHAT_CAPABILITIES, i18n, locale).map((rendered) => renderedToActivity(rendered, locale, channelId));
}

/** One rendered message as an activity: suggested actions, a hero card when they do not fit, or text. */
export function renderedToActivity(rendered: OutboundMessage, locale: string, channelId: string): Partial<Activity> {
  {
    let activity: Partial<Activity>;
    if (rendered.imageUrl) {
      activity = MessageFactory.contentUrl(rendered.imageUrl, 'image/jpeg', '', rendered.text || undefined);
    } else if (rendered.buttons?.length) {
      const actions: CardAction[] = rendered.buttons.map((choice) => ({
        type: 'messageBack',
        title: choice.label,
        text: choice.label,
        displayText: choice.label,
        value: { choice: choice.id },
      }));
      activity =
        actions.length <= MAX_SUGGESTED_ACTIONS && !NO_SUGGESTED_ACTIONS.has(channelId)
          ? MessageFactory.suggestedActions(actions, rendered.text)
          : MessageFactory.attachment(CardFactory.heroCard('', undefined, actions, { text: rendered.text }));
    } else {
      activity = MessageFactory.text(rendered.text);
    }
    activity.locale = locale;
    // Plain text: line breaks stay, and nothing a resident wrote (echoed in a read-back) is
    // read as markdown.
    activity.textFormat = 'plain';
    if (rendered.requestLocation || rendered.requestPhoto) {
      activity.channelData = { ...(rendered.requestLocation ? { requestLocation: true } : {}), ...(rendered.requestPhoto ? { requestPhoto: true } : {}) };
    }
    return activity;
  }
}
