/**
 * Staff API for duplicates (issue 18): `GET /reports/:ref/duplicates` (what may be the same
 * problem, and what was merged) and `POST /reports/:ref/merge` `{ into }` (merge this report into
 * another, which tells its residents once). Its own router, beside the reports' one.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../service.js';
import { validationError } from '../../core/errors.js';
import { reportDuplicates } from '../../staff/report-duplicates.js';
import { mergeReports } from '../../staff/report-merge.js';
import { actorOf } from './actor.js';
import { reportForStaff } from './staff-views.js';

/** A report reference as staff type it (`R-7K3QX`, `r7k3qx`). */
const refParam = z.string().regex(/^[A-Za-z]-?[A-Za-z0-9]{5}$/, 'must be a reference like R-7K3QX');

/** The body of a merge: the report to keep. */
export const mergeBody = z.strictObject({ into: refParam });

/** The routes, mounted under /admin/api. */
export function reportMergeApiRoutes(service: Service): Router {
  const router = express.Router();

  router.get('/reports/:ref/duplicates', async (req, res) => {
    const duplicates = await reportDuplicates(service.staff, refOf(req.params.ref));
    res.set('Cache-Control', 'private, no-store').json({
      ...(duplicates.mergedInto ? { mergedInto: duplicates.mergedInto._id } : {}),
      merged: duplicates.mergedHere.map((report) => ({ ref: report._id, createdAt: report.createdAt, channel: report.channel })),
      // No description or resident: staff open the report for those.
      suggestions: duplicates.suggestions.map(({ report, match, distanceM }) => ({
        ref: report._id,
        category: report.category,
        status: report.status,
        createdAt: report.createdAt,
        match,
        ...(distanceM === undefined ? {} : { distanceM: Math.round(distanceM) }),
        ...(report.location.text ? { place: report.location.text } : {}),
      })),
    });
  });

  router.post('/reports/:ref/merge', async (req, res) => {
    const ref = refOf(req.params.ref);
    const body = mergeBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const result = await mergeReports(service.staff, refOf(body.data.into), ref, actorOf(res));
    res.json({ kept: reportForStaff(result.kept), merged: reportForStaff(result.merged), already: result.already, followers: result.followers });
  });

  return router;
}

/** A reference, checked and normalised (`r7k3qx` → `R-7K3QX`); a 400 when it cannot be one. */
export function refOf(value: unknown): string {
  const ref = refParam.safeParse(value);
  if (!ref.success) throw validationError(ref.error);
  const compact = ref.data.toUpperCase().replace('-', '');
  return `${compact.charAt(0)}-${compact.slice(1)}`;
}
