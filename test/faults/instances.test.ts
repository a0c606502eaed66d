/**
 * Several instances on one database: three real services (child processes, `src/main.ts`) on one
 * MongoDB database, behind a round-robin balancer with no sticky sessions, so consecutive
 * requests of one resident land on different instances. Nothing a resident sees may differ from
 * one instance:
 * - a webhook retried on another instance is processed once and answered the same way;
 * - two messages of one resident on two instances at once are both recorded, in a transcript
 *   without gaps, and the conversation never goes back;
 * - a web chat whose WebSocket is on one instance sees the replies to what it posted through the
 *   others, in order, with watermarks that mean the same everywhere;
 * - residents walking whole journeys through the balancer lose nothing, and neither do they when
 *   one instance is killed with SIGKILL in the middle of it (the others carry on);
 * - a broadcast sent by the workers of every instance reaches each resident once at most (once,
 *   but for the one message per channel a kill may cut off), at the SMS rate of all of them
 *   together, and an instance killed mid-send has its claims taken over after their lease.
 *
 * MongoDB only (the `mongodb` project of vitest.faults.config.ts): the embedded store is one
 * process's folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.port.js';
import { AUTH_TOKEN } from '../support/twilio.js';
import { freshTestStore } from '../support/test-store.js';
import { freePort, startService, type ChildService } from './support/child-service.js';
import { formBody, send, sid, twilioHeaders, twimlMessages } from './support/client.js';
import { expectNothingLost, journeyEnvironment, PUBLIC_URL, SmsResident, WebResident, type Resident } from './support/journeys.js';
import { startRoundRobin, type RoundRobin } from './support/round-robin.js';

const INSTANCES = 3;
const ADMIN_TOKEN = 'several-instances-admin-token-0123456789';
const SMS_RATE = 10;
const testStore = freshTestStore();
const folders: string[] = [];
const instances: ChildService[] = [];
let balancer: RoundRobin;
let store: Store;

/** The environment every instance shares: one database; each its own DATA_DIR (unused by MongoDB). */
function environment(): Record<string, string> {
  const folder = mkdtempSync(path.join(tmpdir(), 'civicline-instance-'));
  folders.push(folder);
  return {
    ...journeyEnvironment(folder, testStore.env),
    WEB_CHAT_TOKEN_SECRET: 'several-instances-web-chat-token-secret-0123456789',
    ADMIN_TOKEN,
    // No Twilio credentials: SMS goes to the outbox (records in the database), at this rate.
    TWILIO_MESSAGES_PER_SECOND: String(SMS_RATE),
    // Short, so a killed instance's claims are taken over within the test; live ones renew theirs.
    BROADCAST_LEASE_SECONDS: '5',
  };
}

beforeAll(async () => {
  if (!testStore.env['MONGODB_URI']) throw new Error('The several-instance tests run in the mongodb project only');
  // One after the other: the first creates the collections and indexes the others then find.
  for (let i = 0; i < INSTANCES; i++) instances.push(await startService(environment(), await freePort()));
  balancer = await startRoundRobin(instances.map((instance) => instance.url));
  store = await openStore({ dataDir: folders[0]!, mongodbUri: testStore.env['MONGODB_URI'] });
}, 120_000);

