/**
 * The staff desk's tools for working reports (issue 18), on the store directly: departments and
 * how a report's department follows its category unless routed by hand; target days and the
 * overdue flag; assignment and the "mine" / "unassigned" queues read through the `openQueue`
 * index only (open reports only, kept right by status changes); internal notes, which the
 * resident's `status R-…` never shows; the bounded text search; canned responses by category;
 * and the CSV export (quoting, formula guard, no resident address). Every action is audited.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ReportRecord } from '../../src/domain/records.js';
import { UNASSIGNED_QUEUE, assignedQueueKey, withOpenReportKeys } from '../../src/domain/open-report-keys.js';
import { backfillOpenReportKeys } from '../../src/store/open-report-keys.migration.js';
import { listAudit } from '../../src/staff/audit-log.js';
import { csvCell, csvLine } from '../../src/staff/csv.js';
import { addCannedReply, cannedRepliesForReport } from '../../src/staff/handoff-desk.js';
import { changeReportStatus, findReports, listReports } from '../../src/staff/report-desk.js';
import { EXPORT_COLUMNS, exportReports } from '../../src/staff/report-export.js';
import { addInternalNote } from '../../src/staff/report-notes.js';
import {
  assignReport,
  departmentOf,
  isOverdue,
  removeDepartment,
  routeReport,
  routingTable,
  saveDepartment,
  setTargetDays,
  targetDaysOf,
} from '../../src/staff/report-routing.js';
import { queryWords, referenceInQuery, reportMatches } from '../../src/staff/report-search.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';
import type { Actor } from '../../src/staff/staff-deps.js';
import { smsAddress, TestConversation, useTestService } from '../support/harness.js';

const service = useTestService({ SEED_DEMO_DATA: 'false' });
const ADMIN: Actor = { username: 'ada', role: 'admin' };
const DAY = 86_400_000;
const NOW = new Date('2026-06-10T12:00:00Z');
let counter = 0;

/** A report stored as the pipeline stores it (with its index keys), made `daysAgo` before NOW. */
async function aReport(overrides: Partial<ReportRecord> & { daysAgo?: number } = {}): Promise<ReportRecord> {
  const { daysAgo = 1, ...rest } = overrides;
  counter += 1;
  const made = new Date(NOW.getTime() - daysAgo * DAY);
  const record = withOpenReportKeys({
    _id: `R-${(counter + 22_000).toString(36).toUpperCase().padStart(5, '2').slice(-5)}`,
    _rev: 0,
    category: 'pothole',
    status: 'open',
    statusGroup: 'open' as const,
    location: { text: 'Calle Mayor y Quinta' },
    description: 'A deep hole by the café',
    photos: [],
    residentAddress: smsAddress(),
    channel: 'sms' as const,
    locale: 'es',
    createdAt: made,
    updatedAt: made,
    ...rest,
  });
  const { _rev, ...unsaved } = record;
  expect(await service().store.reports.insert(unsaved)).toBe(true);
  return (await service().store.reports.get(record._id))!;
}

const deps = () => service().staff;

