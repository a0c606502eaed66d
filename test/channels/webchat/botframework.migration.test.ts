/**
 * The migration of Bot Framework residents out of Direct Line's address space (issue 16, finding
 * 8), on the store the project runs (embedded, or MongoDB in the `mongodb` project): records the
 * Bot Framework made under `webchat:<id>` move to `webchat:bf:<channelId>:<id>`, Direct Line's
 * stay, a resident with both keeps Direct Line, a run cut off at any write finishes on the next,
 * and the service runs it at start, after which the moved conversation goes on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createService } from '../../../src/service.js';
import { openStore } from '../../../src/store/open-store.js';
import type { Collection, Collections, Store } from '../../../src/store/store.port.js';
import type { StoredRecord } from '../../../src/domain/records.js';
import { botFrameworkAddress } from '../../../src/channels/webchat/activity-mapping.js';
import { BOT_FRAMEWORK_ADDRESSES_MIGRATION, migrateBotFrameworkAddresses, sharedWebchatAddress } from '../../../src/channels/webchat/botframework.migration.js';
import { inboundKeyOf } from '../../../src/pipeline/turn-pipeline.js';
import { freshTestStore, ON_MONGODB, type TestStore } from '../../support/test-store.js';
import { startFakeConnector, type FakeConnector } from '../../support/fake-connector.js';
import { aConversation, aReport, aResident, aTranscriptEntry, at } from '../../store/store-records.fixture.js';

const silent = pino({ level: 'silent' });

/** A store of its own (a temp folder, or a fresh MongoDB database), opened and later removed. */
async function scratchStore(): Promise<{ store: Store; dataDir: string; testStore: TestStore; close(): Promise<void>; remove(): Promise<void> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-bf-migration-'));
  const testStore = freshTestStore();
  const store = await openStore({ dataDir, mongodbUri: testStore.env['MONGODB_URI'] });
  let open = true;
  const close = async () => {
    open = false;
    await store.close();
  };
  return {
    store,
    dataDir,
    testStore,
    close,
    async remove() {
      if (open) await close();
      await testStore.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** What one seeded resident left in the store, by the address it was stored under. */
interface Seeded {
  address: string;
  conversationId: string;
  /** Their report and idea ids (ids that do not change). */
  report: string;
  idea: string;
}

/**
 * A resident with one of every record that names an address, the way the version before the
 * separation stored them. `bf` adds a Bot Framework conversation reference (channel `msteams`,
 * posting to `serviceUrl`), `directLine` a Direct Line log (or only where a deleted log ended).
 */
async function seedResident(
  store: Collections,
  conversationId: string,
  kind: { bf?: { serviceUrl?: string; channelId?: string }; directLine?: 'log' | 'floor' },
): Promise<Seeded> {
  const address = sharedWebchatAddress(conversationId);
  const tag = randomUUID().slice(0, 8).toUpperCase();
  const report = `R-${tag}`;
  const idea = `I-${tag}`;
  expect(await store.residents.insert(aResident(address, { channel: 'webchat', volunteerCalls: false, name: 'Ada' }))).toBe(true);
  await store.conversations.insert(aConversation(address, { transcriptLength: 2 }));
  await store.transcripts.insert(
    aTranscriptEntry(address, 0, {
      _id: `${address}#00000000`,
      channel: 'webchat',
      text: 'pothole on Elm',
      providerMessageId: 'activity-1',
      inboundKey: inboundKeyOf(address, 'webchat:activity-1'),
    }),
  );
  await store.transcripts.insert(aTranscriptEntry(address, 1, { _id: `${address}#00000001`, channel: 'webchat', direction: 'out', text: 'Where is it?' }));
  await store.reports.insert(aReport(report, { residentAddress: address, channel: 'webchat' }));
  await store.ideas.insert({
    _id: idea,
    title: 'More benches',
    details: '',
    authorAddress: address,
    channel: 'webchat',
    status: 'new',
    kind: 'idea',
    createdAt: at(2),
  });
  await store.ideaSupports.insert({ _id: `I-OTHER|${address}`, ideaId: 'I-OTHER', address, at: at(3) });
  await store.signups.insert({
    _id: `V-PARK|${address}`,
    roleId: 'V-PARK',
    address,
    name: 'Ada',
    channel: 'webchat',
    status: 'confirmed',
    createdAt: at(4),
    updatedAt: at(4),
  });
  await store.deliveries.insert({
    _id: `B-CALL|${address}`,
    broadcastId: 'B-CALL',
    address,
    channel: 'webchat',
    locale: 'en',
    seq: 0,
    state: 'sent',
    bucket: 'B-CALL|sent|webchat',
    attempts: 1,
    createdAt: at(5),
    updatedAt: at(5),
  });
  await store.outbound.insert({
    _id: `O-${tag}`,
    channel: 'webchat',
    address,
    text: 'Your report is in progress.',
    purpose: 'status_update',
    state: 'sent',
    attempts: 1,
    createdAt: at(6),
    updatedAt: at(6),
  });
  await store.handoffs.insert({ _id: `${address}|hi|handoff`, address, channel: 'webchat', reason: 'asked', status: 'open', at: at(7) });
  await store.consentEvents.insert({ _id: `${address}|stop|consent`, address, channel: 'webchat', kind: 'opt_out', keyword: 'STOP', at: at(8) });
  if (kind.bf) {
    await store.meta.insert({
      _id: `botframework-reference|${address}`,
      value: {
        channelId: kind.bf.channelId ?? 'msteams',
        serviceUrl: kind.bf.serviceUrl ?? 'https://smba.trafficmanager.net/amer/',
        conversation: { id: conversationId, isGroup: false },
        bot: { id: 'civicline-bot' },
        user: { id: 'resident-1' },
        locale: 'en-US',
      },
    });
  }
  if (kind.directLine === 'log') {
    await store.webchatActivities.insert({ _id: `${conversationId}|0000000`, conversationId, seq: 0, activity: { type: 'message', text: 'hi' }, at: at(0) });
  } else if (kind.directLine === 'floor') {
    await store.meta.insert({ _id: `webchat-floor|${conversationId}`, value: 4 });
  }
  return { address, conversationId, report, idea };
}

/**
 * Every record that names `address`, by kind, for comparing a resident's two homes: the address
 * (and `formerly`, the one it had) reads `<address>` in them, and revisions are left out.
 */
async function recordsOf(store: Collections, address: string, formerly?: string): Promise<Record<string, unknown>> {
  const plain = (record: StoredRecord | null): unknown => {
    if (!record) return null;
    const { _rev: _revision, ...rest } = record as StoredRecord & { inboundKey?: string; channel?: string; providerMessageId?: string };
    // A transcript entry's replay key is made of its address: the right one for where it is, or as found.
    if (rest.inboundKey && rest.inboundKey === inboundKeyOf(address, `${rest.channel}:${rest.providerMessageId}`)) rest.inboundKey = '<inbound key>';
    const named = (text: string) => [address, ...(formerly ? [formerly] : [])].reduce((each, name) => each.split(name).join('<address>'), text);
    return JSON.parse(JSON.stringify(rest), (_key, value: unknown) => (typeof value === 'string' ? named(value) : value));
  };
  const byAddress = async <T extends StoredRecord & { address: string }>(collection: Collection<T>) =>
    (await collection.find({ field: 'address', equals: address })).map(plain);
  return {
    resident: plain(await store.residents.get(address)),
    conversation: plain(await store.conversations.get(address)),
    reference: plain(await store.meta.get(`botframework-reference|${address}`)),
    transcript: (await store.transcripts.find({ field: 'conversationId', equals: address })).map(plain),
    reports: (await store.reports.find({ field: 'residentAddress', equals: address })).map(plain),
    ideas: (await store.ideas.find({ field: 'authorAddress', equals: address })).map(plain),
    supports: await byAddress(store.ideaSupports),
    signups: await byAddress(store.signups),
    deliveries: await byAddress(store.deliveries),
    outbound: await byAddress(store.outbound),
    handoffs: await byAddress(store.handoffs),
    consent: await byAddress(store.consentEvents),
  };
}

/** The ids made of an address (transcript lines, supports, sign-ups, deliveries) name the new one. */
async function expectIdsNamed(store: Collections, address: string): Promise<void> {
  const transcript = await store.transcripts.find({ field: 'conversationId', equals: address });
  expect(transcript.length).toBeGreaterThan(0);
  for (const entry of transcript) expect(entry._id.startsWith(`${address}#`), entry._id).toBe(true);
  for (const collection of [store.ideaSupports, store.signups, store.deliveries] as Collection<StoredRecord & { address: string }>[]) {
    const records = await collection.find({ field: 'address', equals: address });
    expect(records).toHaveLength(1);
    for (const record of records) expect(record._id.endsWith(`|${address}`), record._id).toBe(true);
  }
}

/** Nothing names the address any more. */
const EMPTY = {
  resident: null,
  conversation: null,
  reference: null,
  transcript: [],
  reports: [],
  ideas: [],
  supports: [],
  signups: [],
  deliveries: [],
  outbound: [],
  handoffs: [],
  consent: [],
};

/** The store with every write after the first `writes` throwing, as if the process died there. */
function dyingAfter(store: Store, writes: number): Store {
  let count = 0;
  const wrap = <T extends object>(collection: T): T =>
    new Proxy(collection, {
      get(target, property) {
        const value = Reflect.get(target, property) as unknown;
        if (typeof value !== 'function') return value;
        if (!['insert', 'upsert', 'replace', 'delete'].includes(String(property))) return value.bind(target);
        return (...args: unknown[]) => {
          count += 1;
          if (count > writes) return Promise.reject(new Error('the process died here'));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  return new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'object' && value !== null && 'find' in value ? wrap(value) : value;
    },
  });
}

describe('moving Bot Framework residents out of the Direct Line address space', () => {
  let scratch: Awaited<ReturnType<typeof scratchStore>>;
  beforeAll(async () => {
    scratch = await scratchStore();
  });
  afterAll(() => scratch.remove());

  it("moves the Bot Framework's residents and everything naming them, and leaves Direct Line's", async () => {
    const { store } = scratch;
    const bf = await seedResident(store, `a:${randomUUID()}`, { bf: {} });
    // Teams-like: longer than the old address kept as is (its old address was a hash).
    const long = await seedResident(store, `19:${'x'.repeat(130)}@thread.v2`, { bf: { channelId: 'msteams' } });
    const directLine = await seedResident(store, 'Dl7dR2x0aQm-4Zk_9PqYwA', { directLine: 'log' });
    // A Direct Line resident whose id a Bot Framework activity named (the bug): stays Direct Line's.
    const named = await seedResident(store, 'Kq3dR2x0aQm-4Zk_9PqYwB', { bf: {}, directLine: 'log' });
    // The same after they deleted their data (only where their log ended is left).
    const deleted = await seedResident(store, 'Zz3dR2x0aQm-4Zk_9PqYwC', { bf: {}, directLine: 'floor' });
    const before = {
      bf: await recordsOf(store, bf.address),
      long: await recordsOf(store, long.address),
      directLine: await recordsOf(store, directLine.address),
      named: await recordsOf(store, named.address),
      deleted: await recordsOf(store, deleted.address),
    };
    expect(long.address).toMatch(/^webchat:[0-9a-f]{64}$/);

    expect(await migrateBotFrameworkAddresses(store, silent)).toEqual({ moved: 2, keptOnDirectLine: 2, unreadable: 0 });

    const bfHome = botFrameworkAddress('msteams', bf.conversationId);
    expect(bfHome).toBe(`webchat:bf:msteams:${bf.conversationId}`);
    expect(await recordsOf(store, bfHome, bf.address)).toEqual(before.bf);
    await expectIdsNamed(store, bfHome);
    expect(await recordsOf(store, bf.address)).toEqual(EMPTY);
    const longHome = botFrameworkAddress('msteams', long.conversationId);
    expect(longHome).toMatch(/^webchat:bf:[0-9a-f]{64}$/);
    expect(await recordsOf(store, longHome, long.address)).toEqual(before.long);
    await expectIdsNamed(store, longHome);
    expect(await recordsOf(store, long.address)).toEqual(EMPTY);
    // The ids that do not change are the same records, now naming the new address.
    expect(await store.reports.get(bf.report)).toMatchObject({ residentAddress: bfHome });
    expect(await store.ideas.get(bf.idea)).toMatchObject({ authorAddress: bfHome });
    expect(await store.signups.get(`V-PARK|${bfHome}`)).toMatchObject({ address: bfHome, status: 'confirmed' });
    expect(await store.signups.get(`V-PARK|${bf.address}`)).toBeNull();

    // Direct Line's residents are untouched, but for the stray references, which are gone.
    expect(await recordsOf(store, directLine.address)).toEqual(before.directLine);
    expect(await recordsOf(store, named.address)).toEqual({ ...before.named, reference: null });
    expect(await recordsOf(store, deleted.address)).toEqual({ ...before.deleted, reference: null });
    for (const kept of [directLine, named, deleted]) {
      expect(await recordsOf(store, botFrameworkAddress('msteams', kept.conversationId))).toEqual(EMPTY);
    }
    expect(await store.webchatActivities.count({ field: 'conversationId', equals: named.conversationId })).toBe(1);

    // Once per store: the marker says it ran; run again without it, it finds nothing left to move.
    expect(await migrateBotFrameworkAddresses(store, silent)).toBeNull();
    expect((await store.meta.get(BOT_FRAMEWORK_ADDRESSES_MIGRATION))?.value).toMatchObject({ moved: 2, keptOnDirectLine: 2 });
    await store.meta.delete(BOT_FRAMEWORK_ADDRESSES_MIGRATION);
    expect(await migrateBotFrameworkAddresses(store, silent)).toEqual({ moved: 0, keptOnDirectLine: 0, unreadable: 0 });
    expect(await recordsOf(store, bfHome, bf.address)).toEqual(before.bf);
  });

  it('leaves a resident whose reference names another conversation as it is', async () => {
    const { store } = scratch;
    const odd = await seedResident(store, `odd-${randomUUID()}`, { bf: {} });
    await store.meta.upsert({ _id: `botframework-reference|${odd.address}`, value: { channelId: 'msteams', conversation: { id: 'someone-else' } } });
    const before = await recordsOf(store, odd.address);
    await store.meta.delete(BOT_FRAMEWORK_ADDRESSES_MIGRATION);
    expect(await migrateBotFrameworkAddresses(store, silent)).toEqual({ moved: 0, keptOnDirectLine: 0, unreadable: 1 });
    expect(await recordsOf(store, odd.address)).toEqual(before);
  });

  it(
    'finishes a run that was cut off at any write',
    async () => {
      const { store } = scratch;
      // One resident per point of death; each run also passes everyone moved before.
      for (let writes = 0; ; writes++) {
        const resident = await seedResident(store, `cut-${writes}-${randomUUID()}`, { bf: {} });
        const expected = await recordsOf(store, resident.address);
        const home = botFrameworkAddress('msteams', resident.conversationId);
        await store.meta.delete(BOT_FRAMEWORK_ADDRESSES_MIGRATION);
        const died = await migrateBotFrameworkAddresses(dyingAfter(store, writes), silent).then(
          () => false,
          () => true,
        );
        // The next start finishes it (or, when it was not cut off, finds it done).
        expect((await migrateBotFrameworkAddresses(store, silent)) !== null, `cut after ${writes} writes`).toBe(died);
        expect(await recordsOf(store, home, resident.address), `cut after ${writes} writes`).toEqual(expected);
        await expectIdsNamed(store, home);
        expect(await recordsOf(store, resident.address), `cut after ${writes} writes`).toEqual(EMPTY);
        if (!died) break; // the whole run fitted: every point of death was tried
      }
    },
    ON_MONGODB ? 300_000 : 60_000,
  );
});

describe('the service runs it at start', () => {
  let connector: FakeConnector;
  beforeAll(async () => {
    connector = await startFakeConnector();
  });
  afterAll(() => connector.close());

  it('moves what an earlier version stored, and the moved conversation goes on', async () => {
    const scratch = await scratchStore();
    try {
      const conversationId = `a:${randomUUID()}`;
      await seedResident(scratch.store, conversationId, { bf: { serviceUrl: connector.url } });
      await scratch.close();
      const config = loadConfig({ DATA_DIR: scratch.dataDir, LOG_LEVEL: 'silent', BOT_FRAMEWORK_DEV_MODE: 'true', ...scratch.testStore.env });
      const service = await createService(config, silent);
      try {
        const home = `webchat:bf:msteams:${conversationId}`;
        expect(await service.store.residents.get(sharedWebchatAddress(conversationId))).toBeNull();
        expect(await service.store.conversations.get(home)).toMatchObject({ transcriptLength: 2 });
        // The channel's next activity is the moved resident's: their conversation goes on.
        const turn = await service.botframework!.receive(
          {
            type: 'message',
            id: randomUUID(),
            channelId: 'msteams',
            serviceUrl: connector.url,
            conversation: { id: conversationId },
            from: { id: 'resident-1' },
            recipient: { id: 'civicline-bot' },
            text: 'menu',
            deliveryMode: 'expectReplies',
          },
          '',
        );
        expect(turn.status).toBe(200);
        expect((await service.store.conversations.get(home))!.transcriptLength).toBeGreaterThan(2);
        expect((await service.store.transcripts.find({ field: 'conversationId', equals: home })).map((e) => e.text).slice(0, 3)).toEqual([
          'pothole on Elm',
          'Where is it?',
          'menu',
        ]);
        // And an update reaches them through their channel.
        const before = connector.posts.length;
        expect(
          await service.messenger.send(home, [{ kind: 'text', text: 'Your report is fixed.' }], { purpose: 'status_update', key: 'moved|1', locale: 'en' }),
        ).toEqual({
          state: 'sent',
        });
        expect(connector.posts.slice(before).map((p) => p.activity.text)).toEqual(['Your report is fixed.']);
      } finally {
        await service.close();
      }
    } finally {
      await scratch.remove();
    }
  });
});
