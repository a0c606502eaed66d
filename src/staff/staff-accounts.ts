/**
 * Staff accounts: create, list and change them, and log in with a slow-down against password
 * guessing. Expected outcomes (a taken username, a weak password, the last admin) are values
 * with a code, so the API and the CLI can each say them their own way; only real failures throw.
 *
 * Every write to an account is an optimistic `replace` on its `_rev`, retried on conflict, so
 * concurrent logins count every failure and an admin's change is never lost to a login.
 */
import type { StaffRole, StaffUserRecord } from '../domain/records.js';
import type { Collections, Unsaved } from '../store/store.port.js';
import { dummyPasswordHash, hashPassword, needsRehash, passwordProblem, verifyPassword } from './passwords.js';
import { deleteStaffSessionsOf } from './staff-sessions.js';

type StaffStore = Pick<Collections, 'staffUsers' | 'staffSessions'>;

/** The roles a staff member may have. */
export const STAFF_ROLES: readonly StaffRole[] = ['admin', 'coordinator'];

/** Usernames: lower-case letters, digits, dot, underscore and dash, 3 to 40 of them. */
export const USERNAME_PATTERN = /^[a-z0-9._-]{3,40}$/;

/**
 * The slow-down against guessing one account's password, stored on the account (so it holds
 * across instances and restarts). The rule:
 *
 * - `maxFailures` wrong passwords in a row lock the account for `lockMs` from the last of them.
 * - While it is locked no password is checked, the right one neither, and attempts neither count
 *   nor extend the lock: it ends `lockMs` after it began, whatever arrives meanwhile.
 * - When the lock ends the count starts again from zero, so locking it again takes
 *   `maxFailures` new failures. (It used to take one, and one wrong try every 15 minutes kept an
 *   admin locked out for ever.)
 * - The right password when not locked logs in and clears the count; a new password, or
 *   enabling the account (`staff enable`, or `active: true` through the API), lifts a lock at once.
 *
 * Locked and unknown accounts get the answer a wrong password gets, after the same work (see
 * `login`), so a lock tells nobody that the account exists. What keeping an account locked costs
 * an attacker: `maxFailures` guesses per `lockMs`, every one of them (those during the lock too)
 * counted against their client address, which gets 429 after 20 failures in 15 minutes
 * (login.routes.ts); so one address can hold at most four accounts locked, and an admin can
 * lift a lock at any time.
 */
export const LOCKOUT = { maxFailures: 5, lockMs: 15 * 60_000 } as const;

const MAX_WRITE_ATTEMPTS = 20;

