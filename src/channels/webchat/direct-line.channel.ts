/**
 * A Direct Line 3.0-compatible endpoint that CivicLine serves itself, so Microsoft's Web Chat
 * control works on the embedded default with no Azure account: conversations are started with
 * a signed token, activities are posted, and the browser receives every activity of its
 * conversation over a WebSocket or by polling with a watermark.
 *
 * Each conversation keeps its activity log in the store (the watermark is a position in it), so
 * a returning browser sees its conversation again, including messages that arrived while it
 * was away (status updates, broadcasts).
 *
 * Several instances may serve one database with no sticky sessions: a browser's WebSocket can be
 * on one instance while its posts, their replies and broadcasts go through others. So positions
 * are claimed in the store (an insert that fails when another instance took the position first),
 * streams also read the store for what other instances appended, and a message resent to two
 * instances at once is logged by the one that claims it first.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Activity } from 'botbuilder';
import { z } from 'zod';
import type { Logger } from 'pino';
import { errorSummary } from '../../core/errors.js';
import type { MessageVars, Translator } from '../../core/i18n.js';
import { KeyedMutex } from '../../pipeline/keyed-mutex.js';
import type { InboundMessage } from '../../core/message.js';
import type { TurnPipeline } from '../../pipeline/turn-pipeline.js';
import { acceptsPhoto, type PhotoTiming } from '../../engine/photo-wanted.js';
import type { Collections } from '../../store/store.port.js';
import { MAX_KEY_LENGTH } from '../../store/schemas.js';
import type { MetaRecord, WebchatActivityRecord } from '../../domain/records.js';
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
  directLineAddress,
  isDirectLineAddress,
} from './activity-mapping.js';
import { createTokenSigner, newId, RENEWAL_GRACE_MS, type TokenClaims } from './direct-line-token.js';

/** The most activities one history request returns. */
const HISTORY_LIMIT = 1000;
const TEXT_MAX = 2000;
/** How far back a resent activity is looked for in the log. */
const RESENT_WINDOW = 50;

/**
 * How many times one activity is numbered again because other instances took its position
 * first. Each miss means another append succeeded, so this is only reached by a store that
 * refuses inserts for another reason (then the append fails rather than spin).
 */
const APPEND_ATTEMPTS = 20;
/** How often a conversation with open streams is read for what other instances appended. */
const POLL_INTERVAL_MS = 300;
/** The newest activities one poll reads; a stream further behind than that reads HISTORY_LIMIT. */
const POLL_LIMIT = 10;
/**
 * How long a stream waits at a hole in the log before passing it. A position is only claimed
 * after the one before it was read, so a hole is an insert of another instance not visible yet
 * (milliseconds), or positions deleted with a resident's data while the stream was behind (passed
 * at once: they are at most the `webchat-floor`). The wait is for anything else, so that a stream
 * can never stall for good.
 */
const HOLE_WAIT_MS = 3_000;
/**
 * A claim on logging a posted activity older than this was left by an instance that died
 * mid-post (logging an echo takes milliseconds, saving its photos a second or so): another
 * instance takes the claim over. Instances' clocks must agree to well within this.
 */
const POST_CLAIM_LEASE_MS = 15_000;
/** How often a copy waiting for another instance's echo of it looks again. */
const POST_RECHECK_MS = 50;

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
    directLineAddress(claims.conversationId),
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
  /**
   * Whether the conversation takes a photo now: a report in progress, or a reply to an update on
   * the resident's report (`acceptsPhoto`). The upload endpoint asks before it reads a byte.
   */
  photoWanted(claims: TokenClaims): Promise<boolean>;
  /**
   * The flood brake for a message whose turn comes later (an upload, before its photos are
   * stored; `body` absent for one refused unread): null when let through, else when to retry (the
   * brake's one "slow down" is logged then). `post` with `admitted` then does not count it again.
   */
  admit(claims: TokenClaims, body?: unknown): Promise<{ retryAfterSeconds: number } | null>;
  /** Logs a bot message from the locales in the conversation, in its language (why an upload was refused). */
  tell(claims: TokenClaims, key: string, vars?: MessageVars): Promise<void>;
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
    options?: { admitted?: boolean },
  ): Promise<{ id: string } | { error: string } | { throttled: { retryAfterSeconds: number } }>;
  /** Checks a posted activity before anything (an upload) is stored for it. */
  validate(body: unknown): string | null;
  /** The conversation's activities after a watermark. */
  history(conversationId: string, watermark: number): Promise<ActivitySet>;
  /**
   * Calls `listener` with the conversation's activities after position `after`, each once and in
   * order, whichever instance appended them, until unsubscribed. This instance's appends arrive
   * at once, other instances' within a poll interval.
   */
  subscribe(conversationId: string, after: number, listener: (set: ActivitySet) => void): () => void;
  /** Stops reading the store for subscribers (its timers) and waits for a read in flight; before the store closes. */
  close(): Promise<void>;
}

