/**
 * The dialog engine: a pure function from (state, event) to (next state, replies, effects,
 * and maybe a command to run). It performs no I/O and reads no clock: time comes with the
 * message, data comes back as command results (XState's `transition`, not an interpreter).
 */
import { DEEP_LINKS, type ChannelCommand, type Choice, type InboundMessage, type Reply } from '../core/message.js';
import type { MessageVars } from '../core/i18n.js';
import type { Command, CommandResult, Effect } from './commands.js';
import { cleanText, foldForMatch, isOneOf, loneNumber } from './text.js';
import { CATEGORIES } from '../domain/vocabulary.js';
import type { HandoffReason } from '../domain/records.js';
import { FOLLOW_UP_KINDS, followUpsToRead } from './follow-up-kinds.js';
import { mentionsHours, parseHours } from './hours.js';
import { HOURS_MAX, HOURS_MIN } from '../domain/volunteer-hours.js';
import { parsePicks } from '../domain/ballots.js';
import {
  STATE_SCHEMA,
  type ActiveFlow,
  variantKey,
  type ChannelFacts,
  type ConversationState,
  type DialogDefinition,
  type EngineEnv,
  type FollowUp,
  type ResidentFacts,
  type SlotPatch,
  type Slots,
  type StepContext,
  type StepInput,
  type StepOutcome,
  type TurnEvent,
  type TurnOutput,
  type TurnTrace,
} from './types.js';

/** The dialog that shows the main menu; every conversation can fall back to it. */
export const MENU_DIALOG = 'menu';
/**
 * The dialog that asks what a resident who sounds like leaving wants to stop (a role, volunteer
 * calls, all messages). Only exact carrier keywords opt out without asking: a sentence the NLU
 * reads as "unsubscribe" ("take me off the food bank list") may mean much less.
 */
export const LEAVE_DIALOG = 'leave';

// Intents that may interrupt a flow mid-step, and how sure the NLU must be to do so: an
// answer like "the pothole is huge" must not restart the report it belongs to.
const INTERRUPT_CONFIDENCE = 0.8;
// How sure a parse of a short first message must be before its language is adopted: "hola"
// parses as a Spanish greeting at 0.92, "sí" as an idea at 0.43 (too unsure to mean anything).
const LOCALE_FROM_PARSE_CONFIDENCE = 0.6;
// Up to this many words, a message naming a category is taken as "report one of these".
const SHORT_MESSAGE_WORDS = 3;
/**
 * A reply naming another kind of problem this surely is a new report. Between the report
 * dialog's "plausible" (0.2, precision 0.94) and "confident" (0.55, precision 1.00) levels:
 * "graffiti all over the library wall" scores 0.54, "still broken, water gets in" 0.37.
 */
const NEW_PROBLEM_CONFIDENCE = 0.45;
/**
 * A reply that is surely a report (intent confidence) and plausibly names another kind of problem
 * (category at the report dialog's "plausible" 0.2) is a new report too. Category confidence
 * alone moves with every training line ("graffiti all over the library wall" has gone from
 * 0.54 to 0.4 and back); the intent of a full problem description stays at 0.95-0.99, while
 * "still broken, water gets in" is 0.70 (water_leak 0.27) and stays with the report.
 */
const NEW_PROBLEM_SURE_REPORT = 0.9;
const NEW_PROBLEM_PLAUSIBLE_CATEGORY = 0.2;

/**
 * Intents a reply to a report's update may have and still be about the report: "still broken"
 * reads as nothing in particular or as a problem report. Thanks, status questions and the rest
 * get their usual answers.
 */
const FOLLOW_UP_INTENTS: ReadonlySet<string> = new Set(['none', 'report_problem']);
/**
 * A question in reply to a broadcast goes to a person when the bot reads it as nothing, as a
 * call for help, or as about volunteering ("what time does it start?" reads as find_volunteer):
 * those are about the broadcast. A status question or a report is the bot's to answer.
 */
const BROADCAST_QUESTION_INTENTS: ReadonlySet<string> = new Set(['none', 'help', 'find_volunteer']);
/** Fewer words than this ("what?", "why") is not a question worth a person's time. */
const MIN_QUESTION_WORDS = 3;
/**
 * Intents that, read with little confidence in a reply to a report's update, are still taken as
 * about the report. Details of a problem share words with ideas and requests ("more details: it
 * is getting wider" reads as an idea at 0.41, "ahora está más hondo" at 0.34), while asking for
 * something else plainly scores more ("I want to volunteer" 0.55, "quiero ser voluntario" 0.65, "tengo una idea" 0.88). The
 * update is the latest thing the city said, so an unsure reading loses to it. Words with a
 * fixed meaning (thanks, cancel, help, language, leaving, deletion) keep their usual answers.
 */
const FOLLOW_UP_UNSURE_INTENTS: ReadonlySet<string> = new Set(['submit_idea', 'browse_ideas', 'find_volunteer', 'my_signups', 'check_status', 'human']);
const FOLLOW_UP_UNSURE_CONFIDENCE = 0.5;

/**
 * A reply to "is it fixed?" that the NLU reads as a request at least this surely is that request,
 * not a garbled answer: "I want to volunteer" scores 0.55, "quiero ser voluntario" 0.65, while
 * "asdf" or "hmm" read as nothing.
 */
const SURVEY_OTHER_CONFIDENCE = 0.5;

// A chain of steps that skip to each other longer than this is a dialog bug, not a conversation.
const MAX_STEP_HOPS = 12;

/** The state of a conversation nobody has spoken in yet. */
export function initialState(locale: string, now: number): ConversationState {
  return { schema: STATE_SCHEMA, locale, localeSettled: false, flow: null, paused: null, lastActiveAt: now, turns: 0 };
}

/** Moves a conversation one step: see the module comment. */
export function advance(env: EngineEnv, state: ConversationState, event: TurnEvent): TurnOutput {
  const turn = new Turn(env, structuredClone(state));
  return event.type === 'message' ? turn.onMessage(event.message, event.resident, event.channel) : turn.onResult(event.result, event.resident, event.channel);
}

/** One call of `advance`: accumulates what the engine says and does. */
class Turn {
  private readonly replies: Reply[] = [];
  private readonly effects: Effect[] = [];
  private command: Command | undefined;
  private trace: TurnTrace = { outcome: 'none' };
  // Set when this turn restarted an outdated flow: the message was meant for the old one.
  private restarted = false;
  // The facts of the message that started the turn (a command's result carries them on).
  private channel: ChannelFacts = { media: false, location: false };
  private resident: ResidentFacts = { optedOut: false, volunteerCalls: false };
  // When the resident last wrote before this message (what the city sent since, this answers).
  private heardBefore = 0;

  constructor(
    private readonly env: EngineEnv,
    private readonly state: ConversationState,
  ) {}

