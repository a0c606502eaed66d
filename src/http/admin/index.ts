/**
 * The staff side under `/admin`: the dashboard pages and the JSON API (`/admin/api`), both
 * behind staff access (a dashboard session, or ADMIN_TOKEN for scripts). Each area of the
 * staff side (reports, the inbox, ideas, roles, broadcasts, staff, audit) has its own route files, mounted
 * here.
 */
import { reportApiRoutes } from './reports.routes.js';
import { reportMergeApiRoutes } from './report-merge.routes.js';
import { mapApiRoutes } from './map.routes.js';
import { routingApiRoutes } from './routing.routes.js';
import { inboxApiRoutes } from './inbox.routes.js';
import { ideaApiRoutes } from './ideas.routes.js';
import { roleApiRoutes } from './roles.routes.js';
import { shiftApiRoutes } from './shifts.routes.js';
import { impactApiRoutes } from './impact.routes.js';
import { broadcastApiRoutes } from './broadcasts.routes.js';
import { ballotApiRoutes } from './ballots.routes.js';
import { open311KeyApiRoutes } from './open311-keys.routes.js';
import { dashboardRoutes, pageErrors } from './dashboard.routes.js';
import express, { type Router } from 'express';
import type { Service } from '../../service.js';
import { loginRoutes } from './login.routes.js';
import { staffAccess } from './staff-access.js';
import { staffApiRoutes } from './staff.routes.js';
import { HttpError, validationError } from '../../core/errors.js';
import { z } from 'zod';

/** JSON bodies of the staff API are small; anything bigger is refused with 413. */
const ADMIN_JSON_LIMIT = '64kb';

const nluParseBody = z.object({ text: z.string().min(1).max(2000), locale: z.string().optional() }).strict();

/** The `/admin` router. */
export function adminRoutes(service: Service): Router {
  const router = express.Router();
  // The login page is the one way in without a session; everything after it needs staff access.
  router.use(loginRoutes(service));
  router.use(staffAccess(service));
  const api = express.Router();
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
  api.use(staffApiRoutes(service));
  // Area routers are mounted here: api.use(reportApiRoutes(service)) ...
  // Before the reports' routes: `/reports/:ref` would take `map` for a reference.
  api.use(mapApiRoutes(service));
  api.use(reportApiRoutes(service));
  api.use(routingApiRoutes(service));
  api.use(reportMergeApiRoutes(service));
  api.use(inboxApiRoutes(service));
  api.use(ideaApiRoutes(service));
  api.use(roleApiRoutes(service));
  api.use(shiftApiRoutes(service));
  api.use(impactApiRoutes(service));
  api.use(broadcastApiRoutes(service));
  api.use(ballotApiRoutes(service));
  api.use(open311KeyApiRoutes(service));
  router.use('/api', api);
  // The dashboard's pages: after staff access (they need a session or the token) and the API.
  router.use(dashboardRoutes(service));
  // Refusals by staff access itself (a stale form's CSRF token, another site's post) are pages too.
  router.use(pageErrors(service));
  return router;
}
