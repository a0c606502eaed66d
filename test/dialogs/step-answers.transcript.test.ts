/**
 * Issue 17, section 1: every step checks that an answer is plausibly an answer. Navigation words
 * (back / atrás / volver, menu / menú, exit / salir) work in every language at every step; a
 * button from an earlier question is re-asked, never taken as this step's answer; a question or
 * a yes/no is not a name, a place or a neighborhood.
 */
import { describe, expect, it } from 'vitest';
import { smsAddress, TestConversation, useTestService, WEB_LIKE } from '../support/harness.js';

const service = useTestService();

let webCounter = 0;
function webAddress(): string {
  webCounter += 1;
  return `web:${String(webCounter).padStart(22, 'q')}`;
}

/** Opens a report and picks Pothole (by number on SMS, by button on the web), reaching the place step. */
async function atPlaceStep(chat: TestConversation, spanish: boolean, buttons: boolean): Promise<void> {
  if (spanish) await chat.send('hola');
  expect(await chat.send(spanish ? 'reportar un problema' : 'report a problem')).toContain(
    spanish ? '¿Qué tipo de problema es?' : 'What kind of problem is it?',
  );
  const place = await chat.send(buttons ? { text: spanish ? 'Bache' : 'Pothole', choice: 'pothole' } : '1');
  expect(place).toContain(spanish ? '¿Dónde está?' : 'Where is it?');
}

describe('navigation words in every language', () => {
  it('"back" in a Spanish conversation goes back from the place step, never becomes the place (SMS)', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await atPlaceStep(chat, true, false);
    const back = await chat.send('back');
    expect(back).toContain('¿Qué tipo de problema es?');
    expect(back).not.toContain('back');
    expect(await chat.send('1')).toContain('¿Dónde está?');
    expect(await chat.send('exit')).toContain('ya no estás reportando un problema');
    expect(await service().store.reports.count({ field: 'residentAddress', equals: chat.address })).toBe(0);
  });

  it('"atrás" and "volver" in an English conversation go back too (web chat)', async () => {
    const chat = new TestConversation(service(), webAddress(), WEB_LIKE);
    await atPlaceStep(chat, false, true);
    expect(await chat.send('atrás')).toContain('What kind of problem is it?');
    await chat.send({ text: 'Pothole', choice: 'pothole' });
    expect(await chat.send('volver')).toContain('What kind of problem is it?');
    expect(await chat.send('menú')).toContain('What would you like to do?');
  });
});

describe('a button from an earlier question', () => {
  it('is re-asked at the place step, not filed as "Pothole at Graffiti" (web chat, English)', async () => {
    const chat = new TestConversation(service(), webAddress(), WEB_LIKE);
    await atPlaceStep(chat, false, true);
    const stale = await chat.send({ text: 'Graffiti', choice: 'graffiti' });
    expect(stale).toContain('That button was for an earlier question.');
    expect(stale).toContain('Where is it?');
    expect(await chat.send('5th and Main')).toContain('Describe the problem');
    const stored = await service().store.conversations.get(chat.address);
    expect(JSON.stringify(stored?.state)).not.toContain('"placeText":"Graffiti"');
  });

  it('is re-asked in Spanish too (web chat)', async () => {
    const chat = new TestConversation(service(), webAddress(), WEB_LIKE);
    await atPlaceStep(chat, true, true);
    const stale = await chat.send({ text: 'Grafiti', choice: 'graffiti' });
    expect(stale).toContain('Ese botón era de una pregunta anterior.');
    expect(stale).toContain('¿Dónde está?');
  });
});

describe('answers that are not answers', () => {
  it('"why do you need my name?" is answered and the name asked again (SMS, English)', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('V-DEM2P');
    expect(await chat.send('1')).toContain('What name');
    const why = await chat.send('why do you need my name?');
    expect(why).toContain('so they know who is coming');
    expect(why).toContain('What name');
    expect(await service().store.signups.get(`V-DEM2P|${chat.address}`)).toBeNull();
    expect(await chat.send('Ana Lopez')).toContain("You're signed up");
  });

  it('"¿para qué necesitas mi nombre?" is answered in Spanish, and "sí" is not a name either (SMS)', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hola');
    await chat.send('V-DEM2P');
    expect(await chat.send('1')).toContain('¿Qué nombre');
    expect(await chat.send('¿para qué necesitas mi nombre?')).toContain('para que sepa quién viene');
    expect(await chat.send('sí')).toContain('Envía el nombre');
    expect(await service().store.signups.get(`V-DEM2P|${chat.address}`)).toBeNull();
  });

  it('"yes" is not a neighborhood (SMS, English), nor a place', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('share an idea');
    await chat.send('More benches at bus stops');
    expect(await chat.send('Older riders have nowhere to sit')).toContain('neighborhood');
    const again = await chat.send('yes');
    expect(again).toContain('Send a neighborhood name');
    expect(again).not.toContain('Share it?');
    expect(await chat.send('Eastside')).toContain('Share it?');

    const report = new TestConversation(service(), smsAddress());
    await atPlaceStep(report, false, false);
    expect(await report.send('yes')).toContain('I need a place');
  });

  it('"sí" is not a neighborhood in Spanish, and a question gets a reason (web chat)', async () => {
    const chat = new TestConversation(service(), webAddress(), WEB_LIKE);
    await chat.send('hola');
    await chat.send('tengo una idea para la ciudad');
    await chat.send('Más bancas en las paradas');
    expect(await chat.send('La gente mayor no tiene dónde sentarse')).toContain('barrio');
    expect(await chat.send('sí')).toContain('Envía el nombre de un barrio');
    expect(await chat.send('¿por qué preguntas el barrio?')).toContain('quienes planean ese barrio');
    expect(await chat.send('Centro')).toContain('Más bancas en las paradas');
  });
});
