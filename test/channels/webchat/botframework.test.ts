/**
 * /api/messages with real Activity JSON through botbuilder's CloudAdapter: replies in the
 * response for expectReplies, posted to a fake connector on 127.0.0.1 otherwise, proactive
 * messages through a stored conversation reference, and the security rules (off without an app
 * id, loopback-only in development mode, a token required when an app id is set).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestApp, type RunningApp } from '../../support/http.js';
import { startFakeConnector, type FakeConnector } from '../../support/fake-connector.js';
import { referenceIn } from '../../support/harness.js';

let connector: FakeConnector;
let app: RunningApp;

beforeAll(async () => {
  connector = await startFakeConnector();
  app = await startTestApp({ BOT_FRAMEWORK_DEV_MODE: 'true' });
});
afterAll(async () => {
  await app.close();
  await connector.close();
});

const fixture = () => JSON.parse(readFileSync(path.join(import.meta.dirname, '..', '..', 'fixtures', 'botframework', 'message.json'), 'utf8'));

/** A message activity from a conversation, as a Bot Framework channel sends it. */
function activity(conversationId: string, change: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...fixture(), id: randomUUID(), serviceUrl: connector.url, conversation: { id: conversationId }, ...change };
}

describe('/api/messages', () => {
  it('returns the replies in the body for deliveryMode expectReplies, as suggested actions', async () => {
    const { status, body } = await postJson(`${app.url}/api/messages`, activity(`c-${randomUUID()}`, { deliveryMode: 'expectReplies' }));
    expect(status).toBe(200);
    const replies = body.activities as Record<string, any>[];
    expect(replies.map((a) => a.text).join('\n')).toContain('What would you like to do?');
    const menu = replies.at(-1)!;
    expect(menu.suggestedActions.actions.map((a: any) => a.title)).toContain('Report a problem');
    expect(menu.suggestedActions.actions[0]).toMatchObject({ type: 'messageBack', value: { choice: 'report' } });
    expect(connector.posts.filter((p) => p.activity.conversation?.id === replies[0]!.conversation?.id)).toHaveLength(0);
  });

  it('posts replies to the connector for a normal activity, and files a report by buttons', async () => {
    const conversationId = `c-${randomUUID()}`;
    const send = async (change: Record<string, unknown>) => {
      const before = connector.posts.length;
      const message = activity(conversationId, change);
      expect((await postJson(`${app.url}/api/messages`, message)).status).toBe(200);
      const posted = connector.posts.slice(before);
      for (const post of posted) expect(post.path).toBe(`/v3/conversations/${conversationId}/activities/${message.id as string}`);
      return posted.map((p) => p.activity);
    };
    const menu = await send({ text: 'hi' });
    expect(menu.at(-1)!.suggestedActions.actions.length).toBe(5);
    const categories = await send({ text: 'Report a problem', value: { choice: 'report' } });
    // Thirteen categories are more than suggested actions show well: a hero card.
    expect(categories[0]!.attachments[0]).toMatchObject({ contentType: 'application/vnd.microsoft.card.hero' });
    expect(categories[0]!.attachments[0].content.buttons).toHaveLength(13);
    const place = await send({ text: 'Pothole', value: { choice: 'pothole' } });
    expect(place[0]!.text).toContain('Share your location');
    expect(place[0]!.channelData).toEqual({ requestLocation: true });
    await send({ text: '', value: { location: { lat: 39.78, lon: -89.65 } } });
    await send({ text: 'Deep hole by the bus stop' });
    const confirm = await send({ text: '', attachments: [{ contentType: 'image/png', contentUrl: 'https://cdn.example/photo.png' }] });
    expect(confirm.at(-1)!.text).toContain('1 photo');
    const filed = await send({ text: 'Yes, send it', value: { choice: 'yes' } });
    const ref = referenceIn(filed[0]!.text);
    expect(await app.service.store.reports.get(ref)).toMatchObject({ channel: 'webchat', location: { point: { lat: 39.78, lon: -89.65 } } });
  });

  it('greets a resident who opens the chat (conversationUpdate)', async () => {
    const { body } = await postJson(
      `${app.url}/api/messages`,
      activity(`c-${randomUUID()}`, { type: 'conversationUpdate', text: undefined, membersAdded: [{ id: 'resident-1' }], deliveryMode: 'expectReplies' }),
    );
    expect(body.activities.map((a: any) => a.text).join('\n')).toContain('What would you like to do?');
  });

  it('sends a proactive message through the stored conversation reference', async () => {
    const conversationId = `c-${randomUUID()}`;
    await postJson(`${app.url}/api/messages`, activity(conversationId));
    const before = connector.posts.length;
    const outcome = await app.service.botframework!.send(`webchat:${conversationId}`, [{ text: 'Your report R-7K3QX is fixed.' }], {
      purpose: 'status_update',
      key: 'R-7K3QX|1',
      locale: 'en',
    });
    expect(outcome).toEqual({ state: 'sent' });
    const posted = connector.posts.slice(before);
    expect(posted).toHaveLength(1);
    // botbuilder sends proactive messages as replies to a continuation activity of its own.
    expect(posted[0]!.path).toMatch(new RegExp(`^/v3/conversations/${conversationId}/activities(/[^/]+)?$`));
    expect(posted[0]!.activity.text).toBe('Your report R-7K3QX is fixed.');
  });

  it('writes the conversation reference when it changes, not on every turn', async () => {
    const conversationId = `c-${randomUUID()}`;
    const reference = () => app.service.store.meta.get(`botframework-reference|webchat:${conversationId}`);
    for (const text of ['hi', 'menu', 'help']) {
      expect((await postJson(`${app.url}/api/messages`, activity(conversationId, { text, deliveryMode: 'expectReplies' }))).status).toBe(200);
    }
    expect(await reference()).toMatchObject({ _rev: 1, value: { conversation: { id: conversationId }, serviceUrl: connector.url } });
    // The activity id, new every turn, is not kept: proactive messages do not use it.
    expect((await reference())!.value).not.toHaveProperty('activityId');
    // The channel moved the conversation to another serviceUrl: later messages must go there.
    const moved = `${connector.url}/moved/`;
    expect(
      (await postJson(`${app.url}/api/messages`, activity(conversationId, { text: 'menu', serviceUrl: moved, deliveryMode: 'expectReplies' }))).status,
    ).toBe(200);
    expect(await reference()).toMatchObject({ _rev: 2, value: { serviceUrl: moved } });
  });

  it('does not write the conversation reference back after the resident deleted their data', async () => {
    const conversationId = `c-${randomUUID()}`;
    const reference = () => app.service.store.meta.get(`botframework-reference|webchat:${conversationId}`);
    const say = async (text: string) => {
      const { status, body } = await postJson(`${app.url}/api/messages`, activity(conversationId, { text, deliveryMode: 'expectReplies' }));
      expect(status).toBe(200);
      return (body.activities as { text?: string }[]).map((a) => a.text ?? '').join('\n');
    };
    await say('hi');
    expect(await reference()).not.toBeNull();
    await say('delete my data');
    expect(await say('yes')).toContain('Your data is deleted');
    expect(await reference()).toBeNull();
  });

  it('processes a retried activity (same id) once', async () => {
    const conversationId = `c-${randomUUID()}`;
    const message = activity(conversationId, { text: 'menu', deliveryMode: 'expectReplies' });
    const first = await postJson(`${app.url}/api/messages`, message);
    const again = await postJson(`${app.url}/api/messages`, message);
    expect(again.body.activities.map((a: any) => a.text)).toEqual(first.body.activities.map((a: any) => a.text));
    const transcript = await app.service.store.transcripts.find({ field: 'conversationId', equals: `webchat:${conversationId}` });
    expect(transcript.filter((e) => e.direction === 'in')).toHaveLength(1);
  });

  it('answers a malformed activity with 400', async () => {
    expect((await postJson(`${app.url}/api/messages`, { type: 'message' })).status).toBe(400);
    expect((await postJson(`${app.url}/api/messages`, '{"type":')).status).toBe(400);
    // Found by the bad-input fuzzer: members that are not a list made the turn throw (a 503).
    const update = activity(`c-${randomUUID()}`, { type: 'conversationUpdate', text: undefined, membersAdded: { id: 'resident-1' } });
    expect((await postJson(`${app.url}/api/messages`, update)).status).toBe(400);
  });
});

