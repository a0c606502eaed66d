/**
 * The Bot Framework channel (`POST /api/messages`): Activities from Azure Bot Service, Teams,
 * Web Chat or the Emulator go through botbuilder's CloudAdapter (which checks the caller's
 * token when MICROSOFT_APP_ID is set) into the turn pipeline, and replies go back as
 * activities: in the response body for `deliveryMode: expectReplies`, otherwise posted to the
 * conversation's serviceUrl. Each conversation's reference is kept, so status updates and
 * broadcasts can reach it later (proactive messages).
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  ActivityTypes,
  CallerIdConstants,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  TurnContext,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type ConversationReference,
} from 'botbuilder';
import type { Logger } from 'pino';
import type { Translator } from '../../core/i18n.js';
import type { TurnPipeline } from '../../pipeline/turn-pipeline.js';
import { errorSummary } from '../../core/errors.js';
import type { Collections } from '../../store/store.port.js';
import { channelFacts, type ChannelAdapter } from '../channel.js';
import {
  activityToMessage,
  botFrameworkAddress,
  incomingActivity,
  isBotFrameworkAddress,
  plainData,
  renderedToActivity,
  repliesToActivities,
  WEBCHAT_CAPABILITIES,
  type IncomingActivity,
} from './activity-mapping.js';
import { sendRecorded } from '../outbound-records.js';

/** How the channel is set up: MICROSOFT_APP_* as configured. */
export interface BotFrameworkOptions {
  appId?: string;
  appPassword?: string;
  tenantId?: string;
  appType?: string;
  /** Where the keys that sign callers' tokens are published; the public cloud's when absent (tests use a local fake). */
  tokenKeys?: BotFrameworkTokenKeys;
  pipeline: TurnPipeline;
  i18n: Translator;
  store: Collections;
  logger: Logger;
}

/** The OpenID metadata documents botbuilder reads the token-signing keys from. */
export interface BotFrameworkTokenKeys {
  /** For tokens of the Bot Framework's channels (Azure Bot Service). */
  channelOpenIdMetadataUrl: string;
  /** For tokens of the Emulator and of skills. */
  emulatorOpenIdMetadataUrl: string;
}

/**
 * The public cloud's Bot Framework settings, botbuilder's own (its AuthenticationConstants, which
 * a test compares these with). botbuilder uses its built-in set only when none of the settings is
 * given: one changed (the metadata URLs) means all are given.
 */
export const PUBLIC_CLOUD = {
  ToChannelFromBotLoginUrl: 'https://login.microsoftonline.com/botframework.com',
  ToChannelFromBotOAuthScope: 'https://api.botframework.com',
  ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
  OAuthUrl: 'https://api.botframework.com',
  ToBotFromChannelOpenIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
  ToBotFromEmulatorOpenIdMetadataUrl: 'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
  CallerId: CallerIdConstants.PublicAzureChannel,
  ValidateAuthority: true,
} as const satisfies ConfigurationBotFrameworkAuthenticationOptions;

/** What the route answers. */
export interface BotFrameworkResponse {
  status: number;
  body?: unknown;
}

/** The Bot Framework channel. */
export interface BotFrameworkChannel extends ChannelAdapter {
  /** Handles one Activity posted to /api/messages with its Authorization header. */
  receive(body: unknown, authorization: string): Promise<BotFrameworkResponse>;
  /** The serviceUrl an Activity names, for the route's development-mode check. */
  serviceUrlOf(body: unknown): string | null;
}

/** The names of jsonwebtoken's errors: a token that is not valid, whatever the reason. */
const JWT_ERRORS: ReadonlySet<string> = new Set(['JsonWebTokenError', 'NotBeforeError', 'TokenExpiredError']);

/** The store id (in `meta`) of the conversation reference kept for a Bot Framework address. */
export function referenceId(address: string): string {
  return `botframework-reference|${address}`;
}

