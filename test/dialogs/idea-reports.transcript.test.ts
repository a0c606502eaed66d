/**
 * Transcripts of reporting an idea (issue 21): "report I-…" / "reportar I-…" / "denunciar I-…"
 * by SMS (numbered reasons) and Telegram-style buttons, in English and Spanish; one report per
 * resident, never by the author; the third resident's report hides the idea, which then is not
 * listed, cannot be supported and cannot be reported again; and "report I-…" never supports it.
 */
import { describe, expect, it } from 'vitest';
import { newReference } from '../../src/domain/reference.js';
import type { OutboundMessage } from '../../src/channels/channel.js';
import { smsAddress, TestConversation, useTestService, WEB_LIKE } from '../support/harness.js';

const service = useTestService({ IDEA_REPORTS_TO_HIDE: '3' });
let telegramIds = 7_100_000;

/** An idea by someone else, submitted an hour ago. */
async function anIdea(title = 'Buy cheap watches at my shop'): Promise<{ ref: string; author: string }> {
  const ref = newReference('I');
  const author = smsAddress();
  await service().store.ideas.insert({
    _id: ref,
    title,
    details: 'Best prices in town',
    authorAddress: author,
    channel: 'sms',
    status: 'new',
    kind: 'idea',
    createdAt: new Date(Date.now() - 3_600_000),
    similarTerms: ['watch', 'shop'],
  });
  return { ref, author };
}

function telegramChat(): TestConversation {
  telegramIds += 1;
  return new TestConversation(service(), `telegram:${telegramIds}`, WEB_LIKE);
}

function buttonId(messages: OutboundMessage[], label: RegExp): string {
  const found = messages.flatMap((message) => message.buttons ?? []).find((button) => label.test(button.label));
  if (!found) throw new Error(`No button ${label} in ${JSON.stringify(messages)}`);
  return found.id;
}

describe('reporting an idea by SMS, in English', () => {
  it('asks why with numbered reasons, records one report per resident and thanks them; never supports it', async () => {
    const { ref } = await anIdea();
    const chat = new TestConversation(service(), smsAddress());
    const ask = await chat.send(`report ${ref}`);
    expect(ask).toBe(
      `Why are you reporting idea ${ref}?\n1. Spam or advertising\n2. Offensive or hateful\n3. Personal information\n4. Something else\nReply 1-4.`,
    );
    expect(await chat.send('1')).toBe(`Thanks for telling us. City staff will look at idea ${ref}.`);
    expect(await service().store.ideaReports.get(`${ref}|${chat.address}`)).toMatchObject({ ideaId: ref, reason: 'spam' });
    // "report" is not "support": nobody supports it, and it stays listed after one report.
    expect(await service().store.ideaSupports.count({ field: 'ideaId', equals: ref })).toBe(0);
    // Once each: a second time is told at once, without being asked why again.
    expect(await chat.send(`flag ${ref.toLowerCase().replace('-', '')}`)).toBe(`You already reported idea ${ref}. Thanks, staff will look at it.`);
    expect(await service().store.ideaReports.count({ field: 'ideaId', equals: ref })).toBe(1);
    const idea = await service().store.ideas.get(ref);
    expect(idea).toMatchObject({ reports: 1, moderationQueue: 'review' });
    expect(idea?.moderation).toBeUndefined();
  });

  it('does not let the author report their own idea, and a nonsense reason is asked again', async () => {
    const { ref, author } = await anIdea('More benches');
    const chat = new TestConversation(service(), author);
    expect(await chat.send(`report ${ref}`)).toBe(`${ref} is your own idea, so you cannot report it.`);
    expect(await service().store.ideaReports.count({ field: 'ideaId', equals: ref })).toBe(0);

    const other = new TestConversation(service(), smsAddress());
    await other.send(`report ${ref}`);
    expect(await other.send('hmm')).toContain('Please pick one of the options');
    expect(await other.send('3')).toContain('Thanks for telling us');
    expect(await service().store.ideaReports.get(`${ref}|${other.address}`)).toMatchObject({ reason: 'personal_info' });
  });
});

