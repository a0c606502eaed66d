/**
 * The MongoDB store: the port on mongoose models, kept thin on purpose. Validation, query checks
 * and indexes are shared with the embedded store (`record.validator.ts`, `query.guard.ts`,
 * `schemas.ts`), so both accept and refuse the same things; `test/store/store.contract.test.ts`
 * runs against a MongoDB-protocol server whenever MONGODB_URI is set (CI starts FerretDB).
 *
 * Kept within what MongoDB and FerretDB both do atomically. FerretDB 1.x applies an update's
 * filter and its write in two steps (FerretDB issue #3040: it queries, then updates by `_id`), so
 * a revision-checked `replaceOne` is not a compare-and-swap there: two writers from one revision
 * both "match" and the second silently overwrites the first. An insert of an existing `_id` fails
 * atomically on both servers, so each revision change is first claimed by inserting
 * `<collection>|<hash of the id>|<next revision>` into `revisionClaims` (see `claimRevision`).
 * MongoDB alone would not need the claim (a single-document replace is atomic there); it costs
 * two small writes.
 */
import { createHash } from 'node:crypto';
import { finished } from 'node:stream/promises';
import mongoose, { type Model, type mongo } from 'mongoose';
import { eachCollection, type CollectionName, type RecordOf } from './collections.js';
import { checkId, checkQuery, checkRev } from './query.guard.js';
import { validateRecord } from './record.validator.js';
import { withDerivedKeys } from './derived-keys.js';
import { buildModels } from './schemas.js';
import type { Collection, Collections, Store, Unsaved } from './store.port.js';
import type { StoredRecord } from '../domain/records.js';
import { IMAGE_TYPES, isMediaId, newMediaId, type MediaFiles, type UploadOwner } from './media-files.js';

type MongoCollection<T extends mongo.Document> = mongo.Collection<T>;

// See embedded-collection.ts: only a storm of conflicting writers could reach it.
const MAX_ATTEMPTS = 1_000;
/**
 * A claim older than this was left by a writer that died between claiming and writing (a claim
 * lives for one replace: milliseconds). Another writer may then take it over, so a kill -9 in
 * the middle of a write keeps that one record (a resident's conversation, say) unwritable for
 * this long: their provider retries. The one thing this gives up on FerretDB is a writer that
 * stalls for longer than this between its claim and its replace and then writes anyway; on
 * MongoDB the replace's own revision filter still refuses it.
 */
const STALE_CLAIM_MS = 10_000;
const CLAIMS = 'revisionClaims';

/** A claim on a record's next revision. */
interface RevisionClaim {
  _id: string;
  at: Date;
}

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
    const claims = connection.collection<RevisionClaim>(CLAIMS);
    const one = <K extends CollectionName>(name: K) => mongoCollection<RecordOf<K>>(name, models[name], claims);
    const collections: Collections = eachCollection<Collections>(one);
    return {
      kind: 'mongodb',
      ...collections,
      media: gridFsMedia(connection),
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

/**
 * Claims the change of a record to `revision`: true if this writer may make it. An insert, so
 * exactly one of any number of concurrent writers wins, on MongoDB and FerretDB alike. A claim
 * older than STALE_CLAIM_MS is a dead writer's and is taken over (once: a second failure means
 * a live writer holds it).
 */
async function claimRevision(claims: MongoCollection<RevisionClaim>, id: string): Promise<RevisionClaim | null> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const claim = { _id: id, at: new Date() };
    try {
      await claims.insertOne(claim);
      return claim;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 11000) throw error;
    }
    const held = await claims.findOne({ _id: id });
    if (held && Date.now() - held.at.getTime() < STALE_CLAIM_MS) return null;
    if (held) await claims.deleteOne({ _id: id, at: held.at });
  }
  return null;
}

/**
 * A claim's id: the collection, the record's id hashed (ids can be phone numbers, and a claim a
 * killed writer left behind must not keep one after the resident deleted their data), and the
 * revision claimed.
 */
function claimId(collection: CollectionName, id: string, revision: number): string {
  return `${collection}|${createHash('sha256').update(id).digest('base64url')}|${revision}`;
}

/**
 * The value with every NUL (U+0000) in its strings written as U+FFFD. FerretDB stores no NUL in
 * a string (MongoDB does), and a resident can type one: the record holding it would be refused
 * in the middle of a turn. Done for MongoDB too, so both servers hold the same. Only what holds
 * a NUL is copied; Dates and other non-plain objects are left as they are.
 */
export function withoutNul<V>(value: V): V {
  if (typeof value === 'string') return (value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value) as V;
  if (Array.isArray(value)) {
    const copy = value.map((each: unknown) => withoutNul(each));
    return (copy.some((each, i) => each !== value[i]) ? copy : value) as V;
  }
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, each] of Object.entries(value)) {
    const clean = withoutNul(each);
    if (clean !== each) (copy ??= { ...(value as Record<string, unknown>) })[key] = clean;
  }
  return (copy ?? value) as V;
}

