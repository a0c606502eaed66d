/**
 * The staff login page and logout. Login is the one staff route without a session, so it has
 * its own CSRF defence (a double-submit cookie: a random value set in an HttpOnly cookie on GET
 * and echoed in the form; another site can neither read nor set it) and a per-address throttle
 * on failures, on top of the per-account lock-out in `staff-accounts.ts`.
 *
 * Checking a password is a 32 MiB scrypt hash (~90 ms of a core), so what anyone may make the
 * service hash is bounded twice, before any hashing: each attempt is counted against its
 * address first (and given back if it turns out right, or no password was checked), so 300
 * guesses sent at once from one address get at most 20 checked; and at most
 * `MAX_CHECKS_AT_ONCE` logins are checked or waiting to be checked at once in this instance,
 * more get 429 at once. The hashing itself runs on its own thread, away from residents' turns
 * (passwords.ts).
 */
import { randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Config } from '../../config.js';
import type { Store } from '../../store/store.port.js';
import { recordAudit } from '../../staff/audit-log.js';
import { findStaffUser, LOCKOUT, login, type LoginResult } from '../../staff/staff-accounts.js';
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
/**
 * Logins being checked or waiting for the hashing thread at once, per instance: one hashing and
 * three waiting, so a login waits at most ~0.3 s; more are answered 429 at once.
 */
const MAX_CHECKS_AT_ONCE = 4;
/** When to come back after a 429 for too many logins at once: the queue drains in well under that. */
const BUSY_RETRY_AFTER_SECONDS = 2;
/**
 * The one answer to every refused login: a wrong password, an unknown or disabled username and a
 * locked account alike, so it says nothing about which accounts exist or are locked. It names
 * the lock-out, so a person locked out knows to wait (or ask an admin) rather than keep trying.
 */
const LOGIN_REFUSED = `Wrong username or password. After ${LOCKOUT.maxFailures} wrong passwords in a row an account is locked for ${LOCKOUT.lockMs / 60_000} minutes.`;

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
  const checks = createCheckGate(MAX_CHECKS_AT_ONCE);
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
    // Counted as a failure before anything is checked, so guesses sent at once cannot all pass
    // the limit before the first one fails; given back below unless a password was checked and wrong.
    const attempt = throttle.reserve(ip, now.getTime());
    if (!attempt.ok) {
      res.set('Retry-After', String(Math.ceil((attempt.retryAt - now.getTime()) / 1000)));
      return showForm(req, res, 429, 'Too many failed logins. Try again later.', next);
    }
    let failed = false;
    try {
      if (!isSameOrigin(req, config)) return showForm(req, res, 403, 'This login came from another site and was refused.', next);
      const cookieCsrf = parseCookies(req.get('cookie')).get(LOGIN_CSRF_COOKIE);
      const formCsrf = form.success ? form.data._csrf : undefined;
      if (!cookieCsrf || !formCsrf || !secretsEqual(cookieCsrf, formCsrf)) {
        return showForm(req, res, 403, 'The login form expired. Please try again.', next);
      }
      if (!form.success || !form.data.username.trim() || !form.data.password) {
        return showForm(req, res, 400, 'Enter your username and password.', next);
      }
      if (!checks.enter()) {
        res.set('Retry-After', String(BUSY_RETRY_AFTER_SECONDS));
        return showForm(req, res, 429, 'Many logins are being checked right now. Try again in a few seconds.', next);
      }
      let result: LoginResult;
      try {
        result = await login(store, form.data.username, form.data.password, now);
      } finally {
        checks.leave();
      }
      if (!result.ok) {
        failed = true;
        // An unknown username is not recorded: people type their password into it by mistake.
        const known = await findStaffUser(store, form.data.username);
        await recordAudit(store, {
          actor: known?.username ?? 'unknown',
          action: 'staff.login_failed',
          ...(known ? { target: known.username } : {}),
          details: { reason: result.reason === 'locked' ? 'locked' : known ? 'invalid' : 'unknown_user', ip },
        });
        return showForm(req, res, 401, LOGIN_REFUSED, next);
      }

      // A session cookie from before the login is ended, so nobody can plant one and ride it.
      const previous = parseCookies(req.get('cookie')).get(STAFF_SESSION_COOKIE);
      if (previous) await deleteStaffSession(store, previous);
      const { token } = await createStaffSession(store, result.user.username, now, config.staffSessionHours);
      res.cookie(STAFF_SESSION_COOKIE, token, { ...cookieOptions, maxAge: config.staffSessionHours * 3_600_000 });
      res.clearCookie(LOGIN_CSRF_COOKIE, cookieOptions);
      await recordAudit(store, { actor: result.user.username, action: 'staff.login', target: result.user.username, details: { ip } }, now);
      res.redirect(303, safeNextPath(next));
    } finally {
      if (!failed) attempt.giveBack();
    }
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
 * brake, not a guarantee. An attempt is counted when it starts (`reserve`) and given back when
 * it did not fail, so attempts in flight count too. Bounded: past `maxTracked` addresses,
 * expired ones are dropped first, then all, so a flood of addresses cannot exhaust memory.
 */
export function createLoginThrottle(options: LoginThrottleOptions & { maxTracked?: number } = {}) {
  const maxFailures = options.maxFailures ?? 20;
  const windowMs = options.windowMs ?? 15 * 60_000;
  const maxTracked = options.maxTracked ?? 10_000;
  const failures = new Map<string, { count: number; windowEnds: number }>();
  return {
    /**
     * Counts one attempt from the address, or says when it may try again. `giveBack` uncounts
     * it (a right password, or no password checked); a window that ended meanwhile is left alone.
     */
    reserve(ip: string, now: number): { ok: true; giveBack(): void } | { ok: false; retryAt: number } {
      let entry = failures.get(ip);
      if (entry && entry.windowEnds > now) {
        if (entry.count >= maxFailures) return { ok: false, retryAt: entry.windowEnds };
        entry.count += 1;
      } else {
        if (failures.size >= maxTracked) {
          for (const [key, value] of failures) if (value.windowEnds <= now) failures.delete(key);
          if (failures.size >= maxTracked) failures.clear();
        }
        entry = { count: 1, windowEnds: now + windowMs };
        failures.set(ip, entry);
      }
      const counted = entry;
      let givenBack = false;
      return {
        ok: true,
        giveBack() {
          if (givenBack) return;
          givenBack = true;
          counted.count = Math.max(0, counted.count - 1);
        },
      };
    },
  };
}

/**
 * How many logins may be checked at once in this instance: the hashing thread checks one at a
 * time, and the rest wait for it, so this bounds both the wait and the memory a flood holds.
 * `enter` says no at once rather than queueing more.
 */
function createCheckGate(limit: number) {
  let inProgress = 0;
  return {
    enter(): boolean {
      if (inProgress >= limit) return false;
      inProgress += 1;
      return true;
    },
    leave(): void {
      inProgress -= 1;
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
