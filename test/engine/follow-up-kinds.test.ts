/**
 * Which live follow-up a reply is read as answering first (src/engine/follow-up-kinds.ts), for the
 * kinds that all take a bare "1" / "2" / "yes" / "no".
 */
import { describe, expect, it } from 'vitest';
import { followUpsToRead } from '../../src/engine/follow-up-kinds.js';
import type { FollowUp } from '../../src/engine/types.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 11, 5, 15);
const outsideFlow = { inFlow: false, paused: false, firstReply: false };

/** A shift reminder sent 40 hours ago: it stays live until its shift ends, two days on. */
const reminder: FollowUp = { kind: 'shift_reminder', ref: 'S-SUNDAY', sentAt: NOW - 40 * HOUR, until: NOW + 10 * HOUR };

describe('a shift reminder among other yes / no questions', () => {
  it('does not take the answer to "Did you make it?" about another shift, asked after it', () => {
    const checkin: FollowUp = { kind: 'shift_checkin', ref: 'S-SATURDAY', sentAt: NOW - HOUR, until: NOW + 47 * HOUR };
    expect(followUpsToRead([reminder, checkin], outsideFlow)[0]).toBe(checkin);
  });

  it('does not take the answer to "is it really fixed?", asked after it', () => {
    const survey: FollowUp = { kind: 'fix_survey', ref: 'R-7K3QX', sentAt: NOW - HOUR, until: NOW + 47 * HOUR };
    expect(followUpsToRead([reminder, survey], outsideFlow)[0]).toBe(survey);
  });

  it('is read first when it is the latest question', () => {
    const checkin: FollowUp = { kind: 'shift_checkin', ref: 'S-SATURDAY', sentAt: NOW - 41 * HOUR, until: NOW + 7 * HOUR };
    expect(followUpsToRead([checkin, reminder], outsideFlow)[0]).toBe(reminder);
  });
});

describe('a volunteer call among the yes / no questions', () => {
  /** A call sent a day ago, answerable for three days (a broadcast's window). */
  const call: FollowUp = { kind: 'volunteer_call', ref: 'V-8M2PQ', broadcastId: 'B-AAAAA', sentAt: NOW - 24 * HOUR, until: NOW + 48 * HOUR };

  it('does not take the "yes" to a later "Did you make it?" (which would sign the resident up for the called role)', () => {
    const checkin: FollowUp = { kind: 'shift_checkin', ref: 'S-SATURDAY', sentAt: NOW - HOUR, until: NOW + 47 * HOUR };
    expect(followUpsToRead([call, checkin], outsideFlow)[0]).toBe(checkin);
  });

  it('does not take the answer to a later "is it really fixed?" or shift reminder', () => {
    const survey: FollowUp = { kind: 'fix_survey', ref: 'R-7K3QX', sentAt: NOW - HOUR, until: NOW + 47 * HOUR };
    const later: FollowUp = { ...reminder, sentAt: NOW - 2 * HOUR };
    expect(followUpsToRead([call, survey], outsideFlow)[0]).toBe(survey);
    expect(followUpsToRead([call, later], outsideFlow)[0]).toBe(later);
  });

  it('is read first when it is the latest, and above a ballot and a plain broadcast whenever sent', () => {
    const survey: FollowUp = { kind: 'fix_survey', ref: 'R-7K3QX', sentAt: NOW - 30 * HOUR, until: NOW + 17 * HOUR };
    const ballot: FollowUp = { kind: 'ballot', ref: 'P-AAAAA', sentAt: NOW - HOUR, until: NOW + 47 * HOUR };
    expect(followUpsToRead([survey, call], outsideFlow)[0]).toBe(call);
    expect(followUpsToRead([ballot, call], outsideFlow)[0]).toBe(call);
  });
});
