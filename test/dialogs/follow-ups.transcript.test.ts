/**
 * Replies to what the city sent unprompted: "yes" / "1" / "sí" to a volunteer call signs up
 * (asking the name when we do not know it), "no" declines; a reply to a report's update joins
 * the report. Only within the window, and over a flow only as the first reply after the
 * notification. The notifications are recorded with the pipeline's `recordProactive`, as the
 * notifier does, so these run without a channel.
 */
import { describe, expect, it } from 'vitest';
import { referenceIn, smsAddress, TestConversation, useTestService } from '../support/harness.js';
import type { FollowUp } from '../../src/engine/types.js';

const service = useTestService();
/** Each report on a street of its own: a second at one corner would be offered as "already reported". */
let street = 20;
const HOUR = 3_600_000;

/** Records a notification in the resident's conversation at `at`, with a follow-up. */
async function notify(chat: TestConversation, followUp: Omit<FollowUp, 'sentAt' | 'until'>, at: Date, windowHours = 72): Promise<void> {
  await service().pipeline.recordProactive(chat.address, 'sms', [{ kind: 'text', text: 'Volunteers needed!' }], {
    key: `test|${Math.random()}`,
    locale: 'en',
    at,
    followUp: { ...followUp, sentAt: at.getTime(), until: at.getTime() + windowHours * HOUR },
  });
}

/** A role open for sign-ups, from the seeded demo roles (capacity 2 for V-DEM4F). */
const ROLE = 'V-DEM2P';

describe('a volunteer call', () => {
  it('signs up a resident who answers "yes", asking the name first when we do not know it', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hi');
    await notify(chat, { kind: 'volunteer_call', ref: ROLE }, new Date(Date.parse('2026-11-20T15:00:05Z')));
    expect(await chat.send('yes')).toContain('What name should we give the coordinator?');
    expect(await chat.send('Rosa Parks')).toContain("You're signed up for");
    const signup = await service().store.signups.get(`${ROLE}|${chat.address}`);
    expect(signup).toMatchObject({ status: 'confirmed', name: 'Rosa Parks' });
  });

  it('takes "1" and "sí" as yes, and signs up at once a resident whose name we know', async () => {
    for (const answer of ['1', 'sí']) {
      const chat = new TestConversation(service(), smsAddress());
      await chat.send('hi');
      await service().store.residents.upsert({ ...(await service().store.residents.get(chat.address))!, name: 'Ana' });
      await notify(chat, { kind: 'volunteer_call', ref: 'V-DEM5R' }, new Date(Date.parse('2026-11-20T15:00:05Z')));
      expect(await chat.send(answer)).toContain("You're signed up for");
    }
  });

  it('waitlists when the role is full', async () => {
    const full = 'V-DEM4F';
    const results: string[] = [];
    for (let i = 0; i < 3; i++) {
      const chat = new TestConversation(service(), smsAddress());
      await chat.send('hi');
      await service().store.residents.upsert({ ...(await service().store.residents.get(chat.address))!, name: `Volunteer ${i}` });
      await notify(chat, { kind: 'volunteer_call', ref: full }, new Date(Date.parse('2026-11-20T15:00:05Z')));
      results.push(await chat.send('yes'));
    }
    expect(results[0]).toContain("You're signed up");
    expect(results[1]).toContain("You're signed up");
    expect(results[2]).toContain('waitlist');
  });

  it('"no" declines politely; after the window "yes" is just a yes', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send('hi');
    await notify(chat, { kind: 'volunteer_call', ref: ROLE }, new Date(Date.parse('2026-11-20T15:00:05Z')));
    expect(await chat.send('no')).toContain('No problem');
    const late = new TestConversation(service(), smsAddress());
    await late.send('hi');
    await notify(late, { kind: 'volunteer_call', ref: ROLE }, new Date(Date.parse('2026-11-20T15:00:05Z')), 1);
    late.wait(2 * HOUR);
    expect(await late.send('yes')).not.toContain('signed up');
    expect(await service().store.signups.get(`${ROLE}|${late.address}`)).toBeNull();
  });

  it('over a flow, counts only as the first reply after the call', async () => {
    const chat = new TestConversation(service(), smsAddress());
    expect(await chat.send('I want to share an idea')).toContain("What's your idea?");
    await notify(chat, { kind: 'volunteer_call', ref: 'V-DEM6S' }, new Date(Date.parse('2026-11-20T15:00:05Z')));
    // The call is the latest thing they were asked: "yes" answers it.
    expect(await chat.send('yes')).toContain('What name should we give the coordinator?');

    const other = new TestConversation(service(), smsAddress());
    await other.send('hi');
    await notify(other, { kind: 'volunteer_call', ref: 'V-DEM6S' }, new Date(Date.parse('2026-11-20T15:00:05Z')));
    await other.send('I want to share an idea');
    // Now the idea's question is the latest: "1" is not a sign-up.
    expect(await other.send('Benches in the park')).toContain('Tell us more');
    expect(await service().store.signups.get(`V-DEM6S|${other.address}`)).toBeNull();
  });
});

