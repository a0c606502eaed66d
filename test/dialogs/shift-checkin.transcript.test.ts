/**
 * After a volunteer shift (issue 20) end to end: the planner finds shifts that ended, the job
 * scheduler asks their confirmed volunteers "Did you make it?" through the real SMS (fake Twilio)
 * and Telegram (fake Bot API) senders, and their answers (hours, the role's outcome) go through
 * the real pipeline and dialog onto their sign-ups, with a thank-you and hour milestones. The
 * scheduler's clock is the test's (`now` override), moved on and never back; shifts and residents
 * are dated by it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newReference } from '../../src/domain/reference.js';
import { isQuiet } from '../../src/domain/quiet-hours.js';
import type { SignupRecord } from '../../src/domain/records.js';
import type { Service } from '../../src/service.js';
import { checkinAskJobId } from '../../src/staff/shift-checkin-jobs.js';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { smsAddress, startTestService, TestConversation, WEB_LIKE } from '../support/harness.js';
import { withProviderFakes } from '../support/http.js';
import { startFakeTwilio, type FakeTwilio } from '../support/twilio.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let twilio: FakeTwilio;
let telegram: FakeTelegram;
let started: Awaited<ReturnType<typeof startTestService>>;
/** How far the scheduler's clock is ahead of the real one: it only moves on. */
let ahead = 0;
const service = (): Service => started.service;
const clock = (): number => Date.now() + ahead;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  telegram = await startFakeTelegram();
  // Quiet hours are off here; the test that needs them starts a service of its own.
  const { env, overrides } = withProviderFakes({ twilio, telegram }, { QUIET_HOURS: 'off' });
  started = await startTestService(env, { ...overrides, now: () => new Date(clock()) });
  service().jobs.start();
});
afterAll(async () => {
  await started.close();
  await twilio.close();
  await telegram.close();
});

/** Runs what the scheduler finds due (after moving its clock `ms` on). */
async function runJobs(ms = 0, on: Service = service()): Promise<void> {
  ahead += ms;
  await on.jobs.idle();
}

/** Moves the clock past the next planning and the question's delay: a shift that has ended is asked about. */
async function afterTheShift(on: Service = service()): Promise<void> {
  await runJobs(75 * MINUTE, on);
}

/** A resident who has written once (a profile, a language), on the scheduler's clock. */
async function resident(address: string, hello = 'hi', capabilities?: typeof WEB_LIKE, on: Service = service(), at = clock()): Promise<TestConversation> {
  const chat = new TestConversation(on, address, capabilities, new Date(at - 10 * MINUTE));
  await chat.send(hello);
  return chat;
}

/** A role, with an outcome question or without. */
async function aRole(outcome: boolean, on: Service = service()): Promise<string> {
  const ref = newReference('V');
  const made = new Date(clock() - 30 * 24 * HOUR);
  await on.store.roles.insert({
    _id: ref,
    title: outcome ? 'Riverside Park cleanup' : 'Food bank packing',
    description: 'Help out',
    translations: { es: { title: outcome ? 'Limpieza del parque Riverside' : 'Empaque en el banco de alimentos', description: 'Ayudar' } },
    interests: ['environment'],
    neighbourhood: 'Riverside',
    place: 'Riverside Park',
    startsAt: made,
    capacity: 0,
    contact: 'parks@city.example',
    status: 'open',
    demo: false,
    ...(outcome
      ? {
          outcome: {
            unit: 'bags of trash',
            question: 'How many bags of trash did your group collect?',
            target: 500,
            translations: { es: { unit: 'bolsas de basura', question: '¿Cuántas bolsas de basura recogió tu grupo?' } },
          },
        }
      : {}),
    createdAt: made,
  });
  return ref;
}

