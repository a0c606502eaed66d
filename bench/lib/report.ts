/**
 * The benchmark's results: their shape (written as JSON), the targets they are held to, and the
 * short Markdown summary (bench/results/latest.md).
 */
import type { LoadResult } from './load.js';
import type { ProfileSummary } from './profile.js';
import type { BenchChannel, SeedPlan } from './script.js';
import type { NluResult } from '../nlu.js';
import type { BroadcastResult } from '../broadcast.js';
import type { DuplicatesResult } from '../duplicates.js';
import type { Open311BenchResult } from '../open311.js';
import type { RemindersBenchResult } from '../reminders.js';

/** Runs of one server or channel, by connection count. */
export type ChannelRuns = Record<number, LoadResult>;

/** One size of the scaling series. */
export interface ScalePoint {
  residents: number;
  activeResidents: number;
  seedSeconds: number;
  records: number;
  startupMs: number[];
  rssReadyBytes: number;
  rssAfterBytes: number;
  /** The anonymous part of it (heap and native allocations; the rest is LMDB's mapped file). */
  rssAfterAnonymousBytes: number;
  runs: ChannelRuns;
}

/** What one store (embedded, or MongoDB) measured. */
export interface StoreResults {
  channelDataset?: { residents: number; seedSeconds: number; records: number };
  channels?: Partial<Record<BenchChannel, ChannelRuns>>;
  /** Telegram with the service's default sending limits (Telegram's 30 messages a second). */
  telegramAtDefaultLimits?: LoadResult;
  /** A CPU profile of one channel's turns (`channel` absent in results from before it could be chosen: SMS). */
  profile?: ProfileSummary & { channel?: BenchChannel; run: LoadResult; file?: string };
  scaling?: ScalePoint[];
  broadcast?: BroadcastResult & { residents: number };
  /** "Already reported?": findNearbyOpenReports per call as the stored reports grow. */
  duplicates?: DuplicatesResult;
  /** "Already reported?" in the SMS turn: with a city's stored reports and without, in one run. */
  cityReports?: CityReportsResult;
  /** Open311 `GET requests` and the client's poll planning as the stored reports grow. */
  open311?: Open311BenchResult;
  /** Shift reminder planning: one pass over a small and a large volunteer calendar. */
  reminders?: RemindersBenchResult;
}

/** The reports scenario: SMS turns on two datasets alike but for a city's stored reports. */
export interface CityReportsResult {
  /** SMS residents in each dataset (all of them talk). */
  residents: number;
  connections: number;
  /** The stored reports of the dataset that has them. */
  cityReports: NonNullable<SeedPlan['cityReports']>;
  seedSeconds: { without: number; with: number };
  /** Each round's length on each dataset, in seconds. */
  roundS: number;
  /** The alternating rounds, each a run on either dataset. */
  rounds: { without: LoadResult; with: LoadResult }[];
}

/** CPU per turn with the stored reports ÷ without: each round's, their median, and pooled over every round. */
export function cityReportsCpuRatios(result: CityReportsResult): { rounds: (number | null)[]; median: number | null; pooled: number | null } {
  const rounds = result.rounds.map((round) =>
    round.with.cpuUsPerRequest && round.without.cpuUsPerRequest ? round.with.cpuUsPerRequest / round.without.cpuUsPerRequest : null,
  );
  const measured = rounds.filter((ratio): ratio is number => ratio !== null);
  const without = pooledCpuPerTurn(result, 'without');
  const withReports = pooledCpuPerTurn(result, 'with');
  return {
    rounds,
    median: measured.length ? medianOf(measured) : null,
    pooled: without && withReports ? withReports / without : null,
  };
}

/** A side's server CPU seconds per turn over every round (null when not measured). */
function pooledCpuPerTurn(result: CityReportsResult, side: 'without' | 'with'): number | null {
  const runs = result.rounds.map((round) => round[side]);
  const cpu = runs.reduce((sum, run) => sum + (run.serverCpuS ?? Number.NaN), 0);
  const sent = runs.reduce((sum, run) => sum + run.sent, 0);
  return sent > 0 && Number.isFinite(cpu) ? cpu / sent : null;
}

