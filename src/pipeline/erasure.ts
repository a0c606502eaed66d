/**
 * Erasing a resident ("delete my data"). Afterwards no record is keyed by the resident's address
 * or holds it, and none holds their words or photos:
 *
 * - Deleted: the profile, the conversation and its transcript, the web chat's log, what was sent
 *   to them (outbound messages, broadcast deliveries), hand-off requests, volunteer sign-ups (the
 *   spot goes to the waitlist, as when they withdraw), supports they gave, their ideas with the
 *   supports others gave them (an idea is nothing but its author's words), their replies on their
 *   reports, every photo of ours they sent (uploads, attached to a report or not), and the
 *   per-address markers: the idempotency markers of reports and ideas they created (`created|`),
 *   a Bot Framework conversation reference, a Telegram keyboard.
 * - Unlinked: their answers to "is it fixed?" keep the yes or no and the rating for the city's
 *   numbers, without the address and the comment.
 * - Kept for the city without the link: their reports, reduced to what the city needs to fix the
 *   problem and count its work: category, place, status, dates and the staff's updates. The
 *   description and the photos go.
 * - Kept under a keyed hash of the address (HMAC-SHA256 with the address-hash secret; a plain
 *   hash of a phone number is undone by trying the ten billion numbers): the consent events, the
 *   proof of an opt-out or opt-in that carriers and the law ask us to keep, and one tombstone that
 *   says whether they had opted out (a new first contact starts opted out then: the carrier STOP is
 *   still honoured) and which of their messages were processed (a provider's retry of one is
 *   answered as a duplicate, not taken as a new message).
 *
 * The web chat keeps where its deleted log ended (`webchat-floor|<conversation id>`, a number): an
 * open browser's positions must not go back. The id is random and, after this, names nothing.
 *
 * What the store deleted can still be read in its free pages until it is compacted
 * (`npm run staff -- compact`): erasures leave a marker that the compaction clears.
 */
import { createHmac } from 'node:crypto';
import type { MediaRef } from '../core/message.js';
import type { ConversationRecord, IdeaNotice, IdeaRecord } from '../domain/records.js';
import { COMPACTION_PENDING } from '../store/compaction.js';
import { mediaIdIn } from '../store/media-files.js';
import { storedSecret } from '../store/stored-secret.js';
import type { Collections, Store } from '../store/store.port.js';
import { isVotingOver } from '../domain/ballots.js';
import type { CommandScope } from './command-runner.js';
import { sourceKeyOf } from './turn-pipeline.js';
import { unlinkSurveys } from './report-surveys.js';
import { IDEA_NOTICE_ID_ATTEMPTS, ideaNoticeBroadcastId } from './idea-support.js';

/** Stands for a report's description once its author deleted their data (the schema asks for one). */
export const ERASED_TEXT = '[deleted]';
/** Stands for a report's author once they deleted their data (an address of no channel). */
export const ERASED_AUTHOR = 'deleted';
/** More records of one kind than one resident can have: a find for them reads them all. */
const ALL = 100_000;
/** How many of an erasure's writes are made together (see `inChunks`). */
const AT_ONCE = 64;
/**
 * The tombstone remembers this many of the resident's last messages: a provider's retry, or a
 * captured webhook replayed, of one of them is refused as a duplicate (32 bytes each).
 */
const TOMBSTONE_RECEIPTS = 1_000;

/** What is known of an address whose data was deleted, for its next first contact. */
export interface ErasedAddress {
  /** They had opted out: a new profile starts opted out. */
  optedOut: boolean;
  /** Whether a message (by its source key, see `sourceKeyOf`) was processed before the deletion. */
  answered(sourceKey: string): Promise<boolean>;
}

/** The tombstone's value in `meta`. */
interface Tombstone {
  optedOut: boolean;
  /** Keyed hashes of the source keys of their last messages. */
  receipts: string[];
}

/** What a keyed hash stands for: each purpose hashes differently, so no two records share one. */
type HashPurpose = 'address' | 'created' | 'receipt' | 'consent';

/** What the erasure needs besides the store. */
export interface ErasureOptions {
  /** ADDRESS_HASH_SECRET; without it, one made on first use and kept in the store. */
  secret?: string | undefined;
  /** A confirmed sign-up was deleted: promote from the shift's (or role's) waitlist. */
  spotFreed?: ((roleId: string, shiftId: string | undefined, now: Date) => Promise<void>) | undefined;
}

/** Erases residents, and answers for addresses erased before. */
export class Erasure {
  private secret: Promise<Buffer> | undefined;

  constructor(
    private readonly store: Collections & Pick<Store, 'media'>,
    private readonly options: ErasureOptions = {},
  ) {}

