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
import { KeyedMutex } from '../../core/keyed-mutex.js';
import type { InboundMessage } from '../../core/message.js';
import type { TurnPipeline } from '../../core/turn-pipeline.js';
import type { Collections } from '../../store/store.port.js';
import { channelFacts, type ChannelAdapter } from '../channel.js';
import { activityToMessage, repliesToActivities, WEBCHAT_CAPABILITIES, webchatAddress } from './activity-mapping.js';
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
    attachments: z
      .array(z.object({ contentType: z.string().max(200), contentUrl: z.string().max(4000).optional() }).loose())
      .max(5)
      .optional(),
    entities: z
      .array(z.object({ type: z.string().max(100) }).loose())
      .max(20)
      .optional(),
    channelData: z
      .object({ clientActivityID: z.string().max(100).optional() })
      .loose()
      .optional(),
  })
  .loose();

/** One batch for the browser: activities after a watermark, and the new watermark. */
export interface ActivitySet {
  activities: Partial<Activity>[];
  watermark: string;
}

/** The Direct Line channel. */
export interface DirectLineChannel extends ChannelAdapter {
  /** A token for a new conversation (a browser opening the chat for the first time). */
  newConversationToken(): { conversationId: string; token: string; expires_in: number };
  /** The claims of a valid token for this conversation (any conversation when omitted); null otherwise. */
  authorize(token: string | undefined, conversationId?: string): TokenClaims | null;
  /** The claims of a token that may be renewed: valid, or expired less than a month ago. */
  authorizeRenewal(token: string | undefined): TokenClaims | null;
  /** A fresh token for the same conversation. */
  refresh(claims: TokenClaims): { conversationId: string; token: string; expires_in: number };
  /** Starts (or resumes) the conversation; a new one is greeted. */
  start(claims: TokenClaims): Promise<void>;
  /** Takes a posted activity; returns its id, or a validation error. */
  post(claims: TokenClaims, body: unknown): Promise<{ id: string } | { error: string }>;
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

export function createDirectLineChannel(options: DirectLineOptions): DirectLineChannel {
  const { pipeline, i18n, store, cityName } = options;
  const signer = createTokenSigner(options.tokenSecret);
  const listeners = new Map<string, Set<(set: ActivitySet) => void>>();
  // Appends are numbered one at a time per conversation (positions are the watermark).
  const appends = new KeyedMutex();
  const bot = { id: 'civicline', name: cityName, role: 'bot' };

  function append(conversationId: string, activities: Partial<Activity>[]): Promise<Partial<Activity>[]> {
    return appends.run(conversationId, async () => {
      const [last] = await store.webchatActivities.find({ field: 'conversationId', equals: conversationId }, { order: 'desc', limit: 1 });
      let seq = last ? last.seq : -1;
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

  const issue = (conversationId: string, userId: string) => {
    const { token, expiresIn } = signer.issue(conversationId, userId);
    return { conversationId, token, expires_in: expiresIn };
  };

  return {
    name: 'webchat',
    capabilities: WEBCHAT_CAPABILITIES,

    newConversationToken: () => issue(newId(), `dl_${newId()}`),
    refresh: (claims) => issue(claims.conversationId, claims.userId),

    authorizeRenewal: (token) => (token ? signer.verify(token, Date.now(), RENEWAL_GRACE_MS) : null),

    authorize(token, conversationId) {
      const claims = token ? signer.verify(token) : null;
      if (!claims || (conversationId !== undefined && claims.conversationId !== conversationId)) return null;
      return claims;
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

    async post(claims, body) {
      const parsed = postedActivity.safeParse(body);
      if (!parsed.success) return { error: parsed.error.issues.map((i) => `${i.path.join('.') || 'activity'}: ${i.message}`).join('; ') };
      const clientId = parsed.data.channelData?.clientActivityID;
      // Web Chat resends an activity it did not see acknowledged; the log already has it.
      if (clientId) {
        const recent = await store.webchatActivities.find({ field: 'conversationId', equals: claims.conversationId }, { order: 'desc', limit: 50 });
        const seen = recent.find((entry) => (entry.activity as { channelData?: { clientActivityID?: string } }).channelData?.clientActivityID === clientId);
        if (seen) return { id: seen._id };
      }
      const { channelData, ...rest } = parsed.data;
      const [echo] = await append(claims.conversationId, [
        { ...rest, ...(channelData ? { channelData } : {}), from: { id: claims.userId, role: 'user' } } as Partial<Activity>,
      ]);
      const id = echo!.id as string;
      const message = activityToMessage(
        {
          ...parsed.data,
          serviceUrl: 'urn:civicline:directline',
          channelId: 'directline',
          conversation: { id: claims.conversationId },
          from: { id: claims.userId },
        },
        new Date(),
        clientId ?? id,
      );
      await takeTurn(claims.conversationId, { ...message, id: clientId ?? id }, id);
      return { id };
    },

    async history(conversationId, watermark) {
      const entries = await store.webchatActivities.find({ field: 'conversationId', equals: conversationId }, { order: 'asc', limit: HISTORY_LIMIT });
      const after = entries.filter((entry) => entry.seq > watermark);
      const last = entries.at(-1)?.seq ?? -1;
      return { activities: after.map((entry) => entry.activity as Partial<Activity>), watermark: String(Math.max(last, watermark)) };
    },

    subscribe(conversationId, listener) {
      let set = listeners.get(conversationId);
      if (!set) listeners.set(conversationId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(conversationId);
      };
    },

    async send(address, messages) {
      const conversationId = address.slice('webchat:'.length);
      await append(
        conversationId,
        messages.map((m) => ({ type: 'message', text: m.text, from: bot }) as Partial<Activity>),
      );
    },
  };
}
