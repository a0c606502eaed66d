/**
 * Issue 17, section 3, the resident's side: "talk to a person" hands the conversation to the
 * staff inbox and the bot stays quiet while a person holds it, except for STOP, HELP and MENU
 * (which takes the resident back to the bot); a question the bot cannot answer and a reply in
 * words to a broadcast land in the same inbox. English and Spanish.
 */
import { describe, expect, it } from 'vitest';
import { openHandoffOf } from '../../src/pipeline/handoff-requests.js';
import { channelFacts } from '../../src/channels/channel.js';
import { smsAddress, TestConversation, useTestService, WEB_LIKE } from '../support/harness.js';

const service = useTestService();

function openRequest(chat: TestConversation) {
  return openHandoffOf(service().store, chat.address);
}

describe('asking for a person (English, SMS)', () => {
  it('hands the conversation over, keeps quiet while held, answers HELP, and MENU goes back to the bot', async () => {
    const chat = new TestConversation(service(), smsAddress());
    const asked = await chat.send('can I talk to a real person please');
    expect(asked).toContain('asked a person from Springfield to answer you here');
    expect(asked).toContain('Reply MENU to go back to the bot');
    const request = await openRequest(chat);
    expect(request).toMatchObject({ reason: 'asked', status: 'open', locale: 'en', channel: 'sms', unread: 1 });
    expect(request?.ref).toMatch(/^[A-Za-z0-9_-]{16}$/);
    // The idle check is scheduled with the request.
    expect(await service().store.jobs.get(`handoff-idle|${request!.ref}`)).toMatchObject({ kind: 'handoff_idle', state: 'pending' });

    // Held: words, a report, a status question all go to the person, and the bot says nothing.
    expect(await chat.send('there is a pothole on 5th and main')).toBe('');
    expect(await chat.send('status R-7K3QX')).toBe('');
    expect(await chat.send('hello??')).toBe('');
    expect((await openRequest(chat))?.unread).toBe(4);
    expect(await service().store.reports.find({ field: 'residentAddress', equals: chat.address })).toEqual([]);
    // What they wrote is in the transcript for the person to read.
    const transcript = await service().store.transcripts.find({ field: 'conversationId', equals: chat.address });
    expect(transcript.filter((e) => e.direction === 'in').map((e) => e.text)).toContain('there is a pothole on 5th and main');

    const help = await chat.send('HELP');
    expect(help).toContain('A person from Springfield has your conversation');
    expect(await chat.send('still there?')).toBe('');

    const back = await chat.send('menu');
    expect(back).toContain("you're back with the Springfield bot");
    expect(back).toContain('Report a problem');
    expect(await openRequest(chat)).toBeNull();
    const closed = await service().store.handoffs.find({ field: 'address', equals: chat.address });
    expect(closed[0]).toMatchObject({ status: 'closed', closedBy: 'resident' });
    // The bot answers again.
    expect(await chat.send('pothole on elm street')).toMatch(/describe the problem|photo/i);
  });

  it('STOP while held opts out at once, as everywhere', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('I want to speak to a human');
    expect(await chat.send('STOP')).toContain('unsubscribed');
    expect((await service().store.residents.get(chat.address))?.optedOut).toBe(true);
  });

  it('"delete my data" while held is asked about as anywhere, and leaves the hold', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('talk to a person');
    expect(await chat.send('delete my data')).toContain('Delete?');
    expect(await openRequest(chat)).toBeNull();
  });

  it('STOP ends the hold and closes the request: after START the bot answers again, not a silent hold', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('I want to speak to a human');
    await chat.send('STOP');
    // Nobody may write to them now: the request leaves the inbox, saying why.
    expect(await openRequest(chat)).toBeNull();
    const [closed] = await service().store.handoffs.find({ field: 'address', equals: chat.address });
    expect(closed).toMatchObject({ status: 'closed', closedBy: 'opted_out' });
    expect(await chat.send('START')).toContain('Report a problem');
    expect(await chat.send('pothole on elm street')).toMatch(/describe the problem|photo/i);
  });

  it('asking twice keeps one open request', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('talk to a person');
    await chat.send('menu');
    await chat.send('I need a human');
    await chat.send('a real person please');
    const all = await service().store.handoffs.find({ field: 'address', equals: chat.address });
    expect(all.filter((h) => h.status === 'open')).toHaveLength(1);
  });
});

