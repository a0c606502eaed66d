/**
 * The city's wall-clock time (CITY_TIMEZONE), whatever time zone the server or a coordinator's
 * laptop is in: a role "Saturday 9:00" on the staff pages means 9:00 in the city, and an Open311
 * date carries the city's offset. A `datetime-local` input has no time zone, so the conversion
 * both ways is done here, with the platform's `Intl` data (which knows daylight saving time) and
 * no date library.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

// One formatter per time zone: building one costs far more than using it.
const partsFormatters = new Map<string, Intl.DateTimeFormat>();
const displayFormatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock fields of an instant in a time zone. */
function wallClock(at: number, timeZone: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  let formatter = partsFormatters.get(timeZone);
  if (!formatter) {
    // h23, not hour12: false, which some engines render as "24:05" just after midnight.
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partsFormatters.set(timeZone, formatter);
  }
  const fields: Record<string, number> = {};
  for (const part of formatter.formatToParts(new Date(at))) if (part.type !== 'literal') fields[part.type] = Number(part.value);
  return {
    year: fields['year'] ?? 1970,
    month: fields['month'] ?? 1,
    day: fields['day'] ?? 1,
    hour: fields['hour'] ?? 0,
    minute: fields['minute'] ?? 0,
    second: fields['second'] ?? 0,
  };
}

/** How far a time zone's wall clock is ahead of UTC at an instant, in ms (negative west of Greenwich). */
function offsetAt(at: number, timeZone: string): number {
  const whole = Math.floor(at / 1000) * 1000;
  const c = wallClock(whole, timeZone);
  return Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second) - whole;
}

/**
 * The instant a `datetime-local` value (`2026-05-02T09:30`) names in the city's time zone, or
 * null when it is not a valid date and time. Around daylight saving changes: a time that happens
 * twice (the autumn hour) is the first one; a time that never happens (the spring gap) is moved
 * forward by the gap, as a clock would be (02:30 becomes 03:30).
 */
export function fromCityLocalInput(value: string, timeZone: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  if (!isRealDay(year, month, day) || hour > 23 || minute > 59 || second > 59) return null;
  // The offsets a day either side cover any one daylight saving change around this time.
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  const candidates = [wall - before, wall - after].filter((at) => at + offsetAt(at, timeZone) === wall).sort((a, b) => a - b);
  return new Date(candidates[0] ?? wall - before);
}

/** Whether a calendar day exists: `Date.UTC` rolls 2026-02-31 over into March. */
export function isRealDay(year: number, month: number, day: number): boolean {
  const check = new Date(Date.UTC(year, month - 1, day));
  return check.getUTCFullYear() === year && check.getUTCMonth() === month - 1 && check.getUTCDate() === day;
}

/**
 * An instant as ISO 8601 with the time zone's offset at that instant (`2024-05-01T09:30:00-04:00`,
 * or `Z` where the offset is zero), as Open311 asks of every date.
 */
export function isoWithOffset(at: Date, timeZone: string): string {
  const whole = Math.floor(at.getTime() / 1000) * 1000;
  const c = wallClock(whole, timeZone);
  const offsetMinutes = Math.round(offsetAt(whole, timeZone) / MINUTE_MS);
  const two = (n: number) => String(n).padStart(2, '0');
  const zone =
    offsetMinutes === 0 ? 'Z' : `${offsetMinutes < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offsetMinutes) / 60))}:${two(Math.abs(offsetMinutes) % 60)}`;
  return `${String(c.year).padStart(4, '0')}-${two(c.month)}-${two(c.day)}T${two(c.hour)}:${two(c.minute)}:${two(c.second)}${zone}`;
}

/** An instant as a `datetime-local` value in the city's time zone (minutes precision), for a form's value. */
export function toCityLocalInput(at: Date, timeZone: string): string {
  const c = wallClock(Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${String(c.year).padStart(4, '0')}-${two(c.month)}-${two(c.day)}T${two(c.hour)}:${two(c.minute)}`;
}

/** An instant as staff read it: "May 2, 2026, 9:30 AM" in the city's time zone. */
export function formatCityTime(at: Date, timeZone: string): string {
  let formatter = displayFormatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, dateStyle: 'medium', timeStyle: 'short' });
    displayFormatters.set(timeZone, formatter);
  }
  return formatter.format(at);
}
