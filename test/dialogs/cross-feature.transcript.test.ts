/**
 * Issues 20 and 21 meeting each other in one resident's conversation: several things the city
 * sent live at once (a ballot, "Did you make it?", a shift reminder, a volunteer call), and a
 * bare reply that must reach the question the resident just read.
 */
import { describe, expect, it } from 'vitest';
import { newReference } from '../../src/domain/reference.js';
import type { FollowUp } from '../../src/engine/types.js';
import { closeBallot, createBallot, openBallot } from '../../src/staff/ballot-desk.js';
import { foldToGsm7, smsSegments } from '../../src/channels/sms/gsm7.js';
import { smsAddress, TestConversation, useTestService } from '../support/harness.js';

const service = useTestService({ QUIET_HOURS: 'off' });
const STAFF = { username: 'ana', role: 'coordinator' } as const;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Closes every open ballot, so each test has only its own. */
async function closeAll(): Promise<void> {
  for (const ballot of await service().store.ballots.find({ field: 'status', equals: 'open' })) await closeBallot(service().store, ballot._id, STAFF);
}

/** An open ballot: pick up to `maxPicks` of three projects. */
async function aBallot(maxPicks = 1): Promise<string> {
  await closeAll();
  const draft = await createBallot(
    service().store,
    {
      title: { en: 'Library hours', es: 'Horario de la biblioteca' },
      question: { en: 'What should the library add?', es: '¿Qué debe agregar la biblioteca?' },
      projects: [
        { title: { en: 'Sunday hours', es: 'Abrir domingos' }, cost: 40_000 },
        { title: { en: 'Homework help', es: 'Ayuda con tareas' }, cost: 30_000 },
        { title: { en: 'Story time', es: 'Hora del cuento' }, cost: 10_000 },
      ],
      rule: 'pick_up_to',
      maxPicks,
      opensAt: new Date(Date.now() - HOUR),
      closesAt: new Date(Date.now() + 48 * HOUR),
    },
    STAFF,
    'en',
  );
  return (await openBallot(service().store, draft._id, STAFF))._id;
}

/** A role and a three-hour shift of it that ended `endedAgo` ago, with the resident signed up (confirmed). */
async function aShiftSignedUp(address: string, endedAgo: number): Promise<{ roleId: string; shiftId: string }> {
  const roleId = newReference('V');
  const made = new Date(Date.now() - 30 * 24 * HOUR);
  await service().store.roles.insert({
    _id: roleId,
    title: 'Food bank packing',
    description: 'Help out',
    interests: ['food'],
    neighbourhood: 'Riverside',
    place: 'Food bank',
    startsAt: made,
    capacity: 0,
    contact: 'food@city.example',
    status: 'open',
    demo: false,
    createdAt: made,
  });
  const shiftId = `S-${newReference('V').slice(2)}`;
  const endsAt = new Date(Date.now() - endedAgo);
  await service().store.shifts.insert({
    _id: shiftId,
    roleId,
    startsAt: new Date(endsAt.getTime() - 3 * HOUR),
    endsAt,
    capacity: 10,
    status: 'open',
    createdAt: made,
    updatedAt: made,
  });
  await service().store.signups.insert({
    _id: `${shiftId}|${address}`,
    roleId,
    shiftId,
    address,
    name: 'Ana',
    channel: address.startsWith('telegram:') ? 'telegram' : 'sms',
    status: 'confirmed',
    createdAt: made,
    updatedAt: made,
  });
  return { roleId, shiftId };
}

/** Records what the city sent the resident at `sentAt`, with its follow-up. */
async function sent(address: string, followUp: FollowUp, text = 'From the city'): Promise<void> {
  await service().pipeline.recordProactive(address, 'sms', [{ kind: 'text', text }], {
    key: `cross|${followUp.kind}|${followUp.ref}|${address}`,
    locale: 'en',
    at: new Date(followUp.sentAt),
    followUp,
  });
}

