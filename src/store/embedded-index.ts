/**
 * The embedded store's secondary indexes: one LMDB database per declared index whose keys are
 * `[fieldValue, sortValue, _id]` and whose values are empty. lmdb-js orders array keys element by
 * element, so "equal on field, ordered by sortBy then _id" is one key range, read forwards or
 * backwards, and a count is a count of keys.
 */
import type { Database, Key, RootDatabase } from 'lmdb';
import type { AnyIndexSpec, CollectionName } from './collections.js';

/** A primitive as stored in a key. Dates become epoch milliseconds. */
type KeyPart = string | number | boolean;

// The sort part of a record without a sort value (or of an index without `sortBy`). lmdb-js
// orders `false` before every number and string, as MongoDB orders a missing field first.
const NO_SORT_VALUE = false;

/** An index key: the indexed value, the sort value, and the record's `_id` (unique, tie-breaker). */
export type IndexKey = [value: KeyPart, sort: KeyPart, id: string];

/** One open index: its spec, its database, and its name in the catalog. */
export interface EmbeddedIndex {
  readonly name: string;
  readonly spec: AnyIndexSpec;
  readonly db: Database<true, IndexKey>;
}

/** An index entry a write adds or removes. */
export interface IndexEntry {
  readonly index: EmbeddedIndex;
  readonly key: IndexKey;
}

// Greater than every element lmdb-js encodes (it writes typed bytes below 0xff), so
// `[value, ABOVE_ALL]` ends the range of every key starting with `value`. This is
// ordered-binary's MAXIMUM_KEY, defined here because ordered-binary is not our dependency.
const ABOVE_ALL = new Uint8Array([0xff]);

// The catalog records how each index was built; bump the format when the key layout changes so
// every index is rebuilt on the next open.
const KEY_FORMAT = 1;

/** Opens (creating if needed) the database of one index of a collection. */
export function openIndex(root: RootDatabase, collection: CollectionName, spec: AnyIndexSpec): EmbeddedIndex {
  const name = `${collection}.${spec.field}`;
  return { name, spec, db: root.openDB<true, IndexKey>({ name }) };
}

/**
 * The entries a record has in the given indexes; none where the indexed field is absent. An
 * array field has one entry per distinct element, as a MongoDB multikey index does, so equality
 * on it means "has this element".
 */
export function indexEntries(indexes: readonly EmbeddedIndex[], record: Record<string, unknown>): IndexEntry[] {
  const entries: IndexEntry[] = [];
  for (const index of indexes) {
    const field = record[index.spec.field];
    const values = Array.isArray(field) ? [...new Set(field.map(keyPart))] : [keyPart(field)];
    const sort = index.spec.sortBy === undefined ? undefined : keyPart(record[index.spec.sortBy]);
    for (const value of values) {
      // An absent field never equals a where-value, as in MongoDB, so it needs no entry.
      if (value === undefined) continue;
      entries.push({ index, key: [value, sort ?? NO_SORT_VALUE, String(record['_id'])] });
    }
  }
  return entries;
}

/** The entries of `before` missing from `after`, i.e. what a write must remove. */
export function entriesNotIn(before: IndexEntry[], after: IndexEntry[]): IndexEntry[] {
  const kept = new Set(after.map(entryId));
  return before.filter((entry) => !kept.has(entryId(entry)));
}

/** The key range of the records whose indexed field equals `value`, in the wanted order. */
export function rangeOf(
  value: string | number | boolean,
  order: 'asc' | 'desc',
  limit: number | undefined,
  from?: Date | number | string,
): { start: Key; end: Key; reverse: boolean; limit?: number } {
  const edge = from === undefined ? undefined : keyPart(from);
  // Without a start, the whole run of `value`; with one, from it in the order's direction, and
  // never the records without a sort value (keyed `false`, below every number and string).
  const low: Key = edge === undefined ? [value] : order === 'asc' ? [value, edge] : [value, NO_SORT_VALUE, ABOVE_ALL];
  const high: Key = edge === undefined || order === 'asc' ? [value, ABOVE_ALL] : [value, edge, ABOVE_ALL];
  const range = order === 'asc' ? { start: low, end: high, reverse: false } : { start: high, end: low, reverse: true };
  return limit === undefined ? range : { ...range, limit };
}

/**
 * Makes an index match its records when it is new, or was built for another sort field or key
 * format: so that declaring an index in `collections.ts` works on an existing data directory.
 * Runs at open, before the store is used, in one atomic batch with the catalog mark.
 */
export async function ensureIndexBuilt<T extends object>(
  root: RootDatabase,
  catalog: Database<string, string>,
  records: Database<T, string>,
  index: EmbeddedIndex,
): Promise<void> {
  const mark = `${KEY_FORMAT}:${index.spec.sortBy ?? ''}`;
  if (catalog.get(index.name) === mark) return;
  await root.batch(() => {
    for (const key of index.db.getKeys()) index.db.remove(key);
    for (const { value } of records.getRange()) {
      for (const entry of indexEntries([index], value as Record<string, unknown>)) {
        entry.index.db.put(entry.key, true);
      }
    }
    catalog.put(index.name, mark);
  });
}

function keyPart(value: unknown): KeyPart | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return undefined;
}

function entryId(entry: IndexEntry): string {
  return `${entry.index.name}\0${JSON.stringify(entry.key)}`;
}
