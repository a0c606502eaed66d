/**
 * Finding roles and "my sign-ups" by text (issue 20), in a city with twelve open roles, three of
 * them full: the list pages ("more", "más" or the button) to the last role, full roles last,
 * each SMS page within two segments; a role is picked by typing part of its title, in any case
 * and without accents, several matches are listed, nonsense is retried; "more" past the end
 * starts again. "My sign-ups" lists them all, paged, and "cancel my food bank shift" goes
 * straight to that one: withdrawing frees the spot for the waitlist and leaves the resident's
 * other roles and volunteer calls alone. SMS and Telegram (their real capabilities), en and es.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldToGsm7, smsSegments } from '../../src/channels/sms/gsm7.js';
import { TELEGRAM_CAPABILITIES } from '../../src/channels/telegram/telegram.channel.js';
import { WEB_CAPABILITIES } from '../../src/channels/web/web.channel.js';
import { SMS_CAPABILITIES } from '../../src/channels/sms/sms.channel.js';
import type { OutboundMessage } from '../../src/channels/channel.js';
import type { Service } from '../../src/service.js';
import { broadcastProgress, createBroadcast } from '../../src/staff/broadcasts.js';
import { createRole } from '../../src/staff/role-desk.js';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { startTestService, TestConversation } from '../support/harness.js';
import { withProviderFakes } from '../support/http.js';
import { startFakeTwilio, type FakeTwilio } from '../support/twilio.js';

const STAFF = { username: 'coordinator', role: 'coordinator' as const };
const DAY = 86_400_000;

let twilio: FakeTwilio;
let telegram: FakeTelegram;
let started: Awaited<ReturnType<typeof startTestService>>;
const service = (): Service => started.service;

/** The twelve roles, by start: English and Spanish titles, whether full, interests. */
const ROLES: { en: string; es: string; full?: boolean; interests?: string[] }[] = [
  { en: 'Food bank sorting shift', es: 'Turno en el banco de alimentos', full: true },
  { en: 'Food bank delivery driver', es: 'Reparto del banco de alimentos' },
  { en: 'Riverside Park cleanup', es: 'Limpieza del Parque Riverside', interests: ['environment'] },
  { en: 'Reading buddy at the library', es: 'Lectura en la biblioteca' },
  { en: 'Heat-wave check-in calls', es: 'Llamadas en ola de calor', full: true, interests: ['environment'] },
  { en: 'Water new street trees', es: 'Riego de árboles nuevos', interests: ['environment'] },
  { en: 'Community garden weeding', es: 'Desyerbe del huerto comunitario', interests: ['environment'] },
  { en: 'Senior center lunch helper', es: 'Almuerzos en el centro de mayores' },
  { en: 'Mural painting on Fifth Street', es: 'Pintura del mural de la Quinta' },
  { en: 'Bike lane count', es: 'Conteo de ciclovías' },
  { en: 'Library book sale', es: 'Venta de libros de la biblioteca', full: true },
  { en: 'Winter coat drive sorting', es: 'Clasificación de abrigos de invierno', interests: ['environment'] },
];
/** Role references by English title. */
const refs = new Map<string, string>();
/** The residents' clock: before every role starts (the list shows upcoming roles). */
const START = new Date('2026-11-20T15:00:00Z');

beforeAll(async () => {
  twilio = await startFakeTwilio();
  telegram = await startFakeTelegram();
  // Real SMS and Telegram senders (to the fakes), so a volunteer call can be seen arriving.
  const { env, overrides } = withProviderFakes({ twilio, telegram }, { SEED_DEMO_DATA: 'false', QUIET_HOURS: 'off' });
  started = await startTestService(env, overrides);
  const first = Date.now() + 14 * DAY;
  for (const [i, role] of ROLES.entries()) {
    const created = await createRole(
      service().staff,
      {
        title: role.en,
        description: 'Help your neighbours.',
        interests: role.interests ?? ['community'],
        neighbourhood: i % 2 ? 'Eastside' : 'Riverside',
        place: 'City hall',
        startsAt: new Date(first + i * DAY),
        capacity: role.full ? 1 : 5,
        contact: 'volunteer@springfield.example',
        translations: { es: { title: role.es, description: 'Ayuda a tus vecinos.' } },
      },
      STAFF,
    );
    refs.set(role.en, created._id);
  }
  // The full roles' one spot is someone else's.
  for (const role of ROLES.filter((r) => r.full)) await occupy(refs.get(role.en)!, `sms:+1217999000${ROLES.indexOf(role)}`);
});
afterAll(async () => {
  await started.close();
  await twilio.close();
  await telegram.close();
});

