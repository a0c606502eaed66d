/**
 * Open311 API keys (issue 19): admins make one per system that posts service requests (the city's
 * CRM, FixMyStreet, a 311 app), see when each was last used, and revoke them. Every change is in
 * the audit log, and every request a key posts is too, under the actor `open311:<key id>`: that
 * is the key's audit trail.
 *
 * A key reads `cl_<id>_<secret>`: the id (10 reference characters) finds the record in one read,
 * the secret (32 random bytes, base64url) is checked against its SHA-256. Only the hash is kept,
 * and the whole key is shown once, when it is made. SHA-256 rather than scrypt (which staff
 * passwords use): a 256-bit random secret cannot be guessed however fast the hash, and a slow
 * hash would cost every POST (and every forged one) tens of milliseconds of CPU.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Open311KeyRecord } from '../domain/records.js';
import { REFERENCE_ALPHABET } from '../domain/reference.js';
import type { Collections } from '../store/store.port.js';
import { recordAudit } from './audit-log.js';
import { StaffError, type Actor } from './staff-deps.js';

/** The audit actor of the requests a key posts: `open311:<key id>` (also the reports' resident address). */
export function open311Actor(keyId: string): string {
  return `open311:${keyId}`;
}

/** Requests a key may post a minute unless the admin says otherwise. */
export const DEFAULT_KEY_PER_MINUTE = 60;
/** The most a key may be allowed a minute (a bulk import should use several minutes, not one burst). */
export const MAX_KEY_PER_MINUTE = 6000;
/** The most keys listed (and so, in practice, kept: revoked keys stay, for their audit trail). */
const KEYS_LISTED = 500;
const ID_LENGTH = 10;
/** How stale `lastUsedAt` may get before a use writes it again: one write a minute per key at most. */
const LAST_USED_RESOLUTION_MS = 60_000;
const KEY_FORMAT = new RegExp(`^cl_([${REFERENCE_ALPHABET}]{${ID_LENGTH}})_([A-Za-z0-9_-]{43})$`);

/** A key as staff see it: never its hash. */
export interface Open311KeyView {
  id: string;
  name: string;
  perMinute: number;
  createdBy: string;
  createdAt: string;
  lastUsedAt?: string;
  revokedAt?: string;
  revokedBy?: string;
  active: boolean;
}

/** What creating a key gives: the key itself (shown once) and how staff see it. */
export interface CreatedOpen311Key {
  key: string;
  view: Open311KeyView;
}

/** A key's record as staff see it. */
export function keyView(record: Open311KeyRecord): Open311KeyView {
  return {
    id: record._id,
    name: record.name,
    perMinute: record.perMinute,
    createdBy: record.createdBy,
    createdAt: record.createdAt.toISOString(),
    ...(record.lastUsedAt ? { lastUsedAt: record.lastUsedAt.toISOString() } : {}),
    ...(record.revokedAt ? { revokedAt: record.revokedAt.toISOString() } : {}),
    ...(record.revokedBy ? { revokedBy: record.revokedBy } : {}),
    active: !record.revokedAt,
  };
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function newKeyId(): string {
  let id = '';
  for (let i = 0; i < ID_LENGTH; i++) id += REFERENCE_ALPHABET[randomInt(REFERENCE_ALPHABET.length)];
  return id;
}

/** Makes a key for a system named `name`; audited (the name and limit, never the key). */
export async function createOpen311Key(
  store: Pick<Collections, 'open311Keys' | 'audit'>,
  input: { name: string; perMinute?: number },
  actor: Actor,
  now: Date = new Date(),
): Promise<CreatedOpen311Key> {
  const name = input.name.trim();
  if (!name || name.length > 80 || /[\p{Cc}]/u.test(name)) throw new StaffError(400, 'Give the key a name of 1-80 characters (who or what uses it)');
  const perMinute = input.perMinute ?? DEFAULT_KEY_PER_MINUTE;
  if (!Number.isInteger(perMinute) || perMinute < 1 || perMinute > MAX_KEY_PER_MINUTE)
    throw new StaffError(400, `The rate limit must be a whole number of requests a minute from 1 to ${MAX_KEY_PER_MINUTE}`);
  const secret = randomBytes(32).toString('base64url');
  for (let attempt = 0; attempt < 5; attempt++) {
    const id = newKeyId();
    const record = { _id: id, name, secretHash: hashSecret(secret), perMinute, createdBy: actor.username, createdAt: now, kind: 'open311Key' as const };
    if (!(await store.open311Keys.insert(record))) continue;
    await recordAudit(store, { actor: actor.username, action: 'open311.key.create', target: id, details: { name, perMinute } }, now);
    return { key: `cl_${id}_${secret}`, view: keyView({ ...record, _rev: 1 }) };
  }
  throw new Error('Could not draw an unused Open311 key id');
}

/** Every key, newest first, revoked ones included (their audit trail still names them). */
export async function listOpen311Keys(store: Pick<Collections, 'open311Keys'>): Promise<Open311KeyView[]> {
  const records = await store.open311Keys.find({ field: 'kind', equals: 'open311Key' }, { order: 'desc', limit: KEYS_LISTED });
  return records.map(keyView);
}

/** Revokes a key: from now on it gets 403. Safe to repeat (a revoked key stays revoked, once audited). */
export async function revokeOpen311Key(
  store: Pick<Collections, 'open311Keys' | 'audit'>,
  id: string,
  actor: Actor,
  now: Date = new Date(),
): Promise<Open311KeyView> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await store.open311Keys.get(id);
    if (!current) throw new StaffError(404, `No Open311 key ${id}`);
    if (current.revokedAt) return keyView(current);
    const next = { ...current, revokedAt: now, revokedBy: actor.username };
    if (await store.open311Keys.replace(next, current._rev)) {
      await recordAudit(store, { actor: actor.username, action: 'open311.key.revoke', target: id, details: { name: current.name } }, now);
      return keyView({ ...next, _rev: current._rev + 1 });
    }
  }
  throw new Error('The Open311 key kept changing while it was revoked');
}

/**
 * The active key a client's `api_key` is, or null (malformed, unknown, wrong secret or revoked:
 * all alike to the caller). Records the use, at most once a minute per key.
 */
export async function authenticateOpen311Key(
  store: Pick<Collections, 'open311Keys'>,
  apiKey: string,
  now: Date = new Date(),
): Promise<Open311KeyRecord | null> {
  const match = KEY_FORMAT.exec(apiKey);
  if (!match) return null;
  const [, id = '', secret = ''] = match;
  const record = await store.open311Keys.get(id);
  if (!record || record.revokedAt) return null;
  const given = Buffer.from(hashSecret(secret), 'hex');
  const kept = Buffer.from(record.secretHash, 'hex');
  if (given.length !== kept.length || !timingSafeEqual(given, kept)) return null;
  if (!record.lastUsedAt || now.getTime() - record.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
    // Best effort: a concurrent use or a revocation wins the revision, and that is fine.
    await store.open311Keys.replace({ ...record, lastUsedAt: now }, record._rev);
  }
  return record;
}
