/**
 * Who a volunteer call goes to: the rule that decides whether one resident is in a broadcast's
 * audience. Pure, so the preview, the plan and the tests all use the very same rule.
 */
import type { AudienceFilter, ResidentRecord } from './records.js';

const DAY_MS = 86_400_000;

/** The resident facts the audience rule reads. */
export type AudienceFacts = Pick<ResidentRecord, 'channel' | 'locale' | 'volunteerCalls' | 'interests' | 'neighbourhood' | 'lastSeenAt'>;

/**
 * Whether a resident is in a broadcast's audience as an opted-in resident: they opted in to
 * volunteer calls, the filter does not leave the opted-in out (`optedIn: false`), and they
 * pass every narrowing the filter sets (an absent or empty list narrows nothing). Interests
 * match when any one is shared; interests and neighbourhoods compare without case or spacing
 * differences, since staff type them into a form and residents into a chat.
 *
 * Opt-outs are not checked here on purpose: a resident who said STOP but still has volunteer
 * calls on is planned and then skipped as `opted_out`, so the dashboard counts them instead of
 * making them silently disappear.
 */
export function matchesAudience(resident: AudienceFacts, filter: AudienceFilter, now: Date): boolean {
  if (!resident.volunteerCalls || filter.optedIn === false) return false;
  if (!matchesMessageNarrowing(resident, filter)) return false;
  if (narrows(filter.interests)) {
    const wanted = new Set(filter.interests.map(normalize));
    if (!resident.interests.some((interest) => wanted.has(normalize(interest)))) return false;
  }
  if (narrows(filter.neighbourhoods)) {
    const home = resident.neighbourhood === undefined ? undefined : normalize(resident.neighbourhood);
    if (home === undefined || !filter.neighbourhoods.some((name) => normalize(name) === home)) return false;
  }
  if (filter.activeWithinDays !== undefined && resident.lastSeenAt.getTime() < now.getTime() - filter.activeWithinDays * DAY_MS) return false;
  return true;
}

/**
 * Whether a resident passes the narrowings that apply to everyone in an audience, the reports'
 * residents included (Love Your Block): the channels and the languages. Interests, neighbourhoods
 * and activity say which opted-in residents are wanted; a reporter is wanted for their report.
 */
export function matchesMessageNarrowing(resident: Pick<AudienceFacts, 'channel' | 'locale'>, filter: AudienceFilter): boolean {
  if (narrows(filter.channels) && !filter.channels.includes(resident.channel)) return false;
  if (narrows(filter.locales) && !filter.locales.includes(resident.locale)) return false;
  return true;
}

function narrows<T>(list: readonly T[] | undefined): list is readonly T[] {
  return list !== undefined && list.length > 0;
}

/** "  Old  Town " and "old town" are the same neighbourhood. */
function normalize(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLocaleLowerCase();
}
