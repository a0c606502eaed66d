/**
 * The dialog runtime's vocabulary: persisted conversation state, dialogs as typed data with
 * named steps, and what one call of `advance` takes and returns.
 */
import type { Choice, GeoPoint, InboundMessage, MediaRef, Reply } from '../core/message.js';
import type { MessageVars, Translator } from '../core/i18n.js';
import type { Nlu, NluResult } from './nlu/index.js';
import type { Command, CommandResult, Effect } from './commands.js';

/** Version of the persisted state's own shape; bump when it changes incompatibly. */
export const STATE_SCHEMA = 1;

/** JSON-safe slot values, so state persists as-is in either store. */
export type SlotValue = string | number | boolean | null | SlotValue[] | { [key: string]: SlotValue };
export type Slots = Record<string, SlotValue>;
/** Changes to slots: `undefined` or `null` clears one. */
export type SlotPatch = Record<string, SlotValue | undefined>;

/** A dialog the resident is in the middle of. */
export interface ActiveFlow {
  dialog: string;
  /** The dialog's version when this flow started: a different one means restart, not guess. */
  version: number;
  step: string;
  slots: Slots;
  /**
   * Steps already answered, most recent last, with the slots each answer filled: "back"
   * returns to the step and clears those, so the step asks again instead of skipping itself.
   */
  history: { step: string; filled: string[] }[];
  /** Answers in a row that the step could not understand. */
  failures: number;
  /** The last reply offered "try again / menu / a person" after repeated failures. */
  stuckOffer?: boolean;
  /**
   * The ids of the choices the current step offered when last asked: a pressed button with
   * another id is from an earlier question and is re-asked, never read as this step's answer.
   * Absent in flows stored before it existed (then any choice is read as before).
   */
  offered?: string[];
  /** A command the flow waits on, with the step to enter when its result comes. */
  awaiting?: { command: Command; resultSlot: string; then: string };
}

/** Everything the engine remembers about a conversation between turns. */
export interface ConversationState {
  schema: typeof STATE_SCHEMA;
  locale: string;
  /** The resident picked the language, or we detected it from a clear first message. */
  localeSettled: boolean;
  flow: ActiveFlow | null;
  /** A flow put aside while we ask a returning resident whether to continue it. */
  paused: ActiveFlow | null;
  /**
   * What the city sent that the resident may answer (volunteer calls, report updates), oldest
   * first: a later notification does not cancel an earlier one's answer.
   */
  followUps?: FollowUp[];
  /** When the resident last wrote (epoch ms); drives "welcome back" and expiry. */
  lastActiveAt: number;
  /** Turns so far (monotonic: state never goes backwards). */
  turns: number;
}

/**
 * A message the city sent unprompted that a reply may answer: "yes" to a volunteer call signs
 * up for its role; "still broken" after a report update is added to the report; anything while
 * a person holds the conversation is theirs. The kinds are rows of FOLLOW_UP_KINDS.
 */
export interface FollowUp {
  kind: 'volunteer_call' | 'broadcast' | 'report_update' | 'staff_conversation' | 'fix_survey' | 'shift_checkin' | 'ballot' | 'shift_reminder';
  /** The role (V-...), report (R-...), ballot (P-...), broadcast or shift (S-..., before it: a reminder; after it: "did you make it?") it is about. */
  ref: string;
  /** A report's category: a reply naming another kind of problem is a new report, not a follow-up. */
  category?: string;
  /** The broadcast a volunteer call came from, so its answers are counted. */
  broadcastId?: string;
  /** When it was sent and until when a reply counts (epoch ms). */
  sentAt: number;
  until: number;
}

/** What the engine knows about the resident's profile at the start of a turn. */
export interface ResidentFacts {
  optedOut: boolean;
  volunteerCalls: boolean;
  name?: string;
}

/** What the current channel can do, as far as the dialogs care. */
export interface ChannelFacts {
  media: boolean;
  location: boolean;
  /**
   * Choices are tappable buttons (absent: no, a numbered list). Picks which variant of a message
   * is said (`<key>@buttons`: "pick one below" where the other says "reply 1"), see `variantKey`.
   */
  buttons?: boolean;
}

/**
 * The locale key to say for `key` on a channel: its `@buttons` variant where choices are buttons
 * and the catalog has one. The renderer turns the same choices into buttons or a numbered list;
 * the words that tell how to answer them must match what the resident sees.
 */
export function variantKey(key: string, channel: ChannelFacts, has: (key: string) => boolean): string {
  return channel.buttons && has(`${key}@buttons`) ? `${key}@buttons` : key;
}

/** The fixed things `advance` needs besides state and event: all pure. */
export interface EngineEnv {
  dialogs: ReadonlyMap<string, DialogDefinition>;
  i18n: Translator;
  nlu: Nlu;
  timeZone: string;
  /** The city's name, available to every message as `{city}`. */
  cityName: string;
  /** After this long away, a resident in a flow is asked whether to continue it. */
  resumePromptAfterMs: number;
  /** After this long away, a flow is dropped. */
  flowExpiresAfterMs: number;
  /** Answers a step may fail to understand before the bot offers the menu or a person. */
  maxFailures: number;
  /**
   * How long a person's hold on a conversation lasts without anyone writing, at most: the
   * staff side hands back after HANDOFF_IDLE_MINUTES and tells the resident; this is the
   * engine's own limit in case that never comes (no instance running the scheduler).
   */
  handoffHoldMs: number;
}

