/**
 * The conversation the benchmark's residents have: the three journeys (report a problem, check
 * its status, share an idea, sign up for a volunteer role) as one cycle of turns that each
 * resident walks through in order, starting wherever their seeded conversation left off.
 *
 * A step is abstract here ("pick the first choice"); `seed.ts` runs it through the real service
 * once per channel and records what each channel actually sends (SMS "1", a Telegram button's
 * callback data, a Web Chat messageBack value), so the load is what residents' phones send.
 */

import { botFrameworkAddress } from '../../src/channels/webchat/activity-mapping.js';

/** The journeys the mix is made of, for the results table. */
export type Journey = 'report' | 'status' | 'idea' | 'volunteer';

/** What a resident says at one step. */
export type Say =
  /** Free text. */
  | { text: string }
  /** The n-th choice (from 1) of the bot's last question; SMS residents type `smsText` or the number. */
  | { pick: number; smsText?: string }
  /**
   * The choice with this id, wherever the bot's last question lists it; SMS residents type
   * `smsText`. For a choice whose number changes with what the bot found ("File mine anyway"
   * is second after one report offered, third after two).
   */
  | { choiceId: string; smsText: string }
  /** "status <reference>" of the report the resident just filed (the template's reference). */
  | { statusOfFiledReport: true }
  /** The reference of this resident's volunteer role (from a poster or a broadcast), typed. */
  | { roleReference: true };

/** One turn of the cycle: what the resident says and what the bot's answer must contain. */
export interface ScriptStep {
  journey: Journey;
  say: Say;
  /** A pattern the reply (all its texts and button labels) matches when the turn went as planned. */
  expect: string;
}

/** Where every report of the cycle is: a corner as residents write it (a text place, no point). */
export const REPORT_CORNER = '5th and Main';

/** The kind of problem every report of the cycle is about (a category id). */
export const REPORT_CATEGORY = 'pothole';

/**
 * One cycle: 15 turns. After the last step the resident is back at the top level, and the next
 * cycle starts with a new report.
 *
 * Every report is at the same corner, so the bot always offers the open reports already there
 * ("already reported?", issue 18) and the resident files theirs anyway: the lookup is part of
 * every report, as it is for a resident at a busy corner. The seeder stores one open report
 * there first, so the template's very first report meets the offer too and every cycle has the
 * same turns (the pattern matches the three wordings: someone else's report, your own, a list).
 *
 * The volunteer journey lists the open roles, then the resident types the reference of a role
 * (as from a poster or a volunteer call) and signs up. Residents are spread over many roles, so
 * each role collects a realistic number of sign-ups however long the benchmark runs: a listed
 * role's view reads its sign-ups, and one role collecting every sign-up of the run would make
 * turns slower the longer the run, which is not what a city sees.
 */
export const CYCLE: readonly ScriptStep[] = [
  // A description in the opener ("deep"): a bare kind and place is asked for one first.
  { journey: 'report', say: { text: `deep pothole on ${REPORT_CORNER}` }, expect: 'already (be )?reported' },
  { journey: 'report', say: { choiceId: 'file', smsText: 'file mine anyway' }, expect: 'photo' },
  { journey: 'report', say: { pick: 1, smsText: 'skip' }, expect: 'Send this report\\?' },
  { journey: 'report', say: { pick: 1 }, expect: 'R-[0-9A-Z]{5}' },
  { journey: 'status', say: { statusOfFiledReport: true }, expect: 'Status:' },
  { journey: 'idea', say: { text: 'I have an idea' }, expect: 'your idea' },
  // Every idea meets "similar ideas?" (an idea like it is stored first) and is filed anyway.
  { journey: 'idea', say: { text: 'More benches at bus stops' }, expect: 'already suggested|Ideas like yours' },
  { journey: 'idea', say: { choiceId: 'file', smsText: 'file mine' }, expect: 'Tell us more' },
  { journey: 'idea', say: { text: 'Older riders have nowhere to sit while they wait' }, expect: 'neighborhood' },
  { journey: 'idea', say: { text: 'Eastside' }, expect: 'Share it\\?' },
  { journey: 'idea', say: { pick: 1 }, expect: 'I-[0-9A-Z]{5}' },
  // The list's first page ("Roles 1-4 of 105:"; "N open roles" when they fit on one page).
  { journey: 'volunteer', say: { text: 'volunteer' }, expect: 'open roles|Roles 1-\\d+ of \\d+' },
  { journey: 'volunteer', say: { roleReference: true }, expect: 'Sign me up' },
  { journey: 'volunteer', say: { pick: 1 }, expect: 'Sign up as' },
  { journey: 'volunteer', say: { pick: 1 }, expect: 'signed up' },
];

