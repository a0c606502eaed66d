/**
 * Shift reminders (issue 20) end to end: the planner job schedules each confirmed volunteer's
 * reminders, the job scheduler sends them through the real SMS (fake Twilio) and Telegram (fake
 * Bot API) senders, and the answers go through the real pipeline and dialog: "1" confirms, "2"
 * withdraws (after asking) and the waitlist is promoted at once; an unconfirmed volunteer who was
 * reminded is released at the role's deadline. The scheduler's clock is the test's (`now`
 * override) and only moves forward; shifts are dated from it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShiftRecord, VolunteerRoleRecord } from '../../src/domain/records.js';
import type { Service } from '../../src/service.js';
import { PLAN_EVERY_MS, reminderJobId } from '../../src/staff/shift-reminder-jobs.js';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { smsAddress, startTestService, TestConversation, WEB_LIKE } from '../support/harness.js';
import { withProviderFakes } from '../support/http.js';
import { startFakeTwilio, type FakeTwilio } from '../support/twilio.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const ZONE = 'America/New_York';

let twilio: FakeTwilio;
let telegram: FakeTelegram;
let started: Awaited<ReturnType<typeof startTestService>>;
/** How far the scheduler's clock is ahead of the real one; it never goes back (the planner's next run stays due). */
let ahead = 0;
const service = (): Service => started.service;
const schedulerNow = () => Date.now() + ahead;
let ids = 0;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  telegram = await startFakeTelegram();
  // Quiet hours are off here; the test that needs them starts a service of its own.
  const { env, overrides } = withProviderFakes({ twilio, telegram }, { QUIET_HOURS: 'off', CITY_TIMEZONE: ZONE });
  started = await startTestService(env, { ...overrides, now: () => new Date(schedulerNow()) });
  service().jobs.start();
});
afterAll(async () => {
  await started.close();
  await twilio.close();
  await telegram.close();
});

/** Runs what the scheduler finds due now (after moving its clock `ms` on). */
async function runJobs(ms = 0, on: Service = service()): Promise<void> {
  ahead += ms;
  await on.jobs.idle();
}

/** Lets the planner run (its next pass is due PLAN_EVERY_MS after the last), and what it scheduled that is due. */
const plan = () => runJobs(PLAN_EVERY_MS + MINUTE);

/** A resident who has written once (a profile, a language), a little in the past. */
async function resident(address: string, hello = 'hi', on: Service = service()): Promise<TestConversation> {
  const chat = new TestConversation(on, address, address.startsWith('sms:') ? undefined : WEB_LIKE, new Date(Date.now() - 10 * MINUTE));
  await chat.send(hello);
  return chat;
}

function telegramChat(): { chatId: number; address: string } {
  const chatId = 930_000 + Math.floor(Math.random() * 50_000);
  return { chatId, address: `telegram:${chatId}` };
}

/** A role with one shift starting `startsIn` ms after the scheduler's now; returns the shift's id. */
async function roleWithShift(
  options: { startsIn: number; capacity?: number; role?: Partial<VolunteerRoleRecord>; at?: number } = { startsIn: 50 * HOUR },
  on: Service = service(),
): Promise<{ roleId: string; shiftId: string; startsAt: Date }> {
  ids += 1;
  const roleId = `V-RMD${ids}`;
  const shiftId = `S-RMD${ids}`;
  const now = new Date(options.at ?? schedulerNow());
  await on.store.roles.insert({
    _id: roleId,
    title: 'Food bank packing',
    description: 'Pack boxes for families',
    translations: { es: { title: 'Empaque en el banco de alimentos', description: 'Empacar cajas para familias' } },
    interests: ['food'],
    neighbourhood: 'Eastside',
    place: 'Community hall',
    startsAt: now,
    capacity: 0,
    contact: 'food@city.example',
    status: 'open',
    demo: false,
    createdAt: now,
    ...options.role,
  });
  const startsAt = new Date(now.getTime() + options.startsIn);
  await on.store.shifts.insert({
    _id: shiftId,
    roleId,
    startsAt,
    endsAt: new Date(startsAt.getTime() + 3 * HOUR),
    capacity: options.capacity ?? 5,
    status: 'open',
    createdAt: now,
    updatedAt: now,
  } satisfies Omit<ShiftRecord, '_rev'>);
  return { roleId, shiftId, startsAt };
}

