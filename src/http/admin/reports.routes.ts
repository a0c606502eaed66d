/**
 * Staff API for reports: list with filters, one report in full, and change a status (which
 * tells the resident). The inbox (residents' requests for a person) is inbox.routes.ts.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../service.js';
import { changeReportStatus, listReports, reportDetail, reportStatuses } from '../../staff/report-desk.js';
import { fetchReportPhoto } from '../../staff/report-photos.js';
import { CHANNEL_NAMES } from '../../core/message.js';
import { validationError } from '../../core/errors.js';
import { actorOf } from './actor.js';
import { reportForStaff } from './staff-views.js';

const days = z.coerce.number().int().min(0).max(3650);

/** A status or category id in a filter (empty: any). */
const ID_FILTER = /^[A-Za-z0-9_-]*$/;

/** The query of `GET /reports`. */
export const reportQuery = z.strictObject({
  // Ids (`in_progress`, `illegal_dumping`): a NUL in a filter reached the store and was a 500.
  status: z.string().max(40).regex(ID_FILTER, 'must be a status id').optional(),
  statusGroup: z.enum(['open', 'fixed', 'closed']).optional(),
  category: z.string().max(40).regex(ID_FILTER, 'must be a category id').optional(),
  channel: z.enum(CHANNEL_NAMES).optional(),
  maxAgeDays: days.optional(),
  minAgeDays: days.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** The body of a status change. */
export const statusBody = z.strictObject({
  status: z.string().min(1).max(40),
  note: z.string().max(1000).optional(),
  notify: z.boolean().optional(),
});

const refParam = z.string().regex(/^[A-Za-z]-?[A-Za-z0-9]{5}$/, 'must be a reference like R-7K3QX');

/** The routes, mounted under /admin/api. */
export function reportApiRoutes(service: Service): Router {
  const router = express.Router();

  router.get('/reports', async (req, res) => {
    const query = reportQuery.safeParse(req.query);
    if (!query.success) throw validationError(query.error);
    const reports = await listReports(service.staff, query.data);
    res.json({ reports: reports.map(reportForStaff), statuses: reportStatuses() });
  });

  router.get('/reports/:ref', async (req, res) => {
    const ref = refOf(req.params.ref);
    const detail = await reportDetail(service.staff, ref);
    res.json({
      report: reportForStaff(detail.report),
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

  return router;
}

function refOf(value: unknown): string {
  const ref = refParam.safeParse(value);
  if (!ref.success) throw validationError(ref.error);
  const compact = ref.data.toUpperCase().replace('-', '');
  return `${compact.charAt(0)}-${compact.slice(1)}`;
}