/** A staff account as shown to admins: everything but the password hash. */
export interface StaffUserView {
  username: string;
  displayName: string;
  role: StaffRole;
  active: boolean;
  failedLogins: number;
  lockedUntil?: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** Why a change to staff accounts was not made. */
export type StaffErrorCode = 'invalid_username' | 'invalid_name' | 'invalid_role' | 'weak_password' | 'username_taken' | 'unknown_user' | 'last_admin';

/** The outcome of a change: the value, or a code with a message a person can act on. */
export type StaffResult<T> = { ok: true; value: T } | { ok: false; code: StaffErrorCode; message: string };

/**
 * What `login` answers. `invalid` covers unknown users, disabled accounts and wrong passwords
 * alike; `locked` is for the audit log only: people are answered as for `invalid`.
 */
export type LoginResult = { ok: true; user: StaffUserView } | { ok: false; reason: 'invalid' } | { ok: false; reason: 'locked'; retryAt: Date };

/** What an admin may change on an account; `password` is the new password in clear. */
export interface StaffChanges {
  displayName?: string;
  role?: StaffRole;
  active?: boolean;
  password?: string;
}

/** Whether a value is a staff role; the CLI and the API get roles as plain strings. */
export function isStaffRole(value: unknown): value is StaffRole {
  return typeof value === 'string' && (STAFF_ROLES as readonly string[]).includes(value);
}

/** A username as stored: trimmed and lower-cased, so `Alice` and `alice` are one account. */
export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

/** The account without its password hash. */
export function viewOfStaffUser(user: StaffUserRecord): StaffUserView {
  return {
    username: user.username,
    displayName: user.displayName,
    role: user.role,
    active: user.active,
    failedLogins: user.failedLogins,
    ...(user.lockedUntil ? { lockedUntil: user.lockedUntil } : {}),
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}

/** Creates an account; refuses a malformed or taken username, an unknown role and a weak password. */
export async function createStaffUser(
  store: StaffStore,
  input: { username: string; displayName?: string; role: string; password: string },
  now: Date = new Date(),
): Promise<StaffResult<StaffUserView>> {
  const username = normalizeUsername(input.username);
  if (!USERNAME_PATTERN.test(username)) return fail('invalid_username', 'The username must be 3-40 characters: a-z, 0-9, dot, underscore or dash');
  const displayName = (input.displayName ?? username).trim();
  const nameProblem = displayNameProblem(displayName);
  if (nameProblem) return fail('invalid_name', nameProblem);
  if (!isStaffRole(input.role)) return fail('invalid_role', `The role must be one of: ${STAFF_ROLES.join(', ')}`);
  const weak = passwordProblem(input.password);
  if (weak) return fail('weak_password', weak);
  // Checked before hashing only to answer fast; the insert below is what guarantees uniqueness.
  if (await store.staffUsers.get(username)) return taken(username);
  const record: Unsaved<StaffUserRecord> = {
    _id: username,
    username,
    displayName,
    role: input.role,
    passwordHash: await hashPassword(input.password),
    active: true,
    failedLogins: 0,
    createdAt: now,
    updatedAt: now,
  };
  if (!(await store.staffUsers.insert(record))) return taken(username);
  return { ok: true, value: viewOfStaffUser({ ...record, _rev: 1 }) };
}

/** Every account, admins first, then coordinators, oldest first within a role. */
export async function listStaffUsers(store: Pick<Collections, 'staffUsers'>): Promise<StaffUserView[]> {
  const byRole = await Promise.all(STAFF_ROLES.map((role) => store.staffUsers.find({ field: 'role', equals: role }, { order: 'asc' })));
  return byRole.flat().map(viewOfStaffUser);
}

/** One account by username (any case), or null. */
export async function findStaffUser(store: Pick<Collections, 'staffUsers'>, username: string): Promise<StaffUserRecord | null> {
  const id = normalizeUsername(username);
  return USERNAME_PATTERN.test(id) ? store.staffUsers.get(id) : null;
}

/**
 * Changes an account. Refuses to demote or disable the last active admin, so the dashboard can
 * never lock everyone out of staff management. A new password, and `active: true`, clear the
 * lock-out: enabling an account means its owner may log in now, so enabling a locked account
 * is a change (`active` is in `changed`) even when it was not disabled. Disabling the account
 * or changing its password ends all its sessions, so a stolen session or password stops working
 * at once. `changed` lists the fields that really changed.
 */
export async function updateStaffUser(
  store: StaffStore,
  username: string,
  changes: StaffChanges,
  now: Date = new Date(),
): Promise<StaffResult<{ user: StaffUserView; changed: (keyof StaffChanges)[] }>> {
  const id = normalizeUsername(username);
  if (changes.role !== undefined && !isStaffRole(changes.role)) return fail('invalid_role', `The role must be one of: ${STAFF_ROLES.join(', ')}`);
  const displayName = changes.displayName?.trim();
  const nameProblem = displayName === undefined ? null : displayNameProblem(displayName);
  if (nameProblem) return fail('invalid_name', nameProblem);
  const weak = changes.password === undefined ? null : passwordProblem(changes.password);
  if (weak) return fail('weak_password', weak);
  if (!USERNAME_PATTERN.test(id) || !(await store.staffUsers.get(id))) return unknown(id);
  const passwordHash = changes.password === undefined ? undefined : await hashPassword(changes.password);

  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt += 1) {
    const current = await store.staffUsers.get(id);
    if (!current) return unknown(id);
    const changed: (keyof StaffChanges)[] = [];
    if (displayName !== undefined && displayName !== current.displayName) changed.push('displayName');
    if (changes.role !== undefined && changes.role !== current.role) changed.push('role');
    const unlocks = changes.active === true && isLocked(current, now);
    if (changes.active !== undefined && (changes.active !== current.active || unlocks)) changed.push('active');
    if (passwordHash !== undefined) changed.push('password');
    if (changed.length === 0) return { ok: true, value: { user: viewOfStaffUser(current), changed } };

    const stillAdmin = (changes.role ?? current.role) === 'admin' && (changes.active ?? current.active);
    if (current.role === 'admin' && current.active && !stillAdmin && (await activeAdminCount(store)) <= 1) {
      return fail('last_admin', `${id} is the last active admin; make another admin first`);
    }
    const clearsLock = passwordHash !== undefined || changes.active === true;
    const base = clearsLock ? { ...withoutLock(current), ...(passwordHash !== undefined ? { passwordHash } : {}), failedLogins: 0 } : current;
    const next: StaffUserRecord = {
      ...base,
      ...(displayName !== undefined ? { displayName } : {}),
      ...(changes.role !== undefined ? { role: changes.role } : {}),
      ...(changes.active !== undefined ? { active: changes.active } : {}),
      updatedAt: now,
    };
    if (await store.staffUsers.replace(next, current._rev)) {
      if (changed.includes('password') || (changed.includes('active') && !next.active)) await deleteStaffSessionsOf(store, id);
      return { ok: true, value: { user: viewOfStaffUser({ ...next, _rev: current._rev + 1 }), changed } };
    }
  }
  throw new Error('staffUsers: too many concurrent writes to one account');
}

/** Sets a new password (the CLI's `passwd`); see `updateStaffUser`. */
export function setStaffPassword(store: StaffStore, username: string, password: string, now: Date = new Date()) {
  return updateStaffUser(store, username, { password }, now);
}

/** Changes an account's role; see `updateStaffUser`. */
export function setStaffRole(store: StaffStore, username: string, role: StaffRole, now: Date = new Date()) {
  return updateStaffUser(store, username, { role }, now);
}

/** Enables or disables an account; enabling lifts a lock-out, disabling ends its sessions (see `updateStaffUser`). */
export function setStaffActive(store: StaffStore, username: string, active: boolean, now: Date = new Date()) {
  return updateStaffUser(store, username, { active }, now);
}

/**
 * Checks a username and password. Unknown users, disabled and locked accounts and wrong
 * passwords cost the same work (one password hash: a locked account's password is not checked,
 * a dummy hash is), so the timing does not tell which usernames exist or are locked; the login
 * page answers them all alike. See `LOCKOUT` for the rule.
 *
 * The failure is counted before the password is checked and undone on success: otherwise many
 * guesses sent at once would all be checked before the first failure was recorded.
 */
export async function login(store: StaffStore, username: string, password: string, now: Date = new Date()): Promise<LoginResult> {
  const user = await findStaffUser(store, username);
  if (!user || !user.active) {
    await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    return { ok: false, reason: 'invalid' };
  }
  const reserved = await countAttempt(store, user._id, now);
  if (reserved.outcome !== 'counted') {
    await verifyPassword(password, await dummyPasswordHash());
    return reserved.outcome === 'locked' ? { ok: false, reason: 'locked', retryAt: reserved.until } : { ok: false, reason: 'invalid' };
  }
  if (!(await verifyPassword(password, reserved.user.passwordHash))) return { ok: false, reason: 'invalid' };
  const fresh = await clearFailures(store, user._id, password, now);
  return fresh ? { ok: true, user: viewOfStaffUser(fresh) } : { ok: false, reason: 'invalid' };
}

/**
 * Records one more attempt (a failure until proven otherwise), locking the account at the limit.
 * A locked account is left as it is; after a lock has ended, counting starts again from zero.
 */
async function countAttempt(
  store: StaffStore,
  id: string,
  now: Date,
): Promise<{ outcome: 'counted'; user: StaffUserRecord } | { outcome: 'locked'; until: Date } | { outcome: 'gone' }> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt += 1) {
    const current = await store.staffUsers.get(id);
    if (!current || !current.active) return { outcome: 'gone' };
    if (current.lockedUntil && isLocked(current, now)) return { outcome: 'locked', until: current.lockedUntil };
    const failedLogins = (current.lockedUntil ? 0 : current.failedLogins) + 1;
    const next: StaffUserRecord =
      failedLogins >= LOCKOUT.maxFailures
        ? { ...current, failedLogins, lockedUntil: new Date(now.getTime() + LOCKOUT.lockMs) }
        : { ...withoutLock(current), failedLogins };
    if (await store.staffUsers.replace(next, current._rev)) return { outcome: 'counted', user: next };
  }
  throw new Error('staffUsers: too many concurrent logins to one account');
}

