/**
 * Love Your Block (issue 20) through the staff API against the real app: residents text reports
 * in by SMS (signed Twilio webhooks, fake Twilio REST API), staff make a volunteer role of them,
 * the role's call reaches the reports' residents (never an opted-out one) and opted-in residents
 * of its neighbourhood, and "work done" closes the reports together, telling each resident once,
 * in their language, that volunteers did it. Also the desk's rules one by one: only open reports,
 * the bound, the prefilled form, the audiences, the revision check and retries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestApp, withProviderFakes, type RunningApp } from '../support/http.js';
import { messageSid, postTwilio, startFakeTwilio, twilioFixture, twimlMessages, type FakeTwilio } from '../support/twilio.js';
import { referenceIn } from '../support/harness.js';
import type { ReportRecord, ResidentRecord } from '../../src/domain/records.js';
import { followerId } from '../../src/pipeline/report-followers.js';
import { broadcastProgress, previewAudience } from '../../src/staff/broadcasts.js';
import { closeRoleReports, draftRoleFromReports, roleCallAudience, volunteersNote } from '../../src/staff/love-your-block.js';
import { changeReportStatus } from '../../src/staff/report-desk.js';
import { newReference } from '../../src/domain/reference.js';

const ADMIN_TOKEN = 'love-your-block-test-admin-token';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const STAFF = { username: 'coordinator', role: 'coordinator' as const };
let twilio: FakeTwilio;
let app: RunningApp;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  const { env, overrides } = withProviderFakes({ twilio }, { ADMIN_TOKEN, QUIET_HOURS: 'off' });
  app = await startTestApp(env, overrides);
  app.service.jobs.start();
});
afterAll(async () => {
  await app.close();
  await twilio.close();
});

const api = (path: string) => `${app.url}/admin/api${path}`;
const getJson = async (path: string) => {
  const response = await fetch(api(path), { headers: auth });
  return { status: response.status, body: (await response.json()) as any };
};

let phones = 0;
/** A fresh phone number for a resident of this file. */
const phone = () => `+1217444${String(Date.now() % 1000).padStart(3, '0')}${String(phones++).padStart(1, '0')}`;

/** Texts the city's number as Twilio would (a signed webhook) and returns the TwiML replies. */
async function text(from: string, body: string): Promise<string> {
  const sid = messageSid();
  const params = { ...twilioFixture('inbound-sms'), From: from, Body: body, MessageSid: sid, SmsMessageSid: sid, SmsSid: sid };
  const response = await postTwilio({ appUrl: app.url, path: '/webhooks/twilio/sms', params });
  expect(response.status).toBe(200);
  return twimlMessages(response.text).join('\n\n');
}

/** Files a report by SMS, answering whatever the dialog asks; returns its reference. */
async function fileBySms(from: string, opener: string, spanish = false): Promise<string> {
  let reply = await text(from, opener);
  for (let turn = 0; turn < 8; turn++) {
    if (/Your report is|Tu reporte es/.test(reply)) return referenceIn(reply);
    if (/already|ya report|Puede que ya/i.test(reply)) reply = await text(from, spanish ? 'enviar el mío igual' : 'file mine anyway');
    else if (/Please check|Revisa/.test(reply)) reply = await text(from, '1');
    else if (/Describe/.test(reply)) reply = await text(from, spanish ? 'pintaron toda la pared' : 'tags all over the wall');
    else if (/photo|foto/i.test(reply)) reply = await text(from, spanish ? 'omitir' : 'skip');
    else reply = await text(from, '1');
  }
  throw new Error(`The report was not filed: ${reply}`);
}

/** The SMS bodies the fake Twilio was asked to send to a number. */
const smsTo = (number: string) => twilio.requests.filter((request) => request.form['To'] === number).map((request) => request.form['Body'] ?? '');

