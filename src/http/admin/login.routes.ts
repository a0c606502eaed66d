/**
 * The staff login page and logout. Login is the one staff route without a session, so it has
 * its own CSRF defence (a double-submit cookie: a random value set in an HttpOnly cookie on GET
 * and echoed in the form; another site can neither read nor set it) and a per-address throttle
 * on failures, on top of the per-account lock-out in `staff-accounts.ts`.
 */
import { randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Config } from '../../config.js';
import type { Store } from '../../store/store.port.js';
import { recordAudit } from '../../staff/audit-log.js';
import { findStaffUser, login } from '../../staff/staff-accounts.js';
import { createStaffSession, deleteStaffSession } from '../../staff/staff-sessions.js';
import { actorOf } from './actor.js';
import { html, sendStaffPage, type SafeHtml } from './html.js';
import { isSameOrigin, parseCookies, safeNextPath, secretsEqual, STAFF_SESSION_COOKIE, staffAccess, staffCookieOptions } from './staff-access.js';

/** The login form's CSRF cookie. */
export const LOGIN_CSRF_COOKIE = 'civicline_login_csrf';

/** What the login routes need from the service. */
export interface LoginRoutesDeps {
  store: Pick<Store, 'staffUsers' | 'staffSessions' | 'audit'>;
  config: Pick<Config, 'adminToken' | 'publicUrl' | 'staffSessionHours' | 'cityName'>;
}

/** Settings tests change. */
export interface LoginThrottleOptions {
  /** Failed logins one client address may make per window before it gets 429s. */
  maxFailures?: number;
  windowMs?: number;
}

const LOGIN_FORM_LIMIT = '8kb';
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** How long a login form stays usable after it was shown. */
const LOGIN_FORM_MAX_AGE_MS = 2 * 3_600_000;

const loginForm = z.object({
  username: z.string().max(200),
  password: z.string().max(4096),
  _csrf: z.string().max(200).optional(),
  next: z.string().max(2000).optional(),
});

/** `GET/POST /login` and `POST /logout`, for the `/admin` router (before staff access). */
export function loginRoutes(deps: LoginRoutesDeps, throttleOptions: LoginThrottleOptions = {}): Router {
  const { store, config } = deps;
  const router = express.Router();
  const throttle = createLoginThrottle(throttleOptions);
  const cookieOptions = staffCookieOptions(config);

  /** Shows the form with a login CSRF token, reusing the browser's so two open tabs both work. */
  const showForm = (req: Request, res: Response, status: number, message?: string, next?: string) => {
    const existing = parseCookies(req.get('cookie')).get(LOGIN_CSRF_COOKIE);
    const csrf = existing && TOKEN_PATTERN.test(existing) ? existing : randomBytes(32).toString('base64url');
    res.cookie(LOGIN_CSRF_COOKIE, csrf, { ...cookieOptions, maxAge: LOGIN_FORM_MAX_AGE_MS });
    sendStaffPage(res, loginPage({ cityName: config.cityName, csrf, next: safeNextPath(next), ...(message ? { message } : {}) }), status);
  };

  router.get('/login', (req, res) => {
    showForm(req, res, 200, undefined, typeof req.query['next'] === 'string' ? req.query['next'] : undefined);
  });

  router.post('/login', express.urlencoded({ extended: false, limit: LOGIN_FORM_LIMIT, parameterLimit: 20 }), async (req, res) => {
    const ip = req.ip ?? 'unknown';
    const now = new Date();
    const form = loginForm.safeParse(req.body ?? {});
    const next = form.success ? form.data.next : undefined;
    const blockedUntil = throttle.blockedUntil(ip, now.getTime());
    if (blockedUntil !== null) {
      res.set('Retry-After', String(Math.ceil((blockedUntil - now.getTime()) / 1000)));
      return showForm(req, res, 429, 'Too many failed logins. Try again later.', next);
    }
    if (!isSameOrigin(req, config)) return showForm(req, res, 403, 'This login came from another site and was refused.', next);
    const cookieCsrf = parseCookies(req.get('cookie')).get(LOGIN_CSRF_COOKIE);
    const formCsrf = form.success ? form.data._csrf : undefined;
    if (!cookieCsrf || !formCsrf || !secretsEqual(cookieCsrf, formCsrf)) {
      return showForm(req, res, 403, 'The login form expired. Please try again.', next);
    }
    if (!form.success || !form.data.username.trim() || !form.data.password) {
      return showForm(req, res, 400, 'Enter your username and password.', next);
    }

    const result = await login(store, form.data.username, form.data.password, now);
    if (!result.ok) {
      throttle.fail(ip, now.getTime());
      // An unknown username is not recorded: people type their password into it by mistake.
      const known = await findStaffUser(store, form.data.username);
      await recordAudit(store, {
        actor: known?.username ?? 'unknown',
        action: 'staff.login_failed',
        ...(known ? { target: known.username } : {}),
        details: { reason: result.reason === 'locked' ? 'locked' : known ? 'invalid' : 'unknown_user', ip },
      });
      if (result.reason === 'locked') {
        res.set('Retry-After', String(Math.max(1, Math.ceil((result.retryAt.getTime() - now.getTime()) / 1000))));
        return showForm(req, res, 429, 'Too many failed logins for this account. Try again later.', next);
      }
      return showForm(req, res, 401, 'Wrong username or password.', next);
    }

    // A session cookie from before the login is ended, so nobody can plant one and ride it.
    const previous = parseCookies(req.get('cookie')).get(STAFF_SESSION_COOKIE);
    if (previous) await deleteStaffSession(store, previous);
    const { token } = await createStaffSession(store, result.user.username, now, config.staffSessionHours);
    res.cookie(STAFF_SESSION_COOKIE, token, { ...cookieOptions, maxAge: config.staffSessionHours * 3_600_000 });
    res.clearCookie(LOGIN_CSRF_COOKIE, cookieOptions);
    await recordAudit(store, { actor: result.user.username, action: 'staff.login', target: result.user.username, details: { ip } }, now);
    res.redirect(303, safeNextPath(next));
  });

  router.post('/logout', staffAccess(deps), async (req, res) => {
    const token = parseCookies(req.get('cookie')).get(STAFF_SESSION_COOKIE);
    if (token) await deleteStaffSession(store, token);
    res.clearCookie(STAFF_SESSION_COOKIE, cookieOptions);
    const actor = actorOf(res);
    await recordAudit(store, { actor: actor.username, action: 'staff.logout', target: actor.username });
    res.redirect(303, '/admin/login');
  });

  return router;
}

