/**
 * Staff access over real HTTP: the login form flow with its CSRF cookie, session cookies and
 * their flags, the CSRF and Origin checks on a session's unsafe requests, logout, roles, the
 * audit log, and ADMIN_TOKEN for scripts. Also the HTML escaping the staff pages rely on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../support/http.js';
import { createStaffUser } from '../../src/staff/staff-accounts.js';
import { sessionIdOf } from '../../src/staff/staff-sessions.js';
import { escapeHtml, html, raw } from '../../src/http/admin/html.js';
import { parseCookies, safeNextPath } from '../../src/http/admin/staff-access.js';
import { createLoginThrottle } from '../../src/http/admin/login.routes.js';

const TOKEN = 'test-admin-token-0123456789';
const PASSWORD = 'correct horse battery staple';
const bearer = { authorization: `Bearer ${TOKEN}` };
let app: RunningApp;

beforeAll(async () => {
  app = await startTestApp({ ADMIN_TOKEN: TOKEN });
  await createStaffUser(app.service.store, { username: 'ada', displayName: 'Ada Admin', role: 'admin', password: PASSWORD });
  await createStaffUser(app.service.store, { username: 'cory', displayName: 'Cory Coordinator', role: 'coordinator', password: PASSWORD });
});
afterAll(() => app.close());

/** `name=value` of each Set-Cookie, as a Cookie header would send them back. */
function cookiePairs(response: Response): Map<string, string> {
  return new Map(response.headers.getSetCookie().map((line) => line.split(';')[0]!.split(/=(.*)/s).slice(0, 2) as [string, string]));
}

