/**
 * Issue 17, section 1: nothing harmful from a misread sentence. A sentence that only sounds like
 * leaving ("take me off the food bank list", "ya no quiero ser voluntario", "i dont want to
 * volunteer anymore") asks what to stop (a role, volunteer calls, all messages, nothing), in the
 * resident's language, as a choice, and does exactly that; leaving a role frees the spot for the
 * waitlist. An exact carrier keyword (STOP, PARAR...) still opts out at once.
 */
import { describe, expect, it } from 'vitest';
import { smsAddress, TestConversation, useTestService, WEB_LIKE } from '../support/harness.js';

const service = useTestService();

let webCounter = 0;
function webAddress(): string {
  webCounter += 1;
  return `web:${String(webCounter).padStart(22, 'l')}`;
}

/** Signs the resident up for a demo role by reference (SMS-style answers work on every channel). */
async function signUp(chat: TestConversation, ref: string, name: string): Promise<void> {
  await chat.send(ref);
  // A resident we already know by name is asked to confirm it (1 = yes) instead.
  const asked = await chat.send('1');
  await chat.send(asked.includes(name) ? '1' : name);
  expect((await service().store.signups.get(`${ref}|${chat.address}`))?.status).toMatch(/confirmed|waitlisted/);
}

async function resident(chat: TestConversation) {
  return (await service().store.residents.get(chat.address))!;
}

async function turnOnVolunteerCalls(chat: TestConversation): Promise<void> {
  await service().store.residents.upsert({ ...(await resident(chat)), volunteerCalls: true });
}

describe('a sentence that sounds like leaving (English, SMS)', () => {
  it('"take me off the food bank list" asks, then leaves that role only, and the waitlist gets the spot', async () => {
    // The demo food-bank shift has 2 spots: two sign up, a third waits.
    const leaver = new TestConversation(service(), smsAddress());
    await signUp(leaver, 'V-DEM4F', 'Lee Leaver');
    await signUp(new TestConversation(service(), smsAddress()), 'V-DEM4F', 'Sam Stays');
    const waiting = new TestConversation(service(), smsAddress());
    await signUp(waiting, 'V-DEM4F', 'Wen Waits');
    expect((await service().store.signups.get(`V-DEM4F|${waiting.address}`))?.status).toBe('waitlisted');

    const question = await leaver.send('take me off the food bank list');
    expect(question).toContain('what would you like to stop?');
    expect(question).toContain('1. Leave Food bank sorting shift');
    expect(question).toContain('Stop volunteer calls');
    expect(question).toContain('Stop all messages');
    expect(question).not.toContain('unsubscribed');
    expect((await resident(leaver)).optedOut).toBe(false);

    const done = await leaver.send('1');
    expect(done).toContain('no longer signed up for Food bank sorting shift');
    expect((await service().store.signups.get(`V-DEM4F|${leaver.address}`))?.status).toBe('cancelled');
    // The waitlist is promoted after the leaver's turn (it takes the promoted resident's lock):
    // on a slow store it lands a moment later.
    await expect.poll(async () => (await service().store.signups.get(`V-DEM4F|${waiting.address}`))?.status, { timeout: 10_000 }).toBe('confirmed');
    expect((await resident(leaver)).optedOut).toBe(false);
    // Still a resident we talk to.
    expect(await leaver.send('hi')).toContain('Report a problem');
  });

  it('"i dont want to volunteer anymore" with two sign-ups asks which role, and leaves only that one', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await signUp(chat, 'V-DEM5R', 'Ali Two');
    await signUp(chat, 'V-DEM6S', 'Ali Two');
    await turnOnVolunteerCalls(chat);
    const question = await chat.send('i dont want to volunteer anymore');
    expect(question).toContain('1. Leave a volunteer role');
    const which = await chat.send('1');
    expect(which).toContain('Which role do you want to leave?');
    expect(which).toMatch(/1\. .+\n2\. /);
    const first = which.match(/1\. (.+)/)![1]!;
    const done = await chat.send('1');
    expect(done).toContain(`no longer signed up for ${first}`);
    const statuses = await Promise.all(['V-DEM5R', 'V-DEM6S'].map(async (ref) => (await service().store.signups.get(`${ref}|${chat.address}`))?.status));
    expect(statuses.sort()).toEqual(['cancelled', 'confirmed']);
    expect(await resident(chat)).toMatchObject({ optedOut: false, volunteerCalls: true });
  });

  it('"i dont want to volunteer anymore" can stop volunteer calls only', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hi');
    await turnOnVolunteerCalls(chat);
    const question = await chat.send('i dont want to volunteer anymore');
    // No sign-ups: nothing to leave, so the calls come first.
    expect(question).toContain('1. Stop volunteer calls');
    expect(question).not.toContain('Leave');
    expect(await chat.send('1')).toContain('will not send you volunteer calls');
    expect(await resident(chat)).toMatchObject({ optedOut: false, volunteerCalls: false });
  });

  it('"stop texting me" in the middle of a step asks too, and "Stop all messages" then opts out', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('report a problem');
    await chat.send('1');
    const question = await chat.send('stop texting me');
    expect(question).toContain('what would you like to stop?');
    expect((await resident(chat)).optedOut).toBe(false);
    expect(await chat.send('Stop all messages')).toContain('unsubscribed');
    expect((await resident(chat)).optedOut).toBe(true);
    expect(await chat.send('HELP')).toContain('START');
  });

  it('"nothing" keeps everything as it was', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await signUp(chat, 'V-DEM2P', 'Kay Keeps');
    await chat.send('take me off the list');
    expect(await chat.send('nothing')).toContain('nothing changed');
    expect((await service().store.signups.get(`V-DEM2P|${chat.address}`))?.status).toBe('confirmed');
    expect((await resident(chat)).optedOut).toBe(false);
  });

  it('after a volunteer call, "i dont want to volunteer anymore" and "no more volunteer texts" ask what to stop', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hi');
    await turnOnVolunteerCalls(chat);
    const at = new Date(Date.parse('2026-11-20T15:00:05Z'));
    await service().pipeline.recordProactive(chat.address, 'sms', [{ kind: 'text', text: 'Volunteers needed!' }], {
      key: `test|${chat.address}`,
      locale: 'en',
      at,
      followUp: { kind: 'volunteer_call', ref: 'V-DEM5R', sentAt: at.getTime(), until: at.getTime() + 72 * 3_600_000 },
    });
    chat.wait(60_000);
    const question = await chat.send('i dont want to volunteer anymore');
    expect(question).toContain('1. Stop volunteer calls');
    expect(await chat.send('1')).toContain('will not send you volunteer calls');
    expect(await resident(chat)).toMatchObject({ optedOut: false, volunteerCalls: false });
    expect(await service().store.signups.get(`V-DEM5R|${chat.address}`)).toBeNull();

    // A reply that reads as "no" to the call declines it, and still asks what more it means.
    const other = new TestConversation(service(), smsAddress());
    await other.send('hi');
    await service().pipeline.recordProactive(other.address, 'sms', [{ kind: 'text', text: 'Volunteers needed!' }], {
      key: `test|${other.address}`,
      locale: 'en',
      at,
      followUp: { kind: 'volunteer_call', ref: 'V-DEM5R', sentAt: at.getTime(), until: at.getTime() + 72 * 3_600_000 },
    });
    other.wait(60_000);
    expect(await other.send('no more volunteer texts please')).toContain('what would you like to stop?');
  });

  it('an exact STOP still opts out at once, even while the question is asked', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('i dont want to volunteer anymore');
    expect(await chat.send('STOP')).toContain('unsubscribed');
    expect((await resident(chat)).optedOut).toBe(true);
  });
});

