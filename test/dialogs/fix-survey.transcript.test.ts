/**
 * "Is it fixed?" (issue 18) end to end: staff mark a report fixed or closed; FIX_SURVEY_DAYS later
 * the job scheduler asks its reporter and followers, through the real SMS (fake Twilio) and
 * Telegram (fake Bot API) senders; their answers go through the real pipeline and dialog. The
 * scheduler's clock is the test's (`now` override); status changes are dated in the past, so
 * the residents' own clocks and the notifier's stay the real ones.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withOpenReportKeys } from '../../src/domain/open-report-keys.js';
import { newReference } from '../../src/domain/reference.js';
import { isQuiet } from '../../src/domain/quiet-hours.js';
import { followReport } from '../../src/pipeline/report-followers.js';
import type { Service } from '../../src/service.js';
import { changeReportStatus } from '../../src/staff/report-desk.js';
import { askJobId } from '../../src/staff/fix-survey-jobs.js';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { smsAddress, startTestService, TestConversation, WEB_LIKE } from '../support/harness.js';
import { withProviderFakes } from '../support/http.js';
import { startFakeTwilio, type FakeTwilio } from '../support/twilio.js';

const DAY = 86_400_000;
const MINUTE = 60_000;
const STAFF = { username: 'ana', role: 'coordinator' } as const;

let twilio: FakeTwilio;
let telegram: FakeTelegram;
let started: Awaited<ReturnType<typeof startTestService>>;
/** How far the scheduler's clock is ahead of the real one. */
let shift = 0;
const service = (): Service => started.service;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  telegram = await startFakeTelegram();
  // Quiet hours are off here; the test that needs them starts a service of its own.
  const { env, overrides } = withProviderFakes({ twilio, telegram }, { QUIET_HOURS: 'off' });
  started = await startTestService(env, { ...overrides, now: () => new Date(Date.now() + shift) });
  service().jobs.start();
});
afterEach(() => {
  shift = 0;
});
afterAll(async () => {
  await started.close();
  await twilio.close();
  await telegram.close();
});

/** Runs what the scheduler finds due now (after moving its clock `ms` on). */
async function runJobs(ms = 0, on: Service = service()): Promise<void> {
  shift += ms;
  await on.jobs.idle();
}

/**
 * A resident who has written once (so they have a profile and a language), on a clock a little in
 * the past: their messages come before the notifier's, which reads the real clock, as they would.
 */
async function resident(
  address: string,
  hello = 'hi',
  capabilities = undefined as typeof WEB_LIKE | undefined,
  on: Service = service(),
): Promise<TestConversation> {
  const chat = new TestConversation(on, address, capabilities, new Date(Date.now() - 10 * MINUTE));
  await chat.send(hello);
  return chat;
}

/** An open report of the resident's, made five days ago. */
async function aReport(chat: TestConversation, locale = 'en', on: Service = service()): Promise<string> {
  const ref = newReference('R');
  const made = new Date(Date.now() - 5 * DAY);
  await on.store.reports.insert(
    withOpenReportKeys({
      _id: ref,
      category: 'pothole',
      status: 'open',
      statusGroup: 'open',
      location: { text: '5th and Main' },
      description: 'Deep hole in the crosswalk',
      photos: [],
      residentAddress: chat.address,
      channel: chat.address.startsWith('telegram:') ? 'telegram' : 'sms',
      locale,
      createdAt: made,
      updatedAt: made,
    }),
  );
  return ref;
}

/** Staff set the status, `daysAgo` days ago by the scheduler's clock (what is due is due now). */
async function setStatus(ref: string, status: string, daysAgo: number, on: Service = service()): Promise<void> {
  // `notify: false`: the status update's own message is not what these tests look at.
  await changeReportStatus(on.staff, ref, { status, notify: false }, STAFF, new Date(Date.now() + shift - daysAgo * DAY));
}

/** What the fake Twilio was asked to send to an SMS address. */
function smsTo(address: string): string[] {
  return twilio.requests.filter((r) => r.form.To === address.slice('sms:'.length)).map((r) => r.form.Body ?? '');
}

/** The messages the fake Telegram was asked to send to a chat. */
function telegramTo(chatId: number) {
  return telegram.callsOf('sendMessage').filter((call) => call.payload.chat_id === chatId);
}