/**
 * Counts failed logins per client address in memory, so one address cannot try thousands of
 * usernames (the per-account lock-out does not stop that). Per instance, not shared: it is a
 * brake, not a guarantee. Bounded: past `maxTracked` addresses, expired ones are dropped first,
 * then all, so a flood of addresses cannot exhaust memory.
 */
export function createLoginThrottle(options: LoginThrottleOptions & { maxTracked?: number } = {}) {
  const maxFailures = options.maxFailures ?? 20;
  const windowMs = options.windowMs ?? 15 * 60_000;
  const maxTracked = options.maxTracked ?? 10_000;
  const failures = new Map<string, { count: number; windowEnds: number }>();
  return {
    /** When the address may try again, or null when it may now. */
    blockedUntil(ip: string, now: number): number | null {
      const entry = failures.get(ip);
      if (!entry || entry.windowEnds <= now) return null;
      return entry.count >= maxFailures ? entry.windowEnds : null;
    },
    /** Counts one failed login from the address. */
    fail(ip: string, now: number): void {
      const entry = failures.get(ip);
      if (entry && entry.windowEnds > now) {
        entry.count += 1;
        return;
      }
      if (failures.size >= maxTracked) {
        for (const [key, value] of failures) if (value.windowEnds <= now) failures.delete(key);
        if (failures.size >= maxTracked) failures.clear();
      }
      failures.set(ip, { count: 1, windowEnds: now + windowMs });
    },
  };
}

function loginPage(view: { cityName: string; csrf: string; next: string; message?: string }): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>Staff login - ${view.cityName} CivicLine</title>
        <style>
          body {
            font-family: system-ui, sans-serif;
            max-width: 22rem;
            margin: 4rem auto;
            padding: 0 1rem;
            color: #1a1a1a;
          }
          label {
            display: block;
            margin-top: 1rem;
            font-weight: 600;
          }
          input {
            width: 100%;
            box-sizing: border-box;
            padding: 0.5rem;
            font-size: 1rem;
            margin-top: 0.25rem;
          }
          button {
            margin-top: 1.5rem;
            padding: 0.6rem 1.2rem;
            font-size: 1rem;
          }
          .message {
            background: #fdecea;
            border: 1px solid #f5c2c0;
            padding: 0.75rem;
            border-radius: 4px;
          }
        </style>
      </head>
      <body>
        <main>
          <h1>${view.cityName} CivicLine</h1>
          <p>Staff login</p>
          ${view.message !== undefined && html`<p class="message" role="alert">${view.message}</p>`}
          <form method="post" action="/admin/login">
            <input type="hidden" name="_csrf" value="${view.csrf}" />
            <input type="hidden" name="next" value="${view.next}" />
            <label for="username">Username</label>
            <input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus />
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required />
            <button type="submit">Log in</button>
          </form>
        </main>
      </body>
    </html> `;
}
