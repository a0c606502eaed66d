/**
 * What volunteers' shifts add up to: hours that count, a role's tally for the thank-you, and the
 * milestones reached.
 */
import { describe, expect, it } from 'vitest';
import type { SignupRecord } from '../../src/domain/records.js';
import { answeredCheckin, milestonesReached, tallyRole, totalHours } from '../../src/domain/volunteer-hours.js';

const at = new Date('2026-12-01T00:00:00Z');
function signup(address: string, extra: Partial<SignupRecord>): SignupRecord {
  return { _id: `S-X|${address}`, _rev: 1, roleId: 'V-X', address, name: 'A', channel: 'sms', status: 'confirmed', createdAt: at, updatedAt: at, ...extra };
}

describe('volunteer hours', () => {
  it('counts approved hours over reported ones, and only where the volunteer attended', () => {
    expect(
      totalHours([
        signup('a', { attendance: 'attended', hoursReported: 3, hoursApproved: 2.5 }),
        signup('a', { attendance: 'attended', hoursReported: 1.25 }),
        signup('a', { attendance: 'no_show', hoursReported: 4 }),
        signup('a', { hoursReported: 4 }),
      ]),
    ).toBe(3.75);
  });

  it('tallies distinct other volunteers who attended, their hours and outcomes', () => {
    const tally = tallyRole(
      [
        signup('me', { attendance: 'attended', hoursReported: 2, outcomeReported: 12 }),
        signup('b', { attendance: 'attended', hoursApproved: 3, outcomeReported: 50 }),
        signup('b', { attendance: 'attended', hoursReported: 1 }),
        signup('c', { attendance: 'no_show', outcomeReported: 99 }),
      ],
      'me',
    );
    expect(tally).toEqual({ others: 1, hours: 6, outcome: 62 });
  });

  it('reaches each milestone once', () => {
    expect(milestonesReached(9.75)).toEqual([]);
    expect(milestonesReached(10)).toEqual([10]);
    expect(milestonesReached(26, [10])).toEqual([25]);
    expect(milestonesReached(60, [])).toEqual([10, 25, 50]);
    expect(milestonesReached(60, [10, 25, 50])).toEqual([]);
  });

  it("knows a finished check-in: a 'no' of the resident's own, or their hours", () => {
    expect(answeredCheckin({ attendanceBy: 'resident', attendance: 'no_show' })).toBe(true);
    // A "yes" kept before the hours, which never came: not thanked yet.
    expect(answeredCheckin({ attendanceBy: 'resident', attendance: 'attended' })).toBe(false);
    expect(answeredCheckin({ attendanceBy: 'resident', attendance: 'attended', hoursReported: 2 })).toBe(true);
    expect(answeredCheckin({ attendanceBy: 'staff', hoursReported: 2 })).toBe(true);
    expect(answeredCheckin({ attendanceBy: 'staff' })).toBe(false);
    expect(answeredCheckin({})).toBe(false);
  });
});
