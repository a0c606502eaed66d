/**
 * The Telegram sender with telegraf's real client against the fake Bot API: per-chat and global
 * rates respected, `429 retry_after` obeyed, a blocked bot recorded as an opt-out. And long
 * polling, for a city without a public URL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Telegram } from 'telegraf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutbound, INTERRUPTED, updateOutbound } from '../../../src/channels/outbound-records.js';
import { createTelegramSender } from '../../../src/channels/telegram/telegram-sender.js';
import { openEmbeddedStore } from '../../../src/store/embedded.store.js';
import type { Collections, Store } from '../../../src/store/store.port.js';
import { BOT_TOKEN, startFakeTelegram, type FakeTelegram } from '../../support/fake-telegram.js';
import { startTestService } from '../../support/harness.js';

let fake: FakeTelegram;
let store: Store;
let dir: string;

beforeAll(async () => {
  fake = await startFakeTelegram();
  dir = mkdtempSync(path.join(tmpdir(), 'civicline-tg-'));
  store = await openEmbeddedStore(dir);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  await fake.close();
});

const api = () => new Telegram(BOT_TOKEN, { apiRoot: fake.apiRoot });
/**
 * How long n sends took from first to last arrival. Measured at the receiving end, single gaps
 * carry network jitter; the span of a run does not (jitter only moves its two ends), so a rate
 * is checked as: n sends never take less than (n - 1) intervals.
 */
const span = (times: number[]) => Math.max(...times) - Math.min(...times);

describe('Telegram sender', () => {
  it('keeps to one message a second per chat, and to the global rate across chats', async () => {
    const sender = createTelegramSender({ api: api(), store, logger: pino({ level: 'silent' }), globalPerSecond: 20, perChatPerSecond: 5 });
    fake.calls.length = 0;
    await sender.send('telegram:9001', [{ text: 'a' }, { text: 'b' }, { text: 'c' }, { text: 'd' }], { purpose: 'broadcast' });
    expect(span(fake.callsOf('sendMessage').map((c) => c.at))).toBeGreaterThanOrEqual(3 * 200 * 0.9);

    fake.calls.length = 0;
    await Promise.all(Array.from({ length: 10 }, (_, i) => sender.send(`telegram:${9100 + i}`, [{ text: 'hello' }], { purpose: 'broadcast' })));
    const times = fake.callsOf('sendMessage').map((c) => c.at);
    expect(times).toHaveLength(10);
    expect(span(times)).toBeGreaterThanOrEqual(9 * 50 * 0.9);
  });

  it('waits out 429 retry_after, then sends', async () => {
    const sender = createTelegramSender({ api: api(), store, logger: pino({ level: 'silent' }) });
    fake.calls.length = 0;
    fake.fail('sendMessage', { status: 429, errorCode: 429, description: 'Too Many Requests: retry after 1', retryAfter: 1 });
    const {
      records: [record],
    } = await sender.send('telegram:9201', [{ text: 'hello' }], { purpose: 'broadcast' });
    const attempts = fake.callsOf('sendMessage');
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(1000 * 0.95);
    expect(record).toMatchObject({ state: 'sent', attempts: 2 });
  });

  it('records a blocked bot as an opt-out and sends that chat nothing more', async () => {
    const sender = createTelegramSender({ api: api(), store, logger: pino({ level: 'silent' }) });
    const address = 'telegram:9301';
    await store.residents.insert({
      _id: address,
      address,
      channel: 'telegram',
      locale: 'en',
      optedOut: false,
      volunteerCalls: true,
      interests: [],
      createdAt: new Date(),
      lastSeenAt: new Date(),
    });
    fake.calls.length = 0;
    fake.fail('sendMessage', { status: 403, errorCode: 403, description: 'Forbidden: bot was blocked by the user' });
    const { records } = await sender.send(address, [{ text: 'one' }, { text: 'two' }], { purpose: 'broadcast' });
    expect(records.map((r) => r.state)).toEqual(['failed']);
    expect(fake.callsOf('sendMessage')).toHaveLength(1);
    expect((await store.residents.get(address))?.optedOut).toBe(true);
    expect(await store.consentEvents.find({ field: 'address', equals: address })).toMatchObject([
      { kind: 'opt_out', keyword: 'telegram:blocked', channel: 'telegram' },
    ]);
    const later = await sender.send(address, [{ text: 'three' }], { purpose: 'broadcast' });
    expect(later.records.map((r) => r.state)).toEqual(['skipped']);
    expect(fake.callsOf('sendMessage')).toHaveLength(1);
  });
});