function setCookieLine(response: Response, name: string): string {
  const line = response.headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie set`);
  return line;
}

/** Opens the login page and returns what the browser then holds: the CSRF cookie and field. */
async function openLoginPage(headers: Record<string, string> = {}): Promise<{ cookie: string; csrf: string; page: Response; body: string }> {
  const page = await fetch(`${app.url}/admin/login`, { headers });
  const body = await page.text();
  const csrf = /name="_csrf"\s+value="([^"]+)"/.exec(body)?.[1];
  const cookie = cookiePairs(page).get('civicline_login_csrf');
  if (!csrf || !cookie) throw new Error('login page without CSRF field or cookie');
  return { cookie: `civicline_login_csrf=${cookie}`, csrf, page, body };
}

async function postLogin(form: Record<string, string>, cookie: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${app.url}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

/** The whole form flow; returns the session's Cookie header and CSRF token. */
async function logIn(username: string, password = PASSWORD): Promise<{ cookie: string; csrfToken: string }> {
  const { cookie, csrf } = await openLoginPage();
  const response = await postLogin({ username, password, _csrf: csrf }, cookie);
  expect(response.status).toBe(303);
  const token = cookiePairs(response).get('civicline_staff');
  if (!token) throw new Error('no session cookie');
  const session = `civicline_staff=${token}`;
  const me = await fetch(`${app.url}/admin/api/me`, { headers: { cookie: session } });
  return { cookie: session, csrfToken: ((await me.json()) as { csrfToken: string }).csrfToken };
}

function api(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
  return fetch(`${app.url}/admin/api${path}`, {
    method: init.method ?? 'GET',
    redirect: 'manual',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
}

describe('without a session or token', () => {
  it('the API answers 401 JSON and pages redirect to the login page', async () => {
    const me = await api('/me');
    expect(me.status).toBe(401);
    expect(((await me.json()) as { error: string }).error).toContain('Log in');
    const page = await fetch(`${app.url}/admin/reports?status=open`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe(`/admin/login?next=${encodeURIComponent('/admin/reports?status=open')}`);
    const home = await fetch(`${app.url}/admin`, { redirect: 'manual' });
    expect(home.headers.get('location')).toBe('/admin/login');
    expect((await api('/me', { headers: { cookie: 'civicline_staff=forged-or-expired-token' } })).status).toBe(401);
  });

  it('the bearer token acts as an admin; a wrong one is a 401 even with a session cookie', async () => {
    const me = await api('/me', { headers: bearer });
    expect(await me.json()).toEqual({ username: 'admin-token', role: 'admin', via: 'token' });
    const { cookie } = await logIn('ada');
    expect((await api('/me', { headers: { cookie, authorization: 'Bearer wrong-token' } })).status).toBe(401);
    // Token requests need no CSRF token.
    expect((await api('/nlu/parse', { method: 'POST', body: { text: 'hi' }, headers: bearer })).status).toBe(200);
  });

  it('answers a report filter that is not an id with 400 (a NUL in one was a 500, found by the fuzzer)', async () => {
    for (const filter of ['category=%00', 'status=open%00', 'category=pot%20hole'])
      expect((await api(`/reports?${filter}`, { headers: bearer })).status, filter).toBe(400);
    expect((await api('/reports?category=pothole&status=in_progress', { headers: bearer })).status).toBe(200);
    expect((await api('/reports?category=', { headers: bearer })).status).toBe(200);
  });
});

describe('the login page', () => {
  it('is served with strict security headers and a login CSRF cookie', async () => {
    const { page, body } = await openLoginPage();
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    );
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(body).toMatch(/name="password"\s+type="password"/);
    const cookie = setCookieLine(page, 'civicline_login_csrf');
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/admin');
    expect(cookie).not.toContain('Secure');
  });

  it('escapes a hostile next and never redirects off the site', async () => {
    const hostile = await fetch(`${app.url}/admin/login?next=${encodeURIComponent('"><script>alert(1)</script>')}`);
    expect(await hostile.text()).not.toContain('<script>alert');
    const { cookie, csrf } = await openLoginPage();
    for (const next of ['https://evil.example/', '//evil.example/admin', '/\\evil.example', '/admin/../../x//y']) {
      const response = await postLogin({ username: 'ada', password: PASSWORD, _csrf: csrf, next }, cookie);
      expect(response.headers.get('location')).toBe('/admin');
    }
    expect(safeNextPath('/admin/reports?status=open')).toBe('/admin/reports?status=open');
    for (const next of ['/admin/../x', '/admin/%2E%2E/x', '/administrator', 'admin', '/admin\u0000', undefined, ['/admin/x']]) {
      expect(safeNextPath(next)).toBe('/admin');
    }
  });
});

describe('logging in', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie on /admin and goes to next', async () => {
    const { cookie, csrf } = await openLoginPage();
    const response = await postLogin({ username: 'ADA', password: PASSWORD, _csrf: csrf, next: '/admin/reports' }, cookie);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/admin/reports');
    const session = setCookieLine(response, 'civicline_staff');
    expect(session).toMatch(/^civicline_staff=[A-Za-z0-9_-]{43};/);
    expect(session).toContain('HttpOnly');
    expect(session).toContain('SameSite=Strict');
    expect(session).toContain('Path=/admin');
    expect(session).toContain('Max-Age=43200');
    // The store keeps only the token's hash.
    const token = cookiePairs(response).get('civicline_staff')!;
    expect(await app.service.store.staffSessions.get(token)).toBeNull();
    expect(await app.service.store.staffSessions.get(sessionIdOf(token))).toMatchObject({ username: 'ada' });
  });

  it('lets the session call /admin/api/me, with its CSRF token', async () => {
    const { cookie, csrfToken } = await logIn('ada');
    const me = await api('/me', { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ username: 'ada', role: 'admin', via: 'session', csrfToken });
    expect(csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a login without the login CSRF cookie and field', async () => {
    const { cookie, csrf } = await openLoginPage();
    expect((await postLogin({ username: 'ada', password: PASSWORD }, cookie)).status).toBe(403);
    expect((await postLogin({ username: 'ada', password: PASSWORD, _csrf: csrf }, '')).status).toBe(403);
    expect((await postLogin({ username: 'ada', password: PASSWORD, _csrf: `${csrf}x` }, cookie)).status).toBe(403);
    expect((await postLogin({ username: 'ada', password: PASSWORD, _csrf: csrf }, cookie, { origin: 'https://evil.example' })).status).toBe(403);
  });

  it('answers a wrong password and an unknown user the same way, with a 401 page naming the lock-out', async () => {
    const { cookie, csrf } = await openLoginPage();
    const wrong = await postLogin({ username: 'cory', password: 'not the password', _csrf: csrf }, cookie);
    const unknown = await postLogin({ username: 'nobody', password: 'not the password', _csrf: csrf }, cookie);
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const [a, b] = [await wrong.text(), await unknown.text()];
    expect(a).toContain('Wrong username or password. After 5 wrong passwords in a row an account is locked for 15 minutes.');
    expect(a).toBe(b);
    expect(wrong.headers.getSetCookie().some((l) => l.startsWith('civicline_staff='))).toBe(false);
  });
});

describe('a session', () => {
  it('needs the CSRF token for unsafe requests: refused 403 without, accepted with', async () => {
    const { cookie, csrfToken } = await logIn('cory');
    const without = await api('/nlu/parse', { method: 'POST', body: { text: 'hi' }, headers: { cookie } });
    expect(without.status).toBe(403);
    expect(await without.json()).toEqual({ error: 'CSRF token missing or wrong' });
    expect((await api('/nlu/parse', { method: 'POST', body: { text: 'hi' }, headers: { cookie, 'x-csrf-token': 'wrong' } })).status).toBe(403);
    const other = await logIn('cory');
    expect((await api('/nlu/parse', { method: 'POST', body: { text: 'hi' }, headers: { cookie, 'x-csrf-token': other.csrfToken } })).status).toBe(403);
    const withToken = await api('/nlu/parse', { method: 'POST', body: { text: 'hi' }, headers: { cookie, 'x-csrf-token': csrfToken } });
    expect(withToken.status).toBe(200);
  });

  it('refuses an unsafe request from another origin, even with the token', async () => {
    const { cookie, csrfToken } = await logIn('cory');
    const headers = { cookie, 'x-csrf-token': csrfToken };
    expect((await api('/nlu/parse', { method: 'POST', body: { text: 'hi' }, headers: { ...headers, origin: 'https://evil.example' } })).status).toBe(403);
    expect((await api('/nlu/parse', { method: 'POST', body: { text: 'hi' }, headers: { ...headers, origin: 'null' } })).status).toBe(403);
    expect((await api('/nlu/parse', { method: 'POST', body: { text: 'hi' }, headers: { ...headers, 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect((await api('/nlu/parse', { method: 'POST', body: { text: 'hi' }, headers: { ...headers, origin: app.url } })).status).toBe(200);
  });

  it('logs out with a form post carrying _csrf, which kills the session', async () => {
    const { cookie, csrfToken } = await logIn('cory');
    const noToken = await fetch(`${app.url}/admin/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(noToken.status).toBe(403);
    const logout = await fetch(`${app.url}/admin/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: app.url },
      body: new URLSearchParams({ _csrf: csrfToken }).toString(),
    });
    expect(logout.status).toBe(303);
    expect(logout.headers.get('location')).toBe('/admin/login');
    expect(setCookieLine(logout, 'civicline_staff')).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect((await api('/me', { headers: { cookie } })).status).toBe(401);
  });

  it('of a disabled account stops working at once', async () => {
    await createStaffUser(app.service.store, { username: 'dora', displayName: 'Dora', role: 'coordinator', password: PASSWORD });
    const { cookie } = await logIn('dora');
    expect((await api('/me', { headers: { cookie } })).status).toBe(200);
    expect((await api('/staff/dora', { method: 'PATCH', body: { active: false }, headers: bearer })).status).toBe(200);
    expect((await api('/me', { headers: { cookie } })).status).toBe(401);
  });
});

describe('the staff API', () => {
  it('is for admins: a coordinator gets 403, an admin creates an account', async () => {
    const coordinator = await logIn('cory');
    const body = { username: 'Newbie', displayName: 'New Person', role: 'coordinator', password: 'a long enough password' };
    const refused = await api('/staff', { method: 'POST', body, headers: { cookie: coordinator.cookie, 'x-csrf-token': coordinator.csrfToken } });
    expect(refused.status).toBe(403);
    expect((await api('/staff', { headers: { cookie: coordinator.cookie } })).status).toBe(403);
    expect((await api('/audit', { headers: { cookie: coordinator.cookie } })).status).toBe(403);

    const admin = await logIn('ada');
    const headers = { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken };
    const created = await api('/staff', { method: 'POST', body, headers });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ user: { username: 'newbie', role: 'coordinator', active: true } });
    expect((await api('/staff', { method: 'POST', body, headers })).status).toBe(409);
    const weak = await api('/staff', { method: 'POST', body: { ...body, username: 'weakling', password: 'short' }, headers });
    expect(weak.status).toBe(400);
    expect(((await weak.json()) as { error: string }).error).toContain('12');
    expect((await api('/staff', { method: 'POST', body: { ...body, username: 'extra', isAdmin: true }, headers })).status).toBe(400);

    const list = await api('/staff', { headers: { cookie: admin.cookie } });
    const text = await list.text();
    expect(text).toContain('"newbie"');
    expect(text).not.toContain('scrypt');
    expect(text).not.toContain('passwordHash');

    const patched = await api('/staff/newbie', { method: 'PATCH', body: { role: 'admin', password: 'another long password' }, headers });
    expect(await patched.json()).toMatchObject({ user: { role: 'admin' }, changed: ['role', 'password'] });
    expect((await api('/staff/ghost', { method: 'PATCH', body: { role: 'admin' }, headers })).status).toBe(404);
    expect((await api('/staff/newbie', { method: 'PATCH', body: {}, headers })).status).toBe(400);
  });

  it('keeps an audit log of logins, failures and changes, without passwords', async () => {
    const { cookie } = await logIn('ada');
    const { csrf, cookie: loginCookie } = await openLoginPage();
    await postLogin({ username: 'ada', password: 'a wrong password', _csrf: csrf }, loginCookie);
    const response = await api('/audit?actor=ada&limit=200', { headers: { cookie } });
    expect(response.status).toBe(200);
    const { entries } = (await response.json()) as { entries: { actor: string; action: string; target?: string; details?: Record<string, unknown> }[] };
    const actions = entries.map((e) => e.action);
    expect(actions).toContain('staff.login');
    expect(actions).toContain('staff.login_failed');
    expect(entries).toContainEqual(
      expect.objectContaining({ actor: 'ada', action: 'staff.create', target: 'newbie', details: { role: 'coordinator', displayName: 'New Person' } }),
    );
    expect(entries).toContainEqual(expect.objectContaining({ actor: 'ada', action: 'staff.set_password', target: 'newbie' }));
    const all = await (await api('/audit', { headers: bearer })).text();
    expect(all).toContain('staff.logout');
    expect(all).toContain('"actor":"admin-token"');
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain('a wrong password');
    expect(all).not.toContain('another long password');
    expect((await api('/audit?limit=0', { headers: bearer })).status).toBe(400);
  });
});

describe('the login throttle', () => {
  it('answers 429 to an address after 20 failed logins', async () => {
    const { cookie, csrf } = await openLoginPage();
    const from = { 'x-forwarded-for': '203.0.113.77' };
    for (let i = 0; i < 20; i++) {
      expect((await postLogin({ username: `ghost${i}`, password: 'not a password', _csrf: csrf }, cookie, from)).status).toBe(401);
    }
    const blocked = await postLogin({ username: 'ada', password: PASSWORD, _csrf: csrf }, cookie, from);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await blocked.text()).toContain('Try again later');
    // Another address is not affected.
    expect((await postLogin({ username: 'ada', password: PASSWORD, _csrf: csrf }, cookie, { 'x-forwarded-for': '203.0.113.78' })).status).toBe(303);
  });

  it('answers a locked account exactly as an unknown username: same status, same page, no Retry-After', async () => {
    await createStaffUser(app.service.store, { username: 'lockme', displayName: 'Lock Me', role: 'coordinator', password: PASSWORD });
    const { cookie, csrf } = await openLoginPage();
    const from = { 'x-forwarded-for': '198.51.100.9' };
    for (let i = 0; i < 5; i++) await postLogin({ username: 'lockme', password: 'wrong password!', _csrf: csrf }, cookie, from);
    expect((await app.service.store.staffUsers.get('lockme'))?.lockedUntil).toBeDefined();
    const locked = await postLogin({ username: 'lockme', password: PASSWORD, _csrf: csrf }, cookie, from);
    const unknown = await postLogin({ username: 'nobody-at-all', password: PASSWORD, _csrf: csrf }, cookie, from);
    expect(locked.status).toBe(401);
    expect(unknown.status).toBe(401);
    const [lockedPage, unknownPage] = [await locked.text(), await unknown.text()];
    expect(lockedPage).toBe(unknownPage);
    expect(lockedPage).toContain('Wrong username or password.');
    expect(lockedPage).not.toContain('this account');
    expect(locked.headers.get('retry-after')).toBeNull();
    expect(unknown.headers.get('retry-after')).toBeNull();
    // The audit log still says what happened, for admins.
    const audit = (await (await api('/audit?actor=lockme', { headers: bearer })).json()) as { entries: unknown[] };
    expect(audit.entries).toContainEqual(expect.objectContaining({ action: 'staff.login_failed', details: { reason: 'locked', ip: '198.51.100.9' } }));
  });

  it('an admin enabling a locked account (PATCH active: true) lets its owner in at once', async () => {
    await createStaffUser(app.service.store, { username: 'unlockme', displayName: 'Unlock Me', role: 'coordinator', password: PASSWORD });
    const { cookie, csrf } = await openLoginPage();
    const from = { 'x-forwarded-for': '198.51.100.10' };
    for (let i = 0; i < 5; i++) await postLogin({ username: 'unlockme', password: 'wrong password!', _csrf: csrf }, cookie, from);
    expect((await postLogin({ username: 'unlockme', password: PASSWORD, _csrf: csrf }, cookie, from)).status).toBe(401);
    const enabled = await api('/staff/unlockme', { method: 'PATCH', body: { active: true }, headers: bearer });
    expect(await enabled.json()).toMatchObject({ user: { active: true, failedLogins: 0 }, changed: ['active'] });
    expect((await postLogin({ username: 'unlockme', password: PASSWORD, _csrf: csrf }, cookie, from)).status).toBe(303);
  });

  it('counts guesses sent at once before checking them: at most 20 are checked, the rest get 429', async () => {
    const { cookie, csrf } = await openLoginPage();
    const from = { 'x-forwarded-for': '203.0.113.90' };
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => postLogin({ username: `guess${i}`, password: 'not a password', _csrf: csrf }, cookie, from)),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.every((status) => status === 401 || status === 429)).toBe(true);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(20);
    for (const answer of answers.filter((a) => a.status === 429)) expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('createLoginThrottle', () => {
  it('counts an attempt when it starts, and gives it back when it did not fail', () => {
    const throttle = createLoginThrottle({ maxFailures: 3, windowMs: 60_000 });
    const attempts = [throttle.reserve('a', 0), throttle.reserve('a', 1), throttle.reserve('a', 2)];
    expect(attempts.every((attempt) => attempt.ok)).toBe(true);
    // Three in flight: the fourth is refused before anything is checked, until the window ends.
    expect(throttle.reserve('a', 3)).toEqual({ ok: false, retryAt: 60_000 });
    expect(throttle.reserve('b', 3).ok).toBe(true);
    // One turned out right (or was never checked): its place is free again, once only.
    const first = attempts[0]!;
    if (first.ok) {
      first.giveBack();
      first.giveBack();
    }
    expect(throttle.reserve('a', 4).ok).toBe(true);
    expect(throttle.reserve('a', 5).ok).toBe(false);
    expect(throttle.reserve('a', 60_000).ok).toBe(true);
  });
});

describe('without ADMIN_TOKEN', () => {
  let bare: RunningApp;
  beforeAll(async () => {
    bare = await startTestApp({ PUBLIC_URL: 'https://bot.city.example' });
  });
  afterAll(() => bare.close());

  it('the API answers 401 (not 503), with or without a bearer token', async () => {
    expect((await fetch(`${bare.url}/admin/api/me`)).status).toBe(401);
    expect((await fetch(`${bare.url}/admin/api/me`, { headers: bearer })).status).toBe(401);
    expect((await fetch(`${bare.url}/admin/api/me`, { headers: { authorization: 'Bearer ' } })).status).toBe(401);
  });

  it('marks cookies Secure when PUBLIC_URL is https', async () => {
    const page = await fetch(`${bare.url}/admin/login`);
    expect(page.headers.getSetCookie().find((l) => l.startsWith('civicline_login_csrf='))).toContain('Secure');
  });
});

describe('html', () => {
  it('escapes & < > " \' and ` in every interpolated value', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\`</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;');
    const evil = '<img src=x onerror=alert(1)>';
    expect(html`<p title="${evil}">${evil}</p>`.toString()).toBe('<p title="&lt;img src=x onerror=alert(1)&gt;">&lt;img src=x onerror=alert(1)&gt;</p>');
  });

  it('passes nested html and raw() through, joins arrays, and renders null, undefined and false as nothing', () => {
    // Through an alias: prettier reflows the whitespace of html`` templates, which this checks exactly.
    const tag = html;
    const items = ['a<b', 'c&d'];
    expect(tag`<ul>${items.map((i) => tag`<li>${i}</li>`)}</ul>`.toString()).toBe('<ul><li>a&lt;b</li><li>c&amp;d</li></ul>');
    expect(html`${raw('<hr>')}${null}${undefined}${false}${0}${['<', raw('<br>')]}`.toString()).toBe('<hr>0&lt;<br>');
    expect(escapeHtml(null)).toBe('');
  });

  it('parses cookie headers', () => {
    const cookies = parseCookies('a=1; civicline_staff=abc%3D; a=2; bad; =x; q="quoted"; pct=%E0%A4%A');
    expect(cookies.get('a')).toBe('1');
    expect(cookies.get('civicline_staff')).toBe('abc=');
    expect(cookies.get('q')).toBe('quoted');
    expect(cookies.get('pct')).toBe('%E0%A4%A');
    expect(parseCookies(undefined).size).toBe(0);
  });
});
