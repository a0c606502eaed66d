/**
 * Forged traffic: webhooks and activities that did not come from Twilio, Telegram or the Bot
 * Framework, Direct Line calls with tokens that are not this conversation's, staff calls without
 * the staff token. Each is refused (401/403), and nothing is stored: every collection of the
 * store has the same count after as before, no photo is written, nothing is sent to Telegram or
 * posted to a Bot Framework connector, and the resident named in the forgeries can still talk
 * at full speed (forgeries spend nobody's rate limit).
 */
import { createHmac, randomBytes } from 'node:crypto';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenSigner } from '../../src/channels/webchat/direct-line-token.js';
import { startTestApp, type RunningApp } from '../support/http.js';
import { AUTH_TOKEN } from '../support/twilio.js';
import { CHANNEL_ISSUER, EMULATOR_ISSUER, newSigningKey, startFakeTokenKeys, type FakeTokenKeys } from '../support/fake-token-keys.js';
import { census, changes } from './support/census.js';
import { formBody, send, sid, twilioHeaders, type RequestSpec } from './support/client.js';
import { DirectLineResident, PUBLIC_URL, SmsResident, startAllChannels, TELEGRAM_SECRET, type Channels } from './support/all-channels.js';

const TOKEN_SECRET = 'faults-web-chat-token-secret-0123456789abcdef';
const APP_ID = '00000000-0000-0000-0000-000000000001';

let channels: Channels;
let secured: RunningApp;
let keys: FakeTokenKeys;
beforeAll(async () => {
  channels = await startAllChannels({ WEB_CHAT_TOKEN_SECRET: TOKEN_SECRET });
  // The Bot Framework with credentials: botbuilder checks every caller's token, with the signing
  // keys of a local fake (the network is off in tests).
  keys = await startFakeTokenKeys();
  secured = await startTestApp({ MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_PASSWORD: 'not-a-real-secret' }, { botFrameworkTokenKeys: keys.tokenKeys });
});
afterAll(async () => {
  await channels.close();
  await secured.close();
  await keys.close();
});

const dataDir = () => channels.app.service.config.dataDir;

/** Sends every request; each must be refused with one of `statuses`. */
async function refuseAll(requests: (RequestSpec & { why: string })[], statuses: number[]): Promise<void> {
  for (const request of requests) {
    const response = await send(request);
    expect(statuses, `${request.why}: ${response.status} ${response.error ?? response.text.slice(0, 200)}`).toContain(response.status);
  }
}

