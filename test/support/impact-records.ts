/**
 * Roles, shifts and sign-ups for the impact page's tests, written straight into the store (the
 * resident side of shifts is built elsewhere): two roles, one whose title is markup and one
 * whose title is a spreadsheet formula, with shifts past, future and cancelled and sign-ups in
 * every state, and the numbers the impact must show for them at VOLUNTEER_HOUR_VALUE=20.
 */
import type { ShiftRecord, SignupRecord, VolunteerRoleRecord } from '../../src/domain/records.js';
import type { Store, Unsaved } from '../../src/store/store.port.js';

/** A role title with markup in it: shown as text, never run. */
export const HTML_TITLE = '<script>alert("impact")</script> Park <b>clean-up</b>';
/** A role title a spreadsheet would run: neutralised in the CSV. */
export const FORMULA_TITLE = '=HYPERLINK("http://evil.example","x")';
/** Residents' addresses, which no export may carry. */
export const IMPACT_ADDRESSES = ['sms:+15550001001', 'sms:+15550001002', 'sms:+15550001003', 'sms:+15550001004', 'telegram:7001', 'webchat:imp1'] as const;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** What the records below add up to over the last 12 months (VOLUNTEER_HOUR_VALUE=20). */
export const EXPECTED_IMPACT = {
  volunteers: 7,
  distinctVolunteers: 5,
  hours: 14.5,
  hoursApproved: 3,
  hoursUnapproved: 4.5,
  hoursFromShiftLength: 7,
  hoursValue: 290,
  attended: 4,
  noShow: 2,
  attendanceUnknown: 1,
  noShowRate: 2 / 6,
  shiftsHeld: 3,
} as const;

/** Writes the records, with times around `now`. */
export async function seedImpactRecords(store: Store, now: number = Date.now()): Promise<void> {
  const at = (offset: number) => new Date(now + offset);
  const role = (id: string, fields: Partial<VolunteerRoleRecord>): Unsaved<VolunteerRoleRecord> => ({
    _id: id,
    title: id,
    description: 'Impact test role',
    interests: ['parks'],
    neighbourhood: 'Eastside',
    place: 'Eastside Park',
    startsAt: at(-60 * DAY),
    capacity: 10,
    contact: 'parks@example.test',
    status: 'open',
    demo: false,
    createdAt: at(-90 * DAY),
    ...fields,
  });
  const shift = (id: string, startsAt: Date, hours: number, status: ShiftRecord['status'] = 'open'): Unsaved<ShiftRecord> => ({
    _id: id,
    roleId: 'V-IMP01',
    startsAt,
    endsAt: new Date(startsAt.getTime() + hours * HOUR),
    capacity: 10,
    status,
    createdAt: at(-90 * DAY),
    updatedAt: at(-90 * DAY),
  });
  const signup = (roleId: string, shiftId: string | undefined, address: string, fields: Partial<SignupRecord> = {}): Unsaved<SignupRecord> => ({
    _id: `${shiftId ?? roleId}|${address}`,
    roleId,
    ...(shiftId ? { shiftId } : {}),
    address,
    name: 'Volunteer',
    channel: address.startsWith('sms') ? 'sms' : address.startsWith('telegram') ? 'telegram' : 'webchat',
    status: 'confirmed',
    createdAt: at(-80 * DAY),
    updatedAt: at(-80 * DAY),
    ...fields,
  });

  await store.roles.insert(
    role('V-IMP01', { title: HTML_TITLE, outcome: { unit: 'bags of trash', question: 'How many bags did your group collect?', target: 40 } }),
  );
  // A role with no shifts: one event, by its own start and end.
  await store.roles.insert(role('V-IMP02', { title: FORMULA_TITLE, status: 'closed', startsAt: at(-5 * DAY), endsAt: at(-5 * DAY + 4 * HOUR) }));
  for (const record of [
    shift('S-IMP01', at(-10 * DAY), 3),
    shift('S-IMP02', at(-40 * DAY), 2),
    shift('S-IMP03', at(5 * DAY), 2),
    shift('S-IMP04', at(-20 * DAY), 2, 'cancelled'),
  ]) {
    await store.shifts.insert(record);
  }
  for (const record of [
    signup('V-IMP01', 'S-IMP01', 'sms:+15550001001', {
      attendance: 'attended',
      attendanceBy: 'staff',
      hoursReported: 5,
      hoursApproved: 3,
      outcomeReported: 12,
    }),
    signup('V-IMP01', 'S-IMP01', 'telegram:7001', { attendance: 'attended', attendanceBy: 'staff', outcomeReported: 8 }),
    signup('V-IMP01', 'S-IMP01', 'sms:+15550001002', { attendance: 'no_show', attendanceBy: 'staff' }),
    signup('V-IMP01', 'S-IMP01', 'webchat:imp1', { hoursReported: 2 }),
    signup('V-IMP01', 'S-IMP02', 'sms:+15550001001', { attendance: 'attended', attendanceBy: 'resident', hoursReported: 2.5 }),
    // Waitlisted, in the future, at a cancelled shift: none of these counts.
    signup('V-IMP01', 'S-IMP02', 'telegram:7001', { status: 'waitlisted' }),
    signup('V-IMP01', 'S-IMP03', 'sms:+15550001003'),
    signup('V-IMP01', 'S-IMP04', 'sms:+15550001003', { attendance: 'attended', hoursApproved: 9 }),
    signup('V-IMP02', undefined, 'sms:+15550001004', { attendance: 'attended', attendanceBy: 'staff' }),
    signup('V-IMP02', undefined, 'sms:+15550001001', { attendance: 'no_show', attendanceBy: 'staff' }),
  ]) {
    await store.signups.insert(record);
  }
}
