/**
 * The storage contract: one suite that every adapter must pass, run against the embedded store
 * always and against MongoDB when MONGODB_URI is set. Code written against one adapter then
 * works on the other.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import mongoose from 'mongoose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../../src/store/embedded.store.js';
import { findEvery } from '../../src/store/find-every.js';
import { openMongoStore } from '../../src/store/mongo.store.js';
import type { Store } from '../../src/store/store.port.js';
import { withDatabase } from '../support/test-store.js';
import { aConversation, aReport, aResident, aRole, aTranscriptEntry, at } from './store-records.fixture.js';

/** A fresh, empty store for one test, and how to reopen it and to clean up after it. */
interface StoreUnderTest {
  store: Store;
  /** Opens the same data again (after the test closed `store`). */
  reopen(): Promise<Store>;
  /** Removes the data; the stores the test opened are closed by then. */
  destroy(): Promise<void>;
}

/** Declares the contract suite for one adapter; `open` gives every test a fresh, empty store. */
export function describeStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`store contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: Store;
    const opened: Store[] = [];

    beforeEach(async () => {
      subject = await open();
      store = subject.store;
      opened.push(store);
    });

    afterEach(async () => {
      for (const each of opened.splice(0)) await each.close();
      await subject.destroy();
    });

    describe('get and insert', () => {
      it('round-trips records with Dates, nested objects, arrays and maps', async () => {
        const report = aReport('R-1');
        const conversation = aConversation('telegram:1');
        const role = aRole('V-1');
        expect(await store.reports.insert(report)).toBe(true);
        expect(await store.conversations.insert(conversation)).toBe(true);
        expect(await store.roles.insert(role)).toBe(true);

        const readReport = await store.reports.get('R-1');
        expect(readReport).toEqual({ ...report, _rev: 1 });
        expect(readReport?.createdAt).toBeInstanceOf(Date);
        expect(await store.conversations.get('telegram:1')).toEqual({ ...conversation, _rev: 1 });
        const readRole = await store.roles.get('V-1');
        expect(readRole).toEqual({ ...role, _rev: 1 });
        expect(readRole?.startsAt).toBeInstanceOf(Date);
      });

      it('keeps optional fields absent and empty objects empty', async () => {
        const entry = aTranscriptEntry('telegram:1', 0);
        await store.transcripts.insert(entry);
        const read = await store.transcripts.get(entry._id);
        expect(read).toEqual({ ...entry, _rev: 1 });
        expect(read).not.toHaveProperty('media');
        expect(read).not.toHaveProperty('location');

        await store.reports.insert(aReport('R-1', { location: {} }));
        expect((await store.reports.get('R-1'))?.location).toEqual({});
      });

      it('casts what MongoDB would cast: ISO strings become Dates', async () => {
        const iso = '2025-02-03T04:05:06.000Z';
        await store.reports.insert({ ...aReport('R-1'), createdAt: iso as unknown as Date });
        const read = await store.reports.get('R-1');
        expect(read?.createdAt).toBeInstanceOf(Date);
        expect(read?.createdAt.toISOString()).toBe(iso);
      });

      it('returns null for an unknown id', async () => {
        expect(await store.reports.get('R-NOPE')).toBeNull();
      });

      it('sets _rev 1 whatever _rev the caller passed', async () => {
        await store.reports.insert({ ...aReport('R-1'), _rev: 41 });
        expect((await store.reports.get('R-1'))?._rev).toBe(1);
      });

      it('refuses a second insert of the same id and keeps the first', async () => {
        expect(await store.reports.insert(aReport('R-1', { description: 'first' }))).toBe(true);
        expect(await store.reports.insert(aReport('R-1', { description: 'second' }))).toBe(false);
        expect((await store.reports.get('R-1'))?.description).toBe('first');
      });

      it('lets exactly one of 20 concurrent inserts of one id win', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.reports.insert(aReport('R-1', { description: `writer ${i}` }))));
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect((await store.reports.get('R-1'))?.description).toBe(`writer ${winner}`);
        expect(await store.reports.count({ field: 'statusGroup', equals: 'open' })).toBe(1);
      });
    });

    describe('replace (optimistic concurrency)', () => {
      it('replaces when the revision matches and bumps _rev', async () => {
        await store.reports.insert(aReport('R-1'));
        expect(await store.reports.replace(aReport('R-1', { status: 'in_progress' }), 1)).toBe(true);
        const read = await store.reports.get('R-1');
        expect(read).toEqual({ ...aReport('R-1', { status: 'in_progress' }), _rev: 2 });
        expect(await store.reports.replace(aReport('R-1', { status: 'done' }), 2)).toBe(true);
        expect((await store.reports.get('R-1'))?._rev).toBe(3);
      });

      it('refuses a stale revision and changes nothing', async () => {
        await store.reports.insert(aReport('R-1'));
        await store.reports.replace(aReport('R-1', { status: 'in_progress' }), 1);
        expect(await store.reports.replace(aReport('R-1', { status: 'stale', statusGroup: 'closed' }), 1)).toBe(false);
        expect(await store.reports.get('R-1')).toEqual({ ...aReport('R-1', { status: 'in_progress' }), _rev: 2 });
        expect(await store.reports.count({ field: 'statusGroup', equals: 'closed' })).toBe(0);
      });

      it('refuses to replace a record that does not exist', async () => {
        expect(await store.reports.replace(aReport('R-1'), 0)).toBe(false);
        expect(await store.reports.replace(aReport('R-1'), 1)).toBe(false);
        expect(await store.reports.get('R-1')).toBeNull();
      });

      it('lets exactly one of 20 concurrent replaces from the same revision win', async () => {
        await store.reports.insert(aReport('R-1'));
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.reports.replace(aReport('R-1', { status: `writer ${i}`, statusGroup: i % 2 ? 'fixed' : 'closed' }), 1)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        const read = await store.reports.get('R-1');
        expect(read?.status).toBe(`writer ${winner}`);
        expect(read?._rev).toBe(2);
        // Exactly one index entry survives, the winner's.
        const groups = await Promise.all((['open', 'fixed', 'closed'] as const).map((group) => store.reports.count({ field: 'statusGroup', equals: group })));
        expect(groups.reduce((a, b) => a + b)).toBe(1);
        expect(await store.reports.count({ field: 'statusGroup', equals: read!.statusGroup })).toBe(1);
      });

      it('rejects an expected revision that is not an integer', async () => {
        await store.reports.insert(aReport('R-1'));
        await expect(store.reports.replace(aReport('R-1'), { $gt: 0 } as unknown as number)).rejects.toThrow(/_rev/);
        expect((await store.reports.get('R-1'))?._rev).toBe(1);
      });
    });

    describe('upsert', () => {
      it('inserts with _rev 1, then overwrites with _rev + 1, returning the record', async () => {
        const first = await store.reports.upsert(aReport('R-1'));
        expect(first).toEqual({ ...aReport('R-1'), _rev: 1 });
        const second = await store.reports.upsert(aReport('R-1', { statusGroup: 'fixed' }));
        expect(second).toEqual({ ...aReport('R-1', { statusGroup: 'fixed' }), _rev: 2 });
        expect(await store.reports.get('R-1')).toEqual(second);
        expect(await store.reports.count({ field: 'statusGroup', equals: 'open' })).toBe(0);
        expect(await store.reports.count({ field: 'statusGroup', equals: 'fixed' })).toBe(1);
      });

      it('counts every one of 10 concurrent upserts and leaves one index entry', async () => {
        const saved = await Promise.all(Array.from({ length: 10 }, (_, i) => store.reports.upsert(aReport('R-1', { category: `c${i}` }))));
        expect(saved.map((record) => record._rev).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        const last = saved.find((record) => record._rev === 10)!;
        expect(await store.reports.get('R-1')).toEqual(last);
        for (let i = 0; i < 10; i += 1) {
          const expected = `c${i}` === last.category ? 1 : 0;
          expect(await store.reports.count({ field: 'category', equals: `c${i}` })).toBe(expected);
        }
      });
    });

    describe('find and count', () => {
      beforeEach(async () => {
        // Two reports share createdAt with R-2 so that ties are broken by _id.
        await store.reports.insert(aReport('R-3', { createdAt: at(10) }));
        await store.reports.insert(aReport('R-1', { createdAt: at(20) }));
        await store.reports.insert(aReport('R-2', { createdAt: at(10) }));
        await store.reports.insert(aReport('R-4', { createdAt: at(5), statusGroup: 'fixed' }));
        await store.reports.insert(aReport('R-5', { createdAt: at(30), residentAddress: 'telegram:9' }));
      });

      const ids = (records: { _id: string }[]) => records.map((record) => record._id);

      it('orders by the sort field then _id, ascending and descending, with limit', async () => {
        const open = { field: 'statusGroup', equals: 'open' } as const;
        expect(ids(await store.reports.find(open))).toEqual(['R-2', 'R-3', 'R-1', 'R-5']);
        expect(ids(await store.reports.find(open, { order: 'asc', limit: 2 }))).toEqual(['R-2', 'R-3']);
        expect(ids(await store.reports.find(open, { order: 'desc' }))).toEqual(['R-5', 'R-1', 'R-3', 'R-2']);
        expect(ids(await store.reports.find(open, { order: 'desc', limit: 3 }))).toEqual(['R-5', 'R-1', 'R-3']);
        const byResident = { field: 'residentAddress', equals: 'sms:+15550000001' } as const;
        expect(ids(await store.reports.find(byResident, { order: 'desc', limit: 1 }))).toEqual(['R-1']);
        expect(ids(await store.reports.find({ field: 'category', equals: 'pothole' }, { limit: 10 }))).toHaveLength(5);
      });

      it('starts at a sort value, inclusive, in either order', async () => {
        const open = { field: 'statusGroup', equals: 'open' } as const;
        expect(ids(await store.reports.find(open, { from: at(10) }))).toEqual(['R-2', 'R-3', 'R-1', 'R-5']);
        expect(ids(await store.reports.find(open, { from: at(11) }))).toEqual(['R-1', 'R-5']);
        expect(ids(await store.reports.find(open, { from: at(20), limit: 1 }))).toEqual(['R-1']);
        expect(ids(await store.reports.find(open, { order: 'desc', from: at(20) }))).toEqual(['R-1', 'R-3', 'R-2']);
        expect(ids(await store.reports.find(open, { order: 'desc', from: at(19), limit: 1 }))).toEqual(['R-3']);
        expect(ids(await store.reports.find(open, { order: 'desc', from: at(9) }))).toEqual([]);
        expect(ids(await store.reports.find(open, { from: at(31) }))).toEqual([]);
        // Numbers too, and a wrong type or an index without a sort field is refused.
        for (const seq of [3, 1, 2]) await store.transcripts.insert(aTranscriptEntry('c', seq));
        const from2 = await store.transcripts.find({ field: 'conversationId', equals: 'c' }, { from: 2 });
        expect(from2.map((entry) => entry.seq)).toEqual([2, 3]);
        await expect(store.reports.find(open, { from: 10 })).rejects.toThrow(/from must be/);
        await expect(store.reports.find(open, { from: new Date(Number.NaN) })).rejects.toThrow(/from must be/);
        await expect(store.transcripts.find({ field: 'inboundKey', equals: 'k' }, { from: 1 })).rejects.toThrow(/no sort field/);
      });

      it('reads every record of a value a page at a time (findEvery), runs of one sort value longer than a page included', async () => {
        const open = { field: 'statusGroup', equals: 'open' } as const;
        for (const [n, minute] of [6, 10, 10, 10, 10, 10, 10, 10, 12, 12, 40].entries()) {
          await store.reports.insert(aReport(`R-${String(10 + n)}`, { createdAt: at(minute) }));
        }
        const all = ids(await store.reports.find(open));
        expect(all).toHaveLength(15);
        for (const page of [1, 2, 3, 4, 100]) {
          expect(ids(await findEvery(store.reports, open, (report) => report.createdAt, page))).toEqual(all);
        }
      });

      it('finds by an element of an indexed array (multikey), and follows its changes', async () => {
        const idea = (id: string, similarTerms: string[] | undefined, minute: number) => ({
          _id: id,
          title: 't',
          details: '',
          authorAddress: 'sms:+1',
          channel: 'sms' as const,
          status: 'new' as const,
          kind: 'idea' as const,
          createdAt: at(minute),
          ...(similarTerms ? { similarTerms } : {}),
        });
        await store.ideas.insert(idea('I-1', ['bike', 'rack', 'bike'], 1));
        await store.ideas.insert(idea('I-2', ['bike', 'lane'], 2));
        await store.ideas.insert(idea('I-3', undefined, 3));
        const bike = { field: 'similarTerms', equals: 'bike' } as const;
        expect(ids(await store.ideas.find(bike, { order: 'desc' }))).toEqual(['I-2', 'I-1']);
        expect(await store.ideas.count(bike)).toBe(2);
        expect(ids(await store.ideas.find({ field: 'similarTerms', equals: 'rack' }))).toEqual(['I-1']);
        const first = (await store.ideas.get('I-1'))!;
        expect(await store.ideas.replace({ ...first, similarTerms: ['rack'] }, first._rev)).toBe(true);
        expect(ids(await store.ideas.find(bike))).toEqual(['I-2']);
        const { similarTerms: _dropped, ...second } = (await store.ideas.get('I-2'))!;
        expect(await store.ideas.replace(second, second._rev)).toBe(true);
        expect(await store.ideas.count(bike)).toBe(0);
        await expect(store.ideas.find({ field: 'similarTerms', equals: 1 as unknown as string })).rejects.toThrow(/must be a string/);
      });

      it('returns whole records', async () => {
        const [first] = await store.reports.find({ field: 'statusGroup', equals: 'fixed' });
        expect(first).toEqual({ ...aReport('R-4', { createdAt: at(5), statusGroup: 'fixed' }), _rev: 1 });
      });

      it('matches equality exactly, not by prefix', async () => {
        await store.reports.insert(aReport('R-6', { residentAddress: 'sms:+155500000011' }));
        const byResident = { field: 'residentAddress', equals: 'sms:+15550000001' } as const;
        expect(ids(await store.reports.find(byResident))).toEqual(['R-4', 'R-2', 'R-3', 'R-1']);
        expect(await store.reports.find({ field: 'residentAddress', equals: 'sms:+1555' })).toEqual([]);
      });

      it('finds by a boolean field ordered by a date', async () => {
        await store.residents.insert(aResident('sms:+1', { lastSeenAt: at(9) }));
        await store.residents.insert(aResident('sms:+2', { lastSeenAt: at(3) }));
        await store.residents.insert(aResident('sms:+3', { volunteerCalls: false }));
        expect(ids(await store.residents.find({ field: 'volunteerCalls', equals: true }))).toEqual(['sms:+2', 'sms:+1']);
        expect(ids(await store.residents.find({ field: 'volunteerCalls', equals: false }))).toEqual(['sms:+3']);
        expect(await store.residents.count({ field: 'volunteerCalls', equals: true })).toBe(2);
      });

      it('orders by a number field numerically', async () => {
        for (const seq of [10, 2, 0, 1, 100]) await store.transcripts.insert(aTranscriptEntry('c', seq));
        await store.transcripts.insert(aTranscriptEntry('other', 5));
        const found = await store.transcripts.find({ field: 'conversationId', equals: 'c' });
        expect(found.map((entry) => entry.seq)).toEqual([0, 1, 2, 10, 100]);
        const last = await store.transcripts.find({ field: 'conversationId', equals: 'c' }, { order: 'desc', limit: 2 });
        expect(last.map((entry) => entry.seq)).toEqual([100, 10]);
      });

      it('follows changes to the indexed and the sort field, leaving no stale entries', async () => {
        const r2 = (await store.reports.get('R-2'))!;
        expect(await store.reports.replace({ ...r2, statusGroup: 'fixed' }, r2._rev)).toBe(true);
        expect(ids(await store.reports.find({ field: 'statusGroup', equals: 'open' }))).toEqual(['R-3', 'R-1', 'R-5']);
        expect(ids(await store.reports.find({ field: 'statusGroup', equals: 'fixed' }))).toEqual(['R-4', 'R-2']);

        await store.reports.upsert(aReport('R-3', { createdAt: at(40) }));
        expect(ids(await store.reports.find({ field: 'statusGroup', equals: 'open' }))).toEqual(['R-1', 'R-5', 'R-3']);
        expect(await store.reports.count({ field: 'statusGroup', equals: 'open' })).toBe(3);
        expect(await store.reports.count({ field: 'category', equals: 'pothole' })).toBe(5);
      });

      it('forgets deleted records', async () => {
        expect(await store.reports.delete('R-1')).toBe(true);
        expect(await store.reports.delete('R-1')).toBe(false);
        expect(await store.reports.get('R-1')).toBeNull();
        expect(ids(await store.reports.find({ field: 'statusGroup', equals: 'open' }))).toEqual(['R-2', 'R-3', 'R-5']);
        expect(await store.reports.count({ field: 'category', equals: 'pothole' })).toBe(4);
        // Inserting the id again starts over at _rev 1, with fresh index entries.
        expect(await store.reports.insert(aReport('R-1', { statusGroup: 'closed' }))).toBe(true);
        expect((await store.reports.get('R-1'))?._rev).toBe(1);
        expect(ids(await store.reports.find({ field: 'statusGroup', equals: 'closed' }))).toEqual(['R-1']);
        expect(await store.reports.count({ field: 'statusGroup', equals: 'open' })).toBe(3);
      });

      it("derives a sign-up's spot key on every write: only a confirmed sign-up holds its shift's or role's spot", async () => {
        const spots = (key: string) => store.signups.count({ field: 'confirmedIn', equals: key });
        const base = { roleId: 'V-1', name: 'Ana', channel: 'sms' as const, createdAt: at(0), updatedAt: at(0) };
        await store.signups.insert({ ...base, _id: 'S-1|sms:+15550000001', shiftId: 'S-1', address: 'sms:+15550000001', status: 'confirmed' });
        await store.signups.insert({ ...base, _id: 'S-1|sms:+15550000002', shiftId: 'S-1', address: 'sms:+15550000002', status: 'waitlisted' });
        // A key a writer set by mistake is corrected, not trusted.
        await store.signups.insert({ ...base, _id: 'V-1|sms:+15550000003', address: 'sms:+15550000003', status: 'confirmed', confirmedIn: 'shift|S-1' });
        expect([await spots('shift|S-1'), await spots('role|V-1')]).toEqual([1, 1]);
        const waiting = await store.signups.get('S-1|sms:+15550000002');
        expect(waiting?.confirmedIn).toBeUndefined();
        // Promoted: the spot is taken; withdrawn: it is free again.
        expect(await store.signups.replace({ ...waiting!, status: 'confirmed' }, waiting!._rev)).toBe(true);
        expect(await spots('shift|S-1')).toBe(2);
        const first = await store.signups.get('S-1|sms:+15550000001');
        await store.signups.upsert({ ...first!, status: 'cancelled', cancelledBy: 'resident' });
        expect(await spots('shift|S-1')).toBe(1);
        expect((await store.signups.get('S-1|sms:+15550000001'))?.confirmedIn).toBeUndefined();
        await store.signups.delete('S-1|sms:+15550000002');
        expect(await spots('shift|S-1')).toBe(0);
      });

      it('counts zero and finds nothing for an unused value', async () => {
        expect(await store.reports.count({ field: 'statusGroup', equals: 'closed' })).toBe(0);
        expect(await store.reports.find({ field: 'statusGroup', equals: 'closed' })).toEqual([]);
      });

      it('throws on a field without a declared index', async () => {
        const where = { field: 'description', equals: 'x' } as const;
        await expect(store.reports.find(where)).rejects.toThrow(/no index on "description"/);
        await expect(store.reports.count(where)).rejects.toThrow(/no index on "description"/);
        await expect(store.conversations.find({ field: 'address', equals: 'x' })).rejects.toThrow(/no index/);
      });

      it('rejects a where value that is not a primitive of the field type', async () => {
        const injection = { field: 'residentAddress', equals: { $gt: '' } as unknown as string } as const;
        await expect(store.reports.find(injection)).rejects.toThrow(/must be a string/);
        await expect(store.reports.count(injection)).rejects.toThrow(/must be a string/);
        await expect(store.residents.find({ field: 'volunteerCalls', equals: 'true' })).rejects.toThrow(/must be a boolean/);
        await expect(store.reports.find({ field: 'statusGroup', equals: 'open' }, { limit: 0 })).rejects.toThrow(/limit/);
      });

      it('rejects an id that is not a string', async () => {
        const id = { $ne: null } as unknown as string;
        await expect(store.reports.get(id)).rejects.toThrow(/id must be a string/);
        await expect(store.reports.delete(id)).rejects.toThrow(/id must be a string/);
      });
    });

    describe('validation', () => {
      it('rejects an invalid record naming the fields but not the values, and writes nothing', async () => {
        const phone = '+15557654321';
        const bad = aResident(`sms:${phone}`, {
          channel: 'fax' as never,
          createdAt: `yesterday ${phone}` as never,
          locale: undefined as never,
        });
        const failure = await store.residents.insert(bad).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(Error);
        const message = (failure as Error).message;
        expect(message).toContain('residents');
        expect(message).toContain('channel');
        expect(message).toContain('createdAt');
        expect(message).toContain('locale');
        expect(message).not.toContain(phone);
        expect(message).not.toContain('fax');
        expect(await store.residents.get(`sms:${phone}`)).toBeNull();
      });

      it('validates replace and upsert too', async () => {
        await store.reports.insert(aReport('R-1'));
        const bad = aReport('R-1', { statusGroup: 'pending' as never });
        await expect(store.reports.replace(bad, 1)).rejects.toThrow(/reports: .*statusGroup/);
        await expect(store.reports.upsert(bad)).rejects.toThrow(/reports: .*statusGroup/);
        expect(await store.reports.get('R-1')).toEqual({ ...aReport('R-1'), _rev: 1 });
      });

      it('refuses a field the schema does not have, rather than dropping it', async () => {
        const extra = { ...aReport('R-1'), priority: 'high' };
        await expect(store.reports.insert(extra)).rejects.toThrow(/reports: .*priority \(not in schema\)/);
        const nested = aReport('R-1', { location: { point: { lat: 1, lon: 2, altitude: 3 } as never } });
        await expect(store.reports.insert(nested)).rejects.toThrow(/reports: .*location/);
        expect(await store.reports.get('R-1')).toBeNull();
      });

      it('refuses keys that are too long or contain NUL', async () => {
        await expect(store.reports.insert(aReport('R-\0'))).rejects.toThrow(/_id/);
        const longAddress = aReport('R-1', { residentAddress: 'x'.repeat(201) });
        await expect(store.reports.insert(longAddress)).rejects.toThrow(/residentAddress/);
      });
    });

    describe('media', () => {
      it('keeps a photo with its type, and finds nothing for an unknown or malformed id', async () => {
        const bytes = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(300_000, 7)]);
        const id = await store.media.save(bytes, 'image/png');
        expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
        const read = await store.media.read(id);
        expect(read?.contentType).toBe('image/png');
        expect(read?.bytes.equals(bytes)).toBe(true);
        expect(await store.media.read('AAAAAAAAAAAAAAAAAAAAAA')).toBeNull();
        expect(await store.media.read('../../etc/passwd')).toBeNull();
        await expect(store.media.save(bytes, 'text/html')).rejects.toThrow('Not an accepted image type');
      });

      const owner = { conversation: 'webchat:c1', client: 'client-1' };
      const photo = (size: number) => Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(size - 8, 3)]);
      /** A photo as a stream of 64 KB chunks, failing after `failAfter` bytes when given. */
      const streamOf = (bytes: Buffer, failAfter?: number) =>
        Readable.from(
          (async function* () {
            for (let at = 0; at < bytes.length; at += 65_536) {
              if (failAfter !== undefined && at >= failAfter) throw new Error('limit passed');
              yield bytes.subarray(at, at + 65_536);
            }
          })(),
        );

      it('stores a photo from a stream, serves it as one, and counts the bytes of all photos', async () => {
        const bytes = photo(700_000);
        const before = await store.media.totalBytes();
        const id = await store.media.save(streamOf(bytes), 'image/png', owner);
        expect((await store.media.read(id))?.bytes.equals(bytes)).toBe(true);
        const file = await store.media.open(id);
        expect(file).toMatchObject({ contentType: 'image/png', bytes: bytes.length });
        const chunks: Buffer[] = [];
        for await (const chunk of file!.stream) chunks.push(chunk as Buffer);
        expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
        expect(await store.media.totalBytes()).toBe(before + bytes.length);
        expect(await store.media.open('AAAAAAAAAAAAAAAAAAAAAA')).toBeNull();
        // Counted afresh by a store opened later (a sum over the photos, a count of the folder).
        await store.close();
        const reopened = await subject.reopen();
        opened.push(reopened);
        expect(await reopened.media.totalBytes()).toBe(before + bytes.length);
        expect(await reopened.media.remove(id)).toBe(true);
        expect(await reopened.media.totalBytes()).toBe(before);
        expect(await reopened.media.read(id)).toBeNull();
        expect(await reopened.media.remove(id)).toBe(false);
      });

      it('keeps nothing of a photo whose stream fails, nor its ledger entry', async () => {
        const before = await store.media.totalBytes();
        await expect(store.media.save(streamOf(photo(1_000_000), 300_000), 'image/png', owner)).rejects.toThrow('limit passed');
        expect(await store.media.totalBytes()).toBe(before);
        expect(await store.media.usage(owner, new Date(0))).toEqual({ conversationPhotos: 0, clientPhotos: 0, clientBytes: 0 });
        expect(await store.media.pending(new Date(Date.now() + 60_000), 10)).toEqual([]);
      });

      it("keeps the uploads' ledger: what an owner sent in a window, pending ones by pages, settled and forgotten", async () => {
        const start = new Date();
        const ids: string[] = [];
        for (const [conversation, client, size] of [
          ['webchat:c1', 'client-1', 1000],
          ['webchat:c1', 'client-1', 2000],
          ['webchat:c2', 'client-1', 3000],
          ['webchat:c3', 'client-2', 4000],
        ] as const) {
          ids.push(await store.media.save(photo(size), 'image/png', { conversation, client }));
        }
        // Not an upload: stored, in no ledger.
        await store.media.save(photo(500), 'image/png');
        expect(await store.media.usage(owner, new Date(start.getTime() - 1000))).toEqual({ conversationPhotos: 2, clientPhotos: 3, clientBytes: 6000 });
        expect(await store.media.usage(owner, new Date(Date.now() + 1000))).toEqual({ conversationPhotos: 0, clientPhotos: 0, clientBytes: 0 });

        const later = new Date(Date.now() + 60_000);
        const firstPage = await store.media.pending(later, 3);
        expect(firstPage.map((entry) => entry.id)).toEqual(ids.slice(0, 3));
        expect(firstPage[0]).toMatchObject({ conversation: 'webchat:c1', client: 'client-1', bytes: 1000, pending: true });
        expect(firstPage[0]!.at).toBeInstanceOf(Date);
        expect((await store.media.pending(later, 3, firstPage[2])).map((entry) => entry.id)).toEqual(ids.slice(3));
        expect(await store.media.pending(start, 10)).toEqual([]);

        await store.media.settle(ids[0]!);
        expect(await store.media.remove(ids[1]!)).toBe(true);
        expect((await store.media.pending(later, 10)).map((entry) => entry.id)).toEqual(ids.slice(2));
        // Settled still counts for the day; removed does not.
        expect(await store.media.usage(owner, new Date(0))).toEqual({ conversationPhotos: 1, clientPhotos: 2, clientBytes: 4000 });
        // Forgetting drops settled entries only; the photo stays.
        expect(await store.media.forget(later)).toBe(1);
        expect(await store.media.usage(owner, new Date(0))).toEqual({ conversationPhotos: 0, clientPhotos: 1, clientBytes: 3000 });
        expect((await store.media.read(ids[0]!))?.contentType).toBe('image/png');
      });
    });

    describe('lifecycle', () => {
      it('pings', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('keeps what was written across close and reopen', async () => {
        await store.reports.insert(aReport('R-1'));
        await store.reports.upsert(aReport('R-2', { statusGroup: 'fixed' }));
        await store.reports.replace(aReport('R-1', { statusGroup: 'closed' }), 1);
        await store.reports.insert(aReport('R-3'));
        await store.reports.delete('R-3');
        await store.close();

        const reopened = await subject.reopen();
        opened.push(reopened);
        expect(await reopened.reports.get('R-1')).toEqual({ ...aReport('R-1', { statusGroup: 'closed' }), _rev: 2 });
        expect(await reopened.reports.get('R-3')).toBeNull();
        const potholes = await reopened.reports.find({ field: 'category', equals: 'pothole' });
        expect(potholes.map((report) => report._id)).toEqual(['R-1', 'R-2']);
        expect(await reopened.reports.count({ field: 'statusGroup', equals: 'fixed' })).toBe(1);
      });
    });
  });
}

describeStoreContract('embedded (LMDB)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'civicline-store-'));
  return {
    store: await openEmbeddedStore(dir),
    reopen: () => openEmbeddedStore(dir),
    destroy: () => rm(dir, { recursive: true, force: true }),
  };
});

const mongodbUri = process.env['MONGODB_URI'];
if (mongodbUri) {
  describeStoreContract('MongoDB', async () => {
    // A database per test, dropped afterwards, so tests neither see nor clean up each other.
    const database = `civicline_test_${process.pid}_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
    const uri = withDatabase(mongodbUri, database);
    return {
      store: await openMongoStore(uri),
      reopen: () => openMongoStore(uri),
      destroy: async () => {
        const connection = await mongoose.createConnection(uri).asPromise();
        await connection.dropDatabase();
        await connection.close();
      },
    };
  });
} else {
  console.info('MongoDB contract tests skipped: MONGODB_URI is not set');
  describe.skip('store contract: MongoDB (MONGODB_URI is not set)', () => {
    it('runs the contract against MongoDB', () => {});
  });
}
