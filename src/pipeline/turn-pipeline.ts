/**
 * The turn pipeline: what happens to every inbound message, whatever the channel.
 *
 *   lock the conversation → load it → answer a retry from its receipt → run the engine
 *   (running the commands it asks for) → commit state + receipt with a revision check →
 *   write the transcript → apply effects → hand the replies back to the channel.
 *
 * State is saved here, after a successful turn, never inside a dialog, and not after a turn
 * that threw. A turn that threw still leaves the resident's message in the transcript.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { messageKey, type ChannelName, type InboundMessage, type Reply } from '../core/message.js';
import { KeyedMutex } from './keyed-mutex.js';
import { CommandRunner, newResident, type CommandScope } from './command-runner.js';
import { advance, initialState, MENU_DIALOG } from '../engine/advance.js';
import { STATE_SCHEMA, type ChannelFacts, type ConversationState, type EngineEnv, type FollowUp, type TurnOutput } from '../engine/types.js';
import type { Effect } from '../engine/commands.js';
import type { ConversationRecord, InboundReceipt, ResidentRecord } from '../domain/records.js';
import type { Store, Unsaved } from '../store/store.port.js';
import { isOneOf } from '../engine/text.js';
import { TokenBuckets, type RateLimit } from './rate-limit.js';
import { errorSummary } from '../core/errors.js';

/** How many recent inbound messages a conversation remembers for answering retries. */
const RECEIPTS_KEPT = 20;
/**
 * How many of those keep their replies. Providers retry a message soon after it (Twilio within
 * its webhook window, Telegram and Direct Line before they send the next update), so an older
 * retry is answered as a duplicate with no replies: processed once, and the resident is not sent
 * an answer to something they said several messages ago. Replies kept on all 20 receipts were
 * most of a conversation record, read and written back on every turn (docs/performance.md).
 */
const RECEIPT_REPLIES_KEPT = 3;
/**
 * Notifications a conversation remembers answers for (the latest ones; a person's hold is never
 * the one let go). An active volunteer easily has five live at once (a reminder per coming shift,
 * "Did you make it?", a call, a ballot): at five, the ballot sent first was forgotten, and "1 3"
 * was taken for an unclear answer to "Did you make it?".
 */
const MAX_FOLLOW_UPS = 12;
/** Commands one turn may chain (load → ask → run → ...); more means a dialog loops. */
const MAX_COMMANDS_PER_TURN = 8;
/** Tries when another service instance changed the conversation between our read and write. */
const COMMIT_ATTEMPTS = 5;
/** A resident's `lastSeenAt` is refreshed at most this often: audiences filter by days. */
const LAST_SEEN_RESOLUTION_MS = 60 * 60 * 1000;

/** What a channel gets back for one inbound message. */
export interface TurnResult {
  replies: Reply[];
  /** The language the replies are in (the renderer's own words use it too). */
  locale: string;
  /** True when this message was processed before and these are the same replies again. */
  duplicate: boolean;
  /** The turn opted the resident out (its reply is the one confirmation they still get). */
  optedOut: boolean;
  /** The turn deleted the resident's data: a channel must not write anything about them back. */
  forgotten?: boolean;
  /**
   * Set when the sender was over their rate limit: the message was not processed (nor stored),
   * and `replies` is the one "slow down" notice, or empty after it.
   */
  throttled?: { retryAfterSeconds: number };
}

/** The parts a pipeline needs. */
export interface TurnPipelineDeps {
  store: Store;
  engine: EngineEnv;
  runner: CommandRunner;
  logger: Logger;
  defaultLocale: string;
  /** Messages one address may send when a channel asks for the limit (`handle`'s `throttle`); absent = none. */
  senderLimit?: RateLimit;
}

/** Processes inbound messages; one instance serves every channel. */
export class TurnPipeline {
  private readonly locks = new KeyedMutex();
  private readonly senders: TokenBuckets;

  constructor(private readonly deps: TurnPipelineDeps) {
    this.senders = new TokenBuckets(deps.senderLimit ?? { perMinute: 0, burst: 0 });
  }

