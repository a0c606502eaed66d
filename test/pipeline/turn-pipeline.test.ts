/**
 * The turn pipeline on the real service parts: a failed turn is answered with an apology but
 * stays retryable, and records keyed by a message are scoped to the resident who sent it.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { TurnPipeline } from '../../src/pipeline/turn-pipeline.js';
import { CommandRunner } from '../../src/pipeline/command-runner.js';
import { postJson } from '../support/http.js';
import { startTestApp } from '../support/http.js';
import { TestConversation, smsAddress, useTestService } from '../support/harness.js';

const service = useTestService();

/** A runner whose first command fails, as a store hiccup would. */
class FlakyRunner extends CommandRunner {
  failures = 1;
  override async run(...args: Parameters<CommandRunner['run']>) {
    if (this.failures-- > 0) throw new Error('store hiccup');
    return super.run(...args);
  }
}

describe('turn pipeline', () => {
  it('apologises for a failed turn, keeps the message, and processes its retry for real', async () => {
    const { store, engine } = service();
    const pipeline = new TurnPipeline({ store, engine, runner: new FlakyRunner(store), logger: pino({ level: 'silent' }), defaultLocale: 'en' });
    const chat = new TestConversation(service(), smsAddress());
    const message = chat.message('volunteer');
    const first = await pipeline.handle(message, { media: true, location: false });
    expect(first.replies).toEqual([{ kind: 'text', text: expect.stringContaining('Sorry, something went wrong') }]);
    const retry = await pipeline.handle(message, { media: true, location: false });
    expect(retry.duplicate).toBe(false);
    expect(JSON.stringify(retry.replies)).toContain('[demo]');
    const again = await pipeline.handle(message, { media: true, location: false });
    expect(again).toMatchObject({ duplicate: true, replies: retry.replies });
  });

  it('answers a retry of a recent message with its replies, and of an older one as a duplicate with none', async () => {
    const { pipeline, store } = service();
    const chat = new TestConversation(service(), smsAddress());
    const facts = { media: true, location: false };
    const sent: { message: ReturnType<typeof chat.message>; turn: Awaited<ReturnType<typeof pipeline.handle>> }[] = [];
    for (const text of ['volunteer', 'menu', 'ideas', 'menu', 'help']) {
      const message = chat.message(text);
      sent.push({ message, turn: await pipeline.handle(message, facts) });
    }
    const conversation = await store.conversations.get(chat.address);
    // Every receipt is kept (so no retry is processed twice), the replies only on the newest three.
    expect(conversation?.recentInbound.map((r) => r.replies.length > 0)).toEqual([false, false, true, true, true]);

    const recent = sent[2]!;
    expect(await pipeline.handle(recent.message, facts)).toMatchObject({ duplicate: true, replies: recent.turn.replies });
    const older = sent[0]!;
    expect(older.turn.replies.length).toBeGreaterThan(0);
    expect(await pipeline.handle(older.message, facts)).toMatchObject({ duplicate: true, replies: [] });
    // Neither retry was a turn of its own.
    expect((await store.conversations.get(chat.address))?.transcriptLength).toBe(conversation?.transcriptLength);
  });

  it('tells a flooding sender to slow down even before their first turn has made their record', async () => {
    const { store, engine, runner } = service();
    const pipeline = new TurnPipeline({
      store,
      engine,
      runner,
      logger: pino({ level: 'silent' }),
      defaultLocale: 'en',
      senderLimit: { perMinute: 1, burst: 1 },
    });
    const chat = new TestConversation(service(), smsAddress());
    const facts = { media: true, location: false };
    // All at once: the second is refused while the first turn is still creating the resident.
    const [first, second, third] = await Promise.all(
      ['hi', 'hi again', 'and again'].map((text) => pipeline.handle(chat.message(text), facts, { throttle: true })),
    );
    expect(first?.throttled).toBeUndefined();
    expect(second?.throttled).toBeDefined();
    expect(second?.replies.map((reply) => (reply.kind === 'text' ? reply.text : ''))).toEqual([engine.i18n.t('en', 'throttle.slow_down')]);
    // One notice per flood, not one per refused message.
    expect(third).toMatchObject({ throttled: expect.anything(), replies: [] });
  });

  it('takes a STOP whose provider message id is 500 characters long, once (records keyed by it stay within the store key length)', async () => {
    const { pipeline, store } = service();
    const chat = new TestConversation(service(), smsAddress());
    const message = { ...chat.message('STOP'), id: '9'.repeat(500) };
    const facts = { media: true, location: false };
    const first = await pipeline.handle(message, facts);
    expect(first).toMatchObject({ duplicate: false, optedOut: true });
    expect(await pipeline.handle(message, facts)).toMatchObject({ duplicate: true, optedOut: true });
    const events = await store.consentEvents.find({ field: 'address', equals: chat.address });
    expect(events.map((e) => e.kind)).toEqual(['opt_out']);
  });

  it('keeps two web conversations apart when their clients reuse a message id', async () => {
    const app = await startTestApp();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const conversationId = (await postJson(`${app.url}/chat/api/session`, {})).body.conversationId as string;
        ids.push(conversationId);
        expect((await postJson(`${app.url}/chat/api/messages`, { conversationId, messageId: 'msg00001', text: 'STOP' })).status).toBe(200);
      }
      for (const conversationId of ids) {
        const events = await app.service.store.consentEvents.find({ field: 'address', equals: `web:${conversationId}` });
        expect(events.map((e) => e.kind)).toEqual(['opt_out']);
      }
    } finally {
      await app.close();
    }
  });
});