/** A sign-up written straight into the store (the pipeline's sign-up is tested elsewhere). */
async function occupy(roleId: string, address: string, status: 'confirmed' | 'waitlisted' = 'confirmed', at = new Date()): Promise<void> {
  await service().store.signups.upsert({
    _id: `${roleId}|${address}`,
    roleId,
    address,
    name: 'Someone',
    channel: address.startsWith('telegram:') ? 'telegram' : 'sms',
    status,
    createdAt: at,
    updatedAt: at,
  });
}

let nextNumber = 0;
function smsResident(): TestConversation {
  nextNumber += 1;
  return new TestConversation(service(), `sms:+1217555${String(nextNumber).padStart(4, '0')}`, SMS_CAPABILITIES, START);
}
function telegramResident(): TestConversation {
  nextNumber += 1;
  return new TestConversation(service(), `telegram:${880_000 + nextNumber}`, TELEGRAM_CAPABILITIES, START);
}

/** What the reply costs by SMS, as the SMS channel sends it (folded to GSM-7, one body); logged for the README. */
function segments(reply: string): number {
  const { segments, encoding } = smsSegments(foldToGsm7(reply));
  console.info(`SMS page "${reply.split('\n')[0]}": ${foldToGsm7(reply).length} characters, ${segments} segments, ${encoding}`);
  return segments;
}

/** The numbered lines of an SMS list ("3. Bike lane count, Dec 12 (5 left)" → that label). */
function lines(reply: string): string[] {
  return [...reply.matchAll(/^\d+\. (.+)$/gm)].map((match) => match[1]!);
}

/** The labels of a message's buttons. */
function buttons(messages: OutboundMessage[]): string[] {
  return messages.flatMap((message) => (message.buttons ?? []).map((button) => button.label));
}
function buttonId(messages: OutboundMessage[], label: RegExp): string {
  const found = messages.flatMap((message) => message.buttons ?? []).find((button) => label.test(button.label));
  if (!found) throw new Error(`No button ${label} in ${JSON.stringify(buttons(messages))}`);
  return found.id;
}

