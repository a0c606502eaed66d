/**
 * The real express app over HTTP: health, the NLU endpoint behind ADMIN_TOKEN, and the web
 * chat's JSON API, with the bad requests a public endpoint gets.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestApp, type RunningApp } from '../support/http.js';
import { ON_MONGODB } from '../support/test-store.js';

const TOKEN = 'test-admin-token-0123456789';
let app: RunningApp;

beforeAll(async () => {
  app = await startTestApp({ ADMIN_TOKEN: TOKEN });
});
afterAll(() => app.close());

const messageId = () => randomUUID().replaceAll('-', '');

async function session(): Promise<string> {
  const response = await postJson(`${app.url}/chat/api/session`, {});
  expect(response.status).toBe(201);
  return response.body.conversationId as string;
}

describe('health', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', store: ON_MONGODB ? 'mongodb' : 'embedded' });
  });

  it('answers unknown paths with a JSON 404', async () => {
    const response = await fetch(`${app.url}/nope`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toContain('/nope');
  });
});

describe('POST /admin/api/nlu/parse', () => {
  const url = () => `${app.url}/admin/api/nlu/parse`;
  const auth = { authorization: `Bearer ${TOKEN}` };

  it('refuses a missing or wrong token', async () => {
    expect((await postJson(url(), { text: 'hi' })).status).toBe(401);
    expect((await postJson(url(), { text: 'hi' }, { authorization: 'Bearer wrong' })).status).toBe(401);
  });

  it('parses intent, category, locale and entities', async () => {
    const { status, body } = await postJson(url(), { text: 'huge pothole on 5th and main' }, auth);
    expect(status).toBe(200);
    expect(body).toMatchObject({ intent: 'report_problem', category: 'pothole', locale: 'en' });
    expect(typeof body.confidence).toBe('number');
    const status2 = await postJson(url(), { text: 'status r7k3qx' }, auth);
    expect(status2.body).toMatchObject({ intent: 'check_status', category: null, entities: { reference: 'R-7K3QX' } });
    const spanish = await postJson(url(), { text: 'hay una farola apagada en mi calle', locale: 'es' }, auth);
    expect(spanish.body).toMatchObject({ intent: 'report_problem', category: 'streetlight', locale: 'es' });
  });

  it('rejects bad bodies with a 4xx that says what is wrong', async () => {
    const missing = await postJson(url(), {}, auth);
    expect(missing.status).toBe(400);
    expect(missing.body.error).toContain('text');
    expect((await postJson(url(), { text: 'hi', locale: 'xx' }, auth)).body.error).toContain('locale');
    expect((await postJson(url(), '{"text": ', auth)).status).toBe(400);
    expect((await postJson(url(), { text: 'x'.repeat(100_000) }, auth)).status).toBe(413);
    expect((await postJson(url(), { text: { $gt: '' } }, auth)).status).toBe(400);
  });
});

describe('web chat API', () => {
  it('holds a conversation and shows it again as history', async () => {
    const conversationId = await session();
    const first = await postJson(`${app.url}/chat/api/messages`, { conversationId, messageId: messageId(), text: 'hi' });
    expect(first.status).toBe(200);
    expect(first.body.replies.at(-1).buttons.length).toBeGreaterThan(2);
    const history: any = (await postJson(`${app.url}/chat/api/history`, { conversationId })).body;
    expect(history.entries.map((e: { direction: string }) => e.direction)).toEqual(['in', 'out', 'out']);
  });

  it('answers a retried message the same way and processes it once', async () => {
    const conversationId = await session();
    const body = { conversationId, messageId: messageId(), text: 'I want to volunteer' };
    const [a, b] = await Promise.all([postJson(`${app.url}/chat/api/messages`, body), postJson(`${app.url}/chat/api/messages`, body)]);
    expect(a.body.replies).toEqual(b.body.replies);
    expect([a.body.duplicate, b.body.duplicate].sort()).toEqual([false, true]);
    const history: any = (await postJson(`${app.url}/chat/api/history`, { conversationId })).body;
    expect(history.entries.filter((e: { direction: string }) => e.direction === 'in')).toHaveLength(1);
  });

  it('refuses malformed, oversized and unknown input with a 4xx', async () => {
    const conversationId = await session();
    const url = `${app.url}/chat/api/messages`;
    expect((await postJson(url, '{broken')).status).toBe(400);
    expect((await postJson(url, { conversationId, messageId: messageId() })).status).toBe(400);
    expect((await postJson(url, { conversationId: 'short', messageId: messageId(), text: 'hi' })).status).toBe(400);
    expect((await postJson(url, { conversationId, messageId: messageId(), text: 'x'.repeat(2001) })).body.error).toContain('2000');
    expect((await postJson(url, { conversationId, messageId: messageId(), text: 'y'.repeat(20_000) })).status).toBe(413);
    expect((await postJson(url, { conversationId, messageId: messageId(), text: 'hi', extra: 1 })).status).toBe(400);
    expect((await postJson(url, { conversationId, messageId: { $gt: '' }, text: 'hi' })).status).toBe(400);
    const plain = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(plain.status).toBe(400);
  });

  it('starts no conversation for an invented id: new chats come from /session, under its limit', async () => {
    const url = `${app.url}/chat/api/messages`;
    const invented = randomUUID().replaceAll('-', '');
    const refused = await postJson(url, { conversationId: invented, messageId: messageId(), text: 'hi' });
    expect(refused.status).toBe(404);
    expect(refused.body.error).toContain('/chat/api/session');
    expect(await app.service.store.conversations.get(`web:${invented}`)).toBeNull();
    // A tag that does not match its random part is invented too.
    const issued = await session();
    const forged = `${issued.slice(0, 22)}${(await session()).slice(22)}`;
    expect((await postJson(url, { conversationId: forged, messageId: messageId(), text: 'hi' })).status).toBe(404);
    // An id from before ids carried a tag keeps its conversation.
    const older = 'olderConversationId0123';
    await app.service.pipeline.handle(
      { id: messageId(), channel: 'web', address: `web:${older}`, text: 'hi', receivedAt: new Date() },
      { media: false, location: true },
    );
    expect((await postJson(url, { conversationId: older, messageId: messageId(), text: 'menu' })).status).toBe(200);
  });

  it('answers odd Unicode sensibly', async () => {
    const conversationId = await session();
    for (const text of ['🕳️🚗💥', '\u202Eevil rtl\u202C', 'مرحبا', 'a\u0000b\u0007c', '  \n\t ', 'Ｐｏｔｈｏｌｅ']) {
      const response = await postJson(`${app.url}/chat/api/messages`, { conversationId, messageId: messageId(), text: text.trim() ? text : 'ok' });
      expect(response.status).toBe(200);
      expect(response.body.replies.length).toBeGreaterThan(0);
    }
  });

  it('serves the page with its language and no resident text as HTML', async () => {
    const response = await fetch(`${app.url}/chat`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('Springfield help line');
  });
});

describe('concurrency', () => {
  it('keeps every turn when one resident sends 10 messages at once', async () => {
    const conversationId = await session();
    const sends = Array.from({ length: 10 }, (_, i) =>
      postJson(`${app.url}/chat/api/messages`, { conversationId, messageId: messageId(), text: i % 2 ? 'menu' : 'help' }),
    );
    const responses = await Promise.all(sends);
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const stored = await app.service.store.conversations.get(`web:${conversationId}`);
    expect((stored?.state as { turns: number }).turns).toBe(10);
    const history: any = (await postJson(`${app.url}/chat/api/history`, { conversationId })).body;
    expect(history.entries.filter((e: { direction: string }) => e.direction === 'in')).toHaveLength(10);
  });
});
