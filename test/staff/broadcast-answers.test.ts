/**
 * Answers to a volunteer call: a broadcast for a role goes out by SMS (with "reply 1 / 2"), and
 * residents who reply "yes" are signed up, the first one confirmed and, the role being full,
 * the next one waitlisted; "no" declines. The broadcast's progress counts the answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResidentRecord } from '../../src/domain/records.js';
import { broadcastProgress, createBroadcast } from '../../src/staff/broadcasts.js';
import { createRole } from '../../src/staff/role-desk.js';
import { SMS_LIKE, startTestService, TestConversation } from '../support/harness.js';
import { ACCOUNT_SID, AUTH_TOKEN, startFakeTwilio, type FakeTwilio } from '../support/twilio.js';

const STAFF = { username: 'coordinator', role: 'coordinator' as const };
let twilio: FakeTwilio;
let started: Awaited<ReturnType<typeof startTestService>>;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  started = await startTestService(
    { TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_FROM: '+12175550100', TWILIO_MESSAGES_PER_SECOND: '50', QUIET_HOURS: 'off' },
    { twilioHttpClient: twilio.httpClient },
  );
});
afterAll(async () => {
  await started.close();
  await twilio.close();
});

describe('answers to a volunteer call', () => {
  it('signs up the first "yes", waitlists the next when the role is full, and counts the answers', async () => {
    const service = started.service;
    const role = await createRole(
      service.staff,
      {
        title: 'Riverbank clean-up',
        description: 'Pick up litter along the river.',
        interests: ['environment'],
        neighbourhood: 'Riverside',
        place: 'Boat ramp',
        startsAt: new Date(Date.now() + 7 * 86_400_000),
        capacity: 1,
        contact: 'parks@springfield.example',
      },
      STAFF,
    );
    const residents = ['Ana', 'Ben', 'Cleo'].map((name, i): ResidentRecord => {
      const address = `sms:+1217333000${i}`;
      return {
        _id: address,
        _rev: 1,
        address,
        channel: 'sms',
        locale: 'en',
        optedOut: false,
        volunteerCalls: true,
        interests: ['environment'],
        neighbourhood: 'Riverside',
        name,
        createdAt: new Date(),
        lastSeenAt: new Date(),
      };
    });
    for (const resident of residents) await service.store.residents.insert(resident);

    const { broadcast } = await createBroadcast(
      service,
      { messages: { en: 'Riverbank clean-up on Saturday: can you help?' }, audience: { neighbourhoods: ['Riverside'] }, roleId: role._id },
      STAFF,
    );
    service.broadcasts.start();
    service.broadcasts.kick();
    const deadline = Date.now() + 20_000;
    while ((await broadcastProgress(service.store, broadcast._id))?.status !== 'done') {
      if (Date.now() > deadline) throw new Error('the broadcast did not finish');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // On SMS the choices are a numbered list to answer with 1 or 2.
    const body = twilio.requests.find((request) => request.form['To'] === '+12173330000')?.form['Body'];
    expect(body).toContain('can you help?');
    expect(body).toMatch(/1\. Yes, sign me up\n2\. No, thanks/);

    // Replies come after the call was sent (the conversations' clocks start now).
    const [ana, ben, cleo] = residents.map((resident) => new TestConversation(service, resident.address, SMS_LIKE, new Date()));
    expect(await ana!.send('yes')).toContain("You're signed up for Riverbank clean-up");
    expect(await ben!.send('1')).toContain("You're on the waitlist for Riverbank clean-up");
    expect(await cleo!.send('no')).toContain('No problem');

    expect(await service.store.signups.get(`${role._id}|${residents[0]!.address}`)).toMatchObject({ status: 'confirmed', name: 'Ana' });
    expect(await service.store.signups.get(`${role._id}|${residents[1]!.address}`)).toMatchObject({ status: 'waitlisted', name: 'Ben' });
    expect(await service.store.signups.get(`${role._id}|${residents[2]!.address}`)).toBeNull();

    const progress = await broadcastProgress(service.store, broadcast._id);
    expect(progress?.answered).toBe(3);
    expect(progress?.byAnswer).toEqual({ confirmed: 1, waitlisted: 1, declined: 1 });
  });
});
