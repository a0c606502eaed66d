/**
 * Followers of a report hear what its reporter hears (issue 18), through the real app, the staff
 * API and the provider fakes: a status change is told to the reporter at once and to each
 * follower by a job, on their own channel and in their language, never to one who opted out and
 * never twice; the first fix thanks everyone by name with how many neighbours stood behind it,
 * and a second fix after a reopening does not thank again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, postJson, withProviderFakes, type RunningApp } from '../support/http.js';
import { startFakeTwilio, type FakeTwilio } from '../support/twilio.js';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { referenceIn, smsAddress, TestConversation, WEB_LIKE } from '../support/harness.js';
import { REPORT_FOLLOWERS_JOB, reportNoticeJobHandlers } from '../../src/staff/report-notices.js';

const ADMIN_TOKEN = 'report-followers-test-admin-token';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
let twilio: FakeTwilio;
let telegram: FakeTelegram;
let app: RunningApp;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  telegram = await startFakeTelegram();
  const { env, overrides } = withProviderFakes({ twilio, telegram }, { ADMIN_TOKEN });
  app = await startTestApp(env, overrides);
  app.service.jobs.start();
});
afterAll(async () => {
  await app.close();
  await twilio.close();
  await telegram.close();
});

const residentClock = () => new Date(Date.now() - 10 * 60_000);
const setStatus = (ref: string, status: string, note?: string) =>
  postJson(`${app.url}/admin/api/reports/${ref}/status`, { status, ...(note ? { note } : {}) }, auth);
const smsTo = (address: string) =>
  twilio.requests.filter((request) => request.form.To === address.slice('sms:'.length)).map((request) => request.form.Body ?? '');
const telegramTo = (chatId: number) =>
  telegram
    .callsOf('sendMessage')
    .filter((call) => call.payload.chat_id === chatId)
    .map((call) => String(call.payload.text));

/** A reporter (Spanish, SMS, named) and two followers: one on Telegram, one on SMS who later says STOP. */
async function reportWithFollowers(chatId: number) {
  const reporter = new TestConversation(app.service, smsAddress(), undefined, residentClock());
  await reporter.send('hola');
  await app.service.store.residents.upsert({ ...(await app.service.store.residents.get(reporter.address))!, name: 'Rosa' });
  await reporter.send(`bache en la calle ${chatId % 1000} y Main`);
  await reporter.send('es muy hondo, casi pierdo una rueda');
  await reporter.send('omitir');
  const ref = referenceIn(await reporter.send('1'));

  const onTelegram = new TestConversation(app.service, `telegram:${chatId}`, WEB_LIKE, residentClock());
  expect(await onTelegram.send(`pothole at Main and ${chatId % 1000}th`)).toContain(ref);
  await onTelegram.send({ choice: `follow:${ref}` });
  expect(await onTelegram.send('it is getting deeper every day')).toContain(`you follow ${ref}`);

  const optedOut = new TestConversation(app.service, smsAddress(), undefined, residentClock());
  expect(await optedOut.send(`pothole at ${chatId % 1000}th & main`)).toContain(ref);
  await optedOut.send('1');
  expect(await optedOut.send('skip')).toContain(`you follow ${ref}`);
  await optedOut.send('STOP');
  return { reporter, onTelegram, optedOut, ref };
}

describe('a report with followers', () => {
  it('tells each follower of an update once, on their channel, and never one who opted out', async () => {
    const chatId = 92_000_113;
    const { reporter, optedOut, ref } = await reportWithFollowers(chatId);
    twilio.requests.length = 0;

    const changed = await setStatus(ref, 'in_progress', 'Crew on site Tuesday');
    expect(changed.status).toBe(200);
    expect(changed.body.notification).toEqual({ state: 'sent' });
    expect(smsTo(reporter.address)).toEqual([expect.stringContaining(`Novedades sobre tu reporte ${ref}`)]);
    await app.service.jobs.idle();

    const told = telegramTo(chatId).filter((text) => text.includes('a report you follow'));
    expect(told).toEqual([`Update on ${ref} (Pothole), a report you follow: it is now In progress.\nNote from the city: Crew on site Tuesday`]);
    expect(smsTo(optedOut.address)).toEqual([]);

    // The job again with its payload (a worker that died after sending, its lease run out):
    // nobody hears it twice.
    const update = (await app.service.store.reportUpdates.find({ field: 'reportId', equals: ref }, { order: 'desc', limit: 1 }))[0]!;
    const handler = reportNoticeJobHandlers({ store: app.service.store, notifier: app.service.notifier })[REPORT_FOLLOWERS_JOB]!;
    const job = {
      _id: `${REPORT_FOLLOWERS_JOB}|${update._id}`,
      _rev: 1,
      kind: REPORT_FOLLOWERS_JOB,
      state: 'running' as const,
      dueAt: new Date(),
      attempts: 1,
      createdAt: new Date(),
      updatedAt: new Date(),
      payload: { reportId: ref, updateId: update._id, status: 'in_progress', note: 'Crew on site Tuesday', firstFix: false, residents: 3, followUpHours: 72 },
    };
    expect(await handler.run(job)).toEqual({ state: 'done' });
    expect(telegramTo(chatId).filter((text) => text.includes('a report you follow'))).toHaveLength(1);
  });

  it('thanks everyone by name on the first fix, with the neighbours behind it, and only the first time', async () => {
    const chatId = 92_000_127;
    const { reporter, ref } = await reportWithFollowers(chatId);
    twilio.requests.length = 0;

    await setStatus(ref, 'fixed');
    await app.service.jobs.idle();
    // (By SMS in GSM-7: "está" and "Tú" lose their accents, "¡" stays.)
    expect(smsTo(reporter.address)[0]).toContain(
      `Buenas noticias, Rosa: ${ref} (Bache) esta arreglado. ¡Gracias por avisarnos!\nTu y 2 vecinos lo reportaron o siguieron.`,
    );
    expect(telegramTo(chatId).at(-1)).toBe(`Good news: ${ref} (Pothole) is fixed. Thank you for telling us!\nYou and 2 neighbours reported or followed it.`);

    // Reopened and fixed again: told, not thanked again.
    await setStatus(ref, 'open');
    await setStatus(ref, 'fixed');
    await app.service.jobs.idle();
    expect(smsTo(reporter.address).filter((body) => body.includes('Gracias por avisarnos'))).toHaveLength(1);
    expect(telegramTo(chatId).filter((text) => text.includes('Thank you for telling us'))).toHaveLength(1);
    expect(telegramTo(chatId).at(-1)).toBe(`Update on ${ref} (Pothole), a report you follow: it is now Fixed.`);
  });

  it('lists a followed report under "my reports", and a follower who deletes their data leaves the report and their words', async () => {
    const chatId = 92_000_131;
    const { onTelegram, ref } = await reportWithFollowers(chatId);
    await onTelegram.send('my reports');
    expect(onTelegram.received.at(-1)?.buttons?.map((button) => button.id)).toContain(ref);
    const follow = await app.service.store.reportFollowers.get(`${ref}|${onTelegram.address}`);
    expect(follow?.noteId).toBeTruthy();

    await onTelegram.send('delete my data');
    await onTelegram.send({ choice: 'yes' });
    expect(await app.service.store.reportFollowers.get(`${ref}|${onTelegram.address}`)).toBeNull();
    expect(await app.service.store.reportUpdates.get(follow!.noteId!)).toBeNull();
    // The report and the other follower stay.
    expect(await app.service.store.reports.get(ref)).not.toBeNull();
    expect(await app.service.store.reportFollowers.count({ field: 'reportId', equals: ref })).toBe(1);
  });
});