  onMessage(message: InboundMessage, resident: ResidentFacts, channel: ChannelFacts): TurnOutput {
    this.resident = resident;
    this.channel = channel;
    const state = this.state;
    const now = message.receivedAt.getTime();
    const away = now - state.lastActiveAt;
    // Nothing from the resident since the city's notification: this message answers it.
    const answersNotification = (state.followUps ?? []).some((f) => f.sentAt >= state.lastActiveAt);
    this.heardBefore = state.lastActiveAt;
    state.lastActiveAt = Math.max(state.lastActiveAt, now);
    state.turns += 1;
    const text = cleanText(message.text);

    if (message.command) {
      // "/start report" says nothing of the language; the channel's language setting does.
      this.settleLocaleFromChannel(message.locale);
      return this.onCommand(message.command.name, message.command.payload);
    }
    if (message.unsupported) return this.onUnsupported(message.unsupported);
    // A pressed button is never a typed keyword, even when its label reads like one ("End").
    if (!message.choice && this.handleCarrierKeywords(text)) return this.output();
    if (resident.optedOut) return this.output('suppressed_opted_out');
    this.restartOutdatedFlows();
    this.settleLocale(text, message.locale);

    const nlu = this.env.nlu.parse(text, state.locale);
    this.trace.intent = nlu.intent;
    const input: StepInput = { text, nlu, ...pick(message, ['choice', 'location', 'media']) };

    // A "yes" to a call that came while they were away answers the call, not "welcome back".
    if (this.answerFollowUp(input, now, answersNotification, true)) return this.output();
    if (state.flow && state.flow.dialog !== MENU_DIALOG && away > this.env.flowExpiresAfterMs) {
      this.say('flow.expired', { flow: this.dialogTitle(state.flow.dialog) });
      state.flow = null;
    } else if (state.flow && state.flow.dialog !== MENU_DIALOG && away > this.env.resumePromptAfterMs) {
      state.paused = state.flow;
      state.flow = null;
      this.askToResume();
      return this.output('asked_to_resume');
    }
    if (this.restarted) return this.output();
    if (state.paused) return this.answerResume(input);
    if (this.handleGlobalWords(input)) return this.output();
    if (this.answerFollowUp(input, now, answersNotification, false)) return this.output();
    if (state.flow) return this.answerStep(input);
    this.route(input);
    return this.output();
  }

  /**
   * A reply to something the city sent (FOLLOW_UP_KINDS says which kinds a message may answer
   * where, and in which order). Early (`early`): before the resume question and the global
   * words, for a person holding the conversation, and for a call or broadcast that came while
   * the resident was away (their message answers it, not "welcome back"). Otherwise after
   * them, for the kinds that wait until no flow is in the way. Each counts within its window.
   */
  private answerFollowUp(input: StepInput, now: number, answersNotification: boolean, early: boolean): boolean {
    const state = this.state;
    const live = (state.followUps ?? []).filter((f) => f.until >= now);
    if (live.length !== (state.followUps ?? []).length) state.followUps = live;
    if (live.length === 0) return false;
    const where = early
      ? { inFlow: true, paused: true, firstReply: answersNotification }
      : { inFlow: state.flow !== null, paused: state.paused !== null, firstReply: false };
    for (const followUp of this.votesFirst(followUpsToRead(live, where), input)) {
      if (this.followUpReaders[followUp.kind](followUp, input, now)) return true;
    }
    return false;
  }

  /**
   * Numbers that cannot be a yes or no ("1 3", "4") are only ever a vote: a live ballot reads
   * them before the questions ranked above it (a call's reader took "1 3" for words and handed
   * it to a person, "is it fixed?" for an unclear answer). A lone "1" / "2" goes to the latest
   * sent of a ballot and those yes / no questions, as among the questions themselves: a "2" to
   * a ballot that came after an unanswered "Did you make it?" was read as "no", which recorded
   * a no-show and lost the vote. A person holding the conversation still reads everything first.
   */
  private votesFirst(ordered: FollowUp[], input: StepInput): FollowUp[] {
    const picks = input.choice ? null : parsePicks(input.text);
    if (!picks) return ordered;
    const held = ordered.filter((followUp) => followUp.kind === 'staff_conversation');
    const ballots = ordered.filter((followUp) => followUp.kind === 'ballot');
    const others = ordered.filter((followUp) => followUp.kind !== 'staff_conversation' && followUp.kind !== 'ballot');
    if (ballots.length === 0) return ordered;
    if (picks.length === 1 && picks[0]! <= 2) {
      const newestBallot = Math.max(...ballots.map((ballot) => ballot.sentAt));
      // Only the first reply since the ballot: it stays live for days after the vote, and a
      // later "1" is the yes / no questions' again (as before the ballot came).
      if (newestBallot < this.heardBefore) return ordered;
      const sentLater = (followUp: FollowUp): boolean =>
        followUp.sentAt > newestBallot && FOLLOW_UP_KINDS[followUp.kind].priority > FOLLOW_UP_KINDS.ballot.priority;
      return [...held, ...others.filter(sentLater), ...ballots, ...others.filter((followUp) => !sentLater(followUp))];
    }
    return [...held, ...ballots, ...others];
  }

  /** How each kind of follow-up reads a reply: true when the reply was its answer. */
  private readonly followUpReaders: Readonly<Record<FollowUp['kind'], (followUp: FollowUp, input: StepInput, now: number) => boolean>> = {
    staff_conversation: (held, input, now) => this.answerHeld(held, input, now),
    volunteer_call: (call, input) => this.answerCall(call, input),
    broadcast: (broadcast, input) => this.answerBroadcast(broadcast, input),
    report_update: (update, input) => this.answerUpdate(update, input),
    fix_survey: (survey, input) => this.answerFixSurvey(survey, input),
    shift_checkin: (checkin, input) => this.answerShiftCheckin(checkin, input),
    ballot: (ballot, input) => this.answerBallot(ballot, input),
    shift_reminder: (reminder, input) => this.answerShiftReminder(reminder, input),
  };

  /**
   * A person holds the conversation: the message is theirs to read (it is in the transcript)
   * and the bot says nothing, except to the menu word, which takes the resident back to the
   * bot, and to "delete my data" (STOP and HELP were answered before this). Each message keeps
   * the hold alive. A flow begun while held (a sign-up from a volunteer call) has its step
   * answered first.
   */
  private answerHeld(held: FollowUp, input: StepInput, now: number): boolean {
    const state = this.state;
    // A volunteer call that came while held asks for a yes or no: the resident's first message
    // since answers it, as it would without the hold, and the sign-up it starts (the name step)
    // runs to its end before the hold reads messages again. Otherwise "yes" went to a person
    // who never saw the call, and the resident was signed up for nothing.
    const call = (state.followUps ?? []).findLast(
      (f) => f.kind === 'volunteer_call' && f.until >= now && f.sentAt > held.sentAt && f.sentAt >= this.heardBefore,
    );
    if (call && this.callAnswerOf(input)) return this.answerCall(call, input);
    if (state.flow && state.flow.dialog !== MENU_DIALOG) return false;
    if (this.isNavigationWord(input.text, 'menu')) {
      this.leaveHold('back_to_bot');
      this.say('handoff.back_to_bot');
      this.showMenu();
      this.trace.outcome = 'handoff_left';
      return true;
    }
    // Deleting their data is the resident's right, not a person's to grant: it leaves the hold
    // and goes on to the deletion's own question, as anywhere.
    if (input.nlu.intent === 'delete_my_data' && input.nlu.confidence >= INTERRUPT_CONFIDENCE) {
      this.leaveHold('back_to_bot');
      return false;
    }
    held.until = Math.max(held.until, now + this.env.handoffHoldMs);
    this.effects.push({ type: 'staff.handoff.wrote' });
    this.trace.outcome = 'held';
    return true;
  }

