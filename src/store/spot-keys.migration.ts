/**
 * Gives the sign-ups stored before spots were counted by key (issue 20) their `confirmedIn`
 * (src/domain/signup-spots.ts), so the volunteer list counts the spots they hold. Run by the
 * service at start, before it takes a turn: the first start reads every role's sign-ups once,
 * role by role (the roleId index), and rewrites, revision-checked, the confirmed ones without
 * their key (the store derives it on the write); a marker in `meta` makes later starts free.
 * Idempotent, safe to cut off and to run on several instances at once. An instance of an older
 * version writing sign-ups during a rolling upgrade would write them without the key; stop the
 * old instances first (README, "Index keys the store derives, and upgrading").
 */
import type { Logger } from 'pino';
import { withSpotKey } from '../domain/signup-spots.js';
import type { SignupRecord } from '../domain/records.js';
import type { Collections } from './store.port.js';

/** The `meta` record that says every stored sign-up has its spot key. */
export const SPOT_KEYS_MIGRATION = 'migrated:signup-spot-keys:v1';
/** More sign-ups than one role can have. */
const ALL = 1_000_000;
/** How often a sign-up that another writer changed meanwhile is read and tried again. */
const WRITE_ATTEMPTS = 5;

/** Gives stored sign-ups their spot keys, once; how many were rewritten. */
export async function backfillSpotKeys(store: Pick<Collections, 'roles' | 'signups' | 'meta'>, logger: Logger): Promise<number> {
  if ((await store.meta.get(SPOT_KEYS_MIGRATION)) !== null) return 0;
  let updated = 0;
  for (const status of ['open', 'closed'] as const) {
    for (const role of await store.roles.find({ field: 'status', equals: status }, { limit: ALL })) {
      for (const signup of await store.signups.find({ field: 'roleId', equals: role._id }, { limit: ALL })) {
        if (lacksKey(signup) && (await rewrite(store, signup))) updated += 1;
      }
    }
  }
  await store.meta.upsert({ _id: SPOT_KEYS_MIGRATION, value: { at: new Date().toISOString(), updated } });
  // Counts only; a new store has nothing to say.
  if (updated > 0) logger.info({ signups: updated }, 'gave sign-ups their spot keys');
  return updated;
}

function lacksKey(signup: SignupRecord): boolean {
  return withSpotKey(signup).confirmedIn !== signup.confirmedIn;
}

async function rewrite(store: Pick<Collections, 'signups'>, first: SignupRecord): Promise<boolean> {
  let current: SignupRecord | null = first;
  for (let attempt = 0; current && attempt < WRITE_ATTEMPTS; attempt++) {
    if (!lacksKey(current)) return false;
    // The store derives the key on the write too; set here so the write says what it is for.
    if (await store.signups.replace(withSpotKey(current), current._rev)) return true;
    current = await store.signups.get(first._id);
  }
  return false;
}
