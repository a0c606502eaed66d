/**
 * Staff passwords: scrypt hashes that name their parameters, verify in constant time, refuse
 * short passwords, and never match a tampered or absurd hash; and the hashing runs on a thread
 * of its own, off libuv's thread pool.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dummyPasswordHash, hashPassword, MIN_PASSWORD_LENGTH, needsRehash, passwordProblem, verifyPassword } from '../../src/staff/passwords.js';

describe('passwords', () => {
  it('hashes with scrypt, a fresh salt each time, and verifies', async () => {
    const a = await hashPassword('correct horse battery staple');
    const b = await hashPassword('correct horse battery staple');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery staple', a)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
    expect(needsRehash(a)).toBe(false);
  });

  it('refuses passwords shorter than 12 characters with a clear message', async () => {
    expect(MIN_PASSWORD_LENGTH).toBe(12);
    expect(passwordProblem('short-pass1')).toContain('at least 12 characters');
    expect(passwordProblem('twelve-chars')).toBeNull();
    // Characters, not bytes: 12 emoji are 12 characters.
    expect(passwordProblem('🔑'.repeat(11))).not.toBeNull();
    await expect(hashPassword('too short')).rejects.toThrow('at least 12');
  });

  it('verifies a hash made with other (older) parameters, and says it needs a rehash', async () => {
    const { scryptSync, randomBytes } = await import('node:crypto');
    const salt = randomBytes(16);
    const key = scryptSync('an older password!', salt, 32, { N: 16384, r: 8, p: 1 });
    const old = `scrypt$16384$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
    expect(await verifyPassword('an older password!', old)).toBe(true);
    expect(needsRehash(old)).toBe(true);
  });

  it('never matches a malformed hash or one asking for absurd cost', async () => {
    const good = await hashPassword('correct horse battery staple');
    const parts = good.split('$');
    for (const bad of [
      '',
      'plain',
      good.replace('scrypt', 'bcrypt'),
      [...parts.slice(0, 1), String(2 ** 30), ...parts.slice(2)].join('$'),
      [...parts.slice(0, 1), '1000', ...parts.slice(2)].join('$'),
      [...parts.slice(0, 2), '999', ...parts.slice(3)].join('$'),
      [...parts.slice(0, 5), ''].join('$'),
    ]) {
      expect(await verifyPassword('correct horse battery staple', bad)).toBe(false);
    }
  });

  it('has a dummy hash that matches nothing a person would type', async () => {
    const dummy = await dummyPasswordHash();
    expect(await dummyPasswordHash()).toBe(dummy);
    expect(await verifyPassword('correct horse battery staple', dummy)).toBe(false);
  });

  it("hashes on a thread of its own: with every thread of libuv's pool held, a password is still checked", async () => {
    const stored = await hashPassword('correct horse battery staple');
    // Opening a FIFO for reading blocks until a writer comes: each open holds one pool thread
    // (as a slow LMDB or file call of a resident's turn would), without using any CPU.
    const dir = mkdtempSync(path.join(tmpdir(), 'civicline-pool-'));
    const fifo = path.join(dir, 'hold');
    execFileSync('mkfifo', [fifo]);
    const poolSize = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4);
    const held = Array.from({ length: poolSize }, () => open(fifo, 'r'));
    try {
      const checked = await Promise.race([
        verifyPassword('correct horse battery staple', stored),
        new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), 10_000)),
      ]);
      expect(checked).toBe(true);
    } finally {
      // A writer lets every blocked open through.
      closeSync(openSync(fifo, 'w'));
      for (const handle of await Promise.all(held)) await handle.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
