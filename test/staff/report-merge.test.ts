/**
 * Merging duplicate reports (issue 18), on the records: the merged report becomes a duplicate
 * out of the open indexes; its reporter and followers follow the kept report once each, with
 * their words and photos; a merge cut off at any write and run again completes without doubling
 * anything; merges that would chain or lose track are refused; and a merged reporter who deletes
 * their data takes their words with them. Also the suggestions staff see.
 */
import { describe, expect, it } from 'vitest';
import type { ReportRecord } from '../../src/domain/records.js';
import { withOpenReportKeys } from '../../src/domain/open-report-keys.js';
import { coReporterCount, followReport } from '../../src/pipeline/report-followers.js';
import { duplicateSuggestions, likelyDuplicates } from '../../src/staff/report-duplicates.js';
import { mergeReports, reportMergeInfo } from '../../src/staff/report-merge.js';
import { changeReportStatus } from '../../src/staff/report-desk.js';
import type { StaffDeps } from '../../src/staff/staff-deps.js';
import type { Store } from '../../src/store/store.port.js';
import { TestConversation, useTestService, WEB_LIKE } from '../support/harness.js';
import { aReport, at } from '../store/store-records.fixture.js';

const service = useTestService();
const actor = { username: 'ana', role: 'coordinator' as const };
const deps = (store: Store = service().store): Pick<StaffDeps, 'store' | 'jobs'> => ({ store, jobs: { kick() {} } });
let serial = 0;

/** Stores an open report (with its duplicate-search keys) and returns it. */
async function putReport(id: string, overrides: Partial<ReportRecord> = {}): Promise<ReportRecord> {
  await service().store.reports.insert(withOpenReportKeys(aReport(id, overrides)));
  return (await service().store.reports.get(id))!;
}

/**
 * Two reports of one pothole: R-K… kept (reported by `a`), R-M… to merge (reported by `b`, who
 * also replied with a photo). Followers of the merged one: `f1` with words; `f2`, who follows the
 * kept one too without words; `a`, the kept one's own reporter, with words; `f3`, who follows
 * both with words on each.
 */
async function scenario() {
  const n = String(++serial).padStart(3, '0');
  const [keep, merge] = [`R-K${n}AA`, `R-M${n}AA`];
  const address = (who: string) => `sms:+1555${n}${who}`;
  const [a, b, f1, f2, f3] = ['0001', '0002', '0003', '0004', '0005'].map(address) as [string, string, string, string, string];
  await putReport(keep, { residentAddress: a, description: 'Deep pothole', photos: [], createdAt: at(1) });
  await putReport(merge, {
    residentAddress: b,
    description: 'Pothole in the bike lane',
    photos: [{ url: 'https://example.test/b1.jpg', contentType: 'image/jpeg' }],
    createdAt: at(2),
  });
  const { store } = service();
  await store.reportUpdates.insert({
    _id: `${merge}|reply`,
    reportId: merge,
    by: 'resident',
    note: 'Still there',
    photos: [{ url: 'https://example.test/b2.jpg', contentType: 'image/jpeg' }],
    at: at(3),
  });
  const follow = (ref: string, who: string, note?: string) =>
    followReport(store, { ref, address: who, sourceKey: `${who}:${ref}`, now: at(4), ...(note ? { note } : {}) });
  expect(await follow(merge, f1, 'f1 saw it too')).toBe('following');
  expect(await follow(keep, f2)).toBe('following');
  expect(await follow(merge, f2, 'f2 on the merged one')).toBe('following');
  expect(await follow(merge, a, 'a on the merged one')).toBe('following');
  expect(await follow(keep, f3, 'f3 on the kept one')).toBe('following');
  expect(await follow(merge, f3, 'f3 on the merged one')).toBe('following');
  return { keep, merge, a, b, f1, f2, f3 };
}

/** What the merge leaves, without revisions: the same after any number of runs. */
async function outcome(keep: string, merge: string) {
  const { store } = service();
  const strip = <T extends { _rev: number }>({ _rev, ...rest }: T) => rest;
  return {
    kept: await store.reports.get(keep),
    merged: strip((await store.reports.get(merge))!),
    keptUpdates: (await store.reportUpdates.find({ field: 'reportId', equals: keep }, { limit: 100 })).map(strip),
    mergedUpdates: (await store.reportUpdates.find({ field: 'reportId', equals: merge }, { limit: 100 })).map(strip),
    keptFollowers: (await store.reportFollowers.find({ field: 'reportId', equals: keep }, { limit: 100 })).map(strip),
    mergedFollowers: (await store.reportFollowers.find({ field: 'reportId', equals: merge }, { limit: 100 })).map(strip),
  };
}