  /**
   * "yes" / "1" / "sí" to a volunteer call signs up, "no" declines. Words that are neither but
   * ask or say something the bot has no answer for ("what time does it start?") go to a person.
   */
  private answerCall(call: FollowUp, input: StepInput): boolean {
    const state = this.state;
    const text = input.text.trim();
    const answer = this.callAnswerOf(input);
    if (!answer) return this.forwardBroadcastReply(call, input);
    state.followUps = (state.followUps ?? []).filter((f) => f !== call);
    state.flow = null;
    state.paused = null;
    this.trace.intent = `volunteer_call_${answer}`;
    if (answer === 'no') {
      if (call.broadcastId) this.effects.push({ type: 'volunteerCall.declined', broadcastId: call.broadcastId });
      // "no more volunteer texts" declines this call and may mean more: ask what ("no" does not).
      if (input.nlu.intent === 'unsubscribe' && text.split(/\s+/).length > 2) {
        this.askWhatToStop(input);
        return true;
      }
      this.say('volunteer_call.declined');
      this.trace.outcome = 'declined';
      return true;
    }
    this.startDialog('volunteer-call', { roleRef: call.ref, ...(call.broadcastId ? { broadcastId: call.broadcastId } : {}) });
    return true;
  }

  /**
   * "yes" / "1" / "sí" or "no" / "2" to a volunteer call (and the other yes / no questions), or
   * null. The number as phones and people write it too ("1.", "1️⃣", "uno", "dos"): those were
   * read as nothing, and "dos" to "Reply 1 to confirm, 2 if you can't make it" got the menu.
   */
  private callAnswerOf(input: StepInput): 'yes' | 'no' | null {
    const number = loneNumber(input.text);
    return input.choice === 'yes' || number === 1 ? 'yes' : input.choice === 'no' || number === 2 ? 'no' : this.yesNoOf(input);
  }

  /** A broadcast with nothing to answer yes or no to: a reply in words goes to a person. */
  private answerBroadcast(broadcast: FollowUp, input: StepInput): boolean {
    return this.forwardBroadcastReply(broadcast, input);
  }

  /**
   * A reply to a broadcast that is a question, or words the bot has no meaning for, reaches a
   * person with the broadcast it answers; anything the bot understands (a report, "thanks",
   * the menu) is answered as usual. Once: the follow-up is used up.
   */
  private forwardBroadcastReply(followUp: FollowUp, input: StepInput): boolean {
    const { nlu } = input;
    // Mid-flow, words are the step's answer ("big hole by the curb"), not the broadcast's.
    if (this.state.flow && this.state.flow.dialog !== MENU_DIALOG) return false;
    // Only the first message since the broadcast answers it: two days later, "how do I
    // volunteer?" is a question for the bot, not for whoever sent the broadcast.
    if (followUp.sentAt < this.heardBefore) return false;
    // A reference names what the bot shows ("denunciar I-4F2K9", "apoyo I-4F2K9", "R-7K3QX?"):
    // read as words of no meaning, it went to a person as a reply to the broadcast.
    if (nlu.entities.reference) return false;
    const text = input.text.trim();
    const question = this.isQuestion(text);
    const meaningless = nlu.intent === 'none' && text.split(/\s+/).length >= 2;
    if (!question && !meaningless) return false;
    if (!question && nlu.intent !== 'none') return false;
    if (question && !BROADCAST_QUESTION_INTENTS.has(nlu.intent)) return false;
    this.state.followUps = (this.state.followUps ?? []).filter((f) => f !== followUp);
    this.state.flow = null;
    this.state.paused = null;
    const about = followUp.broadcastId ?? followUp.ref;
    this.handOff('broadcast_reply', about);
    return true;
  }

  /**
   * A message after a report's update, outside any flow, is added to the report, unless it
   * asks for something else (another report, another kind of problem, the menu...).
   */
  private answerUpdate(update: FollowUp, input: StepInput): boolean {
    const { nlu } = input;
    const reference = nlu.entities.reference;
    if (reference && reference !== update.ref) return false;
    const aboutReport = FOLLOW_UP_INTENTS.has(nlu.intent) || (FOLLOW_UP_UNSURE_INTENTS.has(nlu.intent) && nlu.confidence < FOLLOW_UP_UNSURE_CONFIDENCE);
    if (!aboutReport) return false;
    // "There's graffiti on Oak St" after an update on a pothole is a new report; "still broken,
    // water gets in" is not, so only a clearly named other kind of problem counts.
    const otherProblem = nlu.intent === 'report_problem' && nlu.category && nlu.category !== 'other' && nlu.category !== update.category;
    const newProblem =
      nlu.categoryConfidence >= NEW_PROBLEM_CONFIDENCE ||
      (nlu.confidence >= NEW_PROBLEM_SURE_REPORT && nlu.categoryConfidence >= NEW_PROBLEM_PLAUSIBLE_CATEGORY);
    if (otherProblem && newProblem) return false;
    if (!input.text.trim() && !input.media?.length) return false;
    this.startDialog('report-follow-up', {
      ref: update.ref,
      text: input.text.trim(),
      ...(input.media?.length ? { media: input.media.map((m) => ({ url: m.url, contentType: m.contentType })) } : {}),
    });
    return true;
  }

  /**
   * "Is R-… really fixed?" (issue 18): a yes or no (a button, "1" / "2", "sí", "no, still a hole")
   * starts the survey dialog with it; nonsense outside a flow starts it by asking again, saying
   * what it expects (`questionAnswerOf`). A reply clearly naming another kind of problem is a new
   * report, not an unclear answer.
   */
  private answerFixSurvey(survey: FollowUp, input: StepInput): boolean {
    const { nlu } = input;
    const answer = this.questionAnswerOf(input, survey);
    if (!answer) return false;
    if (answer === 'unclear') {
      // "graffiti all over the library wall" after a question about a pothole is a new report;
      // "still a hole there" is about this one, and the survey asks for a yes or no.
      const otherProblem = nlu.category && nlu.category !== 'other' && nlu.category !== survey.category;
      if (otherProblem && nlu.categoryConfidence >= NEW_PROBLEM_CONFIDENCE) return false;
    }
    this.endQuestion(survey, answer);
    this.startDialog('fix-survey', {
      ref: survey.ref,
      ...(survey.category ? { category: survey.category } : {}),
      ...(answer !== 'unclear' ? { fixed: answer } : {}),
    });
    return true;
  }

