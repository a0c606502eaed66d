/**
 * Shifts (issue 20): a role with shifts is signed up for one shift at a time, with each shift's
 * own capacity and waitlist. Transcripts on SMS (numbered choices) and Telegram (buttons), in
 * English and Spanish; withdrawing gives the spot to that shift's waitlist, and a volunteer call
 * for a role with shifts asks which one.
 */
import { describe, expect, it } from 'vitest';
import { smsAddress, TestConversation, useTestService, WEB_LIKE } from '../support/harness.js';
import type { FollowUp } from '../../src/engine/types.js';
import type { ShiftRecord } from '../../src/domain/records.js';

const service = useTestService({ CITY_TIMEZONE: 'America/New_York' });
const HOUR = 3_600_000;
/** The conversations' clock starts at 2026-11-20T15:00Z; every shift here is after it. */
const AT = (iso: string) => new Date(iso);
let telegramIds = 7100;

/** A role with shifts, written as the coordinator's desk would. */
async function roleWithShifts(
  ref: string,
  shifts: { id: string; starts: string; hours: number; capacity: number; place?: string; status?: ShiftRecord['status'] }[],
): Promise<void> {
  await service().store.roles.insert({
    _id: ref,
    title: 'Food bank packing',
    description: 'Pack boxes for families',
    translations: { es: { title: 'Empaque en el banco de alimentos', description: 'Empacar cajas para familias' } },
    interests: ['food'],
    neighbourhood: 'Eastside',
    place: 'Community hall',
    startsAt: AT('2026-12-01T14:00:00Z'),
    capacity: 0,
    contact: 'food@city.example',
    status: 'open',
    demo: false,
    createdAt: AT('2026-11-01T00:00:00Z'),
  });
  for (const shift of shifts) {
    const startsAt = AT(shift.starts);
    await service().store.shifts.insert({
      _id: shift.id,
      roleId: ref,
      startsAt,
      endsAt: new Date(startsAt.getTime() + shift.hours * HOUR),
      ...(shift.place ? { place: shift.place } : {}),
      capacity: shift.capacity,
      status: shift.status ?? 'open',
      createdAt: AT('2026-11-01T00:00:00Z'),
      updatedAt: AT('2026-11-01T00:00:00Z'),
    });
  }
}

function telegram(): TestConversation {
  return new TestConversation(service(), `telegram:${telegramIds++}`, WEB_LIKE);
}