/** A sign-up written as the runner would (the lead's sign-up flow is tested elsewhere). */
async function signUp(shift: { roleId: string; shiftId: string }, chat: TestConversation, status: 'confirmed' | 'waitlisted' = 'confirmed', on = service()) {
  const at = new Date(Date.now() - 5 * MINUTE + (status === 'waitlisted' ? MINUTE : 0));
  await on.store.signups.insert({
    _id: `${shift.shiftId}|${chat.address}`,
    roleId: shift.roleId,
    shiftId: shift.shiftId,
    address: chat.address,
    name: status === 'confirmed' ? 'Ana' : 'Ben',
    channel: chat.address.startsWith('telegram:') ? 'telegram' : 'sms',
    status,
    createdAt: at,
    updatedAt: at,
  });
}

/** What the fake Twilio was asked to send to an SMS address. */
function smsTo(address: string): string[] {
  return twilio.requests.filter((r) => r.form.To === address.slice('sms:'.length)).map((r) => r.form.Body ?? '');
}

/** The messages the fake Telegram was asked to send to a chat. */
function telegramTo(chatId: number) {
  return telegram.callsOf('sendMessage').filter((call) => call.payload.chat_id === chatId);
}

/** "Dec 9, 2026, 9:00 AM – 12:00 PM" as a pattern, whatever spaces Intl puts in (and SMS's "-" for "–", GSM-7 has no en dash). */
function rangeOf(startsAt: Date, locale = 'en'): RegExp {
  const format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: ZONE });
  const text = format.formatRange(startsAt, new Date(startsAt.getTime() + 3 * HOUR));
  return new RegExp(
    text
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\s/g, '\\s')
      .replace(/–/g, '[–-]'),
  );
}

