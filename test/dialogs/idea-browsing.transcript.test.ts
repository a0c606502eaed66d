/**
 * Browsing ideas by text (issue 21), in a city with ten ideas: "see ideas" / "ver ideas" lists
 * the newest, "popular ideas" / "ideas populares" the most supported, "ideas in Riverside" /
 * "ideas en Riverside" one neighbourhood's (without case or accents); each list pages with
 * "more" / "más", each SMS page within two segments; a number shows an idea and offers to
 * support it, and "support 2" / "apoyo 2" / "apoyar la 2" supports the second idea of the page
 * just shown. SMS and Telegram (their real capabilities), en and es.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldToGsm7, smsSegments } from '../../src/channels/sms/gsm7.js';
import { TELEGRAM_CAPABILITIES } from '../../src/channels/telegram/telegram.channel.js';
import { SMS_CAPABILITIES } from '../../src/channels/sms/sms.channel.js';
import type { OutboundMessage } from '../../src/channels/channel.js';
import type { Service } from '../../src/service.js';
import { startTestService, TestConversation } from '../support/harness.js';

let started: Awaited<ReturnType<typeof startTestService>>;
const service = (): Service => started.service;

/** The ten ideas, oldest first: title, neighbourhood, supporters. */
const IDEAS: { title: string; neighbourhood?: string; supporters: number }[] = [
  { title: 'More bike racks downtown near the library', neighbourhood: 'Downtown', supporters: 41 },
  { title: 'Dog park by the river', neighbourhood: 'Riverside', supporters: 12 },
  { title: 'Free Wi-Fi in the plaza', neighbourhood: 'Río Grande', supporters: 3 },
  { title: 'Benches at bus stops', supporters: 30 },
  { title: 'Night market on Fridays', neighbourhood: 'Riverside', supporters: 0 },
  { title: 'Shade trees on Main Street', neighbourhood: 'Downtown', supporters: 7 },
  { title: 'Public toilets in the park', neighbourhood: 'Riverside', supporters: 22 },
  { title: 'Crosswalk at the school', neighbourhood: 'Eastside', supporters: 5 },
  { title: 'Community fridge', neighbourhood: 'Río Grande', supporters: 1 },
  { title: 'Skate park lights', neighbourhood: 'Riverside', supporters: 9 },
];
/** Idea references by title. */
const refs = new Map<string, string>();
const START = new Date('2026-11-20T15:00:00Z');

beforeAll(async () => {
  started = await startTestService({ SEED_DEMO_DATA: 'false', QUIET_HOURS: 'off', IDEA_SUPPORT_THRESHOLD: '0' });
  for (const [i, idea] of IDEAS.entries()) {
    const ref = `I-${'ABCDEFGHJK'[i]}2345`;
    refs.set(idea.title, ref);
    await service().store.ideas.insert({
      _id: ref,
      title: idea.title,
      details: `Details of ${idea.title}.`,
      ...(idea.neighbourhood ? { neighbourhood: idea.neighbourhood } : {}),
      authorAddress: `sms:+1217888${String(i).padStart(4, '0')}`,
      channel: 'sms',
      status: 'new',
      kind: 'idea',
      createdAt: new Date(START.getTime() - (IDEAS.length - i) * 86_400_000),
      supporters: idea.supporters,
    });
    // Real supports behind each count: a support recounts them.
    for (let n = 0; n < idea.supporters; n++) {
      const address = `sms:+1217777${String(i * 100 + n).padStart(4, '0')}`;
      await service().store.ideaSupports.insert({ _id: `${ref}|${address}`, ideaId: ref, address, at: START });
    }
  }
});
afterAll(async () => {
  await started.close();
});

let nextNumber = 0;
function smsResident(): TestConversation {
  nextNumber += 1;
  return new TestConversation(service(), `sms:+1217556${String(nextNumber).padStart(4, '0')}`, SMS_CAPABILITIES, START);
}
function telegramResident(): TestConversation {
  nextNumber += 1;
  return new TestConversation(service(), `telegram:${770_000 + nextNumber}`, TELEGRAM_CAPABILITIES, START);
}

/** What the reply costs by SMS, as the SMS channel sends it (folded to GSM-7, one body); logged for the README. */
function segments(reply: string): number {
  const { segments, encoding } = smsSegments(foldToGsm7(reply));
  console.info(`SMS page "${reply.split('\n')[0]}": ${foldToGsm7(reply).length} characters, ${segments} segments, ${encoding}`);
  return segments;
}

/** The numbered lines of an SMS list. */
function lines(reply: string): string[] {
  return [...reply.matchAll(/^\d+\. (.+)$/gm)].map((match) => match[1]!);
}

