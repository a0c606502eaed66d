/**
 * What the city sent that a resident's next messages may answer, as data: one row per kind of
 * follow-up, saying when a reply may answer it and which comes first when several are live
 * (STYLE.md: "replies to what the city sent are one mechanism"). How each kind reads a reply is
 * the reader of the same name in advance.ts; a new kind is a row here, a reader and its dialog.
 */
import type { FollowUp } from './types.js';

/** When a resident's message may be read as an answer to a live follow-up. */
export type FollowUpReach =
  /** Every message (but STOP / HELP): a person holds the conversation. */
  | 'every_message'
  /** Outside any flow, or over a flow when it is the first message since the city sent it. */
  | 'first_reply_or_no_flow'
  /** Only outside any flow (and not while the bot asks whether to resume one). */
  | 'no_flow';

/** One kind's row. */
export interface FollowUpKind {
  /** Read first when several are live: higher first, then the latest sent. */
  priority: number;
  reach: FollowUpReach;
}

/** Every kind of follow-up. */
export const FOLLOW_UP_KINDS: Readonly<Record<FollowUp['kind'], FollowUpKind>> = {
  // A person answering from the staff inbox: the bot stays quiet until they hand back.
  staff_conversation: { priority: 3, reach: 'every_message' },
  // "yes" / "no" to a volunteer call; words that are neither go to the inbox. A call, "is it
  // fixed?", "Did you make it?" and a shift reminder all take a bare "1" / "2" / "yes" / "no", so
  // they rank together and the latest sent is read first: that is the question the resident just
  // read. A call once ranked above the others ("its yes signs up for something with a date"), so
  // the "yes" to a later "Did you make it?" or "is it fixed?" signed the resident up for the
  // called role while its window (days) lasted.
  volunteer_call: { priority: 1.5, reach: 'first_reply_or_no_flow' },
  // "Is R-7K3QX really fixed?": "yes" / "no" starts the survey (a rating, a comment). Like a call,
  // the resident's first reply answers it over a flow (the job that asks waits until no flow is
  // live, so that flow was left a while ago); above a broadcast and a report's update, whose
  // readers only take words the survey's "yes" / "no" reader leaves.
  fix_survey: { priority: 1.5, reach: 'first_reply_or_no_flow' },
  // "Did you make it to Food bank packing?" after a shift: the same kind of yes / no question as
  // "is it fixed?", asked by a job that waits likewise until no flow is live.
  shift_checkin: { priority: 1.5, reach: 'first_reply_or_no_flow' },
  // A ballot sent by broadcast (issue 21): a reply of numbers ("1 3", "1 y 3") votes; anything
  // else is left to the kinds below (a question in words still reaches a person). Above a plain
  // broadcast, whose reader would hand "1 3" to the inbox as words; below the survey and a call,
  // whose "1" / "2" mean yes / no to their own question, unless the ballot came after them
  // (advance.ts `votesFirst`: the latest sent reads a lone "1" / "2").
  ballot: { priority: 1.2, reach: 'first_reply_or_no_flow' },
  // "Reply 1 to confirm, 2 if you can't make it" before a shift (issue 20), with the yes / no
  // questions above. It stays live until the shift ends (two days and more after a 48 h reminder),
  // so ranked above them it took the answer to a later "Did you make it?" about another shift or
  // "is it fixed?". The job that sends it waits until no flow is live.
  shift_reminder: { priority: 1.5, reach: 'first_reply_or_no_flow' },
  // Any other broadcast: a reply in words ("what time does it start?") goes to the inbox.
  broadcast: { priority: 1, reach: 'first_reply_or_no_flow' },
  // "still broken" after a report's update is added to the report.
  report_update: { priority: 0, reach: 'no_flow' },
};

/** The live follow-ups a message may answer, in the order they are read. */
export function followUpsToRead(live: readonly FollowUp[], where: { inFlow: boolean; paused: boolean; firstReply: boolean }): FollowUp[] {
  const reachable = live.filter((followUp) => {
    switch (FOLLOW_UP_KINDS[followUp.kind].reach) {
      case 'every_message':
        return true;
      case 'first_reply_or_no_flow':
        return !where.inFlow || where.firstReply;
      case 'no_flow':
        return !where.inFlow && !where.paused;
    }
  });
  return reachable.sort((a, b) => FOLLOW_UP_KINDS[b.kind].priority - FOLLOW_UP_KINDS[a.kind].priority || b.sentAt - a.sentAt);
}
