/**
 * The impact of volunteering (issue 20): the numbers of `volunteerImpact`, read from a real
 * embedded store, against a brute-force count over generated roles, shifts and sign-ups (written
 * straight into the store); the hour rules one by one; months in the city's time zone; and the
 * date range's checks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShiftRecord, SignupRecord, VolunteerRoleRecord } from '../../src/domain/records.js';
import { openEmbeddedStore } from '../../src/store/embedded.store.js';
import type { Store, Unsaved } from '../../src/store/store.port.js';
import { countedSignup, DEFAULT_HOURS_CAP, impactRange, PER_SHIFT_READS, volunteerImpact, type ImpactFigures } from '../../src/staff/volunteer-impact.js';

const TIME_ZONE = 'America/Chicago';
const HOUR_VALUE = 34.79;
const HOUR = 3_600_000;
const NOW = new Date('2026-06-15T17:00:00Z');
// Half-hour steps from here: the generated times span the year's first half and a little around it.
const BASE = Date.parse('2025-12-20T00:00:00Z');
const config = { cityTimeZone: TIME_ZONE, volunteerHourValue: HOUR_VALUE };
const ADDRESSES = ['sms:+15550000001', 'sms:+15550000002', 'telegram:42', 'telegram:43', 'webchat:a1', 'webchat:b2'];

let dir: string;
let store: Store;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'civicline-impact-'));
  store = await openEmbeddedStore(dir);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function aRole(id: string, fields: Partial<VolunteerRoleRecord> = {}): Unsaved<VolunteerRoleRecord> {
  return {
    _id: id,
    title: `Role ${id}`,
    description: 'Pick up litter',
    interests: [],
    neighbourhood: 'Riverside',
    place: 'North gate',
    startsAt: new Date('2026-02-01T15:00:00Z'),
    capacity: 10,
    contact: 'parks@example.test',
    status: 'open',
    demo: false,
    createdAt: new Date(BASE),
    ...fields,
  };
}

function aShift(id: string, roleId: string, startsAt: Date, hours: number, status: ShiftRecord['status'] = 'open'): Unsaved<ShiftRecord> {
  return {
    _id: id,
    roleId,
    startsAt,
    endsAt: new Date(startsAt.getTime() + hours * HOUR),
    capacity: 10,
    status,
    createdAt: new Date(BASE),
    updatedAt: new Date(BASE),
  };
}

function aSignup(roleId: string, shiftId: string | undefined, address: string, fields: Partial<SignupRecord> = {}): Unsaved<SignupRecord> {
  return {
    _id: `${shiftId ?? roleId}|${address}`,
    roleId,
    ...(shiftId === undefined ? {} : { shiftId }),
    address,
    name: 'Ana',
    channel: address.startsWith('sms') ? 'sms' : address.startsWith('telegram') ? 'telegram' : 'webchat',
    status: 'confirmed',
    createdAt: new Date(BASE),
    updatedAt: new Date(BASE),
    ...fields,
  };
}

/** Writes the records, runs the check, and removes them again (the store is shared by the tests). */
async function withRecords<T>(
  records: { roles: Unsaved<VolunteerRoleRecord>[]; shifts: Unsaved<ShiftRecord>[]; signups: Unsaved<SignupRecord>[] },
  check: () => Promise<T>,
): Promise<T> {
  for (const role of records.roles) await store.roles.insert(role);
  for (const shift of records.shifts) await store.shifts.insert(shift);
  for (const signup of records.signups) await store.signups.insert(signup);
  try {
    return await check();
  } finally {
    for (const signup of records.signups) await store.signups.delete(signup._id);
    for (const shift of records.shifts) await store.shifts.delete(shift._id);
    for (const role of records.roles) await store.roles.delete(role._id);
  }
}

// --- The brute force: every rule spelt out again, over the plain arrays, with the platform's own
// calendar in the city's time zone (not the code under test's conversion).
const dayFormat = new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });
const cityDay = (at: Date) => dayFormat.format(at);

interface Tally {
  volunteers: number;
  addresses: Set<string>;
  hours: number;
  approved: number;
  unapproved: number;
  shiftLength: number;
  attended: number;
  noShow: number;
  unknown: number;
  outcome: number;
  answers: number;
}
const emptyTally = (): Tally => ({
  volunteers: 0,
  addresses: new Set(),
  hours: 0,
  approved: 0,
  unapproved: 0,
  shiftLength: 0,
  attended: 0,
  noShow: 0,
  unknown: 0,
  outcome: 0,
  answers: 0,
});
const r2 = (n: number) => Math.round(n * 100) / 100;
function figuresOf(t: Tally): ImpactFigures {
  const known = t.attended + t.noShow;
  return {
    volunteers: t.volunteers,
    distinctVolunteers: t.addresses.size,
    hours: r2(t.hours),
    hoursApproved: r2(t.approved),
    hoursUnapproved: r2(t.unapproved),
    hoursFromShiftLength: r2(t.shiftLength),
    hoursValue: Math.round(t.hours * HOUR_VALUE * 100) / 100,
    attended: t.attended,
    noShow: t.noShow,
    attendanceUnknown: t.unknown,
    noShowRate: known === 0 ? null : t.noShow / known,
  };
}

