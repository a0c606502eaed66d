/**
 * SMS through Twilio's webhook, end to end on the real app: correctly signed webhooks (signed
 * with the twilio library's own function against the public URL, as behind a proxy) for whole
 * journeys, the compliance keywords, and everything a public webhook gets that Twilio did not send.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../../support/http.js';
import { AUTH_TOKEN, messageSid, postTwilio, twilioFixture, twimlMessages } from '../../support/twilio.js';
import { referenceIn } from '../../support/harness.js';

// Twilio calls the public URL; the app listens elsewhere (behind a proxy).
const PUBLIC_URL = 'https://bot.springfield.example';
let app: RunningApp;

beforeAll(async () => {
  app = await startTestApp({ TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_URL });
});
afterAll(() => app.close());

let phoneCounter = 0;

/** A resident texting the city number. */
class Texter {
  readonly phone = `+1217555${String(1000 + phoneCounter++).padStart(4, '0')}`;

  /** Sends a text; returns the HTTP status and the reply bodies. */
  async send(body: string, extra: Record<string, string> = {}): Promise<{ status: number; replies: string[]; sid: string }> {
    const sid = extra.MessageSid ?? messageSid();
    const params = { ...twilioFixture('inbound-sms'), From: this.phone, Body: body, MessageSid: sid, SmsMessageSid: sid, SmsSid: sid, ...extra };
    const response = await postTwilio({ appUrl: app.url, publicUrl: PUBLIC_URL, path: '/webhooks/twilio/sms', params });
    return { status: response.status, replies: twimlMessages(response.text), sid };
  }

  async say(body: string): Promise<string> {
    const { status, replies } = await this.send(body);
    expect(status).toBe(200);
    return replies.join('\n\n');
  }
}

describe('SMS journeys', () => {
  it('files a report by text and answers its status', async () => {
    const resident = new Texter();
    expect(await resident.say('hi')).toContain('Reply 1-5.');
    expect(await resident.say('1')).toContain('What kind of problem is it?');
    expect(await resident.say('1')).toContain('Where is it?');
    expect(await resident.say('5th and Main')).toContain('Describe the problem');
    expect(await resident.say('a deep hole in the crosswalk')).toContain('photo');
    const check = await resident.say('skip');
    expect(check).toContain('Pothole at 5th and Main');
    const ref = referenceIn(await resident.say('1'));
    expect(await resident.say(`status ${ref}`)).toContain('Status: Open');
    const report = await app.service.store.reports.get(ref);
    expect(report).toMatchObject({ channel: 'sms', residentAddress: `sms:${resident.phone}`, category: 'pothole' });
  });

  it('attaches an MMS photo to the report', async () => {
    const resident = new Texter();
    await resident.say('graffiti on the library wall on Oak St');
    const mms = twilioFixture('inbound-mms-photo');
    const sid = messageSid('MM');
    // The photo arrives while the bot is still asking for the description (the kind and the
    // place came with the first message): it is kept, and the question asked again.
    const { replies } = await resident.send('', { ...mms, MessageSid: sid, SmsMessageSid: sid, SmsSid: sid, From: resident.phone });
    expect(replies.join('\n')).toContain('Describe the problem');
    expect(await resident.say('tags all over the wall')).toContain('1 photo');
    const ref = referenceIn(await resident.say('1'));
    expect((await app.service.store.reports.get(ref))?.photos).toEqual([{ url: mms.MediaUrl0, contentType: 'image/jpeg' }]);
  });

  it('takes an idea and a volunteer sign-up by text', async () => {
    const resident = new Texter();
    await resident.say('I have an idea');
    await resident.say('A farmers market downtown');
    await resident.say('On Saturdays in the square');
    await resident.say('skip');
    referenceIn(await resident.say('yes'), 'I');
    const roles = await resident.say('volunteer');
    expect(roles).toMatch(/1\. \[demo\]/);
    await resident.say('1');
    expect(await resident.say('1')).toContain('What name');
    expect(await resident.say('Sam Rivera')).toContain("You're signed up");
  });
});

