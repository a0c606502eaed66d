/**
 * Records as the staff API shows them: residents' addresses masked (staff act through
 * CivicLine, they do not need the number), everything else as stored.
 */
import type { HandoffRecord, IdeaRecord, ReportRecord } from '../../domain/records.js';
import { maskAddress } from '../../staff/role-desk.js';
import { handoffId } from '../../staff/handoff-desk.js';

/** A report without the resident's full address. */
export function reportForStaff(report: ReportRecord) {
  const { residentAddress, _rev, ...rest } = report;
  return { ...rest, resident: maskAddress(residentAddress) };
}

/** An idea without the author's full address. */
export function ideaForStaff<T extends IdeaRecord>(idea: T) {
  const { authorAddress, _rev, ...rest } = idea;
  return { ...rest, author: maskAddress(authorAddress) };
}

/** A hand-off request without the resident's full address (its stored id contains it, so it gets another). */
export function handoffForStaff(handoff: HandoffRecord) {
  const { address, _rev, _id, ...rest } = handoff;
  return { id: handoffId(handoff), ...rest, resident: maskAddress(address) };
}
