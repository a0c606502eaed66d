/**
 * Transcripts of choosing a language and deleting one's data.
 */
import { describe, expect, it } from 'vitest';
import { referenceIn, smsAddress, useTestService, TestConversation } from '../support/harness.js';

const service = useTestService();

describe('language', () => {
  it('offers the languages by their own names when asked to change without naming one', async () => {
    const chat = new TestConversation(service(), smsAddress());
    const asked = await chat.send('can I change the language?');
    expect(asked).toContain('Which language?');
    expect(asked).toContain('Español');
    const switched = await chat.send('2');
    expect(switched).toMatch(/español/i);
    expect((await service().store.residents.get(chat.address))?.locale).toBe('es');
  });

  it('answers a one-word Spanish greeting in Spanish', async () => {
    const chat = new TestConversation(service(), smsAddress());
    const answer = await chat.send('hola');
    expect(answer).toContain('¡Hola!');
    expect(answer).toContain('¿Qué quieres hacer?');
    expect((await service().store.residents.get(chat.address))?.locale).toBe('es');
  });

  it('switches straight away when the language is named', async () => {
    const chat = new TestConversation(service(), smsAddress());
    expect(await chat.send('en español por favor')).toMatch(/español/i);
    expect(await chat.send('english')).toContain("I'll write in English");
  });
});

describe('delete my data', () => {
  it('says what goes and what stays, asks, and deletes', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('broken streetlight on Pine St, dark at night');
    await chat.send('skip');
    const ref = referenceIn(await chat.send('1'));
    const asked = await chat.send('delete my data');
    expect(asked).toContain('Your reports stay for the city');
    expect(await chat.send('no')).toContain('nothing was deleted');
    await chat.send('delete my data');
    expect(await chat.send('yes')).toContain('deleted');
    const report = await service().store.reports.get(ref);
    expect(report?.residentAddress).not.toBe(chat.address);
    const entries = await service().store.transcripts.find({ field: 'conversationId', equals: chat.address }, { limit: 100 });
    // Only the turn that confirmed the deletion is recorded after it.
    expect(entries.map((e) => e.text)).not.toContain('broken streetlight on Pine St, dark at night');
  });
});