  /**
   * "Did you make it to Food bank packing?" after a shift (issue 20): a yes or no starts the
   * check-in dialog with it (a "yes" goes on to the hours), nonsense outside a flow starts it by
   * asking again; anything else is answered as usual and the question stays live. Hours named as
   * such ("3 hours", "yes, about 2h") say yes and how long at once; a bare "2" is the numbered No.
   */
  private answerShiftCheckin(checkin: FollowUp, input: StepInput): boolean {
    const named = mentionsHours(input.text) ? parseHours(input.text) : null;
    let answer = this.questionAnswerOf(input, checkin);
    // Hours named as such answer it outside a flow, whatever else the NLU reads in them: "tres
    // horas" (find_volunteer, 0.71) listed the roles, "about 2 hours" (submit_idea) began an idea.
    const inFlow = (this.state.flow !== null && this.state.flow.dialog !== MENU_DIALOG) || this.state.paused !== null;
    if ((answer === null || answer === 'unclear') && named !== null && !inFlow && !input.nlu.entities.reference) answer = 'yes';
    if (!answer) return false;
    const hours = answer !== 'no' ? named : null;
    const gave = hours !== null && hours >= HOURS_MIN && hours <= HOURS_MAX ? hours : null;
    this.endQuestion(checkin, gave !== null ? 'yes' : answer);
    const attended = gave !== null ? 'yes' : answer !== 'unclear' ? answer : null;
    this.startDialog('shift-checkin', { ref: checkin.ref, ...(attended ? { attended } : {}), ...(gave !== null ? { hours: gave } : {}) });
    return true;
  }

  /**
   * A reply to a yes / no question the city asked: the answer; 'unclear' for words that answer
   * nothing, outside any flow, when the city sent nothing since (the question's dialog asks
   * again); or null when the reply is
   * clearly something else, answered as usual while the question stays live: another
   * reference, a navigation or language word, a request the NLU is fairly sure of, a place, and
   * over a flow anything but a clear yes or no (the rest is the flow's).
   */
  private questionAnswerOf(input: StepInput, question: FollowUp): 'yes' | 'no' | 'unclear' | null {
    const { nlu } = input;
    const text = input.text.trim();
    const reference = nlu.entities.reference;
    if (reference && reference !== question.ref) return null;
    if ((['menu', 'back', 'exit'] as const).some((kind) => this.isNavigationWord(text, kind))) return null;
    if (this.env.i18n.locales.some((locale) => isOneOf(text, this.env.i18n.keywords(locale).languageNames))) return null;
    const answer = this.callAnswerOf(input);
    if (answer) return answer;
    const inFlow = (this.state.flow !== null && this.state.flow.dialog !== MENU_DIALOG) || this.state.paused !== null;
    if (inFlow || !text || input.location) return null;
    if (nlu.intent !== 'none' && nlu.confidence >= SURVEY_OTHER_CONFIDENCE) return null;
    // Words that answer nothing belong to the latest thing the city sent: a question about a
    // ballot or broadcast sent after this one was taken for an unclear answer here ("did you make
    // it?" again), and never reached the person who could answer it.
    if (this.sentSince(question)) return null;
    return 'unclear';
  }

  /** Whether something the city sent after `question` is live too (a person's hold aside). */
  private sentSince(question: FollowUp): boolean {
    const now = this.state.lastActiveAt;
    return (this.state.followUps ?? []).some(
      (other) => other !== question && other.kind !== 'staff_conversation' && other.until >= now && other.sentAt > question.sentAt,
    );
  }

  /**
   * The question is answered (or about to be asked again by its dialog, after `<kind>.not_understood`):
   * it leaves the live follow-ups, and any flow ends.
   */
  private endQuestion(question: FollowUp, answer: 'yes' | 'no' | 'unclear'): void {
    this.state.followUps = (this.state.followUps ?? []).filter((f) => f !== question);
    this.state.flow = null;
    this.state.paused = null;
    this.trace.intent = `${question.kind}_${answer}`;
    if (answer === 'unclear') this.say(`${question.kind}.not_understood`);
  }

  /**
   * A ballot sent by broadcast (issue 21): a reply that is only numbers ("1 3", "1, 3 and 4",
   * "1 y 3") is a vote in it, read back by the ballot dialog, which checks it against the rule
   * and asks to confirm. The follow-up stays live for its window, so a later reply of numbers
   * changes the vote. A reply in words is read as a reply to any broadcast (a question reaches a
   * person with the ballot it answers).
   */
  private answerBallot(ballot: FollowUp, input: StepInput): boolean {
    if (input.choice) return false;
    // Never inside a flow: the ballot's broadcast does not wait for one to end, and a number the
    // resident types there (a rating, a pick from a list) is that flow's answer, not a vote. They
    // vote once it is done, within the ballot's window.
    const inFlow = (this.state.flow !== null && this.state.flow.dialog !== MENU_DIALOG) || this.state.paused !== null;
    if (inFlow) return false;
    if (!parsePicks(input.text)) return this.forwardBroadcastReply(ballot, input);
    this.state.flow = null;
    this.state.paused = null;
    this.trace.intent = 'ballot_reply';
    this.startDialog('ballot', { ref: ballot.ref, reply: input.text.trim() });
    return true;
  }

  /**
   * A reply to a shift reminder (issue 20): "1" / a button / "yes" / "confirm" / "sí" confirms
   * attendance; "2" / "no" / "can't make it" / "no puedo" starts withdrawing (the dialog asks to
   * be sure). Anything else is not its answer and goes on as usual; the reminder stays live.
   */
  private answerShiftReminder(reminder: FollowUp, input: StepInput): boolean {
    const text = input.text.trim();
    if (input.nlu.entities.reference) return false;
    if ((['menu', 'back', 'exit'] as const).some((kind) => this.isNavigationWord(text, kind))) return false;
    const answer = this.attendanceAnswerOf(text) || this.callAnswerOf(input);
    if (!answer) return false;
    this.state.followUps = (this.state.followUps ?? []).filter((f) => f !== reminder);
    this.state.flow = null;
    this.state.paused = null;
    this.trace.intent = `shift_reminder_${answer}`;
    this.startDialog('shift-reminder', { shiftId: reminder.ref, answer });
    return true;
  }

  /**
   * "I'll be there" / "can't make it" to a shift reminder, whole or as one part of the message
   * with courtesy around it ("sorry, I can't make it", "lo siento, no puedo ir"): those were
   * read as nothing ("Sorry, I didn't get that" and the menu) or listed the sign-ups.
   */
  private attendanceAnswerOf(text: string): 'yes' | 'no' | null {
    const keywords = this.env.i18n.keywords(this.state.locale);
    const courtesy = (keywords.courtesy ?? []).map((word) => foldForMatch(word)).sort((a, b) => b.length - a.length);
    const parts = [text, ...text.split(/[,.;:!?¡¿]+/)].map((part) => {
      let folded = foldForMatch(part);
      for (let stripped = true; stripped;) {
        const lead = courtesy.find((word) => folded.startsWith(`${word} `));
        stripped = lead !== undefined;
        if (lead) folded = folded.slice(lead.length + 1);
      }
      return folded;
    });
    for (const part of parts) {
      if (isOneOf(part, keywords.attendanceYes ?? [])) return 'yes';
      if (isOneOf(part, keywords.attendanceNo ?? [])) return 'no';
    }
    return null;
  }