describe('the role list by SMS, in English', () => {
  it('pages through all twelve roles, full ones last, each page within two segments, and picks the last', async () => {
    const chat = smsResident();
    const first = await chat.send('I want to volunteer');
    expect(first).toContain('Roles 1-4 of 12:');
    expect(lines(first).slice(0, 4)).toEqual([
      expect.stringMatching(/^Food bank delivery driver, \w+ \d+$/),
      expect.stringMatching(/^Riverside Park cleanup, /),
      expect.stringMatching(/^Reading buddy at the library, /),
      expect.stringMatching(/^Water new street trees, /),
    ]);
    expect(lines(first).slice(4)).toEqual(['More', 'Filter by interest or area', 'My sign-ups']);
    const second = await chat.send('more');
    expect(second).toContain('Roles 5-8 of 12:');
    expect(lines(second)[0]).toMatch(/^Community garden weeding/);
    const third = await chat.send('5');
    expect(third).toContain('Roles 9-12 of 12:');
    // The last page: the open role left, then the full ones; no "More".
    expect(lines(third)).toEqual([
      expect.stringMatching(/^Winter coat drive sorting, \w+ \d+$/),
      expect.stringMatching(/^Food bank sorting shift, .+ \(full\)$/),
      expect.stringMatching(/^Heat-wave check-in calls, .+ \(full\)$/),
      expect.stringMatching(/^Library book sale, .+ \(full\)$/),
      'Filter by interest or area',
      'My sign-ups',
    ]);
    for (const page of [first, second, third]) expect(segments(page), page).toBeLessThanOrEqual(2);
    const detail = await chat.send('4');
    expect(detail).toContain('Library book sale');
    expect(detail).toContain('Join the waitlist');
  });

  it('starts again from the first page on "more" past the end', async () => {
    const chat = smsResident();
    await chat.send('volunteer');
    await chat.send('more');
    expect(await chat.send('more')).toContain('Roles 9-12 of 12:');
    const again = await chat.send('more');
    expect(again).toContain('That was all 12 roles. Again, 1-4:');
    expect(segments(again)).toBeLessThanOrEqual(2);
    // Numbers pick from the page shown: the first page again.
    expect(await chat.send('1')).toContain('Food bank delivery driver');
  });

  it('picks a role by typing part of its title, from any page, in any case', async () => {
    const chat = smsResident();
    await chat.send('volunteer');
    const detail = await chat.send('WINTER COAT');
    expect(detail).toContain('Winter coat drive sorting');
    expect(detail).toContain('Sign me up');
  });

  it('lists the roles that several titles match, and numbers pick among them', async () => {
    const chat = smsResident();
    await chat.send('volunteer');
    const matches = await chat.send('food bank');
    expect(matches).toContain('2 roles match "food bank". Pick one:');
    expect(lines(matches)).toEqual([
      expect.stringMatching(/^Food bank delivery driver/),
      expect.stringMatching(/^Food bank sorting shift, .+ \(full\)$/),
      'Back to the roles',
    ]);
    expect(await chat.send('2')).toContain('Food bank sorting shift');
    // Back from the details: the list again.
    expect(await chat.send('Back to the roles')).toContain('Roles 1-4 of 12:');
  });

  it('answers nonsense with how to pick, and the page again', async () => {
    const chat = smsResident();
    await chat.send('volunteer');
    await chat.send('more');
    const retry = await chat.send('zxqv blorp');
    expect(retry).toContain('Please pick a role by its number, or type part of its title.');
    expect(retry).toContain('Roles 5-8 of 12:');
  });

  it('pages a filtered list from its first page', async () => {
    const chat = smsResident();
    await chat.send('volunteer');
    await chat.send('more');
    expect(await chat.send('filter')).toContain('What are you interested in?');
    expect(await chat.send('environment')).toContain('Which area?');
    const filtered = await chat.send('Any');
    expect(filtered).toContain('Roles 1-4 of 5:');
    expect(lines(filtered)[0]).toMatch(/^Riverside Park cleanup/);
    const last = await chat.send('more');
    expect(last).toContain('Roles 5-5 of 5:');
    expect(lines(last)[0]).toMatch(/^Heat-wave check-in calls, .+ \(full\)$/);
    expect(last).not.toContain('Bike lane');
  });
});

describe('the role list by SMS, in Spanish', () => {
  it('pages with "más" to the last role and picks it, then finds roles by title without accents', async () => {
    const chat = smsResident();
    await chat.send('español');
    const first = await chat.send('quiero ser voluntario');
    expect(first).toContain('Actividades 1-4 de 12:');
    expect(lines(first)[0]).toMatch(/^Reparto del banco de alimentos, \d+ \w+\.?$/);
    expect(lines(first)).toContain('Más');
    expect(await chat.send('más')).toContain('Actividades 5-8 de 12:');
    const third = await chat.send('mas');
    expect(third).toContain('Actividades 9-12 de 12:');
    // A long title is cut on SMS (the details show it whole).
    expect(lines(third)[3]).toMatch(/^Venta de libros de la…, .+ \(llena\)$/);
    for (const page of [first, third]) expect(segments(page), page).toBeLessThanOrEqual(2);
    expect(await chat.send('4')).toContain('Venta de libros de la biblioteca');

    const again = smsResident();
    await again.send('español');
    await again.send('quiero ser voluntario');
    expect(await again.send('clasificacion de abrigos')).toContain('Clasificación de abrigos de invierno');
  });

  it('lists several matches, answers nonsense, and starts again after the last page', async () => {
    const chat = smsResident();
    await chat.send('español');
    await chat.send('voluntariado');
    const matches = await chat.send('banco de alimentos');
    expect(matches).toContain('2 actividades coinciden con "banco de alimentos". Elige una:');
    expect(await chat.send('1')).toContain('Reparto del banco de alimentos');

    const other = smsResident();
    await other.send('español');
    await other.send('voluntariado');
    expect(await other.send('zxqv blorp')).toContain('Elige una actividad por su número o escribe parte de su nombre.');
    await other.send('más');
    await other.send('más');
    const wrapped = await other.send('más');
    expect(wrapped).toContain('Esas eran las 12. De nuevo, 1-4:');
  });
});

