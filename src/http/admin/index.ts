/**
 * The staff side under `/admin`: the dashboard pages and the JSON API (`/admin/api`), both
 * behind staff access (a dashboard session, or ADMIN_TOKEN for scripts). Each area of the
 * staff side (reports, ideas, roles, broadcasts, staff, audit) has its own route files, mounted
 * here.
 */
import express, { type Router } from 'express';
import type { Service } from '../../service.js';
import { requireAdminToken } from '../admin-auth.js';
import { HttpError, validationError } from '../errors.js';
import { z } from 'zod';

/** JSON bodies of the staff API are small; anything bigger is refused with 413. */
const ADMIN_JSON_LIMIT = '64kb';

const nluParseBody = z.object({ text: z.string().min(1).max(2000), locale: z.string().optional() }).strict();

/** The `/admin` router. */
export function adminRoutes(service: Service): Router {
  const router = express.Router();
  // TODO(staff access): sessions and CSRF replace the bearer-only check.
  const api = express.Router();
  api.use(requireAdminToken(service.config.adminToken));
  api.use((_req, res, next) => {
    res.locals['staff'] = { username: 'admin-token', role: 'admin', via: 'token' };
    next();
  });
  api.use(express.json({ limit: ADMIN_JSON_LIMIT }));
  api.post('/nlu/parse', (req, res) => {
    const body = nluParseBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { locale } = body.data;
    if (locale !== undefined && !service.nlu.locales.includes(locale)) {
      throw new HttpError(400, `Invalid request. locale: must be one of ${service.nlu.locales.join(', ')}`);
    }
    const result = service.nlu.parse(body.data.text, locale);
    res.json({ intent: result.intent, confidence: result.confidence, category: result.category, locale: result.locale, entities: result.entities });
  });
  // Area routers are mounted here: api.use(reportApiRoutes(service)) ...
  router.use('/api', api);
  return router;
}
