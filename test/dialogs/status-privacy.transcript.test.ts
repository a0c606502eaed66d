/**
 * Issue 17, section 1: `status R-XXXXX` by anyone who knew the reference showed the reporter's
 * own words in the updates. Anyone may see the report's status and the city's notes; only the
 * reporter (the address that filed it) sees their own replies.
 */
import { describe, expect, it } from 'vitest';
import { referenceIn, smsAddress, TestConversation, useTestService, WEB_LIKE } from '../support/harness.js';

const service = useTestService();
const HOUR = 3_600_000;
const PRIVATE_REPLY = 'still broken, I am Ana at 12 Elm, call me on 555-0199';
const CITY_NOTE = 'Crew scheduled for Monday';

/** A report filed by SMS, with a city note and the reporter's reply to the update. */
/** Each report on a street of its own: a second at one corner would be offered as "already reported". */
let street = 20;

async function reportWithReply(): Promise<{ reporter: TestConversation; ref: string }> {
  const reporter = new TestConversation(service(), smsAddress());
  await reporter.send(`there's a huge pothole on ${street++}th St and Main`);
  await reporter.send('skip');
  const ref = referenceIn(await reporter.send('1'));
  const at = new Date(Date.parse('2026-11-20T15:00:30Z'));
  await service().store.reportUpdates.insert({ _id: `${ref}|city`, reportId: ref, status: 'in_progress', note: CITY_NOTE, by: 'staff', at });
  await service().pipeline.recordProactive(reporter.address, 'sms', [{ kind: 'text', text: CITY_NOTE }], {
    key: `test|${ref}`,
    locale: 'en',
    at,
    followUp: { kind: 'report_update', ref, sentAt: at.getTime(), until: at.getTime() + 72 * HOUR },
  });
  expect(await reporter.send(PRIVATE_REPLY)).toContain(`added that to your report ${ref}`);
  return { reporter, ref };
}

describe('a status lookup by reference', () => {
  it("shows another resident the status and the city's notes, never the reporter's words (English, SMS)", async () => {
    const { ref } = await reportWithReply();
    const stranger = new TestConversation(service(), smsAddress());
    const answer = await stranger.send(`status ${ref}`);
    expect(answer).toContain(ref);
    expect(answer).toContain('In progress');
    expect(answer).toContain(CITY_NOTE);
    expect(answer).not.toContain('555-0199');
    expect(answer).not.toContain('still broken');
  });

  it('shows the reporter their own reply', async () => {
    const { reporter, ref } = await reportWithReply();
    const answer = await reporter.send(`status ${ref}`);
    expect(answer).toContain(CITY_NOTE);
    expect(answer).toContain(PRIVATE_REPLY);
  });

  it("keeps the reporter's words from another resident in Spanish, and on the web chat", async () => {
    const { ref } = await reportWithReply();
    const spanish = new TestConversation(service(), smsAddress());
    await spanish.send('hola');
    const answer = await spanish.send(`estado de ${ref}`);
    expect(answer).toContain('Novedades');
    expect(answer).toContain(CITY_NOTE);
    expect(answer).not.toContain('555-0199');

    const web = new TestConversation(service(), `web:${'s'.repeat(22)}`, WEB_LIKE);
    const onWeb = await web.send(ref);
    expect(onWeb).toContain(CITY_NOTE);
    expect(onWeb).not.toContain('555-0199');
  });
});
