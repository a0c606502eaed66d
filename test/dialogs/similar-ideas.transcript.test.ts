/**
 * "Similar ideas?" (issue 21) as residents meet it: after the one-line idea, the closest ideas
 * already made are offered to support instead; "file mine" goes on as before. On SMS (numbers)
 * and Telegram (buttons), in English and Spanish.
 */
import { describe, expect, it } from 'vitest';
import { referenceIn, smsAddress, TestConversation, useTestService, WEB_LIKE } from '../support/harness.js';

const service = useTestService();
let telegramIds = 8100;
const telegram = () => new TestConversation(service(), `telegram:${telegramIds++}`, WEB_LIKE);

/** Files an idea through the dialog, as a resident would; returns its reference. */
async function fileIdea(
  chat: TestConversation,
  title: string,
  details: string,
  words: { open: string; skip: string; yes: string; file: string },
): Promise<string> {
  await chat.send(words.open);
  const afterTitle = await chat.send(title);
  // A first idea on a subject goes straight on; a later one may be offered the earlier ones.
  if (!/[?¿]\s*$/.test(afterTitle) || /suggested|propuso|parecidas|like yours/.test(afterTitle)) await chat.send(words.file);
  await chat.send(details);
  await chat.send(words.skip);
  return referenceIn(await chat.send(words.yes), 'I');
}

const EN = { open: 'I have an idea for the city', skip: 'skip', yes: 'yes', file: 'file mine' };
const ES = { open: 'tengo una idea para la ciudad', skip: 'omitir', yes: 'sí', file: 'enviar la mía' };

describe('similar ideas first', () => {
  it('on SMS in English: offered the similar idea with its supporters, "1" supports it instead of filing', async () => {
    const author = new TestConversation(service(), smsAddress());
    const ref = await fileIdea(author, 'More bike racks downtown', 'Nowhere to lock a bike near the shops', EN);
    expect((await service().store.ideas.get(ref))?.similarTerms).toEqual(expect.arrayContaining(['bike', 'rack', 'downtown']));

    const chat = new TestConversation(service(), smsAddress());
    await chat.send('I have an idea');
    const offer = await chat.send('we need bike racks downtown');
    expect(offer).toContain(`Someone already suggested something like this: ${ref} "More bike racks downtown" (0 supporters)`);
    expect(offer).toMatch(/1\. Support .*\n2\. File mine/);
    expect(await chat.send('1')).toContain(`Your support was added to ${ref} "More bike racks downtown"`);
    expect(await service().store.ideaSupports.count({ field: 'ideaId', equals: ref })).toBe(1);
    expect(await service().store.ideas.count({ field: 'authorAddress', equals: chat.address })).toBe(0);

    // The author is offered their own idea: supporting it says it is theirs.
    await author.send('I have an idea');
    await author.send('bike racks downtown please');
    expect(await author.send('1')).toContain('is your own idea');
  });

  it('"file mine" (or "no") goes on to the details, and nothing similar asks for the details at once', async () => {
    const other = new TestConversation(service(), smsAddress());
    const ref = await fileIdea(other, 'Shade trees in Riverside Park', 'The playground is too hot', EN);
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('I have an idea');
    expect(await chat.send('more shade trees at riverside park')).toContain(ref);
    expect(await chat.send('no')).toContain('Tell us more');
    await chat.send('Kids need shade in summer');
    await chat.send('skip');
    const mine = referenceIn(await chat.send('yes'), 'I');
    expect(mine).not.toBe(ref);

    const fresh = new TestConversation(service(), smsAddress());
    await fresh.send('I have an idea');
    expect(await fresh.send('A pickleball court by the lake')).toContain('Tell us more');
  });

  it("on Telegram in Spanish: buttons for the similar idea and for filing one's own", async () => {
    const author = telegram();
    await author.send('español');
    const ref = await fileIdea(author, 'Bancas en las paradas de autobús', 'La gente mayor no tiene dónde sentarse', ES);
    const chat = telegram();
    await chat.send('español');
    await chat.send('tengo una idea');
    const [offer] = await chat.sendRaw('bancas en la parada del autobus');
    expect(offer?.text).toContain(`Alguien ya propuso algo parecido: ${ref} "Bancas en las paradas de autobús" (0 apoyos)`);
    expect(offer?.buttons?.map((b) => b.label)).toEqual([`Apoyar ${ref} "Bancas en las paradas de autobús" (0 apoyos)`, 'Enviar la mía']);
    expect(await chat.send({ choice: 'file' })).toMatch(/Cuéntanos|cuéntanos/);

    const supporter = telegram();
    await supporter.send('español');
    await supporter.send('tengo una idea');
    await supporter.send('más bancas en paradas de autobús');
    expect(await supporter.send({ choice: ref })).toContain(`Sumamos tu apoyo a ${ref}`);
    expect(await service().store.ideaSupports.count({ field: 'ideaId', equals: ref })).toBe(1);
  });
});
