/**
 * Concurrency over HTTP: one resident sending 10 messages at once (on every channel), and 1,000
 * residents at once across the channels, three rounds of a journey. Every turn is answered and
 * recorded, once, and state never goes backwards: each conversation's transcript is one
 * unbroken sequence in which each message is followed by its own replies, and each round's
 * answer is the next step of the journey.
 */
import { Agent } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.js';
import { BotFrameworkResident, DirectLineResident, SmsResident, useAllChannels, TelegramResident, WebResident, type Answer } from './support/all-channels.js';
import { ON_MONGODB } from '../support/test-store.js';

const channels = useAllChannels();

const service = (): Service => channels().app.service;

/**
 * Checks a conversation's transcript: entries 0..n-1 with no gap, n = transcriptLength, every
 * inbound message once, each followed only by replies to it; returns the inbound ids in order.
 */
async function checkTranscript(address: string): Promise<string[]> {
  const conversation = await service().store.conversations.get(address);
  expect(conversation, address).not.toBeNull();
  const entries = await service().store.transcripts.find({ field: 'conversationId', equals: address }, { order: 'asc' });
  expect(
    entries.map((e) => e.seq),
    address,
  ).toEqual(entries.map((_, i) => i));
  expect(entries.length, address).toBe(conversation!.transcriptLength);
  const inbound: string[] = [];
  for (const entry of entries) {
    if (entry.direction === 'in') inbound.push(entry.providerMessageId ?? '');
    // A reply belongs to the message just before it: turns did not interleave.
    else if (inbound.length > 0 && !entry.providerMessageId?.startsWith('out|')) expect(entry.providerMessageId, address).toBe(inbound.at(-1));
  }
  expect(new Set(inbound).size, address).toBe(inbound.length);
  return inbound;
}

/** Ten different messages from one resident, all at once: each answered, each recorded once. */
async function tenAtOnce(address: string, sendOne: (text: string, i: number) => Promise<{ ok: boolean; id: string }>): Promise<void> {
  const texts = ['hi', 'menu', 'help', 'what can you do', 'report a problem', 'menu', 'volunteer', 'menu', 'ideas', 'thanks'];
  const results = await Promise.all(texts.map((text, i) => sendOne(text, i)));
  for (const result of results) expect(result.ok, address).toBe(true);
  const inbound = await checkTranscript(address);
  expect([...inbound].sort()).toEqual(results.map((r) => r.id).sort());
}

describe('one resident sending 10 messages at once', () => {
  it('SMS', async () => {
    const resident = new SmsResident(channels());
    await tenAtOnce(resident.address, async (text, i) => {
      const id = `SM${String(i).padStart(2, '0')}${'a'.repeat(30)}`.slice(0, 34);
      const answer = await resident.send(text, id);
      return { ok: answer.status === 200 && answer.replies.length > 0, id };
    });
  });

  it('Telegram', async () => {
    const resident = new TelegramResident(channels());
    const base = 800_000_000 + Math.floor(Math.random() * 1_000_000) * 10;
    await tenAtOnce(resident.address, async (text, i) => {
      const answer = await resident.send(text, base + i);
      return { ok: answer.status === 200, id: `123456:${base + i}` };
    });
    // Every turn's reply was sent (ten turns, at least ten messages).
    expect(resident.sent().length).toBeGreaterThanOrEqual(10);
  });

  it('JSON chat API', async () => {
    const resident = new WebResident(channels());
    await resident.start();
    await tenAtOnce(resident.address, async (text, i) => {
      const id = `message-${i}-${resident.conversationId.slice(0, 8)}`;
      const answer = await resident.send(text, id);
      return { ok: answer.status === 200 && answer.replies.length > 0, id };
    });
  });

  it('Bot Framework', async () => {
    const resident = new BotFrameworkResident(channels());
    await tenAtOnce(resident.address, async (text, i) => {
      const id = `activity-${i}`;
      const answer = await resident.send(text, id);
      return { ok: answer.status === 200 && answer.replies.length > 0, id };
    });
  });

  it('Direct Line', async () => {
    const resident = new DirectLineResident(channels());
    await resident.start();
    const before = await checkTranscript(resident.address); // the greeting's turn
    const texts = ['hi', 'menu', 'help', 'what can you do', 'report a problem', 'menu', 'volunteer', 'menu', 'ideas', 'thanks'];
    const posted = await Promise.all(texts.map((text, i) => resident.post(text, `client-${i}`)));
    for (const response of posted) expect(response.status, response.text).toBe(200);
    const inbound = await checkTranscript(resident.address);
    expect(inbound.slice(before.length).sort()).toEqual(texts.map((_, i) => `client-${i}`).sort());
  });
});

/**
 * A thousand on the embedded store. On MongoDB, a tenth: FerretDB (CI's server) answers a
 * thousand turns at once more slowly than the 10 s a resident's channel waits, which says more
 * about FerretDB than about CivicLine (docs/performance.md has both stores' numbers).
 */
const AT_ONCE = ON_MONGODB ? 100 : 1000;

describe(`${AT_ONCE} residents at once`, () => {
  it('answers and records every turn of every resident, three rounds', async () => {
    // One socket per resident: the requests really are in flight together.
    const wide = new Agent({ keepAlive: true, maxSockets: Infinity });
    channels().agent = wide;
    try {
      type Someone = { address: string; send(text: string): Promise<Answer> };
      const residents: Someone[] = [
        ...Array.from({ length: AT_ONCE * 0.45 }, () => new SmsResident(channels())),
        ...Array.from({ length: AT_ONCE * 0.3 }, () => new WebResident(channels())),
        ...Array.from({ length: AT_ONCE * 0.15 }, () => new TelegramResident(channels())),
        ...Array.from({ length: AT_ONCE * 0.1 }, () => new BotFrameworkResident(channels())),
      ];
      expect(residents).toHaveLength(AT_ONCE);
      const rounds: [string, RegExp][] = [
        ['hi', /What would you like to do\?/],
        ['report a problem', /What kind of problem/],
        ['pothole', /Where is it\?/],
      ];
      const timings: string[] = [];
      for (const [text, expected] of rounds) {
        const started = performance.now();
        const answers = await Promise.all(residents.map((resident) => resident.send(text)));
        const latencies = answers.map((a) => a.response.ms).sort((a, b) => a - b);
        timings.push(
          `"${text}": ${Math.round(performance.now() - started)} ms (p50 ${Math.round(latencies[Math.floor(AT_ONCE / 2)]!)} ms, max ${Math.round(latencies.at(-1)!)} ms)`,
        );
        answers.forEach((answer, i) => {
          expect(answer.status, `${residents[i]!.address}: ${answer.response.error ?? answer.response.text}`).toBe(200);
          expect(answer.replies.join('\n'), residents[i]!.address).toMatch(expected);
        });
      }
      console.log(`${AT_ONCE} residents at once: ${timings.join('; ')}`);
      for (const resident of residents) expect(await checkTranscript(resident.address)).toHaveLength(3);
    } finally {
      wide.destroy();
    }
  });
});