  /**
   * Takes one turn for the message and returns what to send back. With `throttle` (what the
   * channels facing the public ask for), a sender over their rate limit is not processed: see
   * `admit`.
   */
  async handle(message: InboundMessage, channel: ChannelFacts, options: { throttle?: boolean } = {}): Promise<TurnResult> {
    if (options.throttle) {
      const refused = await this.admit(message);
      if (refused) return refused;
    }
    return this.locks.run(message.address, () => this.takeTurn(message, channel));
  }

  /**
   * The per-sender flood brake (in memory, per instance): null when the message may take its
   * turn, else the result to answer with, without processing or storing anything. The first
   * refused message of a flood gets a localized "slow down", the next ones nothing (what the rate
   * lets through meanwhile is processed as usual). A provider's retry of a message let through
   * is let through again (so it gets its same answer), and the carrier words (STOP, START, HELP
   * and their translations) always are: an opt-out must work however fast someone texts.
   */
  async admit(message: InboundMessage): Promise<TurnResult | null> {
    if (!this.senders.enabled || this.isCarrierKeyword(message)) return null;
    const taken = this.senders.take(message.address, messageKey(message));
    if (taken.ok) return null;
    const resident = taken.firstRefusal ? await this.deps.store.residents.get(message.address) : null;
    const { i18n } = this.deps.engine;
    const locale = resident && i18n.locales.includes(resident.locale) ? resident.locale : this.deps.defaultLocale;
    this.deps.logger.warn({ channel: message.channel, messageId: message.id, outcome: 'throttled' }, 'turn');
    // The notice goes with the first refusal only. An opted-out resident gets nothing at all, this
    // notice included; a sender with no record yet (their first turn is still running when the
    // flood's first refusal comes) has not opted out: an opt-out is kept on the resident's record.
    const notice = taken.firstRefusal && !resident?.optedOut;
    const replies: Reply[] = notice ? [{ kind: 'text', text: i18n.t(locale, 'throttle.slow_down') }] : [];
    return { replies, locale, duplicate: false, optedOut: false, throttled: { retryAfterSeconds: Math.max(1, Math.ceil(taken.retryAfterMs / 1000)) } };
  }

  private isCarrierKeyword(message: InboundMessage): boolean {
    if (message.command?.name === 'stop' || message.command?.name === 'help') return true;
    const { i18n } = this.deps.engine;
    return i18n.locales.some((locale) => {
      const words = i18n.keywords(locale);
      // The lists as loaded, not joined: isOneOf keeps each loaded list folded.
      return isOneOf(message.text, words.optOut) || isOneOf(message.text, words.optIn) || isOneOf(message.text, words.help);
    });
  }

