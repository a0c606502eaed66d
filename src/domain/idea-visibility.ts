/**
 * Which ideas residents may see (issue 21). An idea hidden by moderation, or merged into
 * another, is never listed, supported or counted on a resident's side nor in the dashboard's
 * counts: one rule, read by every resident-facing path, so a new path cannot forget half of it.
 */
import type { IdeaRecord } from './records.js';

/** Whether residents may see and support the idea (it is neither hidden nor merged away). */
export function shownToResidents(idea: Pick<IdeaRecord, 'moderation' | 'mergedInto'>): boolean {
  return idea.moderation?.state !== 'hidden' && !idea.mergedInto;
}

/**
 * How many ideas to read to show `wanted` residents may see: the list reads newest first
 * through the `kind` index and drops hidden and merged ones, so it reads some spare.
 */
export function ideasToRead(wanted: number): number {
  return wanted * 4 + 20;
}
