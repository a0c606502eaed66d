/**
 * Votes by text (issue 21) end to end: staff make and open a ballot; residents ask for it in
 * English and Spanish, on SMS (numbered Yes / No) and Telegram (buttons), vote with numbers, are
 * refused with the reason when the picks break the rule, change their vote, and hear that it has
 * closed (and, once published, the result). A ballot sent by broadcast (the fake Twilio and the
 * fake Telegram Bot API) is voted in by replying with numbers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelCapabilities } from '../../src/channels/channel.js';
import type { BallotRecord } from '../../src/domain/records.js';
import type { FollowUp } from '../../src/engine/types.js';
import type { Service } from '../../src/service.js';
import { closeBallot, createBallot, openBallot, publishResults, sendBallot, type BallotInput } from '../../src/staff/ballot-desk.js';
import { broadcastProgress } from '../../src/staff/broadcasts.js';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { smsAddress, startTestService, TestConversation } from '../support/harness.js';
import { withProviderFakes } from '../support/http.js';
import { startFakeTwilio, type FakeTwilio } from '../support/twilio.js';

const TELEGRAM_LIKE: ChannelCapabilities = { buttons: true, maxButtons: 8, maxTextLength: 4096, media: true, location: true };
const STAFF = { username: 'ana', role: 'coordinator' } as const;
const HOUR = 3_600_000;

let twilio: FakeTwilio;
let telegram: FakeTelegram;
let started: Awaited<ReturnType<typeof startTestService>>;
const service = (): Service => started.service;
let telegramIds = 7_100_000;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  telegram = await startFakeTelegram();
  const { env, overrides } = withProviderFakes({ twilio, telegram }, { QUIET_HOURS: 'off', CITY_TIMEZONE: 'America/Chicago' });
  started = await startTestService(env, overrides);
});
afterAll(async () => {
  await started.close();
  await twilio.close();
  await telegram.close();
});

/** A budget ballot: $500,000 for three projects (the first two together fit, all three do not). */
function budgetBallot(): BallotInput {
  return {
    title: { en: 'Parks budget', es: 'Presupuesto de parques' },
    question: { en: 'Which projects should the city fund?', es: '¿Qué proyectos debe financiar la ciudad?' },
    projects: [
      { title: { en: 'Park benches', es: 'Bancos del parque' }, cost: 100_000 },
      { title: { en: 'Shade trees', es: 'Árboles de sombra' }, cost: 300_000 },
      { title: { en: 'Splash pad', es: 'Fuente de juegos' }, cost: 250_000 },
    ],
    rule: 'budget',
    budget: 500_000,
    opensAt: new Date(Date.now() - HOUR),
    closesAt: new Date(Date.now() + 48 * HOUR),
  };
}

/** A pick-up-to-2 ballot of four library projects. */
function pickBallot(): BallotInput {
  return {
    title: { en: 'Library hours', es: 'Horario de la biblioteca' },
    question: { en: 'What should the library add?', es: '¿Qué debe agregar la biblioteca?' },
    projects: [
      { title: { en: 'Sunday hours', es: 'Abrir domingos' }, cost: 40_000 },
      { title: { en: 'Homework help', es: 'Ayuda con tareas' }, cost: 30_000 },
      { title: { en: 'Laptop lending', es: 'Préstamo de portátiles' }, cost: 60_000 },
      { title: { en: 'Story time', es: 'Hora del cuento' }, cost: 10_000 },
    ],
    rule: 'pick_up_to',
    maxPicks: 2,
    opensAt: new Date(Date.now() - HOUR),
    closesAt: new Date(Date.now() + 48 * HOUR),
  };
}

async function openOne(input: BallotInput): Promise<BallotRecord> {
  const draft = await createBallot(service().store, input, STAFF, 'en');
  return openBallot(service().store, draft._id, STAFF);
}

/** Closes every open ballot, so each test starts with only its own open. */
async function closeAll(): Promise<void> {
  for (const ballot of await service().store.ballots.find({ field: 'status', equals: 'open' })) await closeBallot(service().store, ballot._id, STAFF);
}