/** An upload's ledger entry (see media-files.ts), in the `mediaUploads` collection. */
interface UploadDoc extends UploadOwner {
  _id: string;
  bytes: number;
  at: Date;
  pending: boolean;
}

/**
 * How long the total of stored photo bytes (a sum over every photo) is reused. What this instance
 * stores or removes meanwhile is added to it at once; other instances' uploads show up when it is
 * summed again, so with several instances the total can lag by what they stored in this long.
 */
const TOTAL_TTL_MS = 15_000;

/**
 * Photos in the database (GridFS, bucket `media`), so every instance behind a load balancer
 * serves the photo another one took. The file's name is its id; its type is in the metadata. The
 * uploads' ledger is the `mediaUploads` collection, indexed for the quota and sweep queries.
 */
/** A photo's GridFS file id, made from its id (the first 96 of its 128 random bits). */
function gridFileId(mediaId: string): mongoose.mongo.ObjectId {
  return new mongoose.mongo.ObjectId(Buffer.from(mediaId, 'base64url').subarray(0, 12));
}

function gridFsMedia(connection: mongoose.Connection): MediaFiles {
  const db = () => {
    if (!connection.db) throw new Error('mongodb: not connected');
    return connection.db;
  };
  const bucket = () => new mongoose.mongo.GridFSBucket(db(), { bucketName: 'media' });
  const ledger = () => db().collection<UploadDoc>('mediaUploads');
  let indexed: Promise<unknown> | undefined;
  const ready = () =>
    (indexed ??= ledger()
      .createIndexes([{ key: { conversation: 1, at: 1 } }, { key: { client: 1, at: 1 } }, { key: { pending: 1, at: 1 } }])
      .catch((error: unknown) => {
        indexed = undefined; // tried again next time
        throw error;
      }));
  const fileOf = async (id: string) => {
    if (!isMediaId(id)) return null;
    const [file] = await bucket().find({ filename: id }, { limit: 1 }).toArray();
    const contentType = (file?.metadata as { contentType?: unknown } | undefined)?.contentType;
    return file && typeof contentType === 'string' ? { file, contentType } : null;
  };
  let total: { bytes: number; at: number } | undefined;
  let summing: Promise<void> | undefined;
  // Bytes this instance stored (or removed, negative) since the last sum began.
  let local = 0;

  return {
    async save(content, contentType, owner) {
      if (!IMAGE_TYPES[contentType]) throw new Error('Not an accepted image type');
      const id = newMediaId();
      if (owner) {
        await ready();
        await ledger().insertOne({ _id: id, conversation: owner.conversation, client: owner.client, bytes: 0, at: new Date(), pending: true });
      }
      // The photo's id is its GridFS file id too: chunks left by a process killed mid-upload (the
      // files document is written last) can then be found from the ledger's id, and removed.
      const upload = bucket().openUploadStreamWithId(gridFileId(id), id, { metadata: { contentType } });
      // Failures reach the writes and `finished` below; an 'error' nobody listened to would end the process.
      upload.on('error', () => {});
      try {
        // One chunk at a time, each written (or buffered) before the next is read: when the
        // source fails, no write is still in flight, so removing the chunks removes them all.
        for await (const chunk of Buffer.isBuffer(content) ? [content] : (content as AsyncIterable<Buffer>)) {
          await new Promise<void>((resolve, reject) => upload.write(chunk, (error) => (error ? reject(error) : resolve())));
        }
        upload.end();
        await finished(upload);
      } catch (error) {
        // The files document is written last, so a failed upload leaves chunks at most: gone here.
        await bucket()
          .delete(upload.id)
          .catch(() => {});
        if (owner)
          await ledger()
            .deleteOne({ _id: id })
            .catch(() => {});
        throw error;
      }
      local += upload.length;
      if (owner) await ledger().updateOne({ _id: id }, { $set: { bytes: upload.length } });
      return id;
    },
    async read(id) {
      const found = await fileOf(id);
      if (!found) return null;
      const chunks: Buffer[] = [];
      for await (const chunk of bucket().openDownloadStream(found.file._id)) chunks.push(chunk as Buffer);
      return { bytes: Buffer.concat(chunks), contentType: found.contentType };
    },
    async open(id) {
      const found = await fileOf(id);
      return found ? { stream: bucket().openDownloadStream(found.file._id), contentType: found.contentType, bytes: found.file.length } : null;
    },
    async remove(id) {
      if (!isMediaId(id)) return false;
      await ledger().deleteOne({ _id: id });
      const found = await fileOf(id);
      if (!found) {
        // An upload cut off by a crash: chunks without their files document.
        await db()
          .collection('media.chunks')
          .deleteMany({ files_id: gridFileId(id) });
        return false;
      }
      try {
        await bucket().delete(found.file._id);
      } catch {
        return false; // removed meanwhile (by another instance's sweep)
      }
      local -= found.file.length;
      return true;
    },
    async totalBytes() {
      if (!total || Date.now() - total.at > TOTAL_TTL_MS) {
        summing ??= (async () => {
          const before = local;
          const [sum] = await db()
            .collection('media.files')
            .aggregate<{ bytes: number }>([{ $group: { _id: null, bytes: { $sum: '$length' } } }])
            .toArray();
          // What was stored while summing may be counted twice until the next sum: never too little.
          total = { bytes: sum?.bytes ?? 0, at: Date.now() };
          local -= before;
        })().finally(() => (summing = undefined));
        await summing;
      }
      return (total?.bytes ?? 0) + local;
    },
    async usage(owner, since) {
      await ready();
      // Summed here rather than by a $group: FerretDB 1.x sums a field to 0 after a $match.
      const [conversationPhotos, client] = await Promise.all([
        ledger().countDocuments({ conversation: owner.conversation, at: { $gte: since } }),
        ledger()
          .find({ client: owner.client, at: { $gte: since } }, { projection: { bytes: 1 } })
          .toArray(),
      ]);
      return { conversationPhotos, clientPhotos: client.length, clientBytes: client.reduce((sum, entry) => sum + entry.bytes, 0) };
    },
    async pending(before, limit, after) {
      await ready();
      const later = after ? { $or: [{ at: { $gt: after.at } }, { at: after.at, _id: { $gt: after.id } }] } : {};
      const found = await ledger()
        .find({ pending: true, at: { $lt: before }, ...later })
        .sort({ at: 1, _id: 1 })
        .limit(limit)
        .toArray();
      return found.map(({ _id, ...entry }) => ({ ...entry, id: _id }));
    },
    async settle(id) {
      await ledger().updateOne({ _id: id }, { $set: { pending: false } });
    },
    async forget(before) {
      await ready();
      return (await ledger().deleteMany({ pending: false, at: { $lt: before } })).deletedCount;
    },
  };
}

