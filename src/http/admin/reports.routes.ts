/**
 * Staff API for reports: list with filters, queues and text search, one report in full, change a
 * status (which tells the resident), assign it, route it to a department, add an internal note,
 * and export reports as CSV. The inbox (residents' requests for a person) is inbox.routes.ts; the
 * routing table (departments, target days) is routing.routes.ts.
 */
import express, { type Response, type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../service.js';
import type { ReportRecord } from '../../domain/records.js';
import { changeReportStatus, findReports, reportDetail, reportStatuses, SCAN_LIMIT, type ReportFilter } from '../../staff/report-desk.js';
import { exportReports } from '../../staff/report-export.js';
import { addInternalNote, MAX_INTERNAL_NOTE_LENGTH } from '../../staff/report-notes.js';
import { assignReport, DEPARTMENT_ID, routeReport, routingOf, routingTable, type RoutingTable } from '../../staff/report-routing.js';
import { MAX_QUERY_LENGTH } from '../../staff/report-search.js';
import { fetchReportPhoto } from '../../staff/report-photos.js';
import { REPORT_CHANNELS } from '../../domain/report-channels.js';
import { HttpError, validationError } from '../../core/errors.js';
import { actorOf } from './actor.js';
import { reportForStaff } from './staff-views.js';
import { fromCityLocalInput } from '../../domain/city-time.js';

const days = z.coerce.number().int().min(0).max(3650);

/** A status or category id in a filter (empty: any). */
const ID_FILTER = /^[A-Za-z0-9_-]*$/;

/** `true` or `false` in a query string (a checkbox sends `on`). */
const flag = z.enum(['true', 'false', 'on']).transform((value) => value !== 'false');

/** The query of `GET /reports`. */
export const reportQuery = z.strictObject({
  // Ids (`in_progress`, `illegal_dumping`): a NUL in a filter reached the store and was a 500.
  status: z.string().max(40).regex(ID_FILTER, 'must be a status id').optional(),
  statusGroup: z.enum(['open', 'fixed', 'closed']).optional(),
  category: z.string().max(40).regex(ID_FILTER, 'must be a category id').optional(),
  channel: z.enum(REPORT_CHANNELS).optional(),
  maxAgeDays: days.optional(),
  minAgeDays: days.optional(),
  /** `mine`: open and assigned to whoever asks; `unassigned`: open and nobody's. */
  queue: z.enum(['mine', 'unassigned']).optional(),
  department: z.string().regex(DEPARTMENT_ID, 'must be a department id').optional(),
  overdue: flag.optional(),
  q: z.string().max(MAX_QUERY_LENGTH).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** The list filter a parsed query asks for, with "mine" as the asking staff member. */
export function filterOf(query: z.infer<typeof reportQuery>, username: string): ReportFilter {
  const { queue, overdue, q, ...rest } = query;
  return {
    ...rest,
    ...(queue === 'mine' ? { assignee: username } : queue === 'unassigned' ? { unassigned: true } : {}),
    ...(overdue ? { overdue: true } : {}),
    ...(q?.trim() ? { q: q.trim() } : {}),
  };
}

/** The body of a status change. */
export const statusBody = z.strictObject({
  status: z.string().min(1).max(40),
  note: z.string().max(1000).optional(),
  notify: z.boolean().optional(),
});

/** The body of an assignment: a staff username, or null for nobody. */
export const assignBody = z.strictObject({ username: z.string().min(1).max(64).nullable() });
/** The body of a routing: a department id, or null to go where the category goes. */
export const routeBody = z.strictObject({ department: z.string().regex(DEPARTMENT_ID, 'must be a department id').nullable() });
/** The body of an internal note. */
export const noteBody = z.strictObject({ text: z.string().min(1).max(MAX_INTERNAL_NOTE_LENGTH) });

// Years 1970-2999: before CivicLine there are no reports, and a five-digit year has no ISO date.
const date = z.string().regex(/^(?:19[7-9]\d|2\d{3})-\d{2}-\d{2}$/, 'must be a date like 2026-05-02');
/** The query of `GET /reports.csv`: a date range (inclusive, in the city's time zone) and the list's filters. */
export const exportQuery = z.strictObject({
  from: date,
  to: date,
  status: reportQuery.shape.status,
  statusGroup: reportQuery.shape.statusGroup,
  category: reportQuery.shape.category,
  channel: reportQuery.shape.channel,
  department: reportQuery.shape.department,
});

const refParam = z.string().regex(/^[A-Za-z]-?[A-Za-z0-9]{5}$/, 'must be a reference like R-7K3QX');

/** The routes, mounted under /admin/api. */
export function reportApiRoutes(service: Service): Router {
  const router = express.Router();

  router.get('/reports', async (req, res) => {
    const query = reportQuery.safeParse(req.query);
    if (!query.success) throw validationError(query.error);
    const now = new Date();
    const listing = await findReports(service.staff, filterOf(query.data, actorOf(res).username), now);
    res.json({
      reports: listing.reports.map((report) => withRouting(report, listing.routing, now)),
      statuses: reportStatuses(),
      // The words were matched within the newest SCAN_LIMIT reports the other filters select.
      scanned: { limit: SCAN_LIMIT, reachedLimit: listing.bounded },
    });
  });

  // Before `/reports/:ref` only for reading's sake: `reports.csv` is not a reference either way.
  router.get('/reports.csv', async (req, res) => {
    const query = exportQuery.safeParse(req.query);
    if (!query.success) throw validationError(query.error);
    const { from, to, ...filters } = query.data;
    const timeZone = service.config.cityTimeZone;
    const createdFrom = fromCityLocalInput(`${from}T00:00`, timeZone);
    // Checked real before its next day is taken (2026-02-31 is not a date, not March 3rd).
    const createdBefore = fromCityLocalInput(`${to}T00:00`, timeZone) && fromCityLocalInput(`${nextDay(to)}T00:00`, timeZone);
    if (!createdFrom || !createdBefore) throw new HttpError(400, 'Invalid request. from, to: must be real dates');
    if (createdFrom >= createdBefore) throw new HttpError(400, 'Invalid request. to: must be on or after from');
    const exported = await exportReports(service.staff, { ...filters, createdFrom, createdBefore }, { from, to }, actorOf(res));
    res
      .set({ 'Cache-Control': 'private, no-store', 'X-Export-Rows': String(exported.rows), 'X-Export-Complete': String(exported.complete) })
      .type('text/csv; charset=utf-8')
      .attachment(`reports-${from}-to-${to}.csv`)
      .send(exported.csv);
  });

  router.get('/reports/:ref', async (req, res) => {
    const ref = refOf(req.params.ref);
    const detail = await reportDetail(service.staff, ref);
    const routing = await routingTable(service.staff);
    res.json({
      report: withRouting(detail.report, routing, new Date()),
      updates: detail.updates.map(({ _rev, ...update }) => update),
      transcript: detail.transcript.map(({ direction, text, at, media, location }) => ({
        direction,
        text,
        at,
        ...(media ? { media } : {}),
        ...(location ? { location } : {}),
      })),
      residentReachable: detail.residentReachable,
      // "Is it fixed?" answers, without the resident's address (comments are theirs: JSON-escaped only).
      surveys: detail.surveys.map(({ _id: _survey, _rev, address: _address, reportId: _report, month: _month, ...answer }) => answer),
    });
  });

  router.post('/reports/:ref/status', async (req, res) => {
    const ref = refOf(req.params.ref);
    const body = statusBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const result = await changeReportStatus(service.staff, ref, body.data, actorOf(res));
    const { _rev, ...update } = result.update;
    res.json({ report: reportForStaff(result.report), update, notification: result.notification });
  });

  router.post('/reports/:ref/assign', async (req, res) => {
    const ref = refOf(req.params.ref);
    const body = assignBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    await sendReport(res, await assignReport(service.staff, ref, body.data.username, actorOf(res)));
  });

  router.post('/reports/:ref/route', async (req, res) => {
    const ref = refOf(req.params.ref);
    const body = routeBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    await sendReport(res, await routeReport(service.staff, ref, body.data.department, actorOf(res)));
  });

  router.post('/reports/:ref/notes', async (req, res) => {
    const ref = refOf(req.params.ref);
    const body = noteBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { _rev, ...update } = await addInternalNote(service.staff, ref, body.data.text, actorOf(res));
    res.status(201).json({ update });
  });

  router.get('/reports/:ref/photos/:index', async (req, res) => {
    const ref = refOf(req.params.ref);
    const index = z.coerce.number().int().min(1).max(1000).safeParse(req.params.index);
    if (!index.success) throw validationError(index.error);
    const { accountSid, authToken } = service.config.twilio;
    const photo = await fetchReportPhoto(
      service.staff,
      {
        media: service.media,
        ...(service.telegram ? { telegramFile: (reference: string) => service.telegram!.fetchFile(reference) } : {}),
        ...(accountSid && authToken ? { twilio: { accountSid, authToken } } : {}),
      },
      ref,
      index.data - 1,
    );
    // The bytes are a resident's: never sniffed into something runnable, never a page.
    res
      .set({ 'Cache-Control': 'private, no-store', 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "default-src 'none'" })
      .type(photo.contentType)
      .send(photo.bytes);
  });

  /** A changed report, with its routing as the table says now. */
  async function sendReport(res: Response, report: ReportRecord): Promise<void> {
    res.json({ report: withRouting(report, await routingTable(service.staff), new Date()) });
  }

  return router;
}

/** A report as staff see it, with its department, assignee, due time and whether it is overdue. */
function withRouting(report: ReportRecord, routing: RoutingTable, now: Date) {
  return { ...reportForStaff(report), routing: routingOf(report, routing, now) };
}

/** The day after a real `YYYY-MM-DD` date, in the same form (the export's end is exclusive). */
function nextDay(dateText: string): string {
  const [year, month, day] = dateText.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + 1)).toISOString().slice(0, 10);
}

function refOf(value: unknown): string {
  const ref = refParam.safeParse(value);
  if (!ref.success) throw validationError(ref.error);
  const compact = ref.data.toUpperCase().replace('-', '');
  return `${compact.charAt(0)}-${compact.slice(1)}`;
}
