/**
 * "Already reported?" (issue 18), as residents meet it: before filing, the open reports of the
 * same kind at the same place (a text corner in any order and language, or a shared point within
 * the radius) are offered to follow. Following adds what they saw and makes them a follower;
 * "file mine anyway" files as before; their own report is recognised. SMS (a numbered list),
 * buttons (Telegram and the web chat), English and Spanish.
 */
import { describe, expect, it } from 'vitest';
import { referenceIn, smsAddress, startTestService, useTestService, TestConversation, WEB_LIKE } from '../support/harness.js';
import type { ChannelCapabilities } from '../../src/channels/channel.js';
import { mergeReports } from '../../src/staff/report-merge.js';

const service = useTestService();

/** Telegram as a transcript sees it: buttons, photos and locations. */
const TELEGRAM_LIKE: ChannelCapabilities = { buttons: true, maxButtons: 8, maxTextLength: 4096, media: true, location: true };
let nextTelegram = 7_000;
const telegramAddress = () => `telegram:${nextTelegram++}`;
let nextWeb = 0;
const webAddress = () => `web:${String(nextWeb++).padStart(22, 'w')}`;

/** Files a report by SMS from a free-text opener, pressing on (skip the photo, send, file anyway). */
async function fileBySms(chat: TestConversation, opener: string, spanish = false): Promise<string> {
  let reply = await chat.send(opener);
  for (let turn = 0; turn < 6; turn++) {
    if (/Your report is|Tu reporte es/.test(reply)) return referenceIn(reply);
    if (/already reported|ya reportó|Puede que ya/i.test(reply)) reply = await chat.send(spanish ? 'enviar el mío igual' : 'file mine anyway');
    else if (/Please check|Revisa/.test(reply)) reply = await chat.send('1');
    else if (/Describe/.test(reply)) reply = await chat.send(spanish ? 'está ahí desde hace días' : 'it has been there for days');
    else if (/photo|foto/i.test(reply)) reply = await chat.send(spanish ? 'omitir' : 'skip');
    else reply = await chat.send('1');
  }
  throw new Error(`The report was not filed: ${reply}`);
}