/** The middle value (the mean of the two middle ones for an even count). */
function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One target of the benchmark issue, with what was measured. */
export interface Target {
  name: string;
  wanted: string;
  measured: string;
  /** null when not measured, or measured too small to judge (--quick). */
  pass: boolean | null;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; node: string; commit: string };
  pinned: boolean;
  sizes: unknown;
  references: Record<string, ChannelRuns>;
  stores: Record<string, StoreResults>;
  nlu?: NluResult;
  targets: Target[];
}

const REFERENCE_NAMES: Record<string, string> = {
  'node-http': 'bare node:http (200)',
  express: 'express 5 handler',
  twilio: 'do-nothing Twilio handler (signature + TwiML)',
  botbuilder: 'do-nothing botbuilder CloudAdapter echo (expectReplies)',
};
const CHANNEL_NAMES: Record<BenchChannel, string> = {
  sms: 'CivicLine SMS turn (Twilio webhook)',
  telegram: 'CivicLine Telegram turn (webhook + Bot API send)',
  webchat: 'CivicLine Web Chat turn (Bot Framework expectReplies)',
};
/** The profiled turn, as the profile's heading names it. */
const PROFILED_TURN: Record<BenchChannel, string> = {
  sms: "an SMS turn's",
  telegram: "a Telegram turn's",
  webchat: "a Web Chat turn's",
};

/** The highest connection count a set of runs has. */
function top(runs: ChannelRuns | undefined): LoadResult | undefined {
  if (!runs) return undefined;
  const counts = Object.keys(runs).map(Number);
  return counts.length ? runs[Math.max(...counts)] : undefined;
}

function ratio(reference: LoadResult | undefined, ours: LoadResult | undefined): number | null {
  if (!reference?.cpuUsPerRequest || !ours?.cpuUsPerRequest) return null;
  return reference.cpuUsPerRequest / ours.cpuUsPerRequest;
}