describe('departments and targets', () => {
  it('route a report by its category unless staff route it by hand; a category is in one department', async () => {
    await saveDepartment(deps(), 'public-works', { name: 'Public Works', categories: ['pothole', 'sidewalk', 'pothole'] }, ADMIN);
    await saveDepartment(deps(), 'parks', { name: 'Parks', categories: ['park', 'tree'] }, ADMIN);
    await expect(saveDepartment(deps(), 'streets', { name: 'Streets', categories: ['pothole'] }, ADMIN)).rejects.toThrow(/handled by Public Works/);
    await expect(saveDepartment(deps(), 'Bad Id', { name: 'X', categories: [] }, ADMIN)).rejects.toMatchObject({ status: 400 });
    await expect(saveDepartment(deps(), 'x', { name: 'X', categories: ['teleporter'] }, ADMIN)).rejects.toMatchObject({ status: 400 });

    const table = await routingTable(deps());
    expect(table.departments.map((d) => [d.id, d.categories])).toEqual([
      ['public-works', ['pothole', 'sidewalk']],
      ['parks', ['park', 'tree']],
    ]);
    const pothole = await aReport();
    const tree = await aReport({ category: 'tree' });
    const noise = await aReport({ category: 'noise' });
    expect(departmentOf(pothole, table)?.id).toBe('public-works');
    expect(departmentOf(tree, table)?.id).toBe('parks');
    expect(departmentOf(noise, table)).toBeUndefined();

    // By hand: kept on the report; routing it back to its category's clears the field.
    const routed = await routeReport(deps(), pothole._id, 'parks', ADMIN, NOW);
    expect(routed.department).toBe('parks');
    expect((await findReports(deps(), { department: 'parks' }, NOW)).reports.map((r) => r._id)).toEqual(expect.arrayContaining([pothole._id, tree._id]));
    expect((await findReports(deps(), { department: 'public-works' }, NOW)).reports.map((r) => r._id)).not.toContain(pothole._id);
    expect(await routeReport(deps(), pothole._id, 'public-works', ADMIN, NOW)).not.toHaveProperty('department');
    await expect(routeReport(deps(), pothole._id, 'nowhere', ADMIN, NOW)).rejects.toMatchObject({ status: 400 });
    await expect(routeReport(deps(), 'R-ZZZZZ', null, ADMIN, NOW)).rejects.toMatchObject({ status: 404 });

    // Removing a department: its hand-routed reports go back to their category's.
    await routeReport(deps(), noise._id, 'parks', ADMIN, NOW);
    await saveDepartment(deps(), 'temp', { name: 'Temporary', categories: [] }, ADMIN);
    await routeReport(deps(), noise._id, 'temp', ADMIN, NOW);
    await removeDepartment(deps(), 'temp', ADMIN);
    expect(departmentOf((await service().store.reports.get(noise._id))!, await routingTable(deps()))).toBeUndefined();
    await expect(removeDepartment(deps(), 'temp', ADMIN)).rejects.toMatchObject({ status: 404 });

    const actions = (await listAudit(service().store, { actor: 'ada', limit: 50 })).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(['routing.department.save', 'routing.department.remove', 'report.route']));
  });

  it('flag an open report overdue past its category target; staff change targets, null is the default', async () => {
    const table = await routingTable(deps());
    expect([targetDaysOf('pothole', table), targetDaysOf('streetlight', table), targetDaysOf('graffiti', table), targetDaysOf('noise', table)]).toEqual([
      5, 7, 7, 14,
    ]);
    const late = await aReport({ daysAgo: 6 });
    const fresh = await aReport({ daysAgo: 4 });
    const fixedLate = await aReport({ daysAgo: 9, status: 'fixed', statusGroup: 'fixed' });
    expect([isOverdue(late, table, NOW), isOverdue(fresh, table, NOW), isOverdue(fixedLate, table, NOW)]).toEqual([true, false, false]);
    const overdue = (await listReports(deps(), { overdue: true, category: 'pothole' }, NOW)).map((r) => r._id);
    expect(overdue).toContain(late._id);
    expect(overdue).not.toContain(fresh._id);
    expect(overdue).not.toContain(fixedLate._id);

    await setTargetDays(deps(), { pothole: 3 }, ADMIN);
    expect(isOverdue(fresh, await routingTable(deps()), NOW)).toBe(true);
    await setTargetDays(deps(), { pothole: null }, ADMIN);
    expect(targetDaysOf('pothole', await routingTable(deps()))).toBe(5);
    await expect(setTargetDays(deps(), { pothole: 0 }, ADMIN)).rejects.toMatchObject({ status: 400 });
    await expect(setTargetDays(deps(), { warp_core: 3 }, ADMIN)).rejects.toMatchObject({ status: 400 });
  });
});