describe('compliance keywords', () => {
  it('STOP opts out with one confirmation, then nothing until START; consent is recorded', async () => {
    const resident = new Texter();
    await resident.say('hi');
    expect(await resident.say('STOP')).toContain('unsubscribed');
    expect((await resident.send('hello?')).replies).toEqual([]);
    expect((await resident.send('report a pothole')).replies).toEqual([]);
    expect(await resident.say('START')).toContain('Welcome back');
    const events = await app.service.store.consentEvents.find({ field: 'address', equals: `sms:${resident.phone}` });
    expect(events.map((e) => [e.kind, e.keyword, e.channel])).toEqual([
      ['opt_out', 'STOP', 'sms'],
      ['opt_in', 'START', 'sms'],
    ]);
  });

  it('opts out and back in with the Spanish words, answering in Spanish', async () => {
    const resident = new Texter();
    expect(await resident.say('hola')).toContain('¿Qué quieres hacer?');
    expect(await resident.say('BAJA')).toMatch(/baja/i);
    expect((await resident.send('hola')).replies).toEqual([]);
    expect(await resident.say('ALTA')).toMatch(/de nuevo/i);
    const events = await app.service.store.consentEvents.find({ field: 'address', equals: `sms:${resident.phone}` });
    expect(events.map((e) => [e.kind, e.keyword])).toEqual([
      ['opt_out', 'BAJA'],
      ['opt_in', 'ALTA'],
    ]);
  });

  it('honours every opt-out word in English and Spanish, in any case', async () => {
    for (const word of ['stop', 'StopAll', 'UNSUBSCRIBE', 'cancel', 'end', 'quit', 'revoke', 'optout', 'PARAR', 'baja', 'cancelar']) {
      const resident = new Texter();
      await resident.say('hi');
      expect(await resident.say(word)).toMatch(/unsubscribed|baja/i);
      expect((await app.service.store.residents.get(`sms:${resident.phone}`))?.optedOut).toBe(true);
    }
  });

  it('answers HELP and AYUDA with who we are and how to stop', async () => {
    const resident = new Texter();
    const help = await resident.say('HELP');
    expect(help).toContain('Springfield');
    expect(help).toContain('STOP');
    const ayuda = await new Texter().say('AYUDA');
    expect(ayuda).toContain('Springfield');
    expect(ayuda).toContain('STOP');
  });

  it('lets Twilio answer when its Advanced Opt-Out already did, but still records the consent', async () => {
    const resident = new Texter();
    await resident.say('hi');
    const { status, replies } = await resident.send('STOP', { OptOutType: 'STOP' });
    expect(status).toBe(200);
    expect(replies).toEqual([]);
    expect((await app.service.store.residents.get(`sms:${resident.phone}`))?.optedOut).toBe(true);
  });

  it('never asks a resident to type an opt-out word to leave a step', async () => {
    const catalogs = ['en', 'es'].map((locale) => app.service.i18n.t(locale, 'help.general') + app.service.i18n.t(locale, 'flow.left', { flow: '' }));
    const texts = [...catalogs, ...(await flowPrompts())];
    for (const text of texts) expect(text).not.toMatch(/\b(reply|send|text|type|responde|envia|escribe)\s+(cancel|end|quit|cancelar|parar|baja)\b/i);
  });
});

async function flowPrompts(): Promise<string[]> {
  const resident = new Texter();
  const said: string[] = [];
  for (const text of ['hi', '1', '1', 'Main St', 'deep', 'skip', '2', 'menu', 'español', '1', '1']) said.push(await resident.say(text));
  return said;
}