describe('reminders on SMS, in English', () => {
  it('reminds at 48 h and 2 h; "1" confirms, and the 2 h reminder then asks nothing', async () => {
    const chat = await resident(smsAddress());
    const shift = await roleWithShift({ startsIn: 50 * HOUR });
    await signUp(shift, chat);
    await plan();
    expect(smsTo(chat.address)).toEqual([]);
    await runJobs(2 * HOUR);
    const [reminder] = smsTo(chat.address);
    expect(reminder).toMatch(/^Reminder: Food bank packing, .* at Community hall\. Will you be there\?\n1\. I'll be there\n2\. I can't make it\nReply 1-2\.$/);
    expect(reminder).toMatch(rangeOf(shift.startsAt));

    expect(await chat.send('1')).toMatch(/^Thanks for confirming! See you at Food bank packing, /);
    expect((await service().store.signups.get(`${shift.shiftId}|${chat.address}`))?.attendanceConfirmedAt).toBeInstanceOf(Date);
    // Answered: "1" now means nothing about the shift.
    expect(await chat.send('1')).not.toContain('Thanks for confirming');

    await plan();
    await runJobs(46 * HOUR);
    expect(smsTo(chat.address)).toHaveLength(2);
    expect(smsTo(chat.address)[1]).toMatch(/^Reminder: Food bank packing, .* at Community hall\. Thanks for confirming: see you there!$/);
    await runJobs(2 * HOUR);
    expect(smsTo(chat.address)).toHaveLength(2);
  });

  it('"2" asks to be sure, "yes" withdraws: the waitlisted resident is promoted, told, and reminded in turn', async () => {
    const ana = await resident(smsAddress());
    const ben = await resident(smsAddress());
    const shift = await roleWithShift({ startsIn: 50 * HOUR, capacity: 1 });
    await signUp(shift, ana);
    await signUp(shift, ben, 'waitlisted');
    await plan();
    await runJobs(2 * HOUR);
    expect(smsTo(ana.address)).toHaveLength(1);
    // Waitlisted: not reminded of a shift they are not on.
    expect(smsTo(ben.address)).toEqual([]);

    expect(await ana.send('2')).toBe(
      "Sorry you can't make it. Shall I take you off this shift, so someone on the waitlist can have your spot?\n1. Yes\n2. No\nReply 1-2.",
    );
    expect(await ana.send('yes')).toContain("Done: you're off this shift and your spot goes to the next person waiting.");
    expect(await service().store.signups.get(`${shift.shiftId}|${ana.address}`)).toMatchObject({ status: 'cancelled', cancelledBy: 'resident' });
    await expect.poll(async () => (await service().store.signups.get(`${shift.shiftId}|${ben.address}`))?.status).toBe('confirmed');
    await expect.poll(() => smsTo(ben.address).join('\n')).toContain('Good news: a spot opened up for Food bank packing');
    // Leaving a shift opts out of nothing.
    expect(await service().store.residents.get(ana.address)).toMatchObject({ optedOut: false });

    // The planner gives Ben his reminders: the 48 h one has passed, the 2 h one is ahead.
    await plan();
    await runJobs(46 * HOUR);
    expect(smsTo(ben.address)).toHaveLength(2);
    expect(smsTo(ben.address)[1]).toMatch(/^Reminder: Food bank packing, .*Will you be there\?/);
    expect(smsTo(ana.address)).toHaveLength(1);
    expect(await service().store.jobs.get(reminderJobId(`${shift.shiftId}|${ben.address}`, shift.startsAt, 48))).toBeNull();
  });

  it('does not remind a resident who opted out', async () => {
    const chat = await resident(smsAddress());
    const shift = await roleWithShift({ startsIn: 50 * HOUR });
    await signUp(shift, chat);
    await chat.send('STOP');
    const before = smsTo(chat.address).length;
    await plan();
    await runJobs(2 * HOUR);
    expect(smsTo(chat.address)).toHaveLength(before);
    expect(await service().store.jobs.get(reminderJobId(`${shift.shiftId}|${chat.address}`, shift.startsAt, 48))).toMatchObject({ state: 'done' });
  });

  it('a moved shift is reminded at its new time only', async () => {
    const chat = await resident(smsAddress());
    const shift = await roleWithShift({ startsIn: 50 * HOUR });
    await signUp(shift, chat);
    await plan();
    // The coordinator moves it a day later before the first reminder is due.
    const current = (await service().store.shifts.get(shift.shiftId))!;
    const movedTo = new Date(current.startsAt.getTime() + 24 * HOUR);
    expect(await service().store.shifts.replace({ ...current, startsAt: movedTo, endsAt: new Date(movedTo.getTime() + 3 * HOUR) }, current._rev)).toBe(true);
    await runJobs(2 * HOUR);
    expect(smsTo(chat.address)).toEqual([]);
    await plan();
    await runJobs(24 * HOUR);
    expect(smsTo(chat.address)).toHaveLength(1);
    expect(smsTo(chat.address)[0]).toMatch(rangeOf(movedTo));
    await runJobs(46 * HOUR);
    expect(smsTo(chat.address)).toHaveLength(2);
    expect(smsTo(chat.address)[1]).toMatch(rangeOf(movedTo));
  });

  it('signed up 40 h before: the passed 48 h reminder is skipped; an hour before: one reminder at once', async () => {
    const early = await resident(smsAddress());
    const late = await resident(smsAddress());
    const soon = await roleWithShift({ startsIn: 40 * HOUR });
    const sooner = await roleWithShift({ startsIn: 1 * HOUR });
    await signUp(soon, early);
    await signUp(sooner, late);
    await plan();
    expect(smsTo(early.address)).toEqual([]);
    expect(smsTo(late.address)).toHaveLength(1);
    await runJobs(38 * HOUR);
    expect(smsTo(early.address)).toHaveLength(1);
    expect(smsTo(late.address)).toHaveLength(1);
  });
});