/** What happens to a conversation: a resident's message, or the result of a command. */
export type TurnEvent =
  | { type: 'message'; message: InboundMessage; resident: ResidentFacts; channel: ChannelFacts }
  /** A command's result; the resident's and channel's facts are the message's that started the turn. */
  | { type: 'result'; result: CommandResult; resident: ResidentFacts; channel: ChannelFacts };

/** Why the engine did what it did, for the one log line per turn. */
export interface TurnTrace {
  intent?: string;
  dialog?: string;
  step?: string;
  outcome: string;
}

/** What one `advance` returns: the next state, replies, effects, and a command to wait on. */
export interface TurnOutput {
  state: ConversationState;
  replies: Reply[];
  effects: Effect[];
  /** Run this and call `advance` again with its result before the turn is done. */
  command?: Command;
  trace: TurnTrace;
}

/** A resident's answer as a step sees it. */
export interface StepInput {
  text: string;
  choice?: string;
  location?: GeoPoint;
  media?: MediaRef[];
  nlu: NluResult;
}

/** Helpers a step gets: translation in the resident's language, matching, and the facts. */
export interface StepContext {
  slots: Slots;
  locale: string;
  t(key: string, vars?: MessageVars): string;
  /** Which offered choice the resident meant, if any. */
  pick(input: StepInput, choices: readonly Choice[]): string | null;
  yesNo(input: StepInput): 'yes' | 'no' | null;
  /** Whether the text asks something ("why do you need my name?"): not an answer to a name or place. */
  isQuestion(text: string): boolean;
  formatDate(iso: string): string;
  /** A start and end as one range in the city's time ("Dec 12, 2026, 9:00 AM – 12:00 PM"). */
  formatRange(startIso: string, endIso: string): string;
  /** The day alone ("Dec 10", "10 dic"): for list lines that must stay short (SMS). */
  formatDay(iso: string): string;
  /** The day and time, without the year ("Dec 10, 9:00 AM", "10 dic, 9:00"): a shift in a short list line (SMS). */
  formatDayTime(iso: string): string;
  channel: ChannelFacts;
  resident: ResidentFacts;
}

/** What a step decides about an answer. */
export type StepOutcome =
  /** Move to a step (and ask it), after merging `set` into the slots. */
  | { to: string; set?: SlotPatch; say?: Reply[] }
  /** Could not use the answer: explain what is expected (a locale key) and ask again. */
  | { retry: string; vars?: MessageVars }
  /** Run a command, put its result in `slots[resultSlot]`, then enter step `then`. */
  | { run: Command; resultSlot: string; then: string; set?: SlotPatch; say?: Reply[] }
  /** The flow is done. */
  | { finish: true; say?: Reply[]; effects?: Effect[] }
  /** Start another dialog, optionally with slots filled. */
  | { startDialog: string; slots?: Slots; say?: Reply[] }
  /** Not an answer to this step: leave the flow and treat the message as a fresh one. */
  | { reroute: true };

/** One named step of a dialog. */
export interface StepDefinition {
  /** A command to run before asking (e.g. load the roles to list): result in `resultSlot`. */
  load?: (ctx: StepContext) => { command: Command; resultSlot: string } | null;
  /** What the bot says on entering the step. Returning a step name skips to it instead. */
  ask: (ctx: StepContext) => Reply[] | { skipTo: string } | { finish: true; say: Reply[] };
  answer: (input: StepInput, ctx: StepContext) => StepOutcome;
  /** Free-text steps (descriptions) read their answer as-is: no intent switching mid-answer. */
  freeText?: boolean;
}

/** A dialog: typed data with named steps (never addressed by index). */
export interface DialogDefinition {
  id: string;
  /** Bump when steps change in a way stored flows cannot follow. */
  version: number;
  /** The locale key naming this dialog for residents ("reporting a problem"). */
  titleKey: string;
  start: string;
  steps: Record<string, StepDefinition>;
  /**
   * Slots to start with when a free-text message opens the dialog ("pothole on 5th and Main"),
   * so the flow asks only for what the message did not say.
   */
  seed?: (input: StepInput, ctx: StepContext) => Slots;
  /**
   * Takes what a message carries besides its answer, in any step (a photo sent while the bot
   * asks for the place): the slots to set, or null. A message with nothing else re-asks the step.
   */
  absorb?: (input: StepInput, ctx: StepContext) => SlotPatch | null;
}

/** Helps dialogs keep their types: identity at runtime. */
export function defineDialog(definition: DialogDefinition): DialogDefinition {
  for (const [name, step] of Object.entries(definition.steps)) {
    if (!step) throw new Error(`Dialog ${definition.id}: step ${name} is empty`);
  }
  if (!definition.steps[definition.start]) throw new Error(`Dialog ${definition.id}: start step ${definition.start} missing`);
  return definition;
}
