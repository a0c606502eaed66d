/**
 * Shifts for coordinators (issue 20) through the real app, the staff API and the provider fakes:
 * adding and editing a role's shifts with their counts and validation; more capacity promoting
 * the shift's waitlist; cancelling a shift telling each volunteer once, in their language, never
 * one who opted out; today's check-in list, attendance and hours (revision-checked); and a
 * message to one shift's confirmed volunteers through the broadcast engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, postJson, withProviderFakes, type RunningApp } from '../support/http.js';
import { startFakeTwilio, type FakeTwilio } from '../support/twilio.js';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { smsAddress } from '../support/harness.js';
import { broadcastProgress } from '../../src/staff/broadcasts.js';
import { listAudit } from '../../src/staff/audit-log.js';
import { cityDay, signupKey } from '../../src/staff/shift-checkin.js';
import type { ChannelName } from '../../src/core/message.js';
import type { SignupRecord } from '../../src/domain/records.js';

const ADMIN_TOKEN = 'shifts-test-admin-token-0123';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const HOUR = 3_600_000;
let twilio: FakeTwilio;
let telegram: FakeTelegram;
let app: RunningApp;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  telegram = await startFakeTelegram();
  const { env, overrides } = withProviderFakes({ twilio, telegram }, { ADMIN_TOKEN, QUIET_HOURS: 'off', CITY_TIMEZONE: 'America/Chicago' });
  app = await startTestApp(env, overrides);
  app.service.jobs.start();
});
afterAll(async () => {
  await app.close();
  await twilio.close();
  await telegram.close();
});

const api = (path: string) => `${app.url}/admin/api${path}`;
async function send(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(api(path), {
    method,
    headers: { ...auth, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
const smsTo = (address: string) => twilio.requests.filter((r) => r.form.To === address.slice('sms:'.length)).map((r) => r.form.Body ?? '');
const telegramTo = (chatId: number) =>
  telegram
    .callsOf('sendMessage')
    .filter((call) => call.payload.chat_id === chatId)
    .map((call) => String(call.payload.text));

async function role(title = 'Riverbank clean-up'): Promise<string> {
  const created = await postJson(
    api('/roles'),
    {
      title,
      description: 'Pick up litter along the river',
      neighbourhood: 'Riverside',
      place: 'Boat ramp',
      startsAt: '2026-12-05T15:00:00Z',
      capacity: 10,
      contact: 'rivers@city.example',
    },
    auth,
  );
  expect(created.status).toBe(201);
  return created.body.role._id;
}

async function shift(roleId: string, startsAt: Date, capacity = 2, hours = 3): Promise<string> {
  const created = await postJson(
    api(`/roles/${roleId}/shifts`),
    { startsAt: startsAt.toISOString(), endsAt: new Date(startsAt.getTime() + hours * HOUR).toISOString(), capacity },
    auth,
  );
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.shift._id;
}

let chatIds = 93_000_100;
/** A resident and their sign-up for a shift, written straight into the store (the resident side is the lead's). */
async function volunteer(
  roleId: string,
  shiftId: string,
  options: { name: string; status?: SignupRecord['status']; channel?: ChannelName; locale?: string; optedOut?: boolean; extra?: Partial<SignupRecord> },
): Promise<{ address: string; chatId: number; id: string }> {
  const channel = options.channel ?? 'sms';
  const chatId = (chatIds += 1);
  const address = channel === 'telegram' ? `telegram:${chatId}` : smsAddress();
  const at = new Date(Date.now() - 60_000);
  await app.service.store.residents.upsert({
    _id: address,
    address,
    channel,
    locale: options.locale ?? 'en',
    optedOut: options.optedOut ?? false,
    volunteerCalls: false,
    interests: [],
    name: options.name,
    createdAt: at,
    lastSeenAt: at,
  });
  const id = `${shiftId}|${address}`;
  await app.service.store.signups.insert({
    _id: id,
    roleId,
    shiftId,
    address,
    name: options.name,
    channel,
    status: options.status ?? 'confirmed',
    createdAt: at,
    updatedAt: at,
    ...options.extra,
  });
  return { address, chatId, id };
}