/** The Bot Framework channel of one service; see the module comment. */
export function createBotFrameworkChannel(options: BotFrameworkOptions): BotFrameworkChannel {
  const { pipeline, i18n, store, logger } = options;
  const appId = options.appId ?? '';
  const authentication = new ConfigurationBotFrameworkAuthentication({
    MicrosoftAppId: appId,
    MicrosoftAppPassword: options.appPassword ?? '',
    MicrosoftAppTenantId: options.tenantId ?? '',
    MicrosoftAppType: options.appType ?? 'MultiTenant',
    ...(options.tokenKeys
      ? {
          ...PUBLIC_CLOUD,
          ToBotFromChannelOpenIdMetadataUrl: options.tokenKeys.channelOpenIdMetadataUrl,
          ToBotFromEmulatorOpenIdMetadataUrl: options.tokenKeys.emulatorOpenIdMetadataUrl,
        }
      : {}),
  });
  // botbuilder passes jsonwebtoken's own errors through (a token under a published key id with a
  // bad signature, a malformed or unsigned one), and CloudAdapter answers anything but its
  // AuthenticationError with a 500, which would tell a forger to retry. Such a token is noted
  // here, so `receive` answers 401; a key fetch that failed (the network) stays a 5xx. Counted per
  // Authorization header: requests with the same header may be in flight at once.
  const refusedTokens = new Map<string, number>();
  const authenticateRequest = authentication.authenticateRequest.bind(authentication);
  authentication.authenticateRequest = async (activity, authHeader) => {
    try {
      return await authenticateRequest(activity, authHeader);
    } catch (error) {
      if (error instanceof Error && JWT_ERRORS.has(error.name)) refusedTokens.set(authHeader, (refusedTokens.get(authHeader) ?? 0) + 1);
      throw error;
    }
  };
  /** Whether the token of a request that just ended was refused by jsonwebtoken (and forgets it). */
  const wasRefused = (authorization: string): boolean => {
    const count = refusedTokens.get(authorization) ?? 0;
    if (count <= 1) refusedTokens.delete(authorization);
    else refusedTokens.set(authorization, count - 1);
    return count > 0;
  };
  const adapter = new CloudAdapter(authentication);
  // A turn that failed (the pipeline already apologised for its own errors, so this is the
  // store failing) must not be answered 200, or the channel would not retry and the message
  // would be lost: rethrown, it becomes a 5xx.
  adapter.onTurnError = async (_context, error) => {
    logger.error({ channel: 'webchat', err: errorSummary(error) }, 'bot framework turn failed');
    throw error;
  };

  /** One turn, for an activity `receive` has parsed already (botbuilder's copy of it has the same fields). */
  async function onTurn(context: TurnContext, parsed: IncomingActivity): Promise<void> {
    const activity = context.activity;
    // The Bot Framework's own address space: never a Direct Line conversation's, whatever id the
    // activity names (see `botFrameworkAddress`).
    const address = botFrameworkAddress(parsed.channelId, parsed.conversation.id);
    let message;
    if (activity.type === ActivityTypes.Message) {
      message = activityToMessage(parsed, address, new Date(), randomUUID());
    } else if (activity.type === ActivityTypes.ConversationUpdate && parsed.membersAdded?.some((m) => m.id !== parsed.recipient?.id)) {
      // A resident opened the chat: greet them as /start does on Telegram.
      message = { ...activityToMessage(parsed, address, new Date(), randomUUID()), text: '', command: { name: 'start' as const } };
    } else {
      return;
    }
    const turn = await pipeline.handle(message, channelFacts(WEBCHAT_CAPABILITIES), { throttle: true });
    // A flooding sender's messages write nothing, not even the conversation reference; nor does
    // the turn that deleted the resident's data (the reference holds their name), nor a retry.
    if (!turn.throttled && !turn.forgotten && !turn.duplicate) await keepReference(message.address, activity);
    const replies = repliesToActivities(turn.replies, i18n, turn.locale, activity.channelId);
    if (replies.length > 0) await context.sendActivities(replies);
  }

  /**
   * Keeps the conversation's reference, for proactive messages, writing it only when it changed
   * (a new conversation, a moved serviceUrl, another locale). It was written on every turn, because
   * it held the activity id, new each turn; proactive sends never use it (botbuilder replies to a
   * continuation activity of its own), so it is left out. A read instead of a write: measured
   * with npm run bench (medians of three interleaved runs), a Web Chat turn at 10 connections went
   * from 0.61 to 0.46 store commits and from 909 to 808 µs of CPU (-11%); at 50, from 729 to 704 µs
   * (-3%; -9% in an earlier series). That includes parsing the activity once (below), about 1% by
   * the profile.
   */
  async function keepReference(address: string, activity: TurnContext['activity']): Promise<void> {
    const { activityId: _turnActivity, ...reference } = TurnContext.getConversationReference(activity);
    const value = plainData(reference);
    const id = referenceId(address);
    const stored = await store.meta.get(id);
    if (stored && isDeepStrictEqual(stored.value, value)) return;
    await store.meta.upsert({ _id: id, value });
  }

  return {
    name: 'webchat',
    capabilities: WEBCHAT_CAPABILITIES,
    owns: isBotFrameworkAddress,

    serviceUrlOf(body) {
      const serviceUrl = (body as { serviceUrl?: unknown } | null)?.serviceUrl;
      return typeof serviceUrl === 'string' ? serviceUrl : null;
    },

    async receive(body, authorization) {
      const parsed = incomingActivity.safeParse(body);
      if (!parsed.success) {
        return {
          status: 400,
          body: { error: `Invalid activity. ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}` },
        };
      }
      // botbuilder's public entry point takes a request and a response; a small collector
      // stands in for the response so the route decides how to answer (and never leaks errors).
      const collected: BotFrameworkResponse = { status: 200 };
      const response = {
        status(code: number) {
          collected.status = code;
          return response;
        },
        send(responseBody: unknown) {
          collected.body = responseBody;
          return response;
        },
        header() {
          return response;
        },
        end() {
          return response;
        },
      };
      // The activity as parsed here goes to the turn: parsing it again there was ~1% of a turn's CPU.
      let refused: boolean;
      try {
        await adapter.process({ method: 'POST', body: body as Record<string, unknown>, headers: { authorization } }, response as never, (context) =>
          onTurn(context, parsed.data),
        );
      } finally {
        refused = wasRefused(authorization);
      }
      if (collected.status === 401 || refused) return { status: 401, body: { error: 'Unauthorized: missing or invalid Bot Framework token' } };
      // botbuilder's 501 means "this bot does not handle that invoke": final, and the sender's
      // request rather than our failure, so a 4xx (nothing a client sends gets a 5xx).
      if (collected.status === 501)
        return { status: 400, body: { error: 'Unsupported activity: CivicLine takes messages and conversation updates, not invokes' } };
      if (collected.status >= 500) return { status: 503, body: { error: 'The bot could not take this turn; please retry' } };
      return collected;
    },

    async send(address, messages, options) {
      // Only the Bot Framework's own addresses: a reference stored under a Direct Line address (by
      // the version that shared the address space) must never take that resident's messages.
      if (!isBotFrameworkAddress(address)) return { state: 'failed', error: 'not a Bot Framework conversation', retryable: false };
      const stored = await store.meta.get(referenceId(address));
      if (!stored) return { state: 'failed', error: 'no conversation reference for this address', retryable: false };
      const reference = stored.value as Partial<ConversationReference>;
      const activities = messages.map((m) => renderedToActivity(m, options.locale, reference.channelId ?? ''));
      const text = messages.map((m) => m.text).join('\n\n');
      return sendRecorded(store, { idempotencyKey: `${address}|${options.key}|0`, channel: 'webchat', address, text, purpose: options.purpose }, () =>
        adapter.continueConversationAsync(appId, reference, async (context) => {
          await context.sendActivities(activities);
        }),
      );
    },
  };
}
