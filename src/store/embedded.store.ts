/**
 * The embedded store, the durable default when no MongoDB is configured: one LMDB environment
 * in a directory, one database per collection and one per index. See `embedded-collection.ts`
 * for how writes stay atomic and concurrent-safe.
 *
 * lmdb-js facts this relies on (measured): `open()` is instant even with a million records;
 * `put`, `remove`, `ifVersion`, `ifNoExists` and `batch` are atomic and resolve once committed,
 * which survives `kill -9` (LMDB reuses the last committed transaction after a process crash;
 * a power loss may lose the last fraction of a second, as LMDB's `overlappingSync` flushes just
 * after the commit). The async `transaction()` hangs forever on this platform, so it is never
 * used, and nothing here calls `transactionSync`, which blocks the event loop on an fsync.
 * A deleted record's bytes stay in LMDB's free pages until the store is compacted offline
 * (compaction.ts, `npm run staff -- compact`): what a resident's "delete my data" needs.
 */
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { open, type Database, type RootDatabase, type RootDatabaseOptionsWithPath } from 'lmdb';
import mongoose from 'mongoose';
import type { StoredRecord } from '../domain/records.js';
import { COLLECTION_INDEXES, COLLECTION_NAMES, eachCollection, type CollectionName, type RecordOf } from './collections.js';
import { openEmbeddedCollection, type EmbeddedCollection, type EmbeddedContext } from './embedded-collection.js';
import { createMediaFiles, type StoredUploadEntry } from './media-files.js';
import { buildModels, type StoreModels } from './schemas.js';
import type { Collection, Collections, Store } from './store.port.js';

// Collections, their indexes, and the two internal databases, with room to spare. Counted from
// the table, not written down: a fixed 64 was outgrown by one new collection (MDB_DBS_FULL at
// start). The limit is a setting of each open, not of the files, so it can change freely.
const MAX_DATABASES = COLLECTION_NAMES.length + COLLECTION_NAMES.reduce((sum, name) => sum + COLLECTION_INDEXES[name].length, 0) + 64;

// Writes a transaction waits for before it starts early; see openEmbeddedStore.
const TXN_START_THRESHOLD = 1_000_000;

// Models that only validate and cast (see schemas.ts): their connection is never opened, so
// they never talk to a server. Built once per process: each connection stays in mongoose's list.
let validationModels: StoreModels | undefined;

/** Opens (creating if needed) the embedded store in a directory. */
export async function openEmbeddedStore(dir: string): Promise<Store> {
  await mkdir(dir, { recursive: true });
  const root = open(environmentOptions(dir));
  try {
    return await openCollections(root, dir);
  } catch (error) {
    await root.close();
    throw error;
  }
}

/** How the store's LMDB environment in `dir` is opened (compaction.ts opens it the same way). */
export function environmentOptions(dir: string): RootDatabaseOptionsWithPath {
  // noSubdir: false because lmdb-js treats a path with a dot in its last segment ("data.v2")
  // as a file name by default.
  // eventTurnBatching: false because with it lmdb-js (3.5) keeps an internal promise per event
  // turn that nobody can handle: when a commit fails (the disk refuses writes: EPERM, ENOSPC,
  // EIO), that promise's rejection is unhandled and kills the process, where the failed write
  // should only fail its own caller (and /readyz turn red). Our atomic units do not need it:
  // each write is one ifVersion/ifNoExists block or an explicit batch, atomic on their own.
  // test/faults/store-faults.test.ts is the check.
  // txnStartThreshold: without event-turn batching, lmdb-js starts a transaction as soon as more
  // than this many writes wait (default 5), so under load nearly every write became its own
  // commit (each a flush to disk and a trip to the writer thread). So high that it never
  // triggers, writes waiting in one event-loop iteration share one commit (lmdb-js starts it at
  // the next turn): measured with npm run bench, SMS turns at 50 connections went from 1.1-1.6
  // commits and ~1,400 µs of CPU each to 0.1 commits and ~1,000 µs (docs/performance.md).
  // useRecords: false stores each value as a plain MessagePack map. lmdb-js's default (records
  // without a sharedStructuresKey) writes every value with its own inline structure definition,
  // which each read parses again: that was most of the decoding time under load, and plain maps
  // decode faster at the same size (measured: a conversation 10.1 → 7.5 µs, a transcript entry
  // 2.1 → 0.9 µs). Values written either way read back the same, so existing data stays readable.
  // (lmdb-js reads txnStartThreshold, and passes useRecords on to msgpackr, as its README says;
  // its types list neither.)
  const options: RootDatabaseOptionsWithPath & { txnStartThreshold: number; useRecords: boolean } = {
    path: dir,
    noSubdir: false,
    maxDbs: MAX_DATABASES,
    eventTurnBatching: false,
    txnStartThreshold: TXN_START_THRESHOLD,
    useRecords: false,
  };
  return options;
}

/** Opens every collection and index in an open environment, building indexes as needed. */
async function openCollections(root: RootDatabase, dir: string): Promise<Store> {
  const catalog = root.openDB<string, string>({ name: '_catalog' });
  const health = root.openDB<number, string>({ name: '_health' });
  validationModels ??= buildModels(mongoose.createConnection());
  const models = validationModels;

  let closed = false;
  let lastStamp = 0;
  const context: EmbeddedContext = {
    root,
    // Microseconds since the epoch, strictly increasing: unique for this store's lifetime and,
    // unless the clock goes back by more than a restart takes, across restarts. Exact in a
    // double until the year 2255.
    stamp: () => (lastStamp = Math.max(lastStamp + 1, Date.now() * 1000)),
    assertOpen: () => {
      if (closed) throw new Error('embedded store: closed');
    },
  };

  const opened: Pick<EmbeddedCollection<StoredRecord>, 'indexes' | 'buildIndexes'>[] = [];
  const openOne = <K extends CollectionName>(name: K): Collection<RecordOf<K>> => {
    const collection = openEmbeddedCollection<RecordOf<K>>(context, name, models[name]);
    opened.push(collection);
    return collection.collection;
  };
  const collections: Collections = eachCollection<Collections>(openOne);

  const declared = new Set(opened.flatMap((each) => each.indexes.map((index) => index.name)));
  await forgetUndeclaredIndexes(catalog, declared);
  for (const each of opened) await each.buildIndexes(catalog);

  return {
    kind: 'embedded',
    ...collections,
    // The photos are files; their uploads' ledger is a database of this environment.
    media: createMediaFiles(path.join(dir, 'media'), root.openDB<StoredUploadEntry, string>({ name: '_media' })),

    async ping() {
      context.assertOpen();
      // Writes to an open LMDB file keep working after its directory is made read-only or
      // removed, so the directory is checked too (the next restart would fail there).
      await access(dir, constants.W_OK);
      const token = context.stamp();
      await health.put('ping', token);
      // `>=`: a concurrent ping may have written a later stamp after ours.
      if (!((health.get('ping') ?? 0) >= token)) throw new Error('embedded store: ping not read back');
    },

    async close() {
      if (closed) return;
      closed = true;
      // Let writes already queued commit and flush before the environment goes away.
      await root.flushed;
      await root.close();
    },
  };
}

/**
 * Drops the catalog marks of indexes no longer declared, so that declaring one again later
 * rebuilds it rather than trusting entries nobody kept up to date in between.
 */
async function forgetUndeclaredIndexes(catalog: Database<string, string>, declared: ReadonlySet<string>): Promise<void> {
  const stale = [...catalog.getKeys()].filter((name) => !declared.has(name));
  await Promise.all(stale.map((name) => catalog.remove(name)));
}