  /**
   * Records messages the city sends unprompted (a status update, a volunteer call) in the
   * resident's conversation, under its lock and once per key: the transcript gets them, and
   * the state remembers what a reply may answer (`followUps`). A menu shown before is dropped:
   * the notification is now the latest thing the resident was asked.
   */
  recordProactive(
    address: string,
    channel: ChannelName,
    replies: readonly Reply[],
    options: {
      key: string;
      locale: string;
      at: Date;
      followUp?: FollowUp;
      /** Follow-ups this message ends (a person handing the conversation back ends their hold). */
      endsFollowUps?: readonly FollowUp['kind'][];
      /** A person wrote it from the staff inbox: their display name, kept on its transcript entries. */
      staff?: string;
    },
  ): Promise<void> {
    return this.locks.run(address, async () => {
      const { store } = this.deps;
      const receiptKey = `out|${options.key}`;
      for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
        const conversation = await store.conversations.get(address);
        if (conversation?.recentInbound.some((r) => r.key === receiptKey)) return;
        const stored = conversation?.state as Partial<ConversationState> | undefined;
        const state = stored?.schema === STATE_SCHEMA ? (structuredClone(stored) as ConversationState) : initialState(options.locale, options.at.getTime());
        if (state.flow?.dialog === MENU_DIALOG) state.flow = null;
        if (options.endsFollowUps?.length) state.followUps = (state.followUps ?? []).filter((f) => !options.endsFollowUps!.includes(f.kind));
        if (options.followUp) {
          const others = (state.followUps ?? []).filter(
            (f) => f.until > options.at.getTime() && !(f.kind === options.followUp!.kind && f.ref === options.followUp!.ref),
          );
          state.followUps = latestFollowUps([...others, options.followUp]);
        }
        const firstEntry = conversation?.transcriptLength ?? 0;
        const committed = await this.commit(conversation, {
          _id: address,
          address,
          state,
          recentInbound: withReceipt(conversation?.recentInbound ?? [], { key: receiptKey, replies: [], effects: [], firstEntry }),
          transcriptLength: firstEntry + replies.length,
          updatedAt: conversation?.updatedAt ?? options.at,
        });
        if (!committed) continue;
        for (const [i, reply] of replies.entries()) {
          const seq = firstEntry + i;
          await store.transcripts.upsert({
            _id: transcriptId(address, seq),
            conversationId: address,
            seq,
            direction: 'out',
            channel,
            providerMessageId: options.key,
            text: replyText(reply),
            ...(options.staff ? { staff: options.staff } : {}),
            at: options.at,
          });
        }
        return;
      }
      throw new Error('Conversation kept changing while recording a notification');
    });
  }

  /** Resolves when no turn is in flight (graceful shutdown waits for this). */
  idle(): Promise<void> {
    return this.locks.idle();
  }

  private async takeTurn(message: InboundMessage, channel: ChannelFacts): Promise<TurnResult> {
    const started = performance.now();
    const { store } = this.deps;
    const key = messageKey(message);
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      const conversation = await store.conversations.get(message.address);
      const receipt = conversation?.recentInbound.find((r) => r.key === key);
      // A receipt of a failed attempt does not answer a retry: the retry gets a real turn.
      if (conversation && receipt && !receipt.failed) return this.answerRetry(message, conversation, receipt, started);
      if (conversation && !receipt && (await this.wasTakenBefore(conversation, message.address, key))) return this.answerReplay(message, conversation, started);
      const earlier = (conversation?.recentInbound ?? []).filter((r) => r.key !== key);
      const sourceKey = sourceKeyOf(message.address, key);
      // No conversation: maybe the resident deleted their data (erasure.ts), this being a retry of
      // one of their messages from before (processed once), or their return (opted out if they were).
      const erased = conversation ? null : await this.deps.runner.erasure.lookup(message.address);
      if (await erased?.answered(sourceKey)) return { replies: [], locale: this.deps.defaultLocale, duplicate: true, optedOut: false };

      const resident = await this.residentFor(message, erased?.optedOut ?? false);
      const state = this.stateOf(conversation, resident, message);
      const scope: CommandScope = { address: message.address, channel: message.channel, locale: state.locale, sourceKey, now: message.receivedAt };

      let output: TurnOutput & { forget: boolean };
      try {
        output = await this.runEngine(state, message, resident, channel, scope);
      } catch (error) {
        return this.recordFailedTurn(message, conversation, state, error, started);
      }
      const { replies, effects, forget } = output;
      if (forget) {
        // "Delete my data" deleted the conversation with the rest (erasure.ts): nothing of this turn is written back.
        this.deps.logger.info({ channel: message.channel, messageId: message.id, ...output.trace, latencyMs: round(performance.now() - started) }, 'turn');
        return { replies, locale: output.state.locale, duplicate: false, optedOut: false, forgotten: true };
      }
      const firstEntry = conversation?.transcriptLength ?? 0;
      const committed = await this.commit(conversation, {
        _id: message.address,
        address: message.address,
        state: output.state,
        recentInbound: withReceipt(earlier, { key, replies, effects, firstEntry }),
        transcriptLength: firstEntry + 1 + replies.length,
        updatedAt: message.receivedAt,
      });
      if (!committed) {
        // Another instance wrote this conversation meanwhile (on MongoDB its write may still hold
        // the record's revision claim for a few milliseconds): a short random wait before the next
        // try keeps two instances from colliding on every attempt.
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * (attempt + 1)));
        continue;
      }

      await this.writeTranscript(message, replies, firstEntry);
      await this.applyEffects(effects, { ...scope, locale: output.state.locale });
      this.deps.logger.info({ channel: message.channel, messageId: message.id, ...output.trace, latencyMs: round(performance.now() - started) }, 'turn');
      return { replies, locale: output.state.locale, duplicate: false, optedOut: optsOut(effects) };
    }
    throw new Error('Conversation kept changing under this turn');
  }

  /** Runs the engine, executing each command it asks for and feeding the result back. */
  private async runEngine(
    state: ConversationState,
    message: InboundMessage,
    resident: ResidentRecord,
    channel: ChannelFacts,
    scope: CommandScope,
  ): Promise<TurnOutput & { forget: boolean }> {
    const { engine, runner } = this.deps;
    const facts = { optedOut: resident.optedOut, volunteerCalls: resident.volunteerCalls, ...(resident.name ? { name: resident.name } : {}) };
    let output = advance(engine, state, { type: 'message', message, resident: facts, channel });
    // The message's reading, kept for the turn's log line: a step that loads something (the
    // "already reported?" lookup) ends the turn in a result's advance, which reads no intent.
    const { intent } = output.trace;
    const replies = [...output.replies];
    const effects = [...output.effects];
    // A turn that deleted the resident's data must not write this very turn back.
    let forget = false;
    for (let count = 0; output.command; count++) {
      if (count >= MAX_COMMANDS_PER_TURN) throw new Error(`Dialog ${output.trace.dialog ?? '?'} chains too many commands`);
      if (output.command.type === 'resident.deleteData') forget = true;
      const result = await runner.run(output.command, { ...scope, locale: output.state.locale });
      output = advance(engine, output.state, { type: 'result', result, resident: facts, channel });
      replies.push(...output.replies);
      effects.push(...output.effects);
    }
    return { ...output, trace: { ...(intent ? { intent } : {}), ...output.trace }, replies, effects, forget };
  }

  /** A provider retried a message we already answered: same replies, effects made sure of. */
  private async answerRetry(message: InboundMessage, conversation: ConversationRecord, receipt: InboundReceipt, started: number): Promise<TurnResult> {
    const state = conversation.state as ConversationState;
    // The first attempt may have died after its commit: finish what it started. Both are idempotent.
    await this.writeTranscript(message, receipt.replies, receipt.firstEntry);
    await this.applyEffects(receipt.effects as Effect[], {
      address: message.address,
      channel: message.channel,
      locale: state.locale,
      sourceKey: sourceKeyOf(message.address, receipt.key),
      now: message.receivedAt,
    });
    this.deps.logger.info({ channel: message.channel, messageId: message.id, outcome: 'duplicate', latencyMs: round(performance.now() - started) }, 'turn');
    return { replies: receipt.replies, locale: state.locale, duplicate: true, optedOut: optsOut(receipt.effects as Effect[]) };
  }

  /**
   * True when this message had its turn long ago: its receipt has left the conversation's recent
   * ones (RECEIPTS_KEPT), but its transcript entry is still there. Only asked once the receipts
   * are full, as a message missing from a list that never dropped one cannot be old.
   */
  private async wasTakenBefore(conversation: ConversationRecord, address: string, key: string): Promise<boolean> {
    if (conversation.recentInbound.length < RECEIPTS_KEPT) return false;
    // A count reads the index alone, not the entry.
    return (await this.deps.store.transcripts.count({ field: 'inboundKey', equals: inboundKeyOf(address, key) })) > 0;
  }

  /**
   * An old provider message delivered again (a captured, validly signed webhook replayed after
   * twenty newer messages): processed once already, so it is answered as a duplicate with no
   * replies, and nothing in it (a STOP, a report) happens again.
   */
  private answerReplay(message: InboundMessage, conversation: ConversationRecord, started: number): TurnResult {
    this.deps.logger.warn({ channel: message.channel, messageId: message.id, outcome: 'replay', latencyMs: round(performance.now() - started) }, 'turn');
    return { replies: [], locale: (conversation.state as ConversationState).locale, duplicate: true, optedOut: false };
  }

  /**
   * A turn threw (a bug, or a store failure mid-turn). The resident's message still goes into
   * the transcript with an apology, and the state stays as it was before the turn. If the store
   * itself is failing this throws too, and the channel tells the provider to retry.
   */
  private async recordFailedTurn(
    message: InboundMessage,
    conversation: ConversationRecord | null,
    state: ConversationState,
    error: unknown,
    started: number,
  ): Promise<TurnResult> {
    const sorry: Reply[] = [{ kind: 'text', text: this.deps.engine.i18n.t(state.locale, 'error.sorry') }];
    this.deps.logger.error(
      { channel: message.channel, messageId: message.id, err: errorSummary(error), latencyMs: round(performance.now() - started) },
      'turn failed',
    );
    const firstEntry = conversation?.transcriptLength ?? 0;
    const committed = await this.commit(conversation, {
      _id: message.address,
      address: message.address,
      state: conversation?.state ?? state,
      recentInbound: withReceipt(
        (conversation?.recentInbound ?? []).filter((r) => r.key !== messageKey(message)),
        { key: messageKey(message), replies: sorry, effects: [], firstEntry, failed: true },
      ),
      transcriptLength: firstEntry + 1 + sorry.length,
      updatedAt: message.receivedAt,
    });
    if (!committed) throw error;
    await this.writeTranscript(message, sorry, firstEntry);
    return { replies: sorry, locale: state.locale, duplicate: false, optedOut: false };
  }

  private commit(previous: ConversationRecord | null, next: Unsaved<ConversationRecord>): Promise<boolean> {
    const { conversations } = this.deps.store;
    return previous ? conversations.replace(next, previous._rev) : conversations.insert(next);
  }

  /** The conversation's state, or a new one; a state of another schema starts over on purpose. */
  private stateOf(conversation: ConversationRecord | null, resident: ResidentRecord, message: InboundMessage): ConversationState {
    const stored = conversation?.state as Partial<ConversationState> | undefined;
    if (stored?.schema === STATE_SCHEMA) return stored as ConversationState;
    const locale = this.deps.engine.i18n.locales.includes(resident.locale) ? resident.locale : this.deps.defaultLocale;
    const fresh = initialState(locale, message.receivedAt.getTime());
    // A resident whose language differs from the default chose it; a default one may still be detected.
    fresh.localeSettled = locale !== this.deps.defaultLocale;
    return fresh;
  }

  /** The resident record, created on first contact (opted out if their erased data says so) and kept recently seen. */
  private async residentFor(message: InboundMessage, optedOut: boolean): Promise<ResidentRecord> {
    const { residents } = this.deps.store;
    const existing = await residents.get(message.address);
    if (existing) {
      if (message.receivedAt.getTime() - existing.lastSeenAt.getTime() > LAST_SEEN_RESOLUTION_MS) {
        // Losing this race to another write is fine: the other writer saw the resident too.
        await residents.replace({ ...existing, lastSeenAt: message.receivedAt }, existing._rev);
      }
      return existing;
    }
    const scope = { address: message.address, channel: message.channel, locale: this.deps.defaultLocale, now: message.receivedAt };
    await residents.insert({ ...newResident(scope), optedOut });
    const created = await residents.get(message.address);
    if (!created) throw new Error('Resident vanished right after it was created');
    return created;
  }

  private async writeTranscript(message: InboundMessage, replies: readonly Reply[], firstEntry: number): Promise<void> {
    const { transcripts } = this.deps.store;
    const id = (seq: number) => transcriptId(message.address, seq);
    const base = { conversationId: message.address, channel: message.channel, at: message.receivedAt };
    const inbound = {
      ...base,
      _id: id(firstEntry),
      seq: firstEntry,
      direction: 'in' as const,
      providerMessageId: message.id,
      inboundKey: inboundKeyOf(message.address, messageKey(message)),
      text: inboundText(message),
      ...(message.location ? { location: message.location } : {}),
      ...(message.media?.length ? { media: message.media } : {}),
    };
    const outbound = replies.map((reply, i) => {
      const seq = firstEntry + 1 + i;
      return { ...base, _id: id(seq), seq, direction: 'out' as const, providerMessageId: message.id, text: replyText(reply) };
    });
    // Together, not one after another: the entries are independent, and the store commits
    // writes made together in one transaction (one flush to disk for the turn, not one each).
    await Promise.all([inbound, ...outbound].map((entry) => transcripts.upsert(entry)));
  }

  private async applyEffects(effects: readonly Effect[], scope: CommandScope): Promise<void> {
    for (const effect of effects) await this.deps.runner.apply(effect, scope);
  }
}