describe('a report update', () => {
  it("takes the reply as the resident's update, and lets other requests through", async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send(`there's a huge pothole on ${street++}th St and Main`);
    await chat.send('skip');
    const ref = referenceIn(await chat.send('1'));
    await notify(chat, { kind: 'report_update', ref }, new Date(Date.parse('2026-11-20T15:00:30Z')));
    expect(await chat.send('still broken, cars swerving')).toContain(`added that to your report ${ref}`);
    // A photo as a reply joins it too.
    expect(await chat.send({ text: '', media: [{ url: 'https://media.example/pothole.jpg', contentType: 'image/jpeg' }] })).toContain(ref);
    const updates = await service().store.reportUpdates.find({ field: 'reportId', equals: ref });
    const fromResident = updates.filter((u) => u.by === 'resident');
    expect(fromResident.map((u) => u.note ?? null)).toEqual(['still broken, cars swerving', null]);
    expect(fromResident[1]!.photos).toHaveLength(1);
    // Asking for something else is not a reply to the update.
    expect(await chat.send('I want to volunteer')).not.toContain('added that');
  });
});

describe('follow-ups found by review', () => {
  it('a "yes" to a call that came while a resident was away answers the call, not "welcome back"', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send(`there's a huge pothole on ${street++}th St and Main`);
    chat.wait(2 * HOUR);
    await notify(chat, { kind: 'volunteer_call', ref: 'V-DEM5R' }, new Date(Date.parse('2026-11-20T17:00:30Z')));
    expect(await chat.send('yes')).toContain('What name should we give the coordinator?');
  });

  it('a report update does not cancel an earlier call, and a new kind of problem is a new report', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send(`there's a huge pothole on ${street++}th St and Main`);
    await chat.send('skip');
    const ref = referenceIn(await chat.send('1'));
    await notify(chat, { kind: 'volunteer_call', ref: 'V-DEM5R' }, new Date(Date.parse('2026-11-20T15:00:30Z')));
    await service().pipeline.recordProactive(chat.address, 'sms', [{ kind: 'text', text: 'Your report is fixed' }], {
      key: `test|${Math.random()}`,
      locale: 'en',
      at: new Date(Date.parse('2026-11-20T15:00:40Z')),
      followUp: { kind: 'report_update', ref, category: 'pothole', sentAt: Date.parse('2026-11-20T15:00:40Z'), until: Date.parse('2026-11-23T15:00:40Z') },
    });
    expect(await chat.send('yes')).toContain('What name should we give the coordinator?');
    await chat.send('Ana');
    const graffiti = await chat.send('There is graffiti all over the library wall on Oak Street');
    expect(graffiti).not.toContain('added that');
    expect(graffiti).toMatch(/graffiti/i);
  });

  it('details that read as an unsure idea or request still join the report; a plain request does not', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send(`there's a huge pothole on ${street++}th St and Main`);
    await chat.send('skip');
    const ref = referenceIn(await chat.send('1'));
    await notify(chat, { kind: 'report_update', ref, category: 'pothole' }, new Date(Date.parse('2026-11-20T15:00:30Z')));
    // Details share words with ideas and requests ("wider", "back", "more"): whatever the
    // classifier leans to, an unsure reading stays with the report.
    for (const detail of ['more details: it is getting wider', "it's deeper now after the rain", "they patched it but it's back"]) {
      expect(await chat.send(detail)).toContain(`added that to your report ${ref}`);
    }
    expect(await chat.send('I have an idea for the city')).toContain("What's your idea?");
  });

  it('a report update never takes over a flow the resident is in', async () => {
    const chat = new TestConversation(service(), smsAddress());
    await chat.send(`there's a huge pothole on ${street++}th St and Main`);
    await chat.send('skip');
    const ref = referenceIn(await chat.send('1'));
    expect(await chat.send('I want to share an idea')).toContain("What's your idea?");
    await service().pipeline.recordProactive(chat.address, 'sms', [{ kind: 'text', text: 'Your report is fixed' }], {
      key: `test|${Math.random()}`,
      locale: 'en',
      at: new Date(Date.parse('2026-11-20T15:00:50Z')),
      followUp: { kind: 'report_update', ref, category: 'pothole', sentAt: Date.parse('2026-11-20T15:00:50Z'), until: Date.parse('2026-11-23T15:00:50Z') },
    });
    expect(await chat.send('More benches in the park')).toContain('Tell us more');
  });
});