/** A three-hour shift of the role that ended `endedAgo` ago by the scheduler's clock. */
async function aShift(roleId: string, endedAgo: number, on: Service = service(), at = clock()): Promise<string> {
  // Shifts' ids are the coordinator desk's to make; any unique `S-…` does here.
  const id = `S-${newReference('V').slice(2)}`;
  const endsAt = new Date(at - endedAgo);
  await on.store.shifts.insert({
    _id: id,
    roleId,
    startsAt: new Date(endsAt.getTime() - 3 * HOUR),
    endsAt,
    capacity: 10,
    status: 'open',
    createdAt: new Date(endsAt.getTime() - 10 * 24 * HOUR),
    updatedAt: new Date(endsAt.getTime() - 10 * 24 * HOUR),
  });
  return id;
}

/** A confirmed sign-up for the shift (the sign-up flow is the lead's; written as it leaves it). */
async function signUp(address: string, roleId: string, shiftId: string, extra: Partial<SignupRecord> = {}, on: Service = service()): Promise<string> {
  const id = `${shiftId}|${address}`;
  const at = new Date(clock() - 5 * 24 * HOUR);
  await on.store.signups.insert({
    _id: id,
    roleId,
    shiftId,
    address,
    name: 'Ana',
    channel: address.startsWith('telegram:') ? 'telegram' : 'sms',
    status: 'confirmed',
    createdAt: at,
    updatedAt: at,
    ...extra,
  });
  return id;
}

/** What the fake Twilio was asked to send to an SMS address. */
function smsTo(address: string): string[] {
  return twilio.requests.filter((r) => r.form.To === address.slice('sms:'.length)).map((r) => r.form.Body ?? '');
}

/** The messages the fake Telegram was asked to send to a chat. */
function telegramTo(chatId: number) {
  return telegram.callsOf('sendMessage').filter((call) => call.payload.chat_id === chatId);
}

function telegramId(): number {
  return 770_000 + Math.floor(Math.random() * 100_000);
}

const ASKED_PARK = /^Did you make it to Riverside Park cleanup \(.+\)\?\n1\. Yes\n2\. No\nReply 1-2\.$/s;

