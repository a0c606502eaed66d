/**
 * Staff API for the map: `GET /reports/map`, the pinned reports of a filter with only what a
 * pin needs (reference, category, status, point, time). Mounted before the reports' own routes,
 * where `/reports/:ref` would take `map` for a reference.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../service.js';
import { validationError } from '../../core/errors.js';
import { MAP_POINTS_MAX, reportMap, type BoundingBox } from '../../staff/report-map.js';

/** A number in a bbox: plain decimal degrees (no exponents, hex or `Infinity`). */
const DEGREES = /^-?\d{1,3}(?:\.\d{1,12})?$/;

/**
 * `minLon,minLat,maxLon,maxLat` in degrees. `minLon` past `maxLon` is a box across the
 * antimeridian; latitudes must be in order.
 */
export const bboxParam = z
  .string()
  .max(100)
  .transform((value, ctx): BoundingBox => {
    const parts = value.split(',');
    const numbers = parts.map((part) => (DEGREES.test(part.trim()) ? Number(part.trim()) : NaN));
    const [minLon, minLat, maxLon, maxLat] = numbers as [number, number, number, number];
    if (
      numbers.length !== 4 ||
      numbers.some((n) => !Number.isFinite(n)) ||
      Math.abs(minLon) > 180 ||
      Math.abs(maxLon) > 180 ||
      Math.abs(minLat) > 90 ||
      Math.abs(maxLat) > 90 ||
      minLat > maxLat
    ) {
      ctx.addIssue({ code: 'custom', message: 'must be minLon,minLat,maxLon,maxLat in degrees (lon -180..180, lat -90..90, minLat <= maxLat)' });
      return z.NEVER;
    }
    return { minLon, minLat, maxLon, maxLat };
  });

/** The query of `GET /reports/map`. */
export const reportMapQuery = z.strictObject({
  statusGroup: z.enum(['open', 'fixed', 'closed']).optional(),
  // An id (`illegal_dumping`), as the reports list takes it.
  category: z
    .string()
    .max(40)
    .regex(/^[A-Za-z0-9_-]*$/, 'must be a category id')
    .optional(),
  maxAgeDays: z.coerce.number().int().min(0).max(3650).optional(),
  bbox: bboxParam.optional(),
  limit: z.coerce.number().int().min(1).max(MAP_POINTS_MAX).optional(),
});

/** The routes, mounted under /admin/api before the reports' routes. */
export function mapApiRoutes(service: Service): Router {
  const router = express.Router();

  router.get('/reports/map', async (req, res) => {
    // Blank values (an untouched select of the page's form) mean "any", as on the reports list.
    const values = Object.fromEntries(Object.entries(req.query as Record<string, unknown>).filter(([, value]) => value !== ''));
    const query = reportMapQuery.safeParse(values);
    if (!query.success) throw validationError(query.error);
    const { category, ...rest } = query.data;
    const map = await reportMap(service.staff, { ...rest, ...(category ? { category } : {}) });
    // Residents' reports, for a logged-in staff member: never kept by a shared cache or the browser.
    res.set('Cache-Control', 'private, no-store').json({
      reports: map.pins.map((pin) => ({ ...pin, createdAt: pin.createdAt.toISOString() })),
      count: map.pins.length,
      truncated: map.truncated,
      limit: map.limit,
      withoutPoint: map.withoutPoint,
    });
  });

  return router;
}