describe('a bare number with a ballot and a yes / no question live', () => {
  it('"2" right after a ballot is a vote, not a "no" to the older "Did you make it?" (which recorded a no-show)', async () => {
    const ballotId = await aBallot();
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 3 * HOUR));
    await chat.send('hi');
    const { shiftId } = await aShiftSignedUp(chat.address, 3 * HOUR);
    // Asked an hour after the shift, not answered; the ballot came an hour later.
    await sent(chat.address, { kind: 'shift_checkin', ref: shiftId, sentAt: Date.now() - 2 * HOUR, until: Date.now() + 46 * HOUR }, 'Did you make it?');
    await sent(chat.address, { kind: 'ballot', ref: ballotId, broadcastId: 'B-BALLX', sentAt: Date.now() - HOUR, until: Date.now() + 47 * HOUR });
    const answer = await chat.send({ text: '2', at: new Date() });
    expect(answer).toMatch(/^You picked:\n2\. Homework help/);
    const signup = await service().store.signups.get(`${shiftId}|${chat.address}`);
    expect(signup?.attendance).toBeUndefined();
    expect(await chat.send({ text: '1', at: new Date(Date.now() + 1000) })).toMatch(/^Thank you! Your vote in "Library hours" is recorded/);
    expect((await service().store.ballotVotes.get(`${ballotId}|${chat.address}`))?.picks).toEqual(['p2']);
    // The check-in is still live: "yes" answers it.
    expect(await chat.send({ text: 'yes', at: new Date(Date.now() + 2000) })).toContain('How many hours');
  });

  it('once the resident has answered the ballot, a lone "1" is the older check-in\'s again', async () => {
    const ballotId = await aBallot();
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 3 * HOUR));
    await chat.send('hi');
    const { shiftId } = await aShiftSignedUp(chat.address, 3 * HOUR);
    await sent(chat.address, { kind: 'shift_checkin', ref: shiftId, sentAt: Date.now() - 2 * HOUR, until: Date.now() + 46 * HOUR }, 'Did you make it?');
    await sent(chat.address, { kind: 'ballot', ref: ballotId, broadcastId: 'B-BALLZ', sentAt: Date.now() - HOUR, until: Date.now() + 47 * HOUR });
    expect(await chat.send({ text: '3', at: new Date() })).toMatch(/^You picked:\n3\. Story time/);
    expect(await chat.send({ text: 'yes', at: new Date(Date.now() + 1000) })).toMatch(/^Thank you! Your vote/);
    expect(await chat.send({ text: '1', at: new Date(Date.now() + 2000) })).toContain('How many hours');
  });

  it('"1" to a check-in sent after the ballot still answers the check-in', async () => {
    const ballotId = await aBallot();
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 3 * HOUR));
    await chat.send('hi');
    const { shiftId } = await aShiftSignedUp(chat.address, 3 * HOUR);
    await sent(chat.address, { kind: 'ballot', ref: ballotId, broadcastId: 'B-BALLY', sentAt: Date.now() - 2 * HOUR, until: Date.now() + 46 * HOUR });
    await sent(chat.address, { kind: 'shift_checkin', ref: shiftId, sentAt: Date.now() - HOUR, until: Date.now() + 47 * HOUR }, 'Did you make it?');
    expect(await chat.send({ text: '1', at: new Date() })).toContain('How many hours');
    expect(await service().store.ballotVotes.get(`${ballotId}|${chat.address}`)).toBeNull();
  });
});

describe('a reply to a ballot in words a resident uses for numbers', () => {
  it.each([
    ['uno y tres', 'es', /^Elegiste:\n1\. Abrir domingos/],
    ['el 1 y el 3', 'es', /^Elegiste:\n1\. Abrir domingos/],
    ['one and three', 'en', /^You picked:\n1\. Sunday hours/],
    ['１ ３', 'en', /^You picked:\n1\. Sunday hours/],
    ['1️⃣ 3️⃣', 'en', /^You picked:\n1\. Sunday hours/],
  ])('"%s" (%s) is a vote, not a message handed to a person', async (reply, locale, expected) => {
    const ballotId = await aBallot(2);
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 3 * HOUR));
    await chat.send(locale === 'es' ? 'hola' : 'hi');
    await sent(chat.address, { kind: 'ballot', ref: ballotId, broadcastId: 'B-BALLW', sentAt: Date.now() - HOUR, until: Date.now() + 47 * HOUR });
    expect(await chat.send({ text: reply, at: new Date() })).toMatch(expected);
    expect(await service().store.handoffs.find({ field: 'address', equals: chat.address })).toEqual([]);
  });
});