describe('after a shift, by SMS in English', () => {
  it('asks an hour after it ends, then keeps yes, the hours and the outcome, and thanks with the role so far', async () => {
    const role = await aRole(true);
    const shift = await aShift(role, 30 * MINUTE);
    const chat = await resident(smsAddress());
    await signUp(chat.address, role, shift);
    // A neighbour who came to another shift of the role, checked in by staff with their count.
    const other = await aShift(role, 7 * 24 * HOUR);
    await signUp(smsAddress(), role, other, { attendance: 'attended', attendanceBy: 'staff', hoursApproved: 3, outcomeReported: 50 });

    await runJobs();
    // Half an hour after the shift: not yet.
    expect(smsTo(chat.address)).toEqual([]);
    await afterTheShift();
    expect(smsTo(chat.address)).toHaveLength(1);
    expect(smsTo(chat.address)[0]).toMatch(ASKED_PARK);

    expect(await chat.send('1')).toBe('Great! How many hours did you give? (for example 2 or 2.5)');
    expect(await chat.send('2 and a half')).toBe('How many bags of trash did your group collect?');
    expect(await chat.send('12 bags')).toBe('Thank you, Ana! Riverside Park cleanup so far: 62 bags of trash, thanks to you and 1 neighbour.');
    expect(await service().store.signups.get(`${shift}|${chat.address}`)).toMatchObject({
      attendance: 'attended',
      attendanceBy: 'resident',
      hoursReported: 2.5,
      outcomeReported: 12,
    });
    // Answered: "1" means nothing in particular now, and no thank-you is sent later.
    expect(await chat.send('1')).not.toContain('hours');
  });

  it('asks nonsense hours again, kindly, and keeps the bounds', async () => {
    const role = await aRole(false);
    const shift = await aShift(role, 30 * MINUTE);
    const chat = await resident(smsAddress());
    await signUp(chat.address, role, shift, { name: 'Ben' });
    await afterTheShift();
    expect(smsTo(chat.address)[0]).toMatch(/^Did you make it to Food bank packing/);
    // Outside any flow, nonsense gets the question again, with what it wants.
    expect(await chat.send('asdfgh')).toMatch(/^Sorry, I didn't get that\.\n\nDid you make it to Food bank packing \(.+\)\?\n1\. Yes\n2\. No\nReply 1-2\.$/s);
    expect(await chat.send('yes')).toContain('How many hours');
    expect(await chat.send('lots')).toContain('Sorry, I need a number of hours, like 2 or 2.5.');
    expect(await chat.send('2 or 3')).toContain('Sorry, I need a number of hours');
    expect(await chat.send('100')).toContain("That's more than a day.");
    expect(await chat.send('5 minutes')).toContain("That's less than a quarter of an hour.");
    // No outcome question for this role: the thank-you counts hours together.
    expect(await chat.send('90 minutes')).toBe('Thank you, Ben! Food bank packing so far: 1.5 volunteer hours, thanks to you.');
    expect(await service().store.signups.get(`${shift}|${chat.address}`)).toMatchObject({ attendance: 'attended', hoursReported: 1.5 });
  });

  it('takes hours named with the answer ("3 hours") as yes and how long, and a bare "2" as the numbered No', async () => {
    const role = await aRole(true);
    const shift = await aShift(role, 30 * MINUTE);
    const chat = await resident(smsAddress());
    const other = await resident(smsAddress());
    await signUp(chat.address, role, shift);
    await signUp(other.address, role, shift);
    await afterTheShift();
    expect(await chat.send('yes, about 3 hours')).toBe('How many bags of trash did your group collect?');
    expect(await chat.send('4')).toContain('Riverside Park cleanup so far: 4 bags of trash');
    expect(await service().store.signups.get(`${shift}|${chat.address}`)).toMatchObject({ attendance: 'attended', hoursReported: 3, outcomeReported: 4 });
    expect(await other.send('2')).toContain('Thanks for telling us');
  });

  it('"no" records a no-show and thanks them for telling us', async () => {
    const role = await aRole(true);
    const shift = await aShift(role, 30 * MINUTE);
    const chat = await resident(smsAddress());
    await signUp(chat.address, role, shift);
    await afterTheShift();
    expect(await chat.send("no, I couldn't make it")).toBe('Thanks for telling us. We hope to see you at another shift!');
    const signup = await service().store.signups.get(`${shift}|${chat.address}`);
    expect(signup).toMatchObject({ attendance: 'no_show', attendanceBy: 'resident' });
    expect(signup?.hoursReported).toBeUndefined();
  });

  it("never overwrites staff's check-in, and does not ask someone staff marked a no-show", async () => {
    const role = await aRole(true);
    const shift = await aShift(role, 30 * MINUTE);
    const present = await resident(smsAddress());
    const absent = await resident(smsAddress());
    await signUp(present.address, role, shift, { attendance: 'attended', attendanceBy: 'staff' });
    await signUp(absent.address, role, shift, { attendance: 'no_show', attendanceBy: 'staff' });
    // Waitlisted and withdrawn volunteers are not asked either.
    const waitlisted = await resident(smsAddress());
    await signUp(waitlisted.address, role, shift, { status: 'waitlisted' });
    await afterTheShift();
    expect(smsTo(absent.address)).toEqual([]);
    expect(smsTo(waitlisted.address)).toEqual([]);
    expect(smsTo(present.address)[0]).toMatch(ASKED_PARK);

    // Marked present: a "no" does not undo it.
    expect(await present.send('no')).toContain('Thanks for telling us');
    expect(await service().store.signups.get(`${shift}|${present.address}`)).toMatchObject({ attendance: 'attended', attendanceBy: 'staff' });
    expect(await service().store.signups.get(`${shift}|${absent.address}`)).toMatchObject({ attendance: 'no_show', attendanceBy: 'staff' });
  });

  it('tells a milestone at 10 hours once, and 25 later', async () => {
    const role = await aRole(false);
    const chat = await resident(smsAddress());
    // Eight hours before, approved by a coordinator.
    const before = await aShift(role, 10 * 24 * HOUR);
    await signUp(chat.address, role, before, { attendance: 'attended', attendanceBy: 'staff', hoursReported: 6, hoursApproved: 8 });

    const first = await aShift(role, 30 * MINUTE);
    await signUp(chat.address, role, first);
    await afterTheShift();
    await chat.send('yes');
    expect(await chat.send('3')).toContain('Thank you, Ana!');
    await runJobs();
    expect(smsTo(chat.address).at(-1)).toBe("Thank you, Ana! You've reached 10 volunteer hours with Springfield. Your neighbours feel the difference.");
    expect((await service().store.residents.get(chat.address))?.volunteerMilestones).toEqual([10]);

    // Two more hours: 13 in all, nothing new to tell.
    const second = await aShift(role, 30 * MINUTE);
    await signUp(chat.address, role, second);
    await afterTheShift();
    const told = smsTo(chat.address).length;
    await chat.send('yes');
    await chat.send('2');
    await runJobs();
    expect(smsTo(chat.address)).toHaveLength(told);

    // Twelve more: 25.
    const third = await aShift(role, 30 * MINUTE);
    await signUp(chat.address, role, third);
    await afterTheShift();
    await chat.send('yes');
    await chat.send('12 hours');
    await runJobs();
    expect(smsTo(chat.address).at(-1)).toBe("Thank you, Ana! You've reached 25 volunteer hours with Springfield. Your neighbours feel the difference.");
    expect(smsTo(chat.address).filter((text) => text.includes("You've reached 10"))).toHaveLength(1);
    expect((await service().store.residents.get(chat.address))?.volunteerMilestones).toEqual([10, 25]);
  });

  it('does not ask a resident who opted out', async () => {
    const role = await aRole(true);
    const shift = await aShift(role, 30 * MINUTE);
    const chat = await resident(smsAddress());
    await signUp(chat.address, role, shift);
    await chat.send('STOP');
    const before = smsTo(chat.address).length;
    await afterTheShift();
    expect(smsTo(chat.address)).toHaveLength(before);
    expect(await service().store.jobs.get(checkinAskJobId(`${shift}|${chat.address}`))).toMatchObject({ state: 'done' });
  });

  it('waits while a resident is reporting a pothole, and asks once they finish', async () => {
    const role = await aRole(true);
    const shift = await aShift(role, 30 * MINUTE);
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(clock() + 70 * MINUTE));
    await signUp(chat.address, role, shift);
    expect(await chat.send("there's a huge pothole on 5th and Main")).toContain('photo');
    await afterTheShift();
    expect(smsTo(chat.address)).toEqual([]);
    expect(await service().store.jobs.get(checkinAskJobId(`${shift}|${chat.address}`))).toMatchObject({ state: 'pending' });

    expect(await chat.send('skip')).toContain('Pothole at 5th and Main');
    expect(await chat.send('1')).toMatch(/R-[A-Z0-9]{5}/);
    await runJobs(6 * MINUTE);
    expect(smsTo(chat.address)[0]).toMatch(ASKED_PARK);
    expect(await chat.send('yes')).toContain('How many hours');
  });
});

