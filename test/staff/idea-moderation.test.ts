/**
 * Idea moderation and merging through the real app (issue 21): residents' reports arriving
 * together hide an idea once; a hidden idea is never listed nor counted; the staff API's queue
 * shows how many reported and why (never who), and hide / restore needs a note and is audited.
 * Merging two ideas counts each supporter once (the merged idea's author too, unless they wrote
 * the kept one) and tells everyone involved once, on their own channel (fake Twilio and Telegram)
 * and in their language, by jobs; a retried merge tells nobody again; chains are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, postJson, withProviderFakes, type RunningApp } from '../support/http.js';
import { startFakeTwilio, type FakeTwilio } from '../support/twilio.js';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.js';
import { smsAddress, TestConversation, WEB_LIKE } from '../support/harness.js';
import { newReference } from '../../src/domain/reference.js';
import { reportIdea } from '../../src/pipeline/idea-reports.js';
import { moderateIdea, moderationSeen } from '../../src/staff/idea-moderation.js';
import { ideaNoticeBroadcastId } from '../../src/pipeline/idea-support.js';

const ADMIN_TOKEN = 'idea-moderation-test-admin-token';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
let twilio: FakeTwilio;
let telegram: FakeTelegram;
let app: RunningApp;
let telegramIds = 8_200_000;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  telegram = await startFakeTelegram();
  const { env, overrides } = withProviderFakes({ twilio, telegram }, { ADMIN_TOKEN, QUIET_HOURS: 'off' });
  app = await startTestApp(env, overrides);
  app.service.jobs.start();
});
afterAll(async () => {
  await app.close();
  await twilio.close();
  await telegram.close();
});

const api = (path: string) => `${app.url}/admin/api${path}`;
const getJson = async (path: string) => {
  const response = await fetch(api(path), { headers: auth });
  return { status: response.status, body: (await response.json()) as any };
};
const plain = (text: string) => text.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
const smsTo = (address: string) =>
  twilio.requests.filter((request) => request.form.To === address.slice('sms:'.length)).map((request) => plain(request.form.Body ?? ''));
const telegramTo = (address: string) =>
  telegram
    .callsOf('sendMessage')
    .filter((call) => `telegram:${String(call.payload.chat_id)}` === address)
    .map((call) => String(call.payload.text));
const sentTo = (address: string) => (address.startsWith('sms:') ? smsTo(address) : telegramTo(address));

/** A resident on a channel, greeted in their language first (their profile's language). */
async function resident(spanish: boolean, channel: 'sms' | 'telegram'): Promise<TestConversation> {
  const address = channel === 'sms' ? smsAddress() : `telegram:${(telegramIds += 1)}`;
  const chat = new TestConversation(app.service, address, channel === 'sms' ? undefined : WEB_LIKE, new Date(Date.now() - 10 * 60_000));
  await chat.send(spanish ? 'hola' : 'hello');
  return chat;
}

/** An idea, inserted as the dialog would file it. */
async function anIdea(author: string, title: string, daysAgo = 1): Promise<string> {
  const ref = newReference('I');
  await app.service.store.ideas.insert({
    _id: ref,
    title,
    details: 'Details',
    authorAddress: author,
    channel: author.startsWith('sms:') ? 'sms' : 'telegram',
    status: 'new',
    kind: 'idea',
    createdAt: new Date(Date.now() - daysAgo * 86_400_000),
    similarTerms: title.toLowerCase().split(' '),
  });
  return ref;
}

async function supportAs(chat: TestConversation, ref: string) {
  expect(await chat.send(`${chat.address.startsWith('telegram') ? 'apoyar' : 'support'} ${ref}`)).toMatch(/support|apoyo/i);
}

