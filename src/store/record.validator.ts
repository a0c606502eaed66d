/**
 * Validation and casting of a record with its mongoose model, shared by both adapters so they
 * accept exactly the same records and fail the same way.
 */
import { Error as MongooseError, type Model, type Schema } from 'mongoose';
import type { CollectionName } from './collections.js';
import { compileRecordCheck, type RecordCheck } from './compiled-record-check.js';

/**
 * A record the schema refused. The message names the collection and the bad fields with the
 * kind of each problem, never the values: they may be phone numbers or a resident's words, and
 * this message ends up in logs. (mongoose's own messages quote the value, so they are dropped.)
 */
export class InvalidRecordError extends Error {
  override readonly name = 'InvalidRecordError';

  constructor(
    readonly collection: CollectionName,
    /** The bad fields as `path (kind)`, e.g. `createdAt (cast)`, `statusGroup (enum)`. */
    readonly fields: readonly string[],
  ) {
    super(`${collection}: invalid record: ${fields.join(', ')}`);
  }
}

// The fast path of each schema, compiled on first use (see compiled-record-check.ts).
const fastChecks = new WeakMap<Schema, RecordCheck<unknown>>();

/**
 * Casts a record with the collection's model and validates it, returning the plain object to
 * store: ISO strings become Dates, Maps become plain objects, a field the schema lacks is an
 * error. Rejects with an `InvalidRecordError` when the schema refuses it.
 *
 * A record that is already canonical and valid (nearly every one) takes the fast path compiled
 * from the same schema, which returns what mongoose would: building the mongoose document cost
 * about 17% of all CPU under load. Any other record gets the mongoose document, as before.
 */
export async function validateRecord<T>(collection: CollectionName, model: Model<T>, record: unknown): Promise<T> {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new InvalidRecordError(collection, ['(record is not an object)']);
  }
  return fastCheckOf(model)(record) ?? validateRecordWithMongoose(collection, model, record);
}

/**
 * `validateRecord` without the fast path: the mongoose document, whose result the fast path
 * must equal (test/store/compiled-record-check.test.ts compares the two).
 */
export async function validateRecordWithMongoose<T>(collection: CollectionName, model: Model<T>, record: object): Promise<T> {
  try {
    // Throws StrictModeError for a top-level field the schema lacks (schemas are strict: 'throw').
    const document = new model(record);
    // validate(), not validateSync(): mongoose 9 warns that validateSync is deprecated.
    await document.validate();
    return document.toObject({ flattenMaps: true, versionKey: false }) as T;
  } catch (error) {
    if (error instanceof MongooseError.StrictModeError) {
      throw new InvalidRecordError(collection, [`${error.path} (not in schema)`]);
    }
    if (error instanceof MongooseError.ValidationError) {
      throw new InvalidRecordError(collection, describeFields(error));
    }
    throw error;
  }
}

/** The model's fast path, compiled once per schema. */
function fastCheckOf<T>(model: Model<T>): RecordCheck<T> {
  let check = fastChecks.get(model.schema);
  if (!check) {
    check = compileRecordCheck(model.schema);
    fastChecks.set(model.schema, check);
  }
  return check as RecordCheck<T>;
}

/** Each bad path with the kind of its problem, sorted so the message is stable. */
function describeFields(error: InstanceType<typeof MongooseError.ValidationError>): string[] {
  return Object.entries(error.errors)
    .map(([path, problem]) => {
      const kind = problem instanceof MongooseError.CastError ? 'cast' : problem.kind;
      return `${path} (${kind})`;
    })
    .sort();
}
