/**
 * Support thresholds and telling an idea's residents (issue 21): the 25th supporter takes an
 * idea to staff review, even when the supports arrive at once (one status change, one audit
 * entry, one notice); staff's answer reaches 2,000 supporters and the author through the
 * broadcast worker, each once, none who opted out, and nothing inside the staff request; a
 * staff threshold of an idea overrides the city's.
 */
import { ON_MONGODB } from '../support/test-store.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResidentRecord } from '../../src/domain/records.js';
import type { Service } from '../../src/service.js';
import { ideaNoticeBroadcastId, supportIdea, visibleIdeas } from '../../src/pipeline/idea-support.js';
import { respondToIdea, setIdeaThreshold } from '../../src/staff/idea-desk.js';
import { mergeIdeas } from '../../src/staff/idea-merge.js';
import { moderateIdea } from '../../src/staff/idea-moderation.js';
import { broadcastDone } from '../support/broadcast-done.js';
import { startTestService } from '../support/harness.js';
import { withProviderFakes } from '../support/http.js';
import { startFakeTwilio, type FakeTwilio } from '../support/twilio.js';

const STAFF = { username: 'ana', role: 'admin' as const };
const NOW = new Date('2026-11-20T15:00:00Z');

let twilio: FakeTwilio;
let started: Awaited<ReturnType<typeof startTestService>>;
const service = (): Service => started.service;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  // SMS fast enough that 2,000 messages take seconds: the pacing is tested elsewhere.
  const { env, overrides } = withProviderFakes(
    { twilio },
    { SEED_DEMO_DATA: 'false', QUIET_HOURS: 'off', IDEA_SUPPORT_THRESHOLD: '25', TWILIO_MESSAGES_PER_SECOND: '1000' },
  );
  started = await startTestService(env, overrides);
});
afterAll(async () => {
  await started.close();
  await twilio.close();
});

let nextNumber = 0;
/** SMS residents written straight into the store (the audience reads them), some opted out. */
async function residents(count: number, options: { optedOut?: (i: number) => boolean; locale?: (i: number) => string } = {}): Promise<ResidentRecord[]> {
  const made: ResidentRecord[] = [];
  for (let i = 0; i < count; i++) {
    nextNumber += 1;
    const address = `sms:+1415${String(nextNumber).padStart(7, '0')}`;
    made.push({
      _id: address,
      _rev: 1,
      address,
      channel: 'sms',
      locale: options.locale?.(i) ?? 'en',
      optedOut: options.optedOut?.(i) ?? false,
      volunteerCalls: false,
      interests: [],
      createdAt: NOW,
      lastSeenAt: NOW,
    });
  }
  for (let start = 0; start < made.length; start += 500)
    await Promise.all(made.slice(start, start + 500).map((resident) => service().store.residents.insert(resident)));
  return made;
}

let nextIdea = 0;
async function idea(title: string, author: ResidentRecord, supportThreshold?: number): Promise<string> {
  nextIdea += 1;
  const ref = `I-${'ABCDEFGHJKMNPQRSTVWXYZ'[nextIdea]}7K3Q`;
  await service().store.ideas.insert({
    _id: ref,
    title,
    details: '',
    authorAddress: author.address,
    channel: 'sms',
    status: 'new',
    kind: 'idea',
    createdAt: NOW,
    ...(supportThreshold !== undefined ? { supportThreshold } : {}),
  });
  return ref;
}

/** The SMS bodies the fake Twilio received for a number. */
function smsTo(resident: ResidentRecord): string[] {
  return twilio.requests.filter((request) => `sms:${request.form['To']}` === resident.address).map((request) => request.form['Body'] ?? '');
}