describe('assignment and queues', () => {
  it('moves an open report between the unassigned and mine queues through their index only, and out of both when fixed', async () => {
    await createStaffUser(service().store, { username: 'mia', displayName: 'Mia', role: 'coordinator', password: 'correct horse battery staple' });
    const report = await aReport({ category: 'graffiti' });
    expect(report.openQueue).toBe(UNASSIGNED_QUEUE);
    expect((await listReports(deps(), { unassigned: true }, NOW)).map((r) => r._id)).toContain(report._id);

    const assigned = await assignReport(deps(), report._id, 'MIA', ADMIN, NOW);
    expect(assigned).toMatchObject({ assignee: 'mia', openQueue: assignedQueueKey('mia') });
    await expect(assignReport(deps(), report._id, 'nobody-here', ADMIN, NOW)).rejects.toMatchObject({ status: 400 });
    await expect(assignReport(deps(), report._id, 'a'.repeat(20_000), ADMIN, NOW)).rejects.toMatchObject({ status: 400 });

    // The queues read the openQueue index and nothing else.
    const store = service().store;
    const reads: string[] = [];
    const find = store.reports.find.bind(store.reports);
    store.reports.find = (where, options) => (reads.push(where.field), find(where, options));
    try {
      expect((await listReports(deps(), { assignee: 'mia' }, NOW)).map((r) => r._id)).toEqual([report._id]);
      expect((await listReports(deps(), { unassigned: true }, NOW)).map((r) => r._id)).not.toContain(report._id);
    } finally {
      store.reports.find = find;
    }
    expect(reads).toEqual(['openQueue', 'openQueue']);

    // Fixed: out of every queue, its assignee kept as history; reopened: back in Mia's.
    const fixed = await changeReportStatus(deps(), report._id, { status: 'fixed', notify: false }, ADMIN);
    expect(fixed.report).not.toHaveProperty('openQueue');
    expect(fixed.report.assignee).toBe('mia');
    expect(await listReports(deps(), { assignee: 'mia' }, NOW)).toEqual([]);
    const reopened = await changeReportStatus(deps(), report._id, { status: 'open', notify: false }, ADMIN);
    expect(reopened.report.openQueue).toBe(assignedQueueKey('mia'));

    expect((await assignReport(deps(), report._id, null, ADMIN, NOW)).openQueue).toBe(UNASSIGNED_QUEUE);

    // An open report stored before the queues existed gets its key from the start-up backfill.
    const { openQueue: _queue, ...before } = (await aReport({ category: 'graffiti' })) as ReportRecord;
    await store.reports.upsert(before);
    expect((await backfillOpenReportKeys(store, pino({ level: 'silent' }))).updated).toBe(1);
    expect((await store.reports.get(before._id))?.openQueue).toBe(UNASSIGNED_QUEUE);
    const audit = (await listAudit(service().store, { actor: 'ada', limit: 100 })).filter((e) => e.action === 'report.assign' && e.target === report._id);
    expect(audit.map((e) => e.details)).toEqual([{ to: null }, { to: 'mia' }]);
  });
});

describe('internal notes', () => {
  it('are kept for staff and never shown to anyone asking for the status', async () => {
    const resident = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 60_000));
    let reply = await resident.send('there is a broken street light on Oak Street and 3rd');
    for (let turn = 0; turn < 6 && !/\bR-[0-9A-Z]{5}\b/.test(reply); turn++) reply = await resident.send(/^1\./m.test(reply) ? '1' : 'skip');
    const ref = /\bR-[0-9A-Z]{5}\b/.exec(reply)![0];

    await addInternalNote(deps(), ref, 'Crew says the cable was stolen; ask Power before Friday', ADMIN);
    await changeReportStatus(deps(), ref, { status: 'in_progress', note: 'A crew is on the way', notify: false }, ADMIN);
    await expect(addInternalNote(deps(), ref, '   ', ADMIN)).rejects.toMatchObject({ status: 400 });
    await expect(addInternalNote(deps(), 'R-ZZZZZ', 'x', ADMIN)).rejects.toMatchObject({ status: 404 });
    const updates = await service().store.reportUpdates.find({ field: 'reportId', equals: ref });
    expect(updates.filter((u) => u.internal).map((u) => [u.by, u.staff, u.note])).toEqual([
      ['staff', 'ada', 'Crew says the cable was stolen; ask Power before Friday'],
    ]);

    const status = await resident.send(`status ${ref}`);
    expect(status).toContain('A crew is on the way');
    expect(status).not.toContain('stolen');
    // Nor to someone else who knows the reference.
    const other = new TestConversation(service(), smsAddress(), undefined, new Date());
    expect(await other.send(`status ${ref}`)).not.toContain('stolen');

    const audit = (await listAudit(service().store, { actor: 'ada', limit: 100 })).find((e) => e.action === 'report.note' && e.target === ref);
    // The audit says a note was added, never what it says.
    expect(audit?.details).toEqual({ internal: true, length: 55 });
  });
});