describe('asking whether a report is really fixed (SMS, English)', () => {
  it('asks the reporter FIX_SURVEY_DAYS after the fix, then takes yes, a rating and a comment', async () => {
    const chat = await resident(smsAddress());
    const ref = await aReport(chat);
    await setStatus(ref, 'fixed', 1);
    await runJobs();
    // One day after the fix: not yet.
    expect(smsTo(chat.address)).toEqual([]);
    await runJobs(DAY + MINUTE);
    expect(smsTo(chat.address)).toEqual([`Is ${ref} (Pothole at 5th and Main) really fixed?\n1. Yes\n2. No\nReply 1-2.`]);

    expect(await chat.send('1')).toBe(
      'Good to hear! How satisfied are you with how Springfield handled it?\n1. Very dissatisfied\n2. Dissatisfied\n3. Neutral\n4. Satisfied\n5. Very satisfied\nReply 1-5.',
    );
    expect(await chat.send('4')).toBe("Anything you'd like to add? Write it here, or reply SKIP.");
    expect(await chat.send('Quick work, thanks <b>crew</b>')).toBe('Thank you! Your answers help Springfield do better.');

    const [survey] = await service().store.reportSurveys.find({ field: 'reportId', equals: ref });
    expect(survey).toMatchObject({ fixed: 'yes', rating: 4, comment: 'Quick work, thanks <b>crew</b>', category: 'pothole', channel: 'sms', locale: 'en' });
    expect((await service().store.reports.get(ref))?.status).toBe('fixed');
    // The question is answered: "1" now means nothing in particular.
    expect(await chat.send('1')).not.toContain('satisfied');
  });

  it('retries nonsense, lets navigation words and a new report through, and skips the comment', async () => {
    const chat = await resident(smsAddress());
    const ref = await aReport(chat);
    await setStatus(ref, 'closed', 3);
    await runJobs();
    expect(smsTo(chat.address)).toHaveLength(1);

    // A new problem is a new report, and the question stays for later.
    expect(await chat.send('graffiti all over the library wall')).toContain('Where is it?');
    expect(await chat.send('exit')).toContain("OK, I've stopped reporting a problem.");
    // Outside any flow, nonsense gets the question again, with what it wants.
    expect(await chat.send('asdfgh')).toBe(`Sorry, I didn't get that.\n\nIs ${ref} (Pothole) really fixed?\n1. Yes\n2. No\nReply 1-2.`);
    expect(await chat.send('purple')).toContain('Please reply 1 if it is really fixed, or 2 if it is not.');
    expect(await chat.send('yes')).toContain('How satisfied');
    expect(await chat.send('great')).toContain('Please reply with a number from 1 (very dissatisfied) to 5 (very satisfied).');
    expect(await chat.send('5 stars')).toContain('Anything you');
    expect(await chat.send('skip')).toBe('Thank you! Your answers help Springfield do better.');
    const [survey] = await service().store.reportSurveys.find({ field: 'reportId', equals: ref });
    expect(survey).toMatchObject({ fixed: 'yes', rating: 5 });
    expect(survey?.comment).toBeUndefined();
  });

  it('"no" reopens the report, flags it for staff, and adds a "not fixed" update, once', async () => {
    const chat = await resident(smsAddress());
    const ref = await aReport(chat);
    await setStatus(ref, 'fixed', 2);
    await runJobs();
    expect(await chat.send('no, still a hole there')).toContain(`Sorry it isn't fixed. ${ref} is open again`);
    const report = await service().store.reports.get(ref);
    expect(report).toMatchObject({ status: 'open', statusGroup: 'open' });
    expect(report?.reopenedByResident).toBeInstanceOf(Date);
    // Back among the open reports "already reported?" looks at.
    expect(report?.openPlace).toBeDefined();
    const updates = await service().store.reportUpdates.find({ field: 'reportId', equals: ref });
    expect(updates.filter((u) => u.notFixed)).toEqual([expect.objectContaining({ status: 'open', by: 'system' })]);
    expect(await chat.send('2')).toContain('Anything you');
    expect(await chat.send('It took three weeks')).toBe("Thank you. The city's staff will look at it again.");
    expect((await service().store.reportSurveys.find({ field: 'reportId', equals: ref }))[0]).toMatchObject({ fixed: 'no', rating: 2 });
  });
});

