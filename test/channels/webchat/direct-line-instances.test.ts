/**
 * The self-hosted Direct Line endpoint with several instances on one database and no sticky
 * sessions: positions (watermarks) stay dense and unique when instances log into one conversation
 * at once, a stream on one instance gets what another logged, once each and in order, and a
 * message resent to two instances at once is logged and answered once.
 *
 * On MongoDB the instances are two services on one database. The embedded store is one process's
 * folder, so there they are two Direct Line channels built over one service's store: each with
 * its own locks, listeners and polls, which is all the state an instance's channel keeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Activity } from 'botbuilder';
import { createDirectLineChannel, type ActivitySet, type DirectLineChannel } from '../../../src/channels/webchat/direct-line.channel.js';
import { createTokenSigner, newId, type TokenClaims } from '../../../src/channels/webchat/direct-line-token.js';
import type { WebchatActivityRecord } from '../../../src/domain/records.js';
import type { Collection, Collections } from '../../../src/store/store.port.js';
import { startTestApp, type RunningApp } from '../../support/http.js';
import { freshTestStore, ON_MONGODB, type TestStore } from '../../support/test-store.js';

const apps: RunningApp[] = [];
let shared: TestStore | undefined;
/** Channels this file built (the embedded store's instances, and the racing one): closed after. */
const built: DirectLineChannel[] = [];
let a: DirectLineChannel;
let b: DirectLineChannel;
let tokenSecret: Buffer;

/** A Direct Line channel over the first service's store, as another instance would have. */
function instance(store: Collections = apps[0]!.service.store): DirectLineChannel {
  const { service } = apps[0]!;
  const channel = createDirectLineChannel({
    tokenSecret,
    pipeline: service.pipeline,
    i18n: service.i18n,
    store,
    logger: service.logger,
    cityName: service.config.cityName,
    engine: service.engine,
    pollIntervalMs: 25,
  });
  built.push(channel);
  return channel;
}

beforeAll(async () => {
  if (ON_MONGODB) {
    shared = freshTestStore();
    // One after the other: the first makes the indexes and the token secret the second reads.
    apps.push(await startTestApp(shared.env));
    apps.push(await startTestApp(shared.env));
  } else {
    apps.push(await startTestApp());
  }
  tokenSecret = Buffer.from(String((await apps[0]!.service.store.meta.get('webchat-token-secret'))?.value), 'base64');
  [a, b] = ON_MONGODB ? [apps[0]!.service.directLine, apps[1]!.service.directLine] : [instance(), instance()];
});
afterAll(async () => {
  for (const channel of built) await channel.close();
  for (const app of apps) await app.close();
  await shared?.drop();
});

const store = (): Collections => apps[0]!.service.store;
/** How long a poll of the services' own channels can take to come round (the default interval, with room). */
const SETTLE_MS = 1_000;

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((resolve) => setTimeout(resolve, 10))) {
    if (await check()) return;
  }
  throw new Error(`Timed out waiting for ${what}`);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A new conversation's claims, as a browser's token gives them. */
function conversation(channel: DirectLineChannel = a): TokenClaims {
  return channel.authorize(channel.newConversationToken().token)!;
}

/** The conversation's log as stored, in order. */
function logOf(conversationId: string): Promise<WebchatActivityRecord[]> {
  return store().webchatActivities.find({ field: 'conversationId', equals: conversationId }, { limit: 10_000 });
}