  /** A channel command: the same meanings as the keywords, plus deep links on start. */
  private onCommand(name: ChannelCommand, payload: string | undefined): TurnOutput {
    this.trace.intent = `/${name}`;
    if (name === 'stop') {
      this.optOut('/stop');
      return this.output();
    }
    if (name === 'start' && this.resident.optedOut) {
      this.effects.push({ type: 'consent.optIn', keyword: '/start' });
      this.say('consent.opted_in');
    } else if (this.resident.optedOut) {
      this.say('help.opted_out');
      return this.output('suppressed_opted_out');
    }
    // While a person holds the conversation, a menu shown here would be a lie: the hold reads
    // the next message. /menu takes the resident back to the bot, as the menu word does; the
    // others (a Telegram /start, the web chat opening again) say who has the conversation.
    if (this.isHeld()) {
      if (name === 'menu') {
        this.leaveHold('back_to_bot');
        this.say('handoff.back_to_bot');
        this.showMenu();
        return this.output('handoff_left');
      }
      if (name === 'help') this.say('help.general');
      this.say('handoff.help_while_held');
      return this.output('held');
    }
    this.restartOutdatedFlows();
    const linked = payload ? DEEP_LINKS[payload] : undefined;
    if (name === 'start' && linked) {
      this.startDialog(linked, {});
      return this.output('deep_link');
    }
    if (name === 'help') this.say('help.general');
    if (name === 'start' && !this.resident.optedOut) this.say('greeting');
    if (name === 'language') this.startDialog('language', {});
    else this.showMenu();
    return this.output(name);
  }

  /** Content the bot cannot read: say what it can, and ask the current question again. */
  private onUnsupported(kind: NonNullable<InboundMessage['unsupported']>): TurnOutput {
    if (this.resident.optedOut) return this.output('suppressed_opted_out');
    this.restartOutdatedFlows();
    this.say(kind === 'edit' ? 'unsupported.edit' : 'unsupported.content');
    const flow = this.state.flow;
    if (flow && !this.restarted) this.askStep(flow.step, 0);
    return this.output(`unsupported_${kind}`);
  }

  onResult(result: CommandResult, resident: ResidentFacts, channel: ChannelFacts): TurnOutput {
    this.resident = resident;
    this.channel = channel;
    const flow = this.state.flow;
    if (!flow?.awaiting || flow.awaiting.command.type !== result.type) {
      throw new Error(`Result ${result.type} arrived for a flow that does not wait for it`);
    }
    const { resultSlot, then } = flow.awaiting;
    const loadedForSameStep = then === flow.step;
    flow.slots[resultSlot] = result.value as unknown as Slots[string];
    delete flow.awaiting;
    if (loadedForSameStep) this.askStep(then, 0);
    else this.enterStep(then, 0);
    return this.output();
  }

  // --- Keywords that work everywhere -------------------------------------------------------

  /** STOP / START / HELP and their Spanish equivalents, in every step (carrier rules). */
  private handleCarrierKeywords(text: string): boolean {
    const { i18n } = this.env;
    const all = i18n.locales.map((locale) => ({ locale, words: i18n.keywords(locale) }));
    const saying = (kind: 'optOut' | 'optIn' | 'help'): boolean => {
      const languages = all.filter(({ words }) => isOneOf(text, words[kind])).map(({ locale }) => locale);
      // A keyword of one language only (PARAR, AYUDA) is the first sign of the resident's
      // language: "PARAR" as a first message was confirmed in English. STOP, in every list, is none.
      if (languages.length === 1) this.settleLocaleFromChannel(languages[0]);
      return languages.length > 0;
    };
    if (saying('optOut')) {
      this.optOut(text.toUpperCase());
      return true;
    }
    if (saying('optIn')) {
      this.effects.push({ type: 'consent.optIn', keyword: text.toUpperCase() });
      this.say('consent.opted_in');
      this.showMenu();
      this.trace.outcome = 'opted_in';
      return true;
    }
    if (saying('help')) {
      this.say(this.resident.optedOut ? 'help.opted_out' : 'help.carrier');
      if (this.isHeld()) {
        this.say('handoff.help_while_held');
        this.trace.outcome = 'help';
        return true;
      }
      // An outdated flow is restarted by the next message, not re-asked here.
      if (this.state.flow && !this.resident.optedOut && this.currentDialog(this.state.flow)) {
        this.say('help.in_flow', { flow: this.dialogTitle(this.state.flow.dialog) });
        this.askStep(this.state.flow.step, 0);
      }
      this.trace.outcome = 'help';
      return true;
    }
    return false;
  }

  /**
   * Ends a person's hold on the conversation and closes the resident's request (the pipeline
   * reads the effect), saying why: the resident went back to the bot, or opted out.
   */
  private leaveHold(why: 'back_to_bot' | 'opted_out'): void {
    this.state.followUps = (this.state.followUps ?? []).filter((f) => f.kind !== 'staff_conversation');
    this.effects.push({ type: 'staff.handoff.left', ...(why === 'opted_out' ? { why } : {}) });
  }

  /** Whether a person holds the conversation now (see `handOff`). */
  private isHeld(): boolean {
    return (this.state.followUps ?? []).some((f) => f.kind === 'staff_conversation' && f.until >= this.state.lastActiveAt);
  }

  /** Whether the whole message is a navigation word of any language, the resident's first. */
  private isNavigationWord(text: string, kind: 'menu' | 'back' | 'exit'): boolean {
    const { i18n } = this.env;
    return [this.state.locale, ...i18n.locales].some((locale) => isOneOf(text, i18n.keywords(locale)[kind]));
  }

  /**
   * A flow stored by another version of its dialog (or naming a step that no longer exists) is
   * restarted on purpose, before anything (help, back, a language switch) tries to ask its step.
   */
  private restartOutdatedFlows(): void {
    const state = this.state;
    if (state.paused && !this.currentDialog(state.paused)) state.paused = null;
    const flow = state.flow;
    if (!flow || this.currentDialog(flow)) return;
    this.say('flow.restarted_after_update');
    this.trace.outcome = 'restarted_after_update';
    state.flow = null;
    if (this.env.dialogs.has(flow.dialog)) this.startDialog(flow.dialog, {});
    else this.showMenu();
    this.restarted = true;
  }

