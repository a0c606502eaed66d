/**
 * Builds the running service from a configuration: store, locales, NLU, dialogs, engine,
 * pipeline and channels. `main.ts` and the tests both use it, so tests run the real thing.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { createTranslator, discoverLocales, loadLocaleBundles, type Translator } from './core/i18n.js';
import { CommandRunner } from './pipeline/command-runner.js';
import { TurnPipeline } from './pipeline/turn-pipeline.js';
import { loadNlu, type Nlu } from './engine/nlu/index.js';
import type { EngineEnv } from './engine/types.js';
import { createDialogs } from '../dialogs/index.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/store.port.js';
import { storedSecret } from './store/stored-secret.js';
import { demoRoles } from './domain/demo-roles.js';
import { createOutboxSmsSender, createTwilioSmsSender, type SmsSender } from './channels/sms/sms-sender.js';
import twilio from 'twilio';
import { Telegram } from 'telegraf';
import { createTelegramSender, type TelegramApi } from './channels/telegram/telegram-sender.js';
import { createTelegramChannel, type TelegramChannel } from './channels/telegram/telegram.channel.js';
import { createBotFrameworkChannel, type BotFrameworkChannel, type BotFrameworkTokenKeys } from './channels/webchat/botframework.channel.js';
import { createDirectLineChannel, type DirectLineChannel } from './channels/webchat/direct-line.channel.js';
import { createMediaSweep, type MediaSweep } from './channels/webchat/media-sweep.js';
import { migrateBotFrameworkAddresses } from './channels/webchat/botframework.migration.js';
import { backfillOpenReportKeys } from './store/open-report-keys.migration.js';
import { backfillSpotKeys } from './store/spot-keys.migration.js';
import { backfillIdeaTerms } from './pipeline/similar-ideas.js';
import type { MediaFiles } from './store/media-files.js';
import { createResidentMessenger, type ResidentMessenger } from './channels/resident-messenger.js';
import { createSmsChannel } from './channels/sms/sms.channel.js';
import { createWebChannel, webConversationIds, type WebConversationIds } from './channels/web/web.channel.js';
import { createResidentNotifier, type ResidentNotifier } from './staff/resident-notifier.js';
import { createBroadcastWorker, type BroadcastWorker } from './staff/broadcast-worker.js';
import { createJobScheduler, type JobScheduler } from './staff/job-scheduler.js';
import { reportNoticeJobHandlers } from './staff/report-notices.js';
import { ideaMergeJobHandlers } from './staff/idea-merge.js';
import { reportMergeJobHandlers } from './staff/report-merge.js';
import { handoffJobHandlers } from './staff/handoff-jobs.js';
import { fixSurveyJobHandlers } from './staff/fix-survey-jobs.js';
import { shiftNoticeJobHandlers } from './staff/shift-desk.js';
import { shiftCheckinJobHandlers, startShiftCheckinPlanning } from './staff/shift-checkin-jobs.js';
import { shiftReminderJobHandlers, startShiftReminderPlanning } from './staff/shift-reminder-jobs.js';
import { open311ClientJobHandlers, startOpen311Polling } from './staff/open311-client.js';
import { createMediaLinks, type MediaLinks } from './staff/media-links.js';
import type { StaffDeps } from './staff/staff-deps.js';
import { promoteFromWaitlist } from './staff/role-desk.js';
import { errorSummary } from './core/errors.js';
import { createGeocoder, type Geocoder } from './pipeline/geocoder.js';

/** Answers a step may fail to understand before the bot offers the menu or a person. */
const MAX_FAILURES = 3;

