/**
 * Dashboard sessions. The browser holds a random token in a cookie; the store keeps only its
 * SHA-256 as the session's `_id`, so a copy of the database (a backup, a leaked dump) holds no
 * token anyone could present. Each session has its own CSRF token, which every form and API
 * call of the session must send back.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { StaffSessionRecord } from '../domain/records.js';
import type { Collections } from '../store/store.port.js';

type SessionStore = Pick<Collections, 'staffSessions'>;

/** 32 random bytes in base64url: what a session cookie carries. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A new session: the token for the cookie (shown once, never stored) and its record. */
export interface NewStaffSession {
  token: string;
  session: StaffSessionRecord;
}

/**
 * Starts a session for a staff member who just logged in, lasting `hours` from `now`. Also
 * drops that member's expired sessions, so sessions nobody comes back to do not pile up.
 */
export async function createStaffSession(store: SessionStore, username: string, now: Date, hours: number): Promise<NewStaffSession> {
  const token = randomBytes(32).toString('base64url');
  const record = {
    _id: sessionIdOf(token),
    username,
    csrfToken: randomBytes(32).toString('base64url'),
    createdAt: now,
    expiresAt: new Date(now.getTime() + hours * 3_600_000),
  };
  if (!(await store.staffSessions.insert(record))) throw new Error('A new session id collided with an existing one');
  for (const old of await store.staffSessions.find({ field: 'username', equals: username })) {
    if (old.expiresAt.getTime() <= now.getTime()) await store.staffSessions.delete(old._id);
  }
  return { token, session: { ...record, _rev: 1 } };
}

/**
 * The live session a cookie's token names, or null: unknown, malformed and expired tokens all
 * answer null (an expired session is deleted on the way).
 */
export async function findStaffSession(store: SessionStore, token: string, now: Date): Promise<StaffSessionRecord | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const id = sessionIdOf(token);
  const session = await store.staffSessions.get(id);
  if (!session) return null;
  if (session.expiresAt.getTime() <= now.getTime()) {
    await store.staffSessions.delete(id);
    return null;
  }
  return session;
}

/** Ends the session a token names (logout); false when there was none. */
export async function deleteStaffSession(store: SessionStore, token: string): Promise<boolean> {
  if (!TOKEN_PATTERN.test(token)) return false;
  return store.staffSessions.delete(sessionIdOf(token));
}

/**
 * Ends every session of one staff member, returning how many: used when an account is disabled
 * or its password changes, so a session opened before that stops working at once.
 */
export async function deleteStaffSessionsOf(store: SessionStore, username: string): Promise<number> {
  let deleted = 0;
  for (const session of await store.staffSessions.find({ field: 'username', equals: username })) {
    if (await store.staffSessions.delete(session._id)) deleted += 1;
  }
  return deleted;
}

/** The stored id of a session token: its SHA-256 in base64url. */
export function sessionIdOf(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
