/**
 * Broadcast fan-out, in a pinned child process on a seeded dataset: the time to plan and enqueue
 * a volunteer call to every opted-in resident (one delivery record each), then the worker's own
 * cost per delivery, sending through the real SMS (twilio client) and Telegram (telegraf) senders
 * to fake provider APIs that answer at once, with no rate cap, so what is measured is CivicLine's
 * work per delivery, not a provider's pace.
 *
 * Usage: node dist/bench/broadcast.js '<json BroadcastRequest>'; prints the result as JSON.
 */
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { createService } from '../src/service.js';
import { broadcastProgress, createBroadcast } from '../src/staff/broadcasts.js';
import { BENCH_BOT_TOKEN } from './lib/fake-telegram.js';
import { BENCH_PUBLIC_URL, BENCH_TELEGRAM_SECRET, BENCH_TWILIO_AUTH_TOKEN } from './lib/sources.js';

/** What to run against. */
export interface BroadcastRequest {
  dataDir: string;
  mongodbUri?: string;
  /** The fake Twilio REST API (the harness runs it). */
  twilioApi: string;
  /** The fake Telegram Bot API. */
  telegramApiRoot: string;
  /** How long the worker sends before it is stopped (a run to the end would take minutes). */
  workSeconds: number;
}

/** What the broadcast benchmark measured. */
export interface BroadcastResult {
  planned: number;
  queued: number;
  planSeconds: number;
  planCpuSeconds: number;
  worker: {
    seconds: number;
    /** Deliveries the worker finished (sent or failed) in that time. */
    processed: number;
    sent: number;
    failed: number;
    cpuSeconds: number;
    cpuUsPerDelivery: number;
    deliveriesPerSecond: number;
    byChannel: Record<string, number>;
    /** Embedded store: LMDB commits per delivery (estimated by the harness). */
    storeCommitsPerDelivery?: number;
  };
}

/** A twilio `httpClient` that sends the library's requests to the fake API instead of api.twilio.com. */
function fakeTwilioClient(base: string) {
  return {
    async request(opts: { method: string; uri: string; data?: Record<string, unknown> }) {
      const target = new URL(opts.uri);
      const form = new URLSearchParams(Object.entries(opts.data ?? {}).map(([key, value]): [string, string] => [key, String(value)]));
      const response = await fetch(`${base}${target.pathname}`, {
        method: opts.method.toUpperCase(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
      return { statusCode: response.status, body: await response.text(), headers: Object.fromEntries(response.headers) };
    },
  };
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '{}') as BroadcastRequest;
  const config = loadConfig({
    DATA_DIR: request.dataDir,
    ...(request.mongodbUri ? { MONGODB_URI: request.mongodbUri } : {}),
    CITY_NAME: 'Springfield',
    QUIET_HOURS: 'off',
    PUBLIC_URL: BENCH_PUBLIC_URL,
    TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
    TWILIO_AUTH_TOKEN: BENCH_TWILIO_AUTH_TOKEN,
    TWILIO_FROM: '+12175550100',
    TELEGRAM_BOT_TOKEN: BENCH_BOT_TOKEN,
    TELEGRAM_WEBHOOK_SECRET: BENCH_TELEGRAM_SECRET,
    TELEGRAM_API_ROOT: request.telegramApiRoot,
    SEED_DEMO_DATA: 'false',
  });
  // No rate cap: the provider's pace is not what this measures (config caps SMS at 1,000/s).
  config.twilio.messagesPerSecond = 1e9;
  // Logged as in production (info), to nowhere.
  const logger = pino({ level: 'info' }, pino.destination('/dev/null'));
  const service = await createService(config, logger, {
    twilioHttpClient: fakeTwilioClient(request.twilioApi),
    telegramRates: { globalPerSecond: 1e9, perChatPerSecond: 1e9 },
  });
  try {
    const planCpu = process.cpuUsage();
    const planStarted = performance.now();
    const { broadcast, plan } = await createBroadcast(
      { store: service.store, config, messenger: service.messenger, i18n: service.i18n },
      { messages: { en: 'The Riverside litter pick needs 20 more hands on Saturday. Can you come?' }, audience: {} },
      { username: 'bench', role: 'admin' },
    );
    const planSeconds = (performance.now() - planStarted) / 1000;
    const planCpuSeconds = cpuSecondsSince(planCpu);

    const workCpu = process.cpuUsage();
    const workStarted = performance.now();
    service.broadcasts.start();
    await new Promise((resolve) => setTimeout(resolve, request.workSeconds * 1000));
    await service.broadcasts.stop();
    const seconds = (performance.now() - workStarted) / 1000;
    const cpuSeconds = cpuSecondsSince(workCpu);

    const progress = await broadcastProgress(service.store, broadcast._id);
    if (!progress) throw new Error('the broadcast vanished');
    const sent = progress.byState.sent + progress.byState.delivered;
    const failed = progress.byState.failed;
    const processed = sent + failed;
    const byChannel = Object.fromEntries(Object.entries(progress.byChannel).map(([channel, states]) => [channel, (states?.sent ?? 0) + (states?.failed ?? 0)]));
    const result: BroadcastResult = {
      planned: plan.planned,
      queued: plan.queued,
      planSeconds,
      planCpuSeconds,
      worker: {
        seconds,
        processed,
        sent,
        failed,
        cpuSeconds,
        cpuUsPerDelivery: processed > 0 ? (cpuSeconds / processed) * 1e6 : 0,
        deliveriesPerSecond: processed / seconds,
        byChannel,
      },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await service.close();
  }
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