function buttons(messages: OutboundMessage[]): string[] {
  return messages.flatMap((message) => (message.buttons ?? []).map((button) => button.label));
}
function buttonId(messages: OutboundMessage[], label: RegExp): string {
  const found = messages.flatMap((message) => message.buttons ?? []).find((button) => label.test(button.label));
  if (!found) throw new Error(`No button ${label} in ${JSON.stringify(buttons(messages))}`);
  return found.id;
}

async function supports(ref: string, address: string): Promise<boolean> {
  return (await service().store.ideaSupports.get(`${ref}|${address}`)) !== null;
}

describe('ideas by SMS, in English', () => {
  it('lists the newest, pages with "more", and "support 2" supports the second of the page shown', async () => {
    const chat = smsResident();
    const first = await chat.send('see ideas');
    expect(first).toContain(`Newest ideas 1-4 of 10. A number shows one; "support 2" backs this page's no. 2:`);
    expect(lines(first)).toEqual([
      'Skate park lights (9)',
      'Community fridge (1)',
      'Crosswalk at the school (5)',
      'Public toilets in the park (22)',
      'More',
      'Share my own idea',
    ]);
    const second = await chat.send('more');
    expect(second).toContain('Newest ideas 5-8 of 10.');
    expect(lines(second).slice(0, 4)).toEqual([
      'Shade trees on Main Street (7)',
      'Night market on Fridays (0)',
      'Benches at bus stops (30)',
      'Free Wi-Fi in the plaza (3)',
    ]);
    const third = await chat.send('more');
    expect(third).toContain('Newest ideas 9-10 of 10.');
    // A long title is cut on SMS (the idea's page shows it whole).
    expect(lines(third)).toEqual(['Dog park by the river (12)', 'More bike racks downtown… (41)', 'Share my own idea']);
    for (const page of [first, second, third]) expect(segments(page), page).toBeLessThanOrEqual(2);
    // "more" past the end: the first page again, and the heading says so.
    const again = await chat.send('more');
    expect(again).toContain('That was all 10. Newest ideas again, 1-4; numbers are this page');
    await chat.send('more');
    // The number is the position on the page shown: the second of 5-8 is "Night market on Fridays".
    expect(await chat.send('support 2')).toContain(`Thanks, your support for ${refs.get('Night market on Fridays')} is counted!`);
    expect(await supports(refs.get('Night market on Fridays')!, chat.address)).toBe(true);
    expect((await service().store.ideas.get(refs.get('Night market on Fridays')!))?.supporters).toBe(1);
  });

  it('shows an idea for its number and supports it on "yes"; a number not on the page is retried', async () => {
    const chat = smsResident();
    await chat.send('show me the ideas');
    expect(await chat.send('support 7')).toContain('Reply a number to see an idea, "support 2" to support the 2nd on this page, or "more".');
    const detail = await chat.send('3');
    expect(detail).toContain(`${refs.get('Crosswalk at the school')} "Crosswalk at the school": 5 supporters, new.`);
    expect(detail).toContain('Details of Crosswalk at the school.');
    expect(detail).toContain('For: Eastside');
    expect(detail).toContain('Support it?');
    expect(await chat.send('1')).toContain(`support for ${refs.get('Crosswalk at the school')} is counted`);
    // Supporting again is counted once.
    await chat.send('see ideas');
    expect(await chat.send('support 3')).toContain('You already support');
    expect((await service().store.ideas.get(refs.get('Crosswalk at the school')!))?.supporters).toBe(6);
  });

  it('lists the most supported first for "popular ideas"', async () => {
    const chat = smsResident();
    const popular = await chat.send('popular ideas');
    expect(popular).toContain('Most supported ideas 1-4 of 10.');
    expect(lines(popular).slice(0, 4)).toEqual([
      'More bike racks downtown… (41)',
      'Benches at bus stops (30)',
      'Public toilets in the park (22)',
      'Dog park by the river (12)',
    ]);
    expect(segments(popular)).toBeLessThanOrEqual(2);
    expect(await chat.send('support 1')).toContain(`support for ${refs.get('More bike racks downtown near the library')} is counted`);
  });

  it('lists one neighbourhood for "ideas in riverside", in any case; an unknown one offers all ideas', async () => {
    const chat = smsResident();
    const riverside = await chat.send('ideas in riverside');
    expect(riverside).toContain('Ideas in Riverside: 4.');
    expect(lines(riverside).slice(0, 4)).toEqual([
      'Skate park lights (9)',
      'Public toilets in the park (22)',
      // Supported in an earlier test, or not.
      expect.stringMatching(/^Night market on Fridays \([01]\)$/),
      'Dog park by the river (12)',
    ]);
    // Another list from the list: the most supported of the same place.
    const popular = await chat.send('popular ideas in Riverside');
    expect(popular).toContain('Most supported ideas in Riverside: 4.');
    expect(lines(popular)[0]).toBe('Public toilets in the park (22)');

    const nowhere = smsResident();
    const none = await nowhere.send('ideas in Hillcrest');
    expect(none).toContain('No ideas for hillcrest yet.');
    expect(await nowhere.send('All ideas')).toContain('Newest ideas 1-4 of 10.');
  });
});