describe('after a shift, by SMS in Spanish', () => {
  it('asks in Spanish and reads "sí", "dos horas y media" and "doce"', async () => {
    const role = await aRole(true);
    const shift = await aShift(role, 30 * MINUTE);
    const chat = await resident(smsAddress(), 'hola');
    await signUp(chat.address, role, shift, { name: 'Lucía' });
    await afterTheShift();
    expect(smsTo(chat.address)[0]).toMatch(/^¿Pudiste ir a Limpieza del parque Riverside \(.+\)\?\n1\. Si\n2\. No\nResponde 1-2\.$/s);
    expect(await chat.send('sí')).toBe('¡Qué bien! ¿Cuántas horas colaboraste? (por ejemplo 2 o 2,5)');
    expect(await chat.send('muchas')).toContain('Perdón, necesito un número de horas, como 2 o 2,5.');
    expect(await chat.send('dos horas y media')).toBe('¿Cuántas bolsas de basura recogió tu grupo?');
    expect(await chat.send('muchas')).toContain('Responde con un número entero de bolsas de basura, como 12.');
    expect(await chat.send('doce')).toBe('¡Gracias, Lucía! Limpieza del parque Riverside hasta ahora: 12 bolsas de basura, gracias a ti.');
    expect(await service().store.signups.get(`${shift}|${chat.address}`)).toMatchObject({ hoursReported: 2.5, outcomeReported: 12, attendance: 'attended' });
  });
});