describe('support thresholds', () => {
  it('the 25th of 30 supporters arriving at once takes the idea to review: one audit entry, one notice, each resident told once', async () => {
    const [author, ...supporters] = await residents(31, { locale: (i) => (i % 2 ? 'es' : 'en'), optedOut: (i) => i === 30 });
    const ref = await idea('More bike racks downtown', author!);
    // All at once: each recounts after its own insert; the revision check lets one move the status.
    const outcomes = await Promise.all(supporters.map((supporter) => supportIdea(service().store, ref, { address: supporter.address, now: NOW }, 25)));
    expect(outcomes.every((outcome) => outcome === 'supported')).toBe(true);

    const stored = await service().store.ideas.get(ref);
    expect(stored).toMatchObject({ status: 'under_review', supporters: 30, thresholdReachedAt: NOW });
    const audit = await service().store.audit.find({ field: 'kind', equals: 'audit' }, { limit: 1000 });
    expect(audit.filter((entry) => entry.action === 'idea.threshold_reached' && entry.target === ref)).toEqual([
      expect.objectContaining({ actor: 'system', details: expect.objectContaining({ threshold: 25 }) }),
    ]);
    const broadcasts = await service().store.broadcasts.find({ field: 'kind', equals: 'broadcast' }, { limit: 100 });
    const notices = broadcasts.filter((broadcast) => broadcast.ideaNotice?.ideaId === ref);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ _id: ideaNoticeBroadcastId({ event: 'reached', ideaId: ref, status: 'under_review' }), audience: { ideaId: ref } });
    // Nothing was sent in the supporters' turns.
    expect(twilio.requests.filter((request) => request.form['Body']?.includes(ref))).toEqual([]);

    const progress = await broadcastDone(service(), notices[0]!._id);
    // The author and the 30 supporters (all supported by the time it was reached); the opted-out one skipped.
    expect(progress).toMatchObject({ planned: 31, byState: { sent: 30, skipped: 1 }, byReason: { opted_out: 1 } });
    expect(smsTo(author!)).toEqual([`${ref} "More bike racks downtown" reached 25 supporters and goes to the city for review.`]);
    // In each resident's language (supporters[0] speaks Spanish).
    expect(smsTo(supporters[0]!)).toEqual([
      expect.stringMatching(new RegExp(`^${ref} "More bike racks downtown" lleg. a 25 apoyos y pasa a revisi.n de la ciudad\\.$`)),
    ]);
    for (const supporter of supporters.slice(0, -1)) expect(smsTo(supporter).length, supporter.address).toBe(1);
    expect(smsTo(supporters.at(-1)!)).toEqual([]);

    // A later support recounts, and tells nobody again.
    const [late] = await residents(1);
    expect(await supportIdea(service().store, ref, { address: late!.address, now: NOW }, 25)).toBe('supported');
    expect((await service().store.ideas.get(ref))?.supporters).toBe(31);
    expect(
      (await service().store.broadcasts.find({ field: 'kind', equals: 'broadcast' }, { limit: 100 })).filter((b) => b.ideaNotice?.ideaId === ref),
    ).toHaveLength(1);
  }, 60_000);

  it("an idea's own threshold overrides the city's; staff setting one already reached sends it to review", async () => {
    const [author, ...supporters] = await residents(4);
    const ref = await idea('Shade trees on Main Street', author!, 0);
    for (const supporter of supporters) await supportIdea(service().store, ref, { address: supporter.address, now: NOW }, 25);
    expect(await service().store.ideas.get(ref)).toMatchObject({ status: 'new', supporters: 3 });
    const detail = await setIdeaThreshold(service().staff, ref, 3, STAFF, NOW);
    expect(detail).toMatchObject({ status: 'under_review', supportThreshold: 3, threshold: 3, supports: 3 });
    const id = ideaNoticeBroadcastId({ event: 'reached', ideaId: ref, status: 'under_review' });
    await broadcastDone(service(), id);
    expect(smsTo(supporters[0]!)).toEqual([`${ref} "Shade trees on Main Street" reached 3 supporters and goes to the city for review.`]);
  }, 60_000);
  it("tells an idea's residents though its notice's reference was drawn already by a staff broadcast (28 million references, thousands of notices)", async () => {
    const [author, ...supporters] = await residents(4);
    const ref = await idea('Water fountains in Riverside Park', author!, 3);
    const taken = ideaNoticeBroadcastId({ event: 'reached', ideaId: ref, status: 'under_review' });
    await service().store.broadcasts.insert({
      _id: taken,
      messages: { en: 'Volunteers wanted for the river cleanup' },
      audience: {},
      status: 'done',
      sendAt: NOW,
      answerWindowHours: 24,
      planned: 0,
      createdBy: STAFF.username,
      kind: 'broadcast',
      createdAt: NOW,
      updatedAt: NOW,
    });
    for (const supporter of supporters) await supportIdea(service().store, ref, { address: supporter.address, now: NOW }, 25);
    const broadcasts = await service().store.broadcasts.find({ field: 'kind', equals: 'broadcast' }, { limit: 1000 });
    const notices = broadcasts.filter((broadcast) => broadcast.ideaNotice?.ideaId === ref);
    expect(notices).toHaveLength(1);
    expect(notices[0]!._id).not.toBe(taken);
    await broadcastDone(service(), notices[0]!._id);
    expect(smsTo(supporters[0]!)).toEqual([`${ref} "Water fountains in Riverside Park" reached 3 supporters and goes to the city for review.`]);
    // The staff broadcast is left as it was.
    expect(await service().store.broadcasts.get(taken)).toMatchObject({ status: 'done', planned: 0 });
  }, 60_000);

  it('a hidden idea reaches no threshold (a merge copying supporters into it, or staff lowering it): nobody is told of an idea they cannot see', async () => {
    const [author, otherAuthor, ...supporters] = await residents(32);
    const kept = await idea('Covered bike parking at the station', author!);
    for (const supporter of supporters.slice(0, 20)) await supportIdea(service().store, kept, { address: supporter.address, now: NOW }, 25);
    const merged = await idea('Bike shelter by the train station', otherAuthor!);
    for (const supporter of supporters.slice(20)) await supportIdea(service().store, merged, { address: supporter.address, now: NOW }, 25);
    // Staff merge, then hide the kept idea before the merge's job copies the supports (30 in all, over 25).
    await mergeIdeas(service().staff, kept, merged, STAFF, NOW);
    await moderateIdea(service().staff, kept, { action: 'hide', note: 'Checking a complaint' }, STAFF, NOW);
    service().jobs.start();
    await service().jobs.idle();
    expect(await service().store.ideas.get(kept)).toMatchObject({ status: 'new', supporters: 31 });
    expect(await service().store.broadcasts.get(ideaNoticeBroadcastId({ event: 'reached', ideaId: kept, status: 'under_review' }))).toBeNull();
    // Nor when staff lower the threshold of the hidden idea.
    await setIdeaThreshold(service().staff, kept, 5, STAFF, NOW);
    expect(await service().store.ideas.get(kept)).toMatchObject({ status: 'new' });
    expect(await service().store.broadcasts.get(ideaNoticeBroadcastId({ event: 'reached', ideaId: kept, status: 'under_review' }))).toBeNull();
  }, 60_000);
});

