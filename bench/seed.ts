/**
 * Seeds a benchmark dataset: residents in mid-conversation, with realistic stored records.
 *
 * Run as a child process before the service starts on the same DATA_DIR (or MONGODB_URI). It
 * builds the real service in-process, walks one template resident per channel through the
 * conversation cycle (`lib/script.ts`) twice with real turns, and snapshots the template's
 * records before each step of the second cycle. Each seeded resident then gets a copy of one
 * snapshot with its own address: its profile, its conversation (state, receipts of recent
 * messages with their replies) and the last transcript entries. So stored records have the size
 * and shape real ones have, and every resident is somewhere in the middle of a journey.
 *
 * Before the templates walk, it stores one open report at the cycle's corner (so every report of
 * the cycle is offered what is already there, the first one included) and, when asked, a city's
 * history of reports (`lib/city-reports.ts`) for the reports scenario.
 *
 * Usage: node dist/bench/seed.js '<json SeedRequest>'; prints the SeedPlan as JSON.
 */
import { writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { createService, type Service } from '../src/service.js';
import { channelFacts, type ChannelCapabilities } from '../src/channels/channel.js';
import { SMS_CAPABILITIES } from '../src/channels/sms/sms.channel.js';
import { TELEGRAM_CAPABILITIES } from '../src/channels/telegram/telegram.channel.js';
import { callbackData } from '../src/channels/telegram/telegram-sender.js';
import { WEBCHAT_CAPABILITIES } from '../src/channels/webchat/activity-mapping.js';
import type { Choice, InboundMessage, Reply } from '../src/core/message.js';
import type { ConversationRecord, ResidentRecord, StoredRecord, TranscriptEntryRecord } from '../src/domain/records.js';
import type { Unsaved } from '../src/store/store.port.js';
import { withOpenReportKeys } from '../src/domain/open-report-keys.js';
import { aReport, cornerReport, random } from './lib/city-reports.js';
import {
  BENCH_CHANNELS,
  BENCH_ROLES,
  benchRoleId,
  CYCLE,
  REPORT_CATEGORY,
  REPORT_CORNER,
  residentAddress,
  ROLE_PLACEHOLDER,
  roleOf,
  startPosition,
  type BenchChannel,
  type ConcreteInput,
  type SeedPlan,
} from './lib/script.js';

/** What to seed. */
export interface SeedRequest {
  dataDir: string;
  mongodbUri?: string;
  /** Residents per channel. */
  residents: Record<BenchChannel, number>;
  /** Where to write the plan (JSON). */
  planFile: string;
  /** A city's history of reports to store first (`lib/city-reports.ts`); none when absent. */
  cityReports?: number;
}

/** Transcript entries copied per resident: the latest ones (a long history adds no realism to a turn). */
const TRANSCRIPT_KEPT = 10;
/** Residents written concurrently: LMDB commits the writes queued in one event turn together. */
const CHUNK = 250;
/** A benchmark role's capacity: more than its share of a run's sign-ups. */
const ROLE_CAPACITY = 500;
/** One city report in this many is at the cycle's corner (200 of 100,000). */
const CORNER_SHARE = 500;
/** How else residents write the cycle's corner: one place to the lookup (src/domain/places.ts). */
const CORNER_SPELLINGS = ['Main St & 5th Ave', 'corner of 5th and Main'];
/** The reference of the open report at the cycle's corner before anyone talks. */
const CORNER_REPORT_ID = 'R-9BNCH';
/** The idea every resident's own is offered as similar (issue 21), filed by someone else first. */
const SIMILAR_IDEA_ID = 'I-9BNCH';

const CAPABILITIES: Record<BenchChannel, ChannelCapabilities> = { sms: SMS_CAPABILITIES, telegram: TELEGRAM_CAPABILITIES, webchat: WEBCHAT_CAPABILITIES };
const TEMPLATE_ADDRESS: Record<BenchChannel, string> = {
  sms: 'sms:+16660000001',
  telegram: 'telegram:900000001',
  webchat: 'webchat:bench-template',
};

/** The records of the template resident at one cycle position, before it sends that step. */
interface Snapshot {
  resident: ResidentRecord;
  conversation: ConversationRecord;
  transcripts: TranscriptEntryRecord[];
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '{}') as SeedRequest;
  const started = performance.now();
  const config = loadConfig({
    DATA_DIR: request.dataDir,
    ...(request.mongodbUri ? { MONGODB_URI: request.mongodbUri } : {}),
    LOG_LEVEL: 'silent',
    CITY_NAME: 'Springfield',
  });
  const service = await createService(config, pino({ level: 'silent' }));
  try {
    await insertBenchRoles(service);
    // The city's history first: the residents' conversations are with a city that has one.
    const cityReports = await insertCityReports(service, request.cityReports ?? 0);
    await insertReportAtCorner(service);
    await insertSimilarIdea(service);
    const inputs = {} as Record<BenchChannel, ConcreteInput[]>;
    const snapshots = {} as Record<BenchChannel, Snapshot[]>;
    for (const channel of BENCH_CHANNELS) {
      const template = await walkTemplate(service, channel);
      inputs[channel] = template.inputs;
      snapshots[channel] = template.snapshots;
    }
    let recordsWritten = 0;
    const now = new Date();
    for (const channel of BENCH_CHANNELS) {
      const count = request.residents[channel] ?? 0;
      // The residents who talk during the run (the lowest numbers) last, so their state is freshest.
      for (let end = count; end > 0; end -= CHUNK) {
        const writes: Promise<unknown>[] = [];
        for (let i = Math.max(0, end - CHUNK); i < end; i++) {
          const snapshot = snapshots[channel][startPosition(i)] as Snapshot;
          const records = copyFor(snapshot, { [TEMPLATE_ADDRESS[channel]]: residentAddress(channel, i), [roleOf(0)]: roleOf(i) }, i, now);
          writes.push(service.store.residents.insert(records.resident));
          writes.push(service.store.conversations.insert(records.conversation));
          for (const entry of records.transcripts) writes.push(service.store.transcripts.insert(entry));
          recordsWritten += 2 + records.transcripts.length;
        }
        await Promise.all(writes);
      }
    }
    const plan: SeedPlan = {
      inputs,
      expect: CYCLE.map((step) => step.expect),
      residents: request.residents,
      seconds: (performance.now() - started) / 1000,
      recordsWritten: recordsWritten + cityReports.stored,
      ...(cityReports.stored ? { cityReports } : {}),
    };
    writeFileSync(request.planFile, JSON.stringify(plan, null, 2));
    process.stdout.write(`${JSON.stringify({ seconds: plan.seconds, recordsWritten })}\n`);
  } finally {
    await service.close();
  }
}

