/**
 * Merging duplicates through the real app (issue 18): residents file the same pothole on SMS
 * (fake Twilio), Telegram (fake Bot API) and the web chat (its Direct Line log), in English and
 * Spanish; staff merge their reports into one through the staff API; each merged reporter and
 * follower is told once, on their own channel and in their language, never one who opted out,
 * and a merge retried tells nobody again. Also the API's answers and refusals, and the pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, postJson, withProviderFakes, type RunningApp } from '../support/http.js';
import { startFakeTwilio, type FakeTwilio } from '../support/twilio.js';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { referenceIn, smsAddress, TestConversation, WEB_LIKE } from '../support/harness.js';
import { followReport } from '../../src/pipeline/report-followers.js';
import { withOpenReportKeys } from '../../src/domain/open-report-keys.js';
import { aReport } from '../store/store-records.fixture.js';

const ADMIN_TOKEN = 'report-merge-test-admin-token';
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
const api = (path: string) => `${app.url}/admin/api${path}`;
const getJson = async (path: string) => {
  const response = await fetch(api(path), { headers: auth });
  return { status: response.status, body: (await response.json()) as any };
};
const merge = (ref: string, into: unknown) => postJson(api(`/reports/${ref}/merge`), { into }, auth);
/** Without accents: SMS goes out in GSM-7, which drops some ("también" → "tambien"). */
const plain = (text: string) => text.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
const smsTo = (address: string) =>
  twilio.requests.filter((request) => request.form.To === address.slice('sms:'.length)).map((request) => plain(request.form.Body ?? ''));
const telegramTo = (address: string) =>
  telegram
    .callsOf('sendMessage')
    .filter((call) => `telegram:${String(call.payload.chat_id)}` === address)
    .map((call) => String(call.payload.text));
const webchatTo = async (address: string) =>
  (await app.service.store.webchatActivities.find({ field: 'conversationId', equals: address.slice('webchat:'.length) }, { order: 'asc', limit: 500 }))
    .map((entry) => (entry.activity as { text?: string; from?: { role?: string } }).text ?? '')
    .filter(Boolean);
/** Everything the resident was sent on their own channel. */
const sentTo = async (address: string) =>
  address.startsWith('sms:') ? smsTo(address) : address.startsWith('telegram:') ? telegramTo(address) : webchatTo(address);

/** Files a pothole report as a resident (answering whatever the dialog asks, filing it although one is open there) and returns its reference. */
async function fileReport(resident: TestConversation, spanish: boolean, place: string): Promise<string> {
  let reply = await resident.send(spanish ? `hay un bache enorme en ${place}` : `there's a huge pothole on ${place}`);
  for (let turn = 0; turn < 6; turn++) {
    if (/already (?:be )?reported|ya (?:reportó|esté reportado)/i.test(reply)) {
      reply = await resident.send(spanish ? 'enviar el mío igual' : 'file mine anyway');
      continue;
    }
    if (/\bR-[0-9A-Z]{5}\b/.test(reply)) return referenceIn(reply);
    const buttons = resident.received.at(-1)?.buttons;
    reply = await resident.send(buttons?.length ? { choice: buttons[0]!.id } : /^1\./m.test(reply) ? '1' : spanish ? 'omitir' : 'skip');
  }
  throw new Error(`The report was not filed: ${reply}`);
}

/** A resident on a channel, greeted in their language first (their profile's language). */
async function resident(address: string, spanish: boolean): Promise<TestConversation> {
  const conversation = new TestConversation(app.service, address, address.startsWith('sms:') ? undefined : WEB_LIKE, residentClock());
  await conversation.send(spanish ? 'hola' : 'hello');
  return conversation;
}

const told = {
  en: (b: string, a: string) =>
    `Your report ${b} is the same problem as ${a} (Pothole), which others reported too: we put them together. You now follow ${a} and will hear every update.`,
  es: (b: string, a: string) =>
    `Tu reporte ${b} es el mismo problema que ${a} (Bache), que otros vecinos también reportaron: los unimos. Ahora sigues ${a} y recibirás cada novedad.`,
  esFollower: (b: string, a: string) =>
    `${b}, un reporte que sigues, es el mismo problema que ${a} (Bache): los unimos. Ahora sigues ${a} y recibirás cada novedad.`,
};
const mergeMessages = (messages: readonly string[]) => messages.filter((text) => /same problem|mismo problema/.test(text));