describe('already reported, by SMS in English', () => {
  it('offers the open report at the same corner, written another way; following adds the words and lists it under my reports', async () => {
    const reporter = new TestConversation(service(), smsAddress());
    const ref = await fileBySms(reporter, 'deep pothole on 5th and Main');

    const neighbour = new TestConversation(service(), smsAddress());
    const offer = await neighbour.send('pothole at Main St & 5th Ave');
    expect(offer).toContain(`Someone already reported this: Pothole at 5th and Main, today (${ref}, Open).`);
    expect(offer).toContain(`1. Follow ${ref}`);
    expect(offer).toContain('2. File mine anyway');
    // Someone else's words are never shown (the place is).
    expect(offer).not.toContain('deep');

    expect(await neighbour.send('1')).toContain('What did you see?');
    const followed = await neighbour.send('it is a foot wide and my tire blew');
    expect(followed).toContain(`Done: you follow ${ref}, with 2 neighbours in all.`);

    const follower = await service().store.reportFollowers.get(`${ref}|${neighbour.address}`);
    expect(follower).toMatchObject({ reportId: ref, via: 'follow' });
    const note = await service().store.reportUpdates.get(follower!.noteId!);
    expect(note).toMatchObject({ reportId: ref, by: 'resident', follower: true, note: 'it is a foot wide and my tire blew' });
    // Still one report at that corner.
    expect(await service().store.reports.count({ field: 'openPlace', equals: 'pothole|x:5|main' })).toBe(1);

    const mine = await neighbour.send('my reports');
    expect(mine).toContain(ref);
    // The reporter's own view of their report does not show the follower's words.
    expect(await reporter.send(`status ${ref}`)).not.toContain('tire blew');
  });

  it('files a second report when the resident says it is another problem', async () => {
    const first = new TestConversation(service(), smsAddress());
    const ref = await fileBySms(first, 'streetlight out at Oak St and 9th St');
    const second = new TestConversation(service(), smsAddress());
    const offer = await second.send('the street light is out on 9th and oak');
    expect(offer).toContain(ref);
    expect(await second.send('2')).toContain('Describe the problem');
    await second.send('the other lamp, across the street');
    await second.send('skip');
    const other = referenceIn(await second.send('1'));
    expect(other).not.toBe(ref);
    expect(await service().store.reportFollowers.count({ field: 'reportId', equals: ref })).toBe(0);
  });

  it('recognises the resident’s own report, and files nothing twice', async () => {
    const chat = new TestConversation(service(), smsAddress());
    const ref = await fileBySms(chat, 'graffiti on the wall at Elm and 2nd');
    const again = await chat.send('graffiti at 2nd and elm');
    expect(again).toContain(`You already reported this: Graffiti at Elm and 2nd, today (${ref}, Open).`);
    expect(again).toContain(`1. ${ref} is the same`);
    expect(await chat.send('1')).toContain(`OK: ${ref} stays open`);
    expect(await service().store.reports.count({ field: 'openPlace', equals: 'graffiti|x:2|elm' })).toBe(1);
  });

  it('offers nothing for another kind of problem at the same place, nor for a fixed one', async () => {
    const chat = new TestConversation(service(), smsAddress());
    const ref = await fileBySms(chat, 'overflowing trash bins at Pine and 3rd');
    const other = new TestConversation(service(), smsAddress());
    expect(await other.send('pothole at 3rd and Pine')).not.toContain(ref);

    const current = (await service().store.reports.get(ref))!;
    const { openPlace: _place, ...fixed } = current;
    await service().store.reports.replace({ ...fixed, status: 'fixed', statusGroup: 'fixed' }, current._rev);
    const later = new TestConversation(service(), smsAddress());
    expect(await later.send('trash bins overflowing at 3rd and pine')).not.toContain('already reported');
  });

  it('asks again on nonsense, and takes "yes" for the one report offered', async () => {
    const reporter = new TestConversation(service(), smsAddress());
    const ref = await fileBySms(reporter, 'water leak at Birch and 4th, water everywhere');
    const neighbour = new TestConversation(service(), smsAddress());
    expect(await neighbour.send('water leak at 4th & birch')).toContain(ref);
    expect(await neighbour.send('purple')).toContain('Reply with a number');
    expect(await neighbour.send('yes')).toContain('What did you see?');
    expect(await neighbour.send('skip')).toContain(`Done: you follow ${ref}`);
  });

  it('tells the resident when the report closed while they decided, and files theirs if they want', async () => {
    const reporter = new TestConversation(service(), smsAddress());
    const ref = await fileBySms(reporter, 'dead tree branch hanging at Maple and 7th');
    const neighbour = new TestConversation(service(), smsAddress());
    expect(await neighbour.send('a tree branch is hanging at 7th and maple')).toContain(ref);
    const current = (await service().store.reports.get(ref))!;
    const { openPlace: _place, ...closed } = current;
    await service().store.reports.replace({ ...closed, status: 'closed', statusGroup: 'closed' }, current._rev);
    // The opener described it already: following goes straight on, and finds it closed.
    expect(await neighbour.send('1')).toContain(`${ref} was just closed. Do you want to file yours?`);
    expect(await neighbour.send('yes')).toContain('photo');
    await neighbour.send('skip');
    expect(referenceIn(await neighbour.send('1'))).not.toBe(ref);
  });
});

