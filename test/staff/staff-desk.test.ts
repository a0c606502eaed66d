/**
 * The staff desk through the staff API (ADMIN_TOKEN bearer) against the real app, with residents
 * on SMS (fake Twilio), Telegram (fake Bot API) and web chat (the Direct Line log): a status
 * change reaches each resident on their own channel in their language, never an opted-out one;
 * a reply to it is added to the report; ideas are answered to author and supporters; roles are
 * created and edited; a cancelled spot goes to the waitlist, who are told; sign-ups export as CSV.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { broadcastDone } from '../support/broadcast-done.js';
import { startTestApp, postJson, withProviderFakes, type RunningApp } from '../support/http.js';
import { startFakeTwilio, type FakeTwilio } from '../support/twilio.js';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { referenceIn, smsAddress, TestConversation, WEB_LIKE } from '../support/harness.js';

const ADMIN_TOKEN = 'staff-desk-test-admin-token';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
let twilio: FakeTwilio;
let telegram: FakeTelegram;
let app: RunningApp;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  telegram = await startFakeTelegram();
  // Quiet hours off: an idea's answer is a broadcast, which waits them out (the tests run at any hour).
  const { env, overrides } = withProviderFakes({ twilio, telegram }, { ADMIN_TOKEN, QUIET_HOURS: 'off' });
  app = await startTestApp(env, overrides);
});
afterAll(async () => {
  await app.close();
  await twilio.close();
  await telegram.close();
});

/** A resident's clock a little in the past, so their messages come before staff's actions. */
const residentClock = () => new Date(Date.now() - 10 * 60_000);

const api = (path: string) => `${app.url}/admin/api${path}`;
const getJson = async (path: string) => {
  const response = await fetch(api(path), { headers: auth });
  return { status: response.status, body: (await response.json()) as any };
};

/** Files a pothole report as a resident (answering whatever the dialog asks) and returns its reference. */
async function fileReport(resident: TestConversation, spanish = false): Promise<string> {
  let reply = await resident.send(spanish ? 'hay un bache enorme en la Calle 5 y Main' : "there's a huge pothole on 5th and Main");
  for (let turn = 0; turn < 5; turn++) {
    // Every report here is at 5th and Main: file it although one is open there already.
    if (/already (?:be )?reported|ya (?:reportó|esté reportado)/i.test(reply)) {
      reply = await resident.send(spanish ? 'enviar el mío igual' : 'file mine anyway');
      continue;
    }
    if (/\bR-[0-9A-Z]{5}\b/.test(reply)) return referenceIn(reply);
    // Buttons: press the first (yes / send it); a numbered list: 1; a photo question: skip.
    const buttons = resident.received.at(-1)?.buttons;
    reply = await resident.send(buttons?.length ? { choice: buttons[0]!.id } : /^1\./m.test(reply) ? '1' : spanish ? 'omitir' : 'skip');
  }
  throw new Error(`The report was not filed: ${reply}`);
}