/** Everything a running CivicLine holds. */
export interface Service {
  config: Config;
  logger: Logger;
  store: Store;
  i18n: Translator;
  nlu: Nlu;
  pipeline: TurnPipeline;
  /** The engine's fixed inputs (dialogs, locales, NLU, settings). */
  engine: EngineEnv;
  /** Sends SMS outside a webhook's reply (Twilio, or the local outbox without credentials). */
  sms: SmsSender;
  /** The Telegram channel, when TELEGRAM_BOT_TOKEN is set. */
  telegram: TelegramChannel | null;
  /** The Bot Framework channel (/api/messages), when MICROSOFT_APP_ID or the dev switch is set. */
  botframework: BotFrameworkChannel | null;
  /** The self-hosted web chat's Direct Line endpoint (always on: it needs no account). */
  directLine: DirectLineChannel;
  /** The `/chat/api` JSON channel's conversation ids: issued under the new-chat limit, invented ones refused. */
  webConversationIds: WebConversationIds;
  /** Photos uploaded through the web chat, under DATA_DIR/media. */
  media: MediaFiles;
  /** Removes photo uploads never attached to a report (PHOTO_UNATTACHED_HOURS); running from the start, on an unref'd timer. */
  mediaSweep: MediaSweep;
  /** Signed, expiring links to stored photos (a forwarded report's `media_url`), and their check. */
  mediaLinks: MediaLinks;
  /** Reaches a resident unprompted on their channel (status updates, volunteer calls). */
  messenger: ResidentMessenger;
  /** Tells residents things in their language, recorded in their conversation, once per key. */
  notifier: ResidentNotifier;
  /** Runs the engine's commands; staff actions share its per-role lock (sign-ups, promotions). */
  runner: CommandRunner;
  /** What the staff-side services (reports, ideas, roles, broadcasts) work with. */
  staff: StaffDeps;
  /** Sends broadcasts' deliveries; idle until `start()` (main.ts starts it; tests start it when they need it). */
  broadcasts: BroadcastWorker;
  /** Runs persisted outbound work with a due time (staff replies, hand-backs); idle until `start()`, as `broadcasts`. */
  jobs: JobScheduler;
  /** The optional geocoder (GEOCODER_URL): text places to points and back; null when off. */
  geocoder: Geocoder | null;
  /** Waits for turns in flight, then closes the store. */
  close(): Promise<void>;
}

/** Parts a test may replace: provider HTTP clients that point at local fakes. */
export interface ServiceOverrides {
  /** The twilio library's HTTP client (its `httpClient` option). */
  twilioHttpClient?: unknown;
  /** Backoff before the first SMS retry, in ms (default 1,000). */
  smsBackoffMs?: number;
  /** Telegram's limits, lowered or raised in tests (messages per second). */
  telegramRates?: { globalPerSecond?: number; perChatPerSecond?: number };
  /** Where botbuilder fetches the keys that sign Bot Framework tokens (a local fake in tests: no test reaches the internet). */
  botFrameworkTokenKeys?: BotFrameworkTokenKeys;
  /** The job scheduler's clock: tests move it to a job's due time, or out of quiet hours. */
  now?: () => Date;
  /** How long a request to the city's Open311 server may take (default 30 s). */
  open311TimeoutMs?: number;
}

