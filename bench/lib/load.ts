/**
 * One load run: autocannon (through its API, in this process, on the harness core) sends the
 * requests a source hands out, one at a time per connection, for a fixed duration; the server's
 * CPU time is read from /proc before and after, once the server has settled.
 */
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon';
import { cpuSecondsOfProcessesNamed, cpuTimes, memory, settle } from './processes.js';

/** One HTTP request to send. */
export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Checks the response to this request: false when the turn did not go as scripted. */
  check?: (status: number, body: string) => boolean;
  /** A label to break latency down by (the journey a turn belongs to). */
  journey?: string;
}

/** Hands out requests in order (shared by every connection, so the order is global). */
export interface LoadSource {
  next(): LoadRequest;
  /** Turns checked elsewhere (Telegram's replies reach the fake Bot API, not the response). */
  checked?(): { checked: number; offScript: number };
}

/** What one run measured. */
export interface LoadResult {
  connections: number;
  durationS: number;
  /** Responses received. */
  requests: number;
  /** Requests sent (a few are still in flight when the run ends; the server finishes them). */
  sent: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Turns whose answer did not match the script (or null when nothing was checked). */
  offScript: number | null;
  checked: number;
  /** Server CPU time (user + system) during the run, and per request sent. */
  serverCpuS: number | null;
  cpuUsPerRequest: number | null;
  /** The kernel's part of it (system time: syscalls, page writes, disk flushes). */
  systemCpuShare: number | null;
  /** The database's own CPU per request (processes named in BENCH_DATABASE_PROCESSES), when set. */
  databaseCpuUsPerRequest?: number;
  /** Server RSS after the run, in bytes, and its anonymous (heap) and file-backed (LMDB map) parts. */
  serverRssBytes: number | null;
  serverRssAnonymousBytes: number | null;
  serverRssFileBytes: number | null;
  /** Embedded store: LMDB write transactions (commits) per request sent. */
  storeCommitsPerRequest?: number;
  /** Latency per request label (journey), when the source labels its requests. */
  byJourney?: Record<string, { requests: number; p50: number; p99: number }>;
}

/** Runs a load for `durationS` seconds with `connections` connections. */
export async function runLoad(options: {
  url: string;
  serverPid: number;
  source: LoadSource;
  connections: number;
  durationS: number;
  /** Command names of the database's processes, whose CPU is measured too (`ferretdb,postgres`). */
  databaseProcesses?: readonly string[];
}): Promise<LoadResult> {
  const { source, serverPid } = options;
  const latencies: number[] = [];
  const labelled = new Map<string, number[]>();
  // onResponse runs just before autocannon's 'response' event for the same response.
  let lastLabel: string | undefined;
  let checked = 0;
  let offScript = 0;
  const before = source.checked?.() ?? { checked: 0, offScript: 0 };

  const request: AutocannonRequest = {
    method: 'POST',
    path: '/',
    setupRequest(_template, context) {
      const next = source.next();
      context.check = next.check;
      context.label = next.journey;
      return { method: next.method, path: next.path, headers: next.headers, ...(next.body !== undefined ? { body: next.body } : {}) };
    },
    onResponse(status, body, context) {
      lastLabel = context.label as string | undefined;
      const check = context.check as LoadRequest['check'];
      if (!check) return;
      checked += 1;
      if (!check(status, body)) offScript += 1;
    },
  };

  await settle(serverPid);
  const cpuBefore = cpuTimes(serverPid);
  const databaseBefore = cpuSecondsOfProcessesNamed(options.databaseProcesses ?? []);
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      { url: options.url, connections: options.connections, duration: options.durationS, timeout: 30, requests: [request] },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
      if (lastLabel === undefined) return;
      let list = labelled.get(lastLabel);
      if (!list) labelled.set(lastLabel, (list = []));
      list.push(responseTime);
      lastLabel = undefined;
    });
  });
  await settle(serverPid);
  const cpuAfter = cpuTimes(serverPid);
  const databaseAfter = cpuSecondsOfProcessesNamed(options.databaseProcesses ?? []);

  const memoryAfter = memory(serverPid);
  const after = source.checked?.();
  if (after) {
    checked += after.checked - before.checked;
    offScript += after.offScript - before.offScript;
  }
  const serverCpuS = cpuBefore === null || cpuAfter === null ? null : cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system;
  const systemCpuS = cpuBefore === null || cpuAfter === null ? null : cpuAfter.system - cpuBefore.system;
  const sent = result.requests.sent;
  return {
    connections: options.connections,
    durationS: result.duration,
    requests: result.requests.total,
    sent,
    requestsPerSecond: result.requests.total / result.duration,
    latencyMs: percentiles(latencies),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    offScript: checked > 0 ? offScript : null,
    checked,
    serverCpuS,
    cpuUsPerRequest: serverCpuS === null || sent === 0 ? null : (serverCpuS / sent) * 1e6,
    systemCpuShare: serverCpuS && systemCpuS !== null ? systemCpuS / serverCpuS : null,
    ...(databaseBefore !== null && databaseAfter !== null && sent > 0 ? { databaseCpuUsPerRequest: ((databaseAfter - databaseBefore) / sent) * 1e6 } : {}),
    serverRssBytes: memoryAfter?.rss ?? null,
    serverRssAnonymousBytes: memoryAfter?.anonymous ?? null,
    serverRssFileBytes: memoryAfter?.file ?? null,
    ...(labelled.size > 0
      ? {
          byJourney: Object.fromEntries(
            [...labelled].map(([label, values]) => {
              const { p50, p99 } = percentiles(values);
              return [label, { requests: values.length, p50, p99 }];
            }),
          ),
        }
      : {}),
  };
}

/** Exact percentiles of a list of latencies (ms). */
export function percentiles(values: number[]): LoadResult['latencyMs'] {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] as number, mean };
}