describe('after a shift, on Telegram', () => {
  it('in English, with Yes / No buttons, then hours and the outcome in words', async () => {
    const chatId = telegramId();
    const role = await aRole(true);
    const shift = await aShift(role, 30 * MINUTE);
    const chat = await resident(`telegram:${chatId}`, 'hi', WEB_LIKE);
    await signUp(chat.address, role, shift, { name: 'Sam' });
    await afterTheShift();
    const [asked] = telegramTo(chatId).slice(-1);
    expect(asked?.payload.text).toMatch(/^Did you make it to Riverside Park cleanup \(.+\)\?$/);
    expect(JSON.stringify(asked?.payload.reply_markup)).toContain('"Yes"');
    expect(await chat.send({ text: 'Yes', choice: 'yes' })).toContain('How many hours did you give?');
    expect(await chat.send('3 hours')).toBe('How many bags of trash did your group collect?');
    expect(await chat.send('none')).toBe('Thank you, Sam! Riverside Park cleanup so far: 0 bags of trash, thanks to you.');
    expect(await service().store.signups.get(`${shift}|${chat.address}`)).toMatchObject({ hoursReported: 3, outcomeReported: 0, attendance: 'attended' });
  });

  it('in Spanish, "No" by button records a no-show', async () => {
    const chatId = telegramId();
    const role = await aRole(false);
    const shift = await aShift(role, 30 * MINUTE);
    const chat = await resident(`telegram:${chatId}`, 'hola', WEB_LIKE);
    await signUp(chat.address, role, shift);
    await afterTheShift();
    const [asked] = telegramTo(chatId).slice(-1);
    expect(asked?.payload.text).toMatch(/^¿Pudiste ir a Empaque en el banco de alimentos \(.+\)\?$/);
    expect(JSON.stringify(asked?.payload.reply_markup)).toContain('"Sí"');
    expect(await chat.send({ text: 'No', choice: 'no' })).toBe('Gracias por avisarnos. ¡Esperamos verte en otro turno!');
    expect(await service().store.signups.get(`${shift}|${chat.address}`)).toMatchObject({ attendance: 'no_show', attendanceBy: 'resident' });
  });
});

describe('after a shift, in the web chat', () => {
  it('asks in the chat log with Yes / No buttons, and takes the answers in words', async () => {
    const conversationId = `checkin-web-${Math.floor(Math.random() * 1e9)}`;
    const role = await aRole(true);
    const shift = await aShift(role, 30 * MINUTE);
    const chat = await resident(`webchat:${conversationId}`, 'hi', WEB_LIKE);
    await signUp(chat.address, role, shift, { channel: 'webchat' });
    await afterTheShift();
    const [asked] = await service().store.webchatActivities.find({ field: 'conversationId', equals: conversationId }, { order: 'desc', limit: 1 });
    const activity = asked?.activity as { text?: string; suggestedActions?: { actions: { title: string }[] } };
    expect(activity.text).toMatch(/^Did you make it to Riverside Park cleanup \(.+\)\?$/);
    expect(activity.suggestedActions?.actions.map((action) => action.title)).toEqual(['Yes', 'No']);
    expect(await chat.send('yes I was there')).toContain('How many hours');
    expect(await chat.send('about 4 hours')).toContain('How many bags');
    expect(await chat.send('we got 30')).toMatch(/^Thank you, Ana! Riverside Park cleanup so far: 30 bags of trash/);
    expect(await service().store.signups.get(`${shift}|${chat.address}`)).toMatchObject({ hoursReported: 4, outcomeReported: 30 });
  });
});