/** Opens the store and builds the service. */
export async function createService(config: Config, logger: Logger = pino({ level: config.logLevel }), overrides: ServiceOverrides = {}): Promise<Service> {
  const localesDir = path.join(config.rootDir, 'locales');
  const locales = discoverLocales(localesDir);
  if (!locales.includes(config.defaultLocale)) {
    throw new Error(`DEFAULT_LOCALE ${config.defaultLocale} has no folder under locales/ (found: ${locales.join(', ')})`);
  }
  const i18n = createTranslator(loadLocaleBundles(localesDir, locales), config.defaultLocale);
  const nlu = loadNlu(localesDir, locales);
  const store = await openStore({ dataDir: config.dataDir, ...(config.mongodbUri ? { mongodbUri: config.mongodbUri } : {}) });
  // Before any turn: Bot Framework residents stored by a version that shared Direct Line's addresses move to their own.
  await migrateBotFrameworkAddresses(store, logger);
  // Before any turn: open reports stored before the duplicate check (or its current rules) get its keys.
  await backfillOpenReportKeys(store, logger);
  // Before any turn: ideas stored before "similar ideas?" get the terms it finds them by.
  const ideaTerms = await backfillIdeaTerms(store, (text) => nlu.ideaTerms(text, nlu.detectLocale(text) ?? config.defaultLocale));
  if (ideaTerms.updated > 0) logger.info({ ideas: ideaTerms.updated }, 'gave ideas their similar-ideas terms');
  // Before any turn: sign-ups stored before spots were counted by key get theirs.
  await backfillSpotKeys(store, logger);
  if (config.seedDemoData ?? store.kind === 'embedded') await seedDemoRoles(store, localesDir, locales, config.defaultLocale, logger);

  const engine: EngineEnv = {
    dialogs: createDialogs(locales, (locale) => i18n.t(locale, 'language.name')),
    i18n,
    nlu,
    timeZone: config.cityTimeZone,
    cityName: config.cityName,
    resumePromptAfterMs: config.resumePromptAfterMs,
    flowExpiresAfterMs: config.flowExpiresAfterMs,
    maxFailures: MAX_FAILURES,
    // The staff side hands back after HANDOFF_IDLE_MINUTES; this only ends a hold it never could.
    handoffHoldMs: 2 * config.handoffIdleMs,
  };
  // Off (null) unless GEOCODER_URL is set: places are then compared as text and points alone.
  const geocoder = createGeocoder(config.geocoder, { logger });
  // Bound below, once the notifier exists: a cancelled spot goes to the waitlist, who are told.
  let staffDeps: StaffDeps | undefined;
  const promotions = new Set<Promise<void>>();
  const runner = new CommandRunner(
    store,
    {
      async spotFreed(roleId, shiftId, now) {
        // Not awaited: this runs inside the cancelling resident's turn, which holds their
        // conversation's lock, and telling the promoted resident takes theirs. Two residents
        // swapping spots would otherwise wait on each other for ever. The cancellation stands
        // whatever happens here; a failed promotion is logged and retried by the next
        // cancellation, capacity change or reopening. `close()` waits for promotions in flight.
        if (!staffDeps) return;
        const promotion = promoteFromWaitlist(staffDeps, roleId, now, shiftId)
          .then(() => undefined)
          .catch((error: unknown) => logger.error({ roleId, err: errorSummary(error) }, 'waitlist promotion failed'))
          .finally(() => promotions.delete(promotion));
        promotions.add(promotion);
      },
    },
    {
      addressHashSecret: config.addressHashSecret,
      handoffIdleMs: config.handoffIdleMs,
      duplicateRadiusM: config.duplicateRadiusM,
      ideaReportsToHide: config.ideaReportsToHide,
      geocoder,
      forwardToOpen311: config.open311Client !== null,
      ideaTerms: (text, locale) => nlu.ideaTerms(text, locale ?? nlu.detectLocale(text) ?? config.defaultLocale),
      ideaSupportThreshold: config.ideaSupportThreshold,
      defaultLocale: config.defaultLocale,
    },
  );
  const pipeline = new TurnPipeline({ store, engine, runner, logger, defaultLocale: config.defaultLocale, senderLimit: config.rateLimits.messages });

  const sms = smsSender(config, store, logger, overrides);
  const telegram = telegramChannel(config, { store, logger, pipeline, i18n }, overrides);
  const { appId, appPassword, tenantId, appType, devMode } = config.microsoft;
  const botframework =
    appId || devMode
      ? createBotFrameworkChannel({
          ...(appId ? { appId } : {}),
          ...(appPassword ? { appPassword } : {}),
          ...(tenantId ? { tenantId } : {}),
          ...(appType ? { appType } : {}),
          ...(overrides.botFrameworkTokenKeys ? { tokenKeys: overrides.botFrameworkTokenKeys } : {}),
          pipeline,
          i18n,
          store,
          logger,
        })
      : null;
  const tokenSecret = await webChatTokenSecret(config, store);
  const directLine = createDirectLineChannel({
    tokenSecret,
    pipeline,
    i18n,
    store,
    logger,
    cityName: config.cityName,
    // Several instances share only a MongoDB store: the embedded one is this process's.
    sharedStore: store.kind === 'mongodb',
    engine,
  });

  const mediaSweep = createMediaSweep({ store, engine, unattachedMs: config.photos.unattachedMs, logger });
  mediaSweep.start();
  const mediaLinks = createMediaLinks({
    secret: await mediaLinkSecret(config, store),
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    ...(overrides.now ? { now: overrides.now } : {}),
  });

  const messenger = createResidentMessenger({
    i18n,
    sms: createSmsChannel(sms),
    telegram,
    botframework,
    directLine,
    web: createWebChannel(),
  });
  const notifier = createResidentNotifier({ store, i18n, pipeline, messenger, cityName: config.cityName });
  const jobs = createJobScheduler({
    store,
    handlers: {
      ...handoffJobHandlers({ store, notifier, config, holdMs: engine.handoffHoldMs, ...(overrides.now ? { now: overrides.now } : {}) }),
      ...reportNoticeJobHandlers({ store, notifier }),
      ...reportMergeJobHandlers({ store, notifier }),
      ...ideaMergeJobHandlers({ store, notifier, supportThreshold: config.ideaSupportThreshold, ...(overrides.now ? { now: overrides.now } : {}) }),
      ...shiftNoticeJobHandlers({ store, notifier, config }),
      ...fixSurveyJobHandlers({ store, notifier, config, ...(overrides.now ? { now: overrides.now } : {}) }),
      ...shiftCheckinJobHandlers({ store, notifier, config, ...(overrides.now ? { now: overrides.now } : {}) }),
      ...shiftReminderJobHandlers({ store, notifier, runner, config, ...(overrides.now ? { now: overrides.now } : {}) }),
      ...(config.open311Client
        ? open311ClientJobHandlers({
            store,
            settings: config.open311Client,
            logger,
            // Bound just below; jobs run only once `start()` is called, long after.
            staff: () => staffDeps!,
            mediaLinks,
            mediaLinkTtlMs: config.mediaLinks.ttlMs,
            ...(overrides.now ? { now: overrides.now } : {}),
            ...(overrides.open311TimeoutMs ? { timeoutMs: overrides.open311TimeoutMs } : {}),
          })
        : {}),
    },
    config,
    logger,
    ...(overrides.now ? { now: overrides.now } : {}),
    leaseMs: config.broadcastLeaseMs,
  });
  staffDeps = { store, notifier, runner, i18n, config, jobs };
  // Every instance schedules these: each is one job, and a pending one is left as it is.
  if (config.open311Client) await startOpen311Polling(store, overrides.now?.() ?? new Date());
  await startShiftCheckinPlanning(store, overrides.now?.() ?? new Date());
  // The same: one planner job, however many instances start it.
  await startShiftReminderPlanning(store, overrides.now?.() ?? new Date());
  const broadcasts = createBroadcastWorker({
    store,
    notifier,
    reaches: (channel) => messenger.reaches(channel),
    config,
    logger,
    leaseMs: config.broadcastLeaseMs,
    // Shared by every instance on the database: together they keep to the channel's rate.
    rates: { sms: config.twilio.messagesPerSecond, telegram: config.telegram.messagesPerSecond },
  });

  return {
    config,
    logger,
    store,
    geocoder,
    messenger,
    notifier,
    runner,
    staff: staffDeps,
    broadcasts,
    jobs,
    i18n,
    nlu,
    pipeline,
    engine,
    sms,
    telegram,
    botframework,
    directLine,
    webConversationIds: webConversationIds(tokenSecret),
    media: store.media,
    mediaSweep,
    mediaLinks,
    async close() {
      await mediaSweep.stop();
      await telegram?.stop();
      await directLine.close();
      // Before the store closes: the broadcast messages in flight are recorded first.
      await broadcasts.stop();
      await jobs.stop();
      await pipeline.idle();
      await Promise.all(promotions);
      await store.close();
    },
  };
}

