/**
 * `npm run bench`: CivicLine's benchmark suite. It starts the real service (the production
 * build, `node dist/src/main.js`) on seeded data, pinned to one core, and drives it over HTTP
 * from this process (autocannon, on the other core) with what providers send: signed Twilio
 * webhooks, Telegram updates and Bot Framework activities, from many residents in the middle
 * of their conversations. Reference servers run in the same run on the same core with the same
 * requests, so CivicLine's figures are reported as ratios too. See docs/performance.md.
 *
 * Options:
 *   --quick        every scenario, tiny (seconds each): what the smoke test runs
 *   --huge         also 1,000,000 stored residents (seeding takes a long while)
 *   --out <dir>    where to write results (default bench/results; env BENCH_RESULTS_DIR)
 *   --only <list>  some of: references,channels,scaling,nlu,broadcast,profile,duplicates,reports,open311,reminders
 *   --keep-data    leave the seeded datasets in the work folder
 *   --channels <list>  only some of sms,telegram,webchat in the channel runs (while working on one)
 *   --residents <n>    residents per channel in the channel dataset (default 10,000)
 *   --profile-channel <name>  the channel the profile scenario drives: sms (default), telegram or webchat
 *   --sizes <list>     stored residents of the scaling series (default 1000,100000; 1000000 with --huge)
 *
 * With MONGODB_URI set, the channel and scaling scenarios run on MongoDB as well, each
 * dataset in its own database (named civicline_bench_<dataset>, dropped afterwards). With
 * BENCH_DATABASE_PROCESSES (command names, e.g. `ferretdb,postgres` for scripts/ferretdb.sh's
 * server, or `mongod`), the MongoDB runs also report the database's own CPU per request.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { runLoad, type LoadResult } from './lib/load.js';
import { canMeasureProcesses, canPin, memory, pinSelf, rssBytes, runChild, startServer, type ServerProcess } from './lib/processes.js';
import { benchScript, projectRoot, serviceMain } from './lib/paths.js';
import { BENCH_BOT_TOKEN, startFakeTelegramApi, type FakeTelegramApi } from './lib/fake-telegram.js';
import { startFakeTwilioApi } from './lib/fake-twilio.js';
import {
  BENCH_PUBLIC_URL,
  BENCH_TELEGRAM_SECRET,
  BENCH_TWILIO_AUTH_TOKEN,
  botFrameworkSource,
  telegramSource,
  twilioSource,
  type ConversationSource,
} from './lib/sources.js';
import { BENCH_CHANNELS, type BenchChannel, type SeedPlan } from './lib/script.js';
import { summarizeProfile } from './lib/profile.js';
import { lastTxnId } from './lib/store-stats.js';
import {
  cityReportsCpuRatios,
  renderMarkdown,
  targetsOf,
  type BenchResults,
  type ChannelRuns,
  type CityReportsResult,
  type ScalePoint,
  type StoreResults,
} from './lib/report.js';
import type { NluResult } from './nlu.js';
import type { BroadcastRequest, BroadcastResult } from './broadcast.js';
import type { DuplicatesRequest, DuplicatesResult } from './duplicates.js';
import type { Open311BenchRequest, Open311BenchResult } from './open311.js';
import type { RemindersBenchRequest, RemindersBenchResult } from './reminders.js';
import type { SeedRequest } from './seed.js';

const SCENARIOS = ['references', 'channels', 'scaling', 'nlu', 'broadcast', 'profile', 'duplicates', 'reports', 'open311', 'reminders'] as const;
type Scenario = (typeof SCENARIOS)[number];
const REFERENCES = ['node-http', 'express', 'twilio', 'botbuilder'] as const;

interface Options {
  quick: boolean;
  huge: boolean;
  outDir: string;
  only: Set<Scenario>;
  keepData: boolean;
  channels: BenchChannel[];
  residents?: number;
  sizes?: number[];
  /** The channel whose turns the profile scenario profiles. */
  profileChannel: BenchChannel;
}

/** How big and long everything is, full or quick. */
interface Sizes {
  warmupS: number;
  runS: number;
  connections: number[];
  /** Residents per channel in the channel dataset (all of them talk). */
  channelResidents: number;
  /** Stored residents of the scaling datasets, and how many of them talk during a run. */
  scaleSizes: number[];
  scaleActive: number;
  startups: number;
  nluS: number;
  broadcastWorkS: number;
  profileS: number;
  /** Stored reports at each step of the duplicate-search series, and timed calls per step. */
  duplicateSizes: number[];
  duplicateCalls: number;
  /** The reports scenario: stored reports in the dataset that has them, and alternating rounds of so many seconds. */
  cityReports: number;
  cityReportRounds: number;
  cityReportRoundS: number;
  /** The Open311 scenario: stored reports at each step, timed calls per query and step, forwarded requests for the poll. */
  open311Sizes: number[];
  open311Calls: number;
  open311Forwarded: number;
  /** The reminders scenario: the volunteer calendars whose planning pass is timed (shifts, confirmed sign-ups). */
  reminderSizes: { shifts: number; signups: number }[];
}

