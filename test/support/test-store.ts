/**
 * Which store the tests that build the service run on. `npm test` runs every file on the
 * embedded store; with MONGODB_URI set, the `mongodb` project of vitest.config.ts runs the files
 * that go through the pipeline, the channels and the staff desks again with
 * CIVICLINE_TEST_STORE=mongodb, and then each service gets a fresh database of that server,
 * dropped when it closes. So the same tests prove both adapters (CI starts FerretDB for it).
 */
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';

/** True in the `mongodb` project: services the tests build use MONGODB_URI. */
export const ON_MONGODB = process.env['CIVICLINE_TEST_STORE'] === 'mongodb';

/** The store one test service uses: the environment that selects it, and how to remove its data. */
export interface TestStore {
  /** Added to the service's environment: MONGODB_URI of a fresh database, or nothing. */
  env: Record<string, string>;
  /** Drops the database (the embedded store's folder is the caller's to remove). */
  drop(): Promise<void>;
}

/** A fresh store for one service: a new database on MongoDB, or the embedded default. */
export function freshTestStore(): TestStore {
  if (!ON_MONGODB) return { env: {}, drop: async () => {} };
  const server = process.env['MONGODB_URI'];
  if (!server) throw new Error('CIVICLINE_TEST_STORE=mongodb needs MONGODB_URI');
  const uri = withDatabase(server, `civicline_test_${randomBytes(6).toString('hex')}`);
  return {
    // The embedded store seeds the demo roles by default and the tests count on them.
    env: { MONGODB_URI: uri, SEED_DEMO_DATA: 'true' },
    async drop() {
      const connection = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5_000 }).asPromise();
      try {
        await connection.dropDatabase();
      } finally {
        await connection.close();
      }
    },
  };
}

/**
 * The URI with another database in its path, so tests never touch the database MONGODB_URI
 * names. With credentials and no authSource, the driver would authenticate against the path's
 * database, so the original one (or admin) is kept as authSource. (Not `new URL`: it rejects
 * the comma-separated hosts of a replica-set URI.)
 */
export function withDatabase(uri: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/([^?]*))?(?:\?(.*))?$/.exec(uri);
  if (!match) throw new Error('MONGODB_URI is not a mongodb:// or mongodb+srv:// URI');
  const [, hosts = '', original = '', query = ''] = match;
  const params = new URLSearchParams(query);
  if (hosts.includes('@') && !params.has('authSource')) params.set('authSource', original || 'admin');
  const search = params.toString();
  return `${hosts}/${database}${search ? `?${search}` : ''}`;
}
