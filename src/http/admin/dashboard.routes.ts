/**
 * The staff dashboard's pages under `/admin` (server-rendered HTML; the JSON API under
 * `/admin/api` mirrors them). Mounted after staff access, so every page has a session or the
 * admin token, and every session POST has passed the CSRF check. Errors on pages come back as
 * pages with their status, not as the API's JSON.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type ErrorRequestHandler, type Router } from 'express';
import type { Service } from '../../service.js';
import { HttpError } from '../../core/errors.js';
import type { StaffActor } from './actor.js';
import { html, sendStaffPage } from './html.js';
import { auditPages } from './pages/audit.page.js';
import { broadcastPages } from './pages/broadcasts.page.js';
import { handoffPages } from './pages/handoffs.page.js';
import { homePages } from './pages/home.page.js';
import { ideaPages } from './pages/ideas.page.js';
import { impactPages } from './pages/impact.page.js';
import { ideaModerationPages } from './pages/idea-moderation.page.js';
import { layout } from './pages/layout.js';
import { mapPages } from './pages/map.page.js';
import { reportPages } from './pages/reports.page.js';
import { reportMergePages } from './pages/report-merge.page.js';
import { rolePages } from './pages/roles.page.js';
import { checkinPages } from './pages/checkin.page.js';
import { loveYourBlockPages } from './pages/love-your-block.page.js';
import { routingPages } from './pages/routing.page.js';
import { open311KeyPages } from './pages/open311-keys.page.js';
import { ballotPages } from './pages/ballots.page.js';

/** The page scripts, served as files: the staff pages' CSP runs scripts from this origin only. */
const ASSETS = ['broadcast-progress.js', 'inbox.js', 'map.js', 'canned-fill.js'] as const;

/** The `/admin` page routes (mount after staff access). */
export function dashboardRoutes(service: Service): Router {
  const router = express.Router();
  // Read once at start, from the project folder (like the web chat's page files).
  const assetsDir = path.join(service.config.rootDir, 'src', 'http', 'admin', 'pages', 'assets');
  const assets = new Map(ASSETS.map((name) => [name, readFileSync(path.join(assetsDir, name), 'utf8')]));

  router.get('/assets/:name', (req, res, next) => {
    const script = assets.get(req.params.name as (typeof ASSETS)[number]);
    if (script === undefined) return next();
    res.set({ 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' }).send(script);
  });

  router.use(homePages(service));
  router.use(impactPages(service));
  router.use(reportPages(service));
  router.use(reportMergePages(service));
  router.use(mapPages(service));
  router.use(routingPages(service));
  router.use(ideaPages(service));
  // Before the role pages: `/roles/from-reports` is not a role reference.
  router.use(loveYourBlockPages(service));
  router.use(ideaModerationPages(service));
  router.use(rolePages(service));
  router.use(checkinPages(service));
  router.use(broadcastPages(service));
  router.use(ballotPages(service));
  router.use(handoffPages(service));
  router.use(open311KeyPages(service));
  router.use(auditPages(service));
  // Errors become pages in `pageErrors`, which index.ts mounts after staff access and these.
  return router;
}

const TITLES: Record<number, string> = {
  400: 'That did not work',
  401: 'Please log in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'That changed meanwhile',
  413: 'Too much at once',
};

/**
 * Turns an error on a page into a page with its status: a StaffError or HttpError shows its
 * message (written for staff), anything else a generic one (and is logged). Mounted last on the
 * `/admin` router, so staff access's own refusals (a stale form's CSRF token) are pages too; an
 * `/api` path is handed on, so the API answers JSON.
 */
export function pageErrors(service: Service): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (/^\/api(?:\/|$)/.test(req.path) || res.headersSent) return next(error);
    const known = error as { status?: number; statusCode?: number; expose?: boolean; message?: string; type?: string };
    const status = error instanceof HttpError ? error.status : (known.status ?? known.statusCode ?? 500);
    if (status >= 500) service.logger.error({ path: req.path, err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'staff page failed');
    const message =
      status >= 500
        ? 'Something went wrong on our side. Please try again.'
        : known.type === 'entity.too.large'
          ? 'The form was too large.'
          : error instanceof HttpError || known.expose
            ? (known.message ?? 'Bad request')
            : 'Bad request';
    const title = TITLES[status] ?? (status >= 500 ? 'Something went wrong' : 'That did not work');
    const content = html`<h1>${title}</h1>
      <p>${message}</p>
      <p><a href="/admin">Back to the dashboard</a></p>`;
    const actor = res.locals['staff'] as StaffActor | undefined;
    if (!actor) {
      // No staff member on the request (it should not happen after staff access): no navigation.
      return sendStaffPage(
        res,
        html`<!doctype html>
          <html lang="en">
            <head>
              <meta charset="utf-8" />
              <title>${title}</title>
            </head>
            <body>
              <main>${content}</main>
            </body>
          </html>`,
        status,
      );
    }
    sendStaffPage(res, layout({ title, section: 'home', actor, cityName: service.config.cityName }, content), status);
  };
}
