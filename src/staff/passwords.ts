/**
 * Staff passwords: hashed with scrypt (node:crypto), a memory-hard key-derivation function, so a
 * stolen database costs an attacker memory as well as time for every guess. A hash names its
 * own parameters (`scrypt$N$r$p$salt$hash`), so the cost can be raised later and older hashes
 * still verify.
 *
 * Every hash runs on one dedicated worker thread, one at a time, never on libuv's thread pool.
 * Node's async `scrypt` takes a pool thread for the whole hash (~90 ms, 32 MiB), and the pool is
 * 4 threads shared by the whole process: the embedded store (LMDB), file access and crypto of
 * residents' turns queue for the same threads. 300 wrong logins at once held all four for
 * seconds, and an SMS turn took 10 s instead of 14 ms. A gate of one hash at a time on the pool
 * would still take a pool thread from residents for as long as a flood lasts, and hashes made
 * elsewhere (adding an account) would bypass it; the worker takes none, and however many
 * hashes are asked for it uses at most one core. One at a time is ~10 a second, plenty for a
 * city's staff. How many logins may wait for it is bounded by the login route
 * (login.routes.ts), which answers 429 beyond that; the other callers (adding an account, a new
 * password) are behind staff access and wait their turn.
 *
 * The thread keeps the normal CPU priority. A lower one (nice) would give residents' turns the
 * CPU first, but it starves logins whenever anything else keeps the cores busy (a test run, a
 * backup, other services on the box), and a starved thread that holds a lock the main thread
 * needs (the process's memory map: scrypt maps 32 MiB per hash) would hold residents up
 * instead. One thread at a time already leaves the other core(s) to everything else.
 */
import { randomBytes, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Shorter passwords are refused: length is what makes a password hard to guess. */
export const MIN_PASSWORD_LENGTH = 12;
/** Longer ones are refused too, so nobody makes the server hash megabytes per login. */
export const MAX_PASSWORD_LENGTH = 1024;

/** Today's cost: 2^15 × 8 × 128 bytes = 32 MiB of memory per hash (OWASP's scrypt guidance). */
const CURRENT = { N: 32_768, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/**
 * Bounds on the parameters a stored hash may ask for: a tampered or corrupt hash must not make
 * a login allocate gigabytes or run for minutes.
 */
const LIMITS = { minLogN: 10, maxLogN: 20, maxR: 32, maxP: 16 } as const;

/**
 * Why a password is not acceptable, or null when it is; why it is a value rather than an
 * exception: the API and the CLI both show it to the person choosing the password.
 */
export function passwordProblem(password: string): string | null {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `The password must be at least ${MIN_PASSWORD_LENGTH} characters long`;
  if (length > MAX_PASSWORD_LENGTH) return `The password must be at most ${MAX_PASSWORD_LENGTH} characters long`;
  return null;
}

/**
 * Hashes a new password with a fresh random salt; rejects a password that `passwordProblem`
 * refuses, so a weak one can never be stored by mistake.
 */
export async function hashPassword(password: string): Promise<string> {
  const problem = passwordProblem(password);
  if (problem) throw new Error(problem);
  const salt = randomBytes(SALT_LENGTH);
  const hash = await derive(password, salt, KEY_LENGTH, CURRENT);
  return ['scrypt', CURRENT.N, CURRENT.r, CURRENT.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/**
 * Whether the password matches a stored hash, compared in constant time. Uses the parameters
 * stored in the hash; a malformed hash, or one asking for unreasonable cost, never matches.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed || password.length > MAX_PASSWORD_LENGTH * 4) return false;
  const candidate = await derive(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(candidate, parsed.hash);
}

/** Whether a stored hash was made with weaker parameters than today's (rehash it at next login). */
export function needsRehash(stored: string): boolean {
  const parsed = parseHash(stored);
  return !parsed || parsed.N < CURRENT.N || parsed.r < CURRENT.r || parsed.p < CURRENT.p;
}

let dummyHash: Promise<string> | undefined;

/**
 * A hash of a random password, made once per process: logins for unknown or disabled users
 * verify against it, so they cost the same time as a real check and timing does not tell an
 * attacker which usernames exist.
 */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(24).toString('base64'));
  return dummyHash;
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map((part) => (/^\d{1,8}$/.test(part ?? '') ? Number(part) : NaN));
  if (N === undefined || r === undefined || p === undefined) return null;
  const logN = Math.log2(N);
  if (!Number.isInteger(logN) || logN < LIMITS.minLogN || logN > LIMITS.maxLogN) return null;
  if (!Number.isInteger(r) || r < 1 || r > LIMITS.maxR || !Number.isInteger(p) || p < 1 || p > LIMITS.maxP) return null;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const hash = Buffer.from(parts[5] ?? '', 'base64');
  if (salt.length < 8 || hash.length < 16 || hash.length > 128) return null;
  return { N, r, p, salt, hash };
}

function derive(password: string, salt: Buffer, keyLength: number, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; node's default maxmem (32 MiB) is exactly today's need and
  // refuses it, so allow twice the need.
  const options: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r };
  return hashingThread.derive(password.normalize('NFC'), salt, keyLength, options);
}

/**
 * The worker's code: plain JavaScript evaluated as a script, so it runs the same from the
 * compiled service, under tsx and in tests, with no file of its own to find. Messages are
 * handled one after the other, which is what makes hashing one at a time.
 */
const HASHER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
parentPort.on('message', ({ id, password, salt, keyLength, options }) => {
  try {
    parentPort.postMessage({ id, key: scryptSync(password, salt, keyLength, options) });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

type HasherAnswer = { id: number; key: Uint8Array; error?: undefined } | { id: number; error: string };

/**
 * The hashing thread, started on first use. It holds the process open only while a hash is owed
 * (so the CLI exits when done, and a service's shutdown does not wait for it). If it dies, the
 * hashes it owed fail and the next hash starts a new one.
 */
const hashingThread = (() => {
  let worker: Worker | undefined;
  let nextId = 0;
  const owed = new Map<number, { resolve: (key: Buffer) => void; reject: (error: Error) => void }>();

  const start = (): Worker => {
    const started = new Worker(HASHER_SOURCE, { eval: true, name: 'civicline-password-hashing' });
    started.unref();
    started.on('message', (answer: HasherAnswer) => {
      const waiting = owed.get(answer.id);
      if (!waiting) return;
      owed.delete(answer.id);
      if (owed.size === 0) started.unref();
      if (answer.error !== undefined) waiting.reject(new Error(`password hashing failed: ${answer.error}`));
      else waiting.resolve(Buffer.from(answer.key.buffer, answer.key.byteOffset, answer.key.byteLength));
    });
    const fail = (error: Error) => {
      if (worker !== started) return;
      worker = undefined;
      for (const waiting of owed.values()) waiting.reject(error);
      owed.clear();
    };
    started.on('error', fail);
    started.on('exit', (code) => fail(new Error(`the password hashing thread exited with code ${code}`)));
    return started;
  };

  return {
    derive(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
      worker ??= start();
      const id = nextId++;
      const thread = worker;
      return new Promise((resolve, reject) => {
        owed.set(id, { resolve, reject });
        thread.ref();
        thread.postMessage({ id, password, salt, keyLength, options });
      });
    },
  };
})();