  /** A keyed hash of a text (an address, a source key) for one purpose: 32 URL-safe characters. */
  async hash(purpose: HashPurpose, text: string): Promise<string> {
    this.secret ??= this.options.secret
      ? Promise.resolve(Buffer.from(this.options.secret))
      : storedSecret(this.store, 'address-hash-secret').catch((error: unknown) => {
          this.secret = undefined; // the store failed: read it again next time
          throw error;
        });
    return createHmac('sha256', await this.secret)
      .update(`${purpose}\0${text}`)
      .digest('base64url')
      .slice(0, 32);
  }

  /**
   * The id of the marker that makes creating a report or idea happen once per inbound message.
   * Hashed: the source key holds the address, and the marker would link the report to it.
   */
  async createdMarker(sourceKey: string): Promise<string> {
    return `created|#${await this.hash('created', sourceKey)}`;
  }

  /** What is known of an erased address, or null when it was never erased. */
  async lookup(address: string): Promise<ErasedAddress | null> {
    const found = await this.store.meta.get(`erased|${await this.hash('address', address)}`);
    const tombstone = found?.value as Partial<Tombstone> | undefined;
    if (!tombstone) return null;
    const receipts = new Set(tombstone.receipts ?? []);
    return {
      optedOut: tombstone.optedOut === true,
      answered: async (sourceKey) => receipts.has(await this.hash('receipt', sourceKey)),
    };
  }