describe('the role list on Telegram', () => {
  it('shows eight roles a page as buttons, "More" shows the rest with the full ones last, and the last is picked', async () => {
    const chat = telegramResident();
    const first = await chat.sendRaw('volunteer');
    expect(first.map((m) => m.text).join('\n')).toContain('Roles 1-8 of 12. Pick one, or type part of its title:');
    const labels = buttons(first);
    expect(labels).toHaveLength(11);
    expect(labels[0]).toMatch(/^Food bank delivery driver, Eastside, .+ \(5 spots left\)$/);
    expect(labels.slice(8)).toEqual(['More', 'Filter by interest or area', 'My sign-ups']);
    const second = await chat.sendRaw({ choice: buttonId(first, /^More$/) });
    expect(second.map((m) => m.text).join('\n')).toContain('Roles 9-12 of 12.');
    expect(buttons(second)).toEqual([
      expect.stringMatching(/^Winter coat drive sorting/),
      expect.stringMatching(/^Food bank sorting shift, .+ \(full: waitlist\)$/),
      expect.stringMatching(/^Heat-wave check-in calls, .+ \(full: waitlist\)$/),
      expect.stringMatching(/^Library book sale, .+ \(full: waitlist\)$/),
      'Filter by interest or area',
      'My sign-ups',
    ]);
    const detail = await chat.send({ choice: buttonId(second, /^Library book sale/) });
    expect(detail).toContain('Library book sale');
    // "more" typed past the end starts again.
    const other = telegramResident();
    await other.send('volunteer');
    await other.send('more');
    expect(await other.send('more')).toContain('That was all 12 roles. Again, 1-8:');
  });

  it('picks by part of a title, lists several matches as buttons, and retries nonsense, in Spanish', async () => {
    const chat = telegramResident();
    await chat.send('español');
    await chat.send('quiero ser voluntario');
    const matches = await chat.sendRaw('BIBLIOTECA');
    expect(matches.map((m) => m.text).join('\n')).toContain('2 actividades coinciden con "BIBLIOTECA". Elige una:');
    expect(buttons(matches)).toEqual([
      expect.stringMatching(/^Lectura en la biblioteca/),
      expect.stringMatching(/^Venta de libros de la biblioteca/),
      'Ver las actividades',
    ]);
    expect(await chat.send({ choice: buttonId(matches, /^Venta de libros/) })).toContain('Venta de libros de la biblioteca');

    const other = telegramResident();
    await other.send('español');
    await other.send('quiero ser voluntario');
    expect(await other.send('zxqv blorp')).toContain('Elige una actividad abajo o escribe parte de su nombre.');
    expect(await other.send('riego de arboles')).toContain('Riego de árboles nuevos');
  });
});