/** A JWT-shaped token: header.claims.signature, signed with nothing anyone trusts. */
function fakeJwt(claims: Record<string, unknown>, alg = 'RS256'): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg, typ: 'JWT', kid: 'forged-key' })}.${part(claims)}.${randomBytes(64).toString('base64url')}`;
}

describe('forged traffic is refused and stores nothing', () => {
  it('Twilio webhooks without a valid signature', async () => {
    const victim = new SmsResident(channels);
    const before = await census(dataDir());
    const path = '/webhooks/twilio/sms';
    const url = `${channels.app.url}${path}`;
    const forgeries: (RequestSpec & { why: string })[] = [];
    for (let i = 0; i < 10; i++) {
      const params = {
        MessageSid: sid(),
        AccountSid: 'AC00000000000000000000000000000000',
        From: victim.phone,
        To: '+12175550100',
        Body: `report a pothole ${i}`,
        NumMedia: '0',
      };
      const body = formBody(params);
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const signed = twilioHeaders(PUBLIC_URL, path, params);
      forgeries.push(
        { why: 'no signature', url, headers: form, body },
        { why: 'a random signature', url, headers: { ...form, 'x-twilio-signature': randomBytes(20).toString('base64') }, body },
        { why: 'an empty signature', url, headers: { ...form, 'x-twilio-signature': '' }, body },
        { why: 'signed with another auth token', url, headers: twilioHeaders(PUBLIC_URL, path, params, 'another-accounts-auth-token-000'), body },
        { why: 'signed for another URL', url, headers: twilioHeaders('https://evil.example', path, params), body },
        { why: 'signed for the status webhook', url, headers: twilioHeaders(PUBLIC_URL, '/webhooks/twilio/status', params), body },
        { why: 'the body changed after signing', url, headers: signed, body: formBody({ ...params, Body: 'STOP' }) },
        {
          why: 'a field added after signing',
          url,
          headers: signed,
          body: formBody({ ...params, NumMedia: '1', MediaUrl0: 'https://evil.example/x.jpg', MediaContentType0: 'image/jpeg' }),
        },
        { why: 'the sender changed after signing', url, headers: signed, body: formBody({ ...params, From: '+15550000000' }) },
        // A signature computed the way an attacker might guess (HMAC of the body alone).
        { why: 'an HMAC of the body', url, headers: { ...form, 'x-twilio-signature': createHmac('sha1', AUTH_TOKEN).update(body).digest('base64') }, body },
        {
          why: 'a status callback without a signature',
          url: `${channels.app.url}/webhooks/twilio/status`,
          headers: form,
          body: formBody({ MessageSid: sid(), MessageStatus: 'delivered' }),
        },
      );
    }
    // Through a proxy that does not say it is one: the signed URL is PUBLIC_URL's, whatever the Host.
    const params = { MessageSid: sid(), From: victim.phone, To: '+12175550100', Body: 'hi', NumMedia: '0' };
    forgeries.push({
      why: 'a spoofed Host',
      url,
      headers: { ...twilioHeaders('http://evil.example', path, params), host: 'evil.example' },
      body: formBody(params),
    });
    await refuseAll(forgeries, [403]);
    expect(changes(before, await census(dataDir()))).toEqual([]);

    // The resident in whose name all that was sent still has their whole burst.
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => victim.send(i === 0 ? 'hi' : 'menu')));
    for (const answer of answers) expect(answer.replies.join(''), 'throttled by forgeries').not.toContain('faster than we can read');
    // And a correctly signed webhook is still taken (the check is not just refusing everything).
    expect(twilio.validateRequest(AUTH_TOKEN, twilioHeaders(PUBLIC_URL, path, params)['x-twilio-signature']!, `${PUBLIC_URL}${path}`, params)).toBe(true);
  });

  it('Telegram updates without the right secret', async () => {
    const before = await census(dataDir());
    const sentBefore = channels.telegram.callsOf('sendMessage').length;
    const update = (i: number) =>
      JSON.stringify({
        update_id: 900_000_000 + i,
        message: { message_id: i, from: { id: 4242, is_bot: false }, chat: { id: 4242, type: 'private' }, date: 1795370000, text: 'report a pothole' },
      });
    const url = `${channels.app.url}/webhooks/telegram`;
    const json = { 'content-type': 'application/json' };
    const secrets: [string, string | undefined][] = [
      ['no secret', undefined],
      ['an empty secret', ''],
      ['a wrong secret', 'telegram-webhook-secret-9999999999'],
      ['the secret in upper case', TELEGRAM_SECRET.toUpperCase()],
      ['the secret with one character changed', `${TELEGRAM_SECRET.slice(0, -1)}8`],
      ['a prefix of the secret', TELEGRAM_SECRET.slice(0, -1)],
      ['the secret twice', TELEGRAM_SECRET + TELEGRAM_SECRET],
      ['a very long secret', 'x'.repeat(8000)],
    ];
    await refuseAll(
      secrets.map(([why, secret], i) => ({
        why,
        url,
        headers: { ...json, ...(secret === undefined ? {} : { 'x-telegram-bot-api-secret-token': secret }) },
        body: update(i),
      })),
      [401, 403],
    );
    expect(changes(before, await census(dataDir()))).toEqual([]);
    expect(channels.telegram.callsOf('sendMessage').length).toBe(sentBefore);
  });

  it('Bot Framework activities without a valid token, when credentials are configured', async () => {
    const before = await census(secured.service.config.dataDir);
    const fetchedBefore = keys.requests.length;
    const now = Math.floor(Date.now() / 1000);
    const serviceUrl = 'https://smba.trafficmanager.net/amer/';
    const activity = JSON.stringify({
      type: 'message',
      id: 'forged-1',
      serviceUrl,
      channelId: 'msteams',
      from: { id: 'victim' },
      conversation: { id: 'forged-conversation' },
      recipient: { id: APP_ID },
      text: 'report a pothole',
    });
    const url = `${secured.url}/api/messages`;
    const json = { 'content-type': 'application/json' };
    // What a real channel's token says (signed with the published key, it is taken: see below);
    // the claim is `serviceurl`, in lower case.
    const genuine = { iss: CHANNEL_ISSUER, aud: APP_ID, serviceurl: serviceUrl, nbf: now - 10, exp: now + 600 };
    const attacker = newSigningKey(keys.channelKey.kid);
    // The published key's public half, as an attacker would try it as an HMAC secret (alg confusion).
    const publicPem = keys.channelKey.publicKey.export({ type: 'spki', format: 'pem' });
    const hs256 = (() => {
      const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const signed = `${part({ alg: 'HS256', typ: 'JWT', kid: keys.channelKey.kid })}.${part(genuine)}`;
      return `${signed}.${createHmac('sha256', publicPem).update(signed).digest('base64url')}`;
    })();
    const tokens: [string, string | undefined][] = [
      ['no Authorization', undefined],
      ['an empty Authorization', ''],
      ['Bearer and nothing', 'Bearer '],
      ['a random bearer', `Bearer ${randomBytes(40).toString('base64url')}`],
      ['Basic credentials', `Basic ${Buffer.from(`${APP_ID}:not-a-real-secret`).toString('base64')}`],
      ['the app password as a bearer', 'Bearer not-a-real-secret'],
      ['a JWT from an issuer nobody trusts', `Bearer ${fakeJwt({ iss: 'https://evil.example/', aud: APP_ID, exp: now + 600, nbf: now - 10 })}`],
      ['a JWT for another audience', `Bearer ${fakeJwt({ iss: 'https://evil.example/', aud: 'someone-else', exp: now + 600 })}`],
      ['an expired JWT', `Bearer ${fakeJwt({ iss: 'https://evil.example/', aud: APP_ID, exp: now - 600 })}`],
      // Naming the Bot Framework's issuer: botbuilder fetches its signing keys (from the fake).
      ["a forged JWT naming the Bot Framework's issuer", `Bearer ${fakeJwt(genuine)}`],
      ['an unsigned JWT (alg none)', `Bearer ${fakeJwt(genuine, 'none')}`],
      ["signed with another key under the published key's id", `Bearer ${keys.sign(genuine, attacker)}`],
      ['HS256 with the published public key as the secret', `Bearer ${hs256}`],
      ['signed with the published key, for another audience', `Bearer ${keys.sign({ ...genuine, aud: 'someone-else' })}`],
      ['signed with the published key, expired', `Bearer ${keys.sign({ ...genuine, nbf: now - 7200, exp: now - 3600 })}`],
      ['signed with the published key, for another serviceUrl', `Bearer ${keys.sign({ ...genuine, serviceurl: 'https://attacker.example/' })}`],
      ['signed with the published key, by another issuer', `Bearer ${keys.sign({ ...genuine, iss: 'https://evil.example/' })}`],
      ['a forged Emulator token', `Bearer ${fakeJwt({ iss: EMULATOR_ISSUER, aud: APP_ID, appid: APP_ID, ver: '1.0', exp: now + 600, nbf: now - 10 })}`],
      [
        "an Emulator token signed with the channels' key",
        `Bearer ${keys.sign({ iss: EMULATOR_ISSUER, aud: APP_ID, appid: APP_ID, ver: '1.0', exp: now + 600, nbf: now - 10 })}`,
      ],
    ];
    await refuseAll(
      tokens.map(([why, authorization]) => ({ why, url, headers: { ...json, ...(authorization === undefined ? {} : { authorization }) }, body: activity })),
      [401],
    );
    // The published key signs for some channels only (its endorsements): not for this one.
    await refuseAll(
      [
        {
          why: 'signed with the published key, for a channel it does not endorse',
          url,
          headers: { ...json, authorization: `Bearer ${keys.sign(genuine)}` },
          body: JSON.stringify({ ...JSON.parse(activity), channelId: 'slack' }),
        },
      ],
      [401],
    );
    // Many at once with one forged token: each is a 401.
    const forged = { ...json, authorization: `Bearer ${keys.sign(genuine, attacker)}` };
    const answers = await Promise.all(Array.from({ length: 10 }, () => send({ url, headers: forged, body: activity })));
    expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 10 }, () => 401));
    expect(changes(before, await census(secured.service.config.dataDir))).toEqual([]);
    // The keys were read from the fake (so the checks above ran against real keys, not a failed fetch).
    expect(keys.requests.slice(fetchedBefore)).toEqual(expect.arrayContaining(['/v1/.well-known/openidconfiguration', '/v1/keys']));
  });

  it('a Bot Framework activity with a genuinely signed token is taken (the check does not just refuse everything)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const serviceUrl = 'https://smba.trafficmanager.net/amer/';
    const conversationId = `signed-${randomBytes(6).toString('hex')}`;
    const activity = (channelId: string, text: string) =>
      JSON.stringify({
        type: 'message',
        id: `signed-${randomBytes(6).toString('hex')}`,
        serviceUrl,
        channelId,
        from: { id: 'resident' },
        conversation: { id: conversationId },
        recipient: { id: APP_ID },
        text,
        // Replies in the response: nothing is posted to the channel (or to the internet).
        deliveryMode: 'expectReplies',
      });
    const url = `${secured.url}/api/messages`;
    const headers = (token: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}` });
    const taken = await send({
      url,
      headers: headers(keys.sign({ iss: CHANNEL_ISSUER, aud: APP_ID, serviceurl: serviceUrl, nbf: now - 10, exp: now + 600 })),
      body: activity('msteams', 'hi'),
    });
    expect(taken.status, taken.text.slice(0, 200)).toBe(200);
    expect(taken.text).toContain('What would you like to do?');
    expect(await secured.service.store.conversations.get(`webchat:bf:msteams:${conversationId}`)).not.toBeNull();
    // The Emulator's tokens are checked against its own keys (the `appid` claim names the bot).
    const emulator = keys.sign({ iss: EMULATOR_ISSUER, aud: APP_ID, appid: APP_ID, ver: '1.0', nbf: now - 10, exp: now + 600 }, keys.emulatorKey);
    const fromEmulator = await send({ url, headers: headers(emulator), body: activity('emulator', 'menu') });
    expect(fromEmulator.status, fromEmulator.text.slice(0, 200)).toBe(200);
    expect(keys.requests).toEqual(expect.arrayContaining(['/common/v2.0/.well-known/openid-configuration', '/common/discovery/v2.0/keys']));
  });

  it('Bot Framework development mode: nothing from another machine, no reply to another machine', async () => {
    const before = await census(dataDir());
    const postsBefore = channels.connector.posts.length;
    const activity = (serviceUrl: string) =>
      JSON.stringify({
        type: 'message',
        id: 'forged-dev',
        serviceUrl,
        channelId: 'emulator',
        from: { id: 'victim' },
        conversation: { id: 'dev-forged' },
        text: 'hi',
      });
    const url = `${channels.app.url}/api/messages`;
    const json = { 'content-type': 'application/json' };
    await refuseAll(
      [
        { why: 'from another machine, through the proxy', url, headers: { ...json, 'x-forwarded-for': '203.0.113.9' }, body: activity(channels.connector.url) },
        { why: 'a serviceUrl elsewhere', url, headers: json, body: activity('https://attacker.example') },
        { why: 'a look-alike serviceUrl', url, headers: json, body: activity('http://127.0.0.1.attacker.example') },
        { why: 'a serviceUrl with credentials', url, headers: json, body: activity('http://localhost@attacker.example') },
      ],
      [403],
    );
    expect(changes(before, await census(dataDir()))).toEqual([]);
    expect(channels.connector.posts.length).toBe(postsBefore);
  });

  it("Direct Line calls with a token that is not this conversation's", async () => {
    const resident = new DirectLineResident(channels);
    await resident.start();
    const other = new DirectLineResident(channels);
    await other.start();
    const before = await census(dataDir());
    const signer = createTokenSigner(Buffer.from(TOKEN_SECRET));
    const stranger = createTokenSigner(Buffer.from('another-secret-nobody-here-uses-0123456789'));
    const now = Date.now();
    const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { userId: string };
    const userId = claimsOf(resident.token).userId;
    const tokens: [string, string | undefined][] = [
      ['no token', undefined],
      ['a random token', randomBytes(32).toString('base64url')],
      ["another conversation's token", other.token],
      ['a token signed with another secret', stranger.issue(resident.conversationId, userId).token],
      ['an expired token', signer.issue(resident.conversationId, userId, { now: now - 2 * 3_600_000 }).token],
      ['a stream token', signer.issue(resident.conversationId, userId, { scope: 'stream' }).token],
      ['a token with its signature cut', resident.token.split('.')[0]!],
      [
        'a token with a changed conversation',
        `${Buffer.from(JSON.stringify({ ...claimsOf(resident.token), conversationId: other.conversationId })).toString('base64url')}.${resident.token.split('.')[1]}`,
      ],
    ];
    const base = `${channels.app.url}/v3/directline/conversations/${resident.conversationId}`;
    const message = JSON.stringify({ type: 'message', text: 'report a pothole', from: { id: 'me' } });
    const forgeries: (RequestSpec & { why: string })[] = [];
    for (const [why, token] of tokens) {
      const auth: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
      forgeries.push(
        { why: `post, ${why}`, url: `${base}/activities`, headers: { 'content-type': 'application/json', ...auth }, body: message },
        { why: `read, ${why}`, method: 'GET', url: `${base}/activities`, headers: auth },
        { why: `resume, ${why}`, method: 'GET', url: base, headers: auth },
        {
          why: `upload, ${why}`,
          url: `${base}/upload`,
          headers: { 'content-type': 'multipart/form-data; boundary=xyz', ...auth },
          body: `--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n0000\r\n--xyz--\r\n`,
        },
      );
    }
    await refuseAll(forgeries, [401, 403]);
    expect(changes(before, await census(dataDir()))).toEqual([]);
  });

  it('staff API calls without the staff token', async () => {
    const before = await census(dataDir());
    const api = `${channels.app.url}/admin/api`;
    const json = { 'content-type': 'application/json' };
    const role = JSON.stringify({
      title: 'Forged role',
      description: 'x',
      neighbourhood: 'x',
      place: 'x',
      startsAt: '2030-01-01T10:00:00Z',
      capacity: 5,
      contact: 'x',
    });
    const auths: [string, Record<string, string>][] = [
      ['no credentials', {}],
      ['a wrong bearer token', { authorization: 'Bearer faults-admin-token-0123456780' }],
      ['the token as Basic', { authorization: `Basic ${Buffer.from('admin:faults-admin-token-0123456789').toString('base64')}` }],
      ['a forged session cookie', { cookie: `civicline_staff=${randomBytes(32).toString('base64url')}` }],
    ];
    const forgeries: (RequestSpec & { why: string })[] = [];
    for (const [why, headers] of auths) {
      forgeries.push(
        { why: `create a role, ${why}`, url: `${api}/roles`, headers: { ...json, ...headers }, body: role },
        {
          why: `add staff, ${why}`,
          url: `${api}/staff`,
          headers: { ...json, ...headers },
          body: JSON.stringify({ username: 'mallory', displayName: 'M', role: 'admin', password: 'correct horse battery staple' }),
        },
        {
          why: `broadcast, ${why}`,
          url: `${api}/broadcasts`,
          headers: { ...json, ...headers },
          body: JSON.stringify({ messages: { en: 'Free money' }, audience: {} }),
        },
        { why: `read reports, ${why}`, method: 'GET', url: `${api}/reports`, headers },
      );
    }
    await refuseAll(forgeries, [401]);
    expect(changes(before, await census(dataDir()))).toEqual([]);
  });
});
