/**
 * What the MongoDB adapter does beyond the store contract, to stay within what MongoDB and
 * FerretDB both do: revision claims (FerretDB's conditional replace is not atomic), and NUL in
 * strings (FerretDB stores none). Runs whenever MONGODB_URI is set.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMongoStore, withoutNul } from '../../src/store/mongo.store.js';
import type { Store } from '../../src/store/store.port.js';
import { plainData } from '../../src/channels/webchat/activity-mapping.js';
import { withDatabase } from '../support/test-store.js';
import { aResident, aTranscriptEntry } from './store-records.fixture.js';

const server = process.env['MONGODB_URI'];

describe('plain values a MongoDB-protocol server stores', () => {
  it('writes NUL in strings as U+FFFD, copying only what holds one', () => {
    const date = new Date();
    const clean = { a: 'x', b: [1, 'y'], c: { d: date } };
    expect(withoutNul(clean)).toBe(clean);
    expect(withoutNul({ a: 'x\0y', b: ['\0'], c: { d: date, e: 'z\0' } })).toEqual({ a: 'x\uFFFDy', b: ['\uFFFD'], c: { d: date, e: 'z\uFFFD' } });
  });

  it('keeps no key a server may refuse, and no array inside an array, of what a sender chose', () => {
    expect(plainData({ ok: 1, $where: 'x', 'a.b': 2, 'nul\0': 3, list: [[1], 2, { $gt: 1, fine: true }] })).toEqual({ ok: 1, list: [2, { fine: true }] });
  });
});

if (server) {
  describe('the MongoDB adapter', () => {
    const uri = withDatabase(server, `civicline_adapter_${Date.now()}_${process.pid}`);
    let store: Store;
    let connection: mongoose.Connection;
    beforeAll(async () => {
      store = await openMongoStore(uri);
      connection = await mongoose.createConnection(uri).asPromise();
    });
    afterAll(async () => {
      await store.close();
      await connection.dropDatabase();
      await connection.close();
    });

    it('stores a resident’s NUL as U+FFFD instead of failing the write', async () => {
      const entry = { ...aTranscriptEntry('sms:+12175550999', 0), text: 'a\0b' };
      expect(await store.transcripts.insert(entry)).toBe(true);
      expect((await store.transcripts.get(entry._id))?.text).toBe('a\uFFFDb');
    });

    it('refuses a replace while another writer holds the claim on the next revision, and takes over a dead writer’s', async () => {
      const resident = aResident('sms:+12175550998');
      await store.residents.insert(resident);
      const claims = connection.collection<{ _id: string; at: Date }>('revisionClaims');
      // The record's id is hashed in the claim's (an id may be a phone number).
      const claim = `residents|${createHash('sha256').update(resident._id).digest('base64url')}|2`;

      await claims.insertOne({ _id: claim, at: new Date() });
      expect(await store.residents.replace({ ...resident, name: 'Live' }, 1)).toBe(false);
      expect((await store.residents.get(resident._id))?._rev).toBe(1);

      // A claim a minute old: its writer died between claiming and writing.
      await claims.updateOne({ _id: claim }, { $set: { at: new Date(Date.now() - 60_000) } });
      expect(await store.residents.replace({ ...resident, name: 'After' }, 1)).toBe(true);
      expect(await store.residents.get(resident._id)).toMatchObject({ _rev: 2, name: 'After' });
      // Claims live only while a replace runs.
      expect(await claims.countDocuments({})).toBe(0);
    });

    it('leaves no GridFS chunk of a photo whose stream failed half-way (GridFS writes its file document last)', async () => {
      const owner = { conversation: 'webchat:c1', client: 'client-1' };
      const failing = Readable.from(
        (async function* () {
          yield Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(600_000, 1)]);
          yield Buffer.alloc(600_000, 2);
          throw new Error('limit passed');
        })(),
      );
      await expect(store.media.save(failing, 'image/png', owner)).rejects.toThrow('limit passed');
      expect(await connection.collection('media.chunks').countDocuments({})).toBe(0);
      expect(await connection.collection('media.files').countDocuments({})).toBe(0);
      expect(await connection.collection('mediaUploads').countDocuments({})).toBe(0);
    });

    it('removes the chunks a process killed mid-upload left without their file document', async () => {
      const owner = { conversation: 'webchat:c2', client: 'client-2' };
      const id = await store.media.save(Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(300_000, 3)]), 'image/png', owner);
      // What a kill -9 between the chunks and the files document leaves: the ledger entry and the chunks.
      await connection.collection('media.files').deleteMany({ filename: id });
      expect(await connection.collection('media.chunks').countDocuments({})).toBeGreaterThan(0);
      expect(await store.media.remove(id)).toBe(false);
      expect(await connection.collection('media.chunks').countDocuments({})).toBe(0);
      expect(await connection.collection('mediaUploads').countDocuments({ _id: id } as never)).toBe(0);
    });
  });
} else {
  console.info('MongoDB adapter tests skipped: MONGODB_URI is not set');
  describe.skip('the MongoDB adapter (MONGODB_URI is not set)', () => {
    it('keeps to what MongoDB and FerretDB both do', () => {});
  });
}