describe('report status changes', () => {
  it('tell an SMS resident by SMS, in their language, and take their reply as an update', async () => {
    const resident = new TestConversation(app.service, smsAddress(), undefined, residentClock());
    const ref = await fileReport(resident, true);
    twilio.requests.length = 0;
    // Open, it is in the duplicate search's place index ("Calle 5 y Main" is 5th and Main).
    expect((await app.service.store.reports.get(ref))?.openPlace).toBe('pothole|x:5|main');

    const changed = await postJson(api(`/reports/${ref}/status`), { status: 'fixed', note: 'Bacheado el martes' }, auth);
    expect(changed.status).toBe(200);
    expect(changed.body.notification).toEqual({ state: 'sent' });
    expect(changed.body.report).toMatchObject({ _id: ref, status: 'fixed', statusGroup: 'fixed' });
    // Fixed, it left it: nobody is offered a fixed pothole as "already reported".
    expect(await app.service.store.reports.get(ref)).not.toHaveProperty('openPlace');
    expect(changed.body.report.resident).toMatch(/^sms:…\d{4}$/);
    expect(twilio.requests).toHaveLength(1);
    expect(twilio.requests[0]!.form.To).toBe(resident.address.slice(4));
    // Its first fix: thanked (by SMS in GSM-7, "está" without its accent).
    expect(twilio.requests[0]!.form.Body).toContain(`Buenas noticias: ${ref} (Bache) esta arreglado.`);
    expect(twilio.requests[0]!.form.Body).toContain('Bacheado el martes');

    const reply = await resident.send({ text: 'sigue roto, el agua se mete', at: new Date() });
    expect(reply).toContain(`lo añadí a tu reporte ${ref}`);
    const detail = await getJson(`/reports/${ref}`);
    expect(detail.body.updates.map((u: any) => [u.by, u.status ?? null, u.note ?? null])).toEqual([
      ['system', 'open', null],
      ['staff', 'fixed', 'Bacheado el martes'],
      ['resident', null, 'sigue roto, el agua se mete'],
    ]);
    expect(detail.body.report.fixedAt).toBeTruthy();
    expect(detail.body.transcript.some((entry: any) => entry.direction === 'in' && entry.text.includes('bache enorme'))).toBe(true);
  });

  it('tell a Telegram resident on Telegram and a web chat resident in their chat log', async () => {
    const chatId = 91_000_001;
    const onTelegram = new TestConversation(app.service, `telegram:${chatId}`, WEB_LIKE, residentClock());
    const telegramRef = await fileReport(onTelegram);
    const onWeb = new TestConversation(app.service, 'webchat:staff-desk-test-conversation', WEB_LIKE, residentClock());
    const webRef = await fileReport(onWeb);

    expect((await postJson(api(`/reports/${telegramRef}/status`), { status: 'in_progress' }, auth)).body.notification).toEqual({ state: 'sent' });
    const sent = telegram.callsOf('sendMessage').filter((call) => call.payload.chat_id === chatId);
    expect(sent.at(-1)!.payload.text).toContain(`Update on your report ${telegramRef}`);
    expect(sent.at(-1)!.payload.text).toContain('In progress');

    expect((await postJson(api(`/reports/${webRef}/status`), { status: 'action_scheduled', note: 'Crew booked for Monday' }, auth)).body.notification).toEqual({
      state: 'sent',
    });
    const log = await app.service.store.webchatActivities.find(
      { field: 'conversationId', equals: 'staff-desk-test-conversation' },
      { order: 'desc', limit: 1 },
    );
    expect((log[0]!.activity as { text: string }).text).toContain('Crew booked for Monday');
  });

  it('do not reach a resident who opted out, and say so', async () => {
    const resident = new TestConversation(app.service, smsAddress(), undefined, residentClock());
    const ref = await fileReport(resident);
    await resident.send('STOP');
    twilio.requests.length = 0;
    const changed = await postJson(api(`/reports/${ref}/status`), { status: 'closed' }, auth);
    expect(changed.body.notification).toEqual({ state: 'skipped', reason: 'opted_out' });
    expect(twilio.requests).toHaveLength(0);
    const updates = (await getJson(`/reports/${ref}`)).body.updates;
    expect(updates.at(-1)).toMatchObject({ status: 'closed', notified: false, staff: 'admin-token' });
  });

  it('refuse unknown statuses and references with a 4xx that says why', async () => {
    const resident = new TestConversation(app.service, smsAddress(), undefined, residentClock());
    const ref = await fileReport(resident);
    expect((await postJson(api(`/reports/${ref}/status`), { status: 'teleported' }, auth)).status).toBe(400);
    expect((await postJson(api('/reports/R-22222/status'), { status: 'fixed' }, auth)).status).toBe(404);
    expect((await postJson(api(`/reports/${ref}/status`), { status: 'fixed', extra: 1 }, auth)).status).toBe(400);
    expect((await postJson(api(`/reports/${ref}/status`), { status: { $gt: '' } }, auth)).status).toBe(400);
  });

  it('list with filters by status group, category, channel and age', async () => {
    const all = (await getJson('/reports')).body.reports;
    expect(all.length).toBeGreaterThanOrEqual(4);
    const fixed = (await getJson('/reports?statusGroup=fixed')).body.reports;
    expect(fixed.every((r: any) => r.statusGroup === 'fixed')).toBe(true);
    expect((await getJson('/reports?channel=telegram')).body.reports.every((r: any) => r.channel === 'telegram')).toBe(true);
    expect((await getJson('/reports?category=pothole&maxAgeDays=1')).body.reports.length).toBe(all.length);
    expect((await getJson('/reports?minAgeDays=2')).body.reports).toEqual([]);
    expect((await getJson('/reports?channel=fax')).status).toBe(400);
  });
});

describe('ideas', () => {
  it('answer the author and the supporters, by broadcast, once per status', async () => {
    const author = new TestConversation(app.service, smsAddress(), undefined, residentClock());
    await author.send('I have an idea');
    await author.send('More benches in Central Park');
    await author.send('Older people need places to rest');
    await author.send('Central');
    const ref = referenceIn(await author.send('1'), 'I');
    const supporter = new TestConversation(app.service, `telegram:${91_000_002}`, WEB_LIKE, residentClock());
    expect(await supporter.send(`support ${ref}`)).toContain(`support for ${ref} is counted`);

    const bySupport = (await getJson('/ideas?sort=support')).body.ideas;
    expect(bySupport[0]).toMatchObject({ _id: ref, supports: 1 });
    twilio.requests.length = 0;
    const answered = await postJson(api(`/ideas/${ref}/response`), { status: 'accepted', note: 'Six benches in spring' }, auth);
    expect(answered.body).toMatchObject({ queued: true, idea: { status: 'accepted', response: { note: 'Six benches in spring' } } });
    // Nobody is told inside the request: the broadcast worker tells them.
    expect(twilio.requests).toEqual([]);
    const progress = await broadcastDone(app.service, answered.body.broadcastId);
    expect(progress).toMatchObject({ planned: 2, byState: { sent: 2 } });
    expect(twilio.requests.at(-1)!.form.Body).toContain(`The city answered idea ${ref} "More benches in Central Park": accepted.\nSix benches in spring`);
    const toSupporter = telegram.callsOf('sendMessage').filter((c) => c.payload.chat_id === 91_000_002);
    expect(toSupporter.at(-1)!.payload.text).toContain(`The city answered idea ${ref}`);
    // The same answer again (a retried request): the same broadcast, nobody told twice.
    const again = await postJson(api(`/ideas/${ref}/response`), { status: 'accepted', note: 'Six benches in spring' }, auth);
    expect(again.body).toMatchObject({ queued: false, broadcastId: answered.body.broadcastId });
  });
});

