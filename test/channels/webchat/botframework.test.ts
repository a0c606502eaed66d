/**
 * /api/messages with real Activity JSON through botbuilder's CloudAdapter: replies in the
 * response for expectReplies, posted to a fake connector on 127.0.0.1 otherwise, proactive
 * messages through a stored conversation reference, the security rules (off without an app
 * id, loopback-only in development mode, a token required when an app id is set), and the
 * address spaces of the Bot Framework and the city's own web chat (Direct Line) kept apart.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenSigner } from '../../../src/channels/webchat/direct-line-token.js';
import { PUBLIC_CLOUD } from '../../../src/channels/webchat/botframework.channel.js';
import { postJson, startTestApp, type RunningApp } from '../../support/http.js';
import { startFakeConnector, type FakeConnector } from '../../support/fake-connector.js';
import { CHANNEL_ISSUER, newSigningKey, startFakeTokenKeys } from '../../support/fake-token-keys.js';
import { referenceIn } from '../../support/harness.js';

let connector: FakeConnector;
let app: RunningApp;
const TOKEN_SECRET = 'botframework-test-web-chat-token-secret-0123456789';

beforeAll(async () => {
  connector = await startFakeConnector();
  app = await startTestApp({ BOT_FRAMEWORK_DEV_MODE: 'true', WEB_CHAT_TOKEN_SECRET: TOKEN_SECRET });
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

/** The address of a conversation of the fixture's channel (the Emulator's). */
const bfAddress = (conversationId: string) => `webchat:bf:emulator:${conversationId}`;

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
    const outcome = await app.service.botframework!.send(bfAddress(conversationId), [{ text: 'Your report R-7K3QX is fixed.' }], {
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
    const reference = () => app.service.store.meta.get(`botframework-reference|${bfAddress(conversationId)}`);
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
    const reference = () => app.service.store.meta.get(`botframework-reference|${bfAddress(conversationId)}`);
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
    const transcript = await app.service.store.transcripts.find({ field: 'conversationId', equals: bfAddress(conversationId) });
    expect(transcript.filter((e) => e.direction === 'in')).toHaveLength(1);
  });

  it('answers a malformed activity with 400', async () => {
    expect((await postJson(`${app.url}/api/messages`, { type: 'message' })).status).toBe(400);
    expect((await postJson(`${app.url}/api/messages`, '{"type":')).status).toBe(400);
    // Found by the bad-input fuzzer: members that are not a list made the turn throw (a 503).
    const update = activity(`c-${randomUUID()}`, { type: 'conversationUpdate', text: undefined, membersAdded: { id: 'resident-1' } });
    expect((await postJson(`${app.url}/api/messages`, update)).status).toBe(400);
    // Found by the fuzzer too: a role that is not a string made botbuilder's reply throw (a 503).
    for (const account of [{ recipient: { id: 'bot', role: { x: 1 } } }, { from: { id: 'resident-1', name: ['x'] } }]) {
      expect((await postJson(`${app.url}/api/messages`, activity(`c-${randomUUID()}`, account))).status).toBe(400);
    }
  });
});

/** A conversation of the city's own web chat (Direct Line), driven over HTTP. */
async function directLineResident(): Promise<{ conversationId: string; say(text: string, value?: unknown): Promise<string>; log(): Promise<any[]> }> {
  const base = `${app.url}/v3/directline`;
  const generated = await postJson(`${base}/tokens/generate`, {});
  const started = await postJson(`${base}/conversations`, {}, { authorization: `Bearer ${generated.body.token as string}` });
  expect(started.status).toBe(201);
  const { conversationId, token } = started.body as { conversationId: string; token: string };
  const log = async () => {
    const response = await fetch(`${base}/conversations/${conversationId}/activities`, { headers: { authorization: `Bearer ${token}` } });
    return ((await response.json()) as { activities: any[] }).activities;
  };
  return {
    conversationId,
    log,
    async say(text, value) {
      const posted = await postJson(
        `${base}/conversations/${conversationId}/activities`,
        { type: 'message', text, ...(value ? { value } : {}), from: { id: 'me' } },
        { authorization: `Bearer ${token}` },
      );
      expect(posted.status).toBe(200);
      // The turn is taken before the post is answered: its replies are in the log.
      return (await log())
        .filter((a) => a.replyToId === posted.body.id)
        .map((a) => a.text ?? a.attachments?.[0]?.content?.text ?? '')
        .join('\n');
    },
  };
}

