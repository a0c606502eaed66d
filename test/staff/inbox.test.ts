/**
 * The staff inbox end to end, through the staff API against the real app and the job scheduler:
 * a resident asks for a person on SMS (fake Twilio), Telegram (fake Bot API), the self-hosted web
 * chat (its Direct Line log) or the Bot Framework (fake connector); staff read the conversation,
 * reply, and the resident gets it on their own channel and in their transcript; the bot stays
 * quiet while held; staff hand back and the resident is told, in their language, and the bot
 * answers again. Plus: assignment, canned replies, refusals, an opted-out resident, the idle
 * hand-back (answered and unanswered), and the audit log.
 */
import { ON_MONGODB } from '../support/test-store.js';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHandoffOf } from '../../src/pipeline/handoff-requests.js';
import { handoffId } from '../../src/staff/handoff-desk.js';
import { startTestApp, postJson, withProviderFakes, type RunningApp } from '../support/http.js';
import { startFakeTwilio, type FakeTwilio } from '../support/twilio.js';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { startFakeConnector, type FakeConnector } from '../support/fake-connector.js';
import { smsAddress, startTestService, TestConversation, WEB_LIKE } from '../support/harness.js';

const ADMIN_TOKEN = 'inbox-test-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
let twilio: FakeTwilio;
let telegram: FakeTelegram;
let connector: FakeConnector;
let app: RunningApp;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  telegram = await startFakeTelegram();
  connector = await startFakeConnector();
  const { env, overrides } = withProviderFakes({ twilio, telegram }, { ADMIN_TOKEN, BOT_FRAMEWORK_DEV_MODE: 'true', QUIET_HOURS: 'off' });
  app = await startTestApp(env, overrides);
  app.service.jobs.start();
});
afterAll(async () => {
  await app.close();
  await twilio.close();
  await telegram.close();
  await connector.close();
});

/** A resident's clock a little in the past, so their messages come before staff's actions. */
const residentClock = () => new Date(Date.now() - 10 * 60_000);
const api = (p: string) => `${app.url}/admin/api${p}`;
async function getJson(p: string) {
  const response = await fetch(api(p), { headers: auth });
  return { status: response.status, body: (await response.json()) as any };
}

/** The staff id of the resident's open request. */
async function requestOf(address: string): Promise<string> {
  const open = await openHandoffOf(app.service.store, address);
  if (!open) throw new Error('No open request');
  return handoffId(open);
}

/** Staff reply through the API, and the scheduler sends it. */
async function staffReply(id: string, text: string): Promise<void> {
  const replied = await postJson(api(`/handoffs/${id}/reply`), { text }, auth);
  expect(replied.status).toBe(202);
  await app.service.jobs.idle();
}

