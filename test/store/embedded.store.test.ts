/**
 * What only the embedded store must do, beyond the contract: survive `kill -9` with every
 * acknowledged write, open any directory name, refuse use after close, and rebuild an index its
 * catalog does not vouch for.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../../src/store/embedded.store.js';
import { aReport, at } from './store-records.fixture.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KILL_WRITER = fileURLToPath(new URL('./kill-writer.child.ts', import.meta.url));

/** Runs the writer child until it has acknowledged `writes` writes, then SIGKILLs it. */
function writeThenKill(dir: string, writes: number): Promise<{ lines: string[]; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', KILL_WRITER, dir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      lines.push(...complete);
      // Killed while writing: more writes are in flight at this moment.
      if (lines.length >= writes) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code}: ${stderr}`));
      else resolve({ lines, signal });
    });
  });
}

describe('embedded store', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'civicline-embedded-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write when the process is killed with SIGKILL', async () => {
    const { lines, signal } = await writeThenKill(dir, 300);
    expect(signal).toBe('SIGKILL');
    expect(lines.length).toBeGreaterThanOrEqual(300);

    const store = await openEmbeddedStore(dir);
    try {
      for (const line of lines) {
        const [id] = line.split(' ');
        expect(await store.transcripts.get(id!), id).not.toBeNull();
      }
      const lastRev = Number(lines.at(-1)!.split(' ')[1]);
      const conversation = await store.conversations.get('telegram:kill');
      expect(conversation!._rev).toBeGreaterThanOrEqual(lastRev);
      // The index kept up: every stored entry is found through it, in order.
      const found = await store.transcripts.find({ field: 'conversationId', equals: 'telegram:kill' });
      expect(found.length).toBeGreaterThanOrEqual(lines.length);
      expect(found.map((entry) => entry.seq)).toEqual(found.map((_, i) => i));
      expect(await store.transcripts.count({ field: 'conversationId', equals: 'telegram:kill' })).toBe(found.length);
    } finally {
      await store.close();
    }
  });

  it('opens a directory whose name has a dot, as a directory', async () => {
    const dotted = join(dir, 'data.v2');
    const store = await openEmbeddedStore(dotted);
    await store.reports.insert(aReport('R-1'));
    await store.close();
    const lmdb = open({ path: dotted, noSubdir: false, readOnly: true });
    expect(lmdb.openDB({ name: 'reports', useVersions: true }).get('R-1')).toBeDefined();
    await lmdb.close();
  });

  it('stores values as plain MessagePack maps, and still reads values written as records', async () => {
    // As lmdb-js writes by default (msgpackr records, each with its inline structure), before
    // the store switched to plain maps: such data must read back as it was.
    const before = aReport('R-OLD');
    const lmdb = open({ path: dir, noSubdir: false, maxDbs: 64 });
    const reports = lmdb.openDB<unknown, string>({ name: 'reports', useVersions: true });
    await reports.put('R-OLD', { ...before, _rev: 1 }, 1);
    expect(reports.getBinary('R-OLD')?.[0]).toBe(0xd4); // a record extension
    await lmdb.close();

    const store = await openEmbeddedStore(dir);
    try {
      expect(await store.reports.get('R-OLD')).toEqual({ ...before, _rev: 1 });
      await store.reports.insert(aReport('R-NEW'));
    } finally {
      await store.close();
    }
    const raw = open({ path: dir, noSubdir: false, maxDbs: 64, readOnly: true });
    const first = raw.openDB({ name: 'reports', useVersions: true }).getBinary('R-NEW')?.[0] ?? 0;
    await raw.close();
    // fixmap (0x80-0x8f) or map16: no record definition to parse again on every read.
    expect((first >= 0x80 && first <= 0x8f) || first === 0xde).toBe(true);
  });

  it('refuses every operation after close', async () => {
    const store = await openEmbeddedStore(dir);
    await store.close();
    await store.close(); // closing twice is harmless
    await expect(store.ping()).rejects.toThrow(/closed/);
    await expect(store.reports.get('R-1')).rejects.toThrow(/closed/);
    await expect(store.reports.insert(aReport('R-1'))).rejects.toThrow(/closed/);
    await expect(store.reports.find({ field: 'statusGroup', equals: 'open' })).rejects.toThrow(/closed/);
  });

  it('fails ping when its directory is gone', async () => {
    const inside = join(dir, 'data');
    const store = await openEmbeddedStore(inside);
    await expect(store.ping()).resolves.toBeUndefined();
    // LMDB would go on writing to the unlinked file; the next restart would find nothing.
    await rm(inside, { recursive: true, force: true });
    await expect(store.ping()).rejects.toThrow(/ENOENT/);
    await store.close();
  });

  it('rebuilds an index whose catalog mark is missing, dropping stale entries', async () => {
    const store = await openEmbeddedStore(dir);
    await store.reports.insert(aReport('R-1', { createdAt: at(2) }));
    await store.reports.insert(aReport('R-2', { createdAt: at(1), statusGroup: 'fixed' }));
    await store.close();

    // As if the index had been declared after the data was written, with a leftover entry.
    const lmdb = open({ path: dir, noSubdir: false, maxDbs: 64 });
    const index = lmdb.openDB({ name: 'reports.statusGroup' });
    await index.clearAsync();
    await index.put(['open', 0, 'R-GONE'], true);
    await lmdb.openDB({ name: '_catalog' }).remove('reports.statusGroup');
    await lmdb.close();

    const reopened = await openEmbeddedStore(dir);
    try {
      expect((await reopened.reports.find({ field: 'statusGroup', equals: 'open' })).map((r) => r._id)).toEqual(['R-1']);
      expect(await reopened.reports.count({ field: 'statusGroup', equals: 'fixed' })).toBe(1);
    } finally {
      await reopened.close();
    }
  });
});