/** Waits until a broadcast is done (the worker sends on its own lanes). */
async function untilDone(id: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await broadcastProgress(app.service.store, id))?.status !== 'done') {
    if (Date.now() > deadline) throw new Error('the broadcast did not finish');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const ROLE_FIELDS = {
  title: 'Paint out the graffiti on 24th',
  description: 'We paint over the tags neighbours reported.',
  neighbourhood: 'Mission',
  place: 'Mission and 24th',
  startsAt: '2026-12-12T17:00:00Z',
  capacity: 10,
  contact: 'Parks crew, 555-0100',
};

describe('Love Your Block, end to end by SMS', () => {
  it('reports → a role → a call to the reporters (not the opted-out one) → closing tells each reporter once, in English and Spanish', async () => {
    const ana = phone();
    const bea = phone();
    const carl = phone();
    const anaFirst = await fileBySms(ana, 'graffiti on the wall at Mission and 24th');
    const anaSecond = await fileBySms(ana, 'graffiti at Capp and 24th');
    const beaReport = await fileBySms(bea, 'grafiti en la calle Bartlett', true);
    const carlReport = await fileBySms(carl, 'graffiti at Lilac and 24th');
    expect(await text(carl, 'STOP')).toBeDefined();

    // Staff filter the list (graffiti) and take these four.
    const listed = await getJson('/reports?category=graffiti&statusGroup=open');
    const refs = [anaFirst, anaSecond, beaReport, carlReport];
    expect(listed.body.reports.map((r: { _id: string }) => r._id)).toEqual(expect.arrayContaining(refs));

    const made = await postJson(api('/roles/from-reports'), { ...ROLE_FIELDS, reports: refs }, auth);
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const role = made.body.role;
    expect(role.fromReports).toEqual(refs);

    twilio.requests.length = 0;
    const call = await postJson(
      api(`/roles/${role._id}/call`),
      {
        messages: { en: 'Paint-out on Saturday at Mission and 24th: can you help?', es: 'Pintamos el sábado en Mission y 24: ¿ayudas?' },
        audience: { reporters: true },
      },
      auth,
    );
    expect(call.status, JSON.stringify(call.body)).toBe(201);
    // Ana once for her two reports, Bea, and Carl planned but skipped: he said STOP.
    expect(call.body.plan).toEqual({ planned: 3, queued: 2, skipped: { opted_out: 1 } });
    expect(call.body.broadcast).toMatchObject({ roleId: role._id, audience: { reports: refs, optedIn: false } });
    // The reporters' numbers are nowhere in what staff get back.
    expect(JSON.stringify(call.body)).not.toContain(ana.slice(2));
    // The same call again while it goes out (a double click, a second coordinator): refused, so nobody hears it twice.
    const twice = await postJson(
      api(`/roles/${role._id}/call`),
      {
        messages: { en: 'Paint-out on Saturday at Mission and 24th: can you help?', es: 'Pintamos el sábado en Mission y 24: ¿ayudas?' },
        audience: { reporters: true },
      },
      auth,
    );
    expect(twice.status, JSON.stringify(twice.body)).toBe(409);
    expect(JSON.stringify(twice.body)).toContain(call.body.broadcast._id);
    app.service.broadcasts.start();
    app.service.broadcasts.kick();
    await untilDone(call.body.broadcast.id ?? call.body.broadcast._id);
    expect(smsTo(ana)).toHaveLength(1);
    expect(smsTo(ana)[0]).toContain('can you help?');
    expect(smsTo(ana)[0]).toMatch(/1\. Yes, sign me up/);
    expect(smsTo(bea)).toHaveLength(1);
    expect(smsTo(bea)[0]).toContain('ayudas?');
    expect(smsTo(carl)).toHaveLength(0);

    // Ana answers the call by text and signs up (she never opted in to volunteer calls).
    expect(await text(ana, '1')).toMatch(/What name/);
    expect(await text(ana, 'Ana')).toContain("You're signed up for Paint out the graffiti on 24th");

    // The work is done: the role's revision as staff saw it, then the reports closed together.
    const detail = await getJson(`/roles/${role._id}`);
    const revision = detail.body.revision as number;
    const stale = await postJson(api(`/roles/${role._id}/close-reports`), { revision: revision - 1 }, auth);
    expect(stale.status).toBe(409);
    twilio.requests.length = 0;
    const closed = await postJson(api(`/roles/${role._id}/close-reports`), { revision }, auth);
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    expect(closed.body.closing).toEqual({ roleId: role._id, closed: refs, alreadyClosed: [], skipped: [] });
    await app.service.jobs.idle();
    for (const ref of refs) {
      expect(await app.service.store.reports.get(ref)).toMatchObject({
        status: 'fixed',
        statusNote: `Fixed by volunteers (${role._id}: ${ROLE_FIELDS.title}).`,
      });
    }
    // Ana is told once for her two reports; in English, thanked, credited to the volunteers.
    expect(smsTo(ana)).toHaveLength(1);
    expect(smsTo(ana)[0]).toContain(`Good news, Ana: ${anaFirst} (Graffiti) is fixed.`);
    expect(smsTo(ana)[0]).toContain(`Neighbourhood volunteers did the work (${role._id}: ${ROLE_FIELDS.title}).`);
    expect(smsTo(ana)[0]).not.toContain('Fixed by volunteers');
    // Bea in Spanish (GSM-7 on SMS: "esta" without its accent).
    expect(smsTo(bea)).toHaveLength(1);
    expect(smsTo(bea)[0]).toMatch(new RegExp(`Buenas noticias: ${beaReport} \\(Grafiti\\) est. arreglado`));
    expect(smsTo(bea)[0]).toContain('El trabajo lo hicieron voluntarios del barrio');
    expect(smsTo(carl)).toHaveLength(0);

    // A retry (a double click, a timeout) closes nothing twice and tells nobody again.
    const again = await postJson(api(`/roles/${role._id}/close-reports`), { revision }, auth);
    expect(again.status).toBe(200);
    expect(again.body.closing).toMatchObject({ closed: [], alreadyClosed: refs });
    await app.service.jobs.idle();
    expect(twilio.requests).toHaveLength(2);

    const audit = (await app.service.store.audit.find({ field: 'kind', equals: 'audit' }, { order: 'desc', limit: 200 })).filter((e) => e.target === role._id);
    expect(audit.map((entry) => entry.action)).toEqual(expect.arrayContaining(['role.create_from_reports', 'role.close_reports']));
    expect(audit.find((entry) => entry.action === 'role.create_from_reports')?.details).toMatchObject({ fromReports: 4 });
  });
});

/** A resident straight into the store (the desk's rules need no conversation). */
async function resident(fields: Partial<ResidentRecord> & { address: string }): Promise<ResidentRecord> {
  const record = {
    _id: fields.address,
    channel: 'sms' as const,
    locale: 'en',
    optedOut: false,
    volunteerCalls: false,
    interests: [],
    createdAt: new Date(),
    lastSeenAt: new Date(),
    ...fields,
  };
  await app.service.store.residents.insert(record);
  return { ...record, _rev: 1 };
}

/** An open report straight into the store. */
async function report(fields: Partial<ReportRecord> & { residentAddress: string }): Promise<string> {
  const _id = newReference('R');
  await app.service.store.reports.insert({
    _id,
    category: 'graffiti',
    status: 'open',
    statusGroup: 'open',
    location: { text: 'Somewhere St' },
    description: 'my private words about my neighbour',
    photos: [],
    channel: 'sms',
    locale: 'en',
    createdAt: new Date(),
    updatedAt: new Date(),
    ...fields,
  });
  return _id;
}

const smsResident = () => `sms:${phone()}`;

describe('a role from reports', () => {
  it('is made from open reports only, at most 200, each named when refused', async () => {
    const someone = smsResident();
    const open = await report({ residentAddress: someone });
    const fixed = await report({ residentAddress: someone, status: 'fixed', statusGroup: 'fixed' });
    const refused = await postJson(api('/roles/from-reports'), { ...ROLE_FIELDS, reports: [open, fixed] }, auth);
    expect(refused.status).toBe(409);
    expect(refused.body.error ?? JSON.stringify(refused.body)).toContain(fixed);
    const unknown = await postJson(api('/roles/from-reports'), { ...ROLE_FIELDS, reports: ['R-22222'] }, auth);
    expect(unknown.status).toBe(404);
    const tooMany = Array.from({ length: 201 }, (_, i) => `R-${String(i).padStart(5, 'A')}`);
    expect((await postJson(api('/roles/from-reports'), { ...ROLE_FIELDS, reports: tooMany }, auth)).status).toBe(400);
    expect((await postJson(api('/roles/from-reports'), { ...ROLE_FIELDS, reports: [] }, auth)).status).toBe(400);
    expect((await postJson(api('/roles/from-reports'), { ...ROLE_FIELDS, reports: ['nonsense'] }, auth)).status).toBe(400);
    // A lower-case reference is the same report; a repeated one counts once.
    const made = await postJson(api('/roles/from-reports'), { ...ROLE_FIELDS, reports: [open.toLowerCase(), open] }, auth);
    expect(made.status).toBe(201);
    expect(made.body.role.fromReports).toEqual([open]);
    // Editing the role keeps the reports it was made from.
    const edited = await fetch(api(`/roles/${made.body.role._id}`), {
      method: 'PATCH',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ capacity: 12 }),
    });
    expect(edited.status).toBe(200);
    expect((await app.service.store.roles.get(made.body.role._id))?.fromReports).toEqual([open]);
  });

  it('is prefilled with the places (not the residents’ words) and a neighbourhood only two reporters share', async () => {
    const [a, b, c] = [smsResident(), smsResident(), smsResident()];
    await resident({ address: a, neighbourhood: 'Mission' });
    await resident({ address: b, neighbourhood: ' mission ' });
    await resident({ address: c, neighbourhood: 'Noe Valley' });
    const refs = [
      await report({ residentAddress: a, location: { text: 'Mission and 24th' } }),
      await report({ residentAddress: b, location: { text: 'mission AND 24th' } }),
      await report({ residentAddress: c, location: { point: { lat: 37.75, lon: -122.42, label: '3200 24th St' } } }),
    ];
    const draft = await draftRoleFromReports(app.service.staff, refs);
    expect(draft.title).toBe('Graffiti at 2 places');
    expect(draft.description).toBe('Volunteers are needed to fix what neighbours reported (Graffiti) at these places:\n- Mission and 24th\n- 3200 24th St');
    expect(draft.description).not.toContain('private');
    expect(draft.place).toBe('Mission and 24th');
    expect(draft.neighbourhood).toBe('Mission');
    // One reporter's home is never shown.
    expect((await draftRoleFromReports(app.service.staff, [refs[2]!])).neighbourhood).toBe('');
    expect((await draftRoleFromReports(app.service.staff, [refs[2]!])).title).toBe('Graffiti at 3200 24th St');
  });
});

