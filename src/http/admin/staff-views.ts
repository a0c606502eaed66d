/**
 * Records as the staff API shows them: residents' addresses masked (staff act through
 * CivicLine, they do not need the number), everything else as stored.
 */
import type { HandoffRecord, IdeaRecord, ReportRecord } from '../../domain/records.js';
import { maskAddress } from '../../staff/role-desk.js';
import { handoffId, type HandoffConversation } from '../../staff/handoff-desk.js';

/** A report without the resident's full address, nor its index keys (duplicate search, work queue). */
export function reportForStaff(report: ReportRecord) {
  const { residentAddress, _rev, openCell: _cell, openPlace: _place, openQueue: _queue, ...rest } = report;
  return { ...rest, resident: maskAddress(residentAddress) };
}

/** An idea without the author's full address. */
export function ideaForStaff<T extends IdeaRecord>(idea: T) {
  const { authorAddress, _rev, ...rest } = idea;
  return { ...rest, author: maskAddress(authorAddress) };
}

/** A hand-off request without the resident's full address (its stored id contains it, so it gets another). */
export function handoffForStaff(handoff: HandoffRecord) {
  const { address, _rev, _id, ref: _ref, ...rest } = handoff;
  return { id: handoffId(handoff), ...rest, resident: maskAddress(address) };
}

/** A conversation in the inbox as the API shows it: no address, and the transcript's entries without ids. */
export function handoffConversationForStaff(conversation: HandoffConversation) {
  const { handoff, transcript, openReports, signups, resident, outbox } = conversation;
  return {
    handoff: handoffForStaff(handoff),
    resident,
    transcript: transcript.map(({ direction, channel, text, at, location, media, staff }) => ({
      direction,
      channel,
      text,
      at,
      ...(location ? { location } : {}),
      ...(media ? { media } : {}),
      ...(staff ? { staff } : {}),
    })),
    openReports: openReports.map((report) => ({ ref: report._id, category: report.category, status: report.status, createdAt: report.createdAt })),
    signups: signups.map((signup) => ({ roleId: signup.roleId, status: signup.status, createdAt: signup.createdAt })),
    outbox,
  };
}
