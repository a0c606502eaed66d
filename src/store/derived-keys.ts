/**
 * Index keys the store derives from a record on every write, in both adapters, so that no
 * writer (a dialog, a staff page, a job, a test's fixture) can leave one stale: today only a
 * sign-up's `confirmedIn` (src/domain/signup-spots.ts). A derived key is an ordinary field of
 * the record and of its schema, and is read back like any other.
 */
import { withSpotKey } from '../domain/signup-spots.js';
import type { SignupRecord } from '../domain/records.js';
import type { CollectionName } from './collections.js';

/** The record as it is stored: its derived keys set from its other fields. */
export function withDerivedKeys<T>(collection: CollectionName, record: T): T {
  return collection === 'signups' ? (withSpotKey(record as SignupRecord) as T) : record;
}