describe('channel commands while held (Telegram /menu, /start, /help; the web chat opening again)', () => {
  /** A channel command, as the Telegram and web chat adapters make one; the replies' texts. */
  async function command(chat: TestConversation, name: 'menu' | 'start' | 'help'): Promise<string> {
    const turn = await service().pipeline.handle({ ...chat.message({ text: '' }), command: { name } }, channelFacts(WEB_LIKE));
    return turn.replies.map((reply) => (reply.kind === 'text' ? reply.text : '')).join('\n');
  }

  it('/menu takes the resident back to the bot, as MENU does', async () => {
    const chat = new TestConversation(service(), `telegram:${Date.now()}1`, WEB_LIKE);
    await chat.send('talk to a person');
    expect(await command(chat, 'menu')).toContain("you're back with the Springfield bot");
    expect(await openRequest(chat)).toBeNull();
    expect(await chat.send('pothole on elm street')).toMatch(/describe the problem|photo/i);
  });

  it('/start and /help say a person has the conversation, instead of a menu the hold would then ignore', async () => {
    const chat = new TestConversation(service(), `telegram:${Date.now()}2`, WEB_LIKE);
    await chat.send('talk to a person');
    for (const name of ['start', 'help'] as const) {
      const answer = await command(chat, name);
      expect(answer).toContain('A person from Springfield has your conversation');
      expect(answer).not.toContain('What would you like to do?');
    }
    expect(await openRequest(chat)).toMatchObject({ status: 'open' });
    expect(await chat.send('are you there?')).toBe('');
  });
});

describe('pedir una persona (español, web chat)', () => {
  it('pasa la conversación, calla mientras la tiene una persona, y MENÚ vuelve al bot', async () => {
    const chat = new TestConversation(service(), `web:${'p'.repeat(22)}`, WEB_LIKE);
    await chat.send('hola');
    const asked = await chat.send('quiero hablar con una persona');
    expect(asked).toContain('pedí que una persona de Springfield te responda aquí');
    expect(asked).toContain('Responde MENU para volver al bot');
    expect(await openRequest(chat)).toMatchObject({ reason: 'asked', locale: 'es' });
    expect(await chat.send('hay un bache enorme en la calle 5')).toBe('');
    expect(await chat.send('AYUDA')).toContain('Una persona de Springfield tiene tu conversación');
    const back = await chat.send('menú');
    expect(back).toContain('estás de nuevo con el bot de Springfield');
    expect(await openRequest(chat)).toBeNull();
  });

  it('"borra mis datos" mientras la tiene una persona pregunta como siempre', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hola');
    await chat.send('quiero hablar con una persona');
    expect(await chat.send('borra mis datos')).toContain('¿Borrar?');
  });

  it('PARAR mientras la tiene una persona da de baja enseguida', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hola');
    await chat.send('necesito hablar con alguien de la ciudad');
    expect((await openRequest(chat))?.locale).toBe('es');
    await chat.send('PARAR');
    expect((await service().store.residents.get(chat.address))?.optedOut).toBe(true);
  });
});

describe('a question the bot cannot answer goes to a person', () => {
  it('in English: "what time does city hall close on fridays?"', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hi');
    const answer = await chat.send('what time does city hall close on fridays?');
    expect(answer).toContain("I can't answer that myself");
    expect(await openRequest(chat)).toMatchObject({ reason: 'question' });
    expect(await chat.send('thanks in advance')).toBe('');
  });

  it('en español: "¿a qué hora cierra el ayuntamiento los viernes?"', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hola');
    const answer = await chat.send('¿a qué hora cierra el ayuntamiento los viernes?');
    expect(answer).toContain('No puedo responder eso yo mismo');
    expect(await openRequest(chat)).toMatchObject({ reason: 'question', locale: 'es' });
  });

  it('nonsense that is not a question still gets the menu, not a person', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hi');
    const answer = await chat.send('blorp zzzt');
    expect(answer).not.toContain("I can't answer that myself");
    expect(await openRequest(chat)).toBeNull();
  });
});