describe('development mode security', () => {
  it('refuses a serviceUrl that is not on this machine, and posts nothing there', async () => {
    const before = connector.posts.length;
    const response = await postJson(`${app.url}/api/messages`, activity(`c-${randomUUID()}`, { serviceUrl: 'https://attacker.example' }));
    expect(response.status).toBe(403);
    expect(connector.posts.length).toBe(before);
  });

  it('refuses look-alike hosts for this machine', async () => {
    for (const serviceUrl of ['http://127.0.0.1.attacker.example', 'http://localhost@attacker.example', 'http://127.0.0.1:80@attacker.example']) {
      const response = await postJson(`${app.url}/api/messages`, activity(`c-${randomUUID()}`, { serviceUrl }));
      expect(response.status, serviceUrl).toBe(403);
    }
  });

  it('refuses a request that comes from another machine (through a proxy)', async () => {
    const response = await postJson(`${app.url}/api/messages`, activity(`c-${randomUUID()}`), { 'x-forwarded-for': '203.0.113.9' });
    expect(response.status).toBe(403);
  });
});

describe('configuration', () => {
  it('is off without an app id or the development switch', async () => {
    const off = await startTestApp();
    try {
      const response = await postJson(`${off.url}/api/messages`, activity('c-off'));
      expect(response.status).toBe(404);
      expect(response.body.error).toContain('MICROSOFT_APP_ID');
    } finally {
      await off.close();
    }
  });

  it('refuses a request without a valid token when an app id is set, and stores nothing', async () => {
    const secured = await startTestApp({ MICROSOFT_APP_ID: '00000000-0000-0000-0000-000000000001', MICROSOFT_APP_PASSWORD: 'not-a-real-secret' });
    try {
      const conversationId = `c-${randomUUID()}`;
      const response = await postJson(`${secured.url}/api/messages`, activity(conversationId));
      expect(response.status).toBe(401);
      expect(await secured.service.store.conversations.get(`webchat:${conversationId}`)).toBeNull();
    } finally {
      await secured.close();
    }
  });
});
