/**
 * Child processes of the benchmark: servers pinned to one core (`taskset -c 1`) while the load
 * generator keeps the other, and what the kernel says they cost (CPU time and RSS from /proc).
 *
 * CPU time per request is the figure noise disturbs least: it does not depend on how fast the
 * load generator is or on what else the machine does, only on the work the server did.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** The core servers run on, and the one the harness (load generator, fakes) keeps. */
export const SERVER_CORE = 1;
export const HARNESS_CORE = 0;

/** Whether pinning is possible here: taskset on Linux with at least two cores. */
export function canPin(): boolean {
  return process.platform === 'linux' && availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;
}

/** Pins this process (every thread of it) to the harness core. */
export function pinSelf(): boolean {
  if (!canPin()) return false;
  return spawnSync('taskset', ['-a', '-cp', String(HARNESS_CORE), String(process.pid)]).status === 0;
}

const CLOCK_TICKS_PER_SECOND = clockTicks();

function clockTicks(): number {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(out.stdout?.trim());
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
}

/** A process's CPU time so far (user + system, all its threads), in seconds; null if unreadable. */
export function cpuSeconds(pid: number): number | null {
  const times = cpuTimes(pid);
  return times ? times.user + times.system : null;
}

/** A process's user and system CPU time so far (all its threads), in seconds; null if unreadable. */
export function cpuTimes(pid: number): { user: number; system: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, i.e. 11 and 12 after the name.
    return { user: Number(fields[11]) / CLOCK_TICKS_PER_SECOND, system: Number(fields[12]) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/**
 * The CPU time (user + system, seconds) of every process whose command name is one of `names`:
 * the database's own cost (`ferretdb,postgres`, or `mongod`), which runs outside the service.
 * Null when /proc cannot be read.
 */
export function cpuSecondsOfProcessesNamed(names: readonly string[]): number | null {
  if (names.length === 0 || !existsSync('/proc')) return null;
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!names.includes(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) continue;
    } catch {
      continue; // gone meanwhile
    }
    const times = cpuTimes(Number(entry));
    if (times) total += times.user + times.system;
  }
  return total;
}

/** A process's resident set size in bytes; null if unreadable. */
export function rssBytes(pid: number): number | null {
  return memory(pid)?.rss ?? null;
}

/**
 * A process's resident memory: all of it, its anonymous part (the JavaScript heap, buffers,
 * native allocations) and its file-backed part (here: LMDB's memory-mapped data file, pages
 * the kernel can drop and read again; shared with the page cache).
 */
export function memory(pid: number): { rss: number; anonymous: number; file: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
    const rss = kb('VmRSS');
    return Number.isNaN(rss) ? null : { rss, anonymous: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
  } catch {
    return null;
  }
}

/** A running server child. */
export interface ServerProcess {
  name: string;
  pid: number;
  url: string;
  /** From spawn to the first successful ready check, in ms. */
  readyMs: number;
  child: ChildProcess;
  /** What it wrote to stderr (kept short), for error messages. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves when it exited. */
  stop(): Promise<void>;
}

/** How to start one server. */
export interface ServerSpec {
  name: string;
  /** The script and its arguments, run with this node. */
  args: string[];
  /** Node options before the script (e.g. --cpu-prof). */
  nodeArgs?: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  /** A GET path that answers 200 once the server is ready. */
  readyPath: string;
  pin: boolean;
  /** Working folder: not the project's, so no `.env` there is read by the service. */
  cwd?: string;
  timeoutMs?: number;
}

/** Starts a server as a child process (pinned to the server core) and waits until it is ready. */
export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const nodeArgs = [...(spec.nodeArgs ?? []), ...spec.args];
  const command = spec.pin ? 'taskset' : process.execPath;
  const args = spec.pin ? ['-c', String(SERVER_CORE), process.execPath, ...nodeArgs] : nodeArgs;
  const started = performance.now();
  const child = spawn(command, args, { env: spec.env, stdio: ['ignore', 'ignore', 'pipe'], ...(spec.cwd ? { cwd: spec.cwd } : {}) });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const url = `http://127.0.0.1:${spec.port}`;
  const deadline = started + (spec.timeoutMs ?? 120_000);
  for (;;) {
    if (exited) throw new Error(`${spec.name} exited before it was ready:\n${stderr}`);
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${spec.name} was not ready in time:\n${stderr}`);
    }
    if (await answers(`${url}${spec.readyPath}`)) break;
    await sleep(10);
  }
  const readyMs = performance.now() - started;
  if (child.pid === undefined) throw new Error(`${spec.name} has no pid`);
  return {
    name: spec.name,
    pid: child.pid,
    url,
    readyMs,
    child,
    stderr: () => stderr,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Runs a script to completion as a pinned child and returns its stdout (throws on failure). */
export async function runChild(args: string[], options: { env?: NodeJS.ProcessEnv; pin: boolean; nodeArgs?: string[]; cwd?: string }): Promise<string> {
  const nodeArgs = [...(options.nodeArgs ?? []), ...args];
  const command = options.pin ? 'taskset' : process.execPath;
  const argv = options.pin ? ['-c', String(SERVER_CORE), process.execPath, ...nodeArgs] : nodeArgs;
  const child = spawn(command, argv, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], ...(options.cwd ? { cwd: options.cwd } : {}) });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${args.join(' ')} failed (${code}):\n${stderr}`);
  return stdout;
}

/**
 * Waits until a process stops using CPU (the requests a load run left in flight are done), so
 * the CPU read after a run covers all the work the run caused and nothing else.
 */
export async function settle(pid: number, maxMs = 3000): Promise<void> {
  const until = performance.now() + maxMs;
  let last = cpuSeconds(pid) ?? 0;
  while (performance.now() < until) {
    await sleep(100);
    const now = cpuSeconds(pid) ?? 0;
    // Less than one clock tick (10 ms) of CPU in 100 ms: idle.
    if (now - last < 0.005) return;
    last = now;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether /proc is there to read CPU and memory from. */
export function canMeasureProcesses(): boolean {
  return existsSync(`/proc/${process.pid}/stat`);
}
