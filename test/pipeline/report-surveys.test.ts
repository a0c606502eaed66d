/**
 * The survey's records (src/pipeline/report-surveys.ts) where the transcripts cannot reach: a
 * turn retried after staff fixed the report again does not reopen it twice; several residents'
 * "no" reopen it once; and a resident who deletes their data leaves their numbers without their
 * address or words.
 */
import { describe, expect, it } from 'vitest';
import { withOpenReportKeys } from '../../src/domain/open-report-keys.js';
import { newReference } from '../../src/domain/reference.js';
import type { CommandScope } from '../../src/pipeline/command-runner.js';
import { answerSurvey } from '../../src/pipeline/report-surveys.js';
import { changeReportStatus } from '../../src/staff/report-desk.js';
import { smsAddress, TestConversation, useTestService } from '../support/harness.js';

const service = useTestService({ QUIET_HOURS: 'off' });
const STAFF = { username: 'ana', role: 'coordinator' } as const;
const DAY = 86_400_000;

/** A fixed report of `address`'s. */
async function aFixedReport(address: string): Promise<string> {
  const ref = newReference('R');
  const made = new Date(Date.now() - 5 * DAY);
  await service().store.reports.insert(
    withOpenReportKeys({
      _id: ref,
      category: 'streetlight',
      status: 'fixed',
      statusGroup: 'fixed',
      location: { text: 'Elm and 3rd' },
      description: 'Dark for a week',
      photos: [],
      residentAddress: address,
      channel: 'sms',
      locale: 'en',
      createdAt: made,
      updatedAt: made,
      fixedAt: new Date(Date.now() - 2 * DAY),
    }),
  );
  return ref;
}

function scopeOf(address: string, message: string): CommandScope {
  return { address, channel: 'sms', locale: 'en', sourceKey: `${address}|sms:${message}`, now: new Date() };
}

describe('a "no" that reopens a report', () => {
  it('is not applied again by a retry of its message after staff fixed the report again', async () => {
    const address = smsAddress();
    const ref = await aFixedReport(address);
    const scope = scopeOf(address, 'SM-no-1');
    expect(await answerSurvey(service().store, { ref, fixed: 'no' }, scope)).toMatchObject({ outcome: 'reopened' });
    await changeReportStatus(service().staff, ref, { status: 'fixed', notify: false }, STAFF);
    // The same message again (a turn that died after its command ran): the same answer, and the
    // report that staff fixed since stays fixed.
    expect(await answerSurvey(service().store, { ref, fixed: 'no' }, scope)).toMatchObject({ outcome: 'reopened' });
    expect(await service().store.reports.get(ref)).toMatchObject({ status: 'fixed' });
    expect(await service().store.reportSurveys.count({ field: 'reportId', equals: ref })).toBe(1);
    const notFixed = (await service().store.reportUpdates.find({ field: 'reportId', equals: ref })).filter((u) => u.notFixed);
    expect(notFixed).toHaveLength(1);
  });

  it('reopens once when several residents say no at the same time', async () => {
    const reporter = smsAddress();
    const ref = await aFixedReport(reporter);
    const others = [smsAddress(), smsAddress(), smsAddress()];
    const outcomes = await Promise.all(
      [reporter, ...others].map((address, i) => answerSurvey(service().store, { ref, fixed: 'no' }, scopeOf(address, `SM-many-${i}`))),
    );
    expect(outcomes.filter((o) => o.outcome === 'reopened')).toHaveLength(1);
    expect(outcomes.every((o) => o.surveyId !== null)).toBe(true);
    expect(await service().store.reports.get(ref)).toMatchObject({ status: 'open', statusGroup: 'open' });
    const notFixed = (await service().store.reportUpdates.find({ field: 'reportId', equals: ref })).filter((u) => u.notFixed);
    expect(notFixed).toHaveLength(1);
    expect(await service().store.reportSurveys.count({ field: 'reportId', equals: ref })).toBe(4);
  });

  it("adds the rating only to the resident's own answers", async () => {
    const address = smsAddress();
    const ref = await aFixedReport(address);
    const { surveyId } = await answerSurvey(service().store, { ref, fixed: 'yes' }, scopeOf(address, 'SM-own-1'));
    const stranger = await answerSurvey(service().store, { ref, surveyId: surveyId!, rating: 1, comment: 'not mine' }, scopeOf(smsAddress(), 'SM-own-2'));
    expect(stranger).toMatchObject({ outcome: 'not_found' });
    expect(await service().store.reportSurveys.get(surveyId!)).not.toHaveProperty('rating');
  });
});

describe('deleting my data', () => {
  it('keeps the answers as numbers, without the address or the comment', async () => {
    const chat = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 10 * 60_000));
    await chat.send('hi');
    const ref = await aFixedReport(chat.address);
    const sentAt = Date.now();
    await service().pipeline.recordProactive(chat.address, 'sms', [{ kind: 'text', text: `Is ${ref} really fixed?` }], {
      key: `test|${ref}`,
      locale: 'en',
      at: new Date(sentAt),
      followUp: { kind: 'fix_survey', ref, category: 'streetlight', sentAt, until: sentAt + 7 * DAY },
    });
    expect(await chat.send('no')).toContain('How satisfied');
    await chat.send('2');
    expect(await chat.send('Called three times before anyone came')).toContain('Thank you');

    expect(await chat.send('delete my data')).toContain('Delete?');
    expect(await chat.send('1')).toContain('Your data is deleted.');
    const [kept] = await service().store.reportSurveys.find({ field: 'reportId', equals: ref });
    expect(kept).toMatchObject({ reportId: ref, category: 'streetlight', fixed: 'no', rating: 2 });
    expect(kept).not.toHaveProperty('address');
    expect(kept).not.toHaveProperty('comment');
    expect(JSON.stringify(kept)).not.toContain(chat.address.slice(4));
    expect(await service().store.reportSurveys.count({ field: 'address', equals: chat.address })).toBe(0);
    // The report stays reopened and flagged: that names nobody.
    expect((await service().store.reports.get(ref))?.reopenedByResident).toBeInstanceOf(Date);
  });
});