describe('what Twilio did not send', () => {
  it('processes a retried webhook (same MessageSid) once and answers it the same way', async () => {
    const resident = new Texter();
    await resident.say('menu');
    const first = await resident.send('1');
    const retried = await Promise.all([resident.send('1', { MessageSid: first.sid }), resident.send('1', { MessageSid: first.sid })]);
    for (const retry of retried) expect(retry.replies).toEqual(first.replies);
    const transcript = await app.service.store.transcripts.find({ field: 'conversationId', equals: `sms:${resident.phone}` }, { limit: 100 });
    expect(transcript.filter((e) => e.direction === 'in').map((e) => e.text)).toEqual(['menu', '1']);
  });

  it('refuses a signed STOP replayed after many newer messages: consent and profile stay in step', async () => {
    const resident = new Texter();
    const address = `sms:${resident.phone}`;
    const stop = await resident.send('STOP');
    expect(stop.replies.join('\n')).toContain('unsubscribed');
    await resident.say('START');
    // More messages than a conversation keeps receipts for: the STOP's receipt is long gone.
    for (let i = 0; i < 22; i++) await resident.say(i % 2 ? 'menu' : 'help');

    const replayed = await resident.send('STOP', { MessageSid: stop.sid });
    expect(replayed.status).toBe(200);
    expect(replayed.replies).toEqual([]);
    expect((await app.service.store.residents.get(address))?.optedOut).toBe(false);
    const consent = await app.service.store.consentEvents.find({ field: 'address', equals: address }, { order: 'asc' });
    expect(consent.map((event) => event.kind)).toEqual(['opt_out', 'opt_in']);
    const inbound = (await app.service.store.transcripts.find({ field: 'conversationId', equals: address }, { limit: 200 })).filter(
      (entry) => entry.direction === 'in',
    );
    expect(inbound.filter((entry) => entry.providerMessageId === stop.sid)).toHaveLength(1);
    // The resident still hears from the city: nothing was opted out.
    expect(await resident.say('menu')).toContain('Reply 1-5.');
  });

  it('refuses a forged or missing signature with 403 and stores nothing', async () => {
    const params = { ...twilioFixture('inbound-sms'), From: '+12175559999', Body: 'forged', MessageSid: messageSid() };
    const forged = await postTwilio({ appUrl: app.url, publicUrl: PUBLIC_URL, path: '/webhooks/twilio/sms', params, authToken: 'not-our-token' });
    expect(forged.status).toBe(403);
    const missing = await postTwilio({ appUrl: app.url, publicUrl: PUBLIC_URL, path: '/webhooks/twilio/sms', params, authToken: null });
    expect(missing.status).toBe(403);
    // Signed for the URL the app sees rather than the public one Twilio calls: also refused.
    const wrongUrl = await postTwilio({ appUrl: app.url, path: '/webhooks/twilio/sms', params });
    expect(wrongUrl.status).toBe(403);
    // A signature for other parameters does not cover these.
    const tampered = await postTwilio({
      appUrl: app.url,
      publicUrl: PUBLIC_URL,
      path: '/webhooks/twilio/sms',
      params: { ...params, Body: 'changed' },
      signature: (await import('twilio')).default.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}/webhooks/twilio/sms`, params),
    });
    expect(tampered.status).toBe(403);
    expect(await app.service.store.conversations.get('sms:+12175559999')).toBeNull();
  });

  it('answers malformed and empty bodies with a 400 that says what is wrong', async () => {
    const empty = await postTwilio({ appUrl: app.url, publicUrl: PUBLIC_URL, path: '/webhooks/twilio/sms', params: {} });
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('MessageSid');
    const badSid = await postTwilio({
      appUrl: app.url,
      publicUrl: PUBLIC_URL,
      path: '/webhooks/twilio/sms',
      params: { ...twilioFixture('inbound-sms'), MessageSid: 'nope' },
    });
    expect(badSid.status).toBe(400);
    const badMedia = await postTwilio({
      appUrl: app.url,
      publicUrl: PUBLIC_URL,
      path: '/webhooks/twilio/sms',
      params: { ...twilioFixture('inbound-sms'), MessageSid: messageSid(), NumMedia: '1', MediaUrl0: 'javascript:alert(1)' },
    });
    expect(badMedia.status).toBe(400);
    expect(badMedia.text).toContain('MediaUrl0');
    const json = await fetch(`${app.url}/webhooks/twilio/sms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"Body":' });
    expect(json.status).toBeGreaterThanOrEqual(400);
    expect(json.status).toBeLessThan(500);
  });

  it('answers a 2,000-character body and odd Unicode sensibly', async () => {
    const resident = new Texter();
    const long = await resident.send('pothole '.repeat(250).slice(0, 2000));
    expect(long.status).toBe(200);
    expect(long.replies.length).toBeGreaterThan(0);
    for (const text of ['🕳️🚗💥 on Main', '\u202Eevil\u202C', 'مرحبا', 'a\u0000b', 'Ｐｏｔｈｏｌｅ', '𝓹𝓸𝓽𝓱𝓸𝓵𝓮']) {
      const answer = await resident.send(text);
      expect(answer.status).toBe(200);
      expect(answer.replies.length).toBeGreaterThan(0);
    }
    expect((await app.service.store.transcripts.count({ field: 'conversationId', equals: `sms:${resident.phone}` })) > 7).toBe(true);
  });

  it('refuses a body over the size limit with 413', async () => {
    const response = await fetch(`${app.url}/webhooks/twilio/sms`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `Body=${'x'.repeat(40_000)}`,
    });
    expect(response.status).toBe(413);
  });
});