describe('SMS pages with what residents wrote', () => {
  it('a page of ideas stays within two segments when a title has an emoji (which sends the whole page as UCS-2)', async () => {
    const titles = ['Más árboles 🌳 en la plaza', 'Bancos en las paradas', 'Mercado nocturno los viernes', 'Luces en el parque de patinaje'];
    for (const [i, title] of titles.entries()) {
      await service().store.ideas.insert({
        _id: `I-${'ABCD'[i]}7X9Z`,
        title,
        details: `Detalles de ${title}.`,
        authorAddress: `sms:+1217999${String(i).padStart(4, '0')}`,
        channel: 'sms',
        status: 'new',
        kind: 'idea',
        createdAt: new Date(Date.now() + (i + 1) * MINUTE),
        supporters: 0,
      });
    }
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() + HOUR));
    await chat.send('hola');
    const page = await chat.send('ver ideas');
    expect(page).toContain('Luces en el parque de patinaje');
    const { segments, encoding } = smsSegments(foldToGsm7(page));
    expect(segments, `${encoding}: ${page}`).toBeLessThanOrEqual(2);
  });
});

describe('leaving "Did you make it?" half-way', () => {
  it('a "yes" counts even when the resident goes to the menu (or switches language) instead of giving the hours', async () => {
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 3 * HOUR));
    await chat.send('hi');
    const { shiftId } = await aShiftSignedUp(chat.address, 3 * HOUR);
    await sent(chat.address, { kind: 'shift_checkin', ref: shiftId, sentAt: Date.now() - 2 * HOUR, until: Date.now() + 46 * HOUR }, 'Did you make it?');
    expect(await chat.send({ text: 'yes', at: new Date() })).toContain('How many hours');
    expect(await chat.send({ text: 'menu', at: new Date(Date.now() + 1000) })).toContain('1.');
    const signup = await service().store.signups.get(`${shiftId}|${chat.address}`);
    expect(signup).toMatchObject({ attendance: 'attended', attendanceBy: 'resident' });
    expect(signup?.hoursReported).toBeUndefined();
  });
});

describe('a word with its own meaning while "Did you make it?" is live', () => {
  it.each([
    ['vote', /^Library hours\n/],
    ['votar', /^Horario de la biblioteca\n/],
    ['my sign-ups', /Food bank packing/],
  ])('"%s" does what it says, and the question stays live', async (text, expected) => {
    await aBallot(2);
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 3 * HOUR));
    await chat.send(text === 'votar' ? 'hola' : 'hi');
    const { shiftId } = await aShiftSignedUp(chat.address, 3 * HOUR);
    await sent(chat.address, { kind: 'shift_checkin', ref: shiftId, sentAt: Date.now() - 2 * HOUR, until: Date.now() + 46 * HOUR }, 'Did you make it?');
    expect(await chat.send({ text, at: new Date() })).toMatch(expected);
  });
});

describe('asking for something else at "How many hours?"', () => {
  it.each([
    ['delete my data', /delete/i],
    ['borrar mis datos', /borr/i],
    ['I want to talk to a person', /person/i],
  ])('"%s" is heard, not asked for hours again', async (text, expected) => {
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 3 * HOUR));
    await chat.send(text === 'borrar mis datos' ? 'hola' : 'hi');
    const { shiftId } = await aShiftSignedUp(chat.address, 3 * HOUR);
    await sent(chat.address, { kind: 'shift_checkin', ref: shiftId, sentAt: Date.now() - 2 * HOUR, until: Date.now() + 46 * HOUR }, 'Did you make it?');
    await chat.send({ text: text === 'borrar mis datos' ? 'sí' : 'yes', at: new Date() });
    const answer = await chat.send({ text, at: new Date(Date.now() + 1000) });
    expect(answer).toMatch(expected);
    expect(answer).not.toMatch(/hours|horas/i);
  });
});

describe('an active volunteer with many live questions', () => {
  it('a ballot stays votable after three shift reminders, a volunteer call and a check-in came after it', async () => {
    const ballotId = await aBallot(2);
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 5 * HOUR));
    await chat.send('hi');
    const at = Date.now() - 4 * HOUR;
    await sent(chat.address, { kind: 'ballot', ref: ballotId, broadcastId: 'B-BALLM', sentAt: at, until: at + 48 * HOUR });
    for (const [i, ref] of ['S-AAAA1', 'S-AAAA2', 'S-AAAA3'].entries()) {
      await sent(chat.address, { kind: 'shift_reminder', ref, sentAt: at + (i + 1) * MINUTE, until: at + 72 * HOUR }, 'Reply 1 to confirm');
    }
    await sent(chat.address, { kind: 'volunteer_call', ref: 'V-DEM5R', broadcastId: 'B-CALLM', sentAt: at + 10 * MINUTE, until: at + 72 * HOUR });
    await sent(chat.address, { kind: 'shift_checkin', ref: 'S-AAAA0', sentAt: at + 20 * MINUTE, until: at + 48 * HOUR }, 'Did you make it?');
    expect(await chat.send({ text: '1 3', at: new Date() })).toMatch(/^You picked:\n1\. Sunday hours/);
  });
});