  /** Deletes what we hold about the resident at `scope.address`; see the module comment. Safe to run again. */
  async erase(scope: Pick<CommandScope, 'address' | 'sourceKey' | 'now'>): Promise<void> {
    const { store } = this;
    const { address } = scope;
    const alias = await this.hash('address', address);

    // First what the records to delete lead to: the messages (for markers) and the photos. The
    // transcript and the web chat log, where these are read, go last, so that a retry of an
    // erasure that died half-way finds them again.
    const [earlier, conversation, resident, transcript, webchatLog, reports, ideas] = await Promise.all([
      store.meta.get(`erased|${alias}`),
      store.conversations.get(address),
      store.residents.get(address),
      store.transcripts.find({ field: 'conversationId', equals: address }, { limit: ALL }),
      address.startsWith('webchat:') ? store.webchatActivities.find({ field: 'conversationId', equals: address.slice('webchat:'.length) }, { limit: ALL }) : [],
      store.reports.find({ field: 'residentAddress', equals: address }, { limit: ALL }),
      store.ideas.find({ field: 'authorAddress', equals: address }, { limit: ALL }),
    ]);
    const updates = (await Promise.all(reports.map((report) => store.reportUpdates.find({ field: 'reportId', equals: report._id }, { limit: ALL })))).flat();
    // Their replies to updates; a follower's words on their report are the follower's, and stay.
    const replies = updates.filter((update) => update.by === 'resident' && !update.follower);
    const messageKeys = messagesOf(conversation, transcript);

    // Only photos they uploaded themselves: on our own web chat (Direct Line) a resident's
    // attachments come from its upload endpoint alone, so the photos in what they sent there are
    // theirs. A URL of ours anywhere else (typed in a message, a Bot Framework attachment, which
    // the client chooses, a report's photo list) may be someone else's photo, and is left alone:
    // erasing one resident once deleted another's report photo that way.
    const photos = isDirectLineAddress(address)
      ? new Set([
          ...transcript.flatMap((entry) => (entry.direction === 'in' ? ownMediaIn(entry.media) : [])),
          ...webchatLog.flatMap((entry) => ownMediaIn(userAttachmentsOf(entry.activity))),
        ])
      : new Set<string>();
    await inChunks([...photos], (id) => store.media.remove(id));
    // Oldest first, this message last. Each message may have created a report or an idea: its
    // marker is deleted in the hashed form and in the plain one earlier versions wrote.
    const sourceKeys = [...new Set([...messageKeys.map((key) => sourceKeyOf(address, key)), scope.sourceKey])];
    await inChunks(sourceKeys, async (sourceKey) => {
      await store.meta.delete(await this.createdMarker(sourceKey));
      await store.meta.delete(`created|${sourceKey}`);
    });

    await inChunks(replies, (update) => store.reportUpdates.delete(update._id));
    // One marker for every erased author, with no time in it: a time would match the moment of
    // the erasure, and so link the report to the tombstone of the address it came from.
    await inChunks(reports, (report) => store.reports.upsert({ ...report, residentAddress: ERASED_AUTHOR, description: ERASED_TEXT, photos: [] }));
    await inChunks(ideas, async (idea) => {
      await inChunks(await store.ideaSupports.find({ field: 'ideaId', equals: idea._id }, { limit: ALL }), (support) => store.ideaSupports.delete(support._id));
      await inChunks(await store.ideaReports.find({ field: 'ideaId', equals: idea._id }, { limit: ALL }), (report) => store.ideaReports.delete(report._id));
      // Its notices (reached, answered) quote its title: the words go, and what is not sent yet is not (the worker skips an idea that is gone).
      await inChunks(ideaNoticeIds(idea._id), (id) => scrubIdeaNotice(store, id, idea._id));
      // Other residents' ideas merged into it are theirs, with their own supports (a merge copies
      // them): shown again rather than pointing at nothing, hidden for good.
      await inChunks(await store.ideas.find({ field: 'mergedInto', equals: idea._id }, { limit: ALL }), (merged) => unmerge(store, merged));
      await store.ideas.delete(idea._id);
    });
    await inChunks(await store.signups.find({ field: 'address', equals: address }, { limit: ALL }), async (signup) => {
      await store.signups.delete(signup._id);
      // Their spot goes to the next on the waitlist, as when they cancel.
      if (signup.status === 'confirmed') await this.options.spotFreed?.(signup.roleId, signup.shiftId, scope.now);
    });
    // Supports they gave, broadcast deliveries (a planned one is skipped at send time too: no
    // profile), messages sent to them, hand-off requests, jobs that write to them (a staff
    // reply's text): found by their address.
    await inChunks(await store.ideaSupports.find({ field: 'address', equals: address }, { limit: ALL }), (support) => store.ideaSupports.delete(support._id));
    // Ideas they reported (with their words, for `other`): the report goes, the idea's count and any hide stay.
    await inChunks(await store.ideaReports.find({ field: 'address', equals: address }, { limit: ALL }), (report) => store.ideaReports.delete(report._id));
    // Reports they follow: the words and photos they added go, then the follow itself (in this
    // order, so a retry still finds the words through the follow).
    await inChunks(await store.reportFollowers.find({ field: 'address', equals: address }, { limit: ALL }), async (follow) => {
      if (follow.noteId) await store.reportUpdates.delete(follow.noteId);
      await store.reportFollowers.delete(follow._id);
    });
    await inChunks(await store.deliveries.find({ field: 'address', equals: address }, { limit: ALL }), (delivery) => store.deliveries.delete(delivery._id));
    await inChunks(await store.outbound.find({ field: 'address', equals: address }, { limit: ALL }), (message) => store.outbound.delete(message._id));
    await inChunks(await store.handoffs.find({ field: 'address', equals: address }, { limit: ALL }), (handoff) => store.handoffs.delete(handoff._id));
    await inChunks(await store.jobs.find({ field: 'address', equals: address }, { limit: ALL }), (job) => store.jobs.delete(job._id));
    // Their answers to "is it fixed?" stay as numbers, without the address or their comment.
    await unlinkSurveys(store, address);
    // Ballot votes (issue 21): in a ballot still open the vote goes (they may vote again, once);
    // in one that is over it stays as picks under the keyed hash, so its result does not change.
    await inChunks(await store.ballotVotes.find({ field: 'address', equals: address }, { limit: ALL }), async ({ _rev, ...vote }) => {
      const ballot = await store.ballots.get(vote.ballotId);
      if (ballot && isVotingOver(ballot, scope.now)) {
        await store.ballotVotes.insert({ ...vote, _id: `${vote.ballotId}|erased:${alias}`, address: `erased:${alias}` });
      }
      await store.ballotVotes.delete(vote._id);
    });
    await inChunks(await store.consentEvents.find({ field: 'address', equals: address }, { limit: ALL }), async ({ _id, _rev, ...kept }) => {
      // Kept as proof, under the keyed hash: inserted before the original goes, so a retry finds one or the other.
      await store.consentEvents.insert({ ...kept, _id: `consent|#${await this.hash('consent', _id)}`, address: `erased:${alias}` });
      await store.consentEvents.delete(_id);
    });

    if (address.startsWith('webchat:')) {
      // Positions go on after the deleted ones: an open browser's watermark must not go back.
      const last = webchatLog.reduce((max, entry) => Math.max(max, entry.seq), -1);
      if (last >= 0) await store.meta.upsert({ _id: `webchat-floor|${address.slice('webchat:'.length)}`, value: last });
      await inChunks(webchatLog, (entry) => store.webchatActivities.delete(entry._id));
      await store.meta.delete(`botframework-reference|${address}`);
    }
    if (address.startsWith('telegram:')) await store.meta.delete(`telegram-keyboard|${address.slice('telegram:'.length)}`);
    await inChunks(transcript, (entry) => store.transcripts.delete(entry._id));

    // Added to one an earlier erasure left (they came back, or that erasure died half-way after
    // deleting the profile: then the opt-out is what it kept).
    const before = earlier?.value as Partial<Tombstone> | undefined;
    const receipts = await Promise.all(sourceKeys.map((key) => this.hash('receipt', key)));
    const tombstone: Tombstone = {
      optedOut: resident ? resident.optedOut : before?.optedOut === true,
      receipts: [...new Set([...(before?.receipts ?? []), ...receipts])].slice(-TOMBSTONE_RECEIPTS),
    };
    await store.meta.upsert({ _id: `erased|${alias}`, value: tombstone });
    await store.residents.delete(address);
    // A turn that erased writes nothing back (the pipeline's `forget`).
    await store.conversations.delete(address);
    // Insert-if-absent: it tells when the oldest deletion not yet compacted away happened.
    await store.meta.insert({ _id: COMPACTION_PENDING, value: scope.now.toISOString() });
  }
}

