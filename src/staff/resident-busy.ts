/**
 * Whether a resident may be asked something the city starts ("is it fixed?", "did you make it?")
 * now, or should be left to finish what they are doing: a person holding their conversation, or a
 * flow they are in the middle of. Questions asked over a flow would take its next answer.
 */
import type { Config } from '../config.js';
import { MENU_DIALOG } from '../engine/advance.js';
import { STATE_SCHEMA, type ConversationState } from '../engine/types.js';
import type { Collections } from '../store/store.port.js';

/** A resident a person is talking with is asked again this much later (the hold ends after HANDOFF_IDLE_MINUTES). */
const HELD_RETRY_MS = 30 * 60_000;
/** A resident mid-flow is looked at again at least this much later. */
const BUSY_RETRY_MIN_MS = 60_000;

/** What the check reads. */
export interface ResidentBusyDeps {
  store: Pick<Collections, 'conversations'>;
  /** After this long away a resident's flow is asked about anyway ("continue?"): it no longer counts as in the middle. */
  config: Pick<Config, 'resumePromptAfterMs'>;
}

/**
 * When a resident who should not be interrupted now may be asked (epoch ms), or null when they
 * may be asked now: a person holds their conversation, or they are in a flow (or its "continue?"
 * question) they wrote in within FLOW_RESUME_PROMPT_AFTER_MINUTES (past that, their next message
 * is asked whether to continue anyway, and the question does not cut into an exchange).
 * `recheckMs`: look again this soon at most while they are in a flow, so a resident who finishes
 * it is asked soon after rather than when it would have gone stale.
 */
export async function busyUntil(deps: ResidentBusyDeps, address: string, at: number, recheckMs?: number): Promise<number | null> {
  const conversation = await deps.store.conversations.get(address);
  const state = conversation?.state as Partial<ConversationState> | undefined;
  if (!state || state.schema !== STATE_SCHEMA) return null;
  if ((state.followUps ?? []).some((f) => f.kind === 'staff_conversation' && f.until >= at)) return at + HELD_RETRY_MS;
  const lastActive = state.lastActiveAt ?? 0;
  // The menu is no flow: the notification's recording drops it (turn-pipeline's recordProactive).
  // A paused flow is one the bot just asked about ("continue?"): its "1" must not answer this.
  const inFlow = (state.flow && state.flow.dialog !== MENU_DIALOG) || state.paused;
  if (inFlow && at - lastActive < deps.config.resumePromptAfterMs) {
    const stale = Math.max(lastActive + deps.config.resumePromptAfterMs, at + BUSY_RETRY_MIN_MS);
    return recheckMs ? Math.min(stale, at + Math.max(recheckMs, BUSY_RETRY_MIN_MS)) : stale;
  }
  return null;
}