/** The receipts to keep after one more: the latest RECEIPTS_KEPT, replies on the newest few only. */
function withReceipt(receipts: readonly InboundReceipt[], latest: InboundReceipt): InboundReceipt[] {
  const kept = [...receipts, latest].slice(-RECEIPTS_KEPT);
  const withReplies = kept.length - RECEIPT_REPLIES_KEPT;
  return kept.map((receipt, i) => (i < withReplies && receipt.replies.length > 0 ? { ...receipt, replies: [] } : receipt));
}

/** A transcript entry's id: the conversation and its position, so rewriting one is idempotent. */
/** Longer source keys are hashed: ids made of them must stay within the store's key length. */
const SOURCE_KEY_MAX = 150;

/**
 * The key of what one inbound message causes (its consent event, its report...), so a retry finds
 * it. Scoped by address: providers' message ids (and web clients' ones) are not unique across
 * residents. A Bot Framework activity id may be 500 characters, and records keyed by it (`<key>|consent`)
 * would be refused by the store, failing the turn: past SOURCE_KEY_MAX the message's key is hashed.
 */
export function sourceKeyOf(address: string, messageKey: string): string {
  const plain = `${address}|${messageKey}`;
  return plain.length <= SOURCE_KEY_MAX ? plain : `${address}|#${createHash('sha256').update(messageKey).digest('hex').slice(0, 40)}`;
}