/** The store, failing (before writing) at its `writes`-th write of what a merge writes. */
function crashingAt(store: Store, writes: number): Store {
  let left = writes;
  const wrap = (collection: object) =>
    new Proxy(collection, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (['insert', 'upsert', 'replace', 'delete'].includes(String(prop)) && --left < 0) throw new Error('crashed');
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      return ['reports', 'reportUpdates', 'reportFollowers', 'jobs', 'audit'].includes(String(prop)) ? wrap(value as object) : value;
    },
  });
}

describe('merging a report into another', () => {
  it('makes it a duplicate and moves its reporter, followers, words and photos, each once', async () => {
    const { keep, merge, a, b, f1, f2, f3 } = await scenario();
    const { store } = service();
    const before = (await store.reports.get(merge))!;
    expect(before.openCell).toBeTruthy();
    const result = await mergeReports(deps(), keep, merge, actor, at(10));
    expect(result).toMatchObject({ already: false, followers: 2 });

    const merged = (await store.reports.get(merge))!;
    expect(merged).toMatchObject({ status: 'duplicate', statusGroup: 'closed', mergedInto: keep });
    expect(merged).not.toHaveProperty('openCell');
    expect(merged).not.toHaveProperty('openPlace');
    expect((await reportMergeInfo(store, (await store.reports.get(keep))!)).mergedHere.map((r) => r._id)).toEqual([merge]);
    expect((await reportMergeInfo(store, merged)).mergedInto?._id).toBe(keep);

    const followers = await store.reportFollowers.find({ field: 'reportId', equals: keep }, { limit: 100 });
    expect(followers.map((f) => [f.address, f.via, f.mergedFrom ?? null]).sort()).toEqual(
      [
        [b, 'merge', merge],
        [f1, 'follow', merge],
        [f2, 'follow', null],
        [f3, 'follow', null],
      ].sort(),
    );
    // The kept report's reporter is not a follower of their own report; everyone counts once.
    expect(await coReporterCount(store, { _id: keep })).toBe(5);
    // Only f3 stays behind: their words on the merged report are held by that follow.
    expect((await store.reportFollowers.find({ field: 'reportId', equals: merge }, { limit: 10 })).map((f) => f.address)).toEqual([f3]);

    const updates = await store.reportUpdates.find({ field: 'reportId', equals: keep }, { limit: 100 });
    const noteOf = async (address: string) => {
      const follow = await store.reportFollowers.get(`${keep}|${address}`);
      return follow?.noteId ? store.reportUpdates.get(follow.noteId) : null;
    };
    // The merged reporter's description, reply and both photos: one follower's update.
    expect(await noteOf(b)).toMatchObject({
      reportId: keep,
      by: 'resident',
      follower: true,
      note: 'Pothole in the bike lane\nStill there',
      photos: [
        { url: 'https://example.test/b1.jpg', contentType: 'image/jpeg' },
        { url: 'https://example.test/b2.jpg', contentType: 'image/jpeg' },
      ],
    });
    expect((await noteOf(f1))?.note).toBe('f1 saw it too');
    expect((await noteOf(f2))?.note).toBe('f2 on the merged one');
    expect((await noteOf(f3))?.note).toBe('f3 on the kept one');
    // The kept report's reporter's words are their own there (not a follower's).
    const own = updates.filter((u) => u.note === 'a on the merged one');
    expect(own).toHaveLength(1);
    expect(own[0]).not.toHaveProperty('follower');
    expect(
      updates
        .filter((u) => u.by === 'resident')
        .map((u) => u.note)
        .sort(),
    ).toEqual(['Pothole in the bike lane\nStill there', 'a on the merged one', 'f1 saw it too', 'f2 on the merged one', 'f3 on the kept one'].sort());
    // Moved words left the merged report; f3's stayed, and the reporter's own are theirs there.
    const left = await store.reportUpdates.find({ field: 'reportId', equals: merge }, { limit: 100 });
    expect(left.map((u) => u.note ?? `[${u.status}]`).sort()).toEqual(['Still there', '[duplicate]', 'f3 on the merged one'].sort());
    expect(left.find((u) => u.status === 'duplicate')).toMatchObject({ by: 'staff', staff: 'ana', notified: false });
    expect(a).toBeTruthy();

    // Audited, without residents' words or addresses.
    const audit = await store.audit.find({ field: 'kind', equals: 'audit' }, { order: 'desc', limit: 1 });
    expect(audit[0]).toMatchObject({ action: 'report.merge', target: merge, actor: 'ana', details: { into: keep, followers: 2, retry: false } });
    expect(JSON.stringify(audit[0])).not.toMatch(/sms:|bike lane/);
  });

  it('is the same after a retry, and after a merge cut off at any write and run again', async () => {
    const clean = await scenario();
    await mergeReports(deps(), clean.keep, clean.merge, actor, at(10));
    const expected = await outcome(clean.keep, clean.merge);
    const again = await mergeReports(deps(), clean.keep, clean.merge, actor, at(11));
    expect(again).toMatchObject({ already: true, followers: 2 });
    const { merged: mergedAgain, ...restAgain } = await outcome(clean.keep, clean.merge);
    const { merged: mergedFirst, ...restFirst } = expected;
    expect(restAgain).toEqual(restFirst);
    expect(mergedAgain).toEqual(mergedFirst);

    /** The outcome with the scenario's own names replaced, to compare two scenarios. */
    const normal = async (s: Awaited<ReturnType<typeof scenario>>) => {
      const o = await outcome(s.keep, s.merge);
      let text = JSON.stringify({ ...o, kept: null });
      for (const [key, value] of Object.entries(s)) text = text.replaceAll(value, `<${key}>`);
      // Copied notes are named by a hash of the original's id, which holds the scenario's names.
      const parsed = JSON.parse(text.replace(/\|[0-9a-f]{20}/g, '|<hash>')) as Record<string, unknown>;
      // In a stable order: hashed ids sort differently from one scenario to the next.
      for (const [key, value] of Object.entries(parsed)) if (Array.isArray(value)) parsed[key] = value.map((v) => JSON.stringify(v)).sort();
      return parsed;
    };
    const reference = await normal(clean);
    let crashes = 0;
    for (let writes = 0; writes < 60; writes++) {
      const s = await scenario();
      try {
        await mergeReports(deps(crashingAt(service().store, writes)), s.keep, s.merge, actor, at(10));
      } catch (error) {
        expect((error as Error).message).toBe('crashed');
        crashes++;
        await mergeReports(deps(), s.keep, s.merge, actor, at(10));
        // Run once more for good measure: nothing changes.
        await mergeReports(deps(), s.keep, s.merge, actor, at(10));
        expect(await normal(s), `cut off at write ${writes}`).toEqual(reference);
        continue;
      }
      expect(await normal(s)).toEqual(reference);
      break;
    }
    // A merge of this scenario writes a dozen or more records: each was a crash point.
    expect(crashes).toBeGreaterThan(10);
  });

  it('refuses merging into itself, into a merged or closed report, chains, and what was merged elsewhere', async () => {
    const { keep, merge } = await scenario();
    const other = (await scenario()).keep;
    const refused = (into: string, from: string) =>
      mergeReports(deps(), into, from, actor, at(10)).catch((error: { status: number; message: string }) => error);
    expect(await refused(keep, keep)).toMatchObject({ status: 409, message: `${keep} cannot be merged into itself` });
    expect(await refused(keep, 'R-NONE1')).toMatchObject({ status: 404 });
    expect(await refused('R-NONE1', keep)).toMatchObject({ status: 404 });

    await mergeReports(deps(), keep, merge, actor, at(10));
    // Into a merged report: a chain.
    expect(await refused(merge, other)).toMatchObject({ status: 409, message: `${merge} was merged into ${keep}: merge into ${keep} instead` });
    // The merged report elsewhere.
    expect(await refused(other, merge)).toMatchObject({ status: 409, message: `${merge} was merged into ${keep} already` });
    // A report others were merged into, into another: the other way round instead.
    expect(await refused(other, keep)).toMatchObject({
      status: 409,
      message: `${merge} was merged into ${keep}: merge ${other} into ${keep} instead, so that they stay together`,
    });
    // Into a closed report, or a closed one into another.
    const closed = await putReport(`R-C${++serial}AA`.slice(0, 7), { status: 'not_responsible', statusGroup: 'closed' });
    expect(await refused(closed._id, other)).toMatchObject({
      status: 409,
      message: `${closed._id} is closed (not_responsible): reopen it first, or merge into an open report`,
    });
    expect(await refused(other, closed._id)).toMatchObject({ status: 409, message: `${closed._id} is closed (not_responsible): reopen it first to merge it` });
    // Nothing changed by the refusals.
    expect((await service().store.reports.get(other))?.statusGroup).toBe('open');
    // A merged report's status stays: reopened, it would be offered as "already reported" again.
    expect(
      await changeReportStatus(service().staff, merge, { status: 'open' }, actor, at(12)).catch((error: { status: number; message: string }) => error),
    ).toMatchObject({
      status: 409,
      message: `${merge} was merged into ${keep}: change ${keep} instead`,
    });
    expect((await service().store.reports.get(merge))?.status).toBe('duplicate');
  });

  it('lets a merged reporter who deletes their data take their words from the kept report', async () => {
    const chatId = 93_000_000 + serial;
    const resident = new TestConversation(service(), `telegram:${chatId}`, WEB_LIKE);
    await resident.send('hello');
    const { keep, merge } = await scenario();
    const { store } = service();
    const mergedReport = (await store.reports.get(merge))!;
    await store.reports.replace({ ...mergedReport, residentAddress: resident.address }, mergedReport._rev);
    await mergeReports(deps(), keep, merge, actor, at(10));
    const follow = (await store.reportFollowers.get(`${keep}|${resident.address}`))!;
    expect((await store.reportUpdates.get(follow.noteId!))?.note).toContain('bike lane');

    await resident.send('delete my data');
    expect(await resident.send({ choice: 'yes' })).toMatch(/deleted/i);
    expect(await store.reportFollowers.get(follow._id)).toBeNull();
    expect(await store.reportUpdates.get(follow.noteId!)).toBeNull();
    expect(await store.reports.get(merge)).toMatchObject({ residentAddress: 'deleted', description: '[deleted]', photos: [], mergedInto: keep });
    // Their reply on the merged report went too; nothing of theirs is left on either report.
    const words = [
      ...(await store.reportUpdates.find({ field: 'reportId', equals: keep }, { limit: 100 })),
      ...(await store.reportUpdates.find({ field: 'reportId', equals: merge }, { limit: 100 })),
    ].map((u) => u.note ?? '');
    expect(words.some((w) => /bike lane|Still there/.test(w))).toBe(false);
  });
});