describe('asking by SMS in Spanish', () => {
  it('asks with numbers, reads "sí", a rating and OMITIR; "menu" in the middle leaves with the answer kept', async () => {
    const chat = await resident(smsAddress(), 'hola');
    const ref = await aReport(chat, 'es');
    await setStatus(ref, 'fixed', 2);
    await runJobs();
    expect(smsTo(chat.address)).toEqual([`¿Esta realmente arreglado ${ref} (Bache en 5th and Main)?\n1. Si\n2. No\nResponde 1-2.`]);
    expect(await chat.send('sí')).toContain('¿Qué tan satisfecho estás con cómo lo atendió Springfield?\n1. Muy mal');
    expect(await chat.send('5')).toBe('¿Quieres añadir algo? Escríbelo aquí, o responde OMITIR.');
    expect(await chat.send('omitir')).toBe('¡Gracias! Tus respuestas ayudan a Springfield a mejorar.');
    expect((await service().store.reportSurveys.find({ field: 'reportId', equals: ref }))[0]).toMatchObject({ fixed: 'yes', rating: 5, locale: 'es' });

    const other = await resident(smsAddress(), 'hola');
    const second = await aReport(other, 'es');
    await setStatus(second, 'fixed', 2);
    await runJobs();
    expect(await other.send('1')).toContain('¿Qué tan satisfecho');
    expect(await other.send('menú')).toContain('Reportar un problema');
    expect((await service().store.reportSurveys.find({ field: 'reportId', equals: second }))[0]).toMatchObject({ fixed: 'yes' });
  });
});

describe('asking on Telegram, in Spanish, with buttons', () => {
  it('asks with Sí / No buttons; "No" reopens; the rating and comment are buttons and words', async () => {
    const chatId = 880_000 + Math.floor(Math.random() * 10_000);
    const chat = await resident(`telegram:${chatId}`, 'hola', WEB_LIKE);
    const ref = await aReport(chat, 'es');
    await setStatus(ref, 'fixed', 2);
    await runJobs();
    const [asked] = telegramTo(chatId).slice(-1);
    expect(asked?.payload.text).toBe(`¿Está realmente arreglado ${ref} (Bache en 5th and Main)?`);
    expect(JSON.stringify(asked?.payload.reply_markup)).toContain('"Sí"');

    const reply = await chat.sendRaw({ text: 'No', choice: 'no' });
    expect(reply[0]?.text).toContain(`Lamentamos que no esté arreglado. ${ref} está abierto otra vez`);
    expect(reply[0]?.buttons?.map((b) => b.id)).toEqual(['1', '2', '3', '4', '5']);
    expect(reply[0]?.text).not.toMatch(/Responde 1/);
    expect(await chat.send({ text: 'Regular', choice: '3' })).toBe('¿Quieres añadir algo? Escríbelo aquí, o pulsa Omitir.');
    expect(await chat.send({ text: 'Omitir', choice: 'skip' })).toBe('Gracias. El personal de la ciudad lo revisará de nuevo.');
    expect(await service().store.reports.get(ref)).toMatchObject({ status: 'open' });
    expect((await service().store.reportSurveys.find({ field: 'reportId', equals: ref }))[0]).toMatchObject({
      fixed: 'no',
      rating: 3,
      locale: 'es',
      channel: 'telegram',
    });
  });
});

describe('who is asked, and when', () => {
  it('asks followers too; a second fix asks only those never asked', async () => {
    const reporter = await resident(smsAddress());
    const follower = await resident(smsAddress());
    const later = await resident(smsAddress());
    const ref = await aReport(reporter);
    expect(await followReport(service().store, { ref, address: follower.address, sourceKey: `test|${follower.address}`, now: new Date() })).toBe('following');
    await setStatus(ref, 'fixed', 2);
    await runJobs();
    expect(smsTo(reporter.address)).toHaveLength(1);
    expect(smsTo(follower.address)).toEqual([`Is ${ref} (Pothole at 5th and Main) really fixed?\n1. Yes\n2. No\nReply 1-2.`]);
    await reporter.send('yes');

    // Staff reopen it, someone else follows, and it is fixed again.
    await setStatus(ref, 'in_progress', 2);
    expect(await followReport(service().store, { ref, address: later.address, sourceKey: `test|${later.address}`, now: new Date() })).toBe('following');
    await setStatus(ref, 'fixed', 2);
    await runJobs();
    expect(smsTo(reporter.address)).toHaveLength(1);
    expect(smsTo(follower.address)).toHaveLength(1);
    expect(smsTo(later.address)).toHaveLength(1);
  });

  it('does not ask a resident who opted out', async () => {
    const chat = await resident(smsAddress());
    const ref = await aReport(chat);
    await chat.send('STOP');
    const before = smsTo(chat.address).length;
    await setStatus(ref, 'fixed', 2);
    await runJobs();
    expect(smsTo(chat.address)).toHaveLength(before);
    expect(await service().store.jobs.get(askJobId(ref, chat.address))).toMatchObject({ state: 'done' });
  });

  it('asks nobody about a report reopened before the question was due', async () => {
    const chat = await resident(smsAddress());
    const ref = await aReport(chat);
    await setStatus(ref, 'fixed', 1);
    await setStatus(ref, 'in_progress', 0);
    await runJobs(DAY + MINUTE);
    expect(smsTo(chat.address)).toEqual([]);
    expect(await service().store.jobs.get(askJobId(ref, chat.address))).toBeNull();
  });

  it('does not ask "not the city\'s responsibility" or a duplicate', async () => {
    const chat = await resident(smsAddress());
    const refs = [await aReport(chat), await aReport(chat)];
    await setStatus(refs[0]!, 'not_responsible', 2);
    await setStatus(refs[1]!, 'duplicate', 2);
    await runJobs();
    expect(smsTo(chat.address)).toEqual([]);
  });

  it('does not interrupt a resident in the middle of a flow, and asks once they left it a while', async () => {
    const chat = await resident(smsAddress());
    const ref = await aReport(chat);
    expect(await chat.send('I want to share an idea')).toContain("What's your idea?");
    await setStatus(ref, 'fixed', 2);
    await runJobs();
    expect(smsTo(chat.address)).toEqual([]);
    const waiting = await service().store.jobs.get(askJobId(ref, chat.address));
    expect(waiting?.state).toBe('pending');
    // Looked at again when their flow would be asked about anyway (FLOW_RESUME_PROMPT_AFTER_MINUTES).
    expect(waiting!.dueAt.getTime()).toBeGreaterThan(Date.now() + 45 * MINUTE);

    chat.wait(61 * MINUTE);
    await runJobs(61 * MINUTE);
    expect(smsTo(chat.address)).toHaveLength(1);
    // Their first reply answers the question, over the idea they left an hour ago.
    expect(await chat.send('yes')).toContain('How satisfied');
  });
});