/**
 * The ids every notice an idea can have may hold: reached, and answered with each status staff
 * can give, at each reference a notice may take (`queueIdeaNotice` tries the next when one is taken).
 */
function ideaNoticeIds(ideaId: string): string[] {
  const notices: Pick<IdeaNotice, 'event' | 'ideaId' | 'status'>[] = [
    { event: 'reached', ideaId, status: 'under_review' },
    ...(['under_review', 'accepted', 'not_planned'] as const).map((status) => ({ event: 'answered' as const, ideaId, status })),
  ];
  return notices.flatMap((notice) => Array.from({ length: IDEA_NOTICE_ID_ATTEMPTS }, (_, attempt) => ideaNoticeBroadcastId(notice, attempt)));
}

/**
 * Replaces the erased idea's title in one of its notices (revision-checked; none: nothing to do).
 * Only a notice of that idea: another broadcast may hold one of the references it could have taken.
 */
async function scrubIdeaNotice(store: Pick<Collections, 'broadcasts'>, id: string, ideaId: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const broadcast = await store.broadcasts.get(id);
    if (!broadcast?.ideaNotice || broadcast.ideaNotice.ideaId !== ideaId || broadcast.ideaNotice.title === ERASED_TEXT) return;
    if (await store.broadcasts.replace({ ...broadcast, ideaNotice: { ...broadcast.ideaNotice, title: ERASED_TEXT } }, broadcast._rev)) return;
  }
}

/** Takes an idea out of the merge that pointed it at an erased idea (revision-checked; gone or changed: left as it is). */
async function unmerge(store: Pick<Collections, 'ideas'>, merged: IdeaRecord): Promise<void> {
  let current: IdeaRecord | null = merged;
  for (let attempt = 0; attempt < 5 && current?.mergedInto; attempt++) {
    const { mergedInto: _gone, ...rest } = current;
    if (await store.ideas.replace(rest, current._rev)) return;
    current = await store.ideas.get(merged._id);
  }
}

/**
 * Runs `work` on every item, AT_ONCE at a time: writes made together share one commit on the
 * embedded store, and go over the connection pool together on MongoDB. Erasing a resident with
 * 1,000 messages took 9.5 s on the embedded store and 15 s on FerretDB one write at a time, past
 * the SMS webhook's 10 s; 0.4 s and 6.4 s so (measured).
 */
async function inChunks<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += AT_ONCE) await Promise.all(items.slice(i, i + AT_ONCE).map(work));
}

/**
 * The keys (`<channel>:<id>`) of the messages a resident sent, oldest first: every inbound
 * transcript entry, and the receipts of the conversation (a message whose transcript entry a
 * crash left unwritten).
 */
function messagesOf(
  conversation: ConversationRecord | null,
  transcript: readonly { direction: string; channel: string; providerMessageId?: string | undefined }[],
): string[] {
  const keys = transcript.flatMap((entry) => (entry.direction === 'in' && entry.providerMessageId ? [`${entry.channel}:${entry.providerMessageId}`] : []));
  // `out|...` receipts are notifications the city sent, not messages.
  const receipts = (conversation?.recentInbound ?? []).map((receipt) => receipt.key).filter((key) => !key.startsWith('out|'));
  return [...new Set([...keys, ...receipts])];
}

/** The ids of our own stored photos among media references. */
function ownMediaIn(refs: readonly { url?: unknown }[] | undefined): string[] {
  return (refs ?? []).flatMap((ref) => {
    const id = typeof ref.url === 'string' ? mediaIdIn(ref.url) : null;
    return id ? [id] : [];
  });
}

/** The attachments of an activity a resident sent (not the bot's), as media references. */
function userAttachmentsOf(activity: unknown): { url?: unknown }[] {
  const { from, attachments } = (activity ?? {}) as { from?: { role?: unknown }; attachments?: unknown };
  if (from?.role === 'bot' || !Array.isArray(attachments)) return [];
  return attachments.map((attachment: { contentUrl?: unknown } | null) => ({ url: attachment?.contentUrl }));
}

/** The self-hosted web chat's addresses (`webchat:<id>`), not the Bot Framework's (`webchat:bf:...`). */
function isDirectLineAddress(address: string): boolean {
  return address.startsWith('webchat:') && !address.startsWith('webchat:bf:');
}