function bruteForce(
  roles: readonly Unsaved<VolunteerRoleRecord>[],
  shifts: readonly Unsaved<ShiftRecord>[],
  signups: readonly Unsaved<SignupRecord>[],
  from: string,
  to: string,
) {
  const inRange = (at: Date) => cityDay(at) >= from && cityDay(at) <= to;
  const overall = emptyTally();
  const months = new Map<string, Tally>();
  const perRole = new Map<string, { tally: Tally; held: number }>();
  let held = 0;
  for (const role of roles) {
    const own = shifts.filter((shift) => shift.roleId === role._id);
    const events =
      own.length > 0
        ? own
            .filter((s) => s.status === 'open' && inRange(s.startsAt) && s.endsAt.getTime() <= NOW.getTime())
            .map((s) => ({ id: s._id, start: s.startsAt, end: s.endsAt }))
        : inRange(role.startsAt) && (role.endsAt ?? role.startsAt).getTime() <= NOW.getTime()
          ? [{ id: role._id, start: role.startsAt, end: role.endsAt }]
          : [];
    if (events.length === 0) continue;
    held += events.length;
    const mine = { tally: emptyTally(), held: events.length };
    perRole.set(role._id, mine);
    for (const event of events) {
      const month = cityDay(event.start).slice(0, 7);
      const lengthHours = event.end ? Math.max(0, (event.end.getTime() - event.start.getTime()) / HOUR) : 0;
      for (const signup of signups) {
        if (signup.roleId !== role._id || signup.status !== 'confirmed') continue;
        if (own.length > 0 ? signup.shiftId !== event.id : signup.shiftId !== undefined) continue;
        if (!months.has(month)) months.set(month, emptyTally());
        for (const t of [overall, months.get(month)!, mine.tally]) {
          t.volunteers++;
          t.addresses.add(signup.address);
          if (signup.hoursApproved !== undefined) {
            t.hours += signup.hoursApproved;
            t.approved += signup.hoursApproved;
          } else if (signup.attendance === 'no_show') {
            // nothing
          } else if (signup.hoursReported !== undefined) {
            t.hours += signup.hoursReported;
            t.unapproved += signup.hoursReported;
          } else if (signup.attendance === 'attended') {
            t.hours += Math.min(lengthHours, DEFAULT_HOURS_CAP);
            t.shiftLength += Math.min(lengthHours, DEFAULT_HOURS_CAP);
          }
          if (signup.attendance === 'attended') t.attended++;
          else if (signup.attendance === 'no_show') t.noShow++;
          else t.unknown++;
          if (signup.outcomeReported !== undefined) {
            t.outcome += signup.outcomeReported;
            t.answers++;
          }
        }
      }
    }
  }
  return { overall, months, perRole, held };
}

// --- The generator: a few roles, their shifts, and sign-ups in every state.
const halfHours = (min: number, max: number) => fc.integer({ min, max }).map((n) => n / 2);
const instant = fc.integer({ min: 0, max: 215 * 48 }).map((steps) => new Date(BASE + steps * 30 * 60_000));
const roleArb = fc.record({
  status: fc.constantFrom<VolunteerRoleRecord['status']>('open', 'closed'),
  startsAt: instant,
  length: fc.option(halfHours(0, 30), { nil: undefined }),
  outcome: fc.option(fc.record({ target: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }) }), { nil: undefined }),
  shifts: fc.array(fc.record({ startsAt: instant, hours: halfHours(1, 30), cancelled: fc.boolean() }), { maxLength: 4 }),
});
const signupArb = fc.record({
  role: fc.nat(),
  shift: fc.nat(),
  address: fc.constantFrom(...ADDRESSES),
  status: fc.constantFrom<SignupRecord['status']>('confirmed', 'confirmed', 'confirmed', 'waitlisted', 'cancelled'),
  attendance: fc.option(fc.constantFrom<'attended' | 'no_show'>('attended', 'no_show'), { nil: undefined }),
  hoursReported: fc.option(halfHours(0, 16), { nil: undefined }),
  hoursApproved: fc.option(halfHours(0, 16), { nil: undefined }),
  outcomeReported: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
});
const rangeArb = fc.constantFrom(
  { from: '2026-01-01', to: '2026-06-30' },
  { from: '2026-02-01', to: '2026-03-31' },
  { from: '2025-12-25', to: '2026-07-20' },
  { from: '2026-03-01', to: '2026-03-01' },
);