/** The roles residents sign up for; they start after the demo roles, so the list shows those. */
async function insertBenchRoles(service: Service): Promise<void> {
  const now = new Date();
  for (let k = 0; k < BENCH_ROLES; k++) {
    await service.store.roles.insert({
      _id: benchRoleId(k),
      title: 'Riverside litter pick',
      description: 'Pick up litter along the river trail for an hour. Gloves and bags provided.',
      interests: ['environment', 'outdoors'],
      neighbourhood: 'Riverside',
      place: 'Riverside Park, north gate',
      startsAt: new Date(now.getTime() + (30 * 24 * 60 + k) * 60_000),
      capacity: ROLE_CAPACITY,
      contact: 'volunteer@example.org',
      status: 'open',
      demo: false,
      createdAt: now,
    });
  }
}

/**
 * The city's history: `count` reports over the city, one in `CORNER_SHARE` of them at the
 * cycle's corner (every category and status, so a few are open reports of the cycle's kind there,
 * found by every report of the cycle), written a chunk at a time.
 */
async function insertCityReports(service: Service, count: number): Promise<NonNullable<SeedPlan['cityReports']>> {
  const next = random(311);
  const now = Date.now();
  const spellings = [REPORT_CORNER, ...CORNER_SPELLINGS];
  const counts = { stored: 0, open: 0, openAtCorner: 0, seconds: 0 };
  const started = performance.now();
  for (let done = 0; done < count;) {
    const writes: Promise<boolean>[] = [];
    for (const end = Math.min(count, done + CHUNK); done < end; done++) {
      const atCorner = done % CORNER_SHARE === CORNER_SHARE - 1;
      const report = atCorner ? cornerReport(done, next, now, spellings) : aReport(done, next, now);
      if (report.statusGroup === 'open') counts.open++;
      if (atCorner && report.statusGroup === 'open' && report.category === REPORT_CATEGORY) counts.openAtCorner++;
      writes.push(service.store.reports.insert(report));
    }
    await Promise.all(writes);
  }
  counts.stored = count;
  counts.seconds = (performance.now() - started) / 1000;
  return counts;
}