  /**
   * menu, back, exit and language names: plain words that work in any step, in every language
   * (a Spanish resident typing "back" at the place step once got a report "en back").
   */
  private handleGlobalWords(input: StepInput): boolean {
    const flow = this.state.flow;
    if (this.isNavigationWord(input.text, 'menu')) {
      this.showMenu();
      this.trace.outcome = 'menu';
      return true;
    }
    if (flow && this.isNavigationWord(input.text, 'back')) {
      const previous = flow.history.pop();
      if (previous) {
        flow.failures = 0;
        for (const slot of previous.filled) delete flow.slots[slot];
        this.enterStep(previous.step, 0);
        this.trace.outcome = 'back';
      } else {
        this.leaveFlow();
      }
      return true;
    }
    if (this.isNavigationWord(input.text, 'exit')) {
      if (flow) this.leaveFlow();
      else this.showMenu();
      return true;
    }
    const asked = this.env.i18n.locales.find((locale) => isOneOf(input.text, this.env.i18n.keywords(locale).languageNames));
    if (asked) {
      this.switchLocale(asked);
      return true;
    }
    // Intents strong enough to interrupt a flow: sounding like leaving (even mid-description:
    // it beats everything; asked, never done silently), asking for a person, switching
    // language. Within the leave question itself, "stop all messages" is its answer.
    const { nlu } = input;
    if (nlu.intent === 'unsubscribe' && nlu.confidence >= INTERRUPT_CONFIDENCE && flow?.dialog !== LEAVE_DIALOG) {
      this.askWhatToStop(input);
      return true;
    }
    const step = flow && this.currentDialog(flow)?.steps[flow.step];
    if (step?.freeText || nlu.confidence < INTERRUPT_CONFIDENCE) return false;
    if (nlu.intent === 'human') {
      this.handOff('asked');
      return true;
    }
    if (nlu.intent === 'delete_my_data') {
      this.state.flow = null;
      this.startDialog('delete-data', {});
      return true;
    }
    if (nlu.intent === 'change_language' && nlu.entities.language && this.env.i18n.locales.includes(nlu.entities.language)) {
      this.switchLocale(nlu.entities.language);
      return true;
    }
    if (flow && nlu.intent === 'cancel') {
      this.leaveFlow();
      return true;
    }
    return false;
  }

  private settleLocale(text: string, channelLocale: string | undefined): void {
    const state = this.state;
    if (state.localeSettled) return;
    const fromChannel = channelLocale?.slice(0, 2).toLowerCase();
    // One word of every language ("idea") has none: the default (or the channel's) stands.
    const fromText = this.env.nlu.isSharedWord(text) ? null : (this.env.nlu.detectLocale(text) ?? this.confidentParseLocale(text));
    const locale = fromText ?? (fromChannel && this.env.i18n.locales.includes(fromChannel) ? fromChannel : null);
    if (!locale) return;
    state.localeSettled = true;
    if (locale !== state.locale) {
      state.locale = locale;
      this.effects.push({ type: 'resident.setLocale', locale });
    }
  }

  /**
   * A message too short to detect its language ("hola", "gracias") still has one when it
   * parses confidently in it: the NLU's parse without a locale picks the likeliest.
   */
  private confidentParseLocale(text: string): string | null {
    const parsed = this.env.nlu.parse(text);
    return parsed.intent !== 'none' && parsed.confidence >= LOCALE_FROM_PARSE_CONFIDENCE ? parsed.locale : null;
  }

  private settleLocaleFromChannel(channelLocale: string | undefined): void {
    const locale = channelLocale?.slice(0, 2).toLowerCase();
    if (this.state.localeSettled || !locale || !this.env.i18n.locales.includes(locale)) return;
    this.state.localeSettled = true;
    if (locale !== this.state.locale) {
      this.state.locale = locale;
      this.effects.push({ type: 'resident.setLocale', locale });
    }
  }

  private switchLocale(locale: string): void {
    this.state.locale = locale;
    this.state.localeSettled = true;
    this.effects.push({ type: 'resident.setLocale', locale });
    this.say('language.changed');
    this.trace.outcome = 'language_changed';
    const flow = this.state.flow;
    if (flow) this.askStep(flow.step, 0);
    else this.showMenu();
  }

  // --- Returning residents -----------------------------------------------------------------

  private askToResume(): void {
    const paused = this.state.paused;
    if (!paused) return;
    this.reply(this.t('resume.ask', { flow: this.dialogTitle(paused.dialog) }), this.resumeChoices());
  }

  private resumeChoices(): Choice[] {
    return [
      { id: 'continue', label: this.t('resume.continue') },
      { id: 'restart', label: this.t('resume.restart') },
      { id: 'menu', label: this.t('choice.menu') },
    ];
  }

  private stuckChoices(): Choice[] {
    return [
      { id: 'keep', label: this.t('choice.keep_trying') },
      { id: 'menu', label: this.t('choice.menu') },
      { id: 'human', label: this.t('choice.human') },
    ];
  }

  private answerResume(input: StepInput): TurnOutput {
    const paused = this.state.paused;
    this.state.paused = null;
    if (!paused) return this.output();
    const picked = this.context(paused.slots).pick(input, this.resumeChoices()) ?? (this.yesNoOf(input) === 'yes' ? 'continue' : null);
    if (picked === 'continue') {
      this.state.flow = paused;
      this.askStep(paused.step, 0);
      return this.output('resumed');
    }
    if (picked === 'restart') {
      this.startDialog(paused.dialog, {});
      return this.output('restarted');
    }
    if (picked === 'menu') {
      this.showMenu();
      return this.output('menu');
    }
    // Anything else is a new message: the old flow stays dropped.
    if (this.handleGlobalWords(input)) return this.output();
    this.route(input);
    return this.output();
  }

  // --- Routing a message outside any flow ---------------------------------------------------

  private route(input: StepInput): void {
    const { nlu } = input;
    const reference = nlu.entities.reference;
    if (reference) {
      const kind = reference.charAt(0);
      // "report I-7K3QX" reports the idea: the reference decides the flow, a word what to do with it.
      if (kind === 'I') return this.startDialog('ideas', this.asksToReport(input.text) ? { reportRef: reference } : { supportRef: reference });
      if (kind === 'V') return this.startDialog('volunteer', { roleRef: reference });
      return this.startDialog('check-status', { ref: reference });
    }
    if (input.location || input.media?.length) return this.startSeeded('report-problem', input);
    // "vote", "votar", "presupuesto participativo": the ballot open now (issue 21).
    if (this.env.i18n.locales.some((locale) => isOneOf(input.text, this.env.i18n.keywords(locale).ballot ?? []))) {
      this.trace.intent = 'ballot';
      return this.startDialog('ballot', {});
    }
    const named = this.namedCategory(input);
    if (named) return this.startDialog('report-problem', { category: named });
    switch (nlu.intent) {
      case 'report_problem':
        return this.startSeeded('report-problem', input);
      case 'check_status':
        return this.startDialog('check-status', {});
      case 'submit_idea':
        return this.startSeeded('submit-idea', input);
      case 'find_volunteer':
        return this.startDialog('volunteer', {});
      case 'browse_ideas':
        // `said` lets the list be the one asked for ("popular ideas", "ideas in Riverside").
        return this.startDialog('ideas', { said: input.text });
      case 'my_signups':
        // The volunteer dialog's own "my sign-ups" step lists them and can cancel one; `said`
        // lets it go straight to the one a message names ("cancel my food bank shift").
        return this.startDialog('volunteer', { show: 'mine', said: input.text });
      case 'greeting':
        this.say('greeting');
        return this.showMenu();
      case 'help':
        this.say('help.general');
        return this.showMenu();
      case 'human':
        return this.handOff('asked');
      case 'cancel':
        this.say('flow.nothing_to_cancel');
        return this.showMenu();
      case 'change_language': {
        const asked = nlu.entities.language;
        if (asked && this.env.i18n.locales.includes(asked)) return this.switchLocale(asked);
        return this.startDialog('language', {});
      }
      case 'unsubscribe':
        return this.askWhatToStop(input);
      case 'subscribe':
        this.effects.push({ type: 'consent.optIn', keyword: 'subscribe' }, { type: 'resident.setVolunteerCalls', on: true });
        this.say('consent.volunteer_calls_on');
        this.trace.outcome = 'subscribed';
        return;
      case 'thanks':
        this.say('thanks.reply');
        this.trace.outcome = 'thanks';
        return;
      case 'delete_my_data':
        return this.startDialog('delete-data', {});
      case 'none':
        // A question the bot has no answer for goes to a person, not to the generic help.
        if (this.isQuestion(input.text) && input.text.trim().split(/\s+/).length >= MIN_QUESTION_WORDS) return this.handOff('question');
        this.say('not_understood');
        return this.showMenu();
    }
  }