describe('the inbox on SMS', () => {
  it('lists the request, shows the conversation, sends a reply by SMS, keeps the bot quiet, and hands back', async () => {
    const resident = new TestConversation(app.service, smsAddress(), undefined, residentClock());
    await resident.send('my trash was not picked up again');
    await resident.send('menu');
    expect(await resident.send('can I talk to a real person')).toContain('asked a person');
    const id = await requestOf(resident.address);

    const list = await getJson('/handoffs');
    expect(list.body.waiting).toBeGreaterThanOrEqual(1);
    const listed = list.body.handoffs.find((h: any) => h.id === id);
    expect(listed).toMatchObject({ reason: 'asked', channel: 'sms', locale: 'en', status: 'open', unread: 1 });
    expect(listed.resident).toMatch(/^sms:…\d{4}$/);
    expect(JSON.stringify(list.body)).not.toContain(resident.address.slice(4));

    const conversation = await getJson(`/handoffs/${id}`);
    expect(conversation.status).toBe(200);
    expect(conversation.body.resident).toMatchObject({ locale: 'en', optedOut: false });
    expect(conversation.body.transcript.map((e: any) => e.text)).toContain('my trash was not picked up again');
    expect(JSON.stringify(conversation.body)).not.toContain(resident.address.slice(4));

    twilio.requests.length = 0;
    await staffReply(id, 'Hi, this is Ana from Public Works. Which street are you on?');
    expect(twilio.requests.map((r) => [r.form.To, r.form.Body])).toEqual([
      [resident.address.slice(4), 'Hi, this is Ana from Public Works. Which street are you on?'],
    ]);
    const transcript = await app.service.store.transcripts.find({ field: 'conversationId', equals: resident.address });
    expect(transcript.at(-1)).toMatchObject({ direction: 'out', staff: 'admin-token', text: 'Hi, this is Ana from Public Works. Which street are you on?' });
    expect((await getJson(`/handoffs/${id}`)).body.handoff).toMatchObject({ unread: 0, assignedTo: 'admin-token' });

    // The bot stays quiet: the answer is for the person.
    expect(await resident.send({ text: 'Elm street, by the school', at: new Date() })).toBe('');
    expect((await getJson(`/handoffs/${id}`)).body.handoff.unread).toBe(1);

    twilio.requests.length = 0;
    expect((await postJson(api(`/handoffs/${id}/hand-back`), {}, auth)).status).toBe(202);
    await app.service.jobs.idle();
    expect(twilio.requests).toHaveLength(1);
    expect(twilio.requests[0]!.form.Body).toContain('handed you back to the bot');
    expect((await getJson(`/handoffs/${id}`)).body.handoff).toMatchObject({ status: 'closed', closedBy: 'admin-token' });
    // A second hand-back is refused; the bot answers again.
    expect((await postJson(api(`/handoffs/${id}/hand-back`), {}, auth)).status).toBe(409);
    expect(await resident.send({ text: 'hi', at: new Date() })).toContain('Report a problem');

    const audit = await getJson('/audit?limit=20');
    const actions = (audit.body.entries ?? audit.body.audit ?? []).filter((e: any) => e.target === id).map((e: any) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['handoff.reply', 'handoff.hand_back']));
  });

  it('does not send to a resident who opted out, and shows why in the conversation', async () => {
    const resident = new TestConversation(app.service, smsAddress(), undefined, residentClock());
    await resident.send('talk to a person');
    const id = await requestOf(resident.address);
    await resident.send('STOP');
    twilio.requests.length = 0;
    await staffReply(id, 'Are you still there?');
    expect(twilio.requests).toHaveLength(0);
    const conversation = (await getJson(`/handoffs/${id}`)).body;
    expect(conversation.resident.optedOut).toBe(true);
    expect(conversation.outbox).toEqual([expect.objectContaining({ kind: 'staff_reply', state: 'failed', lastError: 'not sent: opted_out' })]);

    // A later request of the same resident does not carry that failed reply as its own.
    expect((await postJson(api(`/handoffs/${id}/close`), {}, auth)).status).toBe(200);
    await resident.send({ text: 'START', at: new Date() });
    await resident.send({ text: 'talk to a person', at: new Date() });
    const next = await requestOf(resident.address);
    expect(next).not.toBe(id);
    expect((await getJson(`/handoffs/${next}`)).body.outbox).toEqual([]);
  });

  it('refuses empty, too long and unknown with 4xx, and assigns only to active staff', async () => {
    const resident = new TestConversation(app.service, smsAddress(), undefined, residentClock());
    await resident.send('I need a human');
    const id = await requestOf(resident.address);
    expect((await postJson(api(`/handoffs/${id}/reply`), { text: '' }, auth)).status).toBe(400);
    expect((await postJson(api(`/handoffs/${id}/reply`), { text: 'x'.repeat(1001) }, auth)).status).toBe(400);
    expect((await postJson(api(`/handoffs/${id}/reply`), { text: 'hi', extra: 1 }, auth)).status).toBe(400);
    expect((await postJson(api('/handoffs/AAAAAAAAAAAAAAAA/reply'), { text: 'hi' }, auth)).status).toBe(404);
    expect((await getJson('/handoffs/nope')).status).toBe(404);
    // Ids that are no request's, whatever they hold, are 404s before the store sees them.
    for (const odd of ['%00', 'a'.repeat(300), `${'A'.repeat(15)}%00`]) {
      expect((await getJson(`/handoffs/${odd}`)).status).toBe(404);
      expect((await postJson(api(`/handoffs/${odd}/close`), {}, auth)).status).toBe(404);
      expect((await fetch(api(`/canned-replies/${odd}`), { method: 'DELETE', headers: auth })).status).toBe(404);
    }
    expect((await postJson(api(`/handoffs/${id}/assign`), { username: 'nobody-here' }, auth)).status).toBe(400);
    // Longer than any store key: refused by its form, not a 500 from the store.
    expect((await postJson(api(`/handoffs/${id}/assign`), { username: 'x'.repeat(20_000) }, auth)).status).toBe(400);
    await app.service.store.staffUsers.insert({
      _id: 'ana',
      username: 'ana',
      displayName: 'Ana',
      role: 'coordinator',
      passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA',
      active: true,
      failedLogins: 0,
      createdAt: new Date(),
      updatedAt: new Date(),
    } as never);
    expect((await postJson(api(`/handoffs/${id}/assign`), { username: 'Ana' }, auth)).body.handoff.assignedTo).toBe('ana');
    expect((await postJson(api(`/handoffs/${id}/assign`), { username: null }, auth)).body.handoff.assignedTo).toBeUndefined();
    expect((await postJson(api(`/handoffs/${id}/close`), {}, auth)).status).toBe(200);
    expect((await postJson(api(`/handoffs/${id}/close`), {}, auth)).status).toBe(404);
  });
});