describe('the thank-you when nobody answered', () => {
  // Last in the file: it moves the clock two days on.
  it('thanks a volunteer who did not answer when the window closes, and not one who did or said no', async () => {
    const role = await aRole(true);
    const shift = await aShift(role, 30 * MINUTE);
    const silent = await resident(smsAddress());
    const answered = await resident(smsAddress());
    await signUp(silent.address, role, shift, { name: 'Kim' });
    await signUp(answered.address, role, shift);
    await afterTheShift();
    await answered.send('yes');
    await answered.send('2');
    expect(await answered.send('7')).toContain('Riverside Park cleanup so far');
    const asked = { silent: smsTo(silent.address).length, answered: smsTo(answered.address).length };
    await runJobs(49 * HOUR);
    expect(smsTo(silent.address)).toHaveLength(asked.silent + 1);
    expect(smsTo(silent.address).at(-1)).toBe('Thank you, Kim! Riverside Park cleanup so far: 7 bags of trash, thanks to you and 1 neighbour.');
    expect(smsTo(answered.address)).toHaveLength(asked.answered);
  });
});

describe('quiet hours', () => {
  it('asks when they end, and tells a milestone only then', async () => {
    // 23:00 in the city (QUIET_HOURS 21:00-08:00, America/New_York) within the next two days.
    let night = Math.ceil(Date.now() / (15 * MINUTE)) * 15 * MINUTE;
    while (!isQuiet({ start: 23 * 60, end: 23 * 60 + 15 }, 'America/New_York', new Date(night))) night += 15 * MINUTE;
    let at = night;
    const { env, overrides } = withProviderFakes({ twilio }, { QUIET_HOURS: '21:00-08:00' });
    const quiet = await startTestService(env, { ...overrides, now: () => new Date(at) });
    try {
      quiet.service.jobs.start();
      const role = await aRole(false, quiet.service);
      const chat = await resident(smsAddress(), 'hi', undefined, quiet.service, at);
      // Nine hours last week, checked in by staff.
      const before = await aShift(role, 7 * 24 * HOUR, quiet.service, at);
      await signUp(chat.address, role, before, { attendance: 'attended', attendanceBy: 'staff', hoursApproved: 9 }, quiet.service);
      // Ended at 22:00, asked from 23:00: quiet.
      const later = await aShift(role, 60 * MINUTE, quiet.service, at);
      await signUp(chat.address, role, later, {}, quiet.service);
      // The planner's next look (23:16).
      at += 16 * MINUTE;
      await quiet.service.jobs.idle();
      expect(smsTo(chat.address)).toEqual([]);
      expect(await quiet.service.store.jobs.get(checkinAskJobId(`${later}|${chat.address}`))).toMatchObject({ state: 'pending' });

      at += 9.25 * HOUR; // 08:31
      await quiet.service.jobs.idle();
      expect(smsTo(chat.address)).toHaveLength(1);
      // It is morning: answering gives the milestone at once.
      const talk = new TestConversation(quiet.service, chat.address, undefined, new Date(at - 10 * MINUTE));
      await talk.send('yes');
      expect(await talk.send('2')).toContain('Food bank packing so far');
      await quiet.service.jobs.idle();
      expect(smsTo(chat.address).at(-1)).toContain("You've reached 10 volunteer hours");
    } finally {
      await quiet.close();
    }
  });
});
