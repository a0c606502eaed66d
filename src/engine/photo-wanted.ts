/**
 * Where a conversation takes a photo, read from its state alone (pure, like `advance`), so a
 * channel that stores uploads itself (the web chat) can ask before it stores anything, and the
 * sweep of unattached uploads can tell a photo a report in progress still holds.
 *
 * A photo is wanted in two places, the two where `advance` puts one to use: a report in progress
 * (the report dialog takes a photo at any step, `absorb`, and asks for one at its `photo` step),
 * and a reply to an update on the resident's report (`FollowUp` of kind `report_update`, answered
 * by the follow-up dialog, which adds the photo to the report). Anywhere else the engine would
 * drop it, or, outside any flow, open a new report with it: a channel that can refuse an upload
 * refuses it there, and asks the resident to start a report first.
 */
import { STATE_SCHEMA, type ActiveFlow, type ConversationState, type EngineEnv } from './types.js';

/** The dialog a photo belongs to: reporting a problem. */
export const REPORT_DIALOG = 'report-problem';

/** What the rules need of the engine's settings. */
export type PhotoTiming = Pick<EngineEnv, 'dialogs' | 'resumePromptAfterMs' | 'flowExpiresAfterMs'>;

/**
 * Whether a photo the resident sends now would be put to use: a report in progress the message
 * continues, or a reply to an update on their report that is still open for replies. `state` is
 * the stored conversation state (anything, as stored; null for a conversation nobody spoke in).
 *
 * A report flow counts while the next message would continue it: not one made by another version
 * of its dialog (restarted, the photo dropped), nor one the resident left long enough ago that
 * the message is answered with "continue where you left off?" or "that expired" instead. A report
 * put aside by that question counts: a photo in answer to it starts the report again with it.
 */
export function acceptsPhoto(state: unknown, now: number, timing: PhotoTiming): boolean {
  if (!isState(state)) return false;
  const { flow, paused } = state;
  if (flow) {
    const away = now - state.lastActiveAt;
    return isCurrentReport(flow, timing) && away <= Math.min(timing.resumePromptAfterMs, timing.flowExpiresAfterMs);
  }
  if (paused) return isCurrentReport(paused, timing);
  // `advance` adds a reply to an update only outside any flow (a menu shown before is dropped
  // when the update is recorded), and only within the update's window.
  return (state.followUps ?? []).some((followUp) => followUp.kind === 'report_update' && followUp.until >= now);
}

/**
 * Whether the conversation may still file a report with this photo: a flow (or one put aside)
 * whose slots hold its id, in a conversation active within the flow's expiry. The sweep keeps such
 * an upload however old it is; one in a flow left to expire is the resident's to send again.
 */
export function holdsPhoto(state: unknown, mediaId: string, now: number, timing: Pick<EngineEnv, 'flowExpiresAfterMs'>): boolean {
  if (!isState(state) || now - state.lastActiveAt > timing.flowExpiresAfterMs) return false;
  return [state.flow, state.paused].some((flow) => flow !== null && JSON.stringify(flow.slots).includes(mediaId));
}

function isCurrentReport(flow: ActiveFlow, timing: PhotoTiming): boolean {
  const dialog = timing.dialogs.get(flow.dialog);
  return flow.dialog === REPORT_DIALOG && dialog?.version === flow.version && dialog.steps[flow.step] !== undefined;
}

/** A state of this engine's schema (another one is restarted by the pipeline, not continued). */
function isState(state: unknown): state is ConversationState {
  return typeof state === 'object' && state !== null && (state as Partial<ConversationState>).schema === STATE_SCHEMA;
}
