/**
 * The start-up backfill of sign-ups' spot keys (src/store/spot-keys.migration.ts): sign-ups
 * stored before the key existed (an older version's records, which a store today cannot write,
 * so they are held here in memory as that version left them) get it, confirmed ones only, once;
 * a second start reads nothing.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { MetaRecord, SignupRecord, VolunteerRoleRecord } from '../../src/domain/records.js';
import { backfillSpotKeys, SPOT_KEYS_MIGRATION } from '../../src/store/spot-keys.migration.js';
import type { Collections, Where } from '../../src/store/store.port.js';

const silent = pino({ level: 'silent' });
const at = new Date('2026-01-05T10:00:00Z');

/** Just what the backfill uses, over plain maps, counting the sign-up reads. */
function olderStore(roles: Partial<VolunteerRoleRecord>[], signups: Omit<SignupRecord, '_rev'>[]) {
  const rows = new Map(signups.map((signup) => [signup._id, { ...signup, _rev: 1 } as SignupRecord]));
  const meta = new Map<string, MetaRecord>();
  let signupReads = 0;
  const store = {
    roles: { find: async (where: Where<VolunteerRoleRecord>) => roles.filter((role) => role.status === where.equals) },
    signups: {
      find: async (where: Where<SignupRecord>) => {
        signupReads += 1;
        return [...rows.values()].filter((row) => row.roleId === where.equals);
      },
      get: async (id: string) => rows.get(id) ?? null,
      replace: async (record: SignupRecord, rev: number) => {
        if (rows.get(record._id)?._rev !== rev) return false;
        rows.set(record._id, { ...record, _rev: rev + 1 });
        return true;
      },
    },
    meta: {
      get: async (id: string) => meta.get(id) ?? null,
      upsert: async (record: MetaRecord) => {
        meta.set(record._id, record);
        return record;
      },
    },
  } as unknown as Pick<Collections, 'roles' | 'signups' | 'meta'>;
  return { store, rows, meta, reads: () => signupReads };
}

const signup = (id: string, roleId: string, status: SignupRecord['status'], shiftId?: string): Omit<SignupRecord, '_rev'> => ({
  _id: id,
  roleId,
  ...(shiftId ? { shiftId } : {}),
  address: `sms:+1555000${id.length}`,
  name: 'Ana',
  channel: 'sms',
  status,
  createdAt: at,
  updatedAt: at,
});

describe('the spot keys backfill', () => {
  it('gives confirmed sign-ups of open and closed roles their key, once', async () => {
    const older = olderStore(
      [
        { _id: 'V-OPEN', status: 'open' },
        { _id: 'V-SHUT', status: 'closed' },
      ],
      [
        signup('a', 'V-OPEN', 'confirmed'),
        signup('b', 'V-OPEN', 'waitlisted'),
        signup('c', 'V-SHUT', 'confirmed', 'S-9'),
        signup('d', 'V-SHUT', 'cancelled', 'S-9'),
      ],
    );
    expect(await backfillSpotKeys(older.store, silent)).toBe(2);
    expect([...older.rows.values()].map((row) => [row._id, row.confirmedIn])).toEqual([
      ['a', 'role|V-OPEN'],
      ['b', undefined],
      ['c', 'shift|S-9'],
      ['d', undefined],
    ]);
    expect(older.meta.has(SPOT_KEYS_MIGRATION)).toBe(true);
    const reads = older.reads();
    expect(await backfillSpotKeys(older.store, silent)).toBe(0);
    expect(older.reads()).toBe(reads);
  });
});
