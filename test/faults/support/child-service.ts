/**
 * The real service as a child process (`src/main.ts` through tsx), as it runs in production:
 * started on a data folder, killed without warning (`kill -9`) or stopped with SIGTERM. Its
 * output (the JSON log at LOG_LEVEL, `error` by default, and stderr) is kept, so a crash or a 5xx
 * says why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Every child still running: killed if this process exits first (a failed or timed-out test leaves none behind). */
const living = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of living) child.kill('SIGKILL');
});

/** A running service process. */
export interface ChildService {
  url: string;
  child: ChildProcess;
  /** The last of what the process wrote (log lines and stderr). */
  stderr(): string;
  /** Resolves with the exit code or signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: no shutdown, no flush, nothing. */
  kill9(): Promise<void>;
  /** SIGTERM: the graceful stop; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** A TCP port free right now on 127.0.0.1 (the service listens on all interfaces). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

/**
 * Spawns the service with `env` on top of a clean base (no MONGODB_URI from the caller's
 * environment unless given, so a test means the store it names). Resolves once the process is
 * spawned; `waitReady` waits for /readyz.
 */
export function spawnService(env: Record<string, string>, port: number): ChildService {
  const { MONGODB_URI: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...inherited, LOG_LEVEL: 'error', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const keep = (chunk: string) => {
    // Bounded (the tail is kept): a process that logs an error per request must not fill the test's memory.
    stderr = (stderr + chunk).slice(-100_000);
  };
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  living.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      living.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stderr: () => stderr,
    exited,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return (await exited).code;
    },
  };
}

/** Waits until /readyz answers 200; throws (with the child's stderr) if it exits or takes too long. */
export async function waitReady(service: ChildService, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void service.exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error(`the service exited while starting:\n${service.stderr()}`);
    try {
      const response = await fetch(`${service.url}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  throw new Error(`the service was not ready within ${timeoutMs} ms:\n${service.stderr()}`);
}

/** Starts the service and waits until it is ready. */
export async function startService(env: Record<string, string>, port: number): Promise<ChildService> {
  const service = spawnService(env, port);
  await waitReady(service);
  return service;
}