describe('signing up for a shift', () => {
  it('on SMS in English: the role shows its coming shifts, one is picked by number, the sign-up is for that shift', async () => {
    await roleWithShifts('V-SHF2A', [
      { id: 'S-PAST2', starts: '2026-11-19T14:00:00Z', hours: 3, capacity: 5 },
      { id: 'S-SAT2A', starts: '2026-12-05T14:00:00Z', hours: 3, capacity: 5 },
      { id: 'S-SUN2A', starts: '2026-12-06T15:00:00Z', hours: 2, capacity: 5, place: 'North gate' },
      { id: 'S-OFF2A', starts: '2026-12-07T15:00:00Z', hours: 2, capacity: 5, status: 'cancelled' },
    ]);
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('volunteer');
    const detail = await chat.send('V-SHF2A');
    expect(detail).toContain('Food bank packing');
    expect(detail).toContain('2 shifts coming up');
    // City time (New York), a range; the past and the cancelled shifts are not offered.
    expect(detail).toMatch(/1\. Dec 5, 2026, 9:00\s?AM\s?–\s?12:00\s?PM \(5 spots left\)/);
    expect(detail).toMatch(/2\. Dec 6, 2026, 10:00\s?AM\s?–\s?12:00\s?PM at North gate \(5 spots left\)/);
    expect(detail).not.toContain('Dec 7');
    expect(await chat.send('2')).toContain('What name should we give the coordinator?');
    const done = await chat.send('Ana Díaz');
    expect(done).toMatch(/You're signed up for Food bank packing \(Dec 6, 2026, 10:00\s?AM\s?–\s?12:00\s?PM\), Ana Díaz!/);
    expect(await service().store.signups.get(`S-SUN2A|${chat.address}`)).toMatchObject({ roleId: 'V-SHF2A', shiftId: 'S-SUN2A', status: 'confirmed' });
    expect(await service().store.signups.get(`V-SHF2A|${chat.address}`)).toBeNull();

    // My sign-ups shows the shift's time, and a second shift of the same role is a sign-up of its own.
    await chat.send('volunteer');
    await chat.send('V-SHF2A');
    await chat.send('1');
    expect(await chat.send('yes')).toContain("You're signed up for Food bank packing (Dec 5, 2026");
    const mine = await chat.send('my sign-ups');
    expect(mine).toContain('Your 2 sign-ups');
    // By its day and start on SMS (the whole range made a page of four three segments).
    expect(mine).toMatch(/Food bank packing, Dec 6, 10:00\s?AM\n/);
  });

  it('on Telegram in Spanish: buttons for the shifts, the role in Spanish', async () => {
    await roleWithShifts('V-SHF3B', [{ id: 'S-SAT3B', starts: '2026-12-05T14:00:00Z', hours: 3, capacity: 1 }]);
    const chat = telegram();
    await chat.send('español');
    await chat.send('quiero ser voluntario');
    const [detail, question] = await chat.sendRaw('V-SHF3B');
    expect(detail?.text).toContain('Empaque en el banco de alimentos');
    expect(question?.text).toContain('1 turno próximo');
    expect(question?.buttons?.map((c) => c.label)).toEqual([expect.stringMatching(/5 dic 2026.*9:00.*12:00.*queda 1 lugar/), 'Ver las actividades']);
    expect(await chat.send({ choice: 'S-SAT3B' })).toMatch(/nombre/i);
    expect(await chat.send('Luis')).toMatch(/Te inscribiste en Empaque en el banco de alimentos \(5 dic 2026/);
    expect(await service().store.signups.get(`S-SAT3B|${chat.address}`)).toMatchObject({ status: 'confirmed', channel: 'telegram' });
  });

  it('a full shift is offered for its waitlist, and a withdrawal gives its spot to that shift only', async () => {
    await roleWithShifts('V-SHF4C', [
      { id: 'S-ONE4C', starts: '2026-12-05T14:00:00Z', hours: 3, capacity: 1 },
      { id: 'S-TWO4C', starts: '2026-12-06T14:00:00Z', hours: 3, capacity: 1 },
    ]);
    const first = new TestConversation(service(), smsAddress());
    await first.send('volunteer');
    await first.send('V-SHF4C');
    await first.send('1');
    await first.send('Ana');
    const second = new TestConversation(service(), smsAddress());
    await second.send('volunteer');
    expect(await second.send('V-SHF4C')).toMatch(/1\. Dec 5, 2026.*\(full: join the waitlist\)/);
    await second.send('1');
    expect(await second.send('Ben')).toContain("You're on the waitlist for Food bank packing");
    expect(await service().store.signups.get(`S-ONE4C|${second.address}`)).toMatchObject({ status: 'waitlisted' });

    // Ana withdraws: Ben gets the spot on that shift; the other shift's count is untouched.
    await first.send('my sign-ups');
    await first.send('1');
    expect(await first.send('yes')).toContain('no longer signed up');
    expect(await service().store.signups.get(`S-ONE4C|${first.address}`)).toMatchObject({ status: 'cancelled', cancelledBy: 'resident' });
    await expect.poll(async () => (await service().store.signups.get(`S-ONE4C|${second.address}`))?.status).toBe('confirmed');
    const third = new TestConversation(service(), smsAddress());
    await third.send('volunteer');
    expect(await third.send('V-SHF4C')).toMatch(/2\. Dec 6, 2026.*\(1 spot left\)/);
  });

  it('a shift that took place is not withdrawn from "my sign-ups": the hours stay (SMS English, Telegram Spanish)', async () => {
    await roleWithShifts('V-SHF9P', [{ id: 'S-PAST9P', starts: '2026-11-19T14:00:00Z', hours: 3, capacity: 5 }]);
    const attended = async (address: string) =>
      service().store.signups.insert({
        _id: `S-PAST9P|${address}`,
        roleId: 'V-SHF9P',
        shiftId: 'S-PAST9P',
        address,
        name: 'Ana',
        channel: address.startsWith('sms:') ? 'sms' : 'telegram',
        status: 'confirmed',
        attendance: 'attended',
        attendanceBy: 'staff',
        hoursApproved: 3,
        createdAt: AT('2026-11-10T00:00:00Z'),
        updatedAt: AT('2026-11-19T18:00:00Z'),
      });
    const sms = new TestConversation(service(), smsAddress());
    await attended(sms.address);
    await sms.send('my sign-ups');
    await sms.send('1');
    expect(await sms.send('yes')).toContain('already started, so it stays on your record');
    expect(await service().store.signups.get(`S-PAST9P|${sms.address}`)).toMatchObject({ status: 'confirmed', hoursApproved: 3 });

    const chat = telegram();
    await attended(chat.address);
    await chat.send('mis inscripciones');
    await chat.send('1');
    expect(await chat.send('sí')).toContain('ya empezó, así que queda en tu historial');
    expect(await service().store.signups.get(`S-PAST9P|${chat.address}`)).toMatchObject({ status: 'confirmed', hoursApproved: 3 });
  });

  it('a role whose shifts are all past is not listed, and asking for it says so; nonsense and back at the shift question', async () => {
    await roleWithShifts('V-SHF5D', [{ id: 'S-OLD5D', starts: '2026-11-10T14:00:00Z', hours: 3, capacity: 4 }]);
    await roleWithShifts('V-SHF6E', [{ id: 'S-NEW6E', starts: '2026-12-10T14:00:00Z', hours: 3, capacity: 4 }]);
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('volunteer');
    expect(await chat.send('V-SHF5D')).toContain('has no shifts coming up right now');
    await chat.send('volunteer');
    await chat.send('V-SHF6E');
    expect(await chat.send('purple elephant')).toMatch(/number/i);
    expect(await chat.send('back')).toMatch(/Roles 1-4 of \d+:/);
  });
});

describe('a volunteer call for a role with shifts', () => {
  async function call(chat: TestConversation, ref: string): Promise<void> {
    const at = new Date(Date.parse('2026-11-20T15:00:05Z'));
    const followUp: FollowUp = { kind: 'volunteer_call', ref, sentAt: at.getTime(), until: at.getTime() + 72 * HOUR };
    await service().pipeline.recordProactive(chat.address, chat.address.startsWith('telegram') ? 'telegram' : 'sms', [{ kind: 'text', text: 'Help!' }], {
      key: `test|${Math.random()}`,
      locale: 'en',
      at,
      followUp,
    });
  }

  it('asks which shift after "yes", then signs up for it (SMS, English)', async () => {
    await roleWithShifts('V-SHF7F', [
      { id: 'S-AAA7F', starts: '2026-12-05T14:00:00Z', hours: 3, capacity: 3 },
      { id: 'S-BBB7F', starts: '2026-12-06T14:00:00Z', hours: 3, capacity: 3 },
    ]);
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hi');
    await call(chat, 'V-SHF7F');
    expect(await chat.send('yes')).toContain('2 shifts coming up');
    expect(await chat.send('2')).toContain('What name should we give the coordinator?');
    expect(await chat.send('Rosa')).toContain("You're signed up for Food bank packing (Dec 6, 2026");
    expect(await service().store.signups.get(`S-BBB7F|${chat.address}`)).toMatchObject({ status: 'confirmed' });
  });

  it('on Telegram in Spanish, with the name known, "no" at the shifts lets it be', async () => {
    await roleWithShifts('V-SHF8G', [{ id: 'S-AAA8G', starts: '2026-12-05T14:00:00Z', hours: 3, capacity: 3 }]);
    const chat = telegram();
    await chat.send('hola');
    await service().store.residents.upsert({ ...(await service().store.residents.get(chat.address))!, name: 'Ana' });
    await call(chat, 'V-SHF8G');
    expect(await chat.send('sí')).toContain('1 turno próximo');
    expect(await chat.send('no')).toMatch(/MENU/);
    expect(await service().store.signups.get(`S-AAA8G|${chat.address}`)).toBeNull();

    const other = telegram();
    await other.send('hola');
    await service().store.residents.upsert({ ...(await service().store.residents.get(other.address))!, name: 'Eva' });
    await call(other, 'V-SHF8G');
    await other.send('sí');
    expect(await other.send({ choice: 'S-AAA8G' })).toMatch(/Te inscribiste en Empaque en el banco de alimentos/);
  });
});