afterAll(async () => {
  await balancer?.close();
  for (const instance of instances) await instance.kill9();
  await store?.close();
  await testStore.drop();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** One signed Twilio webhook to one base URL; the answer's status and TwiML messages. */
async function text(base: string, from: string, body: string, messageSid = sid()): Promise<{ status: number; messages: string[] }> {
  const params = {
    MessageSid: messageSid,
    SmsSid: messageSid,
    AccountSid: 'AC00000000000000000000000000000000',
    From: from,
    To: '+12175550100',
    Body: body,
    NumMedia: '0',
  };
  const webhook = '/webhooks/twilio/sms';
  const response = await send({
    url: `${base}${webhook}`,
    headers: twilioHeaders(PUBLIC_URL, webhook, params, AUTH_TOKEN),
    body: formBody(params),
    timeoutMs: 15_000,
  });
  return { status: response.status, messages: twimlMessages(response.text) };
}

/** Sends until the resident's pending message got a 2xx (as providers retry), at most `tries` times. */
async function settle(resident: Resident, base: string, tries = 40): Promise<void> {
  for (let i = 0; resident.pending && i < tries; i++) {
    if (!(await resident.step(base))) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(resident.pending, resident.address).toBeNull();
}

describe('several instances on one database', () => {
  it('processes a webhook retried on another instance once, and answers it the same way', async () => {
    const from = '+12175557001';
    const messageSid = sid();
    const first = await text(instances[0]!.url, from, 'report a problem', messageSid);
    const retried = await text(instances[1]!.url, from, 'report a problem', messageSid);
    const again = await text(instances[2]!.url, from, 'report a problem', messageSid);
    expect(first.status).toBe(200);
    expect(first.messages.join('\n')).toMatch(/What kind of problem/);
    expect(retried).toEqual(first);
    expect(again).toEqual(first);
    const inbound = (await store.transcripts.find({ field: 'conversationId', equals: `sms:${from}` })).filter((entry) => entry.direction === 'in');
    expect(inbound.map((entry) => entry.providerMessageId)).toEqual([messageSid]);
  });

  it('records both of two messages that one resident sends to two instances at once, and the conversation never goes back', async () => {
    const from = '+12175557002';
    const address = `sms:${from}`;
    let lastRev = 0;
    const sent: string[] = [];
    for (let round = 0; round < 8; round++) {
      const pair = [sid(), sid()];
      sent.push(...pair);
      const answers = await Promise.all(
        pair.map((messageSid, i) => text(instances[(round + i) % INSTANCES]!.url, from, i === 0 ? 'menu' : 'help', messageSid)),
      );
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.messages.length).toBeGreaterThan(0);
      }
      const conversation = await store.conversations.get(address);
      expect(conversation!._rev).toBeGreaterThan(lastRev);
      lastRev = conversation!._rev;
    }
    const conversation = await store.conversations.get(address);
    const transcript = await store.transcripts.find({ field: 'conversationId', equals: address }, { order: 'asc' });
    expect(transcript.map((entry) => entry.seq)).toEqual(transcript.map((_, i) => i));
    expect(transcript.length).toBe(conversation!.transcriptLength);
    const inbound = transcript.filter((entry) => entry.direction === 'in').map((entry) => entry.providerMessageId);
    expect([...inbound].sort()).toEqual([...sent].sort());
  });

  it('shows a web chat whose stream is on one instance the replies to what it posted through the others, in order', async () => {
    const call = async (path: string, token?: string, body?: unknown, method = 'POST') => {
      const response = await send({
        method,
        url: `${balancer.url}/v3/directline${path}`,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: response.text ? (JSON.parse(response.text) as Record<string, any>) : {} };
    };
    const generated = await call('/tokens/generate');
    const started = await call('/conversations', generated.body['token'] as string);
    expect(started.status).toBe(201);
    const token = started.body['token'] as string;
    // The stream URL names PUBLIC_URL; the browser reaches it through the balancer.
    const stream = new URL(started.body['streamUrl'] as string);
    const socket = new WebSocket(`${balancer.url.replace('http', 'ws')}${stream.pathname}${stream.search}`);
    const received: { id: string; text?: string; from?: { role?: string }; attachments?: { content?: { text?: string } }[] }[] = [];
    socket.on('message', (data) => {
      const text = data.toString();
      if (text) received.push(...(JSON.parse(text) as { activities: typeof received }).activities);
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    try {
      const posts = ['report a problem', 'pothole', '5th and Main'];
      for (const [i, text] of posts.entries()) {
        // Each post through the balancer lands on the next instance.
        const posted = await call(`/conversations/${started.body['conversationId']}/activities`, token, {
          type: 'message',
          text,
          from: { id: 'resident' },
          channelData: { clientActivityID: `instances-${i}` },
        });
        expect(posted.status).toBe(200);
        const deadline = Date.now() + 20_000;
        const replied = () => {
          const echo = received.findIndex((r) => r.id === posted.body['id']);
          return echo >= 0 && received.slice(echo + 1).some((a) => a.from?.role === 'bot');
        };
        while (!replied()) {
          if (Date.now() > deadline) throw new Error(`no reply to "${text}" on the stream`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      // In order, each once, with the positions the log has.
      const positions = received.map((a) => Number(a.id.split('|')[1]));
      expect(positions).toEqual(positions.map((_, i) => positions[0]! + i));
      const history = await call(`/conversations/${started.body['conversationId']}/activities?watermark=`, token, undefined, 'GET');
      expect((history.body['activities'] as { id: string }[]).map((a) => a.id)).toEqual(received.map((a) => a.id));
      // Choices come as a card: its text is the question.
      const bot = received.filter((a) => a.from?.role === 'bot').map((a) => a.text ?? a.attachments?.[0]?.content?.text ?? '');
      expect(bot.join('\n')).toMatch(/What kind of problem/);
      expect(bot.join('\n')).toMatch(/Where is it\?/);
    } finally {
      socket.close();
    }
  });

  it('loses nothing acknowledged while residents walk journeys through the balancer and one instance is killed', async () => {
    const residents: Resident[] = [
      ...Array.from({ length: 16 }, (_, i) => new SmsResident(`+1217557${String(1000 + i).padStart(4, '0')}`)),
      ...Array.from({ length: 8 }, () => new WebResident()),
    ];
    let stop = false;
    const load = Promise.all(
      residents.map(async (resident) => {
        while (!stop) if (!(await resident.step(balancer.url))) await new Promise((resolve) => setTimeout(resolve, 50));
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const acknowledgedBefore = residents.reduce((sum, r) => sum + r.acknowledged.length, 0);
    await instances[INSTANCES - 1]!.kill9();
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    stop = true;
    await load;
    const acknowledgedAfter = residents.reduce((sum, r) => sum + r.acknowledged.length, 0);
    // The instances left carry on: residents got answers after the kill too.
    expect(acknowledgedAfter).toBeGreaterThan(acknowledgedBefore);
    // Every message still without a 2xx is sent again until it gets one, through the balancer
    // (whose dead instance answers 502, as a balancer without health checks would).
    await Promise.all(residents.map((resident) => settle(resident, balancer.url)));
    console.log(
      `several instances: ${acknowledgedAfter} messages acknowledged (${acknowledgedBefore} before the kill), requests per instance ${[...balancer.counts.values()].join('/')}`,
    );
    await expectNothingLost(store, residents);
  }, 120_000);

  it('sends a broadcast from every instance, to each resident once, at the SMS rate of all together, through the kill of one', async () => {
    const now = new Date();
    const residents = Array.from({ length: 60 }, (_, i) => {
      const address = i % 2 === 0 ? `sms:+1217558${String(1000 + i).padStart(4, '0')}` : `webchat:instances${i}`;
      return {
        _id: address,
        address,
        channel: (i % 2 === 0 ? 'sms' : 'webchat') as 'sms' | 'webchat',
        locale: 'en',
        optedOut: false,
        volunteerCalls: true,
        interests: [],
        neighbourhood: 'Instances',
        createdAt: now,
        lastSeenAt: now,
      };
    });
    for (const resident of residents) await store.residents.insert(resident);
    const text = 'Sandbags at the river, now';
    // Straight to a live instance: the balancer still has the one killed above in its rotation.
    const created = await send({
      url: `${instances[0]!.url}/admin/api/broadcasts`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ messages: { en: text }, audience: { neighbourhoods: ['Instances'] } }),
    });
    expect(created.status, created.text).toBe(201);
    const id = (JSON.parse(created.text) as { broadcast: { _id: string } }).broadcast._id;

    // Kill one of the two instances left once some have gone out; the last takes over its claims.
    const sentSms = async () => (await store.outbound.find({ field: 'state', equals: 'outbox' })).filter((record) => record.text.startsWith(text));
    const deadline = Date.now() + 60_000;
    while ((await sentSms()).length < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await instances[1]!.kill9();
    let done = false;
    while (!done && Date.now() < deadline + 60_000) {
      done = (await store.broadcasts.get(id))?.status === 'done';
      if (!done) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(done).toBe(true);

    const deliveries = await store.deliveries.find({ field: 'broadcastId', equals: id });
    expect(deliveries).toHaveLength(residents.length);
    const interrupted = deliveries.filter((d) => d.state === 'failed');
    expect(deliveries.filter((d) => d.state !== 'failed').every((d) => d.state === 'sent')).toBe(true);
    // A kill cuts off at most the message in flight on each channel lane of the killed instance.
    expect(interrupted.length).toBeLessThanOrEqual(2);
    for (const delivery of interrupted) expect(delivery.reason).toBe('interrupted');

    // Nobody twice: one SMS outbox record or one web chat message per resident at most.
    const sms = await sentSms();
    const perAddress = new Map<string, number>();
    for (const record of sms) perAddress.set(record.address, (perAddress.get(record.address) ?? 0) + 1);
    for (const resident of residents.filter((r) => r.channel === 'webchat')) {
      const log = await store.webchatActivities.find({ field: 'conversationId', equals: resident.address.slice('webchat:'.length) });
      perAddress.set(resident.address, log.filter((entry) => String((entry.activity as { text?: string }).text).startsWith(text)).length);
    }
    for (const resident of residents) expect(perAddress.get(resident.address) ?? 0, resident.address).toBeLessThanOrEqual(1);
    expect([...perAddress.values()].reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(residents.length - interrupted.length);

    // The SMS rate held for the instances together: no second with more than the rate (+2: one for
    // the window's edges, one for the database writes between a slot and the outbox record's time).
    const times = sms.map((record) => record.createdAt.getTime()).sort((a, b) => a - b);
    let busiest = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[j]! < times[i]! - 999) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    console.log(
      `several instances, broadcast: ${deliveries.length} deliveries, ${interrupted.length} interrupted by the kill, busiest second ${busiest} SMS (rate ${SMS_RATE})`,
    );
    expect(busiest).toBeLessThanOrEqual(SMS_RATE + 2);
  }, 180_000);
});
