/**
 * Compaction: the maintenance step after residents deleted their data (`npm run staff -- compact`).
 *
 * A deleted record is gone for every query at once, but its bytes stay on disk until the space
 * is written again. LMDB never overwrites a page in place: a write copies the page, and the old
 * copy goes to the free list, bytes and all, to be reused some day (a deleted phone number was
 * found 21 times in data.mdb after one deletion). Nor does it scrub a page in use: deleting a
 * record from a page moves the others together and leaves the deleted bytes in the page's unused
 * middle, so LMDB's own compacting copy (`mdb_env_copy2` with MDB_CP_COMPACT, which copies pages
 * in use whole) kept a deleted chat id in a transcript page. So the embedded store is compacted
 * offline by copying every record of every database, key and value as stored bytes, into a new
 * environment (whose pages hold nothing but those records: LMDB zeroes a new page's unused
 * space), and the new file replaces the old one. Crash-safe: the copy is written beside the store, flushed to
 * disk, and renamed over data.mdb (atomic); a crash before the rename leaves the old store as it
 * was and a leftover folder the next compaction removes. The service must be stopped: a process
 * with the store open would go on writing to the replaced file, so the compaction refuses while
 * LMDB's reader table shows another process. (Per-resident encryption keys destroyed on deletion
 * would need the same compaction: a destroyed key also lingers in the free pages.)
 *
 * On MongoDB the deleted documents are gone for every query too; `compact` (run on every
 * collection here, `force: true` so it also runs on a replica set's primary) has WiredTiger
 * rewrite the collections' files, and on FerretDB it is a VACUUM FULL of each collection's
 * PostgreSQL table (a new file; the old one is deleted). What stays, on either, until rotated:
 * the journal / PostgreSQL's WAL, a replica set's oplog, and backups.
 *
 * Every deletion of a resident's data leaves the COMPACTION_PENDING marker, which compaction
 * clears, so `npm run staff -- compact --if-needed` does nothing when nothing was deleted.
 */