/** The Twilio sender when credentials are set, else the local outbox. */
function smsSender(config: Config, store: Store, logger: Logger, overrides: ServiceOverrides): SmsSender {
  const { accountSid, authToken, from, messagingServiceSid, messagesPerSecond } = config.twilio;
  if (!accountSid || !authToken || (!from && !messagingServiceSid)) return createOutboxSmsSender(store, logger);
  const client = twilio(accountSid, authToken, overrides.twilioHttpClient ? { httpClient: overrides.twilioHttpClient as never } : {});
  return createTwilioSmsSender({
    client,
    store,
    logger,
    ...(messagingServiceSid ? { messagingServiceSid } : { from: from ?? '' }),
    ...(config.publicUrl ? { statusCallbackUrl: `${config.publicUrl}/webhooks/twilio/status` } : {}),
    ratePerSecond: messagesPerSecond,
    maxAttempts: 5,
    backoffMs: overrides.smsBackoffMs ?? 1000,
  });
}

/** The Telegram channel when a bot token is set (telegraf's client, pointed at TELEGRAM_API_ROOT). */
function telegramChannel(
  config: Config,
  parts: { store: Store; logger: Logger; pipeline: TurnPipeline; i18n: Translator },
  overrides: ServiceOverrides,
): TelegramChannel | null {
  const { botToken, apiRoot, webhookSecret, mode } = config.telegram;
  if (!botToken) return null;
  const api: TelegramApi = new Telegram(botToken, apiRoot ? { apiRoot } : {});
  const sender = createTelegramSender({
    api,
    store: parts.store,
    logger: parts.logger,
    globalPerSecond: config.telegram.messagesPerSecond,
    ...overrides.telegramRates,
  });
  return createTelegramChannel({
    api,
    sender,
    pipeline: parts.pipeline,
    i18n: parts.i18n,
    logger: parts.logger,
    mode,
    ...(config.publicUrl ? { webhookUrl: `${config.publicUrl}/webhooks/telegram` } : {}),
    ...(webhookSecret ? { webhookSecret } : {}),
  });
}

