/**
 * Retries and duplicates, on every channel: the same webhook (or activity, or web message)
 * delivered 2 to 5 times at once, and once more later, after the resident moved on. It is
 * processed once (one transcript entry, the conversation advanced one step, one report filed)
 * and every delivery gets the same answer.
 */
import { describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.js';
import { BotFrameworkResident, DirectLineResident, SmsResident, useAllChannels, TelegramResident, WebResident, type Answer } from './support/all-channels.js';
import { sid } from './support/client.js';
import { randomBytes } from 'node:crypto';

const channels = useAllChannels();

const service = (): Service => channels().app.service;
const COPIES = [2, 3, 4, 5];

/** The inbound transcript entries of a conversation, by provider message id. */
async function inboundIds(address: string): Promise<string[]> {
  const entries = await service().store.transcripts.find({ field: 'conversationId', equals: address });
  return entries.filter((e) => e.direction === 'in').map((e) => e.providerMessageId ?? '');
}

/** A resident of a channel whose HTTP answer carries the replies (SMS, web JSON, Bot Framework). */
interface Replying {
  address: string;
  send(text: string, id?: string): Promise<Answer>;
}

/** `copies` deliveries of one message at once; all must be 2xx with the same replies. */
async function deliver(resident: Replying, text: string, copies: number, id: string): Promise<string> {
  const answers = await Promise.all(Array.from({ length: copies }, () => resident.send(text, id)));
  for (const answer of answers) expect(answer.status, answer.response.text).toBe(200);
  const replies = answers.map((a) => a.replies.join('\n\n'));
  expect(new Set(replies).size, `different answers to one message: ${JSON.stringify(replies)}`).toBe(1);
  return replies[0]!;
}

/** A corner of its own for each report: a second at one corner would be offered as "already reported". */
let street = 20;
const aStreetCorner = () => `Main St and ${street++}th St`;

/** A whole report by a replying channel, its key steps delivered `copies` times at once and again later. */
async function reportWithDuplicates(resident: Replying, copies: number, newId: () => string): Promise<void> {
  expect((await resident.send('hi')).replies.join('\n')).toContain('What would you like to do?');
  const reportId = newId();
  const report = await deliver(resident, 'report a problem', copies, reportId);
  expect(report).toContain('What kind of problem');
  // Processed once: the next answer is taken as the category, not as an answer to a second copy.
  expect((await resident.send('pothole')).replies.join('\n')).toContain('Where is it?');
  // Delivered again later: the same answer as the first time, and nothing processed.
  expect(await deliver(resident, 'report a problem', 1, reportId)).toBe(report);
  expect((await resident.send(aStreetCorner())).replies.join('\n')).toContain('Describe the problem');
  expect((await resident.send('a deep hole in the crosswalk')).replies.join('\n')).toMatch(/photo/);
  expect((await resident.send('skip')).replies.join('\n')).toContain('Please check');
  const confirmId = newId();
  const filed = await deliver(resident, 'yes', copies, confirmId);
  const ref = /R-[23456789A-HJKMNP-Z]{5}/.exec(filed)?.[0];
  expect(ref, filed).toBeDefined();
  expect(await deliver(resident, 'yes', copies, confirmId)).toBe(filed);

  const reports = await service().store.reports.find({ field: 'residentAddress', equals: resident.address });
  expect(reports.map((r) => r._id)).toEqual([ref]);
  const ids = await inboundIds(resident.address);
  expect(ids.filter((id) => id === reportId)).toHaveLength(1);
  expect(ids.filter((id) => id === confirmId)).toHaveLength(1);
  expect(new Set(ids).size).toBe(ids.length);
}

describe('the same message delivered several times, at once and later', () => {
  for (const copies of COPIES) {
    it(`SMS (Twilio retrying a MessageSid): ${copies} copies`, async () => {
      await reportWithDuplicates(new SmsResident(channels()), copies, sid);
    });

    it(`JSON chat API (a repeated messageId): ${copies} copies`, async () => {
      const resident = new WebResident(channels());
      await reportWithDuplicates(resident, copies, () => randomBytes(12).toString('hex'));
      // Retries say they are retries.
      const id = randomBytes(12).toString('hex');
      const [first, again] = [await resident.send('menu', id), await resident.send('menu', id)];
      expect([first.duplicate, again.duplicate]).toEqual([false, true]);
    });

    it(`Bot Framework (a repeated activity id): ${copies} copies`, async () => {
      await reportWithDuplicates(new BotFrameworkResident(channels()), copies, () => randomBytes(8).toString('hex'));
    });

    it(`Telegram (a redelivered update_id): ${copies} copies`, async () => {
      const resident = new TelegramResident(channels());
      await resident.send('hi');
      const deliverUpdate = async (text: string, updateId: number, times: number) => {
        const before = resident.sent().length;
        const answers = await Promise.all(Array.from({ length: times }, () => resident.send(text, updateId)));
        for (const answer of answers) expect(answer.status, answer.response.text).toBe(200);
        return resident.sent().slice(before);
      };
      const updateId = 700_000_000 + copies * 1000 + Math.floor(Math.random() * 1000);
      // The reply is sent once, however many copies arrive.
      const sent = await deliverUpdate('report a problem', updateId, copies);
      expect(sent.filter((text) => text.includes('What kind of problem'))).toHaveLength(1);
      expect((await resident.send('pothole')).replies.join('\n')).toContain('Where is it?');
      // Later: nothing processed, nothing sent again.
      expect(await deliverUpdate('report a problem', updateId, 1)).toEqual([]);
      expect((await resident.send(aStreetCorner())).replies.join('\n')).toContain('Describe the problem');
      const ids = await inboundIds(resident.address);
      // Telegram's message id is `<bot id>:<update_id>`.
      expect(ids.filter((id) => id.endsWith(`:${updateId}`))).toHaveLength(1);
    });

    it(`Direct Line (Web Chat resending a clientActivityID): ${copies} copies`, async () => {
      const resident = new DirectLineResident(channels());
      await resident.start();
      const clientId = randomBytes(8).toString('hex');
      const posted = await Promise.all(Array.from({ length: copies }, () => resident.post('report a problem', clientId)));
      for (const response of posted) expect(response.status, response.text).toBe(200);
      expect(new Set(posted.map((r) => JSON.parse(r.text).id)).size).toBe(1);
      const later = await resident.post('report a problem', clientId);
      expect(JSON.parse(later.text).id).toBe(JSON.parse(posted[0]!.text).id);
      const bot = await resident.botMessages();
      expect(bot.filter((text) => text.includes('What kind of problem'))).toHaveLength(1);
      const ids = await inboundIds(resident.address);
      expect(ids.filter((id) => id === clientId)).toHaveLength(1);
    });
  }
});