function sms(): TestConversation {
  return new TestConversation(service(), smsAddress(), undefined, new Date());
}

function onTelegram(): TestConversation {
  telegramIds += 1;
  return new TestConversation(service(), `telegram:${telegramIds}`, TELEGRAM_LIKE, new Date());
}

/** The messages the fake Telegram was asked to send to a chat. */
function telegramTo(address: string): string[] {
  const chatId = Number(address.slice('telegram:'.length));
  return telegram
    .callsOf('sendMessage')
    .filter((call) => call.payload.chat_id === chatId)
    .map((call) => String(call.payload.text));
}

/** What the fake Twilio was asked to send to an SMS address. */
function smsTo(address: string): string[] {
  return twilio.requests.filter((r) => r.form.To === address.slice('sms:'.length)).map((r) => r.form.Body ?? '');
}

/** A resident who opted in to messages from the city, on SMS or Telegram. */
async function optedIn(address: string, locale: string): Promise<void> {
  const now = new Date();
  const channel = address.startsWith('telegram:') ? 'telegram' : 'sms';
  await service().store.residents.insert({
    _id: address,
    address,
    channel,
    locale,
    optedOut: false,
    volunteerCalls: true,
    interests: [],
    createdAt: now,
    lastSeenAt: now,
  });
}

