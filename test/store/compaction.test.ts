/**
 * Compacting the embedded store (the maintenance step after residents deleted their data): what
 * was deleted leaves the file, everything else stays readable through every index, the store
 * takes writes after, and it never runs under a process that has the store open.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compactEmbeddedStore, compactionPendingSince, COMPACTION_PENDING, StoreInUseError } from '../../src/store/compaction.js';
import { openEmbeddedStore } from '../../src/store/embedded.store.js';
import { aReport, aTranscriptEntry, at } from './store-records.fixture.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KILL_WRITER = fileURLToPath(new URL('./kill-writer.child.ts', import.meta.url));

describe('embedded store compaction', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'civicline-compaction-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('drops what was deleted from the file, and keeps the rest readable and writable', async () => {
    const store = await openEmbeddedStore(dir);
    for (let i = 0; i < 400; i++) {
      await store.reports.insert(aReport(`R-${String(i).padStart(5, '0')}`, { residentAddress: `sms:+1555${i % 2 ? 'KEEP' : 'GONE'}`, createdAt: at(i) }));
      await store.transcripts.insert(aTranscriptEntry(`sms:+1555${i % 2 ? 'KEEP' : 'GONE'}`, i, { text: i % 2 ? 'kept words' : 'qwzzyx deleted words' }));
    }
    for (const report of await store.reports.find({ field: 'residentAddress', equals: 'sms:+1555GONE' }, { limit: 1000 }))
      await store.reports.delete(report._id);
    for (const entry of await store.transcripts.find({ field: 'conversationId', equals: 'sms:+1555GONE' }, { limit: 1000 }))
      await store.transcripts.delete(entry._id);
    await store.meta.upsert({ _id: COMPACTION_PENDING, value: '2026-11-20T10:00:00.000Z' });
    await store.close();
    expect(readFileSync(join(dir, 'data.mdb')).includes('qwzzyx')).toBe(true);
    expect(await compactionPendingSince({ dataDir: dir })).toBe('2026-11-20T10:00:00.000Z');

    const outcome = await compactEmbeddedStore(dir);
    expect(outcome).toMatchObject({ kind: 'embedded', pendingSince: '2026-11-20T10:00:00.000Z' });
    if (outcome.kind === 'embedded') expect(outcome.bytesAfter).toBeLessThan(outcome.bytesBefore);
    expect(readFileSync(join(dir, 'data.mdb')).includes('qwzzyx')).toBe(false);
    expect(readFileSync(join(dir, 'data.mdb')).includes('GONE')).toBe(false);
    expect(existsSync(join(dir, 'compacting'))).toBe(false);
    expect(await compactionPendingSince({ dataDir: dir })).toBeNull();

    const reopened = await openEmbeddedStore(dir);
    try {
      expect(await reopened.reports.count({ field: 'residentAddress', equals: 'sms:+1555KEEP' })).toBe(200);
      expect(await reopened.reports.count({ field: 'residentAddress', equals: 'sms:+1555GONE' })).toBe(0);
      const newest = await reopened.reports.find({ field: 'residentAddress', equals: 'sms:+1555KEEP' }, { order: 'desc', limit: 1 });
      expect(newest.map((report) => report._id)).toEqual(['R-00399']);
      expect(await reopened.transcripts.count({ field: 'conversationId', equals: 'sms:+1555KEEP' })).toBe(200);
      // Writes go on, revision checks included.
      const kept = (await reopened.reports.get('R-00001'))!;
      expect(await reopened.reports.replace({ ...kept, status: 'fixed' }, kept._rev)).toBe(true);
      expect(await reopened.reports.insert(aReport('R-NEW01'))).toBe(true);
    } finally {
      await reopened.close();
    }
    const again = await openEmbeddedStore(dir);
    try {
      expect((await again.reports.get('R-00001'))?.status).toBe('fixed');
      expect(await again.reports.get('R-NEW01')).not.toBeNull();
    } finally {
      await again.close();
    }
  });

  it('removes what a compaction that died left behind, and makes no store where there is none', async () => {
    await (await openEmbeddedStore(dir)).close();
    await mkdir(join(dir, 'compacting'));
    await writeFile(join(dir, 'compacting', 'data.mdb'), 'half a copy');
    await compactEmbeddedStore(dir);
    expect(existsSync(join(dir, 'compacting'))).toBe(false);

    const empty = join(dir, 'nothing-here');
    await mkdir(empty);
    await expect(compactEmbeddedStore(empty)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(existsSync(join(empty, 'data.mdb'))).toBe(false);
  });

  it('refuses while another process has the store open, and runs once it was killed', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', KILL_WRITER, dir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // It has written (so it has the store open) once it prints.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    try {
      const refused = await compactEmbeddedStore(dir).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(StoreInUseError);
      expect((refused as StoreInUseError).pids).toEqual([child.pid]);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    // Its reader is left in LMDB's table by the kill, and cleared as stale: no restart needed.
    await compactEmbeddedStore(dir);
    const store = await openEmbeddedStore(dir);
    try {
      expect(await store.conversations.get('telegram:kill')).not.toBeNull();
    } finally {
      await store.close();
    }
  });

  it('refuses while this process has the store open too', async () => {
    const store = await openEmbeddedStore(dir);
    try {
      await store.meta.upsert({ _id: 'x', value: 1 });
      await expect(compactEmbeddedStore(dir)).rejects.toBeInstanceOf(StoreInUseError);
      expect(await store.meta.get('x')).toMatchObject({ value: 1 });
    } finally {
      await store.close();
    }
  });
});
