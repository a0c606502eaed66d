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
import { census, changes } from './support/census.js';
import { formBody, send, sid, twilioHeaders, type RequestSpec } from './support/client.js';
import { DirectLineResident, PUBLIC_URL, SmsResident, startAllChannels, TELEGRAM_SECRET, type Channels } from './support/all-channels.js';

const TOKEN_SECRET = 'faults-web-chat-token-secret-0123456789abcdef';
const APP_ID = '00000000-0000-0000-0000-000000000001';

let channels: Channels;
let secured: RunningApp;
beforeAll(async () => {
  channels = await startAllChannels({ WEB_CHAT_TOKEN_SECRET: TOKEN_SECRET });
  // The Bot Framework with credentials: botbuilder checks every caller's token.
  secured = await startTestApp({ MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_PASSWORD: 'not-a-real-secret' });
});
afterAll(async () => {
  await channels.close();
  await secured.close();
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
    const now = Math.floor(Date.now() / 1000);
    const activity = JSON.stringify({
      type: 'message',
      id: 'forged-1',
      serviceUrl: 'https://smba.trafficmanager.net/amer/',
      channelId: 'msteams',
      from: { id: 'victim' },
      conversation: { id: 'forged-conversation' },
      recipient: { id: APP_ID },
      text: 'report a pothole',
    });
    const url = `${secured.url}/api/messages`;
    const json = { 'content-type': 'application/json' };
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
    ];
    await refuseAll(
      tokens.map(([why, authorization]) => ({ why, url, headers: { ...json, ...(authorization === undefined ? {} : { authorization }) }, body: activity })),
      [401],
    );
    // A JWT naming the Bot Framework's own issuer makes botbuilder fetch the issuer's signing
    // keys. The network is off here, so it cannot: the request is refused with a 503 (a real
    // channel would retry), not taken; online, a forged signature is a 401.
    await refuseAll(
      [
        {
          why: "a forged JWT naming the Bot Framework's issuer",
          url,
          headers: { ...json, authorization: `Bearer ${fakeJwt({ iss: 'https://api.botframework.com', aud: APP_ID, exp: now + 600, nbf: now - 10 })}` },
          body: activity,
        },
        {
          why: 'an unsigned JWT (alg none)',
          url,
          headers: { ...json, authorization: `Bearer ${fakeJwt({ iss: 'https://api.botframework.com', aud: APP_ID, exp: now + 600 }, 'none')}` },
          body: activity,
        },
      ],
      [401, 503],
    );
    expect(changes(before, await census(secured.service.config.dataDir))).toEqual([]);
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
