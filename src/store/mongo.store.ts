/**
 * The MongoDB store: the port on mongoose models, kept thin on purpose (it cannot run in CI
 * without a server). Validation, query checks and indexes are shared with the embedded store
 * (`record.validator.ts`, `query.guard.ts`, `schemas.ts`), so both accept and refuse the same
 * things; `test/store/store.contract.test.ts` runs against MongoDB when MONGODB_URI is set.
 */
import mongoose, { type Model } from 'mongoose';
import { eachCollection, type CollectionName, type RecordOf } from './collections.js';
import { checkId, checkQuery, checkRev } from './query.guard.js';
import { validateRecord } from './record.validator.js';
import { buildModels } from './schemas.js';
import type { Collection, Collections, Store, Unsaved } from './store.port.js';
import type { StoredRecord } from '../domain/records.js';

// See embedded-collection.ts: only a storm of conflicting writers could reach it.
const MAX_ATTEMPTS = 1_000;

/** Connects to MongoDB and returns the store, once the collections' indexes exist. */
export async function openMongoStore(uri: string): Promise<Store> {
  const connection = await mongoose
    .createConnection(uri, {
      // Fail at once rather than queue operations while disconnected; the driver still retries
      // server selection on its own while connected.
      bufferCommands: false,
      // With the server gone, an operation fails after this long instead of the driver's 30 s:
      // the SMS webhook must fail (5xx, so Twilio can retry or fall back) before its own 10 s
      // deadline, after which it answers 200 and a message whose turn then fails is lost.
      serverSelectionTimeoutMS: 5_000,
      // Defence in depth: the query guard already refuses object values in a where.
      sanitizeFilter: true,
    })
    .asPromise();
  try {
    const models = buildModels(connection);
    // Builds the indexes of collections.ts before the first query needs them.
    await Promise.all(Object.values(models).map((model: { init(): Promise<unknown> }) => model.init()));
    const one = <K extends CollectionName>(name: K) => mongoCollection<RecordOf<K>>(name, models[name]);
    const collections: Collections = eachCollection<Collections>(one);
    return {
      kind: 'mongodb',
      ...collections,
      async ping() {
        if (!connection.db) throw new Error('mongodb: not connected');
        await connection.db.admin().ping();
      },
      async close() {
        await connection.close();
      },
    };
  } catch (error) {
    await connection.close();
    throw error;
  }
}

/** One collection on its mongoose model. */
function mongoCollection<T extends StoredRecord>(name: CollectionName, model: Model<T>): Collection<T> {
  // Validated with a placeholder `_rev`; each write sets the real one.
  const validate = (record: Unsaved<T>) => validateRecord(name, model, { ...record, _rev: 1 });

  /** Inserts a validated record; false when its `_id` exists (duplicate key, code 11000). */
  const insertValid = async (record: T): Promise<boolean> => {
    try {
      await model.create(record);
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === 11000) return false;
      throw error;
    }
  };

  /** Replaces the stored record if its `_rev` is still `expectedRev`; the check is atomic. */
  const replaceValid = async (record: T, expectedRev: number): Promise<boolean> => {
    const result = await model.replaceOne({ _id: record._id, _rev: expectedRev }, { ...record, _rev: expectedRev + 1 });
    return result.matchedCount === 1;
  };

  return {
    async get(id) {
      return model.findById(checkId(name, id)).lean<T>().exec();
    },

    async insert(record) {
      return insertValid({ ...(await validate(record)), _rev: 1 });
    },

    // A compare-and-swap loop, like the embedded store's: read `_rev`, then insert or
    // replace-if-unchanged, and retry if someone wrote in between. A single upserting
    // replaceOne cannot bump `_rev` (a replacement cannot hold `$inc`), and an update pipeline
    // would read resident text starting with `$` as a field path unless every value were
    // wrapped in `$literal`: the loop is the obviously correct option.
    async upsert(record) {
      const valid = await validate(record);
      for (let attempts = 0; attempts < MAX_ATTEMPTS; attempts += 1) {
        const current = await model.findById(valid._id, { _rev: 1 }).lean<Pick<StoredRecord, '_rev'>>().exec();
        const saved = { ...valid, _rev: (current?._rev ?? 0) + 1 };
        const written = current ? await replaceValid(valid, current._rev) : await insertValid(saved);
        if (written) return saved;
      }
      throw new Error(`${name}: gave up writing a record after ${MAX_ATTEMPTS} conflicting writes`);
    },

    async replace(record, expectedRev) {
      checkRev(name, expectedRev);
      return replaceValid(await validate(record), expectedRev);
    },

    async find(where, options) {
      const { index, value, order, limit } = checkQuery(name, model.schema, where, options);
      const direction = order === 'asc' ? 1 : -1;
      const sort: Record<string, 1 | -1> = index.sortBy ? { [index.sortBy]: direction, _id: direction } : { _id: direction };
      const query = model.find({ [index.field]: value } as mongoose.QueryFilter<T>).sort(sort);
      if (limit !== undefined) query.limit(limit);
      return query.lean<T[]>().exec();
    },

    async count(where) {
      const { index, value } = checkQuery(name, model.schema, where);
      return model.countDocuments({ [index.field]: value } as mongoose.QueryFilter<T>).exec();
    },

    async delete(id) {
      const result = await model.deleteOne({ _id: checkId(name, id) } as mongoose.QueryFilter<T>).exec();
      return result.deletedCount === 1;
    },
  };
}