describe('a shift reminder answered the way phones and people write numbers', () => {
  it.each([
    ['1.', 'en', /^Thanks for confirming! See you at Food bank packing/],
    ['1️⃣', 'en', /^Thanks for confirming! See you at Food bank packing/],
    ['１', 'en', /^Thanks for confirming! See you at Food bank packing/],
    ['uno', 'es', /^¡Gracias por confirmar! Nos vemos en Food bank packing/],
    ['dos', 'es', /^Lamentamos que no puedas ir\. ¿Te quito de este turno/],
  ])('"%s" (%s) answers it', async (text, locale, expected) => {
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 3 * HOUR));
    await chat.send(locale === 'es' ? 'hola' : 'hi');
    // A shift tomorrow.
    const { shiftId } = await aShiftSignedUp(chat.address, -27 * HOUR);
    await sent(chat.address, { kind: 'shift_reminder', ref: shiftId, sentAt: Date.now() - HOUR, until: Date.now() + 27 * HOUR }, 'Reply 1 to confirm');
    const answer = await chat.send({ text, at: new Date() });
    expect(answer).toMatch(expected);
  });
});

describe('an idea named by its reference while a ballot is live', () => {
  it.each([
    ['report I-ABC23', /Why/i],
    ['support I-ABC23', /I-ABC23/],
    ['denunciar I-ABC23', /¿Por qué/],
    ['apoyo I-ABC23', /I-ABC23/],
    ['I-ABC23', /I-ABC23/],
  ])('"%s" goes to the idea, not to a person as a reply to the ballot', async (text, expected) => {
    const ballotId = await aBallot(2);
    if (!(await service().store.ideas.get('I-ABC23'))) {
      await service().store.ideas.insert({
        _id: 'I-ABC23',
        title: 'Benches at the bus stops',
        details: 'More benches.',
        authorAddress: 'sms:+12179990001',
        channel: 'sms',
        status: 'new',
        kind: 'idea',
        createdAt: new Date(Date.now() - HOUR),
        supporters: 0,
      });
    }
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 3 * HOUR));
    await chat.send(/^(denunciar|apoyo)/.test(text) ? 'hola' : 'hi');
    await sent(chat.address, { kind: 'ballot', ref: ballotId, broadcastId: 'B-BALLR', sentAt: Date.now() - HOUR, until: Date.now() + 47 * HOUR });
    const answer = await chat.send({ text, at: new Date() });
    expect(answer).toMatch(expected);
    expect(await service().store.handoffs.find({ field: 'address', equals: chat.address })).toEqual([]);
  });
});

describe('SMS pages of my sign-ups', () => {
  it.each([
    ['en', 'hi', 'my sign-ups'],
    ['es', 'hola', 'mis inscripciones'],
  ])('a page of four shifts (one waitlisted), %s, stays within two segments', async (_locale, hello, ask) => {
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - HOUR));
    await chat.send(hello);
    for (let i = 0; i < 5; i++) {
      const { roleId, shiftId } = await aShiftSignedUp(chat.address, -(30 + 24 * i) * HOUR);
      const role = (await service().store.roles.get(roleId))!;
      await service().store.roles.replace({ ...role, title: `Riverside Park cleanup number ${i + 1} of the season` }, role._rev);
      if (i === 1) {
        const signup = (await service().store.signups.get(`${shiftId}|${chat.address}`))!;
        await service().store.signups.replace({ ...signup, status: 'waitlisted' }, signup._rev);
      }
    }
    const page = await chat.send({ text: ask, at: new Date() });
    expect(page).toMatch(/1-4/);
    const { segments, encoding } = smsSegments(foldToGsm7(page));
    expect(segments, `${encoding}, ${foldToGsm7(page).length}: ${page}`).toBeLessThanOrEqual(2);
  });
});