async function finished(broadcastId: string): Promise<void> {
  service().broadcasts.start();
  service().broadcasts.kick();
  const deadline = Date.now() + 20_000;
  while ((await broadcastProgress(service().store, broadcastId))?.status !== 'done') {
    if (Date.now() > deadline) throw new Error('the broadcast did not finish');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('voting by text', () => {
  it('SMS, English: shows the ballot, refuses picks over the budget saying why, reads back, records', async () => {
    await closeAll();
    const ballot = await openOne(budgetBallot());
    const chat = sms();
    const shown = await chat.send('vote');
    expect(shown).toMatch(
      /^Parks budget\nWhich projects should the city fund\?\n1\. Park benches \(\$100,000\)\n2\. Shade trees \(\$300,000\)\n3\. Splash pad \(\$250,000\)\nPick projects that fit within \$500,000 in total: reply with their numbers, like 1 3\.\nVoting closes [A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2} [AP]M\.$/,
    );
    expect(await chat.send('1, 2 and 3')).toMatch(
      /^Those projects cost \$650,000 together, over the \$500,000 budget\. Pick fewer or cheaper ones\.\nParks budget\n/,
    );
    expect(await chat.send('9')).toMatch(/^There is no project 9: the projects are numbered 1 to 3\./);
    expect(await chat.send('1 and 2')).toBe(
      'You picked:\n1. Park benches ($100,000)\n2. Shade trees ($300,000)\nTotal $400,000 of $500,000. Record this vote?\n1. Yes\n2. No\nReply 1-2.',
    );
    expect(await chat.send('1')).toMatch(/^Thank you! Your vote in "Parks budget" is recorded\. You can change it until .+: write VOTE\.$/);
    expect(await service().store.ballotVotes.get(`${ballot._id}|${chat.address}`)).toMatchObject({
      picks: ['p1', 'p2'],
      channel: 'sms',
      locale: 'en',
      changes: 0,
    });

    // Voting again shows the current vote and replaces it; "no" at the read-back records nothing.
    expect(await chat.send('vote')).toContain('Your vote now: Park benches, Shade trees. Reply with numbers to change it.');
    expect(await chat.send('3')).toBe(
      'This replaces your vote (Park benches, Shade trees).\nYou picked:\n3. Splash pad ($250,000)\nTotal $250,000 of $500,000. Record this vote?\n1. Yes\n2. No\nReply 1-2.',
    );
    expect(await chat.send('no')).toMatch(/^Not recorded\. Pick again:\n\nParks budget\n/);
    expect(await chat.send('1 3')).toContain('Total $350,000 of $500,000.');
    expect(await chat.send('yes')).toMatch(/^Done: your vote in "Parks budget" is changed\./);
    expect(await service().store.ballotVotes.get(`${ballot._id}|${chat.address}`)).toMatchObject({ picks: ['p1', 'p3'], changes: 1 });
    expect(await service().store.ballotVotes.count({ field: 'ballotId', equals: ballot._id })).toBe(1);
  });

  it('Telegram, Spanish: asks which of two open ballots, refuses too many picks, records "1 y 3", then changes it', async () => {
    await closeAll();
    const budget = await openOne(budgetBallot());
    const library = await openOne(pickBallot());
    const chat = onTelegram();
    const which = await chat.sendRaw('votar');
    expect(which[0]?.text).toBe('Hay varias votaciones abiertas. ¿Cuál?');
    expect(which[0]?.buttons?.map((choice) => choice.label).sort()).toEqual(['Horario de la biblioteca', 'Presupuesto de parques']);
    const shown = await chat.send({ choice: library._id, text: 'Horario de la biblioteca' });
    expect(shown).toMatch(
      /^Horario de la biblioteca\n¿Qué debe agregar la biblioteca\?\n1\. Abrir domingos \(\$40\.000\)\n2\. Ayuda con tareas \(\$30\.000\)\n3\. Préstamo de portátiles \(\$60\.000\)\n4\. Hora del cuento \(\$10\.000\)\nResponde con hasta 2 números, por ejemplo 1 3\.\nLa votación cierra el /,
    );
    expect(await chat.send('1 2 3')).toMatch(/^Son 3 proyectos: puedes elegir hasta 2\.\nHorario de la biblioteca\n/);
    const confirm = await chat.sendRaw('1 y 3');
    expect(confirm[0]?.text).toBe('Elegiste:\n1. Abrir domingos ($40.000)\n3. Préstamo de portátiles ($60.000)\n¿Registro este voto?');
    expect(confirm[0]?.buttons?.map((choice) => choice.label)).toEqual(['Sí', 'No']);
    expect(await chat.send({ choice: 'yes', text: 'Sí' })).toMatch(/^¡Gracias! Tu voto en "Horario de la biblioteca" quedó registrado\./);

    expect(await chat.send('votar')).toBe('Hay varias votaciones abiertas. ¿Cuál?');
    expect(await chat.send({ choice: library._id, text: 'Horario de la biblioteca' })).toContain('Tu voto ahora: Abrir domingos, Préstamo de portátiles.');
    expect(await chat.send('2, 4')).toBe(
      'Esto reemplaza tu voto (Abrir domingos, Préstamo de portátiles).\nElegiste:\n2. Ayuda con tareas ($30.000)\n4. Hora del cuento ($10.000)\n¿Registro este voto?',
    );
    expect(await chat.send({ choice: 'yes', text: 'Sí' })).toMatch(/^Listo: cambiamos tu voto en "Horario de la biblioteca"\./);
    expect(await service().store.ballotVotes.get(`${library._id}|${chat.address}`)).toMatchObject({
      picks: ['p2', 'p4'],
      channel: 'telegram',
      locale: 'es',
      changes: 1,
    });
    expect(await service().store.ballotVotes.get(`${budget._id}|${chat.address}`)).toBeNull();
  });

  it('says the vote has closed, then the result once published (SMS English, Telegram Spanish)', async () => {
    await closeAll();
    const ballot = await openOne(budgetBallot());
    const en = sms();
    await en.send('vote');
    await en.send('3');
    await en.send('yes');
    const es = onTelegram();
    await es.send('votar');
    await es.send('1 2');
    await es.send({ choice: 'yes', text: 'Sí' });

    await closeBallot(service().store, ballot._id, STAFF);
    expect(await en.send('vote')).toBe('The vote "Parks budget" has closed. The result will be announced soon.');
    expect(await es.send('votar')).toBe('La votación "Presupuesto de parques" ya cerró. Pronto anunciaremos el resultado.');

    const { broadcast } = await publishResults(service(), ballot._id, STAFF);
    // One vote each: ties go to the cheaper project, so the benches ($100,000) and the splash pad
    // ($250,000) are funded, and the shade trees ($300,000) no longer fit the $150,000 left.
    expect(await en.send('vote')).toBe(
      'The vote "Parks budget" has closed. Result (2 voters):\nPark benches: 1 vote, funded\nShade trees: 1 vote\nSplash pad: 1 vote, funded',
    );
    expect(await es.send('votar')).toBe(
      'La votación "Presupuesto de parques" ya cerró. Resultado (2 votantes):\nBancos del parque: 1 voto, financiado\nÁrboles de sombra: 1 voto\nFuente de juegos: 1 voto, financiado',
    );
    // Every voter is told once, in their language, through the broadcast engine.
    await finished(broadcast._id);
    expect(smsTo(en.address)).toEqual([expect.stringContaining('Result (2 voters):\nPark benches: 1 vote, funded')]);
    expect(telegramTo(es.address)).toEqual([expect.stringContaining('Resultado (2 votantes):\nBancos del parque: 1 voto, financiado')]);
  });

  it('a reply with numbers to the ballot broadcast votes (SMS English; Telegram Spanish after an over-budget reply)', async () => {
    await closeAll();
    const ballot = await openOne(budgetBallot());
    const enAddress = smsAddress();
    telegramIds += 1;
    const esAddress = `telegram:${telegramIds}`;
    const askerAddress = smsAddress();
    await optedIn(enAddress, 'en');
    await optedIn(esAddress, 'es');
    await optedIn(askerAddress, 'en');
    const { broadcast } = await sendBallot(service(), ballot._id, {}, STAFF);
    await finished(broadcast._id);
    expect(smsTo(enAddress)[0]).toContain('Parks budget\nWhich projects should the city fund?\n1. Park benches ($100,000)');
    expect(telegramTo(esAddress)[0]).toContain('Presupuesto de parques\n¿Qué proyectos debe financiar la ciudad?\n1. Bancos del parque ($100.000)');

    const en = new TestConversation(service(), enAddress, undefined, new Date(Date.now() + 1000));
    expect(await en.send('1 3')).toBe(
      'You picked:\n1. Park benches ($100,000)\n3. Splash pad ($250,000)\nTotal $350,000 of $500,000. Record this vote?\n1. Yes\n2. No\nReply 1-2.',
    );
    expect(await en.send('1')).toMatch(/^Thank you! Your vote in "Parks budget" is recorded\./);

    const es = new TestConversation(service(), esAddress, TELEGRAM_LIKE, new Date(Date.now() + 1000));
    expect(await es.send('2 y 3')).toMatch(
      /^Esos proyectos cuestan \$550\.000 en total, más que el presupuesto de \$500\.000\. Elige menos o más baratos\.\nPresupuesto de parques\n/,
    );
    expect(await es.send('1 y 2')).toContain('Total $400.000 de $500.000. ¿Registro este voto?');
    expect(await es.send({ choice: 'yes', text: 'Sí' })).toMatch(/^¡Gracias! Tu voto en "Presupuesto de parques" quedó registrado\./);

    // A later reply of numbers shows the vote it would replace; words are no vote.
    expect(await en.send('3')).toContain('This replaces your vote (Park benches, Splash pad).');
    expect(await en.send('no')).toMatch(/^Not recorded\. Pick again:/);
    expect(await en.send('menu')).not.toContain('Not recorded');

    // A question in words to the ballot reaches a person, as a reply to any broadcast does.
    const asker = new TestConversation(service(), askerAddress, undefined, new Date(Date.now() + 1000));
    expect(await asker.send('who decides which projects are on the list?')).toBe(
      "Thanks, I've passed your message to the Springfield team that sent the message, and a person will answer you here. Until they do, everything you write goes to them. Reply MENU to go back to the bot.",
    );
    const [handoff] = await service().store.handoffs.find({ field: 'address', equals: askerAddress });
    expect(handoff).toMatchObject({ reason: 'broadcast_reply', about: broadcast._id });

    const votes = await service().store.ballotVotes.find({ field: 'ballotId', equals: ballot._id });
    expect(votes.map((vote) => [vote.channel, vote.locale, vote.picks])).toEqual(
      expect.arrayContaining([
        ['sms', 'en', ['p1', 'p3']],
        ['telegram', 'es', ['p1', 'p2']],
      ]),
    );
  });

  it('numbers for the ballot are its vote when a volunteer call, "is it fixed?" or a check-in is live too (only a lone 1 / 2 is theirs)', async () => {
    await closeAll();
    const ballot = await openOne(budgetBallot());
    const sent = Date.now();
    // Each resident got the ballot and one of the yes / no questions that rank above it, neither answered yet.
    const others: FollowUp[] = [
      { kind: 'volunteer_call', ref: 'V-DEM4F', broadcastId: 'B-CALL2', sentAt: sent - 60_000, until: sent + 72 * HOUR },
      { kind: 'fix_survey', ref: 'R-7K3QX', category: 'pothole', sentAt: sent - 60_000, until: sent + 72 * HOUR },
      { kind: 'shift_checkin', ref: 'S-7K3QX', sentAt: sent + 60_000, until: sent + 72 * HOUR },
    ];
    for (const other of others) {
      for (const reply of ['1 3', '3']) {
        const chat = new TestConversation(service(), smsAddress(), undefined, new Date(sent + 5 * 60_000));
        await optedIn(chat.address, 'en');
        for (const followUp of [other, { kind: 'ballot' as const, ref: ballot._id, broadcastId: 'B-BALL0', sentAt: sent, until: sent + 48 * HOUR }]) {
          await service().pipeline.recordProactive(chat.address, 'sms', [{ kind: 'text', text: 'From the city' }], {
            key: `ballot-seam|${followUp.kind}|${chat.address}`,
            locale: 'en',
            at: new Date(followUp.sentAt),
            followUp,
          });
        }
        const answer = await chat.send(reply);
        expect(answer, `${reply} with a live ${other.kind}`).toMatch(/^(You picked:|This replaces)/);
        expect(await service().store.handoffs.find({ field: 'address', equals: chat.address })).toEqual([]);
      }
    }
  });

  it("a ballot that reaches a resident in the middle of a flow takes no vote from it: the number is the flow's; after it, numbers vote", async () => {
    await closeAll();
    const ballot = await openOne(budgetBallot());
    const chat = sms();
    await optedIn(chat.address, 'en');
    const list = await chat.send('volunteer');
    expect(list).toMatch(/1\. /);
    const sent = Date.now();
    await service().pipeline.recordProactive(chat.address, 'sms', [{ kind: 'text', text: 'Vote now' }], {
      key: `ballot-midflow|${chat.address}`,
      locale: 'en',
      at: new Date(sent),
      followUp: { kind: 'ballot', ref: ballot._id, broadcastId: 'B-BALL9', sentAt: sent, until: sent + 48 * HOUR },
    });
    // "2" is the role list's pick, not a vote for project 2.
    expect(await chat.send('2')).not.toMatch(/^(You picked:|This replaces)/);
    expect(await service().store.ballotVotes.get(`${ballot._id}|${chat.address}`)).toBeNull();
    // Out of the flow (and of the menu), numbers are a vote again, within the window.
    await chat.send('exit');
    expect(await chat.send('1 3')).toMatch(/^(You picked:|This replaces)/);
  });

  it('a ballot sent before its window opens goes out when it opens, not before (a reply then heard "the vote has closed")', async () => {
    await closeAll();
    const opensAt = new Date(Date.now() + 3 * HOUR);
    const ballot = await openOne({ ...budgetBallot(), opensAt, closesAt: new Date(opensAt.getTime() + 48 * HOUR) });
    const address = smsAddress();
    await optedIn(address, 'en');
    const { broadcast } = await sendBallot(service(), ballot._id, {}, STAFF);
    expect(broadcast.sendAt.getTime()).toBe(opensAt.getTime());
    // A reply of numbers counts for the whole window, from when it is sent.
    expect(broadcast.answerWindowHours).toBe(48);
    expect(broadcast.status).toBe('scheduled');
  });
});