describe('reports arriving together', () => {
  it('hide the idea once, audited once as system, whatever their number', async () => {
    const ref = await anIdea(smsAddress(), 'Concurrent spam');
    const now = new Date();
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        reportIdea(app.service.store, { ref, reason: i % 2 ? 'spam' : 'offensive' }, { address: `sms:+1555900${String(i).padStart(4, '0')}`, now }, 3),
      ),
    );
    expect(outcomes).toEqual(Array(8).fill('reported'));
    const idea = await app.service.store.ideas.get(ref);
    expect(idea).toMatchObject({ reports: 8, moderationQueue: 'review', moderation: { state: 'hidden', by: 'system', reason: 'reports' } });
    const audits = (await app.service.store.audit.find({ field: 'actor', equals: 'system' }, { limit: 500 })).filter((entry) => entry.target === ref);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ action: 'idea.hide', details: { reason: 'reports' } });
  });
});

describe('the moderation queue and hide / restore', () => {
  it('shows reported ideas with counts and reasons, never reporters; hidden ideas are not listed or counted; restore needs a note', async () => {
    const authorChat = await resident(false, 'sms');
    const ref = await anIdea(authorChat.address, 'Sell my car here');
    const supporter = await resident(false, 'sms');
    await supportAs(supporter, ref);
    const before = (await getJson('/impact')).body.ideas;

    const reporters = [await resident(false, 'sms'), await resident(true, 'telegram'), await resident(false, 'telegram')];
    await reporters[0]!.send(`report ${ref}`);
    await reporters[0]!.send('1');
    await reporters[1]!.send(`denunciar ${ref}`);
    await reporters[1]!.send({ choice: 'other' });
    await reporters[1]!.send('Es un anuncio <script>alert(1)</script>');
    await reporters[2]!.send(`report ${ref}`);
    await reporters[2]!.send({ choice: 'personal_info' });

    const queue = await getJson('/ideas/moderation');
    expect(queue.status).toBe(200);
    const queued = queue.body.review.find((idea: any) => idea._id === ref);
    expect(queued.reportSummary).toEqual({
      total: 3,
      byReason: { spam: 1, offensive: 0, personal_info: 1, other: 1 },
      texts: ['Es un anuncio <script>alert(1)</script>'],
    });
    expect(queued.moderation).toMatchObject({ state: 'hidden', by: 'system' });
    // Nobody's address: not the reporters', not the author's.
    const raw = JSON.stringify(queue.body);
    for (const chat of [authorChat, ...reporters]) expect(raw).not.toContain(chat.address.split(':')[1]);

    // Hidden: not in residents' lists, not counted on the dashboard's home.
    expect(await supporter.send('see ideas')).not.toContain(ref);
    const hidden = (await getJson('/impact')).body.ideas;
    expect(hidden.total).toBe(before.total - 1);
    expect(hidden.supports).toBe(before.supports - 1);

    // A decision needs a note; restore shows it again, out of review; audited with the actor.
    expect((await postJson(api(`/ideas/${ref}/moderation`), { action: 'restore', note: '  ' }, auth)).status).toBe(400);
    expect((await postJson(api(`/ideas/${ref}/moderation`), { action: 'maybe', note: 'x' }, auth)).status).toBe(400);
    const restored = await postJson(api(`/ideas/${ref}/moderation`), { action: 'restore', note: 'A real idea, not an ad' }, auth);
    expect(restored.status).toBe(200);
    expect(restored.body.idea).toMatchObject({ moderation: { state: 'restored', reason: 'staff', by: 'admin-token', note: 'A real idea, not an ad' } });
    expect(restored.body.idea.moderationQueue).toBeUndefined();
    expect((await getJson('/impact')).body.ideas).toEqual(before);
    expect(await supporter.send('see ideas')).toContain('Sell my car here');
    // Staff decided: a fourth report puts it back in review, but does not hide it by itself.
    const fourth = await resident(false, 'sms');
    await fourth.send(`report ${ref}`);
    await fourth.send('1');
    const after = await app.service.store.ideas.get(ref);
    expect(after).toMatchObject({ reports: 4, moderationQueue: 'review', moderation: { state: 'restored' } });

    // Staff hide it: out of review, in the hidden part, not listed.
    const hid = await postJson(api(`/ideas/${ref}/moderation`), { action: 'hide', note: 'Advertising after all' }, auth);
    expect(hid.body.idea).toMatchObject({ moderationQueue: 'hidden', moderation: { state: 'hidden', by: 'admin-token' } });
    const again = await getJson('/ideas/moderation');
    expect(again.body.review.map((idea: any) => idea._id)).not.toContain(ref);
    expect(again.body.hidden.map((idea: any) => idea._id)).toContain(ref);
    expect(await supporter.send(`support ${ref}`)).toBe(`Idea ${ref} is not available any more.`);
    const audits = (await app.service.store.audit.find({ field: 'actor', equals: 'admin-token' }, { limit: 500 })).filter((entry) => entry.target === ref);
    expect(audits.map((entry) => entry.action).sort()).toEqual(['idea.hide', 'idea.restore']);
  });

  it("a hidden or merged idea is not answered: its title (hidden for someone's number, say) would go out again to its author and supporters", async () => {
    const author = await resident(false, 'sms');
    const ref = await anIdea(author.address, 'Fence at 12 Elm St, call Jo at 217 555 0142');
    const supporter = await resident(false, 'sms');
    await supportAs(supporter, ref);
    const kept = await anIdea((await resident(false, 'sms')).address, 'Fix fences in Elm Park');
    const merged = await anIdea((await resident(false, 'sms')).address, 'Elm Park fences are broken');
    expect((await postJson(api(`/ideas/${merged}/merge`), { into: kept }, auth)).status).toBe(200);
    expect((await postJson(api(`/ideas/${ref}/moderation`), { action: 'hide', note: 'Personal information' }, auth)).status).toBe(200);

    const hiddenAnswer = await postJson(api(`/ideas/${ref}/response`), { status: 'not_planned', note: 'Hidden: personal information' }, auth);
    expect(hiddenAnswer.status).toBe(409);
    expect(JSON.stringify(hiddenAnswer.body)).toContain('hidden');
    const mergedAnswer = await postJson(api(`/ideas/${merged}/response`), { status: 'accepted' }, auth);
    expect(mergedAnswer.status).toBe(409);
    expect(JSON.stringify(mergedAnswer.body)).toContain(kept);
    for (const [idea, status] of [
      [ref, 'not_planned'],
      [merged, 'accepted'],
    ] as const)
      expect(await app.service.store.broadcasts.get(ideaNoticeBroadcastId({ event: 'answered', ideaId: idea, status }))).toBeNull();
    expect(await app.service.store.ideas.get(ref)).toMatchObject({ status: 'new' });
  });

  it("a decision from a stale page is refused: a coordinator whose queue still shows the reports' hiding does not undo a colleague's decision unseen", async () => {
    const ref = await anIdea(smsAddress(), 'Free concert tickets, text me');
    const now = new Date();
    for (let i = 0; i < 3; i++) await reportIdea(app.service.store, { ref, reason: 'spam' }, { address: `sms:+1555910${String(i).padStart(4, '0')}`, now }, 3);
    // Both coordinators load the queue: hidden by reports, awaiting a decision.
    const seen = moderationSeen((await app.service.store.ideas.get(ref))!);
    const colleague = await moderateIdea(app.service.staff, ref, { action: 'hide', note: 'Advertising', seen }, { username: 'ana', role: 'coordinator' });
    expect(colleague.moderation).toMatchObject({ state: 'hidden', by: 'ana' });
    // The second still has the old page: "Restore" there would undo Ana's decision without seeing it.
    await expect(
      moderateIdea(app.service.staff, ref, { action: 'restore', note: 'Looks fine', seen }, { username: 'ben', role: 'coordinator' }),
    ).rejects.toMatchObject({
      status: 409,
    });
    expect((await app.service.store.ideas.get(ref))!.moderation).toMatchObject({ state: 'hidden', by: 'ana' });
    // The queue page's form carries what it showed.
    const form = await fetch(`${app.url}/admin/ideas/moderation`, { headers: auth });
    expect(await form.text()).toContain(`name="seen" value="${moderationSeen((await app.service.store.ideas.get(ref))!)}"`);
    // The API takes it too.
    const stale = await postJson(api(`/ideas/${ref}/moderation`), { action: 'restore', note: 'Looks fine', seen }, auth);
    expect(stale.status).toBe(409);
  });

  it('answers 404 for an unknown idea and 400 for a bad reference', async () => {
    expect((await postJson(api('/ideas/I-ZZZZZ/moderation'), { action: 'hide', note: 'x' }, auth)).status).toBe(404);
    expect((await postJson(api('/ideas/nope/moderation'), { action: 'hide', note: 'x' }, auth)).status).toBe(400);
  });
});