describe('release of unconfirmed volunteers', () => {
  it('releases a reminded volunteer who did not confirm by the deadline, kindly; the waitlist gets the spot; never one who confirmed or was never reminded', async () => {
    const quiet = await resident(smsAddress());
    const confirmer = await resident(smsAddress());
    const optedOut = await resident(smsAddress());
    const waiting = await resident(smsAddress());
    const shift = await roleWithShift({ startsIn: 50 * HOUR, capacity: 3, role: { releaseUnconfirmedHours: 24 } });
    await signUp(shift, quiet);
    await signUp(shift, confirmer);
    await signUp(shift, optedOut);
    await signUp(shift, waiting, 'waitlisted');
    await optedOut.send('STOP');
    await plan();
    await runJobs(2 * HOUR);
    expect(await confirmer.send('1')).toContain('Thanks for confirming');

    await runJobs(24 * HOUR);
    const signupOf = async (chat: TestConversation) => service().store.signups.get(`${shift.shiftId}|${chat.address}`);
    expect(await signupOf(quiet)).toMatchObject({ status: 'cancelled', cancelledBy: 'released' });
    expect(smsTo(quiet.address)).toHaveLength(2);
    expect(smsTo(quiet.address)[1]).toMatch(/^Hi! We didn't hear back about Food bank packing, .*, so we gave your spot to someone on the waitlist\./);
    expect(await signupOf(confirmer)).toMatchObject({ status: 'confirmed', remindedAt: expect.any(Date) });
    expect(await signupOf(optedOut)).toMatchObject({ status: 'confirmed' });
    await expect.poll(async () => (await signupOf(waiting))?.status).toBe('confirmed');
    await expect.poll(() => smsTo(waiting.address).join('\n')).toContain('Good news: a spot opened up');
    // Released is not opted out, and a released volunteer gets no more reminders of that shift.
    expect(await service().store.residents.get(quiet.address)).toMatchObject({ optedOut: false });
    await plan();
    await runJobs(22 * HOUR);
    expect(smsTo(quiet.address)).toHaveLength(2);
  });
});

describe('reminders on Telegram, with buttons', () => {
  it('in Spanish: buttons; "no puedo" asks, "No" keeps the spot; "Ahí estaré" confirms', async () => {
    const first = telegramChat();
    const second = telegramChat();
    const keeper = await resident(first.address, 'hola');
    const confirmer = await resident(second.address, 'hola');
    const shift = await roleWithShift({ startsIn: 50 * HOUR });
    await signUp(shift, keeper);
    await signUp(shift, confirmer);
    await plan();
    await runJobs(2 * HOUR);
    const [asked] = telegramTo(first.chatId).slice(-1);
    expect(asked?.payload.text).toMatch(/^Recordatorio: Empaque en el banco de alimentos, .* en Community hall\. ¿Vas a ir\?$/);
    expect(asked?.payload.text).toMatch(rangeOf(shift.startsAt, 'es'));
    expect(JSON.stringify(asked?.payload.reply_markup)).toContain('"Ahí estaré"');
    expect(JSON.stringify(asked?.payload.reply_markup)).toContain('"No puedo ir"');

    const question = await keeper.sendRaw('no puedo');
    expect(question[0]?.text).toBe('Lamentamos que no puedas ir. ¿Te quito de este turno para que alguien de la lista de espera tome tu lugar?');
    expect(question[0]?.buttons?.map((b) => b.id)).toEqual(['yes', 'no']);
    expect(await keeper.send({ text: 'No', choice: 'no' })).toBe('De acuerdo, tu lugar sigue siendo tuyo. ¡Nos vemos allí!');
    expect(await service().store.signups.get(`${shift.shiftId}|${keeper.address}`)).toMatchObject({ status: 'confirmed' });

    expect(await confirmer.send({ text: 'Ahí estaré', choice: 'yes' })).toMatch(/^¡Gracias por confirmar! Nos vemos en Empaque en el banco de alimentos, /);
  });

  it('in English: "can\'t make it", then Yes, withdraws', async () => {
    const { chatId, address } = telegramChat();
    const chat = await resident(address);
    const shift = await roleWithShift({ startsIn: 50 * HOUR });
    await signUp(shift, chat);
    await plan();
    await runJobs(2 * HOUR);
    expect(telegramTo(chatId).slice(-1)[0]?.payload.text).toMatch(/^Reminder: Food bank packing, /);
    expect(await chat.send("can't make it")).toContain("Sorry you can't make it.");
    expect(await chat.send({ text: 'Yes', choice: 'yes' })).toContain("you're off this shift");
    expect(await service().store.signups.get(`${shift.shiftId}|${chat.address}`)).toMatchObject({ status: 'cancelled', cancelledBy: 'resident' });
  });
});

describe('reminders on SMS, in Spanish', () => {
  it('numbers the answers; "sí" confirms; "2" then "sí" withdraws', async () => {
    const yes = await resident(smsAddress(), 'hola');
    const no = await resident(smsAddress(), 'hola');
    const shift = await roleWithShift({ startsIn: 50 * HOUR });
    await signUp(shift, yes);
    await signUp(shift, no);
    await plan();
    await runJobs(2 * HOUR);
    expect(smsTo(yes.address)[0]).toMatch(
      /^Recordatorio: Empaque en el banco de alimentos, .* en Community hall\. ¿Vas a ir\?\n1\. Ahi estaré\n2\. No puedo ir\nResponde 1-2\.$/,
    );
    expect(await yes.send('sí')).toMatch(/^¡Gracias por confirmar!/);
    expect(await no.send('2')).toContain('¿Te quito de este turno');
    expect(await no.send('sí')).toContain('Listo: ya no estás en este turno');
    expect(await service().store.signups.get(`${shift.shiftId}|${no.address}`)).toMatchObject({ status: 'cancelled' });
  });
});

describe('quiet hours', () => {
  it('holds a reminder until they end, and drops the 2 h reminder of a 7 am shift rather than send it after the start', async () => {
    // A shift at 07:00 in the city, three to four days ahead.
    const hourIn = (at: number) => Number(new Intl.DateTimeFormat('en-US', { hour: 'numeric', hourCycle: 'h23', timeZone: ZONE }).format(new Date(at)));
    let start = Math.ceil((Date.now() + 72 * HOUR) / HOUR) * HOUR;
    while (hourIn(start) !== 7) start += HOUR;
    let clock = start - 60 * HOUR; // 19:00 city time, before quiet hours
    const { env, overrides } = withProviderFakes({ twilio }, { QUIET_HOURS: '21:00-08:00', CITY_TIMEZONE: ZONE });
    const night = await startTestService(env, { ...overrides, now: () => new Date(clock) });
    try {
      night.service.jobs.start();
      const chat = await resident(smsAddress(), 'hi', night.service);
      const shift = await roleWithShift({ startsIn: 60 * HOUR, at: clock }, night.service);
      await signUp(shift, chat, 'confirmed', night.service);
      // The planner's next pass (it ran at start, before the shift existed).
      clock += PLAN_EVERY_MS + MINUTE;
      await night.service.jobs.idle();
      clock = start - 48 * HOUR; // 07:00, the 48 h reminder's time, the 48 h reminder's time: quiet
      await night.service.jobs.idle();
      expect(smsTo(chat.address)).toEqual([]);
      clock += 1.5 * HOUR; // 08:30
      await night.service.jobs.idle();
      expect(smsTo(chat.address)).toHaveLength(1);
      clock = start - 2 * HOUR; // 05:00 on the day: quiet
      await night.service.jobs.idle();
      clock = start + 90 * MINUTE; // 08:30, after the start
      await night.service.jobs.idle();
      expect(smsTo(chat.address)).toHaveLength(1);
      expect(await night.service.store.jobs.get(reminderJobId(`${shift.shiftId}|${chat.address}`, shift.startsAt, 2))).toMatchObject({ state: 'done' });
    } finally {
      await night.close();
    }
  });
});