describe("a role's call", () => {
  it('reaches the reports’ reporters and followers once each, and opted-in residents of the neighbourhood', async () => {
    const [reporter, follower, both, stopped, nearby, elsewhere] = [smsResident(), smsResident(), smsResident(), smsResident(), smsResident(), smsResident()];
    await resident({ address: reporter });
    await resident({ address: follower, locale: 'es' });
    await resident({ address: both, volunteerCalls: true, neighbourhood: 'Bernal' });
    await resident({ address: stopped, optedOut: true });
    await resident({ address: nearby, volunteerCalls: true, neighbourhood: 'bernal' });
    await resident({ address: elsewhere, volunteerCalls: true, neighbourhood: 'Marina' });
    const first = await report({ residentAddress: reporter });
    const second = await report({ residentAddress: both });
    const third = await report({ residentAddress: stopped });
    const now = new Date();
    for (const [ref, address] of [
      [first, follower],
      [second, reporter],
      [first, both],
    ] as const) {
      await app.service.store.reportFollowers.insert({ _id: followerId(ref, address), reportId: ref, address, at: now, via: 'follow' });
    }
    const role = { fromReports: [first, second, third], neighbourhood: 'Bernal' };

    const reporters = await previewAudience(app.service.store, roleCallAudience(role, { reporters: true, nearby: false }));
    expect(reporters).toMatchObject({ total: 4, sendable: 3, optedOut: 1, fromReports: 4, byLocale: { en: 2, es: 1 } });
    const everyone = await previewAudience(app.service.store, roleCallAudience(role, { reporters: true, nearby: true }));
    // The four behind the reports, and the one opted-in neighbour of Bernal (not the Marina one).
    expect(everyone).toMatchObject({ total: 5, sendable: 4, fromReports: 4 });
    const near = await previewAudience(app.service.store, roleCallAudience(role, { reporters: false, nearby: true }));
    expect(near.fromReports).toBe(0);
    expect(near.total).toBeGreaterThanOrEqual(2);

    expect(() => roleCallAudience(role, { reporters: false, nearby: false })).toThrow(/choose/);
    expect(() => roleCallAudience({ neighbourhood: 'Bernal' }, { reporters: true, nearby: false })).toThrow(/not made from reports/);
    const nobody = await postJson(api('/roles/V-22222/call'), { messages: { en: 'Hi' }, audience: { reporters: true } }, auth);
    expect(nobody.status).toBe(404);

    // The broadcasts API takes the same audience as data.
    const preview = await postJson(api('/broadcasts/preview'), { audience: { reports: [first.toLowerCase(), second, third], optedIn: false } }, auth);
    expect(preview.status).toBe(200);
    expect(preview.body.preview).toMatchObject({ total: 4, sendable: 3, optedOut: 1, fromReports: 4 });
    const noOne = await postJson(api('/broadcasts'), { messages: { en: 'Hi' }, audience: { optedIn: false } }, auth);
    expect(noOne.status).toBe(400);
    expect(JSON.stringify(noOne.body)).toContain('audience.optedIn');
    const tooMany = Array.from({ length: 201 }, (_, i) => `R-${String(i).padStart(5, 'A')}`);
    expect((await postJson(api('/broadcasts/preview'), { audience: { reports: tooMany } }, auth)).status).toBe(400);
  });
});