/**
 * The key web chat tokens are signed with: WEB_CHAT_TOKEN_SECRET, or one made on first start and
 * kept in the store, so tokens survive a restart and every instance on one database agrees.
 */
async function webChatTokenSecret(config: Config, store: Store): Promise<Buffer> {
  if (config.webChatTokenSecret) return Buffer.from(config.webChatTokenSecret);
  return storedSecret(store, 'webchat-token-secret');
}

/**
 * The key photo links are signed with: MEDIA_LINK_SECRET, or one made on first start and kept in
 * the store (every instance agrees, links survive a restart). A key of its own, not
 * ADDRESS_HASH_SECRET's or the web chat's: changing it withdraws every link sent, and must not
 * also lose the erased residents' opt-outs or end every open chat.
 */
async function mediaLinkSecret(config: Config, store: Store): Promise<Buffer> {
  if (config.mediaLinks.secret) return Buffer.from(config.mediaLinks.secret);
  return storedSecret(store, 'media-link-secret');
}

/** Seeds the demo volunteer roles once; a city that deletes them does not get them back. */
async function seedDemoRoles(store: Store, localesDir: string, locales: readonly string[], defaultLocale: string, logger: Logger): Promise<void> {
  if (await store.meta.get('seeded:demo-roles')) return;
  const texts = Object.fromEntries(
    locales.flatMap((locale) => {
      const file = path.join(localesDir, locale, 'demo-roles.json');
      return existsSync(file) ? [[locale, JSON.parse(readFileSync(file, 'utf8'))]] : [];
    }),
  );
  const roles = demoRoles(texts, defaultLocale, new Date());
  for (const role of roles) await store.roles.insert(role);
  await store.meta.upsert({ _id: 'seeded:demo-roles', value: new Date().toISOString() });
  logger.info({ roles: roles.length }, 'seeded demo volunteer roles (marked as demo)');
}