describe('volunteer roles', () => {
  const role = {
    title: 'Tool library helper',
    description: 'Lend tools to neighbours on Saturday mornings.',
    interests: ['Repairs', 'community'],
    neighbourhood: 'Eastside',
    place: 'Eastside Library',
    startsAt: '2026-12-05T15:00:00Z',
    capacity: 1,
    contact: 'tools@springfield.example',
  };

  it('are created, edited and closed, with a 4xx for bad fields', async () => {
    const created = await postJson(api('/roles'), role, auth);
    expect(created.status).toBe(201);
    expect(created.body.role).toMatchObject({ title: role.title, interests: ['repairs', 'community'], status: 'open', demo: false });
    const ref = created.body.role._id as string;
    const edited = await fetch(api(`/roles/${ref}`), {
      method: 'PATCH',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ place: 'Eastside Hall' }),
    });
    expect(((await edited.json()) as any).role.place).toBe('Eastside Hall');
    const patch = async (body: unknown) =>
      (
        (await (
          await fetch(api(`/roles/${ref}`), { method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) })
        ).json()) as any
      ).role;
    expect((await patch({ endsAt: '2026-12-05T18:00:00Z', schedule: 'Saturdays 9-12' })).endsAt).toBe('2026-12-05T18:00:00.000Z');
    // null removes an optional field; other fields stay as they were.
    const cleared = await patch({ endsAt: null, schedule: null });
    expect(cleared.endsAt).toBeUndefined();
    expect(cleared.schedule).toBeUndefined();
    expect(cleared.place).toBe('Eastside Hall');
    expect((await postJson(api(`/roles/${ref}/close`), {}, auth)).body.role.status).toBe('closed');
    expect((await postJson(api('/roles'), { ...role, capacity: 0 }, auth)).status).toBe(400);
    expect((await postJson(api('/roles'), { ...role, startsAt: 'soon' }, auth)).status).toBe(400);
  });

  it('give a cancelled spot to the first on the waitlist, who is told; sign-ups export as CSV', async () => {
    // Ahead of the real clock the turns run on: a role that is over is not withdrawn from.
    const created = await postJson(api('/roles'), { ...role, startsAt: '2030-12-05T15:00:00Z' }, auth);
    const ref = created.body.role._id as string;
    const first = new TestConversation(app.service, smsAddress(), undefined, residentClock());
    const second = new TestConversation(app.service, smsAddress(), undefined, residentClock());
    for (const [resident, name] of [
      [first, 'Ana'],
      [second, '=HYPERLINK("x")'],
    ] as const) {
      await resident.send(ref);
      await resident.send('1');
      await resident.send(name);
    }
    let detail = (await getJson(`/roles/${ref}`)).body;
    expect(detail.role).toMatchObject({ confirmed: 1, waitlisted: 1 });

    twilio.requests.length = 0;
    await first.send('volunteer');
    await first.send('my sign-ups');
    await first.send('1');
    expect(await first.send('yes')).toContain('no longer signed up');
    // The promotion runs after the cancelling turn (outside its lock): wait for it.
    const told = await vi.waitFor(() => {
      const sent = twilio.requests.filter((r) => r.form.To === second.address.slice(4));
      expect(sent).toHaveLength(1);
      return sent;
    });
    detail = (await getJson(`/roles/${ref}`)).body;
    expect(detail.signups.map((s: any) => s.status)).toEqual(['cancelled', 'confirmed']);
    expect(told[0]!.form.Body).toContain('a spot opened up for Tool library helper');

    const csv = await fetch(api(`/roles/${ref}/signups.csv`), { headers: auth });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('name,channel,resident,status,signed_up_at,updated_at');
    expect(lines[1]).toMatch(/^Ana,sms,sms:…\d{4},cancelled,/);
    // A name that would be a spreadsheet formula is neutralised.
    expect(lines[2]).toMatch(/^"'=HYPERLINK\(""x""\)",sms,/);
  });
});

describe('impact numbers', () => {
  it('count reports, ideas, sign-ups and the median time to fix', async () => {
    const impact = (await getJson('/impact')).body;
    expect(impact.reports.total).toBeGreaterThanOrEqual(4);
    expect(impact.reports.byStatusGroup.fixed).toBeGreaterThanOrEqual(1);
    expect(impact.reports.byCategory[0]).toMatchObject({ category: 'pothole' });
    expect(impact.reports.medianHoursToFix).toBeGreaterThanOrEqual(0);
    expect(impact.ideas).toMatchObject({ total: 1, supports: 1 });
    expect(impact.volunteering.signups).toBeGreaterThanOrEqual(1);
  });
});