/**
 * An open report at the cycle's corner, filed by someone who is not a benchmark resident: so the
 * template's first report is offered it ("already reported?") as every later one is offered the
 * reports before it, and both template cycles have the same turns.
 */
async function insertReportAtCorner(service: Service): Promise<void> {
  const now = new Date();
  await service.store.reports.insert(
    withOpenReportKeys({
      _id: CORNER_REPORT_ID,
      category: REPORT_CATEGORY,
      status: 'open',
      statusGroup: 'open',
      location: { text: REPORT_CORNER },
      description: 'Deep pothole in the crossing, reported before the benchmark',
      photos: [],
      residentAddress: 'sms:+16660000099',
      channel: 'sms',
      locale: 'en',
      createdAt: now,
      updatedAt: now,
    }),
  );
}

/**
 * An idea like the cycle's, made by someone who is not a benchmark resident: so the template's
 * first idea is offered it ("similar ideas?") as every later one is offered those before it, and
 * the resident files theirs anyway; the lookup is part of every idea, as in a busy city.
 */
async function insertSimilarIdea(service: Service): Promise<void> {
  const title = 'Benches at every bus stop';
  await service.store.ideas.insert({
    _id: SIMILAR_IDEA_ID,
    title,
    details: 'Riders have nowhere to sit while they wait',
    authorAddress: 'sms:+16660000098',
    channel: 'sms',
    status: 'new',
    kind: 'idea',
    createdAt: new Date(),
    similarTerms: service.nlu.ideaTerms(title, 'en'),
  });
}

/**
 * Walks the template resident of a channel through the cycle twice with real turns, checking
 * every reply, and returns what it sent in the second cycle and its records before each step.
 */
async function walkTemplate(service: Service, channel: BenchChannel): Promise<{ inputs: ConcreteInput[]; snapshots: Snapshot[] }> {
  const address = TEMPLATE_ADDRESS[channel];
  const { store } = service;
  const now = new Date();
  // A resident who gave their name before: the sign-up asks to confirm it rather than for it.
  await store.residents.insert({
    _id: address,
    address,
    channel,
    locale: 'en',
    optedOut: false,
    // Not in a broadcast's audience: the seeded residents are (see copyFor).
    volunteerCalls: false,
    interests: ['environment'],
    neighbourhood: 'Eastside',
    name: 'Alex Rivera',
    createdAt: now,
    lastSeenAt: now,
  });
  let count = 0;
  let lastReplies: Reply[] = [];
  let filedReport = '';
  const send = async (input: ConcreteInput): Promise<Reply[]> => {
    count += 1;
    const message: InboundMessage = {
      id: `template-${channel}-${count}`,
      channel,
      address,
      text: input.text,
      ...(input.choice ? { choice: input.choice } : {}),
      receivedAt: new Date(),
    };
    const turn = await service.pipeline.handle(message, channelFacts(CAPABILITIES[channel]));
    return turn.replies;
  };
  const inputs: ConcreteInput[] = [];
  const snapshots: Snapshot[] = [];
  for (let cycle = 0; cycle < 2; cycle++) {
    for (const [position, step] of CYCLE.entries()) {
      if (cycle === 1) snapshots.push(await snapshot(service, address));
      const input = concrete(channel, step.say, lastReplies, filedReport);
      lastReplies = await send({ ...input, text: input.text.replace(ROLE_PLACEHOLDER, roleOf(0)) });
      const said = repliesText(lastReplies);
      if (!new RegExp(step.expect).test(said)) {
        throw new Error(`template ${channel}, step ${position} (${JSON.stringify(input)}): expected /${step.expect}/ in:\n${said}`);
      }
      filedReport = /R-[0-9A-Z]{5}/.exec(said)?.[0] ?? filedReport;
      if (cycle === 1) inputs.push(input);
    }
  }
  return { inputs, snapshots };
}

