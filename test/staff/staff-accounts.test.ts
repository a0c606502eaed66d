/**
 * Staff accounts on the real embedded store: creation rules, the lock-out after five failed
 * logins and its end (which nobody can put off for ever), the same answer and the same work for
 * unknown users and locked accounts, and what disabling and enabling an account do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.port.js';
import {
  createStaffUser,
  listStaffUsers,
  LOCKOUT,
  login,
  setStaffActive,
  setStaffPassword,
  setStaffRole,
  updateStaffUser,
} from '../../src/staff/staff-accounts.js';
import { createStaffSession, findStaffSession } from '../../src/staff/staff-sessions.js';

const PASSWORD = 'correct horse battery staple';
let dataDir: string;
let store: Store;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-staff-'));
  store = await openStore({ dataDir });
});
afterAll(async () => {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

let counter = 0;
async function newUser(role: 'admin' | 'coordinator' = 'coordinator'): Promise<string> {
  counter += 1;
  const username = `user${counter}.${role}`;
  const created = await createStaffUser(store, { username, displayName: `User ${counter}`, role, password: PASSWORD });
  expect(created.ok).toBe(true);
  return username;
}

describe('creating accounts', () => {
  it('lower-cases the username and keeps no password in the view', async () => {
    const created = await createStaffUser(store, { username: '  Dana.Smith ', displayName: 'Dana Smith', role: 'admin', password: PASSWORD });
    expect(created).toMatchObject({ ok: true, value: { username: 'dana.smith', role: 'admin', active: true, failedLogins: 0 } });
    expect(JSON.stringify(created)).not.toContain('scrypt');
    const stored = await store.staffUsers.get('dana.smith');
    expect(stored?.passwordHash).toMatch(/^scrypt\$/);
    expect((await listStaffUsers(store)).map((u) => u.username)).toContain('dana.smith');
    expect(JSON.stringify(await listStaffUsers(store))).not.toContain('passwordHash');
  });

  it('refuses taken and malformed usernames, unknown roles and weak passwords', async () => {
    const again = await createStaffUser(store, { username: 'DANA.SMITH', displayName: 'Other', role: 'admin', password: PASSWORD });
    expect(again).toMatchObject({ ok: false, code: 'username_taken' });
    for (const username of ['ab', 'x'.repeat(41), 'has space', 'émile', 'semi;colon']) {
      expect(await createStaffUser(store, { username, displayName: 'X', role: 'admin', password: PASSWORD })).toMatchObject({
        ok: false,
        code: 'invalid_username',
      });
    }
    expect(await createStaffUser(store, { username: 'eve', displayName: 'Eve', role: 'boss', password: PASSWORD })).toMatchObject({
      ok: false,
      code: 'invalid_role',
    });
    const weak = await createStaffUser(store, { username: 'eve', displayName: 'Eve', role: 'admin', password: 'short' });
    expect(weak).toMatchObject({ ok: false, code: 'weak_password' });
    expect(weak.ok ? '' : weak.message).toContain('12');
    expect(await store.staffUsers.get('eve')).toBeNull();
  });
});

describe('login', () => {
  it('lets the right password in, case-insensitively on the username', async () => {
    const username = await newUser();
    expect(await login(store, username.toUpperCase(), PASSWORD)).toMatchObject({ ok: true, user: { username } });
    expect(await login(store, username, 'wrong password!!')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('gives an unknown user the same answer as a wrong password', async () => {
    const username = await newUser();
    const unknown = await login(store, 'nobody-here', PASSWORD);
    const wrong = await login(store, username, 'not the password');
    expect(unknown).toEqual(wrong);
    expect(await login(store, '', '')).toEqual(wrong);
  });

  it('locks the account after 5 failures in a row, for 15 minutes, even for the right password', async () => {
    const username = await newUser();
    const start = new Date('2026-11-20T10:00:00Z');
    for (let i = 0; i < LOCKOUT.maxFailures; i++) {
      expect(await login(store, username, `wrong password ${i}`, new Date(start.getTime() + i * 1000))).toEqual({ ok: false, reason: 'invalid' });
    }
    const stored = await store.staffUsers.get(username);
    expect(stored?.failedLogins).toBe(5);
    expect(stored?.lockedUntil?.getTime()).toBe(start.getTime() + 4000 + 15 * 60_000);

    const locked = await login(store, username, PASSWORD, new Date(start.getTime() + 10 * 60_000));
    expect(locked).toMatchObject({ ok: false, reason: 'locked' });

    // After the lock: the right password gets in and resets the counter.
    const later = new Date(start.getTime() + 4000 + 15 * 60_000 + 1);
    expect(await login(store, username, PASSWORD, later)).toMatchObject({ ok: true });
    const reset = await store.staffUsers.get(username);
    expect(reset?.failedLogins).toBe(0);
    expect(reset?.lockedUntil).toBeUndefined();
  });

  it('after a lock ends the count starts again: it takes five new failures to lock again', async () => {
    const username = await newUser();
    const start = new Date('2026-11-20T12:00:00Z');
    for (let i = 0; i < 5; i++) await login(store, username, 'wrong password!', start);
    const afterLock = new Date(start.getTime() + LOCKOUT.lockMs + 1);
    for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) {
      expect(await login(store, username, 'wrong again!!!', new Date(afterLock.getTime() + i))).toEqual({ ok: false, reason: 'invalid' });
    }
    expect((await store.staffUsers.get(username))?.lockedUntil).toBeUndefined();
    expect(await login(store, username, 'wrong again!!!', new Date(afterLock.getTime() + 10))).toEqual({ ok: false, reason: 'invalid' });
    expect(await login(store, username, PASSWORD, new Date(afterLock.getTime() + 1000))).toMatchObject({ ok: false, reason: 'locked' });
  });

  it('failures during a lock neither count nor extend it: a wrong try every 15 minutes does not keep the account locked', async () => {
    const username = await newUser('admin');
    const start = new Date('2026-11-21T08:00:00Z');
    for (let i = 0; i < 5; i++) await login(store, username, 'wrong password!', start);
    const lockedUntil = (await store.staffUsers.get(username))?.lockedUntil;
    expect(lockedUntil?.getTime()).toBe(start.getTime() + LOCKOUT.lockMs);
    // Guesses while locked: refused, not counted, the lock's end unchanged.
    for (const minutes of [1, 7, 14]) {
      expect(await login(store, username, 'still wrong!!!', new Date(start.getTime() + minutes * 60_000))).toMatchObject({ ok: false, reason: 'locked' });
    }
    expect(await store.staffUsers.get(username)).toMatchObject({ failedLogins: 5, lockedUntil });
    // What used to keep an admin out for ever: one wrong try as each lock ends. Now each is one
    // failure of a fresh count, and the account never locks again.
    for (let period = 1; period <= 4; period++) {
      const at = new Date(start.getTime() + period * LOCKOUT.lockMs + 1);
      expect(await login(store, username, 'one more try!!', at)).toEqual({ ok: false, reason: 'invalid' });
    }
    expect(await login(store, username, PASSWORD, new Date(start.getTime() + 5 * LOCKOUT.lockMs))).toMatchObject({ ok: true });
  });

  it('does the same work for a locked account as for an unknown user (a password hash), so timing tells nothing', async () => {
    const username = await newUser();
    for (let i = 0; i < 5; i++) await login(store, username, 'wrong password!');
    const timed = async (name: string, password: string) => {
      const started = performance.now();
      const result = await login(store, name, password);
      return { result, ms: performance.now() - started };
    };
    const locked: number[] = [];
    const unknown: number[] = [];
    // Alternated, so a busy moment of the machine weighs on both; compared by their fastest,
    // which is what the work costs (a busy machine only ever adds to it).
    for (let i = 0; i < 7; i++) {
      const a = await timed(username, PASSWORD);
      expect(a.result).toMatchObject({ ok: false, reason: 'locked' });
      locked.push(a.ms);
      const b = await timed(`nobody-${i}`, PASSWORD);
      expect(b.result).toEqual({ ok: false, reason: 'invalid' });
      unknown.push(b.ms);
    }
    // Before, a locked account answered in ~4 ms and an unknown one in ~90 (one hash): a factor
    // of 20, where the same work gives about 1. A factor of 4 either way is noise.
    const [fastestLocked, fastestUnknown] = [Math.min(...locked), Math.min(...unknown)];
    expect(fastestLocked).toBeGreaterThan(fastestUnknown / 4);
    expect(fastestLocked).toBeLessThan(fastestUnknown * 4);
  });

  it('counts every failure of many guesses sent at once, and checks at most 5 passwords', async () => {
    const username = await newUser();
    const now = new Date('2026-11-20T14:00:00Z');
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => login(store, username, i === 11 ? PASSWORD : `wrong guess ${i}!!`, now)));
    expect(results.filter((r) => !r.ok && r.reason === 'invalid').length).toBeLessThanOrEqual(5);
    expect(results.filter((r) => !r.ok && r.reason === 'locked').length).toBeGreaterThanOrEqual(6);
  });

  it('a successful login resets the failure counter', async () => {
    const username = await newUser();
    for (let i = 0; i < 4; i++) await login(store, username, 'wrong password!');
    expect(await login(store, username, PASSWORD)).toMatchObject({ ok: true });
    for (let i = 0; i < 4; i++) await login(store, username, 'wrong password!');
    expect(await login(store, username, PASSWORD)).toMatchObject({ ok: true });
  });

  it('enabling the account (staff enable) lifts the lock at once', async () => {
    const username = await newUser();
    for (let i = 0; i < 5; i++) await login(store, username, 'wrong password!');
    expect(await login(store, username, PASSWORD)).toMatchObject({ reason: 'locked' });
    expect(await setStaffActive(store, username, true)).toMatchObject({ ok: true, value: { changed: ['active'], user: { active: true, failedLogins: 0 } } });
    const stored = await store.staffUsers.get(username);
    expect(stored?.lockedUntil).toBeUndefined();
    expect(await login(store, username, PASSWORD)).toMatchObject({ ok: true });
    // An account neither disabled nor locked: enabling it changes nothing.
    expect(await setStaffActive(store, username, true)).toMatchObject({ ok: true, value: { changed: [] } });
  });

  it('a new password lifts the lock', async () => {
    const username = await newUser();
    for (let i = 0; i < 5; i++) await login(store, username, 'wrong password!');
    expect(await login(store, username, PASSWORD)).toMatchObject({ reason: 'locked' });
    expect(await setStaffPassword(store, username, 'a brand new passphrase')).toMatchObject({ ok: true, value: { changed: ['password'] } });
    expect(await login(store, username, PASSWORD)).toMatchObject({ reason: 'invalid' });
    expect(await login(store, username, 'a brand new passphrase')).toMatchObject({ ok: true });
  });
});

describe('changing accounts', () => {
  it('disabling refuses logins and ends the sessions; enabling lets them in again', async () => {
    const username = await newUser();
    const now = new Date();
    const { token } = await createStaffSession(store, username, now, 12);
    expect(await findStaffSession(store, token, now)).not.toBeNull();
    expect(await setStaffActive(store, username, false)).toMatchObject({ ok: true, value: { changed: ['active'], user: { active: false } } });
    expect(await findStaffSession(store, token, now)).toBeNull();
    expect(await login(store, username, PASSWORD)).toEqual({ ok: false, reason: 'invalid' });
    expect(await setStaffActive(store, username, true)).toMatchObject({ ok: true });
    expect(await login(store, username, PASSWORD)).toMatchObject({ ok: true });
  });

  it('changes roles, but never demotes or disables the last active admin', async () => {
    const only = await mkdtempStore();
    try {
      await createStaffUser(only, { username: 'root', displayName: 'Root', role: 'admin', password: PASSWORD });
      expect(await setStaffRole(only, 'root', 'coordinator')).toMatchObject({ ok: false, code: 'last_admin' });
      expect(await setStaffActive(only, 'root', false)).toMatchObject({ ok: false, code: 'last_admin' });
      await createStaffUser(only, { username: 'second', displayName: 'Second', role: 'coordinator', password: PASSWORD });
      expect(await setStaffRole(only, 'second', 'admin')).toMatchObject({ ok: true, value: { changed: ['role'] } });
      expect(await setStaffRole(only, 'root', 'coordinator')).toMatchObject({ ok: true, value: { user: { role: 'coordinator' } } });
      expect(await updateStaffUser(only, 'ghost', { active: false })).toMatchObject({ ok: false, code: 'unknown_user' });
    } finally {
      await only.close();
    }
  });
});

const extraDirs: string[] = [];
afterAll(() => extraDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
async function mkdtempStore(): Promise<Store> {
  const dir = mkdtempSync(path.join(tmpdir(), 'civicline-staff-'));
  extraDirs.push(dir);
  return openStore({ dataDir: dir });
}
