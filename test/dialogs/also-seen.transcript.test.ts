/**
 * Issue 17, "Also seen, fix on the way": what residents ran into besides the main sections, each
 * in English and Spanish. A word both languages use ("idea") does not switch the language.
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