let kept = '';
const mergedRefs: string[] = [];

describe('merging reports through the staff API', () => {
  it('tells each merged reporter and follower once, on their channel, in their language, and nobody who opted out', async () => {
    const place = 'Oak Street and 9th Avenue';
    const keeper = await resident(smsAddress(), false);
    kept = await fileReport(keeper, false, place);

    const reporters = [
      { who: await resident(smsAddress(), false), es: false },
      { who: await resident(smsAddress(), true), es: true },
      { who: await resident('telegram:94000001', false), es: false },
      { who: await resident('telegram:94000002', true), es: true },
      { who: await resident('webchat:merge-test-en', false), es: false },
      { who: await resident('webchat:merge-test-es', true), es: true },
    ];
    const refs: string[] = [];
    for (const { who, es } of reporters) refs.push(await fileReport(who, es, es ? 'la calle Oak y la avenida 9' : place));
    mergedRefs.push(...refs);

    // Two followers of the first merged report: one on Telegram in Spanish, one who then opts out.
    const follower = await resident('telegram:94000003', true);
    const optedOut = await resident(smsAddress(), false);
    for (const who of [follower, optedOut])
      expect(
        await followReport(app.service.store, { ref: refs[0]!, address: who.address, sourceKey: `${who.address}:follow`, now: new Date(), note: 'me too' }),
      ).toBe('following');
    await optedOut.send('STOP');

    // Staff see the kept report among the first one's possible duplicates.
    const duplicates = await getJson(`/reports/${refs[0]}/duplicates`);
    expect(duplicates.status).toBe(200);
    expect(duplicates.body.suggestions.map((s: any) => s.ref)).toContain(kept);
    expect(duplicates.body.suggestions[0]).not.toHaveProperty('description');

    for (const ref of refs) {
      const merged = await merge(ref, kept.toLowerCase());
      expect(merged.status, JSON.stringify(merged.body)).toBe(200);
      expect(merged.body).toMatchObject({
        already: false,
        merged: { _id: ref, status: 'duplicate', statusGroup: 'closed', mergedInto: kept },
        kept: { _id: kept },
      });
    }
    await app.service.jobs.idle();

    for (const [i, { who, es }] of reporters.entries()) {
      const expected = es ? told.es(refs[i]!, kept) : told.en(refs[i]!, kept);
      const messages = mergeMessages(await sentTo(who.address));
      expect(messages, who.address).toEqual([who.address.startsWith('sms:') ? plain(expected) : expected]);
    }
    expect(mergeMessages(await sentTo(follower.address))).toEqual([told.esFollower(refs[0]!, kept)]);
    expect(mergeMessages(await sentTo(optedOut.address))).toEqual([]);
    // The kept report's reporter hears nothing of it: nothing changed for them.
    expect(mergeMessages(await sentTo(keeper.address))).toEqual([]);
    // In their transcript as what the city sent.
    const transcript = await app.service.store.transcripts.find({ field: 'conversationId', equals: reporters[2]!.who.address }, { order: 'desc', limit: 5 });
    expect(transcript.some((entry) => entry.direction === 'out' && entry.text.includes('same problem'))).toBe(true);

    // Staff press merge again (a double click, a retry): nobody hears it twice.
    const again = await merge(refs[0]!, kept);
    expect(again.body).toMatchObject({ already: true, followers: 3 });
    await app.service.jobs.idle();
    expect(mergeMessages(await sentTo(reporters[0]!.who.address))).toHaveLength(1);
    expect(mergeMessages(await sentTo(follower.address))).toHaveLength(1);

    // Everyone follows the kept report now, and what they wrote is on it.
    const keptDuplicates = await getJson(`/reports/${kept}/duplicates`);
    expect(keptDuplicates.body.merged.map((m: any) => m.ref).sort()).toEqual([...refs].sort());
    const detail = await getJson(`/reports/${kept}`);
    const words = detail.body.updates.filter((u: any) => u.by === 'resident' && u.follower).map((u: any) => u.note);
    expect(words.filter((w: string) => /pothole|bache/i.test(w))).toHaveLength(6);
    expect(words).toContain('me too');
    expect(await app.service.store.reportFollowers.count({ field: 'reportId', equals: kept })).toBe(8);
    const mergedDetail = await getJson(`/reports/${refs[0]}/duplicates`);
    expect(mergedDetail.body).toEqual({ mergedInto: kept, merged: [], suggestions: [] });
  });

  it('refuses chains, self-merges and bad input with a 4xx that says why', async () => {
    expect(kept).not.toBe('');
    const [first, second] = mergedRefs as [string, string];
    const chain = await merge(kept, first);
    expect(chain).toMatchObject({ status: 409, body: { error: expect.stringContaining(`${first} was merged into ${kept}: merge into ${kept} instead`) } });
    expect((await merge(first, second)).status).toBe(409);
    expect(await merge(kept, kept)).toMatchObject({ status: 409, body: { error: expect.stringContaining('cannot be merged into itself') } });
    expect((await merge(kept, 'R-22222')).status).toBe(404);
    expect((await merge('R-22222', kept)).status).toBe(404);
    expect((await merge(kept, 'not a ref')).status).toBe(400);
    expect((await merge(kept, { $gt: '' })).status).toBe(400);
    expect((await postJson(api(`/reports/${kept}/merge`), { into: first, extra: 1 }, auth)).status).toBe(400);
    expect((await postJson(api(`/reports/${kept}/merge`), '{', auth)).status).toBe(400);
    expect((await getJson('/reports/nope!/duplicates')).status).toBe(400);
    expect((await getJson('/reports/R-22222/duplicates')).status).toBe(404);
  });

  it('shows merges and possible duplicates on the pages, escaped, and merges from a form', async () => {
    const page = async (path: string) => {
      const response = await fetch(`${app.url}/admin${path}`, { headers: auth });
      return { status: response.status, text: await response.text() };
    };
    const keptPage = await page(`/reports/${kept}`);
    expect(keptPage.text).toContain('Merged into this report');
    for (const ref of mergedRefs) expect(keptPage.text).toContain(`href="/admin/reports/${ref}"`);
    const mergedPage = await page(`/reports/${mergedRefs[0]}`);
    expect(mergedPage.text).toMatch(new RegExp(`Merged into <a href="/admin/reports/${kept}">${kept}</a>`));
    expect(mergedPage.text).not.toContain('Possible duplicates');

    // Two reports at a place whose name is a script.
    const xss = '<script>alert(1)</script> Elm St & 3rd Ave';
    const { store } = app.service;
    for (const id of ['R-XD2AA', 'R-XD2AB'])
      await store.reports.insert(
        withOpenReportKeys(aReport(id, { location: { text: xss }, residentAddress: smsAddress(), createdAt: new Date(), updatedAt: new Date() })),
      );
    const withDuplicate = await page('/reports/R-XD2AA');
    expect(withDuplicate.text).toContain('Possible duplicates');
    expect(withDuplicate.text).toContain('Merge into R-XD2AB');
    expect(withDuplicate.text).toContain('Merge R-XD2AB into this one');
    expect(withDuplicate.text).not.toContain('<script>alert(1)');
    expect(withDuplicate.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const list = await page('/duplicates');
    expect(list.status).toBe(200);
    expect(list.text).toContain('Merge R-XD2AB into R-XD2AA');
    expect(list.text).not.toContain('<script>alert(1)');

    const response = await fetch(`${app.url}/admin/reports/R-XD2AB/merge`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'into=r-xd2aa',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/admin/reports/R-XD2AA?done=merged');
    expect((await page('/reports/R-XD2AA?done=merged')).text).toContain('Merged into this report. Its reporter and followers follow this one now');
    // A refused merge is a page that says why.
    const refused = await fetch(`${app.url}/admin/reports/R-XD2AA/merge`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'into=R-XD2AB',
    });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain('R-XD2AB was merged into R-XD2AA: merge into R-XD2AA instead');
  });
});