describe('already reported, when the resident goes back, says "no ..." or staff merge meanwhile', () => {
  it('looks again after "back" and a new place or kind', async () => {
    const reporter = new TestConversation(service(), smsAddress());
    const ref = await fileBySms(reporter, 'deep pothole at Oak St and 3rd St');
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('report a problem');
    await chat.send('pothole');
    expect(await chat.send('Oak St and 3rd St')).toContain(ref);
    expect(await chat.send('back')).toContain('Where is it?');
    // Another place: nothing there, so no offer (the old lookup is not shown again).
    expect(await chat.send('Birch St and 10th St')).toContain('Describe the problem');
    expect(await chat.send('back')).toContain('Where is it?');
    expect(await chat.send('back')).toContain('What kind of problem');
    await chat.send('graffiti');
    // The pothole there is no graffiti.
    expect(await chat.send('Oak St and 3rd St')).not.toContain(ref);
  });

  it('keeps what the follower saw when it starts with "no"', async () => {
    const reporter = new TestConversation(service(), smsAddress());
    const ref = await fileBySms(reporter, 'streetlight out at Ash St and 14th St');
    const neighbour = new TestConversation(service(), smsAddress());
    expect(await neighbour.send('streetlight at 14th and ash')).toContain(ref);
    expect(await neighbour.send('1')).toContain('What did you see?');
    expect(await neighbour.send('no light at all on the whole block since Monday')).toContain(`you follow ${ref}`);
    const follow = await service().store.reportFollowers.get(`${ref}|${neighbour.address}`);
    expect((await service().store.reportUpdates.get(follow!.noteId!))?.note).toBe('no light at all on the whole block since Monday');
  });

  it('follows the report staff merged the offered one into', async () => {
    const first = new TestConversation(service(), smsAddress());
    const offered = await fileBySms(first, 'deep pothole at Fir St and 15th St');
    const second = new TestConversation(service(), smsAddress());
    const kept = await fileBySms(second, 'deep pothole at Fir St and 16th St');
    const neighbour = new TestConversation(service(), smsAddress());
    expect(await neighbour.send('pothole at 15th and fir')).toContain(offered);
    await mergeReports(service().staff, kept, offered, { username: 'ana', role: 'coordinator' }, new Date());
    expect(await neighbour.send('1')).toContain('What did you see?');
    expect(await neighbour.send('skip')).toContain(`you follow ${kept}`);
    expect(await service().store.reportFollowers.get(`${kept}|${neighbour.address}`)).not.toBeNull();
  });
});

describe('already reported, in Spanish and with buttons', () => {
  it('offers it in Spanish by SMS, and following says so in Spanish', async () => {
    const reporter = new TestConversation(service(), smsAddress());
    const ref = await fileBySms(reporter, 'hay un bache enorme en la Calle 10 y Main', true);
    const vecina = new TestConversation(service(), smsAddress());
    const offer = await vecina.send('bache en Main y calle 10');
    expect(offer).toContain(`Alguien ya reportó esto: Bache en la Calle 10 y Main, hoy (${ref}, Abierto).`);
    expect(offer).toContain(`1. Seguir ${ref}`);
    expect(await vecina.send('1')).toContain('¿Qué viste?');
    expect(await vecina.send('omitir')).toContain(`Listo: sigues ${ref}, junto con 2 vecinos en total.`);
  });

  it('on Telegram: a shared point near a pinned report, the button follows it, a photo is the note', async () => {
    const reporter = new TestConversation(service(), telegramAddress(), TELEGRAM_LIKE);
    await reporter.send('report a problem');
    await reporter.send({ choice: 'abandoned_vehicle' });
    await reporter.send({ location: { lat: 41.8781, lon: -87.6298 } });
    await reporter.send('a rusty van with flat tyres, there for weeks');
    await reporter.send({ choice: 'skip' });
    const ref = referenceIn(await reporter.send({ choice: 'yes' }));

    const neighbour = new TestConversation(service(), telegramAddress(), TELEGRAM_LIKE);
    await neighbour.send('report a problem');
    await neighbour.send({ choice: 'abandoned_vehicle' });
    // About 90 m away: within the default 250 m.
    const offer = await neighbour.send({ location: { lat: 41.8789, lon: -87.6298 } });
    expect(offer).toMatch(new RegExp(`Abandoned vehicle \\d+ m from you, today \\(${ref}, Open\\)`));
    const buttons = neighbour.received.at(-1)?.buttons?.map((button) => button.id);
    expect(buttons).toEqual([`follow:${ref}`, 'file']);
    expect(await neighbour.send({ choice: `follow:${ref}` })).toContain('A few words or a photo');
    expect(await neighbour.send({ text: '', media: [{ url: 'https://media.example/van.jpg', contentType: 'image/jpeg' }] })).toContain(`you follow ${ref}`);
    const follower = await service().store.reportFollowers.get(`${ref}|${neighbour.address}`);
    expect((await service().store.reportUpdates.get(follower!.noteId!))?.photos).toEqual([{ url: 'https://media.example/van.jpg', contentType: 'image/jpeg' }]);
  });

  it('on the web chat: two reports at one place are a list, one of them the resident’s own', async () => {
    const me = new TestConversation(service(), webAddress(), WEB_LIKE);
    const neighbour = new TestConversation(service(), smsAddress());
    const theirs = await fileBySms(neighbour, 'sidewalk cracked and lifted at Cedar and 6th');
    await me.send('report a problem');
    await me.send({ choice: 'sidewalk' });
    expect(await me.send('6th and cedar')).toContain(theirs);
    await me.send({ choice: 'file' });
    await me.send('another broken slab, near the bus stop');
    const mine = referenceIn(await me.send({ choice: 'yes' }));

    await me.send('report a problem');
    await me.send({ choice: 'sidewalk' });
    const offer = await me.send('Cedar Street & 6th Street');
    expect(offer).toContain('This may already be reported:');
    expect(offer).toContain(`(${mine}, Open), your report`);
    expect(offer).toContain(`(${theirs}, Open)`);
    expect(
      me.received
        .at(-1)
        ?.buttons?.map((button) => button.id)
        .sort(),
    ).toEqual([`follow:${theirs}`, `same:${mine}`, 'file'].sort());
  });
});