describe('the role list in the web chat', () => {
  it("fits a page and its three fixed choices within the web page's 13 buttons", async () => {
    const chat = new TestConversation(service(), `web:${'r'.repeat(22)}`, WEB_CAPABILITIES, START);
    const first = await chat.sendRaw('volunteer');
    expect(buttons(first)).toHaveLength(11);
    const last = await chat.sendRaw({ choice: buttonId(first, /^More$/) });
    expect(buttons(last).slice(0, 4)).toEqual([
      expect.stringMatching(/^Winter coat drive sorting/),
      expect.stringMatching(/\(full: waitlist\)$/),
      expect.stringMatching(/\(full: waitlist\)$/),
      expect.stringMatching(/\(full: waitlist\)$/),
    ]);
  });
});

/** A resident signed up for six roles, holding the food bank's one spot (from whoever had it), calls on. */
async function volunteerWithSixSignups(chat: TestConversation, locale: string): Promise<void> {
  await chat.send(locale === 'es' ? 'español' : 'hi');
  for (const signup of await service().store.signups.find({ field: 'roleId', equals: refs.get('Food bank sorting shift')! })) {
    if (signup.status !== 'cancelled') await service().store.signups.upsert({ ...signup, status: 'cancelled' });
  }
  const titles = [
    'Food bank sorting shift',
    'Food bank delivery driver',
    'Riverside Park cleanup',
    'Bike lane count',
    'Water new street trees',
    'Mural painting on Fifth Street',
  ];
  for (const [i, title] of titles.entries()) await occupy(refs.get(title)!, chat.address, 'confirmed', new Date(Date.now() - (10 - i) * 60_000));
  const resident = (await service().store.residents.get(chat.address))!;
  await service().store.residents.upsert({ ...resident, volunteerCalls: true });
}

/** A neighbour waiting for the food bank's one spot (the resident's). */
async function waitingNeighbour(): Promise<string> {
  const address = `sms:+1217444${String((nextNumber += 1)).padStart(4, '0')}`;
  await occupy(refs.get('Food bank sorting shift')!, address, 'waitlisted');
  return address;
}

async function signupStatus(title: string, address: string): Promise<string | undefined> {
  return (await service().store.signups.get(`${refs.get(title)!}|${address}`))?.status;
}

/** Withdrawing left the resident's volunteer calls on: a volunteer call still reaches them. */
async function stillGetsVolunteerCalls(address: string): Promise<void> {
  const resident = (await service().store.residents.get(address))!;
  expect(resident).toMatchObject({ optedOut: false, volunteerCalls: true });
  const { broadcast } = await createBroadcast(
    service(),
    { messages: { en: `Bike count volunteers wanted ${address}`, es: `Se buscan voluntarios ${address}` }, audience: {}, roleId: refs.get('Bike lane count')! },
    STAFF,
  );
  service().broadcasts.start();
  service().broadcasts.kick();
  await expect.poll(async () => (await broadcastProgress(service().store, broadcast._id))?.status, { timeout: 20_000 }).toBe('done');
  if (address.startsWith('sms:')) {
    const to = address.slice('sms:'.length);
    expect(twilio.requests.some((r) => r.form.To === to && (r.form.Body ?? '').includes(address))).toBe(true);
  } else {
    const chatId = Number(address.slice('telegram:'.length));
    expect(telegram.callsOf('sendMessage').some((call) => call.payload.chat_id === chatId && String(call.payload.text).includes(address))).toBe(true);
  }
}