describe('on Telegram', () => {
  const TELEGRAM_LIKE = { buttons: true, maxButtons: 8, maxTextLength: 4096, media: true, location: true };
  let chatId = 8_300_000;

  it('the Yes button of an older "Did you make it?" answers it though a ballot came since; "dos" typed to the ballot votes', async () => {
    const ballotId = await aBallot(2);
    chatId += 1;
    const chat = new TestConversation(service(), `telegram:${chatId}`, TELEGRAM_LIKE, new Date(Date.now() - 3 * HOUR));
    await chat.send('hola');
    const { shiftId } = await aShiftSignedUp(chat.address, 3 * HOUR);
    await sent(chat.address, { kind: 'shift_checkin', ref: shiftId, sentAt: Date.now() - 2 * HOUR, until: Date.now() + 46 * HOUR }, '¿Llegaste?');
    await sent(chat.address, { kind: 'ballot', ref: ballotId, broadcastId: 'B-BALLT', sentAt: Date.now() - HOUR, until: Date.now() + 47 * HOUR });
    expect(await chat.send({ text: 'Sí', choice: 'yes', at: new Date() })).toContain('¿Cuántas horas');
    expect(await chat.send({ text: 'tres horas', at: new Date(Date.now() + 1000) })).toMatch(/Gracias/);
    expect(await service().store.signups.get(`${shiftId}|${chat.address}`)).toMatchObject({ attendance: 'attended', hoursReported: 3 });
    const confirm = await chat.sendRaw({ text: 'dos', at: new Date(Date.now() + 2000) });
    expect(confirm[0]?.text).toMatch(/^Elegiste:\n2\. Ayuda con tareas/);
    expect(confirm[0]?.buttons?.map((b) => b.label)).toEqual(['Sí', 'No']);
  });
});

describe('a question about the latest broadcast while an older "Did you make it?" is live', () => {
  it('reaches a person with the broadcast, not "did you make it?" again', async () => {
    const ballotId = await aBallot(2);
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 3 * HOUR));
    await chat.send('hi');
    const { shiftId } = await aShiftSignedUp(chat.address, 3 * HOUR);
    await sent(chat.address, { kind: 'shift_checkin', ref: shiftId, sentAt: Date.now() - 2 * HOUR, until: Date.now() + 46 * HOUR }, 'Did you make it?');
    await sent(chat.address, { kind: 'ballot', ref: ballotId, broadcastId: 'B-BALLQ', sentAt: Date.now() - HOUR, until: Date.now() + 47 * HOUR });
    const answer = await chat.send({ text: 'who decides which projects are on the list?', at: new Date() });
    expect(answer).toContain("I've passed your message");
    const [handoff] = await service().store.handoffs.find({ field: 'address', equals: chat.address });
    expect(handoff).toMatchObject({ reason: 'broadcast_reply', about: 'B-BALLQ' });
  });
});

describe('hours given straight away to "Did you make it?"', () => {
  it.each([
    ['3 hours', 'hi', /Thank you/],
    ['tres horas', 'hola', /Gracias/],
    ['2 horas y media', 'hola', /Gracias/],
    ['about 2 hours', 'hi', /Thank you/],
  ])('"%s" says yes and how long', async (text, hello, expected) => {
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 3 * HOUR));
    await chat.send(hello);
    const { shiftId } = await aShiftSignedUp(chat.address, 3 * HOUR);
    await sent(chat.address, { kind: 'shift_checkin', ref: shiftId, sentAt: Date.now() - 2 * HOUR, until: Date.now() + 46 * HOUR }, 'Did you make it?');
    expect(await chat.send({ text, at: new Date() })).toMatch(expected);
    expect(await service().store.signups.get(`${shiftId}|${chat.address}`)).toMatchObject({ attendance: 'attended' });
  });
});

describe('a shift reminder answered in a sentence', () => {
  it.each([
    ["sorry, I can't make it", 'hi', /^Sorry you can't make it/],
    ["can't make it, sorry", 'hi', /^Sorry you can't make it/],
    ['lo siento, no puedo ir', 'hola', /^Lamentamos que no puedas ir/],
    ['no puedo ir mañana', 'hola', /^Lamentamos que no puedas ir/],
    ["yes, I'll be there!", 'hi', /^Thanks for confirming/],
    ['sí, ahí estaré', 'hola', /^¡Gracias por confirmar/],
  ])('"%s"', async (text, hello, expected) => {
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 3 * HOUR));
    await chat.send(hello);
    const { shiftId } = await aShiftSignedUp(chat.address, -27 * HOUR);
    await sent(chat.address, { kind: 'shift_reminder', ref: shiftId, sentAt: Date.now() - HOUR, until: Date.now() + 27 * HOUR }, 'Reply 1 to confirm');
    expect(await chat.send({ text, at: new Date() })).toMatch(expected);
  });
});