describe('follow and file anyway, on every channel, in English and Spanish', () => {
  const channels = [
    { name: 'SMS', capabilities: undefined, address: smsAddress },
    { name: 'Telegram', capabilities: TELEGRAM_LIKE, address: telegramAddress },
    { name: 'web chat', capabilities: WEB_LIKE, address: webAddress },
  ] as const;
  const languages = [
    {
      locale: 'en',
      hello: 'hi',
      opener: (n: number) => `deep pothole at Walnut and ${n}th St`,
      offer: 'Someone already reported this',
      follow: 'you follow',
      describe: 'Describe the problem',
    },
    {
      locale: 'es',
      hello: 'hola',
      opener: (n: number) => `bache profundo en Walnut y calle ${n}`,
      offer: 'Alguien ya reportó esto',
      follow: 'sigues',
      describe: 'Describe el problema',
    },
  ] as const;
  let street = 40;

  for (const channel of channels) {
    for (const language of languages) {
      it(`${channel.name}, ${language.locale}: the second resident follows, the third files anyway`, async () => {
        const n = street++;
        const reporter = new TestConversation(service(), smsAddress());
        const ref = await fileBySms(reporter, language.opener(n), language.locale === 'es');

        const follower = new TestConversation(service(), channel.address(), channel.capabilities);
        await follower.send(language.hello);
        expect(await follower.send(language.opener(n))).toContain(`${language.offer}`);
        const followed = await follower.send(channel.capabilities ? { choice: `follow:${ref}` } : '1');
        expect(followed).toContain(`${language.follow} ${ref}`);
        expect(await service().store.reportFollowers.get(`${ref}|${follower.address}`)).not.toBeNull();

        const other = new TestConversation(service(), channel.address(), channel.capabilities);
        await other.send(language.hello);
        expect(await other.send(language.opener(n))).toContain(ref);
        const filing = await other.send(channel.capabilities ? { choice: 'file' } : '2');
        // The opener described the problem: straight on to the photo or the read-back.
        expect(filing).not.toContain(language.describe);
        expect(await service().store.reportFollowers.get(`${ref}|${other.address}`)).toBeNull();
      });
    }
  }
});

describe('DUPLICATE_RADIUS_METERS', () => {
  it('offers a pinned report only within the radius the city set', async () => {
    const started = await startTestService({ DUPLICATE_RADIUS_METERS: '50' });
    try {
      const pinned = new TestConversation(started.service, telegramAddress(), TELEGRAM_LIKE);
      await pinned.send('report a problem');
      await pinned.send({ choice: 'abandoned_vehicle' });
      await pinned.send({ location: { lat: 41.8781, lon: -87.6298 } });
      await pinned.send('a rusty van with flat tyres, there for weeks');
      await pinned.send({ choice: 'skip' });
      const ref = referenceIn(await pinned.send({ choice: 'yes' }));

      const near = async (lat: number) => {
        const chat = new TestConversation(started.service, telegramAddress(), TELEGRAM_LIKE);
        await chat.send('report a problem');
        await chat.send({ choice: 'abandoned_vehicle' });
        return chat.send({ location: { lat, lon: -87.6298 } });
      };
      // About 33 m away: within 50 m. About 89 m: within the default 250, not within 50.
      expect(await near(41.8784)).toContain(ref);
      expect(await near(41.8789)).not.toContain(ref);
    } finally {
      await started.close();
    }
  });
});
