/**
 * Staff API for impact: the dashboard home's numbers, and the impact of volunteering (issue 20)
 * over a date range as JSON and as CSV.
 */
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../service.js';
import { validationError } from '../../core/errors.js';
import { impactNumbers } from '../../staff/impact.js';
import { impactRange, volunteerImpact, volunteerImpactCsv, type ImpactRange } from '../../staff/volunteer-impact.js';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2026-05-02');
/** The query of the impact's reads: an inclusive range of days in the city's time zone, by default the last 12 months. */
export const impactQuery = z.strictObject({ from: day.optional(), to: day.optional() });

/** The range a request asks for (400 for a bad one), in the city's time zone. */
export function impactRangeOf(req: Request, service: Service, now: Date): ImpactRange {
  const query = impactQuery.safeParse(req.query);
  if (!query.success) throw validationError(query.error);
  return impactRange(query.data, service.config.cityTimeZone, now);
}

/** The routes, mounted under /admin/api. */
export function impactApiRoutes(service: Service): Router {
  const router = express.Router();
  const deps = { store: service.store, config: service.config };
  router.get('/impact', async (req, res) => {
    const now = new Date();
    const range = impactRangeOf(req, service, now);
    const [numbers, volunteering] = await Promise.all([impactNumbers(service.staff), volunteerImpact(deps, range, now)]);
    res.json({ ...numbers, volunteerImpact: volunteering });
  });
  router.get('/impact.csv', async (req, res) => {
    const now = new Date();
    const range = impactRangeOf(req, service, now);
    const impact = await volunteerImpact(deps, range, now);
    res
      .set({ 'Cache-Control': 'private, no-store', 'X-Export-Complete': String(impact.complete) })
      .type('text/csv; charset=utf-8')
      .attachment(`impact-${range.from}-to-${range.to}.csv`)
      .send(volunteerImpactCsv(impact));
  });
  return router;
}