describe('the Bot Framework and Direct Line keep apart (issue 16, finding 8)', () => {
  it("an activity naming a Direct Line conversation's id neither continues that resident's report nor re-routes their updates", async () => {
    const { store } = app.service;
    const resident = await directLineResident();
    const address = `webchat:${resident.conversationId}`;
    await resident.say('Report a problem', { choice: 'report' });
    expect(await resident.say('Pothole', { choice: 'pothole' })).toContain('Where is it?');
    const before = await store.conversations.get(address);
    expect(before).not.toBeNull();

    // The same conversation id through /api/messages (development mode: anyone on this machine).
    const postsBefore = connector.posts.length;
    const { status, body } = await postJson(
      `${app.url}/api/messages`,
      activity(resident.conversationId, { text: 'Elm St and 3rd', deliveryMode: 'expectReplies' }),
    );
    expect(status).toBe(200);
    // A conversation of its own, not the Direct Line resident's report going on.
    expect((body.activities as { text?: string }[]).map((a) => a.text ?? '').join('\n')).not.toContain('Describe the problem');
    expect(await store.conversations.get(bfAddress(resident.conversationId))).not.toBeNull();
    expect(await store.conversations.get(address)).toEqual(before);
    expect(await store.meta.get(`botframework-reference|${address}`)).toBeNull();

    // The resident's report is where they left it.
    expect(await resident.say('Elm St and 3rd')).toContain('Describe the problem');

    // An update for the Direct Line resident goes to their web chat, not to the Bot Framework's connector.
    const update = 'Your report R-7K3QX is fixed.';
    expect(
      await app.service.messenger.send(address, [{ kind: 'text', text: update }], { purpose: 'status_update', key: `sep|${randomUUID()}`, locale: 'en' }),
    ).toEqual({
      state: 'sent',
    });
    expect((await resident.log()).map((a) => a.text)).toContain(update);
    expect(connector.posts.slice(postsBefore).map((p) => p.activity.text)).not.toContain(update);
  });

  it('an update for a Bot Framework conversation goes to its channel, never to a Direct Line log of the same id', async () => {
    const { store } = app.service;
    const resident = await directLineResident();
    // A Bot Framework conversation that names the Direct Line one's id.
    expect((await postJson(`${app.url}/api/messages`, activity(resident.conversationId, { text: 'hi', deliveryMode: 'expectReplies' }))).status).toBe(200);
    const logged = (await resident.log()).length;
    const postsBefore = connector.posts.length;
    const update = 'Your report R-4M9QX is fixed.';
    const sent = await app.service.messenger.send(bfAddress(resident.conversationId), [{ kind: 'text', text: update }], {
      purpose: 'status_update',
      key: `sep|${randomUUID()}`,
      locale: 'en',
    });
    expect(sent).toEqual({ state: 'sent' });
    expect(connector.posts.slice(postsBefore).map((p) => p.activity.text)).toEqual([update]);
    expect(await resident.log()).toHaveLength(logged);
    // Each adapter refuses the other's addresses outright, even called directly.
    const options = { purpose: 'status_update' as const, key: `sep|${randomUUID()}`, locale: 'en' };
    expect(await app.service.botframework!.send(`webchat:${resident.conversationId}`, [{ text: update }], options)).toMatchObject({
      state: 'failed',
      retryable: false,
    });
    expect(await app.service.directLine.send(bfAddress(resident.conversationId), [{ text: update }], options)).toMatchObject({
      state: 'failed',
      retryable: false,
    });
    expect(await store.webchatActivities.count({ field: 'conversationId', equals: `bf:emulator:${resident.conversationId}` })).toBe(0);
  });

  it("a Direct Line conversation cannot land in a Bot Framework resident's conversation, even with a token naming its id", async () => {
    const { store } = app.service;
    const conversationId = `c-${randomUUID()}`;
    expect((await postJson(`${app.url}/api/messages`, activity(conversationId, { text: 'hi', deliveryMode: 'expectReplies' }))).status).toBe(200);
    const before = await store.conversations.get(bfAddress(conversationId));
    expect(before).not.toBeNull();
    // Direct Line only hands out ids of its own (base64url, no ':'); a token naming the Bot
    // Framework address's id can only be made with the signing key, and still lands elsewhere.
    const forged = createTokenSigner(Buffer.from(TOKEN_SECRET)).issue(`bf:emulator:${conversationId}`, 'dl_me').token;
    const base = `${app.url}/v3/directline/conversations/${encodeURIComponent(`bf:emulator:${conversationId}`)}`;
    const posted = await postJson(
      `${base}/activities`,
      { type: 'message', text: 'report a pothole', from: { id: 'me' } },
      { authorization: `Bearer ${forged}` },
    );
    expect(posted.status).toBe(200);
    expect(await store.conversations.get(bfAddress(conversationId))).toEqual(before);
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

  it("gives botbuilder the public cloud's own settings along with other key URLs", () => {
    // botbuilder's constants, from the copy of botframework-connector botbuilder itself loads.
    const connector = createRequire(createRequire(import.meta.url).resolve('botbuilder'))('botframework-connector') as {
      AuthenticationConstants: Record<string, string>;
    };
    const constants = connector.AuthenticationConstants;
    expect(PUBLIC_CLOUD).toMatchObject({
      ToChannelFromBotLoginUrl: constants['ToChannelFromBotLoginUrl'],
      ToChannelFromBotOAuthScope: constants['ToChannelFromBotOAuthScope'],
      ToBotFromChannelTokenIssuer: constants['ToBotFromChannelTokenIssuer'],
      OAuthUrl: constants['OAuthUrl'],
      ToBotFromChannelOpenIdMetadataUrl: constants['ToBotFromChannelOpenIdMetadataUrl'],
      ToBotFromEmulatorOpenIdMetadataUrl: constants['ToBotFromEmulatorOpenIdMetadataUrl'],
    });
  });

  it('takes an activity whose token is signed with the published keys, and refuses one signed with another key (401, not 5xx)', async () => {
    const appId = '00000000-0000-0000-0000-000000000001';
    // botbuilder reads the signing keys from a local fake: no test reaches login.botframework.com.
    const keys = await startFakeTokenKeys();
    const secured = await startTestApp({ MICROSOFT_APP_ID: appId, MICROSOFT_APP_PASSWORD: 'not-a-real-secret' }, { botFrameworkTokenKeys: keys.tokenKeys });
    try {
      const now = Math.floor(Date.now() / 1000);
      const serviceUrl = 'https://smba.trafficmanager.net/amer/';
      const claims = { iss: CHANNEL_ISSUER, aud: appId, serviceurl: serviceUrl, nbf: now - 10, exp: now + 600 };
      const conversationId = `c-${randomUUID()}`;
      const message = activity(conversationId, { channelId: 'msteams', serviceUrl, deliveryMode: 'expectReplies' });
      const forged = await postJson(`${secured.url}/api/messages`, message, {
        authorization: `Bearer ${keys.sign(claims, newSigningKey(keys.channelKey.kid))}`,
      });
      expect(forged.status).toBe(401);
      expect(await secured.service.store.conversations.get(`webchat:bf:msteams:${conversationId}`)).toBeNull();
      const signed = await postJson(`${secured.url}/api/messages`, message, { authorization: `Bearer ${keys.sign(claims)}` });
      expect(signed.status).toBe(200);
      // Teams gets the menu as a hero card.
      const texts = (signed.body.activities as any[]).map((a) => a.text ?? a.attachments?.[0]?.content?.text ?? '');
      expect(texts.join('\n')).toContain('What would you like to do?');
      expect(await secured.service.store.conversations.get(`webchat:bf:msteams:${conversationId}`)).not.toBeNull();
      expect(keys.requests).toEqual(['/v1/.well-known/openidconfiguration', '/v1/keys']);
    } finally {
      await secured.close();
      await keys.close();
    }
  });

  it('refuses a request without a valid token when an app id is set, and stores nothing', async () => {
    const secured = await startTestApp({ MICROSOFT_APP_ID: '00000000-0000-0000-0000-000000000001', MICROSOFT_APP_PASSWORD: 'not-a-real-secret' });
    try {
      const conversationId = `c-${randomUUID()}`;
      const response = await postJson(`${secured.url}/api/messages`, activity(conversationId));
      expect(response.status).toBe(401);
      expect(await secured.service.store.conversations.get(bfAddress(conversationId))).toBeNull();
    } finally {
      await secured.close();
    }
  });
});