describe('without TWILIO_AUTH_TOKEN', () => {
  it('accepts unsigned webhooks from this machine only, and sends late replies to the outbox', async () => {
    const local = await startTestApp({}, {}, { twimlDeadlineMs: 0 });
    try {
      const sid = messageSid();
      const params: Record<string, string> = { ...twilioFixture('inbound-sms'), Body: 'hi', MessageSid: sid };
      const response = await postTwilio({ appUrl: local.url, path: '/webhooks/twilio/sms', params, authToken: null });
      expect(response.status).toBe(200);
      // With a deadline of 0 the webhook answers at once and the reply goes out afterwards.
      expect(twimlMessages(response.text)).toEqual([]);
      let outbox: { text: string; state: string; purpose: string }[] = [];
      // Recorded first, then marked as written to the outbox: wait for both.
      for (let i = 0; i < 50 && outbox[0]?.state !== 'outbox'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        outbox = await local.service.store.outbound.find({ field: 'address', equals: `sms:${params.From}` });
      }
      expect(outbox).toHaveLength(1);
      expect(outbox[0]).toMatchObject({ state: 'outbox', purpose: 'reply' });
      expect(outbox[0]!.text).toContain('What would you like to do?');
    } finally {
      await local.close();
    }
  });
});

describe('without TWILIO_AUTH_TOKEN, behind a proxy or on a public server', () => {
  it('refuses unsigned webhooks relayed from another machine, or when PUBLIC_URL is set', async () => {
    const local = await startTestApp();
    const published = await startTestApp({ PUBLIC_URL: 'https://bot.springfield.example' });
    try {
      const params: Record<string, string> = { ...twilioFixture('inbound-sms'), Body: 'STOP', MessageSid: messageSid() };
      const proxied = await fetch(`${local.url}/webhooks/twilio/sms`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.9' },
        body: new URLSearchParams(params).toString(),
      });
      expect(proxied.status).toBe(403);
      const publicServer = await postTwilio({ appUrl: published.url, path: '/webhooks/twilio/sms', params, authToken: null });
      expect(publicServer.status).toBe(403);
      expect(await local.service.store.residents.get(`sms:${params.From}`)).toBeNull();
    } finally {
      await local.close();
      await published.close();
    }
  });

  it('sends a late reply once however often Twilio retries, and none when Twilio answered', async () => {
    const local = await startTestApp({}, {}, { twimlDeadlineMs: 0 });
    try {
      const from = '+12175550777';
      const sid = messageSid();
      const params = { ...twilioFixture('inbound-sms'), From: from, Body: 'hi', MessageSid: sid };
      await Promise.all([1, 2, 3].map(() => postTwilio({ appUrl: local.url, path: '/webhooks/twilio/sms', params, authToken: null })));
      const help = { ...params, Body: 'HELP', MessageSid: messageSid(), OptOutType: 'HELP' };
      await postTwilio({ appUrl: local.url, path: '/webhooks/twilio/sms', params: help, authToken: null });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const outbox = await local.service.store.outbound.find({ field: 'address', equals: `sms:${from}` });
      expect(outbox.map((o) => o.text.split('\n')[0])).toEqual(["Hi! This is Springfield's help line."]);
    } finally {
      await local.close();
    }
  });
});