/** An activity's position, from its id (`<conversation>|<position>`). */
function seqOf(activity: Partial<Activity>): number {
  return Number(String(activity.id).split('|')[1]);
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/** What a browser sends: a message with Web Chat's client id. */
function message(text: string, clientActivityID: string = newId()): Record<string, unknown> {
  return { type: 'message', text, from: { id: 'me' }, channelData: { clientActivityID } };
}

function unprompted(channel: DirectLineChannel, conversationId: string, text: string) {
  return channel.send(`webchat:${conversationId}`, [{ text }], { purpose: 'status_update', key: `${text}|${newId()}`, locale: 'en' });
}

/**
 * Checks what a subscriber heard against the log: every activity once, in order, each set's
 * watermark the position of its last activity.
 */
async function expectHeardAsLogged(conversationId: string, heard: ActivitySet[], from: number): Promise<void> {
  const history = await a.history(conversationId, from);
  const activities = heard.flatMap((set) => set.activities);
  expect(activities.map((activity) => activity.id)).toEqual(history.activities.map((activity) => activity.id));
  expect(activities.map(seqOf)).toEqual(range(from + 1, activities.length));
  for (const set of heard) expect(set.watermark).toBe(String(seqOf(set.activities.at(-1)!)));
  expect(heard.at(-1)?.watermark).toBe(history.watermark);
}

describe('Direct Line on several instances', () => {
  it('numbers 20 activities logged at once through two instances 0..19, with no gap or repeat', async () => {
    const { conversationId } = conversation();
    const sent = await Promise.all(range(0, 20).map((i) => unprompted(i % 2 ? b : a, conversationId, `update ${i}`)));
    expect(sent.every((outcome) => outcome.state === 'sent')).toBe(true);
    const log = await logOf(conversationId);
    expect(log.map((entry) => entry.seq)).toEqual(range(0, 20));
    expect(log.map((entry) => entry._id)).toEqual(log.map((entry) => `${conversationId}|${String(entry.seq).padStart(7, '0')}`));
    expect(log.map((entry) => (entry.activity as Partial<Activity>).id)).toEqual(log.map((entry) => entry._id));
    expect(new Set(log.map((entry) => (entry.activity as Partial<Activity>).text)).size).toBe(20);
  });

  it('goes on from where a deleted log ended, whichever instance logs, and streams pass the deleted positions', async () => {
    const { conversationId } = conversation();
    await store().meta.upsert({ _id: `webchat-floor|${conversationId}`, value: 41 });
    await Promise.all(range(0, 6).map((i) => unprompted(i % 2 ? b : a, conversationId, `after ${i}`)));
    expect((await logOf(conversationId)).map((entry) => entry.seq)).toEqual(range(42, 6));
    // A stream behind the deleted positions passes them at once (a hole it would otherwise wait at).
    const heard: ActivitySet[] = [];
    const unsubscribe = a.subscribe(conversationId, 10, (set) => heard.push(set));
    await until(() => heard.length > 0, 'the activities after the deleted ones', 2_000);
    unsubscribe();
    expect(heard.flatMap((set) => set.activities).map(seqOf)).toEqual(range(42, 6));
  });

  it('numbers an activity again when another instance took its position after the tail was read', async () => {
    const { conversationId } = conversation();
    await unprompted(a, conversationId, 'first');
    const activities = store().webchatActivities;
    let interleave = true;
    // This instance reads the tail, then another logs at the position that read says is next.
    const racing: Collection<WebchatActivityRecord> = {
      get: (id) => activities.get(id),
      insert: (record) => activities.insert(record),
      upsert: (record) => activities.upsert(record),
      replace: (record, rev) => activities.replace(record, rev),
      count: (where) => activities.count(where),
      delete: (id) => activities.delete(id),
      async find(where, options) {
        const found = await activities.find(where, options);
        if (interleave && options?.limit === 1) {
          interleave = false;
          await unprompted(b, conversationId, 'from the other instance');
        }
        return found;
      },
    };
    const late = instance({ ...store(), webchatActivities: racing });
    expect(await unprompted(late, conversationId, 'numbered again')).toEqual({ state: 'sent' });
    const log = await logOf(conversationId);
    expect(log.map((entry) => [entry.seq, (entry.activity as Partial<Activity>).text])).toEqual([
      [0, 'first'],
      [1, 'from the other instance'],
      [2, 'numbered again'],
    ]);
  });

  it('gives a subscriber on one instance what another logged, once each and in order, with the history’s watermarks', async () => {
    const claims = conversation(b);
    const heard: ActivitySet[] = [];
    const unsubscribe = a.subscribe(claims.conversationId, -1, (set) => heard.push(set));
    await b.start(claims);
    const posted = await b.post(claims, message('menu'));
    expect(posted).toHaveProperty('id');
    // Both ways at once: A's own appends reach its subscriber at once, B's by A's poll, and A's
    // may land after B's that A has not read yet (a hole it must wait at, not skip).
    await Promise.all([
      b.post(claims, message('volunteer')),
      unprompted(a, claims.conversationId, 'Your report is fixed.'),
      unprompted(b, claims.conversationId, 'Volunteers needed Saturday!'),
      unprompted(a, claims.conversationId, 'Thanks for your idea.'),
    ]);
    const logged = (await logOf(claims.conversationId)).length;
    await until(() => heard.flatMap((set) => set.activities).length >= logged, 'the subscriber to hear the whole log');
    await pause(SETTLE_MS); // nothing arrives twice later
    await expectHeardAsLogged(claims.conversationId, heard, -1);
    const replies = heard.flatMap((set) => set.activities).filter((activity) => activity.replyToId === (posted as { id: string }).id);
    expect(replies.length).toBeGreaterThan(0);

    // Unsubscribed: nothing more, from either instance.
    unsubscribe();
    const before = heard.length;
    await unprompted(a, claims.conversationId, 'after');
    await unprompted(b, claims.conversationId, 'after, elsewhere');
    await pause(SETTLE_MS);
    expect(heard).toHaveLength(before);
  });

  it('starts a subscriber where it asks, and gives it what it missed however far back', async () => {
    const { conversationId } = conversation();
    for (const i of range(0, 25)) await unprompted(b, conversationId, `earlier ${i}`);
    const heard: ActivitySet[] = [];
    const unsubscribe = a.subscribe(conversationId, 2, (set) => heard.push(set));
    await until(() => heard.flatMap((set) => set.activities).length >= 22, 'the missed activities');
    await unprompted(b, conversationId, 'later');
    await until(() => heard.flatMap((set) => set.activities).length >= 23, 'the new one');
    unsubscribe();
    await expectHeardAsLogged(conversationId, heard, 2);
  });

  it('logs and answers once a message posted to two instances at once', async () => {
    const answersTo = async (conversationId: string, id: string) =>
      (await logOf(conversationId))
        .filter((entry) => (entry.activity as Partial<Activity>).replyToId === id)
        .map((entry) => (entry.activity as Partial<Activity>).text);
    // The same message once, for how many replies one answer is.
    const reference = conversation();
    await a.start(reference);
    const once = (await a.post(reference, message('menu'))) as { id: string };
    const expected = (await answersTo(reference.conversationId, once.id)).length;
    expect(expected).toBeGreaterThan(0);

    const claims = conversation();
    await a.start(claims);
    for (const round of range(0, 5)) {
      const copy = message('menu', `copy-${round}`);
      const [first, second] = await Promise.all([a.post(claims, copy), b.post(claims, copy)]);
      expect(first).toHaveProperty('id');
      expect(second).toEqual(first);
      const id = (first as { id: string }).id;
      const log = await logOf(claims.conversationId);
      const echoes = log.filter(
        (entry) => (entry.activity as { channelData?: { clientActivityID?: string } }).channelData?.clientActivityID === `copy-${round}`,
      );
      expect(echoes.map((entry) => entry._id)).toEqual([id]);
      expect(await answersTo(claims.conversationId, id)).toHaveLength(expected);
    }
    expect((await logOf(claims.conversationId)).map((entry) => entry.seq)).toEqual(range(0, (await logOf(claims.conversationId)).length));
    // The claims are removed once the echo is logged: nothing is left behind per message.
    expect(await store().meta.get(`webchat-posted|${claims.conversationId}|copy-0`)).toBeNull();
  });

  it('takes over the claim of an instance that died mid-post, and hashes a claim id too long for the store', async () => {
    const claims = conversation();
    await a.start(claims);
    await store().meta.insert({ _id: `webchat-posted|${claims.conversationId}|orphan`, value: { at: Date.now() - 60_000 } });
    const posted = (await b.post(claims, message('menu', 'orphan'))) as { id: string };
    expect(posted.id).toMatch(new RegExp(`^${claims.conversationId}\\|`));
    expect((await logOf(claims.conversationId)).some((entry) => (entry.activity as Partial<Activity>).replyToId === posted.id)).toBe(true);
    expect(await store().meta.get(`webchat-posted|${claims.conversationId}|orphan`)).toBeNull();

    // A conversation id of 120 characters and a client id of 100 make a claim id over 200.
    const long = createTokenSigner(tokenSecret).issue('c'.repeat(120), 'dl_me').token;
    const longClaims = a.authorize(long)!;
    const result = await a.post(longClaims, message('menu', 'x'.repeat(100)));
    expect(result).toHaveProperty('id');
  });

  it('streams to a browser on one instance the conversation it holds through another', async () => {
    const app = apps[0]!;
    const dl = `${app.url}/v3/directline`;
    const generated = (await (await fetch(`${dl}/tokens/generate`, { method: 'POST' })).json()) as { token: string };
    const started = await fetch(`${dl}/conversations`, { method: 'POST', headers: { authorization: `Bearer ${generated.token}` } });
    expect(started.status).toBe(201);
    const { streamUrl, conversationId } = (await started.json()) as { streamUrl: string; conversationId: string };
    const heard: ActivitySet[] = [];
    const socket = new WebSocket(streamUrl);
    socket.on('message', (data) => {
      const text = data.toString();
      if (text) heard.push(JSON.parse(text) as ActivitySet);
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    try {
      // The browser's posts go to the other instance (B: the second service, or a channel the
      // app's stream does not share listeners with).
      const claims = b.authorize(generated.token, conversationId)!;
      const posted = (await b.post(claims, message('Report a problem'))) as { id: string };
      await until(async () => heard.flatMap((set) => set.activities).length >= (await logOf(conversationId)).length, 'the stream to catch up');
      expect(heard.flatMap((set) => set.activities).some((activity) => activity.replyToId === posted.id)).toBe(true);
      await pause(SETTLE_MS);
      await expectHeardAsLogged(conversationId, heard, -1);
    } finally {
      socket.close();
    }
  });
});