/** What a resident of this channel sends for an abstract step. */
function concrete(channel: BenchChannel, say: (typeof CYCLE)[number]['say'], lastReplies: readonly Reply[], filedReport: string): ConcreteInput {
  if ('text' in say) return { text: say.text };
  if ('statusOfFiledReport' in say) return { text: `status ${filedReport}` };
  if ('roleReference' in say) return { text: ROLE_PLACEHOLDER };
  if (channel === 'sms') return { text: 'choiceId' in say ? say.smsText : (say.smsText ?? String(say.pick)) };
  const choices = lastReplies.flatMap((reply) => (reply.kind === 'text' ? (reply.choices ?? []) : [])) as Choice[];
  const index = 'choiceId' in say ? choices.findIndex((choice) => choice.id === say.choiceId) : say.pick - 1;
  const choice = choices[index];
  if (!choice) throw new Error(`template ${channel}: no choice ${'choiceId' in say ? say.choiceId : say.pick} to pick in ${repliesText(lastReplies)}`);
  // Telegram sends the button's callback data; Web Chat a messageBack value with the choice id.
  return { text: choice.label, choice: channel === 'telegram' ? callbackData(choice.id, index) : choice.id };
}

/** Every text and choice label of a turn's replies, for matching against expectations. */
function repliesText(replies: readonly Reply[]): string {
  return replies
    .map((reply) => (reply.kind === 'text' ? [reply.text, ...(reply.choices ?? []).map((c) => c.label)].join('\n') : (reply.caption ?? '')))
    .join('\n');
}

async function snapshot(service: Service, address: string): Promise<Snapshot> {
  const [resident, conversation, transcripts] = await Promise.all([
    service.store.residents.get(address),
    service.store.conversations.get(address),
    service.store.transcripts.find({ field: 'conversationId', equals: address }, { order: 'desc', limit: TRANSCRIPT_KEPT }),
  ]);
  if (!resident || !conversation) throw new Error(`template ${address} has no records`);
  return { resident, conversation, transcripts };
}

/** A snapshot's records for another resident: its address (and role) everywhere, times made recent. */
function copyFor(
  snapshot: Snapshot,
  replacements: Record<string, string>,
  i: number,
  now: Date,
): { resident: Unsaved<ResidentRecord>; conversation: Unsaved<ConversationRecord>; transcripts: Unsaved<TranscriptEntryRecord>[] } {
  const resident = withoutRev(replaceDeep(snapshot.resident, replacements));
  resident.name = `Resident ${i}`;
  // Every seeded resident opted in to volunteer calls: a broadcast reaches all of them.
  resident.volunteerCalls = true;
  resident.createdAt = new Date(now.getTime() - (i % 365) * 86_400_000);
  resident.lastSeenAt = now;
  const conversation = withoutRev(replaceDeep(snapshot.conversation, replacements));
  conversation.updatedAt = now;
  // The conversation is current: a resident coming back after an hour is asked whether to go on.
  const state = conversation.state as { lastActiveAt?: number };
  state.lastActiveAt = now.getTime();
  const transcripts = snapshot.transcripts.map((entry) => withoutRev(replaceDeep(entry, replacements)));
  return { resident, conversation, transcripts };
}

/** A deep copy with each key of `replacements` replaced by its value in every string (dates stay dates). */
function replaceDeep<T>(value: T, replacements: Record<string, string>): T {
  if (typeof value === 'string') {
    let text: string = value;
    for (const [from, to] of Object.entries(replacements)) text = text.replaceAll(from, to);
    return text as T;
  }
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Array.isArray(value)) return value.map((item) => replaceDeep(item, replacements)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, replaceDeep(item, replacements)])) as T;
  }
  return value;
}

function withoutRev<T extends StoredRecord>(record: T): Unsaved<T> {
  const { _rev: _ignored, ...rest } = record;
  return rest as Unsaved<T>;
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