describe('merging two ideas', () => {
  it('counts each supporter once, tells everyone involved once in their language, and a retry tells nobody again', async () => {
    const keptAuthor = await resident(false, 'sms');
    const mergedAuthor = await resident(true, 'telegram');
    const kept = await anIdea(keptAuthor.address, 'More bike racks downtown', 3);
    const merged = await anIdea(mergedAuthor.address, 'Bike parking on Main', 2);
    const onlyMerged = await resident(true, 'sms');
    const both = await resident(false, 'telegram');
    const onlyKept = await resident(false, 'sms');
    await supportAs(onlyMerged, merged);
    await supportAs(both, merged);
    await supportAs(both, kept);
    await supportAs(onlyKept, kept);
    // The kept idea's author supported the merged one: they are not their own supporter.
    await supportAs(keptAuthor, merged);
    const sentBefore = new Map(
      await Promise.all([keptAuthor, mergedAuthor, onlyMerged, both, onlyKept].map(async (c) => [c.address, sentTo(c.address).length] as const)),
    );

    const result = await postJson(api(`/ideas/${merged}/merge`), { into: kept.toLowerCase() }, auth);
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ kept: { _id: kept }, merged: { _id: merged, mergedInto: kept }, already: false });
    expect(result.body.merged.similarTerms).toBeUndefined();
    await app.service.jobs.idle();
    await app.service.jobs.idle();

    const supporters = (await app.service.store.ideaSupports.find({ field: 'ideaId', equals: kept }, { limit: 100 })).map((s) => s.address).sort();
    expect(supporters).toEqual([both.address, mergedAuthor.address, onlyKept.address, onlyMerged.address].sort());
    expect((await getJson(`/ideas/${kept}`)).body.idea.supports).toBe(4);

    const told = (chat: TestConversation) => sentTo(chat.address).slice(sentBefore.get(chat.address));
    expect(told(onlyMerged)).toEqual([
      `Una idea que apoyaste, ${merged}, se unio con otra parecida: ${kept} ("More bike racks downtown"). Tu apoyo ahora cuenta para ${kept}.`,
    ]);
    expect(told(both)).toEqual([
      `An idea you supported, ${merged}, was combined with a similar one: ${kept} ("More bike racks downtown"). Your support now counts for ${kept}.`,
    ]);
    expect(told(mergedAuthor)).toEqual([
      `Tu idea ${merged} se unió con otra parecida: ${kept} ("More bike racks downtown"). Tú y quienes la apoyaban ahora apoyan ${kept}.`,
    ]);
    expect(told(keptAuthor)).toEqual([
      `Your ideas ${merged} and ${kept} ("More bike racks downtown") were combined into ${kept}. Their supporters now count for ${kept}.`,
    ]);
    expect(told(onlyKept)).toEqual([]);

    // The merged idea is no longer listed or supported; its page points to the kept one.
    expect(await onlyKept.send('see ideas')).not.toContain('Bike parking on Main');
    expect(await onlyKept.send(`support ${merged}`)).toBe(`Idea ${merged} is not available any more.`);
    const keptPage = (await getJson(`/ideas/${kept}`)).body;
    expect(keptPage.merged.map((m: any) => m.ref)).toEqual([merged]);
    expect((await getJson(`/ideas/${merged}`)).body.mergedInto).toBe(kept);

    // Retried: completed, not refused, and nobody hears twice.
    const retry = await postJson(api(`/ideas/${merged}/merge`), { into: kept }, auth);
    expect(retry.status).toBe(200);
    expect(retry.body.already).toBe(true);
    await app.service.jobs.idle();
    await app.service.jobs.idle();
    for (const chat of [keptAuthor, mergedAuthor, onlyMerged, both]) expect(told(chat)).toHaveLength(1);
    expect(await app.service.store.ideaSupports.count({ field: 'ideaId', equals: kept })).toBe(4);
  });

  it('refuses chains, a merge into itself, into a hidden idea, and unknown ideas', async () => {
    const a = await anIdea(smsAddress(), 'Idea A');
    const b = await anIdea(smsAddress(), 'Idea B');
    const c = await anIdea(smsAddress(), 'Idea C');
    expect((await postJson(api(`/ideas/${a}/merge`), { into: a }, auth)).status).toBe(409);
    expect((await postJson(api(`/ideas/${b}/merge`), { into: a }, auth)).status).toBe(200);
    // Into an idea merged elsewhere, of an idea merged elsewhere, of one others were merged into.
    const into = await postJson(api(`/ideas/${c}/merge`), { into: b }, auth);
    expect(into.status).toBe(409);
    expect(into.body.error ?? JSON.stringify(into.body)).toMatch(new RegExp(`merge into ${a} instead`));
    expect((await postJson(api(`/ideas/${b}/merge`), { into: c }, auth)).status).toBe(409);
    expect((await postJson(api(`/ideas/${a}/merge`), { into: c }, auth)).status).toBe(409);
    await postJson(api(`/ideas/${c}/moderation`), { action: 'hide', note: 'spam' }, auth);
    const d = await anIdea(smsAddress(), 'Idea D');
    expect((await postJson(api(`/ideas/${d}/merge`), { into: c }, auth)).status).toBe(409);
    expect((await postJson(api(`/ideas/${d}/merge`), { into: 'I-ZZZZZ' }, auth)).status).toBe(404);
    expect((await postJson(api(`/ideas/${d}/merge`), { into: 'bad' }, auth)).status).toBe(400);
    await app.service.jobs.idle();
  });
});

describe('supporters over time', () => {
  it('counts supporters week by week on the idea API', async () => {
    const ref = await anIdea(smsAddress(), 'Weekly idea', 15);
    const day = 86_400_000;
    for (const [i, daysAgo] of [14, 13, 6, 0].entries())
      await app.service.store.ideaSupports.insert({
        _id: `${ref}|sms:+1555800000${i}`,
        ideaId: ref,
        address: `sms:+1555800000${i}`,
        at: new Date(Date.now() - daysAgo * day),
      });
    const weeks: { week: string; added: number; total: number }[] = (await getJson(`/ideas/${ref}`)).body.supportersByWeek;
    expect(weeks.length).toBeGreaterThanOrEqual(3);
    expect(weeks.at(-1)!.total).toBe(4);
    expect(weeks.reduce((sum, week) => sum + week.added, 0)).toBe(4);
    expect(weeks.every((week) => new Date(`${week.week}T00:00:00Z`).getUTCDay() === 1)).toBe(true);
    // Totals never go down.
    expect(weeks.map((week) => week.total)).toEqual([...weeks.map((week) => week.total)].sort((x, y) => x - y));
  });
});
