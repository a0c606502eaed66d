/**
 * Transcripts of the edges: numbers at yes/no steps on SMS, words that look like references,
 * one-word reports, outdated flows met by HELP/back/language, asking to stop in words mid-flow,
 * a known volunteer giving another name, and button labels that read like keywords.
 */
import { describe, expect, it } from 'vitest';
import { referenceIn, smsAddress, TestConversation, useTestService, WEB_LIKE } from '../support/harness.js';
import type { ConversationState } from '../../src/engine/types.js';

const service = useTestService();

async function makeOutdated(chat: TestConversation): Promise<void> {
  const stored = (await service().store.conversations.get(chat.address))!;
  const state = stored.state as ConversationState;
  // As if made by an older version of the dialog, at a step it no longer has.
  state.flow!.version = 0;
  state.flow!.step = 'a-step-that-was-removed';
  await service().store.conversations.replace({ ...stored, state }, stored._rev);
}

describe('edges', () => {
  it('reads "2" at a yes/no step as No, not as the second category', async () => {
    const chat = new TestConversation(service(), smsAddress());
    expect(await chat.send('hay un bache enorme en Reforma y Insurgentes')).toContain('1. Sí');
    expect(await chat.send('2')).toContain('¿Qué tipo de problema es?');
  });

  it('takes "1" as Yes when confirming an idea by SMS', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('share an idea');
    await chat.send('Shade trees on Pine St');
    await chat.send('It gets too hot to walk');
    await chat.send('skip');
    referenceIn(await chat.send('1'), 'I');
  });

  it('does not read sentences starting with "I" as idea references', async () => {
    const chat = new TestConversation(service(), smsAddress());
    const answer = await chat.send('I never got my trash picked up on Elm St');
    expect(answer).not.toContain('I-NEVER');
    expect(answer).toMatch(/Trash|photo|Where/);
  });

  it('opens a report from a one-word category', async () => {
    const chat = new TestConversation(service(), smsAddress());
    expect(await chat.send('pothole')).toContain('Where is it?');
    const other = new TestConversation(service(), smsAddress());
    expect(await other.send('streetlight')).toContain('Where is it?');
  });

  it('asks for a description when the opener does not describe a problem', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('I want to report a problem');
    await chat.send('1');
    expect(await chat.send('Main St and 3rd')).toContain('Describe the problem');
  });

  it('restarts an outdated flow before back or a language switch tries its step', async () => {
    for (const word of ['back', 'español', 'menu']) {
      const chat = new TestConversation(service(), smsAddress());
      await chat.send('report a problem');
      await makeOutdated(chat);
      const answer = await chat.send(word);
      expect(answer).toContain('this service was updated');
      expect(answer).not.toContain('something went wrong');
    }
  });

  it('answers HELP in an outdated flow without asking its old step', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('report a problem');
    await makeOutdated(chat);
    const help = await chat.send('help');
    expect(help).toContain('STOP');
    expect(help).not.toContain('something went wrong');
    expect(await chat.send('pothole')).toContain('this service was updated');
  });

  it('asks what to stop when a resident writes "stop texting me" in the middle of a step, and opts out on "stop all messages"', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('report a problem');
    await chat.send('1');
    // Only exact carrier keywords opt out without asking (issue 17): a sentence is asked about.
    expect(await chat.send('stop texting me')).toContain('2. Stop all messages');
    expect((await service().store.residents.get(chat.address))?.optedOut).toBe(false);
    expect(await chat.send('2')).toContain('unsubscribed');
    expect((await service().store.residents.get(chat.address))?.optedOut).toBe(true);
    expect(await chat.send('HELP')).toContain('START');
  });

  it('lets a known volunteer give another name', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('V-DEM5R');
    await chat.send('1');
    expect(await chat.send('Kim Lee')).toContain("You're signed up");
    await chat.send('V-DEM6S');
    await chat.send('1');
    expect(await chat.send('2')).toContain('what name should we use');
    expect(await chat.send('Kim Lee-Park')).toContain('Kim Lee-Park');
  });

  it('never reads a pressed button as a typed keyword', async () => {
    const chat = new TestConversation(service(), `web:${'b'.repeat(22)}`, WEB_LIKE);
    await chat.send('hi');
    const answer = await chat.send({ text: 'End', choice: 'report' });
    expect(answer).toContain('What kind of problem is it?');
    expect((await service().store.residents.get(chat.address))?.optedOut).toBe(false);
  });

  it('deletes the data a resident asked to delete, receipts and supports included', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('V-DEM2P');
    await chat.send('1');
    await chat.send('Maria Secretname');
    const ideas = await service().store.ideas.find({ field: 'kind', equals: 'idea' }, { limit: 1 });
    if (ideas[0]) await chat.send(`support ${ideas[0]._id}`);
    await chat.send('delete my data');
    expect(await chat.send('yes')).toContain('deleted');
    const conversation = await service().store.conversations.get(chat.address);
    expect(JSON.stringify(conversation)).not.toContain('Secretname');
    expect(await service().store.transcripts.count({ field: 'conversationId', equals: chat.address })).toBe(0);
    expect(await service().store.ideaSupports.count({ field: 'address', equals: chat.address })).toBe(0);
    expect(await service().store.signups.count({ field: 'address', equals: chat.address })).toBe(0);
  });

  it('records a request for a person for staff to pick up', async () => {
    const chat = new TestConversation(service(), smsAddress());
    expect(await chat.send('I want to talk to a real person')).toContain('asked a person');
    const open = await service().store.handoffs.find({ field: 'address', equals: chat.address });
    expect(open).toMatchObject([{ status: 'open', reason: 'asked', channel: 'sms' }]);
  });
});