/** Undoes the counted failure after a correct password, and rehashes a hash made with older parameters. */
async function clearFailures(store: StaffStore, id: string, password: string, now: Date): Promise<StaffUserRecord | null> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt += 1) {
    const current = await store.staffUsers.get(id);
    // Disabled while the password was being checked: the login does not count.
    if (!current || !current.active) return null;
    const passwordHash = needsRehash(current.passwordHash) ? await hashPassword(password) : current.passwordHash;
    const next: StaffUserRecord = { ...withoutLock(current), failedLogins: 0, passwordHash };
    if (await store.staffUsers.replace(next, current._rev)) return { ...next, _rev: current._rev + 1 };
  }
  throw new Error('staffUsers: too many concurrent logins to one account');
}

async function activeAdminCount(store: Pick<Collections, 'staffUsers'>): Promise<number> {
  const admins = await store.staffUsers.find({ field: 'role', equals: 'admin' });
  return admins.filter((admin) => admin.active).length;
}

/** Whether the account is locked out at `now`. */
export function isLocked(user: { lockedUntil?: Date }, now: Date): boolean {
  return user.lockedUntil !== undefined && user.lockedUntil.getTime() > now.getTime();
}

function withoutLock(user: StaffUserRecord): StaffUserRecord {
  const { lockedUntil: _unlocked, ...rest } = user;
  return rest;
}

function displayNameProblem(displayName: string): string | null {
  if (displayName.length < 1 || displayName.length > 80) return 'The display name must be 1-80 characters';
  // Control characters have no place in a name and would garble logs and pages.
  if (/\p{Cc}/u.test(displayName)) return 'The display name must not contain control characters';
  return null;
}

function fail(code: StaffErrorCode, message: string): { ok: false; code: StaffErrorCode; message: string } {
  return { ok: false, code, message };
}

function taken(username: string) {
  return fail('username_taken', `The username ${username} is taken`);
}

function unknown(username: string) {
  return fail('unknown_user', `There is no staff member ${username}`);
}
