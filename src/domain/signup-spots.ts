/**
 * The spot a confirmed sign-up holds (issue 20): `confirmedIn` is its shift's key, or its role's
 * when the resident signed up for a role as a whole, and only while the sign-up is confirmed, so
 * the `confirmedIn` index holds exactly the spots taken and "how many spots are left" is one
 * count of keys, not a read of every sign-up (waitlisted and withdrawn ones included) of every
 * role on the list. Like a report's open keys (open-report-keys.ts), the key exists only in the
 * state it indexes; the store sets it on every write (src/store/derived-keys.ts), so no writer
 * can leave it stale.
 */
import type { SignupRecord } from './records.js';

/** The `confirmedIn` value of the spots of a shift, or of a role without shifts. */
export function spotKeyOf(slot: { roleId: string; shiftId?: string | undefined }): string {
  return slot.shiftId ? `shift|${slot.shiftId}` : `role|${slot.roleId}`;
}

/** The sign-up with `confirmedIn` as its status says: its spot while confirmed, absent otherwise. */
export function withSpotKey<T extends Pick<SignupRecord, 'roleId' | 'shiftId' | 'status' | 'confirmedIn'>>(signup: T): T {
  const { confirmedIn: _key, ...rest } = signup;
  return (signup.status === 'confirmed' ? { ...rest, confirmedIn: spotKeyOf(signup) } : rest) as T;
}
