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