import { open as openFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import mongoose from 'mongoose';
import { environmentOptions } from './embedded.store.js';
import type { MetaRecord } from '../domain/records.js';

/** The `meta` record that says residents' data was deleted since the last compaction (its value: when first). */
export const COMPACTION_PENDING = 'compaction-pending';

/** The embedded store's data file, in its folder. */
const DATA_FILE = 'data.mdb';
/** Where the compacted copy is written, inside the store's folder (same file system: the rename is atomic). */
const WORK_DIR = 'compacting';

/** What a compaction did. */
export type CompactionOutcome =
  | { kind: 'embedded'; bytesBefore: number; bytesAfter: number; pendingSince: string | null }
  | { kind: 'mongodb'; collections: number; bytesFreed: number; pendingSince: string | null };

/** The store is open in another process (the running service): compaction would lose its writes. */
export class StoreInUseError extends Error {
  constructor(readonly pids: number[]) {
    super(`the embedded store is open in another process (pid ${pids.join(', ')}): stop the service, then compact`);
    this.name = 'StoreInUseError';
  }
}

/** When residents' data was first deleted since the last compaction; null when nothing waits. */
export async function compactionPendingSince(options: { dataDir: string; mongodbUri?: string | undefined }): Promise<string | null> {
  if (options.mongodbUri)
    return withDatabase(options.mongodbUri, async (db) => pendingValue(await db.collection<MetaRecord>('meta').findOne({ _id: COMPACTION_PENDING })));
  return withEnvironment(options.dataDir, (root) => pendingValue(root.openDB<MetaRecord, string>({ name: 'meta', useVersions: true }).get(COMPACTION_PENDING)));
}

/** Compacts the configured store: MongoDB when a URI is given, else the embedded store in `dataDir`. */
export function compactStore(options: { dataDir: string; mongodbUri?: string | undefined }): Promise<CompactionOutcome> {
  return options.mongodbUri ? compactMongoStore(options.mongodbUri) : compactEmbeddedStore(options.dataDir);
}

/**
 * Rewrites the embedded store in `dir` with only the pages in use (see the module comment).
 * Throws StoreInUseError when another process has it open; the store is then left as it was.
 */
export async function compactEmbeddedStore(dir: string): Promise<CompactionOutcome> {
  const file = path.join(dir, DATA_FILE);
  const bytesBefore = (await stat(file)).size; // no store here: ENOENT, said as such
  const work = path.join(dir, WORK_DIR);
  await rm(work, { recursive: true, force: true }); // what a compaction that crashed left
  await mkdir(work);
  const copy = path.join(work, DATA_FILE);
  let pendingSince: string | null;
  try {
    pendingSince = await withEnvironment(dir, async (root) => {
      const pending = pendingValue(root.openDB<MetaRecord, string>({ name: 'meta', useVersions: true }).get(COMPACTION_PENDING));
      refuseIfShared(root);
      await copyRecords(root, work);
      // A process that opened the store while it was copied would lose what it wrote since.
      refuseIfShared(root);
      return pending;
    });
    // The marker is cleared in the copy, which nobody else has open.
    await withEnvironment(work, async (root) => {
      await root.openDB<MetaRecord, string>({ name: 'meta', useVersions: true }).remove(COMPACTION_PENDING);
    });
    await rm(path.join(work, 'lock.mdb'), { force: true });
    await flushToDisk(copy);
    await rename(copy, file);
    await flushToDisk(dir);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { kind: 'embedded', bytesBefore, bytesAfter: (await stat(file)).size, pendingSince };
}

/**
 * Runs `compact` (force) on every collection of the database, GridFS's included, after clearing
 * the pending marker (so its own record is compacted away too).
 */
export async function compactMongoStore(uri: string): Promise<CompactionOutcome> {
  return withDatabase(uri, async (db) => {
    const meta = db.collection<MetaRecord>('meta');
    const pendingSince = pendingValue(await meta.findOne({ _id: COMPACTION_PENDING }));
    await meta.deleteOne({ _id: COMPACTION_PENDING });
    let collections = 0;
    let bytesFreed = 0;
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      if (name.startsWith('system.')) continue;
      const result = await db.command({ compact: name, force: true });
      collections += 1;
      bytesFreed += typeof result['bytesFreed'] === 'number' ? result['bytesFreed'] : 0;
    }
    return { kind: 'mongodb', collections, bytesFreed, pendingSince };
  });
}

/**
 * Throws StoreInUseError unless this process's one reader is the only one in the environment's
 * reader table. Every process with the store open has a reader there (lmdb-js keeps one for
 * reads); readers of processes that died are cleared first. One reader of ours, not just "no
 * other pid": a process in another container may have the same pid as this one.
 */
function refuseIfShared(root: RootDatabase): void {
  root.readerCheck();
  const readers = [...root.readerList().matchAll(/^\s*(\d+)\s+\S+\s+\S+\s*$/gm)].map((row) => Number(row[1]));
  const others = readers.filter((pid) => pid !== process.pid);
  if (others.length > 0 || readers.length > 1) throw new StoreInUseError(others.length > 0 ? [...new Set(others)] : [process.pid]);
}

/** Records copied per write transaction: a bounded number of dirty pages, whatever the store's size. */
const COPY_BATCH = 10_000;

/**
 * Copies every named database of `source`, each record as its stored bytes (versions included:
 * they are part of the value), into a new environment in `dir`, written from empty.
 */
async function copyRecords(source: RootDatabase, dir: string): Promise<void> {
  const target = open({ ...environmentOptions(dir), noSync: false });
  try {
    // The main database's keys are the names of the named ones (the store keeps nothing else there).
    const names = [...source.getKeys()].map(String);
    for (const name of names) {
      const raw = { name, encoding: 'binary', keyEncoding: 'binary' } as const;
      const from = source.openDB<Buffer, Buffer>(raw);
      const to = target.openDB<Buffer, Buffer>(raw);
      let batch: { key: Buffer; value: Buffer }[] = [];
      const flush = async () => {
        const entries = batch;
        batch = [];
        await to.transaction(() => {
          for (const { key, value } of entries) to.putSync(key, value);
        });
      };
      for (const { key, value } of from.getRange()) {
        batch.push({ key: Buffer.from(key), value: Buffer.from(value) });
        if (batch.length >= COPY_BATCH) await flush();
      }
      if (batch.length > 0) await flush();
    }
  } finally {
    await target.close();
  }
}

/** Opens the LMDB environment in `dir` as the store does, runs `use`, and closes it. */
async function withEnvironment<T>(dir: string, use: (root: RootDatabase) => Promise<T> | T): Promise<T> {
  await stat(path.join(dir, DATA_FILE)); // never create a store where there is none
  const root = open(environmentOptions(dir));
  try {
    return await use(root);
  } finally {
    await root.close();
  }
}

/** Connects to the MongoDB database of `uri`, runs `use`, and disconnects. */
async function withDatabase<T>(uri: string, use: (db: mongoose.mongo.Db) => Promise<T>): Promise<T> {
  const connection = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5_000 }).asPromise();
  try {
    if (!connection.db) throw new Error('mongodb: not connected');
    return await use(connection.db);
  } finally {
    await connection.close();
  }
}

function pendingValue(record: Pick<MetaRecord, 'value'> | null | undefined): string | null {
  return typeof record?.value === 'string' ? record.value : null;
}

/** fsync of a file or folder (a folder's, so that a rename in it is on disk too). */
async function flushToDisk(target: string): Promise<void> {
  const handle = await openFile(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
