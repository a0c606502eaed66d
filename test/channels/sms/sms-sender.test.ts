/**
 * The outbound SMS sender with the real twilio client against a fake Twilio API on 127.0.0.1:
 * rate respected, transient errors retried, permanent ones not, a carrier opt-out recorded,
 * opted-out residents skipped, and signed delivery status callbacks recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../../support/http.js';
import { ACCOUNT_SID, AUTH_TOKEN, messageSid, postTwilio, startFakeTwilio, type FakeTwilio } from '../../support/twilio.js';
import { createOutbound, INTERRUPTED, updateOutbound } from '../../../src/channels/outbound-records.js';

const PUBLIC_URL = 'https://bot.springfield.example';
const RATE = 10;
let fake: FakeTwilio;
let app: RunningApp;

beforeAll(async () => {
  fake = await startFakeTwilio();
  app = await startTestApp(
    { TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_FROM: '+12175550100', TWILIO_MESSAGES_PER_SECOND: String(RATE), PUBLIC_URL },
    { twilioHttpClient: fake.httpClient, smsBackoffMs: 20 },
  );
});
afterAll(async () => {
  await app.close();
  await fake.close();
});

const twilioError = (status: number, code: number, message: string) => ({
  status,
  body: { status, code, message, more_info: `https://www.twilio.com/docs/errors/${code}` },
});

describe('SMS sender', () => {
  it('sends through the Messages API with the number, body and status callback', async () => {
    fake.requests.length = 0;
    const record = await app.service.sms.send('sms:+12175550201', 'Your report R-7K3QX is fixed.', { purpose: 'status_update' });
    expect(record).toMatchObject({ state: 'sent', attempts: 1, purpose: 'status_update' });
    expect(record.providerMessageId).toMatch(/^SM/);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.path).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(fake.requests[0]!.form).toMatchObject({
      To: '+12175550201',
      From: '+12175550100',
      Body: 'Your report R-7K3QX is fixed.',
      StatusCallback: `${PUBLIC_URL}/webhooks/twilio/status`,
    });
  });

  it('keeps to the configured rate', async () => {
    fake.requests.length = 0;
    await Promise.all(Array.from({ length: 6 }, (_, i) => app.service.sms.send(`sms:+1217555030${i}`, `Message ${i}`, { purpose: 'broadcast' })));
    const times = fake.requests.map((r) => r.at);
    expect(times).toHaveLength(6);
    // Six sends never take less than five intervals (a busy machine only makes it longer).
    // Measured as the span of the run: single gaps carry network jitter, the span does not.
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(5 * (1000 / RATE) * 0.9);
  });

  it('retries transient errors with backoff and then succeeds', async () => {
    fake.requests.length = 0;
    fake.answers.push(twilioError(500, 20500, 'Internal Server Error'), twilioError(429, 20429, 'Too Many Requests'));
    const record = await app.service.sms.send('sms:+12175550401', 'Hello', { purpose: 'broadcast' });
    expect(fake.requests).toHaveLength(3);
    expect(record).toMatchObject({ state: 'sent', attempts: 3 });
  });

  it('does not retry a permanent error, and records it without the phone number', async () => {
    fake.requests.length = 0;
    fake.answers.push(twilioError(400, 21211, "The 'To' number +12175550501 is not a valid phone number."));
    const record = await app.service.sms.send('sms:+12175550501', 'Hello', { purpose: 'broadcast' });
    expect(fake.requests).toHaveLength(1);
    expect(record.state).toBe('failed');
    expect(record.lastError).toContain('21211');
    expect(record.lastError).not.toContain('2175550501');
  });

  it('records 21610 (the number texted STOP to Twilio) as an opt-out, then skips that resident', async () => {
    fake.requests.length = 0;
    const address = 'sms:+12175550601';
    await app.service.store.residents.insert({
      _id: address,
      address,
      channel: 'sms',
      locale: 'en',
      optedOut: false,
      volunteerCalls: true,
      interests: [],
      createdAt: new Date(),
      lastSeenAt: new Date(),
    });
    fake.answers.push(twilioError(400, 21610, 'Attempt to send to unsubscribed recipient'));
    expect((await app.service.sms.send(address, 'Volunteers needed', { purpose: 'broadcast' })).state).toBe('failed');
    expect((await app.service.store.residents.get(address))?.optedOut).toBe(true);
    expect(await app.service.store.consentEvents.find({ field: 'address', equals: address })).toMatchObject([{ kind: 'opt_out', keyword: 'carrier:21610' }]);
    const skipped = await app.service.sms.send(address, 'Volunteers needed again', { purpose: 'broadcast' });
    expect(skipped).toMatchObject({ state: 'skipped', attempts: 0 });
    expect(fake.requests).toHaveLength(1);
  });

  it('gives up after the last attempt of a transient error', async () => {
    fake.requests.length = 0;
    fake.answers.push(...Array.from({ length: 5 }, () => twilioError(503, 20503, 'Service Unavailable')));
    const record = await app.service.sms.send('sms:+12175550701', 'Hello', { purpose: 'broadcast' });
    expect(fake.requests).toHaveLength(5);
    expect(record).toMatchObject({ state: 'failed', attempts: 5 });
  });
});

describe('status callbacks', () => {
  const postStatus = (params: Record<string, string>, authToken?: string) =>
    postTwilio({ appUrl: app.url, publicUrl: PUBLIC_URL, path: '/webhooks/twilio/status', params, ...(authToken ? { authToken } : {}) });

  it('records delivery, never moving a message backwards', async () => {
    const record = await app.service.sms.send('sms:+12175550801', 'Hello', { purpose: 'status_update' });
    const sid = record.providerMessageId!;
    expect((await postStatus({ MessageSid: sid, MessageStatus: 'delivered', AccountSid: ACCOUNT_SID })).status).toBe(204);
    expect((await app.service.store.outbound.get(record._id))?.state).toBe('delivered');
    // A late "sent" arrives after "delivered": ignored.
    await postStatus({ MessageSid: sid, MessageStatus: 'sent', AccountSid: ACCOUNT_SID });
    expect((await app.service.store.outbound.get(record._id))?.state).toBe('delivered');
  });

  it('records an undelivered message with its error code', async () => {
    const record = await app.service.sms.send('sms:+12175550802', 'Hello', { purpose: 'status_update' });
    await postStatus({ MessageSid: record.providerMessageId!, MessageStatus: 'undelivered', ErrorCode: '30003', AccountSid: ACCOUNT_SID });
    expect(await app.service.store.outbound.get(record._id)).toMatchObject({ state: 'undelivered', lastError: 'Twilio error 30003' });
  });

  it('refuses forged callbacks and answers unknown or malformed ones without a 5xx', async () => {
    const record = await app.service.sms.send('sms:+12175550803', 'Hello', { purpose: 'status_update' });
    expect((await postStatus({ MessageSid: record.providerMessageId!, MessageStatus: 'failed' }, 'forged-token')).status).toBe(403);
    expect((await app.service.store.outbound.get(record._id))?.state).toBe('sent');
    expect((await postStatus({ MessageSid: messageSid(), MessageStatus: 'delivered' })).status).toBe(204);
    expect((await postStatus({ MessageSid: 'nope', MessageStatus: 'delivered' })).status).toBe(400);
    expect((await postStatus({ MessageSid: messageSid(), MessageStatus: 'exploded' })).status).toBe(400);
  });
});

describe('a send a crash cut off', () => {
  // A record left "sending" by a process that died: Twilio may or may not have taken it, and it
  // has no idempotency key, so sending again could text the resident twice.
  async function leftSending(address: string, key: string, purpose: 'broadcast' | 'reply') {
    const record = await createOutbound(app.service.store, { idempotencyKey: key, channel: 'sms', address, text: 'Volunteers needed', purpose });
    await updateOutbound(app.service.store, record, { state: 'sending', attempts: 1 });
  }

  it('is not sent again for a broadcast or an update: it is failed as interrupted', async () => {
    fake.requests.length = 0;
    await leftSending('sms:+12175550401', 'crash-test|broadcast', 'broadcast');
    const record = await app.service.sms.send('sms:+12175550401', 'Volunteers needed', { purpose: 'broadcast', idempotencyKey: 'crash-test|broadcast' });
    expect(record).toMatchObject({ state: 'failed', lastError: INTERRUPTED });
    expect(fake.requests).toHaveLength(0);
  });

  it('is sent again for a late reply (a resident waiting for an answer is worth a possible duplicate)', async () => {
    fake.requests.length = 0;
    await leftSending('sms:+12175550402', 'crash-test|reply', 'reply');
    const record = await app.service.sms.send('sms:+12175550402', 'Volunteers needed', { purpose: 'reply', idempotencyKey: 'crash-test|reply' });
    expect(record.state).toBe('sent');
    expect(fake.requests).toHaveLength(1);
  });
});

describe('a send marked interrupted', () => {
  it('stays unsent however often it is asked for again', async () => {
    fake.requests.length = 0;
    const record = await createOutbound(app.service.store, {
      idempotencyKey: 'crash-test|twice',
      channel: 'sms',
      address: 'sms:+12175550403',
      text: 'Hi',
      purpose: 'broadcast',
    });
    await updateOutbound(app.service.store, record, { state: 'sending', attempts: 1 });
    for (let call = 0; call < 3; call++) {
      const again = await app.service.sms.send('sms:+12175550403', 'Hi', { purpose: 'broadcast', idempotencyKey: 'crash-test|twice' });
      expect(again).toMatchObject({ state: 'failed', lastError: INTERRUPTED });
    }
    expect(fake.requests).toHaveLength(0);
  });
});
