/**
 * Where reports come from: every resident channel, and `open311` for those another system posted
 * through the Open311 server (issue 19). The staff list filters by these.
 */
import { CHANNEL_NAMES } from '../core/message.js';
import type { ReportChannel } from './records.js';

/** Every value a report's `channel` may have, the resident channels first. */
export const REPORT_CHANNELS = [...CHANNEL_NAMES, 'open311'] as const satisfies readonly ReportChannel[];

/**
 * Whether a report's reporter is a resident who can be told things and followed: not one who
 * deleted their data (`erased`, see src/pipeline/erasure.ts) and not another system that posted
 * it through Open311 (`open311:<key id>`), which nobody sends to, surveys or makes a follower.
 */
export function reporterIsResident(residentAddress: string, erasedMarker: string): boolean {
  return residentAddress !== erasedMarker && !residentAddress.startsWith('open311:');
}
