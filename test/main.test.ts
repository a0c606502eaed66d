/**
 * The composition root takes its port before anything else starts: a second process on a busy
 * port stops with one clear line, without opening the store, registering a Telegram webhook or
 * running the broadcast worker (which used to mark the live instance's deliveries interrupted).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const scratch = mkdtempSync(path.join(tmpdir(), 'civicline-main-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function occupyPort(): Promise<Server> {
  return new Promise((resolve) => {
    const busy = createServer().listen(0, () => resolve(busy));
  });
}

/** Runs `src/main.ts` and resolves with its exit code and stderr (or rejects if it keeps running). */
function runMain(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    const stillRunning = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running on a busy port; it logged: ${stdout.slice(0, 500)}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(stillRunning);
      resolve({ code, stderr });
    });
  });
}

describe('main', () => {
  it('stops with one clear line when its port is taken, before anything else starts', async () => {
    const busy = await occupyPort();
    const { port } = busy.address() as { port: number };
    const dataDir = path.join(scratch, 'data');
    try {
      const { code, stderr } = await runMain({ PORT: String(port), DATA_DIR: dataDir });
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(`Cannot listen on port ${port}: it is in use (is CivicLine already running? set PORT to another port)`);
      // The store was never opened: nothing ran that could touch the live instance's data.
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      busy.close();
    }
  }, 30_000);
});
