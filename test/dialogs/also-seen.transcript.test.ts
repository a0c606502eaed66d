/**
 * Issue 17, "Also seen, fix on the way": what residents ran into besides the main sections, each
 * in English and Spanish. A word both languages use ("idea") does not switch the language; a
 * carrier keyword of one language (PARAR) is answered in it.
 */
import { describe, expect, it } from 'vitest';
import { smsAddress, TestConversation, useTestService } from '../support/harness.js';

const service = useTestService();
// A city whose default language is Spanish: the same words must not switch it to English.
const spanishCity = useTestService({ DEFAULT_LOCALE: 'es' });

async function conversation(of: ReturnType<typeof service>, address: string) {
  return (await of.store.conversations.get(address))?.state;
}

describe('one word both languages use does not switch the language', () => {
  it('"idea" from a new resident stays in English (SMS, default English)', async () => {
    const chat = new TestConversation(service(), smsAddress());
    const reply = await chat.send('idea');
    expect(reply).toContain("What's your idea?");
    expect(await conversation(service(), chat.address)).toMatchObject({ locale: 'en', localeSettled: false });
    expect((await service().store.residents.get(chat.address))?.locale).toBe('en');
  });

  it('"idea" and "graffiti" from new residents stay in Spanish (SMS, default Spanish)', async () => {
    const idea = new TestConversation(spanishCity(), smsAddress());
    expect(await idea.send('idea')).toContain('¿Cuál es tu idea?');
    expect(await conversation(spanishCity(), idea.address)).toMatchObject({ locale: 'es', localeSettled: false });
    // "graffiti" parses confidently only in English (0.74), yet Spanish writes it too.
    const graffiti = new TestConversation(spanishCity(), smsAddress());
    expect(await graffiti.send('graffiti')).toContain('¿Dónde está?');
    expect(await conversation(spanishCity(), graffiti.address)).toMatchObject({ locale: 'es' });
  });

  it('a word of one language still settles it: "hola" is Spanish, "thanks" English', async () => {
    const hola = new TestConversation(service(), smsAddress());
    expect(await hola.send('hola')).toContain('¿Qué quieres hacer?');
    expect(await conversation(service(), hola.address)).toMatchObject({ locale: 'es', localeSettled: true });
    const thanks = new TestConversation(spanishCity(), smsAddress());
    expect(await thanks.send('thanks')).toContain("You're welcome");
    expect(await conversation(spanishCity(), thanks.address)).toMatchObject({ locale: 'en', localeSettled: true });
  });
});

describe('a carrier keyword of one language is answered in that language', () => {
  it('"PARAR" as a new resident\'s first message opts out in Spanish and settles Spanish (SMS)', async () => {
    const chat = new TestConversation(service(), smsAddress());
    const reply = await chat.send('PARAR');
    expect(reply).toContain('Te diste de baja de los mensajes de Springfield');
    expect(await conversation(service(), chat.address)).toMatchObject({ locale: 'es', localeSettled: true });
    expect(await service().store.residents.get(chat.address)).toMatchObject({ locale: 'es', optedOut: true });
    // Coming back, in the same language.
    expect(await chat.send('COMENZAR')).toContain('¡Hola de nuevo!');
  });

  it('"STOP", a word of both lists, opts out in the city\'s language: English here, Spanish in a Spanish city', async () => {
    const english = new TestConversation(service(), smsAddress());
    expect(await english.send('STOP')).toContain("You're unsubscribed from Springfield messages");
    expect(await conversation(service(), english.address)).toMatchObject({ locale: 'en', localeSettled: false });
    const spanish = new TestConversation(spanishCity(), smsAddress());
    expect(await spanish.send('STOP')).toContain('Te diste de baja');
    expect((await spanishCity().store.residents.get(spanish.address))?.optedOut).toBe(true);
  });

  it('a resident who settled on English keeps English when they write PARAR (SMS)', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hi');
    expect(await chat.send('PARAR')).toContain("You're unsubscribed");
    expect(await conversation(service(), chat.address)).toMatchObject({ locale: 'en' });
  });
});