describe('closing a role’s reports', () => {
  it('tells a resident behind several reports once, followers included, and two closings at once close each report once', async () => {
    const [reporter, follower, other] = [smsResident(), smsResident(), smsResident()];
    await resident({ address: reporter });
    await resident({ address: follower, locale: 'es' });
    await resident({ address: other });
    const refs = [await report({ residentAddress: reporter }), await report({ residentAddress: other }), await report({ residentAddress: reporter })];
    await app.service.store.reportFollowers.insert({
      _id: followerId(refs[1]!, follower),
      reportId: refs[1]!,
      address: follower,
      at: new Date(),
      via: 'follow',
    });
    await app.service.store.reportFollowers.insert({
      _id: followerId(refs[2]!, follower),
      reportId: refs[2]!,
      address: follower,
      at: new Date(),
      via: 'follow',
    });
    const made = await postJson(api('/roles/from-reports'), { ...ROLE_FIELDS, title: 'Bernal paint-out', reports: refs }, auth);
    const role = await app.service.store.roles.get(made.body.role._id);

    twilio.requests.length = 0;
    const [one, two] = await Promise.all([
      closeRoleReports(app.service.staff, role!._id, role!._rev, STAFF),
      closeRoleReports(app.service.staff, role!._id, role!._rev, STAFF),
    ]);
    expect([...one.closed, ...two.closed].sort()).toEqual([...refs].sort());
    expect([...one.alreadyClosed, ...two.alreadyClosed].sort()).toEqual([...refs].sort());
    await app.service.jobs.idle();
    for (const ref of refs) {
      const updates = await app.service.store.reportUpdates.find({ field: 'reportId', equals: ref });
      expect(updates.filter((update) => update.status === 'fixed')).toHaveLength(1);
    }
    const to = (address: string) => smsTo(address.slice(4));
    expect(to(reporter)).toHaveLength(1);
    expect(to(other)).toHaveLength(1);
    // The follower of two of the reports hears once, in Spanish, as a follower.
    expect(to(follower)).toHaveLength(1);
    expect(to(follower)[0]).toContain('El trabajo lo hicieron voluntarios del barrio');
  });

  it('after a crash part-way, a retry tells those behind the rest once, and not again those told with the closed ones', async () => {
    const [both, second] = [smsResident(), smsResident()];
    await resident({ address: both });
    await resident({ address: second });
    const refs = [await report({ residentAddress: both }), await report({ residentAddress: second })];
    await app.service.store.reportFollowers.insert({ _id: followerId(refs[1]!, both), reportId: refs[1]!, address: both, at: new Date(), via: 'follow' });
    const made = await postJson(api('/roles/from-reports'), { ...ROLE_FIELDS, title: 'Crash paint-out', reports: refs }, auth);
    const role = (await app.service.store.roles.get(made.body.role._id))!;

    // The first closing got as far as the first report (its residents told), then the process died.
    twilio.requests.length = 0;
    await changeReportStatus(
      app.service.staff,
      refs[0]!,
      { status: 'fixed', note: volunteersNote(role), reporterByJob: true, volunteers: { roleId: role._id, title: role.title } },
      STAFF,
    );
    await app.service.jobs.idle();
    expect(smsTo(both.slice(4))).toHaveLength(1);

    const retry = await closeRoleReports(app.service.staff, role._id, role._rev, STAFF);
    expect(retry).toMatchObject({ closed: [refs[1]], alreadyClosed: [refs[0]] });
    await app.service.jobs.idle();
    expect(smsTo(both.slice(4))).toHaveLength(1);
    expect(smsTo(second.slice(4))).toHaveLength(1);
  });
});
