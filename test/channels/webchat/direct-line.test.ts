/**
 * The self-hosted Direct Line endpoint, driven by a Direct Line client written here (plain
 * HTTP and a WebSocket): a conversation, its stream, polling with a watermark, resuming, and
 * tokens that are wrong, expired or for another conversation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createOutbound, INTERRUPTED, updateOutbound } from '../../../src/channels/outbound-records.js';
import { createTokenSigner } from '../../../src/channels/webchat/direct-line-token.js';
import { startTestApp, type RunningApp } from '../../support/http.js';
import { referenceIn } from '../../support/harness.js';

/** Each report on a street of its own: a second at one place would be offered as "already reported". */
let nextStreet = 20;

let app: RunningApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const DL = () => `${app.url}/v3/directline`;

async function call(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${DL()}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** A Direct Line client: starts a conversation, listens on the stream, posts messages. */
class DirectLineClient {
  token = '';
  conversationId = '';
  received: any[] = [];
  private socket?: WebSocket;

  async start(): Promise<void> {
    const generated = await call('POST', '/tokens/generate');
    const started = await call('POST', '/conversations', generated.body.token);
    expect(started.status).toBe(201);
    this.token = started.body.token;
    this.conversationId = started.body.conversationId;
    await this.listen(started.body.streamUrl);
  }

  async listen(streamUrl: string): Promise<void> {
    this.socket = new WebSocket(streamUrl);
    this.socket.on('message', (data) => {
      const text = data.toString();
      if (text) this.received.push(...JSON.parse(text).activities);
    });
    await new Promise((resolve, reject) => this.socket!.once('open', resolve).once('error', reject));
  }

  /** Bot messages received so far, as text (hero card text included). */
  botTexts(): string[] {
    return this.received.filter((a) => a.from?.role === 'bot').map((a) => a.text ?? a.attachments?.[0]?.content?.text ?? '');
  }

  /** Posts a message and waits for the bot's answer to it on the stream. */
  async say(text: string, value?: unknown): Promise<string> {
    const posted = await call('POST', `/conversations/${this.conversationId}/activities`, this.token, {
      type: 'message',
      text,
      ...(value ? { value } : {}),
      from: { id: 'me' },
    });
    expect(posted.status).toBe(200);
    for (let i = 0; i < 200; i++) {
      const answers = this.received.filter((a) => a.replyToId === posted.body.id);
      if (answers.length > 0) return answers.map((a) => a.text ?? a.attachments?.[0]?.content?.text).join('\n\n');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`No answer to "${text}"`);
  }

  close(): void {
    this.socket?.close();
  }
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('Direct Line', () => {
  it('holds a conversation over the stream, and files a report', async () => {
    const client = new DirectLineClient();
    await client.start();
    await waitFor(() => client.botTexts().length >= 2);
    expect(client.botTexts().join('\n')).toContain('What would you like to do?');
    // The resident's own message comes back on the stream too, as Web Chat expects.
    await client.say('Report a problem', { choice: 'report' });
    expect(client.received.some((a) => a.from?.role === 'user' && a.text === 'Report a problem')).toBe(true);
    await client.say('Pothole', { choice: 'pothole' });
    await client.say(`Elm St and ${nextStreet++}th St`);
    expect(await client.say('Deep hole in the crosswalk')).toContain('photo');
    await client.say('Skip', { choice: 'skip' });
    const ref = referenceIn(await client.say('Yes, send it', { choice: 'yes' }));
    expect((await app.service.store.reports.get(ref))?.channel).toBe('webchat');
    client.close();
  });

  it('gives the history after a watermark, and a returning browser its conversation', async () => {
    const client = new DirectLineClient();
    await client.start();
    await client.say('menu');
    const all = await call('GET', `/conversations/${client.conversationId}/activities`, client.token);
    expect(all.status).toBe(200);
    const count = all.body.activities.length;
    expect(count).toBeGreaterThanOrEqual(4);
    const later = await call('GET', `/conversations/${client.conversationId}/activities?watermark=${Number(all.body.watermark) - 1}`, client.token);
    expect(later.body.activities).toHaveLength(1);
    // The browser comes back with its token: the same conversation, not a new greeting.
    const again = await call('POST', '/conversations', client.token);
    expect(again.body.conversationId).toBe(client.conversationId);
    const afterResume = await call('GET', `/conversations/${client.conversationId}/activities`, client.token);
    expect(afterResume.body.activities).toHaveLength(count);
    // A message sent while it was away (a status update) is there when it reconnects.
    await app.service.directLine.send(`webchat:${client.conversationId}`, [{ text: 'Your report is fixed.' }], {
      purpose: 'status_update',
      key: 'update-1',
      locale: 'en',
    });
    const resumed = new DirectLineClient();
    resumed.token = client.token;
    resumed.conversationId = client.conversationId;
    const reconnect = await call('GET', `/conversations/${client.conversationId}?watermark=${all.body.watermark}`, client.token);
    await resumed.listen(reconnect.body.streamUrl);
    await waitFor(() => resumed.botTexts().includes('Your report is fixed.'));
    expect(resumed.botTexts()).toEqual(['Your report is fixed.']);
    client.close();
    resumed.close();
  });

  it('records a message sent unprompted once, skips an opted-out resident, and never repeats one a crash cut off', async () => {
    const client = new DirectLineClient();
    await client.start();
    const address = `webchat:${client.conversationId}`;
    const { store } = app.service;
    const send = (text: string, key: string) => app.service.directLine.send(address, [{ text }], { purpose: 'status_update', key, locale: 'en' });
    const logged = async () => (await store.webchatActivities.find({ field: 'conversationId', equals: client.conversationId })).length;
    const outboundOf = async (key: string) => (await store.outbound.find({ field: 'address', equals: address })).find((record) => record.text === key) ?? null;

    // Recorded "sending" as it goes, then "sent": two writes.
    expect(await send('Your report is fixed.', 'R-1|1')).toEqual({ state: 'sent' });
    expect(await outboundOf('Your report is fixed.')).toMatchObject({ state: 'sent', attempts: 1, _rev: 2 });
    const before = await logged();
    expect(await send('Your report is fixed.', 'R-1|1')).toEqual({ state: 'sent' });
    expect(await logged()).toBe(before);

    // Left "sending" by a process that died mid-send: it may have arrived, so it is not sent again.
    const cut = await createOutbound(store, { idempotencyKey: `${address}|R-1|2|0`, channel: 'webchat', address, text: 'Closed.', purpose: 'status_update' });
    await updateOutbound(store, cut, { state: 'sending', attempts: 1 });
    expect(await send('Closed.', 'R-1|2')).toMatchObject({ state: 'failed', error: INTERRUPTED, interrupted: true });
    expect(await logged()).toBe(before);

    // Opted out: skipped, with one write and nothing logged.
    const resident = await store.residents.get(address);
    await store.residents.replace({ ...resident!, optedOut: true }, resident!._rev);
    expect(await send('Volunteers needed Saturday!', 'call-1')).toEqual({ state: 'skipped', reason: 'opted_out' });
    expect(await outboundOf('Volunteers needed Saturday!')).toMatchObject({ state: 'skipped', _rev: 1 });
    expect(await logged()).toBe(before);
    client.close();
  });

  it('refuses wrong, expired and other conversations\u2019 tokens with 403', async () => {
    const mine = new DirectLineClient();
    await mine.start();
    const theirs = new DirectLineClient();
    await theirs.start();
    const path = `/conversations/${mine.conversationId}/activities`;
    expect((await call('GET', path)).status).toBe(401);
    expect((await call('GET', path, 'not.a-token')).status).toBe(403);
    expect((await call('GET', path, `${mine.token}x`)).status).toBe(403);
    expect((await call('GET', path, theirs.token)).status).toBe(403);
    expect((await call('POST', path, theirs.token, { type: 'message', text: 'hi' })).status).toBe(403);
    const secret = Buffer.from(String((await app.service.store.meta.get('webchat-token-secret'))?.value), 'base64');
    const expired = createTokenSigner(secret).issue(mine.conversationId, 'me', { now: Date.now() - 2 * 60 * 60 * 1000 }).token;
    expect((await call('GET', path, expired)).status).toBe(403);
    const stream = new WebSocket(`${app.url.replace('http', 'ws')}/v3/directline/conversations/${mine.conversationId}/stream?t=${theirs.token}`);
    const refused = await new Promise<string>((resolve) =>
      stream.once('unexpected-response', (_req, res) => resolve(String(res.statusCode))).once('error', () => resolve('error')),
    );
    expect(refused).toBe('403');
    mine.close();
    theirs.close();
  });

  it('takes a photo upload (multipart, as Web Chat sends it) into the report', async () => {
    const client = new DirectLineClient();
    await client.start();
    await client.say('Graffiti', { choice: 'graffiti' });
    await client.say(`Oak St and ${nextStreet++}th St`);
    expect(await client.say('Tags all over the side wall')).toContain('photo');
    // Not an image (by its type, or by its bytes): refused, nothing stored.
    const stored = await app.service.media.totalBytes();
    for (const [type, bytes] of [
      ['text/html', '<script>alert(1)</script>'],
      ['image/png', '<html>a renamed page</html>'],
    ] as const) {
      const notAnImage = new FormData();
      notAnImage.append('activity', new Blob([JSON.stringify({ type: 'message' })], { type: 'application/vnd.microsoft.activity' }));
      notAnImage.append('file', new Blob([bytes], { type }), 'x.png');
      const refused = await fetch(`${DL()}/conversations/${client.conversationId}/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${client.token}` },
        body: notAnImage,
      });
      expect(refused.status).toBe(415);
      expect(((await refused.json()) as { code: string }).code).toBe('not_a_photo');
    }
    expect(await app.service.media.totalBytes()).toBe(stored);
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const form = new FormData();
    form.append(
      'activity',
      new Blob([JSON.stringify({ type: 'message', from: { id: 'me' }, attachments: [{ contentType: 'image/png', name: 'wall.png' }] })], {
        type: 'application/vnd.microsoft.activity',
      }),
    );
    form.append('file', new Blob([png], { type: 'image/png' }), 'wall.png');
    const upload = await fetch(`${DL()}/conversations/${client.conversationId}/upload?userId=me`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.token}` },
      body: form,
    });
    expect(upload.status).toBe(200);
    const { id } = (await upload.json()) as { id: string };
    await waitFor(() => client.received.some((a) => a.replyToId === id));
    expect(
      client.received
        .filter((a) => a.replyToId === id)
        .map((a) => a.text)
        .join(),
    ).toContain('1 photo');
    const ref = referenceIn(await client.say('Yes, send it', { choice: 'yes' }));
    const [photo] = (await app.service.store.reports.get(ref))!.photos;
    expect(photo!.contentType).toBe('image/png');
    const served = await fetch(photo!.url);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await served.arrayBuffer())).toEqual(png);
    client.close();
  });

  it('never attaches a posted URL to a report, only uploaded photos', async () => {
    const client = new DirectLineClient();
    await client.start();
    await client.say('Graffiti', { choice: 'graffiti' });
    await client.say(`Oak St and ${nextStreet++}th St`);
    await client.say('Tags on the wall');
    const posted = await call('POST', `/conversations/${client.conversationId}/activities`, client.token, {
      type: 'message',
      text: '',
      attachments: [{ contentType: 'image/png', contentUrl: 'https://attacker.example/track.png' }],
    });
    expect(posted.status).toBe(200);
    await client.say('Skip', { choice: 'skip' });
    const ref = referenceIn(await client.say('Yes, send it', { choice: 'yes' }));
    expect((await app.service.store.reports.get(ref))!.photos).toEqual([]);
    client.close();
  });

  it('keeps stream tokens to streams: they neither read the API nor renew', async () => {
    const client = new DirectLineClient();
    await client.start();
    const reconnect = await call('GET', `/conversations/${client.conversationId}`, client.token);
    const streamToken = new URL(reconnect.body.streamUrl).searchParams.get('t')!;
    expect((await call('GET', `/conversations/${client.conversationId}/activities`, streamToken)).status).toBe(403);
    expect((await call('POST', '/tokens/refresh', streamToken)).status).toBe(403);
    expect((await call('POST', '/tokens/refresh', client.token)).status).toBe(200);
    client.close();
  });

  it('deletes the web chat log when the resident deletes their data', async () => {
    const client = new DirectLineClient();
    await client.start();
    await client.say('my secret text about the alley');
    await client.say('delete my data');
    await client.say('Yes, delete', { choice: 'yes' });
    const left = await app.service.store.webchatActivities.find({ field: 'conversationId', equals: client.conversationId });
    expect(JSON.stringify(left)).not.toContain('my secret text');
    client.close();
  });

  it('answers a malformed activity with 400', async () => {
    const client = new DirectLineClient();
    await client.start();
    expect((await call('POST', `/conversations/${client.conversationId}/activities`, client.token, { type: 'message', text: 'x'.repeat(3000) })).status).toBe(
      400,
    );
    expect((await call('POST', `/conversations/${client.conversationId}/activities`, client.token, { type: 'typing' })).status).toBe(400);
    // Found by the bad-input fuzzer: a NUL in the id made the store refuse an opt-out's records (a 500).
    const nul = { type: 'message', text: 'stop', channelData: { clientActivityID: 'a\u0000b' } };
    expect((await call('POST', `/conversations/${client.conversationId}/activities`, client.token, nul)).status).toBe(400);
    client.close();
  });
});