describe('quiet hours', () => {
  it('waits until they end', async () => {
    // 23:00 in the city (QUIET_HOURS 21:00-08:00, America/New_York) within the next two days.
    let night = Math.ceil(Date.now() / (15 * MINUTE)) * 15 * MINUTE;
    while (!isQuiet({ start: 23 * 60, end: 23 * 60 + 15 }, 'America/New_York', new Date(night))) night += 15 * MINUTE;
    let clock = night;
    const { env, overrides } = withProviderFakes({ twilio }, { QUIET_HOURS: '21:00-08:00' });
    const quiet = await startTestService(env, { ...overrides, now: () => new Date(clock) });
    try {
      quiet.service.jobs.start();
      const chat = await resident(smsAddress(), 'hi', undefined, quiet.service);
      const ref = await aReport(chat, 'en', quiet.service);
      await changeReportStatus(quiet.service.staff, ref, { status: 'fixed', notify: false }, STAFF, new Date(clock - 2 * DAY));
      await quiet.service.jobs.idle();
      expect(smsTo(chat.address)).toEqual([]);
      expect(await quiet.service.store.jobs.get(askJobId(ref, chat.address))).toMatchObject({ state: 'pending' });
      clock += 9.5 * 60 * MINUTE; // 08:30
      await quiet.service.jobs.idle();
      expect(smsTo(chat.address)).toHaveLength(1);
    } finally {
      await quiet.close();
    }
  });
});

describe('asking in the web chat, in English', () => {
  it('asks in the chat log with Yes / No buttons; "No" reopens; a rating and a comment in words', async () => {
    const conversationId = `survey-web-${Math.floor(Math.random() * 1e9)}`;
    const chat = await resident(`webchat:${conversationId}`, 'hi', WEB_LIKE);
    const ref = await aReport(chat);
    await setStatus(ref, 'closed', 2);
    await runJobs();
    const [asked] = await service().store.webchatActivities.find({ field: 'conversationId', equals: conversationId }, { order: 'desc', limit: 1 });
    const activity = asked?.activity as { text?: string; suggestedActions?: { actions: { title: string }[] } };
    expect(activity.text).toBe(`Is ${ref} (Pothole at 5th and Main) really fixed?`);
    expect(activity.suggestedActions?.actions.map((action) => action.title)).toEqual(['Yes', 'No']);

    const reply = await chat.sendRaw({ text: 'No', choice: 'no' });
    expect(reply[0]?.text).toContain(`${ref} is open again`);
    await chat.send({ text: '2', choice: '2' });
    // Starting with "no" is still the comment, not a "no" to skip it.
    expect(await chat.send('no, the crew only filled half of it')).toContain('Thank you');
    expect(await service().store.reports.get(ref)).toMatchObject({ status: 'open', reopenedByResident: expect.any(Date) });
    expect((await service().store.reportSurveys.find({ field: 'reportId', equals: ref }))[0]).toMatchObject({
      fixed: 'no',
      rating: 2,
      comment: 'no, the crew only filled half of it',
      channel: 'webchat',
    });
  });
});
