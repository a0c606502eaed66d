/**
 * Transcripts of the idea and volunteer flows, and of the things that work everywhere:
 * status lookups, returning after a day, a dialog updated under a conversation, HELP.
 */
import { describe, expect, it } from 'vitest';
import { referenceIn, smsAddress, useTestService, TestConversation } from '../support/harness.js';
import type { ConversationState } from '../../src/engine/types.js';

const service = useTestService();

describe('ideas', () => {
  it('submits an idea, and another resident supports it once', async () => {
    const author = new TestConversation(service(), smsAddress());
    await author.send('I have an idea for the city');
    expect(await author.send('More benches at bus stops')).toContain('Tell us more');
    expect(await author.send('Older riders have nowhere to sit while waiting')).toContain('neighborhood');
    const check = await author.send('Eastside');
    expect(check).toContain('More benches at bus stops');
    const ref = referenceIn(await author.send('yes'), 'I');
    expect(await author.send(`support ${ref}`)).toContain('your own idea');

    const supporter = new TestConversation(service(), smsAddress());
    expect(await supporter.send(`support ${ref}`)).toContain('your support');
    expect(await supporter.send(`support ${ref}`)).toContain('already support');
    expect(await service().store.ideaSupports.count({ field: 'ideaId', equals: ref })).toBe(1);
  });

  it('lists recent ideas and supports one by number, in Spanish', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('español');
    const list = await chat.send('ver ideas');
    expect(list).toMatch(/1\. /);
    const confirm = await chat.send('1');
    expect(confirm).toMatch(/¿/);
    expect(await chat.send('sí')).toMatch(/apoyo/i);
  });
});

describe('ideas in Spanish', () => {
  it('submits an idea in Spanish with the neighbourhood skipped', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('tengo una idea para la ciudad');
    expect(await chat.send('Más bancas en las paradas de autobús')).toMatch(/cuéntanos|más/i);
    await chat.send('La gente mayor no tiene dónde sentarse');
    const check = await chat.send('omitir');
    expect(check).toContain('Más bancas en las paradas de autobús');
    const ref = referenceIn(await chat.send('sí'), 'I');
    expect((await service().store.ideas.get(ref))?.title).toBe('Más bancas en las paradas de autobús');
  });
});

describe('volunteer', () => {
  it('filters roles by interest and area', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('volunteer');
    const interests = await chat.send('filter');
    expect(interests).toContain('What are you interested in?');
    expect(interests).toContain('environment');
    const areas = await chat.send('environment');
    expect(areas).toContain('Which area?');
    const list = await chat.send('Riverside');
    expect(list).toContain('Riverside Park cleanup');
    expect(list).not.toContain('Food bank');
  });

  it('signs up in Spanish, with the role text in Spanish', async () => {
    const chat = new TestConversation(service(), smsAddress());
    const list = await chat.send('quiero ser voluntario');
    // Four roles a page by SMS: the park clean-up (the latest) is on the second.
    expect(list).toContain('Riega árboles nuevos');
    expect(await chat.send('más')).toContain('Limpieza del Parque Riverside');
    await chat.send('V-DEM2P');
    await chat.send('1');
    expect(await chat.send('María Pérez')).toMatch(/María Pérez/);
    const signup = await service().store.signups.get(`V-DEM2P|${chat.address}`);
    expect(signup).toMatchObject({ status: 'confirmed', name: 'María Pérez' });
  });

  it('browses demo roles, signs up with a name, sees it in my sign-ups, withdraws', async () => {
    const chat = new TestConversation(service(), smsAddress());
    const list = await chat.send('I want to volunteer');
    expect(list).toContain('[demo]');
    const detail = await chat.send('1');
    expect(detail).toContain('spots left');
    expect(detail).toContain('demo role');
    expect(await chat.send('1')).toContain('What name');
    const signed = await chat.send('Ana Lopez');
    expect(signed).toContain("You're signed up");
    expect(signed).toContain('Ana Lopez');
    await chat.send('volunteer');
    const mine = await chat.send('my sign-ups');
    expect(mine).toContain('withdraw');
    await chat.send('1');
    expect(await chat.send('yes')).toContain('no longer signed up');
  });

  it("asking for one's sign-ups or for other residents' ideas opens those lists, not a new sign-up or idea", async () => {
    const chat = new TestConversation(service(), smsAddress());
    expect(await chat.send('which volunteer shifts am I signed up for?')).toContain('You have no sign-ups yet.');
    expect(await chat.send('show me the ideas other residents sent')).toMatch(/Newest ideas|No ideas yet/);
    const vecina = new TestConversation(service(), smsAddress());
    expect(await vecina.send('quiero ver mis turnos de voluntaria')).toContain('Aún no tienes inscripciones.');
  });

  it('offers the waitlist when a role is full', async () => {
    // The demo food-bank shift has 2 spots.
    for (const name of ['First Person', 'Second Person']) {
      const chat = new TestConversation(service(), smsAddress());
      expect(await chat.send('V-DEM4F')).toContain('Food bank');
      await chat.send('1');
      expect(await chat.send(name)).toContain("You're signed up");
    }
    const late = new TestConversation(service(), smsAddress());
    const detail = await late.send('V-DEM4F');
    expect(detail).toContain('Join the waitlist');
    await late.send('1');
    expect(await late.send('Third Person')).toContain('waitlist');
    // An earlier test withdrew from this role; withdrawn sign-ups do not hold a spot.
    const signups = await service().store.signups.find({ field: 'roleId', equals: 'V-DEM4F' });
    expect(
      signups
        .map((s) => s.status)
        .filter((s) => s !== 'cancelled')
        .sort(),
    ).toEqual(['confirmed', 'confirmed', 'waitlisted']);
  });
});

describe('everywhere', () => {
  it('asks a resident who comes back the next day whether to continue', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('report a problem');
    chat.wait(3 * 60 * 60 * 1000);
    const asked = await chat.send('hello?');
    expect(asked).toContain('Welcome back! You were reporting a problem.');
    expect(await chat.send('1')).toContain('What kind of problem is it?');
  });

  it('drops a flow left for longer than the expiry', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('share an idea');
    chat.wait(25 * 60 * 60 * 1000);
    expect(await chat.send('hi')).toContain('left unfinished for too long');
  });

  it('restarts a flow on purpose when its dialog version changed', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('report a problem');
    const stored = await service().store.conversations.get(chat.address);
    const state = stored!.state as ConversationState;
    state.flow!.version = 0; // as if made by an older version of the dialog
    await service().store.conversations.replace({ ...stored!, state }, stored!._rev);
    const answer = await chat.send('pothole');
    expect(answer).toContain('this service was updated');
    expect(answer).toContain('What kind of problem is it?');
  });

  it('answers HELP with who we are and how to stop, in every step', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('report a problem');
    const help = await chat.send('HELP');
    expect(help).toContain('Springfield');
    expect(help).toContain('STOP');
    expect(help).toContain('What kind of problem is it?');
    expect(await chat.send('ayuda')).toContain('STOP');
  });

  it('says it did not understand and shows the menu for nonsense', async () => {
    const chat = new TestConversation(service(), smsAddress());
    const answer = await chat.send('ksjdfh qwpoeiru');
    expect(answer).toContain("didn't get that");
    expect(answer).toContain('What would you like to do?');
  });

  it('lists my open reports when I ask about status without a reference', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('pothole on Elm St near the school, really deep');
    await chat.send('skip');
    const ref = referenceIn(await chat.send('1'));
    const asked = await chat.send('what happened to my report?');
    expect(asked).toContain(ref);
    expect(await chat.send('1')).toContain('Status: Open');
  });
});
