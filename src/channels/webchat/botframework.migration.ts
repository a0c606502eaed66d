/**
 * Moves what the Bot Framework kept under the address space it used to share with the city's
 * own web chat (`webchat:<conversationId>`, issue 16 finding 8) to its own
 * (`webchat:bf:<channelId>:<conversationId>`, see `botFrameworkAddress`): the resident, their
 * conversation and transcript, and every record that names them (reports, ideas, supports,
 * sign-ups, broadcast deliveries, outbound messages, hand-offs, consent events, the conversation
 * reference).
 *
 * Which residents are the Bot Framework's: the ones with a stored conversation reference (only the
 * Bot Framework writes one) and no Direct Line log (only Direct Line writes one, and keeps where a
 * deleted log ended). A resident with both is a Direct Line resident whose id a Bot Framework
 * activity named (the bug itself): they stay, and the stray reference goes, so nothing is ever
 * routed to the Bot Framework for them. Their two conversations were one record, which cannot be
 * told apart afterwards.
 *
 * Run by the service at start, before it takes a turn. Idempotent and safe to repeat after a
 * crash at any point (a test cuts it off at every write): copies are inserts that keep what is
 * there, fields are changed only where they still name the old address (revision-checked), and a
 * resident's old records go last. A run finds a resident by their record and tells them by their
 * reference, and both go at the end, so which old address is being removed is written first (in
 * `meta`, `MIGRATION_RUN`), and the next run finishes that removal before anything else. Several
 * instances starting at once each run it; they insert the same copies and skip what another
 * moved. A marker in `meta` makes later starts one read.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { messageKey } from '../../core/message.js';
import type { StoredRecord, TranscriptEntryRecord } from '../../domain/records.js';
import { inboundKeyOf } from '../../pipeline/turn-pipeline.js';
import type { Collection, Collections, Unsaved } from '../../store/store.port.js';
import { botFrameworkAddress, isBotFrameworkAddress } from './activity-mapping.js';
import { referenceId } from './botframework.channel.js';

/** The `meta` record that says the migration ran, with what it did. */
export const BOT_FRAMEWORK_ADDRESSES_MIGRATION = 'migrated:botframework-addresses';
/** The `meta` record of a run in progress: the old address whose records are being removed. */
const MIGRATION_RUN = 'migrating:botframework-addresses';

/** How often a record that another writer changed meanwhile is read and tried again. */
const WRITE_ATTEMPTS = 5;

/** What one run did. */
export interface BotFrameworkMigrationOutcome {
  /** Bot Framework residents moved to their own addresses. */
  moved: number;
  /** Direct Line residents that also had a Bot Framework reference (it was removed). */
  keptOnDirectLine: number;
  /** Residents with a reference that does not name their address (left as they were). */
  unreadable: number;
}

/**
 * The address the Bot Framework gave a conversation before it had its own space: the one Direct
 * Line still uses (long ids hashed, as the store's keys are short).
 */
export function sharedWebchatAddress(conversationId: string): string {
  return `webchat:${conversationId.length <= 120 ? conversationId : createHash('sha256').update(conversationId).digest('hex')}`;
}

/** Moves Bot Framework residents out of Direct Line's address space, once per store; null when it had run before. */
export async function migrateBotFrameworkAddresses(store: Collections, logger: Logger): Promise<BotFrameworkMigrationOutcome | null> {
  // A run cut off while it removed a resident's old records: finish that first.
  const run = await store.meta.get(MIGRATION_RUN);
  if (run) {
    const removing = (run.value as { removing?: unknown } | null)?.removing;
    if (typeof removing === 'string') await removeOld(store, removing);
    await store.meta.delete(MIGRATION_RUN);
  }
  if (await store.meta.get(BOT_FRAMEWORK_ADDRESSES_MIGRATION)) return null;
  const outcome: BotFrameworkMigrationOutcome = { moved: 0, keptOnDirectLine: 0, unreadable: 0 };
  // Every resident: the one index of residents is a boolean, so its two values are all of them.
  // Read once, at the first start of this version.
  for (const volunteerCalls of [true, false]) {
    for (const resident of await store.residents.find({ field: 'volunteerCalls', equals: volunteerCalls })) {
      if (resident.channel !== 'webchat' || isBotFrameworkAddress(resident.address)) continue;
      const reference = await store.meta.get(referenceId(resident.address));
      if (!reference) continue; // Direct Line's (or one whose data was deleted: nothing names them)
      const conversationId = resident.address.slice('webchat:'.length);
      const onDirectLine =
        (await store.webchatActivities.find({ field: 'conversationId', equals: conversationId }, { limit: 1 })).length > 0 ||
        (await store.meta.get(`webchat-floor|${conversationId}`)) !== null;
      if (onDirectLine) {
        await store.meta.delete(reference._id);
        outcome.keptOnDirectLine += 1;
        continue;
      }
      const target = targetOf(reference.value, resident.address);
      if (!target) {
        outcome.unreadable += 1;
        continue;
      }
      await moveResident(store, resident.address, target, reference.value);
      outcome.moved += 1;
    }
  }
  await store.meta.upsert({ _id: BOT_FRAMEWORK_ADDRESSES_MIGRATION, value: { at: new Date().toISOString(), ...outcome } });
  // Counts only: addresses are residents' identities.
  // A new store has nobody to move: nothing to say on a first start.
  if (outcome.moved + outcome.keptOnDirectLine + outcome.unreadable > 0)
    logger.info({ channel: 'webchat', ...outcome }, 'moved Bot Framework residents to their own addresses');
  if (outcome.keptOnDirectLine > 0) {
    logger.warn(
      { channel: 'webchat', residents: outcome.keptOnDirectLine },
      'web chat residents had both a Direct Line log and a Bot Framework reference: kept on Direct Line, the reference removed',
    );
  }
  return outcome;
}