describe('my sign-ups by text', () => {
  it('lists all six by SMS, paged, and "cancel my food bank shift" withdraws that one: the waitlist is promoted, nothing else changes', async () => {
    const chat = smsResident();
    await volunteerWithSixSignups(chat, 'en');
    const first = await chat.send('my sign-ups');
    expect(first).toContain('Your sign-ups 1-4 of 6.');
    expect(lines(first)).toHaveLength(6);
    expect(lines(first).slice(4)).toEqual(['More', 'Back to the roles']);
    expect(segments(first)).toBeLessThanOrEqual(2);
    const second = await chat.send('more');
    expect(second).toContain('Your sign-ups 5-6 of 6.');
    expect(await chat.send('more')).toContain('That was all 6. Again, 1-4:');

    const waiting = await waitingNeighbour();
    const confirm = await chat.send('cancel my food bank shift');
    expect(confirm).toContain('Withdraw from Food bank sorting shift?');
    expect(await chat.send('yes')).toContain("Done, you're no longer signed up.");
    expect(await signupStatus('Food bank sorting shift', chat.address)).toBe('cancelled');
    await expect.poll(() => signupStatus('Food bank sorting shift', waiting), { timeout: 10_000 }).toBe('confirmed');
    // The other five stay.
    for (const title of [
      'Food bank delivery driver',
      'Riverside Park cleanup',
      'Bike lane count',
      'Water new street trees',
      'Mural painting on Fifth Street',
    ]) {
      expect(await signupStatus(title, chat.address), title).toBe('confirmed');
    }
    // One word of three names a sign-up in a sentence; "2" (No, keep it) keeps it.
    expect(await chat.send('cancel my delivery shift')).toContain('Withdraw from Food bank delivery driver?');
    expect(await chat.send('2')).toContain("OK, you're still signed up.");
    expect(await signupStatus('Food bank delivery driver', chat.address)).toBe('confirmed');
    const after = await chat.send('mis inscripciones');
    expect(after).not.toContain('Food bank sorting');
    await stillGetsVolunteerCalls(chat.address);
  });

  it('goes straight to the one named in Spanish, "cancela mi turno del banco de alimentos"', async () => {
    const chat = smsResident();
    await volunteerWithSixSignups(chat, 'es');
    const waiting = await waitingNeighbour();
    const confirm = await chat.send('cancela mi turno del banco de alimentos');
    expect(confirm).toContain('¿Quieres retirarte de Turno en el banco de alimentos?');
    expect(await chat.send('sí')).toContain('Listo, ya no estás inscrito.');
    await expect.poll(() => signupStatus('Food bank sorting shift', waiting), { timeout: 10_000 }).toBe('confirmed');
    expect(await signupStatus('Food bank delivery driver', chat.address)).toBe('confirmed');
    await stillGetsVolunteerCalls(chat.address);
  });

  it('on Telegram: "mis inscripciones" pages them as buttons; one is withdrawn by button after typing its title', async () => {
    const chat = telegramResident();
    await volunteerWithSixSignups(chat, 'es');
    const mine = await chat.sendRaw('mis inscripciones');
    expect(mine.map((m) => m.text).join('\n')).toContain('Tus 6 inscripciones. Elige una para retirarte:');
    expect(buttons(mine)).toHaveLength(7);
    // A title typed at the list: that one, to confirm.
    const confirm = await chat.sendRaw('limpieza del parque');
    expect(confirm.map((m) => m.text).join('\n')).toContain('¿Quieres retirarte de Limpieza del Parque Riverside?');
    expect(await chat.send({ choice: buttonId(confirm, /^Sí, retirarme$/) })).toContain('Listo, ya no estás inscrito.');
    expect(await signupStatus('Riverside Park cleanup', chat.address)).toBe('cancelled');
    expect(await signupStatus('Bike lane count', chat.address)).toBe('confirmed');
    await stillGetsVolunteerCalls(chat.address);
  });

  it('on Telegram in English: "my sign-ups" and a button withdraws; "No, keep it" keeps', async () => {
    const chat = telegramResident();
    await volunteerWithSixSignups(chat, 'en');
    const mine = await chat.sendRaw('my sign-ups');
    const confirm = await chat.sendRaw({ choice: buttonId(mine, /^Bike lane count/) });
    expect(confirm.map((m) => m.text).join('\n')).toContain('Withdraw from Bike lane count?');
    expect(await chat.send({ choice: buttonId(confirm, /^No, keep it$/) })).toContain("OK, you're still signed up.");
    expect(await signupStatus('Bike lane count', chat.address)).toBe('confirmed');
    const again = await chat.sendRaw('cancel my bike lane count');
    expect(await chat.send({ choice: buttonId(again, /^Yes, withdraw$/) })).toContain("Done, you're no longer signed up.");
    expect(await signupStatus('Bike lane count', chat.address)).toBe('cancelled');
  });
});