/** What the Direct Line channel is built from. */
export interface DirectLineOptions {
  tokenSecret: Buffer;
  pipeline: TurnPipeline;
  i18n: Translator;
  store: Collections;
  logger: Logger;
  cityName: string;
  /** The engine's settings that say whether a conversation takes a photo (see `photoWanted`). */
  engine: PhotoTiming;
  /**
   * How often (ms) a conversation with open streams is read for activities other instances
   * appended: the most a browser waits for a reply that went through another instance.
   * Default 300; tests lower it.
   */
  pollIntervalMs?: number;
  /**
   * Whether other instances may write to this store (MongoDB): then a posted activity is claimed
   * across instances before it is logged. The embedded store is one process's, where the lock
   * here is enough and the claim's two writes per post are not spent. Default true. (Open streams
   * are polled on either store: on the embedded one a poll is a read of a few microseconds, and
   * one code path serves both.)
   */
  sharedStore?: boolean;
}

/** A logged activity at its position. */
type Logged = Pick<WebchatActivityRecord, 'seq' | 'activity'>;

/** One subscriber of a conversation and where it is in the log. */
interface Subscriber {
  listener: (set: ActivitySet) => void;
  /** The last position it was given. */
  last: number;
  /** When a poll first found a hole right after `last` (see HOLE_WAIT_MS). */
  holeSince?: number;
}

/** The subscribers of one conversation in this instance, and the poll that serves them. */
interface Watch {
  conversationId: string;
  subscribers: Set<Subscriber>;
  timer?: NodeJS.Timeout;
  /** The poll running now, if any; `again` asks for another as soon as it ends. */
  polling?: Promise<void>;
  again: boolean;
  /** The last poll failed (logged once per run of failures, not every interval). */
  failing: boolean;
}

/** A posted activity found in the log, and whether a reply to it is there too. */
interface Seen {
  kind: 'seen';
  seen: WebchatActivityRecord;
  replied: boolean;
}

/** The store id of the claim on logging a posted activity (see `logOnce`). */
function postedKey(conversationId: string, clientId: string): string {
  const key = `webchat-posted|${conversationId}|${clientId}`;
  if (key.length <= MAX_KEY_LENGTH) return key;
  // Too long for a store id: hashed, under another prefix so it never equals a client id as sent.
  return `webchat-posted-sha256|${conversationId}|${createHash('sha256').update(clientId).digest('base64url')}`;
}

/** When the claim was made (epoch ms); 0 for one that does not say, so it counts as stale. */
function claimedAt(marker: MetaRecord): number {
  const at = (marker.value as { at?: unknown } | null)?.at;
  return typeof at === 'number' ? at : 0;
}