describe('merge notices', () => {
  it('are not sent once the kept idea is hidden (reported overnight while they waited out quiet hours): its title would go to residents who cannot see it', async () => {
    await service().jobs.stop();
    const [keptAuthor, mergedAuthor, supporter] = await residents(3);
    const kept = await idea('Call Jo on 217 555 0142 about the Elm St fence', keptAuthor!);
    const merged = await idea('Fix the Elm St fence', mergedAuthor!);
    await supportIdea(service().store, merged, { address: supporter!.address, now: NOW }, 25);
    await mergeIdeas(service().staff, kept, merged, STAFF, NOW);
    await moderateIdea(service().staff, kept, { action: 'hide', note: 'Personal information' }, STAFF, NOW);
    service().jobs.start();
    await service().jobs.idle();
    for (const resident of [mergedAuthor!, supporter!]) expect(smsTo(resident).join('\n')).not.toContain('555 0142');
  });
});

describe('merges at once', () => {
  /**
   * Runs `first` with a store whose first write of an idea waits for `second` to finish: the
   * second merge reads the ideas before the first wrote, as two coordinators clicking together.
   */
  async function interleaved(first: (deps: Service['staff']) => Promise<unknown>, second: () => Promise<unknown>): Promise<unknown[]> {
    const store = service().store;
    let other: Promise<unknown> | undefined;
    const ideas = new Proxy(store.ideas, {
      get(target, name) {
        if (name === 'replace')
          return async (...args: Parameters<typeof target.replace>) => {
            other ??= second().then(
              (result) => result,
              (error: unknown) => error,
            );
            await other;
            return target.replace(...args);
          };
        const value = Reflect.get(target, name) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const slowStore = new Proxy(store, { get: (target, name) => (name === 'ideas' ? ideas : Reflect.get(target, name)) });
    const outcome = await first({ ...service().staff, store: slowStore }).then(
      (result) => result,
      (error: unknown) => error,
    );
    return [outcome, await other];
  }

  it('A into B and B into A together never leave both merged into each other (both gone for residents)', async () => {
    const [a, b] = await residents(2);
    const one = await idea('Benches along the river path', a!);
    const two = await idea('More benches by the river', b!);
    const outcomes = await interleaved(
      (deps) => mergeIdeas(deps, two, one, STAFF, NOW),
      () => mergeIdeas(service().staff, one, two, STAFF, NOW),
    );
    const [first, second] = await Promise.all([service().store.ideas.get(one), service().store.ideas.get(two)]);
    expect([first!.mergedInto, second!.mergedInto].filter(Boolean).length, JSON.stringify(outcomes)).toBeLessThanOrEqual(1);
    for (const outcome of outcomes) if (outcome instanceof Error) expect(outcome).toMatchObject({ status: 409 });
  });

  it("C into A while A goes into B makes no chain (C's supporters would stay behind on a merged idea)", async () => {
    const [a, b, c] = await residents(3);
    const ideaA = await idea('Crosswalk at 5th and Main', a!);
    const ideaB = await idea('Safer crossing on Main Street', b!);
    const ideaC = await idea('Zebra crossing 5th/Main', c!);
    const outcomes = await interleaved(
      (deps) => mergeIdeas(deps, ideaB, ideaA, STAFF, NOW),
      () => mergeIdeas(service().staff, ideaA, ideaC, STAFF, NOW),
    );
    const [storedA, storedC] = await Promise.all([service().store.ideas.get(ideaA), service().store.ideas.get(ideaC)]);
    expect(Boolean(storedA!.mergedInto && storedC!.mergedInto === ideaA), JSON.stringify(outcomes)).toBe(false);
    for (const outcome of outcomes) if (outcome instanceof Error) expect(outcome).toMatchObject({ status: 409 });
  });
});

describe('erasure and merged ideas', () => {
  it("the author deleting their data takes their idea's words out of its notices, and the notices not yet sent are not sent", async () => {
    // Reached while the worker is away: the notice is written, nobody told yet.
    await service().broadcasts.stop();
    const [author, ...supporters] = await residents(4);
    const ref = await idea('Mural on the Hartwell Avenue underpass', author!, 3);
    for (const supporter of supporters) await supportIdea(service().store, ref, { address: supporter.address, now: NOW }, 25);
    const id = ideaNoticeBroadcastId({ event: 'reached', ideaId: ref, status: 'under_review' });
    expect((await service().store.broadcasts.get(id))?.ideaNotice?.title).toBe('Mural on the Hartwell Avenue underpass');

    await service().runner.erasure.erase({ address: author!.address, sourceKey: 'erase-notice-author', now: NOW });
    expect(JSON.stringify(await service().store.broadcasts.get(id))).not.toContain('Hartwell');
    await broadcastDone(service(), id);
    for (const supporter of supporters) expect(smsTo(supporter)).toEqual([]);
  }, 60_000);

  it('the author of a kept idea deleting their data gives back the ideas merged into it, with their supporters, instead of losing them', async () => {
    const [author, otherAuthor, ...supporters] = await residents(5);
    const kept = await idea('Crosswalk at Elm and 3rd', author!);
    const merged = await idea('Safer crossing on Elm Street', otherAuthor!);
    for (const supporter of supporters) await supportIdea(service().store, merged, { address: supporter.address, now: NOW }, 25);
    await mergeIdeas(service().staff, kept, merged, STAFF, NOW);
    service().jobs.start();
    await service().jobs.idle();
    expect((await service().store.ideas.get(merged))?.mergedInto).toBe(kept);

    await service().runner.erasure.erase({ address: author!.address, sourceKey: 'erase-kept-author', now: NOW });
    expect(await service().store.ideas.get(kept)).toBeNull();
    const back = await service().store.ideas.get(merged);
    expect(back?.mergedInto).toBeUndefined();
    expect((await visibleIdeas(service().store, { order: 'newest' })).map((shown) => shown._id)).toContain(merged);
    expect(await supportIdea(service().store, merged, { address: supporters[0]!.address, now: NOW }, 25)).toBe('already');
    expect((await service().store.ideas.get(merged))?.supporters).toBe(3);
  }, 60_000);
});

/**
 * Supporters of the answered idea: 2,000 on the embedded store; 60 on MongoDB, where FerretDB's
 * few milliseconds per write make 2,000 deliveries outlast the test (the once-each rule is the
 * same at either size; the worker's throughput is the broadcast tests' and the bench's).
 */
const SUPPORTERS = ON_MONGODB ? 60 : 2000;

describe("staff's answer", () => {
  it(`reaches ${SUPPORTERS} supporters and the author through the worker, each once, none who opted out`, async () => {
    const [author] = await residents(1);
    const supporters = await residents(SUPPORTERS, { optedOut: (i) => i === 7 });
    const ref = await idea('Night market on Fridays', author!, 0);
    for (let start = 0; start < supporters.length; start += 500) {
      await Promise.all(
        supporters
          .slice(start, start + 500)
          .map((supporter) => service().store.ideaSupports.insert({ _id: `${ref}|${supporter.address}`, ideaId: ref, address: supporter.address, at: NOW })),
      );
    }
    // The worker is stopped while staff answer: if anything were sent in the request, it would be counted.
    await service().broadcasts.stop();
    const before = twilio.requests.length;
    const answered = await respondToIdea(service().staff, ref, { status: 'accepted', note: 'Starting in spring' }, STAFF, new Date(NOW.getTime() + 60_000));
    expect(answered.queued).toBe(true);
    // The request wrote a broadcast and sent nothing.
    expect(twilio.requests.length).toBe(before);

    const progress = await broadcastDone(service(), answered.broadcastId, 120_000);
    expect(progress.planned).toBe(SUPPORTERS + 1);
    expect(progress.byState).toMatchObject({ sent: SUPPORTERS, skipped: 1, failed: 0, queued: 0, sending: 0 });
    const text = `The city answered idea ${ref} "Night market on Fridays": accepted.\nStarting in spring`;
    const bodies = twilio.requests.slice(before).filter((request) => request.form['Body'] === text);
    expect(bodies).toHaveLength(SUPPORTERS);
    expect(new Set(bodies.map((request) => request.form['To'])).size).toBe(SUPPORTERS);
    expect(smsTo(supporters[7]!)).toEqual([]);
    expect(smsTo(author!)).toEqual([text]);

    // Answering the same again (a retried request): the same broadcast, nobody told twice.
    const again = await respondToIdea(service().staff, ref, { status: 'accepted', note: 'Starting in spring' }, STAFF, new Date(NOW.getTime() + 120_000));
    expect(again).toMatchObject({ queued: false, broadcastId: answered.broadcastId });
    service().broadcasts.kick();
    await service().broadcasts.idle();
    expect(twilio.requests.slice(before).filter((request) => request.form['Body'] === text)).toHaveLength(SUPPORTERS);
  }, 180_000);
});