describe('outbound records', () => {
  const sender = () => createTelegramSender({ api: api(), store, logger: pino({ level: 'silent' }), perChatPerSecond: 1000 });

  it('writes a new message twice: "sending" as its request goes, then "sent" (with the chat\'s keyboard)', async () => {
    fake.calls.length = 0;
    const address = 'telegram:9501';
    const {
      records: [record],
    } = await sender().send(address, [{ text: 'Pick one', buttons: [{ id: 'a', label: 'A' }] }], { purpose: 'reply', key: 'update-1' });
    const sent = fake.callsOf('sendMessage')[0]!;
    expect(record).toMatchObject({ state: 'sent', attempts: 1, _rev: 2, providerMessageId: String(sent.result.message_id) });
    expect(await store.outbound.get(record!._id)).toMatchObject({ state: 'sent', _rev: 2 });
    expect((await store.meta.get('telegram-keyboard|9501'))?.value).toBe(sent.result.message_id);
  });

  it('sends a message once when the same update is handled twice at once, and not again later', async () => {
    fake.calls.length = 0;
    const address = 'telegram:9502';
    const one = sender();
    const results = await Promise.all([1, 2, 3].map(() => one.send(address, [{ text: 'a' }, { text: 'b' }], { purpose: 'reply', key: 'update-2' })));
    expect(results.map((r) => r.records.map((record) => record.state))).toEqual([1, 2, 3].map(() => ['sent', 'sent']));
    await one.send(address, [{ text: 'a' }, { text: 'b' }], { purpose: 'reply', key: 'update-2' });
    expect(fake.callsOf('sendMessage').map((c) => c.payload.text)).toEqual(['a', 'b']);
  });

  it('skips an opted-out resident with one write, and leaves a sent message sent', async () => {
    const address = 'telegram:9503';
    await store.residents.insert({
      _id: address,
      address,
      channel: 'telegram',
      locale: 'en',
      optedOut: true,
      volunteerCalls: true,
      interests: [],
      createdAt: new Date(),
      lastSeenAt: new Date(),
    });
    fake.calls.length = 0;
    const { records } = await sender().send(address, [{ text: 'Volunteers needed' }], { purpose: 'broadcast', key: 'call-1' });
    expect(records).toMatchObject([{ state: 'skipped', lastError: 'opted out', _rev: 1 }]);
    expect(fake.callsOf('sendMessage')).toHaveLength(0);
  });

  it('does not send again what a crash cut off, unless it is a reply', async () => {
    // A record left "sending" by a process that died mid-request: Telegram may have taken it.
    const leftSending = async (address: string, key: string, purpose: string) => {
      const record = await createOutbound(store, { idempotencyKey: `${address}|${key}|0`, channel: 'telegram', address, text: 'hello', purpose });
      await updateOutbound(store, record, { state: 'sending', attempts: 1 });
    };
    await leftSending('telegram:9504', 'call-2', 'broadcast');
    await leftSending('telegram:9505', 'update-3', 'reply');
    fake.calls.length = 0;
    const broadcast = await sender().send('telegram:9504', [{ text: 'hello' }, { text: 'and more' }], { purpose: 'broadcast', key: 'call-2' });
    expect(broadcast.records).toMatchObject([{ state: 'failed', lastError: INTERRUPTED }]);
    const reply = await sender().send('telegram:9505', [{ text: 'hello' }], { purpose: 'reply', key: 'update-3' });
    expect(reply.records).toMatchObject([{ state: 'sent' }]);
    expect(fake.callsOf('sendMessage').map((c) => c.payload.chat_id)).toEqual([9505]);
  });

  it('does not send a message again when the store fails after Telegram took it', async () => {
    // The outcome's write fails once (a full disk, say): that is not a Telegram error to retry.
    let failNextSent = true;
    const failing: Collections = {
      ...store,
      outbound: {
        ...store.outbound,
        upsert: (record) => {
          if (record.state === 'sent' && failNextSent) {
            failNextSent = false;
            return Promise.reject(new Error('MDB_DISK_FULL'));
          }
          return store.outbound.upsert(record);
        },
      },
    };
    const broken = createTelegramSender({ api: api(), store: failing, logger: pino({ level: 'silent' }), backoffMs: 1 });
    fake.calls.length = 0;
    await expect(broken.send('telegram:9506', [{ text: 'Status: fixed' }], { purpose: 'status_update', key: 'R-1|1' })).rejects.toThrow('MDB_DISK_FULL');
    expect(fake.callsOf('sendMessage')).toHaveLength(1);
    // Tried again later (the notifier's retry): it may have arrived, so it is not sent twice.
    const again = await broken.send('telegram:9506', [{ text: 'Status: fixed' }], { purpose: 'status_update', key: 'R-1|1' });
    expect(again.records).toMatchObject([{ state: 'failed', lastError: INTERRUPTED }]);
    expect(fake.callsOf('sendMessage')).toHaveLength(1);
  });
});

describe('long polling', () => {
  it('takes updates by polling when there is no public URL', async () => {
    const polled = await startTestService({ TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_API_ROOT: fake.apiRoot });
    try {
      expect(polled.config.telegram.mode).toBe('polling');
      fake.calls.length = 0;
      fake.pendingUpdates.push({
        update_id: 555,
        message: { message_id: 1, from: { id: 9401, is_bot: false, language_code: 'en' }, chat: { id: 9401, type: 'private' }, date: 1, text: 'hi' },
      });
      await polled.service.telegram!.start();
      expect(fake.callsOf('deleteWebhook')).toHaveLength(1);
      for (let i = 0; i < 100 && fake.callsOf('sendMessage').length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(fake.callsOf('sendMessage')[0]!.payload).toMatchObject({ chat_id: 9401, text: expect.stringContaining('What would you like to do?') });
      // The next poll asks for updates after the one handled.
      for (let i = 0; i < 100 && !fake.callsOf('getUpdates').some((c) => c.payload.offset === 556); i++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(fake.callsOf('getUpdates').some((c) => c.payload.offset === 556)).toBe(true);
    } finally {
      await polled.close();
    }
  });
});
