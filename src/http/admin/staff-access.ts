/**
 * Staff access for everything under `/admin` but the login page: a dashboard session (cookie
 * `civicline_staff`) or `Authorization: Bearer <ADMIN_TOKEN>` for scripts. On success the actor
 * is on `res.locals.staff` (read it with `actorOf(res)`).
 *
 * Sessions ride on a cookie the browser sends by itself, so a session's unsafe requests (POST,
 * PUT, PATCH, DELETE) must also prove they come from our own pages: the session's CSRF token in
 * `X-CSRF-Token` or a form field `_csrf`, and an `Origin`, when the browser sends one, that is
 * this site. Bearer requests need neither: no browser attaches a bearer token by itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type CookieOptions, type Request, type RequestHandler } from 'express';
import type { Config } from '../../config.js';
import type { Store } from '../../store/store.port.js';
import { deleteStaffSession, findStaffSession } from '../../staff/staff-sessions.js';
import { HttpError } from '../../core/errors.js';
import type { StaffActor } from './actor.js';

/** The session cookie's name. */
export const STAFF_SESSION_COOKIE = 'civicline_staff';

/** What staff access needs from the service. */
export interface StaffAccessDeps {
  store: Pick<Store, 'staffUsers' | 'staffSessions'>;
  config: Pick<Config, 'adminToken' | 'publicUrl'>;
}

/** Forms posting to staff pages are small; the CSRF check reads them, so it bounds their size. */
const FORM_LIMIT = '64kb';
const formParser = express.urlencoded({ extended: false, limit: FORM_LIMIT, parameterLimit: 200 });

/**
 * The options of every staff cookie: HttpOnly (page scripts cannot read it), SameSite=Strict
 * (other sites' requests do not carry it), only under /admin, and Secure when the service is
 * served over https (PUBLIC_URL), so the cookie never travels in clear text.
 */
export function staffCookieOptions(config: Pick<Config, 'publicUrl'>): CookieOptions {
  return { httpOnly: true, sameSite: 'strict', path: '/admin', secure: config.publicUrl?.startsWith('https:') ?? false };
}

/**
 * The cookies of a request header, by name (the first of a repeated name wins: browsers send the
 * most specific cookie first). A tiny parser rather than a dependency: staff access needs only
 * two cookies. A value that is not valid percent-encoding is kept as sent.
 */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 1) continue;
    const name = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!name || cookies.has(name)) continue;
    try {
      cookies.set(name, decodeURIComponent(value));
    } catch {
      cookies.set(name, value);
    }
  }
  return cookies;
}

/** Compares two secrets in constant time (through their SHA-256, so lengths do not leak either). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Whether a method changes things, and so needs CSRF protection when a session makes it. */
export function isUnsafeMethod(method: string): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
}

/**
 * Whether a browser request comes from this site: its `Origin`, when sent, names this host (or
 * PUBLIC_URL's), and `Sec-Fetch-Site`, when sent, is not another site. Requests with neither
 * header (old browsers, scripts) pass: the CSRF token is the check that always applies.
 */
export function isSameOrigin(req: Request, config: Pick<Config, 'publicUrl'>): boolean {
  if (req.get('sec-fetch-site') === 'cross-site') return false;
  const origin = req.get('origin');
  if (origin === undefined) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    // `Origin: null` (sandboxed frames, some redirects) and garbage: not provably us.
    return false;
  }
  const allowed = [req.get('host'), config.publicUrl ? new URL(config.publicUrl).host : undefined];
  return allowed.some((candidate) => candidate !== undefined && candidate.toLowerCase() === host.toLowerCase());
}

/**
 * A `next` destination that is safe to redirect to after login: a path on this site under
 * /admin; anything else (another site, `//evil`, `/\evil`, `/admin/../x`, control characters)
 * becomes /admin.
 */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2000) return '/admin';
  if (!/^\/admin(?:[/?#]|$)/.test(next) || /[\\\s\p{Cc}]/u.test(next) || next.includes('//')) return '/admin';
  // Dot segments (also percent-encoded, which URL parsers resolve too) could climb out of /admin.
  if (/\/(?:\.|%2e){1,2}(?:[/?#]|$)/i.test(next)) return '/admin';
  return next;
}

/** The middleware: lets staff and scripts in, sends everyone else to the login page (or a 401). */
export function staffAccess(deps: StaffAccessDeps): RequestHandler {
  const { store, config } = deps;
  const expectedToken = config.adminToken ? digest(config.adminToken) : undefined;

  return async (req, res, next) => {
    try {
      const authorization = req.get('authorization');
      if (authorization !== undefined) {
        // A request that brings a bearer token is judged by it alone: a wrong token is a 401 even
        // with a session cookie, and with no ADMIN_TOKEN configured every token is wrong.
        const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
        if (!expectedToken || !match?.[1] || !timingSafeEqual(digest(match[1]), expectedToken)) {
          return next(new HttpError(401, 'Missing or wrong bearer token'));
        }
        res.locals['staff'] = { username: 'admin-token', role: 'admin', via: 'token' } satisfies StaffActor;
        return next();
      }

      const token = parseCookies(req.get('cookie')).get(STAFF_SESSION_COOKIE);
      const now = new Date();
      const session = token ? await findStaffSession(store, token, now) : null;
      const user = session ? await store.staffUsers.get(session.username) : null;
      if (!session || !user || !user.active) {
        if (token) {
          // A session of a disabled or deleted account ends here; the cookie goes with it.
          if (session) await deleteStaffSession(store, token);
          res.clearCookie(STAFF_SESSION_COOKIE, staffCookieOptions(config));
        }
        return refuse(req, res, next);
      }

      if (isUnsafeMethod(req.method)) {
        if (!isSameOrigin(req, config)) return next(new HttpError(403, 'Cross-site request refused'));
        const sent = await csrfTokenOf(req, res);
        if (sent === undefined || !secretsEqual(sent, session.csrfToken)) return next(new HttpError(403, 'CSRF token missing or wrong'));
      }
      res.locals['staff'] = { username: user.username, role: user.role, via: 'session', csrfToken: session.csrfToken } satisfies StaffActor;
      next();
    } catch (error) {
      next(error);
    }
  };
}

/** The CSRF token a request sent: the header, or the `_csrf` field of a urlencoded form. */
async function csrfTokenOf(req: Request, res: Parameters<RequestHandler>[1]): Promise<string | undefined> {
  const header = req.get('x-csrf-token');
  if (header !== undefined) return header;
  if (!req.is('application/x-www-form-urlencoded')) return undefined;
  await new Promise<void>((resolve, reject) => formParser(req, res, (error?: unknown) => (error ? reject(error) : resolve())));
  const field = (req.body as Record<string, unknown> | undefined)?.['_csrf'];
  return typeof field === 'string' ? field : undefined;
}

/** Without credentials: the API answers 401; pages send the browser to log in and come back. */
function refuse(req: Request, res: Parameters<RequestHandler>[1], next: Parameters<RequestHandler>[2]): void {
  const path = `${req.baseUrl}${req.path}`;
  if (/^\/admin\/api(?:\/|$)/.test(path)) return next(new HttpError(401, 'Log in, or send Authorization: Bearer <ADMIN_TOKEN>'));
  // Only a GET can be repeated after login; other methods just go to the login page.
  const back = req.method === 'GET' ? safeNextPath(req.originalUrl) : '/admin';
  res.redirect(303, back === '/admin' ? '/admin/login' : `/admin/login?next=${encodeURIComponent(back)}`);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
