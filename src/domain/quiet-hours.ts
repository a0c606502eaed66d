/**
 * Quiet hours: the local hours (in the city's time zone) when broadcasts wait, so nobody's phone
 * buzzes with a volunteer call at 3 a.m. Pure: the time zone arithmetic is done by the platform's
 * `Intl.DateTimeFormat`, which knows daylight saving time, and the answers are tested across it.
 */

/** Quiet local hours as minutes after midnight; `start > end` wraps midnight (21:00–08:00). */
export interface QuietHours {
  start: number;
  end: number;
}

const MINUTE_MS = 60_000;
/** Quiet hours never last longer than a day, plus an hour for a daylight saving change. */
const MAX_STEPS = 25 * 60;

// One formatter per time zone: building one costs far more than using it.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time in a time zone, as minutes after local midnight. */
export function localMinutes(at: Date, timeZone: string): number {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    // h23, not hour12: false, which some engines render as "24:05" just after midnight.
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, formatter);
  }
  let hour = 0;
  let minute = 0;
  for (const part of formatter.formatToParts(at)) {
    if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return hour * 60 + minute;
}

/**
 * Whether it is quiet at a given instant. Quiet hours are half-open, `[start, end)`: with
 * 21:00–08:00 it is quiet at 21:00 and no longer at 08:00. Equal start and end mean none.
 */
export function isQuiet(quiet: QuietHours | null, timeZone: string, at: Date): boolean {
  if (!quiet || quiet.start === quiet.end) return false;
  const minutes = localMinutes(at, timeZone);
  return quiet.start < quiet.end ? minutes >= quiet.start && minutes < quiet.end : minutes >= quiet.start || minutes < quiet.end;
}

/**
 * The first instant at or after `at` when it is not quiet: `at` itself outside quiet hours,
 * else the minute quiet hours end. Found by stepping minute by minute rather than by adding the
 * wall-clock difference, which is wrong on the nights the clocks change: after a spring-forward
 * an end of 02:30 does not exist and the answer is 03:00, and after a fall-back the answer is
 * the first 01:30, not the second. At most a day of steps, each a cheap formatter call.
 */
export function quietHoursEnd(quiet: QuietHours | null, timeZone: string, at: Date): Date {
  if (!isQuiet(quiet, timeZone, at)) return at;
  let minute = Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS;
  for (let step = 0; step < MAX_STEPS; step++) {
    minute += MINUTE_MS;
    const candidate = new Date(minute);
    if (!isQuiet(quiet, timeZone, candidate)) return candidate;
  }
  // Unreachable for real time zones (quiet hours end within a day); fail loudly, not forever.
  throw new Error('Quiet hours did not end within a day');
}