describe('a reply in words to a broadcast goes to a person', () => {
  /** Records a broadcast to the resident as the broadcast worker does (through the notifier's path). */
  async function broadcastTo(chat: TestConversation, roleId?: string): Promise<void> {
    const sentAt = new Date('2026-11-20T15:00:30Z').getTime();
    await service().pipeline.recordProactive(chat.address, 'sms', [{ kind: 'text', text: 'Park clean-up Saturday 9am!' }], {
      key: `broadcast-test|${chat.address}`,
      locale: 'en',
      at: new Date(sentAt),
      followUp: {
        kind: roleId ? 'volunteer_call' : 'broadcast',
        ref: roleId ?? 'B-test',
        broadcastId: 'B-test',
        sentAt,
        until: sentAt + 72 * 3_600_000,
      },
    });
  }

  it('"what time does it start?" after a volunteer call reaches a person with the broadcast it answers (English)', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hi');
    await broadcastTo(chat, 'V-DEM4F');
    const answer = await chat.send('what time does it start?');
    expect(answer).toContain("I've passed your message to the Springfield team");
    expect(await openRequest(chat)).toMatchObject({ reason: 'broadcast_reply', about: 'B-test' });
  });

  it('"¿dónde nos vemos exactamente?" after an announcement reaches a person (Spanish)', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hola');
    await broadcastTo(chat);
    const answer = await chat.send('¿dónde nos vemos exactamente?');
    expect(answer).toContain('pasé tu mensaje al equipo de Springfield');
    expect(await openRequest(chat)).toMatchObject({ reason: 'broadcast_reply', locale: 'es' });
  });

  it('"yes" to a volunteer call that came while a person holds the conversation still signs up, name asked and all; then the hold goes on', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('talk to a person');
    await broadcastTo(chat, 'V-DEM2P');
    expect(await chat.send('yes')).toContain('What name should we give the coordinator?');
    expect(await chat.send('Rosa Parks')).toContain("You're signed up for");
    expect(await service().store.signups.get(`V-DEM2P|${chat.address}`)).toMatchObject({ status: 'confirmed', name: 'Rosa Parks' });
    // The person still has the conversation: words are theirs again.
    expect(await openRequest(chat)).toMatchObject({ status: 'open' });
    expect(await chat.send('also, is the library open?')).toBe('');
  });

  it('"yes" while held to a call that came before the hold is for the person', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hi');
    await broadcastTo(chat, 'V-DEM2P');
    chat.wait(60_000);
    await chat.send('I want to talk to a person');
    expect(await chat.send('yes')).toBe('');
  });

  it("only the first message since the broadcast answers it: a later question is the bot's", async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hi');
    await broadcastTo(chat);
    chat.wait(60_000);
    expect(await chat.send('thanks!')).not.toContain('passed your message');
    expect(await chat.send('what do you mean by that exactly?')).not.toContain('passed your message to the Springfield team');
    expect((await openRequest(chat))?.reason).not.toBe('broadcast_reply');
  });

  it('"yes" to a volunteer call still signs up, and a report after an announcement is still a report', async () => {
    const caller = new TestConversation(service(), smsAddress());
    await caller.send('hi');
    await broadcastTo(caller, 'V-DEM4F');
    expect(await caller.send('yes')).not.toContain('passed your message');
    expect(await openRequest(caller)).toBeNull();

    const reporter = new TestConversation(service(), smsAddress());
    await reporter.send('hi');
    await broadcastTo(reporter);
    expect(await reporter.send('there is a big pothole on oak street')).not.toContain('passed your message');
    expect(await openRequest(reporter)).toBeNull();
  });
});