  /** Asks what a resident who sounds like leaving wants to stop; see LEAVE_DIALOG. */
  private askWhatToStop(input: StepInput): void {
    this.state.flow = null;
    this.state.paused = null;
    this.trace.outcome = 'asked_what_to_stop';
    this.startDialog(LEAVE_DIALOG, { said: input.text });
  }

  /** Opts the resident out of everything: one confirmation, and the flow is over. */
  private optOut(keyword: string): void {
    this.state.flow = null;
    this.state.paused = null;
    // Nobody may write to them now: a hold left in place would make START's menu a silent bot.
    if (this.isHeld()) this.leaveHold('opted_out');
    this.effects.push({ type: 'consent.optOut', keyword });
    this.say('consent.opted_out');
    this.trace.outcome = 'opted_out';
  }

  /**
   * A message that is just the name of a kind of problem ("pothole", "street light") opens a
   * report of that kind. The classifier alone reads some of these as status questions, since
   * "status of my pothole report" is one of those.
   */
  private namedCategory(input: StepInput): string | null {
    if (input.nlu.intent === 'report_problem' || input.text.trim().split(/\s+/).length > SHORT_MESSAGE_WORDS) return null;
    // No menu is showing, so "2" picks nothing.
    if (input.nlu.entities.number !== undefined || /\d/.test(input.text)) return null;
    const choices = CATEGORIES.filter((id) => id !== 'other').map((id) => ({ id, label: this.t(`category.${id}`) }));
    return this.env.nlu.matchChoice(input.text, choices, this.state.locale);
  }

  /**
   * Hands the conversation to a person (the staff inbox): they answer here, and until they
   * hand back (or nobody writes for a while) the bot stays quiet but for STOP, HELP and MENU.
   */
  private handOff(reason: HandoffReason, about?: string): void {
    const now = this.state.lastActiveAt;
    this.effects.push({ type: 'staff.handoff', reason, ...(about ? { about } : {}) });
    const others = (this.state.followUps ?? []).filter((f) => f.kind !== 'staff_conversation');
    this.state.followUps = [...others, { kind: 'staff_conversation', ref: 'inbox', sentAt: now, until: now + this.env.handoffHoldMs }];
    this.state.flow = null;
    this.state.paused = null;
    this.say(`handoff.requested_${reason}`);
    this.trace.outcome = 'handoff';
  }

  private showMenu(): void {
    this.state.flow = null;
    this.startDialog(MENU_DIALOG, {});
  }

  private leaveFlow(): void {
    const flow = this.state.flow;
    this.state.flow = null;
    this.say('flow.left', { flow: flow ? this.dialogTitle(flow.dialog) : '' });
    this.trace.outcome = 'left_flow';
  }

  // --- Flows --------------------------------------------------------------------------------

  /** Starts a dialog with what the message that opened it already says (its `seed`). */
  private startSeeded(id: string, input: StepInput): void {
    const seed = this.env.dialogs.get(id)?.seed;
    this.startDialog(id, seed ? seed(input, this.context({})) : {});
  }

  private startDialog(id: string, slots: Slots): void {
    const dialog = this.env.dialogs.get(id);
    if (!dialog) throw new Error(`Unknown dialog ${id}`);
    this.state.flow = { dialog: id, version: dialog.version, step: dialog.start, slots: { ...slots }, history: [], failures: 0 };
    this.trace.dialog = id;
    this.enterStep(dialog.start, 0);
  }

  private currentDialog(flow: ActiveFlow): DialogDefinition | undefined {
    const dialog = this.env.dialogs.get(flow.dialog);
    return dialog && dialog.version === flow.version && dialog.steps[flow.step] ? dialog : undefined;
  }

  private answerStep(input: StepInput): TurnOutput {
    const flow = this.state.flow as ActiveFlow;
    const dialog = this.currentDialog(flow);
    if (!dialog) throw new Error(`Flow ${flow.dialog} is outdated but was not restarted`);
    delete flow.awaiting;
    this.trace.dialog = flow.dialog;
    this.trace.step = flow.step;
    if (flow.stuckOffer) {
      delete flow.stuckOffer;
      const picked = this.context(flow.slots).pick(input, this.stuckChoices());
      if (picked === 'menu') return (this.showMenu(), this.output('menu'));
      if (picked === 'human') return (this.handOff('stuck'), this.output());
      if (picked === 'keep') return (this.askStep(flow.step, 0), this.output('keep_trying'));
    }
    // A button from an earlier question (chat clients keep old buttons pressable) answers that
    // question, not this one: "Graffiti" pressed at the place step once became the place. The
    // menu reads anything that is not its choice as a fresh message, an old button's label too.
    if (input.choice && flow.offered && !flow.offered.includes(input.choice) && flow.dialog !== MENU_DIALOG) {
      this.askStep(flow.step, 0, this.t('flow.stale_choice'));
      return this.output('stale_choice');
    }
    const absorbed = dialog.absorb?.(input, this.context(flow.slots));
    if (absorbed) {
      this.setSlots(flow, absorbed);
      // Only a photo (no words): keep the flow where it was and ask the step again.
      if (!input.text.trim() && !input.choice && !input.location) {
        this.trace.outcome = 'absorbed';
        this.askStep(flow.step, 0);
        return this.output();
      }
    }
    const step = dialog.steps[flow.step]!;
    const outcome = step.answer(input, this.context(flow.slots));
    this.apply(outcome, input);
    return this.output();
  }

  private apply(outcome: StepOutcome, input: StepInput): void {
    const flow = this.state.flow as ActiveFlow;
    if ('retry' in outcome) {
      flow.failures += 1;
      this.trace.outcome = 'retry';
      const explanation = this.t(outcome.retry, outcome.vars);
      if (flow.failures >= this.env.maxFailures) {
        flow.failures = 0;
        this.reply(`${explanation}\n${this.t('flow.stuck')}`, this.stuckChoices());
        flow.stuckOffer = true;
        return;
      }
      this.askStep(flow.step, 0, explanation);
      return;
    }
    flow.failures = 0;
    this.trace.outcome = Object.keys(outcome)[0] ?? 'none';
    if ('reroute' in outcome) {
      this.state.flow = null;
      this.route(input);
      return;
    }
    if ('finish' in outcome) {
      this.state.flow = null;
      this.replies.push(...(outcome.say ?? []));
      for (const effect of outcome.effects ?? []) {
        // The conversation's language is engine state, not only a profile field.
        if (effect.type === 'resident.setLocale') this.switchLocale(effect.locale);
        else this.effects.push(effect);
      }
      return;
    }
    if ('startDialog' in outcome) {
      this.state.flow = null;
      this.replies.push(...(outcome.say ?? []));
      this.startDialog(outcome.startDialog, outcome.slots ?? {});
      return;
    }
    this.setSlots(flow, outcome.set ?? {});
    this.replies.push(...(outcome.say ?? []));
    flow.history.push({ step: flow.step, filled: Object.keys(outcome.set ?? {}) });
    if ('run' in outcome) {
      flow.awaiting = { command: outcome.run, resultSlot: outcome.resultSlot, then: outcome.then };
      this.command = outcome.run;
      return;
    }
    this.enterStep(outcome.to, 0);
  }