describe('a sentence that sounds like leaving (Spanish, SMS)', () => {
  it('"ya no quiero ser voluntario" asks in Spanish and can stop volunteer calls only', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hola');
    await turnOnVolunteerCalls(chat);
    const question = await chat.send('ya no quiero ser voluntario');
    expect(question).toContain('¿qué quieres dejar?');
    expect(question).toContain('1. No más llamados a voluntarios');
    expect(question).toContain('2. Ningún mensaje más');
    expect(question).not.toContain('baja');
    expect((await resident(chat)).optedOut).toBe(false);
    expect(await chat.send('1')).toContain('ya no te enviaremos llamados a voluntarios');
    expect(await resident(chat)).toMatchObject({ optedOut: false, volunteerCalls: false });
  });

  it('"ya no quiero ser voluntario" with one sign-up offers to leave it by name, and frees the spot', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hola');
    await signUp(chat, 'V-DEM2P', 'Rosa Ríos');
    const question = await chat.send('ya no quiero ser voluntario');
    expect(question).toContain('1. Dejar Limpieza del Parque Riverside');
    expect(await chat.send('1')).toContain('ya no estás inscrito en Limpieza del Parque Riverside');
    expect((await service().store.signups.get(`V-DEM2P|${chat.address}`))?.status).toBe('cancelled');
    expect((await resident(chat)).optedOut).toBe(false);
  });

  it('an exact PARAR still opts out at once, in Spanish', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hola');
    await chat.send('ya no quiero ser voluntario');
    expect(await chat.send('PARAR')).toContain('Te diste de baja');
    expect((await resident(chat)).optedOut).toBe(true);
  });
});

describe('a sentence that sounds like leaving (web chat, buttons)', () => {
  it('shows the choices as buttons, and the "Stop all messages" button opts out', async () => {
    const chat = new TestConversation(service(), webAddress(), WEB_LIKE);
    await chat.send('hi');
    const [question] = await chat.sendRaw('i dont want to volunteer anymore');
    expect(question?.text).toContain('what would you like to stop?');
    expect(question?.buttons?.map((b) => b.id)).toEqual(['calls', 'all', 'keep']);
    expect((await resident(chat)).optedOut).toBe(false);
    expect(await chat.send({ text: 'Stop all messages', choice: 'all' })).toContain('unsubscribed');
    expect((await resident(chat)).optedOut).toBe(true);
  });

  it('in Spanish, the buttons leave the role that was named among two', async () => {
    const chat = new TestConversation(service(), webAddress(), WEB_LIKE);
    await chat.send('hola');
    await signUp(chat, 'V-DEM4F', 'Luz Web');
    await signUp(chat, 'V-DEM5R', 'Luz Web');
    const [question] = await chat.sendRaw('por favor quítenme del banco de comida');
    expect(question?.text).toContain('¿qué quieres dejar?');
    expect(question?.buttons?.[0]).toEqual({ id: 'role', label: 'Dejar Turno en el banco de comida' });
    expect(await chat.send({ text: 'Dejar Turno en el banco de comida', choice: 'role' })).toContain('ya no estás inscrito en Turno en el banco de comida');
    expect((await service().store.signups.get(`V-DEM4F|${chat.address}`))?.status).toBe('cancelled');
    expect((await service().store.signups.get(`V-DEM5R|${chat.address}`))?.status).toBe('confirmed');
    expect((await resident(chat)).optedOut).toBe(false);
  });
});