describe('volunteerImpact against a brute-force count', () => {
  it('agrees on every number, overall, per month and per role', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(roleArb, { minLength: 1, maxLength: 5 }),
        fc.array(signupArb, { maxLength: 40 }),
        rangeArb,
        async (roleSpecs, signupSpecs, range) => {
          const roles = roleSpecs.map((spec, i) =>
            aRole(`V-GEN${i}A`, {
              status: spec.status,
              startsAt: spec.startsAt,
              ...(spec.length === undefined ? {} : { endsAt: new Date(spec.startsAt.getTime() + spec.length * HOUR) }),
              ...(spec.outcome
                ? { outcome: { unit: 'bags', question: 'How many bags?', ...(spec.outcome.target === undefined ? {} : { target: spec.outcome.target }) } }
                : {}),
            }),
          );
          const shifts = roleSpecs.flatMap((spec, i) =>
            spec.shifts.map((shift, j) => aShift(`S-GEN${i}${j}`, `V-GEN${i}A`, shift.startsAt, shift.hours, shift.cancelled ? 'cancelled' : 'open')),
          );
          const byId = new Map<string, Unsaved<SignupRecord>>();
          for (const spec of signupSpecs) {
            const roleIndex = spec.role % roles.length;
            const ofRole = roleSpecs[roleIndex]!.shifts;
            // Mostly for a shift when the role has shifts; now and then a stray sign-up for the role itself.
            const shiftId = ofRole.length > 0 && spec.shift % 7 !== 0 ? `S-GEN${roleIndex}${spec.shift % ofRole.length}` : undefined;
            const { role: _r, shift: _s, address, ...fields } = spec;
            const defined = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<SignupRecord>;
            const signup = aSignup(`V-GEN${roleIndex}A`, shiftId, address, defined);
            byId.set(signup._id, signup);
          }
          const signups = [...byId.values()];
          const expected = bruteForce(roles, shifts, signups, range.from, range.to);
          const impact = await withRecords({ roles, shifts, signups }, () => volunteerImpact({ store, config }, impactRange(range, TIME_ZONE, NOW), NOW));

          expect(impact.complete).toBe(true);
          expect(impact.overall).toEqual({ ...figuresOf(expected.overall), shiftsHeld: expected.held });
          for (const month of impact.months) expect(month).toEqual({ month: month.month, ...figuresOf(expected.months.get(month.month) ?? emptyTally()) });
          expect(impact.months.reduce((sum, m) => sum + m.volunteers, 0)).toBe(impact.overall.volunteers);
          expect(impact.roles.map((r) => r.roleId).sort()).toEqual([...expected.perRole.keys()].sort());
          for (const role of impact.roles) {
            const mine = expected.perRole.get(role.roleId)!;
            const { roleId: _id, title: _t, status: _st, shiftsHeld, outcome, months, ...figures } = role;
            expect(figures).toEqual(figuresOf(mine.tally));
            expect(shiftsHeld).toBe(mine.held);
            const spec = roles.find((r) => r._id === role.roleId)!;
            expect(outcome).toEqual(
              spec.outcome
                ? {
                    unit: 'bags',
                    reported: mine.tally.outcome,
                    answers: mine.tally.answers,
                    target: spec.outcome.target ?? null,
                    shareOfTarget: spec.outcome.target ? mine.tally.outcome / spec.outcome.target : null,
                  }
                : null,
            );
            expect(months.reduce((sum, m) => sum + m.hours, 0)).toBeCloseTo(role.hours, 6);
          }
          // Most hours first.
          for (let i = 1; i < impact.roles.length; i++) expect(impact.roles[i - 1]!.hours).toBeGreaterThanOrEqual(impact.roles[i]!.hours);
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});

describe('a role with many shifts', () => {
  it('has its sign-ups read in one read by role, and counts the same', async () => {
    const shiftCount = PER_SHIFT_READS + 5;
    const role = aRole('V-MANY1');
    const shifts = Array.from({ length: shiftCount }, (_, i) =>
      aShift(`S-MANY${i}`, 'V-MANY1', new Date(Date.parse('2026-01-05T15:00:00Z') + i * 24 * HOUR), 2),
    );
    const signups = [
      ...shifts.map((shift, i) => aSignup('V-MANY1', shift._id, ADDRESSES[i % 3]!, { attendance: i % 4 === 0 ? 'no_show' : 'attended' })),
      // A sign-up for the role as a whole, left from before it had shifts: a role with shifts is measured by its shifts.
      aSignup('V-MANY1', undefined, 'webchat:a1', { attendance: 'attended', hoursApproved: 100 }),
    ];
    const impact = await withRecords({ roles: [role], shifts, signups }, () =>
      volunteerImpact({ store, config }, impactRange({ from: '2026-01-01', to: '2026-06-30' }, TIME_ZONE, NOW), NOW),
    );
    const noShows = Math.ceil(shiftCount / 4);
    expect(impact.overall).toMatchObject({
      volunteers: shiftCount,
      distinctVolunteers: 3,
      shiftsHeld: shiftCount,
      noShow: noShows,
      attended: shiftCount - noShows,
      hours: (shiftCount - noShows) * 2,
      hoursFromShiftLength: (shiftCount - noShows) * 2,
    });
  });
});

describe('the hours a sign-up gives', () => {
  it('are the approved hours when a coordinator set them, even over a no-show', () => {
    expect(countedSignup({ hoursApproved: 3, hoursReported: 5, attendance: 'attended' }, 2)).toMatchObject({ hours: 3, hoursSource: 'approved' });
    expect(countedSignup({ hoursApproved: 1, attendance: 'no_show' }, 2)).toMatchObject({ hours: 1, hoursSource: 'approved', attendance: 'no_show' });
  });

  it("are the resident's reported hours when nobody approved them, none for a no-show", () => {
    expect(countedSignup({ hoursReported: 2.5 }, 4)).toMatchObject({ hours: 2.5, hoursSource: 'unapproved', attendance: 'unknown' });
    expect(countedSignup({ hoursReported: 2.5, attendance: 'no_show' }, 4)).toMatchObject({ hours: 0, hoursSource: null });
  });

  it("are the shift's length, at most 12, for a volunteer marked attended with no hours given", () => {
    expect(countedSignup({ attendance: 'attended' }, 3)).toMatchObject({ hours: 3, hoursSource: 'shift_length' });
    expect(countedSignup({ attendance: 'attended' }, 48)).toMatchObject({ hours: DEFAULT_HOURS_CAP });
    expect(countedSignup({}, 3)).toMatchObject({ hours: 0, hoursSource: null, attendance: 'unknown' });
  });

  it('ignore numbers that cannot be hours', () => {
    expect(countedSignup({ hoursApproved: Number.NaN, hoursReported: -2, attendance: 'attended', outcomeReported: Infinity }, 2)).toEqual({
      hours: 2,
      hoursSource: 'shift_length',
      attendance: 'attended',
      outcome: null,
    });
  });
});

describe('months and the range', () => {
  it("count a shift in the city's month, not UTC's", async () => {
    // 23:30 on Feb 28 in Chicago is already March 1 in UTC.
    const role = aRole('V-TZ001', { outcome: { unit: 'bags', question: 'How many?', target: 10 } });
    const shift = aShift('S-TZ001', 'V-TZ001', new Date('2026-03-01T05:30:00Z'), 2);
    const signup = aSignup('V-TZ001', 'S-TZ001', 'sms:+15550000001', { attendance: 'attended', outcomeReported: 4 });
    const impact = await withRecords({ roles: [role], shifts: [shift], signups: [signup] }, () =>
      volunteerImpact({ store, config }, impactRange({ from: '2026-02-01', to: '2026-03-31' }, TIME_ZONE, NOW), NOW),
    );
    expect(impact.months.map((m) => [m.month, m.volunteers, m.hours])).toEqual([
      ['2026-02', 1, 2],
      ['2026-03', 0, 0],
    ]);
    expect(impact.roles[0]).toMatchObject({ roleId: 'V-TZ001', hoursValue: 69.58, outcome: { reported: 4, target: 10, shareOfTarget: 0.4 } });
  });

  it('is the last twelve months up to today by default', () => {
    const range = impactRange({}, TIME_ZONE, new Date('2026-01-10T03:00:00Z'));
    // Still January 9th in Chicago.
    expect(range).toMatchObject({ from: '2025-02-01', to: '2026-01-09' });
    expect(range.months).toHaveLength(12);
    expect(range.months[0]).toBe('2025-02');
  });

  it('refuses days that do not exist, an end before the start, and more than five years', () => {
    expect(() => impactRange({ from: '2026-02-31', to: '2026-03-01' }, TIME_ZONE, NOW)).toThrow(/from: must be a real date/);
    expect(() => impactRange({ from: 'yesterday' }, TIME_ZONE, NOW)).toThrow(/from/);
    expect(() => impactRange({ from: '2026-03-02', to: '2026-03-01' }, TIME_ZONE, NOW)).toThrow(/on or after from/);
    expect(() => impactRange({ from: '2010-01-01', to: '2026-03-01' }, TIME_ZONE, NOW)).toThrow(/at most 60 months/);
  });
});