/** One collection on its mongoose model. */
function mongoCollection<T extends StoredRecord>(name: CollectionName, model: Model<T>, claims: MongoCollection<RevisionClaim>): Collection<T> {
  // Validated with a placeholder `_rev`; each write sets the real one.
  const validate = async (record: Unsaved<T>) => withDerivedKeys(name, await validateRecord(name, model, { ...record, _rev: 1 }));

  /** Inserts a validated record; false when its `_id` exists (duplicate key, code 11000). */
  const insertValid = async (record: T): Promise<boolean> => {
    try {
      await model.create(withoutNul(record));
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === 11000) return false;
      throw error;
    }
  };

  /**
   * Replaces the stored record if its `_rev` is still `expectedRev`: under a claim on the next
   * revision, so no other writer from the same revision writes at the same time (see the module
   * comment), and with the revision in the filter, so a writer from an older one changes nothing.
   * The claim is removed once the record has moved on: later writers claim later revisions.
   */
  const replaceValid = async (record: T, expectedRev: number): Promise<boolean> => {
    const claim = await claimRevision(claims, claimId(name, record._id, expectedRev + 1));
    if (!claim) return false;
    try {
      const result = await model.replaceOne({ _id: record._id, _rev: expectedRev }, withoutNul({ ...record, _rev: expectedRev + 1 }));
      return result.matchedCount === 1;
    } finally {
      // Only this claim: one a writer took over after this one stalled past STALE_CLAIM_MS is theirs.
      await claims.deleteOne({ _id: claim._id, at: claim.at });
    }
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
      // Past a killed writer's stale claim (see STALE_CLAIM_MS), then no longer.
      const giveUpAt = Date.now() + STALE_CLAIM_MS + 5_000;
      for (let attempts = 0; attempts < MAX_ATTEMPTS && Date.now() < giveUpAt; attempts += 1) {
        const current = await model.findById(valid._id, { _rev: 1 }).lean<Pick<StoredRecord, '_rev'>>().exec();
        const saved = { ...valid, _rev: (current?._rev ?? 0) + 1 };
        const written = current ? await replaceValid(valid, current._rev) : await insertValid(saved);
        if (written) return saved;
        // A writer racing this one is done in milliseconds; a killed one's claim is not, and
        // hammering the server until it goes stale helps nobody: back off, up to 100 ms a try.
        if (attempts >= 3) await new Promise((resolve) => setTimeout(resolve, Math.min(100, 2 ** attempts)));
      }
      throw new Error(`${name}: gave up writing a record after too many conflicting writes`);
    },

    async replace(record, expectedRev) {
      checkRev(name, expectedRev);
      return replaceValid(await validate(record), expectedRev);
    },

    async find(where, options) {
      const { index, value, order, limit, from } = checkQuery(name, model.schema, where, options);
      const direction = order === 'asc' ? 1 : -1;
      const sort: Record<string, 1 | -1> = index.sortBy ? { [index.sortBy]: direction, _id: direction } : { _id: direction };
      // `trusted`: the store sanitizes filters (a resident's value can never be an operator); this
      // operator is ours, and `from` was checked to be of the sort field's type.
      const start = from !== undefined && index.sortBy ? { [index.sortBy]: mongoose.trusted(order === 'asc' ? { $gte: from } : { $lte: from }) } : {};
      const query = model.find({ [index.field]: value, ...start } as mongoose.QueryFilter<T>).sort(sort);
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