/**
 * The indexed key of a message's inbound transcript entry: its address and provider key, hashed
 * (one short value; message ids alone are not unique across conversations on every channel).
 */
export function inboundKeyOf(address: string, messageKey: string): string {
  return createHash('sha256').update(`${address}|${messageKey}`).digest('base64url');
}

function transcriptId(address: string, seq: number): string {
  return `${address}#${String(seq).padStart(8, '0')}`;
}

function optsOut(effects: readonly Effect[]): boolean {
  return effects.some((effect) => effect.type === 'consent.optOut');
}

/** What the resident sent, as transcript text: the words, or what kind of thing it was. */
function inboundText(message: InboundMessage): string {
  if (message.command) return `/${message.command.name}${message.command.payload ? ` ${message.command.payload}` : ''}`;
  if (message.unsupported) return message.text || `[${message.unsupported}]`;
  return message.text;
}

/** A reply as one line of transcript text: the words, then the choices offered. */
function replyText(reply: Reply): string {
  if (reply.kind === 'image') return reply.caption ? `[image] ${reply.caption}` : '[image]';
  return reply.choices?.length ? `${reply.text}\n[${reply.choices.map((c) => c.label).join(' | ')}]` : reply.text;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** The latest MAX_FOLLOW_UPS follow-ups, in order; a person's hold stays whatever came after it. */
function latestFollowUps(followUps: FollowUp[]): FollowUp[] {
  let over = followUps.length - MAX_FOLLOW_UPS;
  if (over <= 0) return followUps;
  return followUps.filter((followUp) => followUp.kind === 'staff_conversation' || over-- <= 0);
}