describe('text search', () => {
  it('matches every word in the reference, description, place or category, ignoring case and accents', () => {
    const report = { _id: 'R-7K3QX', description: 'Hole by the Café', location: { text: 'Calle Mayor' }, category: 'illegal_dumping' };
    expect(reportMatches(report, queryWords('cafe calle'))).toBe(true);
    expect(reportMatches(report, queryWords('CAFÉ dumping'))).toBe(true);
    expect(reportMatches(report, queryWords('illegal dumping'))).toBe(true);
    expect(reportMatches(report, queryWords('7k3qx'))).toBe(true);
    expect(reportMatches(report, queryWords('cafe elm'))).toBe(false);
    expect([referenceInQuery('r7k3qx'), referenceInQuery('#7K3QX'), referenceInQuery('R-7K3QX'), referenceInQuery('pothole elm')]).toEqual([
      'R-7K3QX',
      'R-7K3QX',
      'R-7K3QX',
      undefined,
    ]);
  });

  it('searches the newest reports within its bound, says when it reached it, and finds a reference however old', async () => {
    const old = await aReport({ category: 'water_leak', description: 'Hydrant leaking into the gutter', daysAgo: 40 });
    const newer = await Promise.all([1, 2, 3].map((n) => aReport({ category: 'water_leak', description: `Leak number ${n}`, daysAgo: 10 - n })));
    const bounded = await findReports(deps(), { category: 'water_leak', q: 'leak' }, NOW, { scanLimit: 3 });
    expect(bounded.bounded).toBe(true);
    expect(bounded.reports.map((r) => r._id)).toEqual(newer.map((r) => r._id).reverse());
    expect((await findReports(deps(), { category: 'water_leak', q: 'hydrant' }, NOW, { scanLimit: 3 })).reports).toEqual([]);
    const byRef = await findReports(deps(), { category: 'water_leak', q: old._id.replace('-', '').toLowerCase() }, NOW, { scanLimit: 3 });
    expect(byRef.reports.map((r) => r._id)).toEqual([old._id]);
    expect((await findReports(deps(), { category: 'water_leak', q: 'leak' }, NOW)).bounded).toBe(false);
  });
});

describe('canned responses by category', () => {
  it('are the canned replies of the report category in the resident language', async () => {
    await addCannedReply(deps(), { locale: 'es', category: 'pothole', title: 'Bache programado', text: 'Lo repararemos esta semana.' }, ADMIN);
    await addCannedReply(deps(), { locale: 'en', category: 'pothole', title: 'Pothole booked', text: 'We will fill it this week.' }, ADMIN);
    await addCannedReply(deps(), { locale: 'es', title: 'Horario', text: 'Abrimos a las 9.' }, ADMIN);
    await expect(addCannedReply(deps(), { locale: 'es', category: 'teleporter', title: 'x', text: 'y' }, ADMIN)).rejects.toMatchObject({ status: 400 });
    expect((await cannedRepliesForReport(deps(), 'pothole', 'es')).map((r) => r.title)).toEqual(['Bache programado']);
    expect(await cannedRepliesForReport(deps(), 'tree', 'es')).toEqual([]);
  });
});

describe('CSV export', () => {
  it('quotes cells, neutralises formulas, leaves out the resident, and is audited', async () => {
    expect([
      csvCell('plain'),
      csvCell('a,b'),
      csvCell('say "hi"'),
      csvCell('two\nlines'),
      csvCell('=1+1'),
      csvCell('+1'),
      csvCell('-2'),
      csvCell('@x'),
    ]).toEqual(['plain', '"a,b"', '"say ""hi"""', '"two\nlines"', "'=1+1", "'+1", "'-2", "'@x"]);
    expect(csvLine(['a', 'b'])).toBe('a,b\r\n');

    const address = 'sms:+15550001234';
    const hostile = await aReport({
      category: 'sidewalk',
      description: '=HYPERLINK("http://evil.example","click"), and "quotes"',
      location: { text: '5th, Main', point: { lat: 40.7, lon: -74 } },
      residentAddress: address,
      daysAgo: 2,
    });
    const outside = await aReport({ category: 'sidewalk', daysAgo: 20 });
    const exported = await exportReports(
      deps(),
      { category: 'sidewalk', createdFrom: new Date(NOW.getTime() - 5 * DAY), createdBefore: NOW },
      { from: '2026-06-05', to: '2026-06-09' },
      ADMIN,
      NOW,
    );
    const lines = exported.csv.split('\r\n');
    expect(lines[0]).toBe(EXPORT_COLUMNS.join(','));
    expect(exported.complete).toBe(true);
    expect(exported.csv).toContain(hostile._id);
    expect(exported.csv).not.toContain(outside._id);
    expect(exported.csv).toContain(`"'=HYPERLINK(""http://evil.example"",""click""), and ""quotes"""`);
    expect(exported.csv).toContain('"5th, Main"');
    expect(exported.csv).not.toContain('1234');
    expect(exported.csv).not.toContain('sms:');
    const audit = (await listAudit(service().store, { actor: 'ada', limit: 100 })).find((e) => e.action === 'report.export');
    expect(audit?.details).toMatchObject({ from: '2026-06-05', to: '2026-06-09', category: 'sidewalk', rows: exported.rows, complete: true });
  });
});