describe('shifts on a role', () => {
  it('adds, lists with counts, edits, and refuses what is not a shift', async () => {
    const roleId = await role();
    const start = new Date('2026-12-12T15:00:00Z');
    const id = await shift(roleId, start, 2);
    expect(id).toMatch(/^S-[2-9A-HJKMNP-Z]{5}$/);
    await volunteer(roleId, id, { name: 'Ana' });
    await volunteer(roleId, id, { name: 'Ben' });
    await volunteer(roleId, id, { name: 'Cleo', status: 'waitlisted' });

    const listed = await send('GET', `/roles/${roleId}/shifts`);
    expect(listed.status).toBe(200);
    expect(listed.body.shifts).toEqual([expect.objectContaining({ _id: id, roleId, capacity: 2, status: 'open', confirmed: 2, waitlisted: 1 })]);

    const bad = async (body: unknown) => (await postJson(api(`/roles/${roleId}/shifts`), body, auth)).status;
    const iso = (ms: number) => new Date(start.getTime() + ms).toISOString();
    expect(await bad({ startsAt: iso(0), endsAt: iso(-HOUR), capacity: 2 })).toBe(400);
    expect(await bad({ startsAt: iso(0), endsAt: iso(0), capacity: 2 })).toBe(400);
    expect(await bad({ startsAt: iso(0), endsAt: iso(HOUR), capacity: -1 })).toBe(400);
    expect(await bad({ startsAt: iso(0), endsAt: iso(30 * HOUR), capacity: 2 })).toBe(400);
    expect(await bad({ startsAt: 'saturday', endsAt: iso(HOUR), capacity: 2 })).toBe(400);
    expect((await postJson(api('/roles/V-22222/shifts'), { startsAt: iso(0), endsAt: iso(HOUR), capacity: 1 }, auth)).status).toBe(404);

    const edited = await send('PATCH', `/shifts/${id}`, { place: 'North gate', endsAt: iso(4 * HOUR) });
    expect(edited.status).toBe(200);
    expect(edited.body.shift).toMatchObject({ place: 'North gate', endsAt: iso(4 * HOUR), confirmed: 2 });
    expect((await send('PATCH', `/shifts/${id}`, { endsAt: iso(-HOUR) })).status).toBe(400);
    expect((await send('PATCH', `/shifts/${id}`, { place: null })).body.shift.place).toBeUndefined();
    expect((await send('PATCH', '/shifts/S-22222', { capacity: 3 })).status).toBe(404);

    const actions = (await listAudit(app.service.store, { limit: 50 })).filter((entry) => entry.target === id).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(['shift.create', 'shift.update']));
  });

  it("gives more capacity to the shift's waitlist and tells whoever got a spot", async () => {
    const roleId = await role('Food bank sorting');
    const id = await shift(roleId, new Date('2026-12-13T15:00:00Z'), 1);
    await volunteer(roleId, id, { name: 'Ana' });
    const waiting = await volunteer(roleId, id, { name: 'Dora', status: 'waitlisted' });
    const runner = app.service.staff.runner;
    const original = runner.promoteFromWaitlist;
    const calls: unknown[][] = [];
    // The runner's per-shift promotion is the lead's (issue 20): this stands in for it, with its signature.
    runner.promoteFromWaitlist = async function (roleId: string, now: Date, shiftId?: string): Promise<SignupRecord[]> {
      calls.push([roleId, shiftId]);
      const signup = (await app.service.store.signups.get(waiting.id))!;
      const next = { ...signup, status: 'confirmed' as const, updatedAt: now };
      await app.service.store.signups.replace(next, signup._rev);
      return [{ ...next, _rev: signup._rev + 1 }];
    } as typeof original;
    try {
      const grown = await send('PATCH', `/shifts/${id}`, { capacity: 2 });
      expect(grown.status).toBe(200);
      expect(grown.body.shift).toMatchObject({ capacity: 2, confirmed: 2, waitlisted: 0 });
      expect(calls).toEqual([[roleId, id]]);
      await app.service.jobs.idle();
      expect(smsTo(waiting.address)).toEqual([expect.stringContaining('Good news: a spot opened up for Food bank sorting')]);
      // Less capacity removes nobody.
      expect((await send('PATCH', `/shifts/${id}`, { capacity: 1 })).body.shift).toMatchObject({ capacity: 1, confirmed: 2 });
    } finally {
      runner.promoteFromWaitlist = original;
    }
  });

  it('cancels a shift: each volunteer is told once, in their language, and never one who opted out', async () => {
    const roleId = await role('Park planting');
    const id = await shift(roleId, new Date('2030-12-14T15:00:00Z'), 3);
    const ana = await volunteer(roleId, id, { name: 'Ana' });
    const rosa = await volunteer(roleId, id, { name: 'Rosa', channel: 'telegram', locale: 'es' });
    const eve = await volunteer(roleId, id, { name: 'Eve', status: 'waitlisted' });
    const stopped = await volunteer(roleId, id, { name: 'Sam', optedOut: true });
    const gone = await volunteer(roleId, id, { name: 'Gus', status: 'cancelled', extra: { cancelledBy: 'resident' } });

    const cancelled = await send('POST', `/shifts/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.shift).toMatchObject({ status: 'cancelled', confirmed: 0, waitlisted: 0 });
    await app.service.jobs.idle();
    expect(smsTo(ana.address)).toEqual([expect.stringMatching(/^Sorry, Ana: the Park planting shift on .+ is cancelled\./)]);
    expect(telegramTo(rosa.chatId)).toEqual([expect.stringMatching(/^Lo sentimos, Rosa: el turno de Park planting del .+ se canceló\./)]);
    expect(smsTo(eve.address)).toHaveLength(1);
    expect(smsTo(stopped.address)).toEqual([]);
    expect(smsTo(gone.address)).toEqual([]);
    for (const who of [ana, rosa, eve, stopped]) {
      expect(await app.service.store.signups.get(who.id)).toMatchObject({ status: 'cancelled', cancelledBy: 'staff' });
    }
    expect(await app.service.store.signups.get(gone.id)).toMatchObject({ cancelledBy: 'resident' });

    // Cancelling again (a double tap, a retry) tells nobody twice; a cancelled shift is not edited or messaged.
    expect((await send('POST', `/shifts/${id}/cancel`)).status).toBe(200);
    await app.service.jobs.idle();
    expect(smsTo(ana.address)).toHaveLength(1);
    expect(telegramTo(rosa.chatId)).toHaveLength(1);
    expect((await send('PATCH', `/shifts/${id}`, { capacity: 5 })).status).toBe(409);
    expect((await send('POST', `/shifts/${id}/message`, { messages: { en: 'Hello' } })).status).toBe(400);
  });
});

describe('a shift moved after its reminders', () => {
  it("asks again whoever confirmed the old time: 'I'll be there' on Saturday is not a yes to Sunday, nor is a reminder of Saturday one of Sunday", async () => {
    const roleId = await role('Tree planting');
    const start = new Date(Date.now() + 5 * 24 * HOUR);
    const id = await shift(roleId, start, 4);
    const remindedAt = new Date(Date.now() - HOUR);
    const confirmed = await volunteer(roleId, id, { name: 'Ana', extra: { attendanceConfirmedAt: remindedAt, remindedAt } });
    const reminded = await volunteer(roleId, id, { name: 'Ben', extra: { remindedAt } });

    // Only the place changes: the time they confirmed is still the shift's.
    expect((await send('PATCH', `/shifts/${id}`, { place: 'North gate' })).status).toBe(200);
    expect(await app.service.store.signups.get(confirmed.id)).toMatchObject({ attendanceConfirmedAt: remindedAt, remindedAt });

    // A day later: the new time's reminder asks them again, and nobody is released for not answering the old one.
    const moved = await send('PATCH', `/shifts/${id}`, {
      startsAt: new Date(start.getTime() + 24 * HOUR).toISOString(),
      endsAt: new Date(start.getTime() + 27 * HOUR).toISOString(),
    });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    for (const signupId of [confirmed.id, reminded.id]) {
      const signup = await app.service.store.signups.get(signupId);
      expect(signup?.attendanceConfirmedAt).toBeUndefined();
      expect(signup?.remindedAt).toBeUndefined();
    }
    const detail = await send('GET', `/shifts/${id}`);
    expect(detail.body.volunteers.map((v: { confirmedByReminder: boolean }) => v.confirmedByReminder)).toEqual([false, false]);
  });
});

describe('check-in and hours', () => {
  it("lists today's shifts in the city's time zone and checks volunteers in", async () => {
    const roleId = await role('Library reading buddies');
    const { from } = cityDay(new Date(), 'America/Chicago');
    const today = await shift(roleId, new Date(from.getTime() + 60_000));
    const tomorrow = await shift(roleId, new Date(from.getTime() + 25 * HOUR));
    const ana = await volunteer(roleId, today, { name: '<b>Ana</b>', extra: { attendanceConfirmedAt: new Date(), hoursReported: 2.5 } });
    const ben = await volunteer(roleId, today, { name: 'Ben' });
    await volunteer(roleId, today, { name: 'Wait', status: 'waitlisted' });

    const listed = await send('GET', '/shifts/today');
    expect(listed.status).toBe(200);
    const ids = listed.body.shifts.map((row: any) => row.shift._id);
    expect(ids).toContain(today);
    expect(ids).not.toContain(tomorrow);
    expect(listed.body.shifts.find((row: any) => row.shift._id === today)).toMatchObject({
      confirmed: 2,
      checkedIn: 0,
      role: { title: 'Library reading buddies' },
    });

    const detail = await send('GET', `/shifts/${today}`);
    expect(detail.status).toBe(200);
    expect(JSON.stringify(detail.body)).not.toContain(ana.address);
    const volunteers = detail.body.volunteers as any[];
    expect(volunteers.map((v) => v.name)).toEqual(['<b>Ana</b>', 'Ben']);
    const [a, b] = volunteers;
    expect(a).toMatchObject({ key: signupKey(ana.id), maskedAddress: `sms:…${ana.address.slice(-4)}`, confirmedByReminder: true, hoursReported: 2.5 });
    expect(b).toMatchObject({ key: signupKey(ben.id), confirmedByReminder: false });

    const marked = await send('PATCH', `/shifts/${today}/signups/${a.key}`, { attendance: 'attended', rev: a.rev });
    expect(marked.status).toBe(200);
    expect(marked.body.volunteer).toMatchObject({ attendance: 'attended', attendanceBy: 'staff' });
    // A second phone with the page from before the first mark: refused, nothing overwritten.
    expect((await send('PATCH', `/shifts/${today}/signups/${a.key}`, { attendance: 'no_show', rev: a.rev })).status).toBe(409);
    expect(await app.service.store.signups.get(ana.id)).toMatchObject({ attendance: 'attended', attendanceBy: 'staff' });
    expect((await send('PATCH', `/shifts/${today}/signups/${b.key}`, { attendance: 'no_show' })).body.volunteer).toMatchObject({ attendance: 'no_show' });
    expect((await send('GET', '/shifts/today')).body.shifts.find((row: any) => row.shift._id === today).checkedIn).toBe(2);

    // Hours: as reported, corrected, or refused.
    expect((await send('PATCH', `/shifts/${today}/signups/${b.key}`, { hoursApproved: 'reported' })).status).toBe(409);
    expect((await send('PATCH', `/shifts/${today}/signups/${b.key}`, { hoursApproved: 25 })).status).toBe(400);
    expect((await send('PATCH', `/shifts/${today}/signups/${b.key}`, {})).status).toBe(400);
    expect((await send('PATCH', `/shifts/${today}/signups/${b.key}`, { hoursApproved: 1.5 })).body.volunteer).toMatchObject({ hoursApproved: 1.5 });
    expect((await send('PATCH', `/shifts/${today}/signups/${a.key}`, { hoursApproved: 'reported' })).body.volunteer).toMatchObject({ hoursApproved: 2.5 });
    expect((await send('PATCH', `/shifts/${today}/signups/0123456789ab`, { attendance: 'attended' })).status).toBe(404);
    expect((await send('PATCH', `/shifts/${today}/signups/${ana.address}`, { attendance: 'attended' })).status).toBe(404);

    const audit = (await listAudit(app.service.store, { limit: 100 })).filter((entry) => entry.target === today);
    expect(audit.map((entry) => entry.action)).toEqual(expect.arrayContaining(['signup.attendance', 'signup.hours']));
    expect(JSON.stringify(audit)).not.toContain(ana.address.slice('sms:'.length));
  });

  it('approves all reported hours of a shift, leaving corrected ones alone', async () => {
    const roleId = await role('Senior lunch');
    const id = await shift(roleId, new Date('2026-12-15T15:00:00Z'));
    const ana = await volunteer(roleId, id, { name: 'Ana', extra: { hoursReported: 3 } });
    const ben = await volunteer(roleId, id, { name: 'Ben', extra: { hoursReported: 4, hoursApproved: 2 } });
    const cleo = await volunteer(roleId, id, { name: 'Cleo' });
    const approved = await send('POST', `/shifts/${id}/approve-reported`);
    expect(approved).toEqual({ status: 200, body: { approved: 1 } });
    expect((await app.service.store.signups.get(ana.id))?.hoursApproved).toBe(3);
    expect((await app.service.store.signups.get(ben.id))?.hoursApproved).toBe(2);
    expect((await app.service.store.signups.get(cleo.id))?.hoursApproved).toBeUndefined();
  });
});

describe('messaging one shift', () => {
  it("sends to the shift's confirmed volunteers through the broadcast engine, in their language, skipping opt-outs", async () => {
    const roleId = await role('Tree watering');
    const id = await shift(roleId, new Date('2026-12-16T15:00:00Z'), 5);
    const other = await shift(roleId, new Date('2026-12-17T15:00:00Z'), 5);
    const ana = await volunteer(roleId, id, { name: 'Ana' });
    const rosa = await volunteer(roleId, id, { name: 'Rosa', channel: 'telegram', locale: 'es' });
    const waiting = await volunteer(roleId, id, { name: 'Wes', status: 'waitlisted' });
    const stopped = await volunteer(roleId, id, { name: 'Sam', optedOut: true });
    const elsewhere = await volunteer(roleId, other, { name: 'Olga' });

    expect((await send('POST', `/shifts/${id}/message`, { messages: { es: 'Solo español' } })).status).toBe(400);
    const created = await send('POST', `/shifts/${id}/message`, { messages: { en: 'We meet at the north gate.', es: 'Nos vemos en la puerta norte.' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.broadcast.audience).toEqual({ shiftId: id });
    expect(created.body.plan).toEqual({ planned: 3, queued: 2, skipped: { opted_out: 1 } });
    // The same message again while it goes out (a double tap at the door): refused, nobody hears it twice.
    const twice = await send('POST', `/shifts/${id}/message`, { messages: { es: 'Nos vemos en la puerta norte.', en: 'We meet at the north gate.' } });
    expect(twice.status, JSON.stringify(twice.body)).toBe(409);
    expect(JSON.stringify(twice.body)).toContain(created.body.broadcast._id);

    app.service.broadcasts.start();
    const deadline = Date.now() + 20_000;
    while ((await broadcastProgress(app.service.store, created.body.broadcast._id))?.status !== 'done') {
      if (Date.now() > deadline) throw new Error('the message did not finish');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(smsTo(ana.address)).toEqual([expect.stringContaining('We meet at the north gate.')]);
    expect(telegramTo(rosa.chatId)).toEqual(['Nos vemos en la puerta norte.']);
    for (const nobody of [waiting, stopped, elsewhere]) expect(smsTo(nobody.address)).toEqual([]);
    // Once it went out, the same words again are a new message (a reminder), and go out.
    expect((await send('POST', `/shifts/${id}/message`, { messages: { en: 'We meet at the north gate.', es: 'Nos vemos en la puerta norte.' } })).status).toBe(
      201,
    );

    // The broadcast API takes the same audience, alone.
    const mixed = await postJson(api('/broadcasts'), { messages: { en: 'Hi' }, audience: { shiftId: id, channels: ['sms'] } }, auth);
    expect(mixed.status).toBe(400);
    expect((await postJson(api('/broadcasts'), { messages: { en: 'Hi' }, audience: { shiftId: 'S-22222' } }, auth)).status).toBe(400);
  });
});