/** The channels the benchmark drives, by their CivicLine channel names. */
export type BenchChannel = 'sms' | 'telegram' | 'webchat';
export const BENCH_CHANNELS: readonly BenchChannel[] = ['sms', 'telegram', 'webchat'];

/** The placeholder in a recorded input for the resident's own role reference. */
export const ROLE_PLACEHOLDER = '{role}';

/** Volunteer roles the benchmark seeds (residents are spread over them). */
export const BENCH_ROLES = 100;

/** The reference of the k-th benchmark role: `V-9` and four more reference characters. */
export function benchRoleId(k: number): string {
  const alphabet = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
  let code = '';
  for (let rest = k, i = 0; i < 4; i++, rest = Math.floor(rest / alphabet.length)) code = alphabet[rest % alphabet.length] + code;
  return `V-9${code}`;
}

/** The role the i-th resident of a channel signs up for. */
export function roleOf(i: number): string {
  return benchRoleId(i % BENCH_ROLES);
}

/** What a resident sends at one step on one channel, as recorded by the seeder. */
export interface ConcreteInput {
  /** The text the provider delivers (a typed text, or a button's label); may hold ROLE_PLACEHOLDER. */
  text: string;
  /** The choice id (Web Chat messageBack value) or callback data (Telegram) of a pressed button. */
  choice?: string;
}

/** What the seeder writes next to a dataset: the concrete inputs per channel and position. */
export interface SeedPlan {
  /** For each channel, `inputs[p]` is what a resident at cycle position `p` sends next. */
  inputs: Record<BenchChannel, ConcreteInput[]>;
  /** `expect[p]`: the pattern of the reply to `inputs[p]` (same on every channel). */
  expect: string[];
  /** Residents per channel in the dataset; the first `active` of each are the ones who talk. */
  residents: Record<BenchChannel, number>;
  /** Seeding figures (`recordsWritten` counts the city reports too). */
  seconds: number;
  recordsWritten: number;
  /** The city's history stored with the residents, when asked for. */
  cityReports?: {
    stored: number;
    /** Of them open (what the duplicate-search indexes hold). */
    open: number;
    /** Open reports of the cycle's kind at its corner: what every report of the cycle finds. */
    openAtCorner: number;
    seconds: number;
  };
}

/** The address of the i-th seeded resident of a channel (the same in seed.ts and the load). */
export function residentAddress(channel: BenchChannel, i: number): string {
  switch (channel) {
    case 'sms':
      return `sms:${smsNumber(i)}`;
    case 'telegram':
      return `telegram:${telegramChatId(i)}`;
    case 'webchat':
      // The Bot Framework's address of the conversation the load's activities name (channel `webchat`).
      return botFrameworkAddress(WEBCHAT_CHANNEL_ID, webchatConversationId(i));
  }
}

/** The Bot Framework channel id the load's Web Chat activities carry. */
export const WEBCHAT_CHANNEL_ID = 'webchat';

/** The E.164 number of the i-th SMS resident (+1 555 and seven digits: up to ten million). */
export function smsNumber(i: number): string {
  return `+1555${String(i).padStart(7, '0')}`;
}

/** The Telegram chat (and user) id of the i-th Telegram resident. */
export function telegramChatId(i: number): number {
  return 1_000_000_000 + i;
}

/** The Bot Framework conversation id of the i-th Web Chat resident. */
export function webchatConversationId(i: number): string {
  return `bench-conversation-${i}`;
}

/**
 * How far apart in the cycle consecutive residents start: a step coprime with the cycle's length,
 * or residents would start at only some positions (7 with 14 turns: positions 0 and 7 only, so
 * a run measured two steps of the cycle, not all of them). Not 1, so neighbours in the request
 * order are at different journeys.
 */
const START_STRIDE = [7, 5, 3, 11, 13].find((stride) => gcd(stride, CYCLE.length) === 1) ?? 1;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Where in the cycle the i-th resident's seeded conversation stands (spread evenly). */
export function startPosition(i: number): number {
  return (i * START_STRIDE) % CYCLE.length;
}