  private setSlots(flow: ActiveFlow, patch: SlotPatch): void {
    for (const [name, value] of Object.entries(patch)) {
      if (value === undefined || value === null) delete flow.slots[name];
      else flow.slots[name] = value;
    }
  }

  /** Enters a step: runs its `load` first when it has one, else asks it. */
  private enterStep(name: string, hops: number): void {
    const flow = this.state.flow as ActiveFlow;
    const dialog = this.env.dialogs.get(flow.dialog);
    const step = dialog?.steps[name];
    if (!step) throw new Error(`Dialog ${flow.dialog} has no step ${name}`);
    flow.step = name;
    const load = step.load?.(this.context(flow.slots));
    if (load) {
      flow.awaiting = { command: load.command, resultSlot: load.resultSlot, then: name };
      this.command = load.command;
      return;
    }
    this.askStep(name, hops);
  }

  /** Says a step's prompt (after `before`, e.g. why the last answer did not work). */
  private askStep(name: string, hops: number, before?: string): void {
    const flow = this.state.flow as ActiveFlow;
    if (hops > MAX_STEP_HOPS) throw new Error(`Dialog ${flow.dialog} skips steps in a loop at ${name}`);
    const step = this.env.dialogs.get(flow.dialog)?.steps[name];
    if (!step) throw new Error(`Dialog ${flow.dialog} has no step ${name}`);
    flow.step = name;
    delete flow.stuckOffer;
    const asked = step.ask(this.context(flow.slots));
    if ('skipTo' in asked) {
      this.enterStep(asked.skipTo, hops + 1);
      return;
    }
    if ('finish' in asked) {
      this.state.flow = null;
      this.replies.push(...asked.say);
      return;
    }
    flow.offered = asked.flatMap((reply) => (reply.kind === 'text' ? (reply.choices ?? []).map((c) => c.id) : []));
    const [first, ...rest] = asked;
    if (before && first?.kind === 'text') this.replies.push({ ...first, text: `${before}\n${first.text}` }, ...rest);
    else this.replies.push(...(before ? [{ kind: 'text' as const, text: before }] : []), ...asked);
  }

  // --- Helpers ------------------------------------------------------------------------------

  private context(slots: Slots): StepContext {
    const { env, state } = this;
    const dateFormat = dateFormatFor(state.locale, env.timeZone);
    const dayFormat = dateFormatFor(state.locale, env.timeZone, 'day');
    const dayTimeFormat = dateFormatFor(state.locale, env.timeZone, 'dayTime');
    return {
      slots,
      locale: state.locale,
      t: (key, vars) => this.t(key, vars),
      pick: (input, choices) =>
        input.choice && choices.some((c) => c.id === input.choice) ? input.choice : env.nlu.matchChoice(input.text, choices, state.locale),
      yesNo: (input) => this.yesNoOf(input),
      isQuestion: (text) => this.isQuestion(text),
      formatDate: (iso) => dateFormat.format(new Date(iso)),
      formatRange: (startIso, endIso) => dateFormat.formatRange(new Date(startIso), new Date(endIso)),
      formatDay: (iso) => dayFormat.format(new Date(iso)),
      formatDayTime: (iso) => dayTimeFormat.format(new Date(iso)),
      channel: this.channel,
      resident: this.resident,
    };
  }

  /** Whether the text holds a word that asks to report an idea ("report", "denunciar"), in any language. */
  private asksToReport(text: string): boolean {
    const words = new Set(foldForMatch(text).split(/[^\p{L}\p{N}]+/u));
    const { i18n } = this.env;
    return i18n.locales.some((locale) => (i18n.keywords(locale).reportIdea ?? []).some((word) => words.has(foldForMatch(word))));
  }

  /** A question mark, or a question's opening words in any language ("why do you...", "para qué..."). */
  private isQuestion(text: string): boolean {
    if (/[?¿]/.test(text)) return true;
    const folded = foldForMatch(text);
    const { i18n } = this.env;
    return i18n.locales.some((locale) =>
      (i18n.keywords(locale).questionStarts ?? []).some((start) => folded === foldForMatch(start) || folded.startsWith(`${foldForMatch(start)} `)),
    );
  }

  private yesNoOf(input: StepInput): 'yes' | 'no' | null {
    if (input.choice === 'yes' || input.choice === 'no') return input.choice;
    return this.env.nlu.yesNo(input.text, this.state.locale);
  }

  private t(key: string, vars?: MessageVars): string {
    const { i18n } = this.env;
    const locale = this.state.locale;
    return i18n.t(
      locale,
      variantKey(key, this.channel, (variant) => i18n.has(locale, variant)),
      { city: this.env.cityName, ...vars },
    );
  }

  private say(key: string, vars?: MessageVars): void {
    this.reply(this.t(key, vars));
  }

  private reply(text: string, choices?: Choice[]): void {
    this.replies.push(choices ? { kind: 'text', text, choices } : { kind: 'text', text });
  }

  private dialogTitle(id: string): string {
    const dialog = this.env.dialogs.get(id);
    return dialog ? this.t(dialog.titleKey) : id;
  }

  private output(outcome?: string): TurnOutput {
    if (outcome) this.trace.outcome = outcome;
    const flow = this.state.flow;
    if (flow) {
      this.trace.dialog ??= flow.dialog;
      this.trace.step = flow.step;
    }
    return { state: this.state, replies: this.replies, effects: this.effects, ...(this.command ? { command: this.command } : {}), trace: this.trace };
  }
}

// Building an Intl.DateTimeFormat costs more than a whole dialog step (measured: 5% of a
// turn's CPU when made per step), so each locale and time zone gets one, made once.
const dateFormats = new Map<string, Intl.DateTimeFormat>();

function dateFormatFor(locale: string, timeZone: string, style: 'medium' | 'day' | 'dayTime' = 'medium'): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone}|${style}`;
  let format = dateFormats.get(key);
  if (!format) {
    // The day alone: a list line on SMS keeps its characters for the title (details say the time).
    const options: Intl.DateTimeFormatOptions =
      style === 'medium'
        ? { dateStyle: 'medium', timeStyle: 'short' }
        : style === 'day'
          ? { month: 'short', day: 'numeric' }
          : { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' };
    dateFormats.set(key, (format = new Intl.DateTimeFormat(locale, { timeZone, ...options })));
  }
  return format;
}

function pick<T extends object, K extends keyof T>(object: T, keys: K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (object[key] !== undefined) picked[key] = object[key];
  return picked;
}