describe('the inbox on Telegram, the web chat and the Bot Framework', () => {
  it('a Spanish Telegram resident gets the reply and the hand-back in their chat, the hand-back in Spanish', async () => {
    const chatId = 92_000_001;
    const resident = new TestConversation(app.service, `telegram:${chatId}`, WEB_LIKE, residentClock());
    await resident.send('hola');
    expect(await resident.send('quiero hablar con una persona')).toContain('pedí que una persona');
    const id = await requestOf(resident.address);
    await staffReply(id, 'Hola, soy Ana. ¿En qué calle?');
    const sent = () => telegram.callsOf('sendMessage').filter((call) => call.payload.chat_id === chatId);
    expect(sent().at(-1)!.payload.text).toBe('Hola, soy Ana. ¿En qué calle?');
    await postJson(api(`/handoffs/${id}/hand-back`), {}, auth);
    await app.service.jobs.idle();
    expect(sent().at(-1)!.payload.text).toContain('te devolvió al bot');
  });

  it('a web chat resident sees the reply in their chat log', async () => {
    const conversationId = `inbox-test-${randomUUID()}`;
    const resident = new TestConversation(app.service, `webchat:${conversationId}`, WEB_LIKE, residentClock());
    await resident.send('can someone from the city help me?');
    await resident.send('talk to a person');
    const id = await requestOf(resident.address);
    await staffReply(id, 'Hello from the clerk office');
    const log = await app.service.store.webchatActivities.find({ field: 'conversationId', equals: conversationId }, { order: 'desc', limit: 1 });
    expect((log[0]!.activity as { text: string }).text).toBe('Hello from the clerk office');
  });

  it('a Bot Framework resident gets the reply through the connector', async () => {
    const conversationId = `c-${randomUUID()}`;
    const fixture = JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'botframework', 'message.json'), 'utf8'));
    const activity = { ...fixture, id: randomUUID(), serviceUrl: connector.url, conversation: { id: conversationId }, text: 'I want to talk to a human' };
    expect((await postJson(`${app.url}/api/messages`, activity)).status).toBe(200);
    const id = await requestOf(`webchat:bf:emulator:${conversationId}`);
    const before = connector.posts.length;
    await staffReply(id, 'Hi, a person here.');
    expect(connector.posts.slice(before).map((p) => p.activity.text)).toEqual(['Hi, a person here.']);
  });
});

describe('canned replies', () => {
  it('are added per language, listed, used, and removed; a bad language is refused', async () => {
    const added = await postJson(api('/canned-replies'), { locale: 'es', title: 'Horario', text: 'Abrimos de 9 a 5.' }, auth);
    expect(added.status).toBe(201);
    expect((await postJson(api('/canned-replies'), { locale: 'xx', title: 'T', text: 'x' }, auth)).status).toBe(400);
    expect((await postJson(api('/canned-replies'), { locale: 'en', title: '', text: 'x' }, auth)).status).toBe(400);
    expect((await getJson('/canned-replies?locale=es')).body.cannedReplies.map((c: any) => c.title)).toEqual(['Horario']);
    expect((await getJson('/canned-replies?locale=en')).body.cannedReplies).toEqual([]);
    const removed = await fetch(api(`/canned-replies/${added.body.cannedReply.id}`), { method: 'DELETE', headers: auth });
    expect(removed.status).toBe(204);
    expect((await getJson('/canned-replies?locale=es')).body.cannedReplies).toEqual([]);
  });
});