describe('ideas by SMS, in Spanish', () => {
  it('"ver ideas" pages with "más"; "apoyar la 2" and "apoyo 2" support the second of the page shown', async () => {
    const chat = smsResident();
    await chat.send('español');
    const first = await chat.send('ver ideas');
    expect(first).toContain('Ideas más recientes 1-4 de 10. Un número la muestra; "apoyo 2" apoya la 2 de esta página:');
    expect(lines(first)).toContain('Más');
    const second = await chat.send('más');
    expect(second).toContain('Ideas más recientes 5-8 de 10.');
    for (const page of [first, second]) expect(segments(page), page).toBeLessThanOrEqual(2);
    expect(await chat.send('apoyar la 2')).toContain(`¡Gracias, contamos tu apoyo a ${refs.get('Night market on Fridays')}!`);

    const other = smsResident();
    await other.send('español');
    await other.send('ver ideas');
    expect(await other.send('apoyo 2')).toContain(`contamos tu apoyo a ${refs.get('Community fridge')}`);
  });

  it('"ideas populares" and "ideas en rio grande" (without the accent)', async () => {
    const chat = smsResident();
    await chat.send('español');
    const popular = await chat.send('ideas populares');
    expect(popular).toContain('Ideas con más apoyo 1-4 de 10.');
    expect(lines(popular)[1]).toBe('Benches at bus stops (30)');
    const place = smsResident();
    await place.send('español');
    const rioGrande = await place.send('ideas en rio grande');
    expect(rioGrande).toContain('Ideas en Río Grande: 2.');
    expect(lines(rioGrande).slice(0, 2)).toEqual(['Community fridge (2)', 'Free Wi-Fi in the plaza (3)']);
    const detail = await place.send('2');
    expect(detail).toContain('Para: Río Grande');
    expect(detail).toContain('¿La apoyas?');
    expect(await place.send('sí')).toContain(`contamos tu apoyo a ${refs.get('Free Wi-Fi in the plaza')}`);
  });
});

describe('ideas on Telegram', () => {
  it('lists eight a page as buttons; "support 2" and a button both work, in English', async () => {
    const chat = telegramResident();
    const first = await chat.sendRaw('popular ideas');
    expect(first.map((m) => m.text).join('\n')).toContain('Most supported ideas 1-8 of 10.');
    expect(buttons(first)).toEqual([
      'More bike racks downtown near the library (42 supporters)',
      'Benches at bus stops (30 supporters)',
      'Public toilets in the park (22 supporters)',
      'Dog park by the river (12 supporters)',
      'Skate park lights (9 supporters)',
      'Shade trees on Main Street (7 supporters)',
      'Crosswalk at the school (6 supporters)',
      'Free Wi-Fi in the plaza (4 supporters)',
      'More',
      'Share my own idea',
    ]);
    const second = await chat.sendRaw({ choice: buttonId(first, /^More$/) });
    expect(buttons(second).slice(0, 2)).toEqual(['Community fridge (2 supporters)', 'Night market on Fridays (2 supporters)']);
    const detail = await chat.sendRaw({ choice: buttonId(second, /^Community fridge/) });
    expect(buttons(detail)).toEqual(['Yes, support it', 'Back to the ideas', 'Report it']);
    expect((await chat.sendRaw({ choice: buttonId(detail, /^Back to the ideas$/) })).map((m) => m.text).join('\n')).toContain(
      'Most supported ideas 9-10 of 10.',
    );
    expect(await chat.send('support 1')).toContain(`support for ${refs.get('Community fridge')} is counted`);
  });

  it('"ideas en Riverside" in Spanish, and a button supports', async () => {
    const chat = telegramResident();
    await chat.send('español');
    const list = await chat.sendRaw('ideas en Riverside');
    expect(list.map((m) => m.text).join('\n')).toContain('Ideas en Riverside: 4.');
    expect(buttons(list)[0]).toMatch(/^Skate park lights \(\d+ apoyos\)$/);
    const detail = await chat.sendRaw({ choice: buttonId(list, /^Dog park/) });
    expect(await chat.send({ choice: buttonId(detail, /^Sí, apoyarla$/) })).toContain(`contamos tu apoyo a ${refs.get('Dog park by the river')}`);
  });
});
