/** Open311's dates: ISO 8601 with the city's offset at that instant, daylight saving included. */
import { describe, expect, it } from 'vitest';
import { isoWithOffset, isRealDay } from '../../src/domain/city-time.js';

describe('isoWithOffset', () => {
  it("writes the city's offset at the instant, and Z where it is zero", () => {
    expect(isoWithOffset(new Date('2024-05-01T13:30:00.750Z'), 'America/New_York')).toBe('2024-05-01T09:30:00-04:00');
    expect(isoWithOffset(new Date('2024-01-15T13:30:00Z'), 'America/New_York')).toBe('2024-01-15T08:30:00-05:00');
    expect(isoWithOffset(new Date('2024-01-15T13:30:00Z'), 'Asia/Kolkata')).toBe('2024-01-15T19:00:00+05:30');
    expect(isoWithOffset(new Date('2024-01-15T13:30:00Z'), 'UTC')).toBe('2024-01-15T13:30:00Z');
  });
});

describe('isRealDay', () => {
  it('refuses a day the calendar does not have', () => {
    expect(isRealDay(2024, 2, 29)).toBe(true);
    expect(isRealDay(2023, 2, 29)).toBe(false);
    expect(isRealDay(2024, 2, 31)).toBe(false);
  });
});
