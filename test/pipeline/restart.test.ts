/**
 * A restart resumes every conversation where it was, and `kill -9` loses no message that was
 * acknowledged: the real service runs as a child process, is killed without warning in the
 * middle of a report, and started again on the same data folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { postJson } from '../support/http.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-restart-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Starts the service and resolves once /readyz says ready. */
async function startService(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', CITY_NAME: 'Springfield' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('service did not become ready');
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('restart', () => {
  it('continues a conversation after kill -9, with every acknowledged message kept', async () => {
    const port = await freePort();
    let child = await startService(port);
    const base = `http://127.0.0.1:${port}`;
    const conversationId = (await postJson(`${base}/chat/api/session`, {})).body.conversationId as string;
    const say = (text: string) => postJson(`${base}/chat/api/messages`, { conversationId, messageId: randomUUID().replaceAll('-', ''), text });

    expect((await say('report a problem')).status).toBe(200);
    expect((await say('pothole')).body.replies[0].text).toContain('Where is it?');
    await killHard(child);

    child = await startService(port);
    const afterRestart = await say('Main St and 2nd Ave');
    expect(afterRestart.body.replies[0].text).toContain('Describe the problem');
    const history: any = (await postJson(`${base}/chat/api/history`, { conversationId })).body;
    const inbound = history.entries.filter((e: { direction: string }) => e.direction === 'in').map((e: { text: string }) => e.text);
    expect(inbound).toEqual(['report a problem', 'pothole', 'Main St and 2nd Ave']);

    // SIGTERM is a graceful stop: the process finishes and exits cleanly.
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});