describe('duplicate suggestions', () => {
  it('offers the open reports of the category near a report or at its place, and groups them for the dashboard', async () => {
    const near = { lat: 12.5, lon: 45.5 };
    const ids = ['R-DUPA1', 'R-DUPA2', 'R-DUPA3', 'R-DUPA4', 'R-DUPA5', 'R-DUPA6'];
    const [one, two, three, far, light, text] = ids as [string, string, string, string, string, string];
    await putReport(one, { location: { point: near }, createdAt: at(20) });
    await putReport(two, { location: { point: { lat: 12.5005, lon: 45.5 } }, createdAt: at(21) });
    // 200 m from `two`, more than 250 m from `one`: a chain, one group.
    await putReport(three, { location: { point: { lat: 12.5023, lon: 45.5 } }, createdAt: at(22) });
    await putReport(far, { location: { point: { lat: 12.6, lon: 45.5 } }, createdAt: at(23) });
    await putReport(light, { category: 'streetlight', location: { point: near }, createdAt: at(24) });
    await putReport(text, { location: { text: 'Elm Street and 77th Avenue' }, createdAt: at(25) });
    await putReport('R-DUPA7', { location: { text: '77th Ave & Elm St' }, createdAt: at(26) });

    const suggested = await duplicateSuggestions(service().store, (await service().store.reports.get(two))!, 250);
    expect(suggested.map((s) => [s.report._id, s.match])).toEqual([
      [one, 'point'],
      [three, 'point'],
    ]);
    const byPlace = await duplicateSuggestions(service().store, (await service().store.reports.get(text))!, 250);
    expect(byPlace.map((s) => [s.report._id, s.match])).toEqual([['R-DUPA7', 'place']]);

    const groups = (await likelyDuplicates(service().store, { radiusM: 250, limit: 50 })).filter((g) => g.reports.some((r) => ids.includes(r._id)));
    expect(groups.map((g) => [g.reports.map((r) => r._id), g.match])).toEqual([
      [[text, 'R-DUPA7'], 'place'],
      [[one, two, three], 'point'],
    ]);

    // Merged, a report is no longer offered, and offers nothing.
    await mergeReports(deps(), one, two, actor, at(30));
    const after = await duplicateSuggestions(service().store, (await service().store.reports.get(three))!, 250);
    expect(after.map((s) => s.report._id)).toEqual([]);
    expect(await duplicateSuggestions(service().store, (await service().store.reports.get(two))!, 250)).toEqual([]);
  });
});