describe('the idle hand-back', () => {
  it('closes an answered conversation nobody wrote in, tells the resident, and keeps an unanswered one in the inbox', async () => {
    // A service of its own with a short idle time (HANDOFF_IDLE_MINUTES, here 1.2 s).
    const started = await startTestService({ HANDOFF_IDLE_MINUTES: '0.02', QUIET_HOURS: 'off' });
    try {
      const { service } = started;
      service.jobs.start();
      const answered = new TestConversation(service, smsAddress(), undefined, new Date());
      await answered.send('talk to a person');
      const unanswered = new TestConversation(service, smsAddress(), undefined, new Date());
      await unanswered.send('hablar con una persona');
      const request = (await openHandoffOf(service.store, answered.address))!;
      const { replyToHandoff } = await import('../../src/staff/handoff-desk.js');
      await replyToHandoff(service.staff, handoffId(request), 'Which street?', { username: 'ana', role: 'coordinator' });

      // The outbox SMS sender (no Twilio here) records each message; wait for both hand-backs.
      const told = async (address: string) =>
        (await service.store.transcripts.find({ field: 'conversationId', equals: address })).filter((e) => e.direction === 'out').map((e) => e.text);
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const [a, u] = await Promise.all([told(answered.address), told(unanswered.address)]);
        if (a.some((t) => t.includes('nobody has written for a while')) && u.some((t) => t.includes('nadie de Springfield pudo responder'))) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((await told(answered.address)).at(-1)).toContain('nobody has written for a while');
      expect((await told(unanswered.address)).at(-1)).toContain('nadie de Springfield pudo responder');
      expect((await service.store.handoffs.find({ field: 'address', equals: answered.address }))[0]).toMatchObject({ status: 'closed', closedBy: 'idle' });
      expect(await openHandoffOf(service.store, unanswered.address)).toMatchObject({ status: 'open' });
      // Both are back with the bot.
      expect(await answered.send({ text: 'hi', at: new Date() })).toContain('Report a problem');
      expect(await unanswered.send({ text: 'hola', at: new Date() })).toContain('Reportar un problema');
    } finally {
      await started.close();
    }
  });

  it('hands back a second time after a reply to a request it found unanswered once (each idle hand-back is its own message)', async () => {
    const started = await startTestService({ HANDOFF_IDLE_MINUTES: '0.02', QUIET_HOURS: 'off' });
    try {
      const { service } = started;
      service.jobs.start();
      const resident = new TestConversation(service, smsAddress(), undefined, new Date());
      await resident.send('talk to a person');
      const told = async () =>
        (await service.store.transcripts.find({ field: 'conversationId', equals: resident.address })).filter((e) => e.direction === 'out').map((e) => e.text);
      const waitFor = async (check: (texts: string[]) => boolean) => {
        // Longer on MongoDB: the scheduler runs its jobs one at a time, the shift planners' first
        // passes included, and each is a few FerretDB round trips.
        const deadline = Date.now() + (ON_MONGODB ? 60_000 : 15_000);
        while (Date.now() < deadline && !check(await told())) await new Promise((resolve) => setTimeout(resolve, 100));
      };
      await waitFor((texts) => texts.some((t) => t.includes('nobody from Springfield could answer yet')));
      // Still in the inbox: a person answers later, and then nobody writes again.
      const request = (await openHandoffOf(service.store, resident.address))!;
      const { replyToHandoff } = await import('../../src/staff/handoff-desk.js');
      await replyToHandoff(service.staff, handoffId(request), 'Sorry for the wait: which street?', { username: 'ana', role: 'coordinator' });
      await waitFor((texts) => texts.some((t) => t.includes('nobody has written for a while')));
      expect((await told()).at(-1)).toContain('nobody has written for a while');
      expect((await service.store.handoffs.find({ field: 'address', equals: resident.address }))[0]).toMatchObject({ status: 'closed', closedBy: 'idle' });
      expect(await resident.send({ text: 'hi', at: new Date() })).toContain('Report a problem');
    } finally {
      await started.close();
    }
  });
});

describe('the idle check against a resident writing at that moment', () => {
  it('looks again instead of telling the resident the bot is back, when the request moved between its read and its close', async () => {
    const { handoffJobHandlers } = await import('../../src/staff/handoff-jobs.js');
    const { store } = app.service;
    const resident = new TestConversation(app.service, smsAddress(), undefined, residentClock());
    await resident.send('talk to a person');
    const request = (await openHandoffOf(store, resident.address))!;
    const longAgo = new Date(Date.now() - 3_600_000);
    // What the idle check read: answered, and quiet for an hour.
    const stale = { ...request, answeredAt: longAgo, lastActivityAt: longAgo };
    // What is stored by the time it closes: the resident has just written.
    await store.handoffs.replace({ ...request, answeredAt: longAgo, lastActivityAt: new Date() }, request._rev);
    const told: string[] = [];
    const handlers = handoffJobHandlers({
      store: { jobs: store.jobs, handoffs: { ...store.handoffs, find: async () => [stale] } },
      notifier: { notify: async (_address, notification) => (told.push(notification.key), { state: 'sent' }) },
      config: { handoffIdleMs: 60_000 },
      holdMs: 120_000,
    });
    const job = (await store.jobs.get(`handoff-idle|${request.ref}`))!;
    const outcome = await handlers['handoff_idle']!.run(job);
    expect(outcome.state).toBe('later');
    expect(told).toEqual([]);
    expect(await openHandoffOf(store, resident.address)).toMatchObject({ status: 'open' });
  });
});