describe('reporting from the list of ideas', () => {
  it('offers "Report it" beside supporting the idea picked, by button and by number', async () => {
    const { ref } = await anIdea('Win a free phone now');
    const chat = telegramChat();
    const list = await chat.sendRaw('see ideas');
    const picked = await chat.sendRaw({ choice: buttonId(list, /^Win a free phone now/) });
    expect(picked.flatMap((m) => m.buttons ?? []).map((b) => b.label)).toEqual(['Yes, support it', 'Back to the ideas', 'Report it']);
    const reasons = await chat.sendRaw({ choice: buttonId(picked, /^Report it$/) });
    expect(reasons[0]?.text).toBe(`Why are you reporting idea ${ref}?`);
    expect(await chat.send({ choice: buttonId(reasons, /^Spam/) })).toBe(`Thanks for telling us. City staff will look at idea ${ref}.`);

    const sms = new TestConversation(service(), smsAddress());
    await sms.send('hola');
    const listed = await sms.send('ver ideas');
    const line = listed.split('\n').find((text) => text.includes('Win a free phone now'));
    const confirm = await sms.send(line!.split('.')[0]!);
    expect(confirm).toContain('3. Denunciarla');
    expect(await sms.send('3')).toContain(`¿Por qué denuncias la idea ${ref}?`);
    expect(await sms.send('2')).toContain('Gracias por avisarnos');
    expect(await service().store.ideaReports.count({ field: 'ideaId', equals: ref })).toBe(2);
    expect(await service().store.ideaSupports.count({ field: 'ideaId', equals: ref })).toBe(0);
  });
});

describe('three residents report an idea: SMS in Spanish, Telegram buttons in both languages', () => {
  it('hides it after the third report: not listed, not supported, not reported again', async () => {
    const { ref } = await anIdea('Compra relojes baratos en mi tienda');

    // 1: SMS, Spanish, "denunciar", something else in their own words.
    const sms = new TestConversation(service(), smsAddress());
    await sms.send('hola');
    const ask = await sms.send(`denunciar ${ref}`);
    expect(ask).toContain(`¿Por qué denuncias la idea ${ref}?`);
    expect(ask).toContain('4. Otra cosa');
    expect(await sms.send('4')).toBe('En pocas palabras, ¿qué tiene de malo?');
    expect(await sms.send('Es publicidad de una <b>tienda</b>')).toBe(`Gracias por avisarnos. El personal de la ciudad revisará la idea ${ref}.`);
    expect(await service().store.ideaReports.get(`${ref}|${sms.address}`)).toMatchObject({ reason: 'other', text: 'Es publicidad de una <b>tienda</b>' });

    // 2: Telegram, Spanish, "reportar", a button.
    const es = telegramChat();
    await es.send('hola');
    const buttons = await es.sendRaw(`reportar ${ref}`);
    expect(buttons.flatMap((m) => m.buttons ?? []).map((b) => b.label)).toEqual(['Spam o publicidad', 'Ofensiva o de odio', 'Datos personales', 'Otra cosa']);
    expect(await es.send({ choice: buttonId(buttons, /^Spam/) })).toContain('Gracias por avisarnos');
    expect((await service().store.ideas.get(ref))?.moderation).toBeUndefined();

    // 3: Telegram, English, a button: the third distinct resident hides it.
    const en = telegramChat();
    const asked = await en.sendRaw(`report ${ref}`);
    expect(await en.send({ choice: buttonId(asked, /^Offensive/) })).toContain('Thanks for telling us');
    const hidden = await service().store.ideas.get(ref);
    expect(hidden).toMatchObject({ reports: 3, moderationQueue: 'review', moderation: { state: 'hidden', reason: 'reports', by: 'system' } });
    // Offered to nobody as a similar idea any more.
    expect(hidden?.similarTerms).toBeUndefined();

    // Hidden: not in anyone's list, and support says it is not available, in their language.
    const other = new TestConversation(service(), smsAddress());
    expect(await other.send('see ideas')).not.toContain(ref);
    expect(await other.send(`support ${ref}`)).toBe(`Idea ${ref} is not available any more.`);
    expect(await sms.send(`apoyar ${ref}`)).toBe(`La idea ${ref} ya no está disponible.`);
    expect(await service().store.ideaSupports.count({ field: 'ideaId', equals: ref })).toBe(0);
    // Nor reported again (there is nothing a resident can see to report).
    expect(await other.send(`report ${ref}`)).toBe(`I couldn't find idea ${ref}. Check the reference and try again.`);
    expect(await service().store.ideaReports.count({ field: 'ideaId', equals: ref })).toBe(3);
  });
});
