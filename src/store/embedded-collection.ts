/**
 * One collection of the embedded store: a versioned LMDB database of records keyed by `_id`,
 * plus its index databases, every write changing the record and its index entries in one
 * conditional, atomic LMDB batch.
 *
 * Concurrency: each stored entry carries an LMDB version that is a unique write stamp (not the
 * `_rev`). A write reads the entry, then commits only `ifVersion(id, stampItRead)`; if another
 * write got in between, it re-reads and decides again. The stamp is unique rather than `_rev`
 * because `_rev` repeats when a record is deleted and inserted again: a writer that read the old
 * record would then pass the check and remove the old record's index entries instead of the new
 * one's, leaving stale entries behind.
 */
import type { Database, RootDatabase } from 'lmdb';
import type { Model } from 'mongoose';
import type { StoredRecord } from '../domain/records.js';
import { COLLECTION_INDEXES, type CollectionName } from './collections.js';
import { ensureIndexBuilt, entriesNotIn, indexEntries, openIndex, rangeOf, type EmbeddedIndex } from './embedded-index.js';
import { checkId, checkQuery, checkRev } from './query.guard.js';
import { validateRecord } from './record.validator.js';
import { withDerivedKeys } from './derived-keys.js';
import type { Collection, Unsaved } from './store.port.js';

/** What every collection of one embedded store shares. */
export interface EmbeddedContext {
  readonly root: RootDatabase;
  /** Returns a write stamp never returned before by this store. */
  readonly stamp: () => number;
  /** Throws when the store has been closed. */
  readonly assertOpen: () => void;
}

/** A collection plus what the store does with it at open. */
export interface EmbeddedCollection<T extends StoredRecord> {
  readonly collection: Collection<T>;
  readonly indexes: readonly EmbeddedIndex[];
  /** Builds the indexes the catalog does not know as up to date (see `ensureIndexBuilt`). */
  buildIndexes(catalog: Database<string, string>): Promise<void>;
}

type Entry<T> = { value: T; version?: number };

// A write retries only after another write to the same record committed, so this bounds only a
// pathological storm of writers; reaching it is a bug worth an exception, not a silent loss.
const MAX_ATTEMPTS = 1_000;

/** Opens one collection of the embedded store. */
export function openEmbeddedCollection<T extends StoredRecord>(context: EmbeddedContext, name: CollectionName, model: Model<T>): EmbeddedCollection<T> {
  const { root, stamp, assertOpen } = context;
  const records = root.openDB<T, string>({ name, useVersions: true });
  const indexes = COLLECTION_INDEXES[name].map((spec) => openIndex(root, name, spec));

  const entriesOf = (record: T) => indexEntries(indexes, record as unknown as Record<string, unknown>);

  /** Queues, inside a conditional block, the writes that turn `before` into `after`. */
  const queueWrites = (id: string, before: T | undefined, after: T | undefined) => {
    const oldEntries = before ? entriesOf(before) : [];
    const newEntries = after ? entriesOf(after) : [];
    for (const { index, key } of entriesNotIn(oldEntries, newEntries)) index.db.remove(key);
    for (const { index, key } of entriesNotIn(newEntries, oldEntries)) index.db.put(key, true);
    if (after) records.put(id, after, stamp());
    else records.remove(id);
  };

  /** Commits `before → after` only if the entry is still the one read (or still absent). */
  const commitIfUnchanged = (id: string, entry: Entry<T> | undefined, after: T | undefined) => {
    assertOpen();
    const writes = () => queueWrites(id, entry?.value, after);
    if (!entry) return records.ifNoExists(id, writes);
    // (No id in the message: ids may be phone numbers.)
    if (entry.version === undefined) throw new Error(`${name}: a stored record has no version`);
    return records.ifVersion(id, entry.version, writes);
  };

  /** Re-reads and retries `attempt` until it commits or decides; see MAX_ATTEMPTS. */
  const untilDecided = async <R>(id: string, attempt: (entry: Entry<T> | undefined) => Promise<R | undefined> | R): Promise<R> => {
    for (let attempts = 0; attempts < MAX_ATTEMPTS; attempts += 1) {
      assertOpen();
      const outcome = await attempt(records.getEntry(id));
      if (outcome !== undefined) return outcome;
    }
    throw new Error(`${name}: gave up writing a record after ${MAX_ATTEMPTS} conflicting writes`);
  };

  // Validated with a placeholder `_rev`; the real one depends on what is stored at commit.
  const validate = async (record: Unsaved<T>) => withDerivedKeys(name, await validateRecord(name, model, { ...record, _rev: 1 }));

  const indexOn = (field: string): EmbeddedIndex => {
    const index = indexes.find((candidate) => candidate.spec.field === field);
    if (!index) throw new Error(`${name}: index ${field} is not open`);
    return index;
  };

  const collection: Collection<T> = {
    async get(id) {
      assertOpen();
      return records.get(checkId(name, id)) ?? null;
    },

    async insert(record) {
      const valid = await validate(record);
      return commitIfUnchanged(valid._id, undefined, valid);
    },

    async upsert(record) {
      const valid = await validate(record);
      return untilDecided(valid._id, async (entry) => {
        const saved = { ...valid, _rev: (entry?.value._rev ?? 0) + 1 };
        return (await commitIfUnchanged(valid._id, entry, saved)) ? saved : undefined;
      });
    },

    async replace(record, expectedRev) {
      checkRev(name, expectedRev);
      const valid = await validate(record);
      const saved = { ...valid, _rev: expectedRev + 1 };
      return untilDecided(valid._id, async (entry) => {
        if (!entry || entry.value._rev !== expectedRev) return false;
        return (await commitIfUnchanged(valid._id, entry, saved)) ? true : undefined;
      });
    },

    async find(where, options) {
      const query = checkQuery(name, model.schema, where, options);
      assertOpen();
      const index = indexOn(query.index.field);
      // One synchronous pass: lmdb-js reads from one snapshot within an event turn, so the
      // index keys and the records they point to are consistent with each other.
      const found: T[] = [];
      for (const key of index.db.getKeys(rangeOf(query.value, query.order, query.limit, query.from))) {
        const record = records.get(key[2]);
        if (record) found.push(record);
      }
      return found;
    },

    async count(where) {
      const query = checkQuery(name, model.schema, where);
      assertOpen();
      return indexOn(query.index.field).db.getKeysCount(rangeOf(query.value, 'asc', undefined));
    },

    async delete(id) {
      checkId(name, id);
      return untilDecided(id, async (entry) => {
        if (!entry) return false;
        return (await commitIfUnchanged(id, entry, undefined)) ? true : undefined;
      });
    },
  };

  const buildIndexes = async (catalog: Database<string, string>) => {
    for (const index of indexes) await ensureIndexBuilt(root, catalog, records, index);
  };

  return { collection, indexes, buildIndexes };
}