/** The Direct Line channel of one service; see the module comment. */
export function createDirectLineChannel(options: DirectLineOptions): DirectLineChannel {
  const { pipeline, i18n, store, cityName, logger } = options;
  const pollIntervalMs = options.pollIntervalMs ?? POLL_INTERVAL_MS;
  const sharedStore = options.sharedStore ?? true;
  const signer = createTokenSigner(options.tokenSecret);
  const watches = new Map<string, Watch>();
  let closed = false;
  // Appends are numbered one at a time per conversation within this instance (positions are the
  // watermark). Only a fast path: other instances are kept apart by the store (see `append`).
  const appends = new KeyedMutex();
  // A posted activity is looked for in the log and logged under this lock (see `post`).
  const posts = new KeyedMutex();
  const bot = { id: 'civicline', name: cityName, role: 'bot' };

  const newest = (conversationId: string, limit: number) =>
    store.webchatActivities.find({ field: 'conversationId', equals: conversationId }, { order: 'desc', limit });

  /** Where the conversation's log ended when a resident deleted their data (positions go on from there), or -1. */
  async function floorOf(conversationId: string): Promise<number> {
    return Number((await store.meta.get(`webchat-floor|${conversationId}`))?.value ?? -1);
  }

  /** The conversation's last position: its newest activity's, or where a deleted log ended, or -1. */
  async function tail(conversationId: string): Promise<number> {
    const [last] = await newest(conversationId, 1);
    return last ? last.seq : floorOf(conversationId);
  }

  function append(conversationId: string, activities: Partial<Activity>[]): Promise<Partial<Activity>[]> {
    return appends.run(conversationId, async () => {
      let seq = await tail(conversationId);
      const stored: Logged[] = [];
      for (const activity of activities) {
        for (let attempt = 1; ; attempt += 1) {
          seq += 1;
          const full = {
            ...activity,
            id: `${conversationId}|${String(seq).padStart(7, '0')}`,
            timestamp: new Date().toISOString(),
            channelId: 'directline',
            conversation: { id: conversationId },
          } as unknown as Partial<Activity>; // JSON: the timestamp is a string on the wire
          // The insert is the claim on the position: it fails, writing nothing, when another
          // instance logged there since the tail was read. Then number again from the new tail,
          // so positions stay dense, unique and in the order they were logged.
          if (await store.webchatActivities.insert({ _id: full.id as string, conversationId, seq, activity: full, at: new Date() })) {
            stored.push({ seq, activity: full });
            break;
          }
          if (attempt >= APPEND_ATTEMPTS) throw new Error(`web chat: no free position to log an activity after ${attempt} attempts`);
          seq = await tail(conversationId);
        }
      }
      // This instance's streams get them now; if one is missing an activity before them (another
      // instance's, not read yet), a poll now fills the hole and brings these along.
      const watch = watches.get(conversationId);
      if (watch && offer(watch, stored, () => false)) void poll(watch);
      return stored.map((entry) => entry.activity as Partial<Activity>);
    });
  }

  /**
   * Gives each subscriber the activities right after its position, up to the first hole; returns
   * whether one was left waiting at a hole. `passHole` says whether a subscriber may skip the hole
   * before `next`, the first activity it has not had.
   */
  function offer(watch: Watch, entries: readonly Logged[], passHole: (subscriber: Subscriber, next: Logged) => boolean): boolean {
    let waiting = false;
    for (const subscriber of watch.subscribers) {
      const start = entries.findIndex((entry) => entry.seq > subscriber.last);
      const next = entries[start];
      if (!next) continue;
      if (next.seq !== subscriber.last + 1 && !passHole(subscriber, next)) {
        waiting = true;
        continue;
      }
      const run = [next];
      for (const entry of entries.slice(start + 1)) {
        if (entry.seq !== run[run.length - 1]!.seq + 1) break;
        run.push(entry);
      }
      subscriber.last = run[run.length - 1]!.seq;
      delete subscriber.holeSince;
      try {
        subscriber.listener({ activities: run.map((entry) => entry.activity as Partial<Activity>), watermark: String(subscriber.last) });
      } catch (error) {
        // One broken stream must not keep the others of the conversation from their activities.
        logger.warn({ channel: 'webchat', err: errorSummary(error) }, 'web chat listener failed');
      }
    }
    return waiting;
  }

  /**
   * Reads the conversation's newest activities and offers them to its subscribers, then plans the
   * next read. One poll at a time per conversation; a poll asked for meanwhile runs right after.
   */
  function poll(watch: Watch): Promise<void> {
    if (watch.polling) {
      watch.again = true;
      return watch.polling;
    }
    clearTimeout(watch.timer);
    const running = (async () => {
      try {
        const after = Math.min(...[...watch.subscribers].map((subscriber) => subscriber.last));
        if (!Number.isFinite(after)) return;
        let limit = POLL_LIMIT;
        let found = await newest(watch.conversationId, limit);
        // More than a poll's worth behind (a burst, or a stream opened on an old watermark).
        if (found.length === limit && found[found.length - 1]!.seq > after + 1) found = await newest(watch.conversationId, (limit = HISTORY_LIMIT));
        const complete = found.length < limit;
        const entries = found.reverse();
        const now = Date.now();
        let holed = false;
        for (const subscriber of watch.subscribers) {
          const next = entries.find((entry) => entry.seq > subscriber.last);
          if (!next) delete subscriber.holeSince;
          else if (next.seq > subscriber.last + 1) holed = true;
        }
        // Positions up to where a deleted log ended are gone for good: no need to wait at them.
        const floor = holed ? await floorOf(watch.conversationId) : -1;
        offer(watch, entries, (subscriber, next) => {
          // Further behind than the read reaches: it gets the newest, as from `history`.
          if (!complete && entries[0]!.seq > subscriber.last + 1) return true;
          if (next.seq - 1 <= floor) return true;
          subscriber.holeSince ??= now;
          return now - subscriber.holeSince >= HOLE_WAIT_MS;
        });
        watch.failing = false;
      } catch (error) {
        // The store is down or slow: the streams wait, and the next poll tries again.
        if (!watch.failing) logger.warn({ channel: 'webchat', err: errorSummary(error) }, 'web chat poll failed');
        watch.failing = true;
      }
    })().finally(() => {
      delete watch.polling;
      if (closed || watches.get(watch.conversationId) !== watch) return;
      const delay = watch.again ? 0 : pollIntervalMs;
      watch.again = false;
      // A timer that does not keep the process alive: a service that is not closed still exits.
      watch.timer = setTimeout(() => void poll(watch), delay).unref();
    });
    watch.polling = running;
    return running;
  }

  /** The posted activity with this client id among the conversation's recent ones, if logged. */
  async function findPosted(conversationId: string, clientId: string): Promise<Seen | null> {
    const recent = await newest(conversationId, RESENT_WINDOW);
    const seen = recent.find((entry) => (entry.activity as { channelData?: { clientActivityID?: string } }).channelData?.clientActivityID === clientId);
    if (!seen) return null;
    return { kind: 'seen', seen, replied: recent.some((entry) => (entry.activity as { replyToId?: string }).replyToId === seen._id) };
  }

  /**
   * Logs a posted activity with `logEcho` unless a copy of it (the same client id) is logged
   * already or is being logged by another instance; then that copy is returned, once it is in
   * the log. The echo's id is its position, unknown until it is logged, so instances agree
   * through a claim in `meta` keyed by the client id: the instance whose insert of the claim
   * succeeds looks in the log and logs; the others wait for the echo to appear. The claim is
   * removed once the echo is logged (the log answers later copies), or when logging failed (a
   * resend may try again). One left by an instance that died mid-post is taken over after
   * POST_CLAIM_LEASE_MS, by one instance only (the replace checks the revision).
   */
  async function logOnce<T>(conversationId: string, clientId: string, logEcho: () => Promise<T>): Promise<T | Seen> {
    const key = postedKey(conversationId, clientId);
    const claim = () => ({ _id: key, value: { at: Date.now() } });
    // Bounded: a claim is taken over after its lease, so waiting longer means the store or the clocks misbehave.
    const deadline = Date.now() + 2 * POST_CLAIM_LEASE_MS;
    for (;;) {
      let claimed = await store.meta.insert(claim());
      if (!claimed) {
        const found = await findPosted(conversationId, clientId);
        if (found) return found;
        const marker = await store.meta.get(key);
        if (marker && Date.now() - claimedAt(marker) >= POST_CLAIM_LEASE_MS) claimed = await store.meta.replace(claim(), marker._rev);
        if (!claimed) {
          if (Date.now() > deadline) throw new Error('web chat: another copy of this activity is still being logged');
          // Gone without an echo: its post failed, so claim it again at once.
          if (marker) await sleep(POST_RECHECK_MS);
          continue;
        }
      }
      try {
        // A copy logged before whose claim is removed since is in the log.
        return (await findPosted(conversationId, clientId)) ?? (await logEcho());
      } finally {
        // Not the post's failure if this fails: a claim left behind only makes a later copy wait
        // for its lease (or find the echo in the log).
        await store.meta.delete(key).catch((error: unknown) => {
          logger.warn({ channel: 'webchat', err: errorSummary(error) }, 'web chat post claim not removed');
        });
      }
    }
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

  /** The flood brake for a posted activity: null when let through, else when to retry (the one "slow down" logged). */
  async function admitPost(claims: TokenClaims, activity: z.infer<typeof postedActivity>): Promise<{ retryAfterSeconds: number } | null> {
    const clientId = activity.channelData?.clientActivityID;
    const refused = await pipeline.admit(inboundOf({ ...activity, attachments: [] }, claims, clientId ?? `unnamed:${newId()}`));
    if (!refused) return null;
    const notice = repliesToActivities(refused.replies, i18n, refused.locale, 'directline').map((reply) => ({ ...reply, type: 'message', from: bot }));
    if (notice.length > 0) await append(claims.conversationId, notice as Partial<Activity>[]);
    return refused.throttled ?? { retryAfterSeconds: 60 };
  }

  const issue = (conversationId: string, userId: string, since?: number) => {
    const { token, expiresIn } = signer.issue(conversationId, userId, since === undefined ? {} : { since });
    return { conversationId, token, expires_in: expiresIn };
  };

  return {
    name: 'webchat',
    capabilities: WEBCHAT_CAPABILITIES,
    owns: isDirectLineAddress,

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
        address: directLineAddress(claims.conversationId),
        text: '',
        command: { name: 'start' },
        receivedAt: new Date(),
      });
    },

    async photoWanted(claims) {
      const conversation = await store.conversations.get(directLineAddress(claims.conversationId));
      return acceptsPhoto(conversation?.state, Date.now(), options.engine);
    },

    async admit(claims, body) {
      const parsed = postedActivity.safeParse(body);
      return admitPost(claims, parsed.success ? parsed.data : { type: 'message' });
    },

    async tell(claims, key, vars) {
      const conversation = await store.conversations.get(directLineAddress(claims.conversationId));
      const stated = (conversation?.state as { locale?: unknown } | undefined)?.locale;
      const locale = typeof stated === 'string' && i18n.locales.includes(stated) ? stated : i18n.defaultLocale;
      const text = i18n.t(locale, key, { city: cityName, ...vars });
      const said = repliesToActivities([{ kind: 'text', text }], i18n, locale, 'directline').map((reply) => ({ ...reply, type: 'message', from: bot }));
      await append(claims.conversationId, said as Partial<Activity>[]);
    },

    async post(claims, body, upload, postOptions = {}) {
      const parsed = postedActivity.safeParse(body);
      if (!parsed.success) return { error: parsed.error.issues.map((i) => `${i.path.join('.') || 'activity'}: ${i.message}`).join('; ') };
      const clientId = parsed.data.channelData?.clientActivityID;
      // A flooding sender: nothing of theirs is stored, logged or processed; the one "slow down" is.
      const throttled = postOptions.admitted ? null : await admitPost(claims, parsed.data);
      if (throttled) return { throttled };
      // Web Chat resends an activity it did not see acknowledged, possibly while the first post is
      // still in flight, and with no sticky sessions the copies can reach different instances:
      // looking for it and logging it happen under one lock per conversation here, and under a
      // claim in the store across instances (see `logOnce`), so two copies cannot both be logged.
      // A copy found in the log has its turn taken only if no reply to it is there yet (its turn
      // failed, or is still running); the pipeline makes that once.
      const logEcho = async () => {
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
      };
      const logged = await posts.run(claims.conversationId, async () => {
        if (!clientId) return logEcho();
        if (sharedStore) return logOnce(claims.conversationId, clientId, logEcho);
        return (await findPosted(claims.conversationId, clientId)) ?? (await logEcho());
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
      const found = await newest(conversationId, HISTORY_LIMIT);
      const after = found.filter((entry) => entry.seq > watermark).reverse();
      const last = found[0]?.seq ?? -1;
      return { activities: after.map((entry) => entry.activity as Partial<Activity>), watermark: String(Math.max(last, watermark)) };
    },

    subscribe(conversationId, after, listener) {
      if (closed) return () => {};
      let watch = watches.get(conversationId);
      if (!watch) watches.set(conversationId, (watch = { conversationId, subscribers: new Set(), again: false, failing: false }));
      const subscriber: Subscriber = { listener, last: after };
      watch.subscribers.add(subscriber);
      // At once: what was appended between the caller's history read and now, on any instance.
      void poll(watch);
      const mine = watch;
      return () => {
        mine.subscribers.delete(subscriber);
        // Only this watch: a second unsubscribe must not stop a newer subscriber's polls.
        if (mine.subscribers.size === 0 && watches.get(conversationId) === mine) {
          clearTimeout(mine.timer);
          watches.delete(conversationId);
        }
      };
    },

    async close() {
      closed = true;
      const running = [...watches.values()].map((watch) => {
        clearTimeout(watch.timer);
        return watch.polling;
      });
      watches.clear();
      await Promise.all(running);
    },

    async send(address, messages, options) {
      // A Bot Framework conversation's address is not a log here (its messages go through botbuilder).
      if (!isDirectLineAddress(address)) return { state: 'failed', error: 'not a Direct Line conversation', retryable: false };
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