/** The new address of the resident at `from`, from their conversation reference; null when it does not name `from`. */
function targetOf(reference: unknown, from: string): string | null {
  const { channelId, conversation } = (reference ?? {}) as { channelId?: unknown; conversation?: { id?: unknown } };
  const conversationId = conversation?.id;
  if (typeof channelId !== 'string' || !channelId || typeof conversationId !== 'string' || !conversationId) return null;
  return sharedWebchatAddress(conversationId) === from ? botFrameworkAddress(channelId, conversationId) : null;
}

/** Moves one resident's records from one address to another; see the module comment for the order. */
async function moveResident(store: Collections, from: string, to: string, reference: unknown): Promise<void> {
  // Copies under ids made of the address. Inserts: a copy already there (a run cut off, another
  // instance) is kept as it is.
  await store.meta.insert({ _id: referenceId(to), value: reference });
  const conversation = await store.conversations.get(from);
  if (conversation) await store.conversations.insert({ ...unsaved(conversation), _id: to, address: to });
  const transcript = await store.transcripts.find({ field: 'conversationId', equals: from });
  for (const entry of transcript) {
    await store.transcripts.insert({ ...unsaved(entry), _id: movedId(entry._id, from, to), conversationId: to, ...inboundKeyAt(entry, to) });
  }
  // Records keyed by `<something>|<address>`: a copy under the new id, then the old one goes.
  for (const collection of [store.ideaSupports, store.ideaReports, store.signups, store.deliveries] as Collection<StoredRecord & { address: string }>[]) {
    for (const record of await collection.find({ field: 'address', equals: from })) {
      await collection.insert({ ...unsaved(record), _id: movedId(record._id, from, to), address: to });
      await collection.delete(record._id);
    }
  }
  // Records that only name the address: the field changes, the id stays.
  for (const report of await store.reports.find({ field: 'residentAddress', equals: from })) {
    await rewrite(store.reports, report, (r) => (r.residentAddress === from ? { ...r, residentAddress: to } : null));
  }
  for (const idea of await store.ideas.find({ field: 'authorAddress', equals: from })) {
    await rewrite(store.ideas, idea, (r) => (r.authorAddress === from ? { ...r, authorAddress: to } : null));
  }
  for (const collection of [store.outbound, store.handoffs, store.consentEvents] as Collection<StoredRecord & { address: string }>[]) {
    for (const record of await collection.find({ field: 'address', equals: from })) {
      await rewrite(collection, record, (r) => (r.address === from ? { ...r, address: to } : null));
    }
  }
  const resident = await store.residents.get(from);
  if (resident) await store.residents.insert({ ...unsaved(resident), _id: to, address: to });
  // Everything is copied: the old records go, said first so that a run cut off meanwhile is finished.
  await store.meta.upsert({ _id: MIGRATION_RUN, value: { removing: from } });
  await removeOld(store, from);
  await store.meta.delete(MIGRATION_RUN);
}

/** Removes a moved resident's records from their old address (the ones the move copied). */
async function removeOld(store: Collections, from: string): Promise<void> {
  for (const entry of await store.transcripts.find({ field: 'conversationId', equals: from })) await store.transcripts.delete(entry._id);
  await store.conversations.delete(from);
  await store.residents.delete(from);
  await store.meta.delete(referenceId(from));
}

/**
 * An inbound entry's replay key for its new address: made of the address, it finds a provider's
 * message delivered again long after (see the turn pipeline), which must go on working after the move.
 */
function inboundKeyAt(entry: TranscriptEntryRecord, address: string): Pick<TranscriptEntryRecord, 'inboundKey'> {
  if (!entry.inboundKey || entry.providerMessageId === undefined) return {};
  return { inboundKey: inboundKeyOf(address, messageKey({ channel: entry.channel, id: entry.providerMessageId })) };
}

/** Writes `change(record)` with a revision check, reading again when another writer came first; a null change is nothing to do. */
async function rewrite<T extends StoredRecord>(collection: Collection<T>, first: T, change: (record: T) => T | null): Promise<void> {
  let current: T | null = first;
  for (let attempt = 0; current && attempt < WRITE_ATTEMPTS; attempt++) {
    const next = change(current);
    if (!next || (await collection.replace(next, current._rev))) return;
    current = await collection.get(first._id);
  }
  if (current && change(current)) throw new Error('A record kept changing while its address was being moved');
}

/** An id made of the address (`<address>#<n>` or `<x>|<address>`), with the new address in it. */
function movedId(id: string, from: string, to: string): string {
  if (id.startsWith(`${from}#`)) return `${to}${id.slice(from.length)}`;
  if (id.endsWith(`|${from}`)) return `${id.slice(0, id.length - from.length)}${to}`;
  throw new Error('A record keyed by an address holds it in an unexpected place');
}

/** A stored record as one to write: the store sets the revision. */
function unsaved<T extends StoredRecord>(record: T): Unsaved<T> {
  const { _rev: _revision, ...rest } = record;
  return rest as Unsaved<T>;
}