function parseOptions(argv: string[]): Options {
  const value = (name: string) => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const only = value('--only');
  const chosen = only ? only.split(',').map((s) => s.trim()) : [...SCENARIOS];
  const unknown = chosen.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (unknown.length) throw new Error(`--only: unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
  return {
    quick: argv.includes('--quick'),
    huge: argv.includes('--huge'),
    outDir: path.resolve(value('--out') ?? process.env.BENCH_RESULTS_DIR ?? path.join(projectRoot(), 'bench', 'results')),
    only: new Set(chosen as Scenario[]),
    keepData: argv.includes('--keep-data'),
    channels: (value('--channels')?.split(',') ?? ['sms', 'telegram', 'webchat']) as BenchChannel[],
    profileChannel: profileChannelOf(value('--profile-channel')),
    ...(value('--residents') ? { residents: Number(value('--residents')) } : {}),
    ...(value('--sizes') ? { sizes: (value('--sizes') ?? '').split(',').map(Number) } : {}),
  };
}

/** The --profile-channel option: one of the bench channels, SMS when not given. */
function profileChannelOf(name: string | undefined): BenchChannel {
  if (name === undefined) return 'sms';
  if (!(BENCH_CHANNELS as readonly string[]).includes(name))
    throw new Error(`--profile-channel: unknown channel ${name} (known: ${BENCH_CHANNELS.join(', ')})`);
  return name as BenchChannel;
}

function sizesFor(options: Options): Sizes {
  const sizes = defaultSizes(options);
  return { ...sizes, ...(options.residents ? { channelResidents: options.residents } : {}), ...(options.sizes ? { scaleSizes: options.sizes } : {}) };
}

function defaultSizes(options: Options): Sizes {
  if (options.quick) {
    return {
      warmupS: 0,
      runS: 0.5,
      connections: [10],
      channelResidents: 150,
      scaleSizes: [100, 300],
      scaleActive: 80,
      startups: 1,
      nluS: 0.3,
      broadcastWorkS: 0.5,
      profileS: 0.6,
      duplicateSizes: [100, 1_000],
      duplicateCalls: 300,
      cityReports: 1_000,
      cityReportRounds: 2,
      cityReportRoundS: 0.5,
      open311Sizes: [100, 1_000],
      open311Calls: 20,
      open311Forwarded: 100,
      reminderSizes: [
        { shifts: 10, signups: 100 },
        { shifts: 100, signups: 1_000 },
      ],
    };
  }
  return {
    warmupS: 3,
    runS: 10,
    connections: [10, 50],
    channelResidents: 10_000,
    scaleSizes: [1_000, 100_000, ...(options.huge ? [1_000_000] : [])],
    scaleActive: 800,
    startups: 3,
    nluS: 5,
    broadcastWorkS: 15,
    profileS: 10,
    duplicateSizes: [1_000, 100_000],
    duplicateCalls: 5_000,
    cityReports: 100_000,
    cityReportRounds: 8,
    cityReportRoundS: 5,
    open311Sizes: [1_000, 100_000],
    open311Calls: 200,
    open311Forwarded: 10_000,
    reminderSizes: [
      { shifts: 100, signups: 1_000 },
      { shifts: 10_000, signups: 100_000 },
    ],
  };
}

const log = (line: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A dataset: a DATA_DIR (embedded) or a database (MongoDB), and how it was seeded. */
interface Dataset {
  name: string;
  dataDir: string;
  mongodbUri?: string;
  plan: SeedPlan;
}

class Bench {
  private readonly sizes: Sizes;
  private readonly pin: boolean;
  private readonly work: string;
  private telegram!: FakeTelegramApi;

  constructor(private readonly options: Options) {
    this.sizes = sizesFor(options);
    this.pin = canPin();
    this.work = mkdtempSync(path.join(os.tmpdir(), 'civicline-bench-'));
  }

  private baseEnv(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? this.work, NODE_ENV: 'production' };
  }

  /** The service's environment: every channel on, pointed at the fakes, logging as in production. */
  private serviceEnv(dataset: Dataset, port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...this.baseEnv(),
      PORT: String(port),
      DATA_DIR: dataset.dataDir,
      ...(dataset.mongodbUri ? { MONGODB_URI: dataset.mongodbUri } : {}),
      LOG_LEVEL: 'info',
      CITY_NAME: 'Springfield',
      PUBLIC_URL: BENCH_PUBLIC_URL,
      TWILIO_AUTH_TOKEN: BENCH_TWILIO_AUTH_TOKEN,
      TELEGRAM_BOT_TOKEN: BENCH_BOT_TOKEN,
      TELEGRAM_WEBHOOK_SECRET: BENCH_TELEGRAM_SECRET,
      TELEGRAM_API_ROOT: this.telegram.apiRoot,
      TELEGRAM_MODE: 'webhook',
      BOT_FRAMEWORK_DEV_MODE: 'true',
      // The per-resident flood brakes stay on (their cost is counted) but so high they never
      // trigger: a benchmark compresses a day of one resident's messages into seconds.
      RATE_LIMIT_MESSAGES_PER_MINUTE: '100000',
      RATE_LIMIT_MESSAGE_BURST: '100000',
      RATE_LIMIT_NEW_CHATS_PER_MINUTE: '100000',
      ...extra,
    };
  }

  async startService(dataset: Dataset, extra: Record<string, string> = {}, nodeArgs: string[] = []): Promise<ServerProcess> {
    const port = await freePort();
    return startServer({
      name: 'civicline',
      args: [serviceMain()],
      nodeArgs,
      env: this.serviceEnv(dataset, port, extra),
      port,
      readyPath: '/readyz',
      pin: this.pin,
      cwd: this.work,
    });
  }

  async seed(
    name: string,
    residents: Record<BenchChannel, number>,
    mongoBase?: string,
    cityReports = 0,
  ): Promise<Dataset & { seconds: number; records: number }> {
    const dataDir = path.join(this.work, name);
    const mongodbUri = mongoBase ? mongoDatabaseUri(mongoBase, name) : undefined;
    if (mongodbUri) await dropDatabase(mongodbUri);
    const planFile = path.join(this.work, `${name}.plan.json`);
    const request: SeedRequest = { dataDir, ...(mongodbUri ? { mongodbUri } : {}), residents, planFile, ...(cityReports ? { cityReports } : {}) };
    const total = Object.values(residents).reduce((a, b) => a + b, 0);
    const history = cityReports ? ` and ${cityReports.toLocaleString('en')} stored reports` : '';
    log(`seeding ${name}: ${total.toLocaleString('en')} residents in mid-conversation${history}`);
    const started = performance.now();
    await runChild([benchScript('seed'), JSON.stringify(request)], { pin: this.pin, env: this.baseEnv(), cwd: this.work });
    const seconds = (performance.now() - started) / 1000;
    const plan = JSON.parse(readFileSync(planFile, 'utf8')) as SeedPlan;
    log(`seeded ${name} in ${seconds.toFixed(1)} s (${plan.recordsWritten.toLocaleString('en')} records)`);
    return { name, dataDir, ...(mongodbUri ? { mongodbUri } : {}), plan, seconds, records: plan.recordsWritten };
  }

  async drop(dataset: Dataset): Promise<void> {
    if (this.options.keepData) return;
    rmSync(dataset.dataDir, { recursive: true, force: true });
    if (dataset.mongodbUri) await dropDatabase(dataset.mongodbUri);
  }

  /** A warm-up run (not kept, unless the server is warm already), then one run per connection count. */
  async measure(
    server: ServerProcess,
    source: ConversationSource,
    label: string,
    connections = this.sizes.connections,
    dataset?: Dataset,
    run: { warmUp: boolean; durationS: number } = { warmUp: true, durationS: this.sizes.runS },
  ): Promise<ChannelRuns> {
    if (run.warmUp && this.sizes.warmupS > 0) {
      await runLoad({ url: server.url, serverPid: server.pid, source, connections: Math.max(...connections), durationS: this.sizes.warmupS });
    }
    const runs: ChannelRuns = {};
    for (const count of connections) {
      const before = dataset && !dataset.mongodbUri ? await lastTxnId(dataset.dataDir) : null;
      const databaseProcesses = dataset?.mongodbUri ? (process.env['BENCH_DATABASE_PROCESSES']?.split(',').filter(Boolean) ?? []) : [];
      const result = await runLoad({ url: server.url, serverPid: server.pid, source, connections: count, durationS: run.durationS, databaseProcesses });
      const after = before === null || !dataset ? null : await lastTxnId(dataset.dataDir);
      if (before !== null && after !== null && result.sent > 0) result.storeCommitsPerRequest = (after - before) / result.sent;
      runs[count] = result;
      log(`${label} @${count}: ${describe(result)}`);
    }
    return runs;
  }

  async references(plan: SeedPlan): Promise<Record<string, ChannelRuns>> {
    const results: Record<string, ChannelRuns> = {};
    for (const kind of REFERENCES) {
      const port = await freePort();
      const server = await startServer({
        name: kind,
        args: [benchScript('servers/reference'), kind],
        env: { ...this.baseEnv(), PORT: String(port), PUBLIC_URL: BENCH_PUBLIC_URL, TWILIO_AUTH_TOKEN: BENCH_TWILIO_AUTH_TOKEN },
        port,
        readyPath: kind === 'node-http' ? '/' : '/readyz',
        pin: this.pin,
        cwd: this.work,
      });
      try {
        // The same requests as CivicLine's channels: Twilio webhooks, or Bot Framework activities.
        const residents = this.sizes.channelResidents;
        const source = kind === 'botbuilder' ? botFrameworkSource({ plan, residents, check: false }) : twilioSource({ plan, residents, check: false });
        results[kind] = await this.measure(server, source, `reference ${kind}`);
      } finally {
        await server.stop();
      }
    }
    return results;
  }

  /** The three channels on the channel dataset, the Telegram cap, and (optionally) a profile. */
  async channels(
    dataset: Dataset,
    what: { channels: boolean; profile: boolean },
  ): Promise<Pick<StoreResults, 'channels' | 'telegramAtDefaultLimits' | 'profile'>> {
    const residents = this.sizes.channelResidents;
    const sources: Record<BenchChannel, ConversationSource> = {
      sms: twilioSource({ plan: dataset.plan, residents, check: true }),
      telegram: telegramSource({ plan: dataset.plan, residents, check: true, api: this.telegram }),
      webchat: botFrameworkSource({ plan: dataset.plan, residents, check: true }),
    };
    const channels: Partial<Record<BenchChannel, ChannelRuns>> = {};
    let telegramAtDefaultLimits: LoadResult | undefined;
    if (what.channels) {
      // Telegram's sending limits raised to what paid broadcasts allow, so the run measures our
      // cost rather than the 30 messages a second Telegram allows a bot by default (run below).
      const server = await this.startService(dataset, { TELEGRAM_MESSAGES_PER_SECOND: '1000' });
      try {
        for (const channel of this.options.channels) {
          channels[channel] = await this.measure(server, sources[channel], `civicline ${channel}`, this.sizes.connections, dataset);
        }
      } finally {
        await server.stop();
      }

      // Telegram at Telegram's own limit: a run long enough to see the cap (not in --quick).
      if (this.options.channels.includes('telegram') && !this.options.quick) {
        const limited = await this.startService(dataset);
        try {
          const connections = Math.min(...this.sizes.connections);
          const runs = await this.measure(limited, sources.telegram, 'civicline telegram at Telegram default limits (30/s)', [connections], dataset);
          telegramAtDefaultLimits = runs[connections];
        } finally {
          await limited.stop();
        }
      }
    }

    let profile: StoreResults['profile'];
    if (what.profile) {
      const dir = path.join(this.work, 'profile');
      mkdirSync(dir, { recursive: true });
      const channel = this.options.profileChannel;
      // Telegram at the raised sending limits of the channel runs: the profile is of our work, not of waiting.
      const profiled = await this.startService(dataset, channel === 'telegram' ? { TELEGRAM_MESSAGES_PER_SECOND: '1000' } : {}, [
        '--cpu-prof',
        `--cpu-prof-dir=${dir}`,
      ]);
      let run: LoadResult;
      try {
        const connections = Math.max(...this.sizes.connections);
        if (this.sizes.warmupS > 0)
          await runLoad({ url: profiled.url, serverPid: profiled.pid, source: sources[channel], connections, durationS: this.sizes.warmupS });
        run = await runLoad({ url: profiled.url, serverPid: profiled.pid, source: sources[channel], connections, durationS: this.sizes.profileS });
        log(`civicline ${channel} under --cpu-prof @${connections}: ${describe(run)}`);
      } finally {
        await profiled.stop();
      }
      const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
      if (file) {
        const kept = path.join(this.options.outDir, `${channel}-turn.cpuprofile`);
        if (!this.options.quick) writeFileSync(kept, readFileSync(path.join(dir, file)));
        // Without start-up (modules, NLU training): the turns are what the profile is for.
        const summary = summarizeProfile(path.join(dir, file), { skipMs: profiled.readyMs + 500 });
        profile = { channel, run, ...summary, ...(this.options.quick ? {} : { file: path.relative(projectRoot(), kept) }) };
      }
    }
    return {
      ...(what.channels ? { channels } : {}),
      ...(telegramAtDefaultLimits ? { telegramAtDefaultLimits } : {}),
      ...(profile ? { profile } : {}),
    };
  }

  /** Start-up, throughput, p99 and memory as the number of stored residents grows. */
  async scaling(mongoBase: string | undefined, withBroadcast: boolean): Promise<Pick<StoreResults, 'scaling' | 'broadcast'>> {
    const points: ScalePoint[] = [];
    let broadcast: StoreResults['broadcast'];
    const broadcastSize = Math.max(...this.sizes.scaleSizes.filter((size) => size <= 100_000));
    for (const size of this.sizes.scaleSizes) {
      // Four in five residents on SMS, one in five on Telegram; the first SMS ones talk.
      const telegram = Math.floor(size / 5);
      const dataset = await this.seed(`scale-${size}`, { sms: size - telegram, telegram, webchat: 0 }, mongoBase);
      try {
        const startupMs: number[] = [];
        const rssReady: number[] = [];
        for (let i = 1; i < this.sizes.startups; i++) {
          const server = await this.startService(dataset);
          startupMs.push(server.readyMs);
          rssReady.push(rssBytes(server.pid) ?? 0);
          await server.stop();
        }
        const server = await this.startService(dataset);
        startupMs.push(server.readyMs);
        rssReady.push(rssBytes(server.pid) ?? 0);
        let runs: ChannelRuns;
        try {
          const residents = Math.min(this.sizes.scaleActive, size - telegram);
          runs = await this.measure(
            server,
            twilioSource({ plan: dataset.plan, residents, check: true }),
            `civicline sms, ${size.toLocaleString('en')} stored`,
            this.sizes.connections,
            dataset,
          );
          points.push({
            residents: size,
            activeResidents: residents,
            seedSeconds: dataset.seconds,
            records: dataset.records,
            startupMs,
            rssReadyBytes: median(rssReady),
            rssAfterBytes: rssBytes(server.pid) ?? 0,
            rssAfterAnonymousBytes: memory(server.pid)?.anonymous ?? 0,
            runs,
          });
        } finally {
          await server.stop();
        }
        log(`${size.toLocaleString('en')} stored: ready in ${median(startupMs).toFixed(0)} ms`);
        if (withBroadcast && size === broadcastSize) broadcast = { residents: size, ...(await this.broadcast(dataset)) };
      } finally {
        await this.drop(dataset);
      }
    }
    return { scaling: points, ...(broadcast ? { broadcast } : {}) };
  }

  async broadcast(dataset: Dataset): Promise<BroadcastResult> {
    const twilio = await startFakeTwilioApi();
    try {
      const request: BroadcastRequest = {
        dataDir: dataset.dataDir,
        ...(dataset.mongodbUri ? { mongodbUri: dataset.mongodbUri } : {}),
        twilioApi: twilio.url,
        telegramApiRoot: this.telegram.apiRoot,
        workSeconds: this.sizes.broadcastWorkS,
      };
      const before = dataset.mongodbUri ? null : await lastTxnId(dataset.dataDir);
      const out = await runChild([benchScript('broadcast'), JSON.stringify(request)], { pin: this.pin, env: this.baseEnv(), cwd: this.work });
      const after = dataset.mongodbUri ? null : await lastTxnId(dataset.dataDir);
      const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as BroadcastResult;
      // Roughly: the plan commits once per chunk of 500 inserts; the rest is the worker's.
      if (before !== null && after !== null && result.worker.processed > 0) {
        result.worker.storeCommitsPerDelivery = Math.max(0, after - before - Math.ceil(result.planned / 500)) / result.worker.processed;
      }
      log(
        `broadcast: planned ${result.planned.toLocaleString('en')} in ${result.planSeconds.toFixed(1)} s; worker ${result.worker.cpuUsPerDelivery.toFixed(0)} µs CPU per delivery, ${result.worker.deliveriesPerSecond.toFixed(0)}/s, ~${result.worker.storeCommitsPerDelivery?.toFixed(1) ?? '?'} commits per delivery`,
      );
      return result;
    } finally {
      await twilio.close();
    }
  }

  /** "Already reported?": findNearbyOpenReports per call as the stored reports grow, in one store. */
  async duplicates(mongoBase: string | undefined): Promise<DuplicatesResult> {
    const dataDir = path.join(this.work, 'duplicates');
    const mongodbUri = mongoBase ? mongoDatabaseUri(mongoBase, 'duplicates') : undefined;
    if (mongodbUri) await dropDatabase(mongodbUri);
    try {
      const request: DuplicatesRequest = { dataDir, ...(mongodbUri ? { mongodbUri } : {}), sizes: this.sizes.duplicateSizes, calls: this.sizes.duplicateCalls };
      const out = await runChild([benchScript('duplicates'), JSON.stringify(request)], { pin: this.pin, env: this.baseEnv(), cwd: this.work });
      const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as DuplicatesResult;
      for (const point of result.points) {
        log(
          `duplicates, ${point.reports.toLocaleString('en')} reports (${point.open.toLocaleString('en')} open, seeded in ${point.seedSeconds.toFixed(1)} s): p50 ${point.latencyUs.p50.toFixed(0)} µs, p99 ${point.latencyUs.p99.toFixed(0)} µs per call (point p50 ${point.pointUs.p50.toFixed(0)}, text p50 ${point.placeUs.p50.toFixed(0)}), ${point.offered.toFixed(2)} offered`,
        );
      }
      return result;
    } finally {
      if (!this.options.keepData) rmSync(dataDir, { recursive: true, force: true });
      if (mongodbUri && !this.options.keepData) await dropDatabase(mongodbUri);
    }
  }

  /** Open311 `GET requests` and the client's poll planning, in process, as the stored reports grow. */
  async open311(mongoBase: string | undefined): Promise<Open311BenchResult> {
    const dataDir = path.join(this.work, 'open311');
    const mongodbUri = mongoBase ? mongoDatabaseUri(mongoBase, 'open311') : undefined;
    if (mongodbUri) await dropDatabase(mongodbUri);
    try {
      const request: Open311BenchRequest = {
        dataDir,
        ...(mongodbUri ? { mongodbUri } : {}),
        sizes: this.sizes.open311Sizes,
        calls: this.sizes.open311Calls,
        forwarded: this.sizes.open311Forwarded,
      };
      const out = await runChild([benchScript('open311'), JSON.stringify(request)], { pin: this.pin, env: this.baseEnv(), cwd: this.work });
      const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Open311BenchResult;
      for (const point of result.points) {
        const parts = Object.entries(point.queries).map(
          ([name, q]) => `${name} p50 ${q.latencyUs.p50.toFixed(0)} µs / ${q.reportsRead.toFixed(0)} read / ${q.returned.toFixed(0)} answered`,
        );
        log(`open311, ${point.reports.toLocaleString('en')} reports (seeded in ${point.seedSeconds.toFixed(1)} s): ${parts.join('; ')}`);
        log(
          `open311 poll planning, ${point.poll.forwarded.toLocaleString('en')} forwarded: p50 ${point.poll.latencyUs.p50.toFixed(0)} µs, ${point.poll.reportsRead.toFixed(0)} read, ${point.poll.batches.toFixed(0)} batches`,
        );
      }
      return result;
    } finally {
      if (!this.options.keepData) rmSync(dataDir, { recursive: true, force: true });
      if (mongodbUri && !this.options.keepData) await dropDatabase(mongodbUri);
    }
  }

  /** Shift reminder planning (issue 20), in process: one pass over a small city's calendar and a large one's. */
  async reminders(): Promise<RemindersBenchResult> {
    const dataDir = path.join(this.work, 'reminders');
    try {
      const request: RemindersBenchRequest = { dataDir, sizes: this.sizes.reminderSizes };
      const out = await runChild([benchScript('reminders'), JSON.stringify(request)], { pin: this.pin, env: this.baseEnv(), cwd: this.work });
      const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as RemindersBenchResult;
      for (const point of result.points) {
        const pass = (name: string, p: { ms: number; reads: number; stats: { planned: number; scheduled: number } }) =>
          `${name} ${p.ms.toFixed(0)} ms / ${p.reads.toLocaleString('en')} read / ${p.stats.planned.toLocaleString('en')} shifts planned / ${p.stats.scheduled.toLocaleString('en')} jobs`;
        log(
          `reminders, ${point.shifts.toLocaleString('en')} shifts / ${point.signups.toLocaleString('en')} sign-ups (${point.upcomingShifts.toLocaleString('en')} / ${point.upcomingSignups.toLocaleString('en')} in the window; seeded in ${point.seedSeconds.toFixed(1)} s): ${pass('cold', point.cold)}; ${pass('warm', point.warm)}; ${pass(`${point.changed.changedShifts} changed`, point.changed)}`,
        );
      }
      return result;
    } finally {
      if (!this.options.keepData) rmSync(dataDir, { recursive: true, force: true });
    }
  }

  /**
   * "Already reported?" in the SMS turn (issue 18): the same SMS residents on two datasets that
   * differ only in a city's history of stored reports. Both servers are up at once and measured
   * in short alternating rounds (without, with; then with, without; ...), and the result is the
   * median of each round's ratio: on a shared machine the CPU a turn costs moves by 20–50 % from
   * one minute to the next, so only runs next to each other in time compare.
   */
  async cityReports(mongoBase: string | undefined): Promise<CityReportsResult> {
    const residents = this.sizes.channelResidents;
    const connections = Math.max(...this.sizes.connections);
    const only = { sms: residents, telegram: 0, webchat: 0 };
    const without = await this.seed('reports-none', only, mongoBase);
    const withReports = await this.seed('reports-city', only, mongoBase, this.sizes.cityReports);
    const servers: ServerProcess[] = [];
    try {
      const sides = {
        without: { dataset: without, server: await this.startService(without) },
        with: { dataset: withReports, server: await this.startService(withReports) },
      };
      servers.push(sides.without.server, sides.with.server);
      // One source per dataset for the whole scenario: each resident's next message follows on.
      const sources = {
        without: twilioSource({ plan: without.plan, residents, check: true }),
        with: twilioSource({ plan: withReports.plan, residents, check: true }),
      };
      const stored = withReports.plan.cityReports?.stored ?? 0;
      const names = { without: 'no stored reports', with: `${stored.toLocaleString('en')} stored reports` };
      for (const side of ['without', 'with'] as const) {
        if (this.sizes.warmupS > 0) {
          const { server } = sides[side];
          await runLoad({ url: server.url, serverPid: server.pid, source: sources[side], connections, durationS: this.sizes.warmupS });
        }
      }
      const rounds: CityReportsResult['rounds'] = [];
      const run = { warmUp: false, durationS: this.sizes.cityReportRoundS };
      for (let round = 0; round < this.sizes.cityReportRounds; round++) {
        const order = round % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const);
        const measured: Partial<Record<'without' | 'with', LoadResult>> = {};
        for (const side of order) {
          const { server, dataset } = sides[side];
          const label = `civicline sms, ${names[side]}, round ${round + 1}`;
          measured[side] = (await this.measure(server, sources[side], label, [connections], dataset, run))[connections];
        }
        if (measured.without && measured.with) rounds.push({ without: measured.without, with: measured.with });
      }
      const result: CityReportsResult = {
        residents,
        connections,
        roundS: this.sizes.cityReportRoundS,
        cityReports: withReports.plan.cityReports ?? { stored: 0, open: 0, openAtCorner: 0, seconds: 0 },
        seedSeconds: { without: without.seconds, with: withReports.seconds },
        rounds,
      };
      const ratios = cityReportsCpuRatios(result);
      if (ratios.median !== null)
        log(`reports: CPU per SMS turn with ${names.with} ÷ without: median of rounds ${ratios.median.toFixed(3)}, pooled ${ratios.pooled?.toFixed(3) ?? '–'}`);
      return result;
    } finally {
      for (const server of servers) await server.stop();
      await this.drop(without);
      await this.drop(withReports);
    }
  }

  async nlu(): Promise<NluResult> {
    const out = await runChild([benchScript('nlu'), String(this.sizes.nluS)], { pin: this.pin, env: this.baseEnv(), cwd: this.work });
    const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as NluResult;
    log(
      `nlu: ${result.classificationsPerSecond.toFixed(0)} classifications/s, p99 ${result.latencyUs.p99.toFixed(0)} µs, trained in ${result.trainMs.toFixed(0)} ms`,
    );
    return result;
  }

  async run(): Promise<BenchResults> {
    const { only } = this.options;
    const startedAt = new Date();
    const pinned = this.pin && pinSelf();
    if (!pinned) log('not pinning to cores (needs Linux, taskset and two cores): CPU per request still holds, throughput is noisier');
    if (!canMeasureProcesses()) log('no /proc: server CPU time and memory are not measured');
    this.telegram = await startFakeTelegramApi();
    mkdirSync(this.options.outDir, { recursive: true });
    const results: BenchResults = {
      startedAt: startedAt.toISOString(),
      finishedAt: '',
      quick: this.options.quick,
      machine: machine(),
      pinned,
      sizes: this.sizes,
      references: {},
      stores: {},
      targets: [],
    };
    try {
      const stores: (string | undefined)[] = [undefined, ...(process.env.MONGODB_URI ? [process.env.MONGODB_URI] : [])];
      for (const mongoBase of stores) {
        const kind = mongoBase ? 'mongodb' : 'embedded';
        const store: StoreResults = {};
        results.stores[kind] = store;
        if (only.has('references') || only.has('channels') || only.has('profile')) {
          const per = this.sizes.channelResidents;
          const dataset = await this.seed('channels', { sms: per, telegram: per, webchat: per }, mongoBase);
          store.channelDataset = { residents: per * 3, seedSeconds: dataset.seconds, records: dataset.records };
          try {
            // The references once, next to the first store's channel runs.
            if (only.has('references') && !mongoBase) results.references = await this.references(dataset.plan);
            if (only.has('channels') || only.has('profile')) {
              Object.assign(store, await this.channels(dataset, { channels: only.has('channels'), profile: only.has('profile') && !mongoBase }));
            }
          } finally {
            await this.drop(dataset);
          }
        }
        if (only.has('scaling') || only.has('broadcast')) Object.assign(store, await this.scaling(mongoBase, only.has('broadcast')));
        if (only.has('duplicates')) store.duplicates = await this.duplicates(mongoBase);
        if (only.has('reports')) store.cityReports = await this.cityReports(mongoBase);
        if (only.has('open311')) store.open311 = await this.open311(mongoBase);
        // In process on the embedded store: the planner's reads, not a database's, are the question.
        if (only.has('reminders') && !mongoBase) store.reminders = await this.reminders();
      }
      if (only.has('nlu')) results.nlu = await this.nlu();
    } finally {
      await this.telegram.close();
      if (!this.options.keepData) rmSync(this.work, { recursive: true, force: true });
    }
    results.finishedAt = new Date().toISOString();
    results.targets = targetsOf(results);
    return results;
  }
}

function describe(result: LoadResult): string {
  const system = result.systemCpuShare === null ? '' : ` (${(result.systemCpuShare * 100).toFixed(0)}% system)`;
  const cpu = result.cpuUsPerRequest === null ? '' : `, ${result.cpuUsPerRequest.toFixed(0)} µs CPU/req${system}`;
  const commits = result.storeCommitsPerRequest === undefined ? '' : `, ${result.storeCommitsPerRequest.toFixed(2)} commits/req`;
  const database = result.databaseCpuUsPerRequest === undefined ? '' : `, database ${result.databaseCpuUsPerRequest.toFixed(0)} µs CPU/req`;
  const off = result.offScript ? `, ${result.offScript} off-script` : '';
  const bad = result.non2xx + result.errors ? `, ${result.non2xx} non-2xx, ${result.errors} errors` : '';
  return `${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.latencyMs.p50.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms${cpu}${database}${commits}${off}${bad}`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}

function machine(): BenchResults['machine'] {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot(), encoding: 'utf8' });
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    // os.cpus(), not availableParallelism(): this process is pinned to one core by now.
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    commit: git.status === 0 ? `${git.stdout.trim()}${uncommitted() ? ' (with uncommitted changes)' : ''}` : 'unknown',
  };
}

/** Whether tracked files differ from the commit (read-only `git status`). */
function uncommitted(): boolean {
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: projectRoot(), encoding: 'utf8' });
  return status.status === 0 && status.stdout.trim().length > 0;
}

/** The URI of the dataset's own database on the given server. */
function mongoDatabaseUri(base: string, dataset: string): string {
  const url = new URL(base);
  url.pathname = `/civicline_bench_${dataset.replace(/[^a-z0-9]/gi, '_')}`;
  return url.toString();
}

async function dropDatabase(uri: string): Promise<void> {
  const connection = await mongoose.createConnection(uri).asPromise();
  try {
    await connection.dropDatabase();
  } finally {
    await connection.close();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const results = await new Bench(options).run();
  mkdirSync(options.outDir, { recursive: true });
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const jsonFile = path.join(options.outDir, `${stamp}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(options.outDir, 'latest.md'), renderMarkdown(results, path.basename(jsonFile)));
  log(`results: ${jsonFile} and ${path.join(options.outDir, 'latest.md')}`);
  const missed = results.targets.filter((target) => target.pass === false);
  if (missed.length) log(`targets missed: ${missed.map((target) => target.name).join('; ')}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