/** The issue's targets, judged on the embedded store's results (not judged in a quick run). */
export function targetsOf(results: BenchResults): Target[] {
  const judge = (ok: boolean | null) => (results.quick ? null : ok);
  const store = results.stores.embedded ?? {};
  const sms = top(store.channels?.sms);
  const targets: Target[] = [];
  const versus = (reference: string, wanted: number) => {
    const value = ratio(top(results.references[reference]), sms);
    targets.push({
      name: `SMS turn vs ${REFERENCE_NAMES[reference]}`,
      wanted: `CPU ratio ≥ ${wanted.toFixed(1)}`,
      measured:
        value === null
          ? 'not measured'
          : `${value.toFixed(2)} (${sms?.cpuUsPerRequest?.toFixed(0)} µs vs ${top(results.references[reference])?.cpuUsPerRequest?.toFixed(0)} µs)`,
      pass: value === null ? null : judge(value >= wanted),
    });
  };
  versus('botbuilder', 1);
  versus('twilio', 0.5);
  for (const channel of ['sms', 'telegram', 'webchat'] as const) {
    const run = store.channels?.[channel]?.[50];
    targets.push({
      name: `${CHANNEL_NAMES[channel]}: p99 at 50 connections`,
      wanted: '< 50 ms',
      measured: run ? `${run.latencyMs.p99.toFixed(1)} ms` : 'not measured',
      pass: run ? judge(run.latencyMs.p99 < 50) : null,
    });
  }
  const scaling = store.scaling ?? [];
  const small = scaling.find((point) => point.residents === 1_000);
  const large = scaling.find((point) => point.residents === 100_000);
  const smallRun = top(small?.runs);
  const largeRun = top(large?.runs);
  if (smallRun && largeRun) {
    const throughput = largeRun.requestsPerSecond / smallRun.requestsPerSecond;
    const p99 = largeRun.latencyMs.p99 / smallRun.latencyMs.p99;
    targets.push({
      name: 'Throughput, 100,000 vs 1,000 stored residents',
      wanted: 'within 20%',
      measured: `${pct(throughput - 1)} (${smallRun.requestsPerSecond.toFixed(0)} → ${largeRun.requestsPerSecond.toFixed(0)} turns/s)`,
      pass: judge(Math.abs(throughput - 1) <= 0.2),
    });
    targets.push({
      name: 'p99, 100,000 vs 1,000 stored residents',
      wanted: 'within 20%',
      measured: `${pct(p99 - 1)} (${smallRun.latencyMs.p99.toFixed(1)} → ${largeRun.latencyMs.p99.toFixed(1)} ms)`,
      pass: judge(Math.abs(p99 - 1) <= 0.2),
    });
  } else {
    targets.push({ name: 'Throughput and p99 flat from 1,000 to 100,000 stored residents', wanted: 'within 20%', measured: 'not measured', pass: null });
  }
  const startup = large ? median(large.startupMs) : null;
  targets.push({
    name: 'Start-up to ready with 100,000 residents',
    wanted: '< 10 s',
    measured: startup === null ? 'not measured' : `${(startup / 1000).toFixed(2)} s`,
    pass: startup === null ? null : judge(startup < 10_000),
  });
  const broadcast = store.broadcast;
  const enqueue = broadcast && broadcast.residents >= 100_000 ? broadcast.planSeconds : null;
  targets.push({
    name: 'Broadcast: plan and enqueue 100,000 deliveries',
    wanted: '< 10 s',
    measured: broadcast ? `${broadcast.planSeconds.toFixed(2)} s for ${broadcast.planned.toLocaleString('en')}` : 'not measured',
    pass: enqueue === null ? null : judge(enqueue < 10),
  });
  // "Already reported?" must be an index read: its cost per call flat from 1,000 to 100,000 reports.
  const duplicates = store.duplicates?.points ?? [];
  const fewReports = duplicates.find((point) => point.reports === 1_000);
  const manyReports = duplicates.find((point) => point.reports === 100_000);
  const growth = fewReports && manyReports ? manyReports.latencyUs.p50 / fewReports.latencyUs.p50 : null;
  targets.push({
    name: 'Duplicate search per call, 100,000 vs 1,000 stored reports',
    wanted: 'p50 within 10%',
    measured:
      growth === null || !fewReports || !manyReports
        ? 'not measured'
        : `${pct(growth - 1)} (${fewReports.latencyUs.p50.toFixed(0)} → ${manyReports.latencyUs.p50.toFixed(0)} µs)`,
    pass: growth === null ? null : judge(growth <= 1.1),
  });
  // ... and the SMS turn that runs it: no dearer with 100,000 stored reports than with none.
  const city = store.cityReports;
  const cityRatio = city && city.cityReports.stored >= 100_000 ? cityReportsCpuRatios(city).median : null;
  targets.push({
    name: 'SMS turn (with the duplicate check) with 100,000 stored reports vs none, same run',
    wanted: 'CPU per turn within 10% (median of alternating rounds)',
    measured:
      cityRatio === null || !city
        ? 'not measured'
        : `${pct(cityRatio - 1)} (pooled ${cityTurnUs(city, 'without')} → ${cityTurnUs(city, 'with')} µs, ${city.rounds.length} rounds)`,
    pass: cityRatio === null ? null : judge(cityRatio <= 1.1),
  });
  return targets;
}

/** A side's CPU per turn over every round, in µs, for the tables. */
function cityTurnUs(result: CityReportsResult, side: 'without' | 'with'): string {
  const perTurn = pooledCpuPerTurn(result, side);
  return perTurn === null ? '–' : n0(perTurn * 1e6);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}

function pct(value: number): string {
  return `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)}%`;
}

const n0 = (value: number | null | undefined) => (value === null || value === undefined ? '–' : Math.round(value).toLocaleString('en'));
const n1 = (value: number | null | undefined) => (value === null || value === undefined ? '–' : value.toFixed(1));
const n2 = (value: number | null | undefined) => (value === null || value === undefined ? '–' : value.toFixed(2));
const mib = (bytes: number | null | undefined) => (bytes === null || bytes === undefined ? '–' : `${(bytes / 2 ** 20).toFixed(0)} MiB`);

