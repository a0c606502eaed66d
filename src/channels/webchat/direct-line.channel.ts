/**
 * A Direct Line 3.0-compatible endpoint that CivicLine serves itself, so Microsoft's Web Chat
 * control works on the embedded default with no Azure account: conversations are started with
 * a signed token, activities are posted, and the browser receives every activity of its
 * conversation over a WebSocket or by polling with a watermark.
 *
 * Each conversation keeps its activity log in the store (the watermark is a position in it), so
 * a returning browser sees its conversation again, including messages that arrived while it
 * was away (status updates, broadcasts).
 */
import type { Activity } from 'botbuilder';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Translator } from '../../core/i18n.js';
import { KeyedMutex } from '../../pipeline/keyed-mutex.js';
import type { InboundMessage } from '../../core/message.js';
import type { TurnPipeline } from '../../pipeline/turn-pipeline.js';
import type { Collections } from '../../store/store.port.js';
import { channelFacts, type ChannelAdapter } from '../channel.js';
import { sendRecorded } from '../outbound-records.js';
import {
  activityAttachments,
  activityEntities,
  activityToMessage,
  plainData,
  renderedToActivity,
  repliesToActivities,
  WEBCHAT_CAPABILITIES,
  webchatAddress,
} from './activity-mapping.js';
import { createTokenSigner, newId, RENEWAL_GRACE_MS, type TokenClaims } from './direct-line-token.js';

/** The most activities one history request returns. */
const HISTORY_LIMIT = 1000;
const TEXT_MAX = 2000;

