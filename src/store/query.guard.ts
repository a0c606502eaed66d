/**
 * The checks every query goes through before it reaches an adapter, shared so both adapters
 * refuse the same queries. A refused query is a programming error and throws: an undeclared
 * index, a value that is not a primitive of the field's type, or a bad limit.
 */
import type { Schema } from 'mongoose';
import { COLLECTION_INDEXES, type AnyIndexSpec, type CollectionName } from './collections.js';
import type { FindOptions, Where } from './store.port.js';

/** A checked query: the declared index to use, the value to match, and how to cut the result. */
export interface CheckedQuery {
  index: AnyIndexSpec;
  value: string | number | boolean;
  order: 'asc' | 'desc';
  /** Undefined means no limit. */
  limit: number | undefined;
  /** Where to start on the sort field (inclusive), in the order's direction; undefined = its end. */
  from: Date | number | string | undefined;
}

// The JavaScript type a where-value must have for a field of each mongoose type. Index fields
// are strings or booleans today; numbers are here so a numeric index needs no change.
const VALUE_TYPES: Readonly<Record<string, string>> = {
  String: 'string',
  Boolean: 'boolean',
  Number: 'number',
};

/**
 * Checks a query against the collection's declared indexes and schema. The value must be a
 * primitive of the field's type: an object such as `{ $gt: '' }` would be a MongoDB operator
 * (query injection when the value came from a resident), and `'true'` for a boolean field would
 * be cast by mongoose but match nothing in the embedded store. Messages name fields, never values.
 */
export function checkQuery(
  collection: CollectionName,
  schema: Schema,
  where: Pick<Where<Record<string, unknown>>, 'field'> & { equals: unknown },
  options: FindOptions = {},
): CheckedQuery {
  // Typed callers cannot get these wrong, but a query built from parsed input can.
  const field: unknown = (where as typeof where | null)?.field;
  const indexes: readonly AnyIndexSpec[] = COLLECTION_INDEXES[collection];
  const index = indexes.find((candidate) => candidate.field === field);
  if (!index) {
    // The name is quoted only when it looks like one, in case it came from someone's input.
    const named = typeof field === 'string' && /^\w{1,64}$/.test(field) ? `"${field}"` : 'that field';
    throw new Error(`${collection}: no index on ${named}; declare it in src/store/collections.ts`);
  }
  const value = where.equals;
  const expected = VALUE_TYPES[fieldType(schema, index.field)];
  if (typeof value !== expected) {
    throw new Error(`${collection}: the value for ${index.field} must be a ${expected ?? 'primitive'}`);
  }
  if (typeof value === 'string' && value.includes('\0')) {
    // No stored key can contain NUL (the schema refuses it), and LMDB array keys cannot hold it.
    throw new Error(`${collection}: the value for ${index.field} contains NUL`);
  }
  const { order = 'asc', limit } = options;
  if (order !== 'asc' && order !== 'desc') {
    throw new Error(`${collection}: order must be 'asc' or 'desc'`);
  }
  // MongoDB reads limit(0) as "no limit"; a positive integer or nothing avoids that surprise.
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
    throw new Error(`${collection}: limit must be a positive integer`);
  }
  const from = checkFrom(collection, schema, index, options.from);
  return { index, value: value as string | number | boolean, order, limit, from };
}

// The JavaScript type a `from` must have for a sort field of each mongoose type.
const FROM_TYPES: Readonly<Record<string, (from: unknown) => boolean>> = {
  Date: (from) => from instanceof Date && !Number.isNaN(from.getTime()),
  Number: (from) => typeof from === 'number' && Number.isFinite(from),
  String: (from) => typeof from === 'string' && !from.includes('\0'),
};

/** A `from` must be of the sort field's type (a Date for a date), on an index that has one. */
function checkFrom(collection: CollectionName, schema: Schema, index: AnyIndexSpec, from: unknown): Date | number | string | undefined {
  if (from === undefined) return undefined;
  if (!index.sortBy) throw new Error(`${collection}: the index on ${index.field} has no sort field to start from`);
  const fits = FROM_TYPES[schema.path(index.sortBy)?.instance ?? ''];
  if (!fits?.(from)) throw new Error(`${collection}: from must be of ${index.sortBy}'s type`);
  return from as Date | number | string;
}

/** A field's mongoose type; an array's elements' type, since equality on an array field matches an element. */
function fieldType(schema: Schema, field: string): string {
  const path = schema.path(field) as unknown as { instance: string; embeddedSchemaType?: { instance: string } } | undefined;
  if (path?.instance === 'Array') return path.embeddedSchemaType?.instance ?? '';
  return path?.instance ?? '';
}

/** Checks an id given to `get` or `delete`: a string, so `{ $ne: null }` cannot reach MongoDB. */
export function checkId(collection: CollectionName, id: unknown): string {
  if (typeof id !== 'string') throw new Error(`${collection}: an id must be a string`);
  return id;
}

/** Checks an expected revision: an integer, so `{ $gt: 0 }` cannot reach MongoDB either. */
export function checkRev(collection: CollectionName, rev: unknown): number {
  if (!Number.isSafeInteger(rev)) throw new Error(`${collection}: an expected _rev must be an integer`);
  return rev as number;
}
