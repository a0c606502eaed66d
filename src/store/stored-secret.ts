/**
 * A secret made on first use and kept in the store's `meta`, for a key the operator may set in
 * the configuration instead: every instance on one database agrees on it, and it survives a
 * restart. (Kept with the data, it protects less than one kept apart: see each key's comment.)
 */
import { randomBytes } from 'node:crypto';
import type { Collections } from './store.port.js';

/** The secret stored under `id`, made now (32 random bytes) if there is none yet. */
export async function storedSecret(store: Pick<Collections, 'meta'>, id: string): Promise<Buffer> {
  // Insert-if-absent, then read: of several instances starting at once, the first insert wins.
  await store.meta.insert({ _id: id, value: randomBytes(32).toString('base64') });
  const stored = await store.meta.get(id);
  if (typeof stored?.value !== 'string') throw new Error(`${id}: the stored secret is missing`);
  return Buffer.from(stored.value, 'base64');
}