function runRow(name: string, connections: number, run: LoadResult): string {
  const problems = run.non2xx + run.errors + run.timeouts;
  const off = run.offScript === null ? '–' : `${run.offScript} / ${run.checked}`;
  const commits = run.storeCommitsPerRequest === undefined ? '–' : n2(run.storeCommitsPerRequest);
  return `| ${name} | ${connections} | ${n0(run.requestsPerSecond)} | ${n1(run.latencyMs.p50)} | ${n1(run.latencyMs.p99)} | ${n0(run.cpuUsPerRequest)} | ${commits} | ${off}${problems ? ` (${problems} failed)` : ''} |`;
}

/** The Markdown summary of a run. */
export function renderMarkdown(results: BenchResults, jsonFile: string): string {
  const { machine } = results;
  const lines: string[] = [
    `# CivicLine benchmark, ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC${results.quick ? ' (--quick: tiny sizes, not for reading)' : ''}`,
    '',
    `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, node ${machine.node}, commit ${machine.commit}. ` +
      (results.pinned ? 'Servers pinned to core 1, load generator and fake provider APIs to core 0. ' : 'Not pinned to cores. ') +
      `Full results: \`${jsonFile}\`. How to read them: docs/performance.md.`,
    '',
    '## Targets',
    '',
    '| target | wanted | measured | met |',
    '|---|---|---|---|',
    ...results.targets.map((t) => `| ${t.name} | ${t.wanted} | ${t.measured} | ${t.pass === null ? '–' : t.pass ? 'yes' : '**no**'} |`),
  ];

  for (const [kind, store] of Object.entries(results.stores)) {
    const label = kind === 'embedded' ? 'embedded store (LMDB)' : 'MongoDB';
    if (store.channels || Object.keys(results.references).length) {
      lines.push(
        '',
        `## Turns per channel and the references (${label}${store.channelDataset ? `, ${store.channelDataset.residents.toLocaleString('en')} residents in mid-conversation` : ''})`,
        '',
        "CPU is the server's user + system time per request. Store commits: LMDB write transactions per request (concurrent turns' writes share commits). Off-script: turns whose answer was not the scripted one (of those checked).",
        '',
        '| server | connections | req/s | p50 ms | p99 ms | CPU µs/req | store commits/req | off-script |',
        '|---|---|---|---|---|---|---|---|',
      );
      if (kind === 'embedded') {
        for (const [name, runs] of Object.entries(results.references)) {
          for (const [connections, run] of Object.entries(runs)) lines.push(runRow(REFERENCE_NAMES[name] ?? name, Number(connections), run));
        }
      }
      for (const [channel, runs] of Object.entries(store.channels ?? {}) as [BenchChannel, ChannelRuns][]) {
        for (const [connections, run] of Object.entries(runs)) lines.push(runRow(CHANNEL_NAMES[channel], Number(connections), run));
      }
      if (store.telegramAtDefaultLimits)
        lines.push(
          runRow("CivicLine Telegram, Telegram's default limits (30 msg/s)", store.telegramAtDefaultLimits.connections, store.telegramAtDefaultLimits),
        );
    }

    if (store.channels && Object.keys(results.references).length) {
      lines.push(
        '',
        `### Ratios to the references (${label}, highest connection count)`,
        '',
        "CPU ratio = the reference's CPU per request ÷ CivicLine's (1.0 = as cheap; above 1 = cheaper). Throughput ratio = CivicLine's req/s ÷ the reference's.",
        '',
        `| CivicLine | ${Object.keys(results.references)
          .map((name) => `CPU ratio vs ${name}`)
          .join(' | ')} | ${Object.keys(results.references)
          .map((name) => `req/s ratio vs ${name}`)
          .join(' | ')} |`,
        `|---|${Object.keys(results.references)
          .map(() => '---|')
          .join('')}${Object.keys(results.references)
          .map(() => '---|')
          .join('')}`,
      );
      for (const [channel, runs] of Object.entries(store.channels) as [BenchChannel, ChannelRuns][]) {
        const ours = top(runs);
        const cpu = Object.values(results.references).map((refRuns) => n2(ratio(top(refRuns), ours)));
        const rps = Object.values(results.references).map((refRuns) => {
          const reference = top(refRuns);
          return reference && ours ? n2(ours.requestsPerSecond / reference.requestsPerSecond) : '–';
        });
        lines.push(`| ${channel} | ${cpu.join(' | ')} | ${rps.join(' | ')} |`);
      }
    }

    const sms = top(store.channels?.sms);
    if (sms?.byJourney) {
      lines.push('', `### SMS latency by journey (${label}, ${sms.connections} connections)`, '', '| journey | turns | p50 ms | p99 ms |', '|---|---|---|---|');
      for (const [journey, figures] of Object.entries(sms.byJourney))
        lines.push(`| ${journey} | ${n0(figures.requests)} | ${n1(figures.p50)} | ${n1(figures.p99)} |`);
    }

    if (store.scaling?.length) {
      const first = store.scaling[0] as ScalePoint;
      const firstRun = top(first.runs);
      lines.push(
        '',
        `## How cost grows with stored residents (${label}, SMS turns from ${first.activeResidents.toLocaleString('en')}+ active residents)`,
        '',
        '| stored residents | seeded in | start-up to ready | RSS ready | RSS after run (of it heap) | connections | turns/s | p50 ms | p99 ms | CPU µs/turn | turns/s vs smallest |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
      );
      for (const point of store.scaling) {
        for (const [connections, run] of Object.entries(point.runs)) {
          const base = first.runs[Number(connections)] ?? firstRun;
          lines.push(
            `| ${point.residents.toLocaleString('en')} | ${n1(point.seedSeconds)} s | ${n0(median(point.startupMs))} ms | ${mib(point.rssReadyBytes)} | ${mib(point.rssAfterBytes)} (${mib(point.rssAfterAnonymousBytes)}) | ${connections} | ${n0(run.requestsPerSecond)} | ${n1(run.latencyMs.p50)} | ${n1(run.latencyMs.p99)} | ${n0(run.cpuUsPerRequest)} | ${base ? pct(run.requestsPerSecond / base.requestsPerSecond - 1) : '–'} |`,
          );
        }
      }
      const last = store.scaling.at(-1) as ScalePoint;
      if (last !== first) {
        const perResident = (last.rssAfterBytes - first.rssAfterBytes) / (last.residents - first.residents);
        const perResidentReady = (last.rssReadyBytes - first.rssReadyBytes) / (last.residents - first.residents);
        lines.push(
          '',
          `RSS per stored resident (from ${first.residents.toLocaleString('en')} to ${last.residents.toLocaleString('en')} stored): ${n0(perResidentReady)} bytes at ready, ${n0(perResident)} bytes after the run. ` +
            'Stored residents cost the process no memory of its own: LMDB is memory-mapped, so what a run reads shows in RSS as file pages, shared with the page cache and dropped under memory pressure.',
        );
      }
    }

    if (store.duplicates?.points.length) {
      const d = store.duplicates;
      const first = d.points[0]!;
      lines.push(
        '',
        `## "Already reported?" as stored reports grow (${label}, findNearbyOpenReports, radius ${d.radiusM} m, limit 2, ${n0(d.calls)} calls per size)`,
        '',
        '| stored reports | of them open | seeded in | p50 µs | p99 µs | mean µs | point p50 / p99 µs | text place p50 / p99 µs | offered per call | start-up backfill ms | p50 vs smallest |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
        ...d.points.map(
          (point) =>
            `| ${point.reports.toLocaleString('en')} | ${point.open.toLocaleString('en')} | ${n1(point.seedSeconds)} s | ${n0(point.latencyUs.p50)} | ${n0(point.latencyUs.p99)} | ${n0(point.latencyUs.mean)} | ${n0(point.pointUs.p50)} / ${n0(point.pointUs.p99)} | ${n0(point.placeUs.p50)} / ${n0(point.placeUs.p99)} | ${point.offered.toFixed(2)} | ${n1(point.backfillMs)} | ${pct(point.latencyUs.p50 / first.latencyUs.p50 - 1)} |`,
        ),
      );
    }

    if (store.open311?.points.length) {
      const o = store.open311;
      const first = o.points[0]!;
      const last = o.points.at(-1)!;
      const sizes = o.points.map((point) => point.reports.toLocaleString('en')).join(' → ');
      lines.push(
        '',
        `## Open311 queries as stored reports grow (${label}, in process, ${n0(o.calls)} calls per query and size, ${sizes} reports)`,
        '',
        "Per query: p50 / p95 µs, reports read from the store, requests answered (and what a full scan would answer), at each size; the ratio is the largest size's p50 over the smallest's.",
        '',
        `| query | ${o.points.map((point) => `${point.reports.toLocaleString('en')}: p50 / p95 µs | read | answered (all)`).join(' | ')} | p50 ratio |`,
        `|---|${o.points.map(() => '---|---|---|').join('')}---|`,
        ...Object.keys(first.queries).map((name) => {
          const cells = o.points.map((point) => {
            const q = point.queries[name];
            return q
              ? `${n0(q.latencyUs.p50)} / ${n0(q.latencyUs.p95)} | ${n0(q.reportsRead)} | ${n0(q.returned)}${q.matching === undefined ? '' : ` (${n0(q.matching)})`}`
              : '– | – | –';
          });
          const a = first.queries[name]?.latencyUs.p50;
          const b = last.queries[name]?.latencyUs.p50;
          return `| ${o.queryNames[name] ?? name} | ${cells.join(' | ')} | ${a && b ? `${(b / a).toFixed(2)}×` : '–'} |`;
        }),
        `| poll planning (${n0(first.poll.forwarded)} forwarded open, \`open311Open\` index) | ${o.points.map((point) => `${n0(point.poll.latencyUs.p50)} / ${n0(point.poll.latencyUs.p95)} | ${n0(point.poll.reportsRead)} | ${n0(point.poll.batches)} batches`).join(' | ')} | ${(last.poll.latencyUs.p50 / first.poll.latencyUs.p50).toFixed(2)}× |`,
      );
    }

    if (store.reminders?.points.length) {
      const points = store.reminders.points;
      lines.push(
        '',
        `## Shift reminder planning (${label}, in process, one pass; half the shifts past, half inside the reminder window)`,
        '',
        'A pass: ms, records read, shifts whose sign-ups were read, jobs scheduled. Cold: the first pass; warm: nothing changed since; changed: 1 % of the coming shifts gained a sign-up.',
        '',
        '| shifts / sign-ups (in the window) | cold | warm | changed |',
        '|---|---|---|---|',
        ...points.map((point) => {
          const cell = (p: { ms: number; reads: number; stats: { planned: number; scheduled: number } }) =>
            `${n0(p.ms)} ms, ${n0(p.reads)} read, ${n0(p.stats.planned)} planned, ${n0(p.stats.scheduled)} jobs`;
          return `| ${point.shifts.toLocaleString('en')} / ${point.signups.toLocaleString('en')} (${point.upcomingShifts.toLocaleString('en')} / ${point.upcomingSignups.toLocaleString('en')}) | ${cell(point.cold)} | ${cell(point.warm)} | ${cell(point.changed)} |`;
        }),
      );
    }

    if (store.cityReports?.rounds.length) {
      const c = store.cityReports;
      const ratios = cityReportsCpuRatios(c);
      const side = (run: LoadResult) =>
        `${n0(run.requestsPerSecond)} | ${n1(run.latencyMs.p50)} / ${n1(run.latencyMs.p99)} | ${n1(run.byJourney?.report?.p50)} | ${n0(run.cpuUsPerRequest)} | ${run.offScript === null ? '–' : `${run.offScript} / ${run.checked}`}`;
      lines.push(
        '',
        `## "Already reported?" in the SMS turn: ${c.cityReports.stored.toLocaleString('en')} stored reports vs none (${label}, ${c.residents.toLocaleString('en')} SMS residents, ${c.connections} connections, ${c.rounds.length} alternating rounds of ${n1(c.roundS)} s in one run)`,
        '',
        `The stored reports: ${c.cityReports.open.toLocaleString('en')} open, ${c.cityReports.openAtCorner} of them open reports of the cycle's kind at its corner; written in ${n1(c.cityReports.seconds)} s. ` +
          "Every report of the cycle looks up the open reports at the corner first (and is offered them). Report p50: the latency of the report journey's turns.",
        '',
        '| round | without: turns/s | p50 / p99 ms | report p50 ms | CPU µs/turn | off-script | with: turns/s | p50 / p99 ms | report p50 ms | CPU µs/turn | off-script | CPU with ÷ without |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|',
        ...c.rounds.map((round, index) => `| ${index + 1} | ${side(round.without)} | ${side(round.with)} | ${n2(ratios.rounds[index])} |`),
        '',
        `CPU per turn with ÷ without, median of the rounds: ${ratios.median === null ? 'not measured' : `${n2(ratios.median)} (${pct(ratios.median - 1)})`}. ` +
          `Pooled over every round: ${cityTurnUs(c, 'without')} µs without the stored reports, ${cityTurnUs(c, 'with')} µs with them${ratios.pooled === null ? '' : ` (${pct(ratios.pooled - 1)})`}. ` +
          'The rounds alternate (without, with; with, without; ...) because on a shared machine the cost of a turn drifts from one minute to the next: compare rounds, not runs of other times.',
      );
    }

    if (store.broadcast) {
      const b = store.broadcast;
      lines.push(
        '',
        `## Broadcast fan-out (${label}, ${b.residents.toLocaleString('en')} opted-in residents)`,
        '',
        '| planned deliveries | plan + enqueue | per second | worker CPU µs/delivery | store commits/delivery | worker deliveries/s (one lane per channel) | processed in the timed window |',
        '|---|---|---|---|---|---|---|',
        `| ${b.planned.toLocaleString('en')} | ${n2(b.planSeconds)} s (${n2(b.planCpuSeconds)} s CPU) | ${n0(b.planned / b.planSeconds)} | ${n0(b.worker.cpuUsPerDelivery)} | ${b.worker.storeCommitsPerDelivery === undefined ? '–' : `~${n1(b.worker.storeCommitsPerDelivery)}`} | ${n0(b.worker.deliveriesPerSecond)} | ${b.worker.processed.toLocaleString('en')} in ${n1(b.worker.seconds)} s (${Object.entries(
          b.worker.byChannel,
        )
          .map(([channel, count]) => `${channel} ${count.toLocaleString('en')}`)
          .join(', ')}) |`,
      );
    }

    if (store.profile) {
      const p = store.profile;
      lines.push(
        '',
        `## Where ${PROFILED_TURN[p.channel ?? 'sms']} CPU goes (\`node --cpu-prof\`, ${label}, ${p.run.connections} connections, ${n0(p.run.requestsPerSecond)} turns/s under the profiler)`,
        '',
        '| area | self time | share |',
        '|---|---|---|',
        ...p.byArea.slice(0, 12).map((entry) => `| ${entry.name} | ${n0(entry.selfMs)} ms | ${(entry.share * 100).toFixed(1)}% |`),
        '',
        '| function (self time) | ms | share |',
        '|---|---|---|',
        ...p.topFunctions
          .slice(0, 15)
          .map((entry) => `| \`${entry.name.replaceAll('|', '\\|')}\` | ${n0(entry.selfMs)} | ${(entry.share * 100).toFixed(1)}% |`),
        ...(p.topInclusive
          ? [
              '',
              '| function (inclusive time) | ms | share |',
              '|---|---|---|',
              ...p.topInclusive
                .slice(0, 25)
                .map((entry) => `| \`${entry.name.replaceAll('|', '\\|')}\` | ${n0(entry.selfMs)} | ${(entry.share * 100).toFixed(1)}% |`),
            ]
          : []),
      );
    }
  }

  if (results.nlu) {
    const nlu = results.nlu;
    lines.push(
      '',
      '## NLU',
      '',
      `Trained at start in ${n0(nlu.trainMs)} ms. ${n0(nlu.classificationsPerSecond)} classifications/s on one core; per message p50 ${n0(nlu.latencyUs.p50)} µs, p99 ${n0(nlu.latencyUs.p99)} µs.`,
      '',
      '| language | intent accuracy (in scope) | off-topic rejected | category accuracy | dev messages |',
      '|---|---|---|---|---|',
      ...Object.entries(nlu.accuracy).map(
        ([locale, a]) => `| ${locale} | ${a.intent.toFixed(3)} | ${a.noneRejected.toFixed(3)} | ${a.category.toFixed(3)} | ${a.messages} |`,
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
