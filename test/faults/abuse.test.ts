/**
 * Abuse: one sender flooding is slowed down without affecting other residents. With the default
 * limits (RATE_LIMIT_MESSAGES_PER_MINUTE=30, RATE_LIMIT_MESSAGE_BURST=15), a sender at 300
 * messages a minute gets one polite "slow down" and then silence (SMS: empty TwiML, 200, so
 * Twilio does not retry), and only what the rate allows is processed; 20 other residents
 * conversing meanwhile get the same answers at the same speed as without the flood. Also: every
 * channel's answer to a flood, STOP that still works mid-flood, and the per-address brake on
 * opening new web chats.
 */
import { describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.js';
import { send } from './support/client.js';
import { BotFrameworkResident, DirectLineResident, SmsResident, useAllChannels, TelegramResident, WebResident } from './support/all-channels.js';

const channels = useAllChannels();

const service = (): Service => channels().app.service;
const SLOW_DOWN = /faster than we can read/;
const BURST = 15;
const PER_MINUTE = 30;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function inboundCount(address: string): Promise<number> {
  const entries = await service().store.transcripts.find({ field: 'conversationId', equals: address });
  return entries.filter((e) => e.direction === 'in').length;
}

/** 20 residents walking the start of a report at a brisk person's pace (a tap every 1-2 s); their latencies and whether each reply was the right one. */
async function residentsConverse(seconds: number): Promise<{ latencies: number[]; wrong: string[] }> {
  const script: [string, RegExp][] = [
    ['hi', /What would you like to do\?/],
    ['report a problem', /What kind of problem/],
    ['pothole', /Where is it\?/],
    ['5th and Main', /Describe the problem/],
    ['a deep hole in the crosswalk', /photo/],
    ['skip', /Please check/],
    ['menu', /What would you like to do\?/],
  ];
  const latencies: number[] = [];
  const wrong: string[] = [];
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 20 }, async (_, n) => {
      const resident = new SmsResident(channels());
      await sleep(n * 37); // not all in step
      for (let i = 0; Date.now() < deadline; i++) {
        const [text, expected] = script[i % script.length]!;
        const answer = await resident.send(text);
        latencies.push(answer.response.ms);
        if (answer.status !== 200 || !expected.test(answer.replies.join('\n')))
          wrong.push(`${resident.address} "${text}": ${answer.status} ${answer.replies.join(' | ')}`);
        await sleep(1000 + Math.random() * 1000);
      }
    }),
  );
  return { latencies, wrong };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe('one sender flooding', () => {
  it('is slowed down at 300 messages a minute, without affecting 20 other residents', async () => {
    const calm = await residentsConverse(5);
    expect(calm.wrong).toEqual([]);

    const flooder = new SmsResident(channels());
    const answers: Promise<{ status: number; replies: string[] }>[] = [];
    const seconds = 12;
    const flood = (async () => {
      // 300 a minute: one every 200 ms, each sent without waiting for the one before.
      for (let i = 0; i < seconds * 5; i++) {
        answers.push(flooder.send(i % 2 ? 'pothole on main street' : 'hello?'));
        await sleep(200);
      }
    })();
    const flooded = await residentsConverse(seconds - 1);
    await flood;
    const results = await Promise.all(answers);

    // The others: the same answers, at the same speed.
    expect(flooded.wrong).toEqual([]);
    const [before, during] = [median(calm.latencies), median(flooded.latencies)];
    console.log(
      `flood: others' median latency ${before.toFixed(1)} ms without the flood, ${during.toFixed(1)} ms during it (${flooded.latencies.length} turns)`,
    );
    expect(during).toBeLessThan(before * 1.5 + 15);

    // The flooder: always a 200 (Twilio must not retry), one "slow down", then silence.
    for (const result of results) expect(result.status).toBe(200);
    const noticed = results.filter((r) => r.replies.some((text) => SLOW_DOWN.test(text)));
    expect(noticed).toHaveLength(1);
    const silent = results.filter((r) => r.replies.length === 0);
    // Only what the rate allows was processed (the burst, then 20 a minute), none of the rest.
    const allowed = BURST + Math.ceil((seconds * PER_MINUTE) / 60) + 1;
    const processed = await inboundCount(flooder.address);
    expect(processed).toBeLessThanOrEqual(allowed);
    expect(processed).toBeGreaterThanOrEqual(BURST);
    expect(results.length - processed - noticed.length).toBe(silent.length);
  }, 60_000);

  it('300 messages at once: the burst is processed, the rest refused cheaply', async () => {
    const flooder = new SmsResident(channels());
    const bystander = new SmsResident(channels());
    const started = performance.now();
    const [results, calm] = await Promise.all([
      Promise.all(Array.from({ length: 300 }, (_, i) => flooder.send(`message ${i}`))),
      (async () => {
        await sleep(50);
        return bystander.send('hi');
      })(),
    ]);
    const elapsed = performance.now() - started;
    console.log(`300 at once from one sender: ${Math.round(elapsed)} ms; a bystander's turn meanwhile: ${calm.response.ms.toFixed(1)} ms`);
    expect(calm.replies.join('\n')).toContain('What would you like to do?');
    for (const result of results) expect(result.status).toBe(200);
    // The burst, and what the rate refilled while the 300 were being answered.
    const processed = await inboundCount(flooder.address);
    expect(processed).toBeGreaterThanOrEqual(BURST);
    expect(processed).toBeLessThanOrEqual(BURST + Math.ceil((elapsed / 60_000) * PER_MINUTE) + 1);
    expect(results.filter((r) => r.replies.some((text) => SLOW_DOWN.test(text)))).toHaveLength(1);
  });

  it('STOP still opts out in the middle of a flood', async () => {
    const flooder = new SmsResident(channels());
    for (let i = 0; i < BURST + 5; i++) await flooder.send('hello?');
    const stop = await flooder.send('STOP');
    expect(stop.replies.join('\n')).toMatch(/unsubscribed/);
    expect((await service().store.residents.get(flooder.address))?.optedOut).toBe(true);
    // And an opted-out resident gets nothing at all, not even the "slow down".
    for (let i = 0; i < 5; i++) expect((await flooder.send('hello?')).replies).toEqual([]);
  });

  it("every channel's answer to a flood", async () => {
    const flood = async <T>(sendOne: (i: number) => Promise<T>): Promise<T[]> => {
      const results: T[] = [];
      for (let i = 0; i < BURST + 4; i++) results.push(await sendOne(i));
      return results;
    };

    // The JSON chat API: 429 with Retry-After, and the notice in the body once.
    const web = new WebResident(channels());
    const webAnswers = await flood(() => web.send('hello?'));
    const refused = webAnswers.slice(BURST);
    for (const answer of refused) {
      expect(answer.status).toBe(429);
      expect(Number(answer.response.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(refused.filter((a) => JSON.parse(a.response.text).replies.some((r: { text: string }) => SLOW_DOWN.test(r.text)))).toHaveLength(1);
    expect(await inboundCount(web.address)).toBe(BURST);

    // Telegram: always 200 (so it is not redelivered); one notice sent to the chat.
    const tg = new TelegramResident(channels());
    const tgAnswers = await flood(() => tg.send('hello?'));
    for (const answer of tgAnswers) expect(answer.status).toBe(200);
    expect(tg.sent().filter((text) => SLOW_DOWN.test(text))).toHaveLength(1);
    expect(await inboundCount(tg.address)).toBe(BURST);

    // The Bot Framework: 200; the notice once, then no activities.
    const bf = new BotFrameworkResident(channels());
    const bfAnswers = await flood(() => bf.send('hello?'));
    for (const answer of bfAnswers) expect(answer.status).toBe(200);
    expect(bfAnswers.slice(BURST).map((a) => a.replies.length)).toEqual([1, 0, 0, 0]);
    expect(await inboundCount(bf.address)).toBe(BURST);

    // Direct Line: 429 (Web Chat shows the send as failed); the notice once in the conversation.
    const dl = new DirectLineResident(channels());
    await dl.start();
    const before = await inboundCount(dl.address);
    const dlAnswers = await flood(() => dl.post('hello?'));
    expect(dlAnswers.slice(BURST).map((r) => r.status)).toEqual([429, 429, 429, 429]);
    expect((await dl.botMessages()).filter((text) => SLOW_DOWN.test(text))).toHaveLength(1);
    expect((await inboundCount(dl.address)) - before).toBe(BURST);
  });

  it('one client address opening new web chats is slowed down too', async () => {
    for (const path of ['/chat/api/session', '/v3/directline/tokens/generate']) {
      const statuses: number[] = [];
      let retryAfter = '';
      for (let i = 0; i < 65; i++) {
        const response = await send({ url: `${channels().app.url}${path}`, headers: { 'content-type': 'application/json' }, body: '{}' });
        statuses.push(response.status);
        if (response.status === 429) retryAfter = String(response.headers['retry-after']);
      }
      expect(statuses.filter((s) => s === 429).length, path).toBeGreaterThanOrEqual(4);
      expect(
        statuses.slice(0, 55).every((s) => s < 300),
        path,
      ).toBe(true);
      expect(Number(retryAfter), path).toBeGreaterThan(0);
      // Another client address (behind the proxy) is not affected.
      const other = await send({
        url: `${channels().app.url}${path}`,
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7' },
        body: '{}',
      });
      expect(other.status, path).toBeLessThan(300);
    }
  });
});