/** What the browser posts: a message activity (Web Chat adds its own fields, which we ignore). */
const postedActivity = z
  .object({
    type: z.literal('message'),
    text: z.string().max(TEXT_MAX).optional(),
    value: z.unknown().optional(),
    locale: z.string().max(35).optional(),
    attachments: activityAttachments.optional(),
    entities: activityEntities.optional(),
    channelData: z
      .object({
        // The message's id, which store ids are made of (an opt-out's consent event, say): printable
        // ASCII, as Web Chat makes it. A NUL in it (found by the bad-input fuzzer) made the store
        // refuse the turn's records, and the browser got a 500 for its "stop".
        clientActivityID: z
          .string()
          .max(100)
          .regex(/^[\x20-\x7e]*$/, 'must be printable ASCII')
          .optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

type Posted = z.infer<typeof postedActivity> & { attachments: { contentType: string; contentUrl: string; name?: string }[] };

/** A posted activity as the normalized message. */
function inboundOf(activity: Posted, claims: TokenClaims, id: string): InboundMessage {
  const message = activityToMessage(
    { ...activity, serviceUrl: 'urn:civicline:directline', channelId: 'directline', conversation: { id: claims.conversationId }, from: { id: claims.userId } },
    new Date(),
    id,
  );
  return { ...message, id };
}

/** One batch for the browser: activities after a watermark, and the new watermark. */
export interface ActivitySet {
  activities: Partial<Activity>[];
  watermark: string;
}

/** The Direct Line channel. */
export interface DirectLineChannel extends ChannelAdapter {
  /** A token for a new conversation (a browser opening the chat for the first time). */
  newConversationToken(): { conversationId: string; token: string; expires_in: number };
  /**
   * The claims of a valid token for this conversation (any conversation when omitted) and of
   * this scope (a conversation token, unless a stream is being opened); null otherwise.
   */
  authorize(token: string | undefined, conversationId?: string, scope?: TokenClaims['scope']): TokenClaims | null;
  /**
   * The claims of a conversation token that may be renewed: valid, or expired less than a month
   * ago, from a chain first issued less than a month ago (a stolen token does not live forever).
   */
  authorizeRenewal(token: string | undefined): TokenClaims | null;
  /** A short-lived token for a stream URL. */
  streamToken(claims: TokenClaims): string;
  /** A fresh token for the same conversation. */
  refresh(claims: TokenClaims): { conversationId: string; token: string; expires_in: number };
  /** Starts (or resumes) the conversation; a new one is greeted. */
  start(claims: TokenClaims): Promise<void>;
  /**
   * Takes a posted activity; returns its id, a validation error, or that the sender is over
   * their rate limit (nothing stored then). Attachments are only the photos the upload endpoint
   * stores (`upload`, called once the activity is valid and its sender let through): a posted
   * URL is never attached to a report.
   */
  post(
    claims: TokenClaims,
    body: unknown,
    upload?: () => Promise<{ contentType: string; contentUrl: string; name?: string }[]>,
  ): Promise<{ id: string } | { error: string } | { throttled: { retryAfterSeconds: number } }>;
  /** Checks a posted activity before anything (an upload) is stored for it. */
  validate(body: unknown): string | null;
  /** The conversation's activities after a watermark. */
  history(conversationId: string, watermark: number): Promise<ActivitySet>;
  /** Calls `listener` with every new activity of the conversation until unsubscribed. */
  subscribe(conversationId: string, listener: (set: ActivitySet) => void): () => void;
}

export interface DirectLineOptions {
  tokenSecret: Buffer;
  pipeline: TurnPipeline;
  i18n: Translator;
  store: Collections;
  logger: Logger;
  cityName: string;
}

/** The Direct Line channel of one service; see the module comment. */
export function createDirectLineChannel(options: DirectLineOptions): DirectLineChannel {
  const { pipeline, i18n, store, cityName } = options;
  const signer = createTokenSigner(options.tokenSecret);
  const listeners = new Map<string, Set<(set: ActivitySet) => void>>();
  // Appends are numbered one at a time per conversation (positions are the watermark).
  const appends = new KeyedMutex();
  // A posted activity is looked for in the log and logged under this lock (see `post`).
  const posts = new KeyedMutex();
  const bot = { id: 'civicline', name: cityName, role: 'bot' };

  function append(conversationId: string, activities: Partial<Activity>[]): Promise<Partial<Activity>[]> {
    return appends.run(conversationId, async () => {
      const [last] = await store.webchatActivities.find({ field: 'conversationId', equals: conversationId }, { order: 'desc', limit: 1 });
      // After "delete my data" the log is empty but positions go on from where they were.
      let seq = last ? last.seq : Number((await store.meta.get(`webchat-floor|${conversationId}`))?.value ?? -1);
      const stored: Partial<Activity>[] = [];
      for (const activity of activities) {
        seq += 1;
        const full = {
          ...activity,
          id: `${conversationId}|${String(seq).padStart(7, '0')}`,
          timestamp: new Date().toISOString(),
          channelId: 'directline',
          conversation: { id: conversationId },
        } as unknown as Partial<Activity>; // JSON: the timestamp is a string on the wire
        await store.webchatActivities.insert({ _id: full.id as string, conversationId, seq, activity: full, at: new Date() });
        stored.push(full);
      }
      for (const listener of listeners.get(conversationId) ?? []) listener({ activities: stored, watermark: String(seq) });
      return stored;
    });
  }

  async function takeTurn(conversationId: string, message: InboundMessage, replyToId?: string): Promise<void> {
    const turn = await pipeline.handle(message, channelFacts(WEBCHAT_CAPABILITIES));
    if (turn.duplicate) return; // its replies are in the log already
    const replies = repliesToActivities(turn.replies, i18n, turn.locale, 'directline').map((reply) => ({
      ...reply,
      type: 'message',
      from: bot,
      ...(replyToId ? { replyToId } : {}),
    }));
    if (replies.length > 0) await append(conversationId, replies as Partial<Activity>[]);
  }

  const issue = (conversationId: string, userId: string, since?: number) => {
    const { token, expiresIn } = signer.issue(conversationId, userId, since === undefined ? {} : { since });
    return { conversationId, token, expires_in: expiresIn };
  };

  return {
    name: 'webchat',
    capabilities: WEBCHAT_CAPABILITIES,

    newConversationToken: () => issue(newId(), `dl_${newId()}`),
    refresh: (claims) => issue(claims.conversationId, claims.userId, claims.since),
    streamToken: (claims) => signer.issue(claims.conversationId, claims.userId, { scope: 'stream', since: claims.since }).token,

    authorizeRenewal(token) {
      const claims = token ? signer.verify(token, Date.now(), RENEWAL_GRACE_MS) : null;
      if (!claims || claims.scope !== 'conversation' || claims.since * 1000 + RENEWAL_GRACE_MS < Date.now()) return null;
      return claims;
    },

    authorize(token, conversationId, scope = 'conversation') {
      const claims = token ? signer.verify(token) : null;
      if (!claims || claims.scope !== scope || (conversationId !== undefined && claims.conversationId !== conversationId)) return null;
      return claims;
    },

    validate(body) {
      const parsed = postedActivity.safeParse(body);
      return parsed.success ? null : parsed.error.issues.map((i) => `${i.path.join('.') || 'activity'}: ${i.message}`).join('; ');
    },

    async start(claims) {
      const [first] = await store.webchatActivities.find({ field: 'conversationId', equals: claims.conversationId }, { limit: 1 });
      if (first) return; // a returning browser: its conversation goes on
      await takeTurn(claims.conversationId, {
        id: `start:${claims.conversationId}`,
        channel: 'webchat',
        address: webchatAddress(claims.conversationId),
        text: '',
        command: { name: 'start' },
        receivedAt: new Date(),
      });
    },

    async post(claims, body, upload) {
      const parsed = postedActivity.safeParse(body);
      if (!parsed.success) return { error: parsed.error.issues.map((i) => `${i.path.join('.') || 'activity'}: ${i.message}`).join('; ') };
      const clientId = parsed.data.channelData?.clientActivityID;
      // A flooding sender: nothing of theirs is stored, logged or processed; the one "slow down" is.
      const refused = await pipeline.admit(inboundOf({ ...parsed.data, attachments: [] }, claims, clientId ?? `unnamed:${newId()}`));
      if (refused) {
        const notice = repliesToActivities(refused.replies, i18n, refused.locale, 'directline').map((reply) => ({ ...reply, type: 'message', from: bot }));
        if (notice.length > 0) await append(claims.conversationId, notice as Partial<Activity>[]);
        return { throttled: refused.throttled ?? { retryAfterSeconds: 60 } };
      }
      // Web Chat resends an activity it did not see acknowledged, possibly while the first post is
      // still in flight: looking for it and logging it happen under one lock per conversation, so
      // two copies cannot both be logged. A copy found in the log has its turn taken only if no
      // reply to it is there yet (its turn failed, or is still running); the pipeline makes that once.
      const logged = await posts.run(claims.conversationId, async () => {
        if (clientId) {
          const recent = await store.webchatActivities.find({ field: 'conversationId', equals: claims.conversationId }, { order: 'desc', limit: 50 });
          const seen = recent.find((entry) => (entry.activity as { channelData?: { clientActivityID?: string } }).channelData?.clientActivityID === clientId);
          if (seen) {
            const replied = recent.some((entry) => (entry.activity as { replyToId?: string }).replyToId === seen._id);
            return { kind: 'seen' as const, seen, replied };
          }
        }
        // Only the upload endpoint's photos are attachments; whatever else was posted is dropped.
        const activity = { ...parsed.data, attachments: upload ? await upload() : [] };
        // What the browser sent, as JSON the store can hold (see plainData), with our attachments and sender.
        const sent = plainData({ ...parsed.data, attachments: undefined }) as Record<string, unknown>;
        const [echo] = await append(claims.conversationId, [
          {
            ...sent,
            ...(activity.attachments.length ? { attachments: activity.attachments } : {}),
            from: { id: claims.userId, role: 'user' },
          } as Partial<Activity>,
        ]);
        return { kind: 'new' as const, activity, id: echo!.id as string };
      });
      if (logged.kind === 'seen') {
        const { seen, replied } = logged;
        if (!replied) {
          const attachments = ((seen.activity as { attachments?: Posted['attachments'] }).attachments ?? []) as Posted['attachments'];
          await takeTurn(claims.conversationId, inboundOf({ ...parsed.data, attachments }, claims, clientId ?? seen._id), seen._id);
        }
        return { id: seen._id };
      }
      await takeTurn(claims.conversationId, inboundOf(logged.activity, claims, clientId ?? logged.id), logged.id);
      return { id: logged.id };
    },

    async history(conversationId, watermark) {
      // The newest first: a browser asks for what came after its watermark, at the tail. One
      // whose watermark is older than the last HISTORY_LIMIT activities gets those.
      const newest = await store.webchatActivities.find({ field: 'conversationId', equals: conversationId }, { order: 'desc', limit: HISTORY_LIMIT });
      const after = newest.filter((entry) => entry.seq > watermark).reverse();
      const last = newest[0]?.seq ?? -1;
      return { activities: after.map((entry) => entry.activity as Partial<Activity>), watermark: String(Math.max(last, watermark)) };
    },

    subscribe(conversationId, listener) {
      let set = listeners.get(conversationId);
      if (!set) listeners.set(conversationId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        // Only this set: a second unsubscribe must not drop a newer subscriber's.
        if (set.size === 0 && listeners.get(conversationId) === set) listeners.delete(conversationId);
      };
    },

    async send(address, messages, options) {
      const conversationId = address.slice('webchat:'.length);
      const text = messages.map((m) => m.text).join('\n\n');
      return sendRecorded(store, { idempotencyKey: `${address}|${options.key}|0`, channel: 'webchat', address, text, purpose: options.purpose }, async () => {
        await append(
          conversationId,
          messages.map((m) => ({ ...renderedToActivity(m, options.locale, 'directline'), from: bot })),
        );
      });
    },
  };
}
