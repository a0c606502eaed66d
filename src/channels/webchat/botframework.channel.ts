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
import { ActivityTypes, CloudAdapter, ConfigurationBotFrameworkAuthentication, TurnContext, type ConversationReference } from 'botbuilder';
import type { Logger } from 'pino';
import type { Translator } from '../../core/i18n.js';
import type { TurnPipeline } from '../../pipeline/turn-pipeline.js';
import { errorSummary } from '../../core/errors.js';
import type { Collections } from '../../store/store.port.js';
import { channelFacts, type ChannelAdapter } from '../channel.js';
import {
  activityToMessage,
  incomingActivity,
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
  pipeline: TurnPipeline;
  i18n: Translator;
  store: Collections;
  logger: Logger;
}

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

/** The Bot Framework channel of one service; see the module comment. */
export function createBotFrameworkChannel(options: BotFrameworkOptions): BotFrameworkChannel {
  const { pipeline, i18n, store, logger } = options;
  const appId = options.appId ?? '';
  const adapter = new CloudAdapter(
    new ConfigurationBotFrameworkAuthentication({
      MicrosoftAppId: appId,
      MicrosoftAppPassword: options.appPassword ?? '',
      MicrosoftAppTenantId: options.tenantId ?? '',
      MicrosoftAppType: options.appType ?? 'MultiTenant',
    }),
  );
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
    let message;
    if (activity.type === ActivityTypes.Message) {
      message = activityToMessage(parsed, new Date(), randomUUID());
    } else if (activity.type === ActivityTypes.ConversationUpdate && parsed.membersAdded?.some((m) => m.id !== parsed.recipient?.id)) {
      // A resident opened the chat: greet them as /start does on Telegram.
      message = { ...activityToMessage(parsed, new Date(), randomUUID()), text: '', command: { name: 'start' as const } };
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
    const id = `botframework-reference|${address}`;
    const stored = await store.meta.get(id);
    if (stored && isDeepStrictEqual(stored.value, value)) return;
    await store.meta.upsert({ _id: id, value });
  }

  return {
    name: 'webchat',
    capabilities: WEBCHAT_CAPABILITIES,

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
      await adapter.process({ method: 'POST', body: body as Record<string, unknown>, headers: { authorization } }, response as never, (context) =>
        onTurn(context, parsed.data),
      );
      if (collected.status === 401) return { status: 401, body: { error: 'Unauthorized: missing or invalid Bot Framework token' } };
      // botbuilder's 501 means "this bot does not handle that invoke": final, and the sender's
      // request rather than our failure, so a 4xx (nothing a client sends gets a 5xx).
      if (collected.status === 501)
        return { status: 400, body: { error: 'Unsupported activity: CivicLine takes messages and conversation updates, not invokes' } };
      if (collected.status >= 500) return { status: 503, body: { error: 'The bot could not take this turn; please retry' } };
      return collected;
    },

    async send(address, messages, options) {
      const stored = await store.meta.get(`botframework-reference|${address}`);
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
