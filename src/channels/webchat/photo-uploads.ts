/**
 * Photo uploads of the web chat (Direct Line's multipart `upload`): read as a stream straight
 * into the media store, never held whole in memory, within caps that keep a flood of photos from
 * filling the disk. Each refusal is a status, a stable code and a message (the JSON body), and a
 * locale key for the resident, since Web Chat itself only shows "Send failed":
 *
 * | status | code                       | when                                                   |
 * |--------|----------------------------|--------------------------------------------------------|
 * | 409    | `photo_not_expected`       | no report in progress, no report update to answer      |
 * | 413    | `photo_too_large`          | a photo over PHOTO_MAX_MB, or a body larger than any upload |
 * | 413    | `too_many_photos`          | more than FILES_PER_UPLOAD photos in one upload        |
 * | 415    | `not_a_photo`              | not a JPEG, PNG, WebP or GIF (by its type and bytes)   |
 * | 429    | `photo_quota_conversation` | the conversation's photos of the last 24 hours         |
 * | 429    | `photo_quota_address`      | the client address's photos or bytes of the last 24 h  |
 * | 507    | `photo_storage_full`       | all stored photos would pass PHOTO_STORAGE_MB          |
 *
 * 507 (Insufficient Storage) rather than 503: the service is up, and waiting does not help until
 * photos are removed or the cap is raised. A limit passed while a photo is being read stops the
 * storing at once and removes what was stored of it (and of the upload's other photos); the route
 * reads and drops the rest of the body before it answers (see `drain` there).
 *
 * The day's counts are the media store's ledger (shared by every instance on one database).
 * Uploads in flight are counted in this instance only (reserved up to the request's declared
 * size, before anything is read): with several instances, each may let in what it has in flight
 * beyond a cap.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import busboy from 'busboy';
import type { PhotoLimits } from '../../config.js';
import { KeyedMutex } from '../../pipeline/keyed-mutex.js';
import { IMAGE_TYPES, type MediaFiles, type UploadOwner } from '../../store/media-files.js';

/** The most photos one upload may carry (Web Chat sends every file picked in one). */
export const FILES_PER_UPLOAD = 4;
/** The quotas' window: a conversation's or an address's uploads count for this long. */
export const QUOTA_WINDOW_MS = 24 * 60 * 60 * 1000;
/** The largest activity part (the JSON Web Chat sends with the files). */
const ACTIVITY_MAX = 64 * 1024;
/** Room for the multipart headers and boundaries around the parts. */
const MULTIPART_SLACK = 64 * 1024;
/** Bytes read before a photo's type is checked against its first bytes (WebP needs 12). */
const SNIFF_BYTES = 12;

/** Why an upload is refused: the HTTP answer, and what the resident is told (a locale key). */
export interface Refusal {
  status: 400 | 409 | 413 | 415 | 429 | 500 | 507;
  code: string;
  error: string;
  notice?: string;
  vars?: Record<string, number>;
  /** Over the flood brake: answered as any message over it is (Retry-After). */
  retryAfterSeconds?: number;
  /** A failure of ours (the store), thrown by the route for the error handler to log. */
  cause?: unknown;
}

/** An uploaded photo, stored. */
export interface StoredPhoto {
  id: string;
  contentType: string;
  name?: string;
}

/** The refusals, worded for the caps in force. */
export function refusals(limits: Pick<PhotoLimits, 'maxBytes'>) {
  const megabytes = Math.floor((limits.maxBytes / (1024 * 1024)) * 100) / 100;
  return {
    notExpected: {
      status: 409,
      code: 'photo_not_expected',
      error: 'A photo is taken while reporting a problem, or in reply to an update on a report: start a report first',
      notice: 'upload.not_expected',
    },
    tooLarge: { status: 413, code: 'photo_too_large', error: `A photo may be at most ${megabytes} MB`, notice: 'upload.too_large', vars: { max: megabytes } },
    tooMany: {
      status: 413,
      code: 'too_many_photos',
      error: `At most ${FILES_PER_UPLOAD} photos at once`,
      notice: 'upload.too_many',
      vars: { max: FILES_PER_UPLOAD },
    },
    notAPhoto: { status: 415, code: 'not_a_photo', error: 'Only photos (JPEG, PNG, WebP, GIF) can be sent', notice: 'unsupported.content' },
    conversationQuota: {
      status: 429,
      code: 'photo_quota_conversation',
      error: 'This conversation has sent as many photos as it may in a day',
      notice: 'upload.quota',
    },
    addressQuota: { status: 429, code: 'photo_quota_address', error: 'This address has sent as many photos as it may in a day', notice: 'upload.quota' },
    storageFull: { status: 507, code: 'photo_storage_full', error: 'No room for more photos: try again later', notice: 'upload.storage_full' },
  } as const satisfies Record<string, Refusal>;
}

/** A malformed upload: a 400, with nothing for the resident (Web Chat never sends one). */
function malformed(error: string): Refusal {
  return { status: 400, code: 'malformed_upload', error };
}

/** The most bytes an upload's body may hold: its photos at their largest, the activity, the multipart framing. */
export function maxUploadBytes(limits: Pick<PhotoLimits, 'maxBytes'>): number {
  return FILES_PER_UPLOAD * limits.maxBytes + ACTIVITY_MAX + MULTIPART_SLACK;
}

/**
 * The key the ledger counts a client address under: a hash, so the address is not stored as
 * such (an IPv4 address could still be found by trying them all). An IPv6 client counts by its
 * /64, the block one subscriber gets: counted by whole address, one home had billions of them.
 */
export function clientKey(address: string | undefined): string {
  return createHash('sha256')
    .update(clientBlock(address ?? 'unknown'))
    .digest('base64url')
    .slice(0, 22);
}

/** An IPv4 address as it is (also when IPv4-mapped); an IPv6 address as its first 64 bits. */
export function clientBlock(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The slowest an upload may arrive once it has had `graceMs` to get going (mobile uplinks are slower at first). */
export const UPLOAD_PACE = { graceMs: 30_000, minBytesPerSecond: 16 * 1024 } as const;

/**
 * Watches a request body's pace and destroys the request when, after the grace time, it has
 * arrived slower on average than the pace: a body trickling a byte every few seconds would hold
 * its reservation of the photo caps for as long as the server lets it.
 */
export function cutOffIfSlow(req: IncomingMessage, pace: { graceMs: number; minBytesPerSecond: number }): { stop(): void } {
  const started = Date.now();
  let received = 0;
  const count = (chunk: Buffer) => (received += chunk.length);
  req.on('data', count);
  const timer = setInterval(
    () => {
      const seconds = (Date.now() - started) / 1000;
      if (seconds * 1000 >= pace.graceMs && received / seconds < pace.minBytesPerSecond) req.destroy();
    },
    Math.max(10, Math.min(5_000, pace.graceMs / 3)),
  );
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      req.off('data', count);
    },
  };
}

/** One upload's share of the caps, taken before anything is read. */
export interface Reservation {
  /** Counts one more photo: null when it may be stored, else why not. */
  photo(): Refusal | null;
  /** Counts `count` more bytes of photos: null when they may be stored, else why not. */
  bytes(count: number): Refusal | null;
  /** Gives back what was reserved (once the upload's photos are stored, or not). */
  release(): void;
}

/** The caps on uploads, for one service instance; see the module comment. */
export interface PhotoBudget {
  /** An upload's share of the caps, at most `upToBytes` (its declared size), or why there is none. */
  reserve(owner: UploadOwner, upToBytes: number): Promise<Reservation | Refusal>;
}

/** The caps of `limits` over the photos `media` keeps. */
export function createPhotoBudget(media: MediaFiles, limits: PhotoLimits, now: () => number = Date.now): PhotoBudget {
  const refused = refusals(limits);
  // What uploads in flight in this instance have reserved, not yet in the store's counts.
  const held = { bytes: 0, conversations: new Map<string, number>(), clients: new Map<string, { photos: number; bytes: number }>() };
  // One reservation at a time: each one sees the ones before it, in flight or stored.
  const turns = new KeyedMutex();
  const capOf = (cap: number) => (cap > 0 ? cap : Infinity);

  return {
    reserve(owner, upToBytes) {
      return turns.run('reserve', async () => {
        // Read before the store's counts: an upload that finishes meanwhile is in one or both, never neither.
        const heldConversation = held.conversations.get(owner.conversation) ?? 0;
        const heldClient = held.clients.get(owner.client) ?? { photos: 0, bytes: 0 };
        const heldBytes = held.bytes;
        const [usage, stored] = await Promise.all([
          media.usage(owner, new Date(now() - QUOTA_WINDOW_MS)),
          limits.storageBytes > 0 ? media.totalBytes() : Promise.resolve(0),
        ]);
        const left = {
          conversation: capOf(limits.perConversation) - usage.conversationPhotos - heldConversation,
          clientPhotos: capOf(limits.perAddress.photos) - usage.clientPhotos - heldClient.photos,
          clientBytes: capOf(limits.perAddress.bytes) - usage.clientBytes - heldClient.bytes,
          storage: capOf(limits.storageBytes) - stored - heldBytes,
        };
        if (left.conversation <= 0) return refused.conversationQuota;
        if (left.clientPhotos <= 0 || left.clientBytes <= 0) return refused.addressQuota;
        if (left.storage <= 0) return refused.storageFull;
        // The tightest bound on photos and on bytes, and the refusal passing it earns.
        const photoCap = tightest(
          [FILES_PER_UPLOAD, refused.tooMany],
          [left.conversation, refused.conversationQuota],
          [left.clientPhotos, refused.addressQuota],
        );
        const byteCap = tightest([upToBytes, refused.tooLarge], [left.clientBytes, refused.addressQuota], [left.storage, refused.storageFull]);

        held.bytes += byteCap.amount;
        held.conversations.set(owner.conversation, heldConversation + photoCap.amount);
        held.clients.set(owner.client, { photos: heldClient.photos + photoCap.amount, bytes: heldClient.bytes + byteCap.amount });
        let photos = 0;
        let bytes = 0;
        let released = false;
        return {
          photo: () => (++photos > photoCap.amount ? photoCap.refusal : null),
          bytes: (count) => ((bytes += count) > byteCap.amount ? byteCap.refusal : null),
          release() {
            if (released) return;
            released = true;
            held.bytes -= byteCap.amount;
            const conversation = (held.conversations.get(owner.conversation) ?? 0) - photoCap.amount;
            if (conversation > 0) held.conversations.set(owner.conversation, conversation);
            else held.conversations.delete(owner.conversation);
            const client = held.clients.get(owner.client) ?? { photos: 0, bytes: 0 };
            if (client.photos - photoCap.amount > 0)
              held.clients.set(owner.client, { photos: client.photos - photoCap.amount, bytes: client.bytes - byteCap.amount });
            else held.clients.delete(owner.client);
          },
        };
      });
    },
  };
}

function tightest(...bounds: [number, Refusal][]): { amount: number; refusal: Refusal } {
  const [amount, refusal] = bounds.reduce((a, b) => (b[0] < a[0] ? b : a));
  return { amount, refusal };
}

/** What reading an upload needs. */
export interface UploadReading {
  media: MediaFiles;
  owner: UploadOwner;
  reservation: Reservation;
  limits: Pick<PhotoLimits, 'maxBytes'>;
  /**
   * Checks the activity part before any photo is stored (validation, the flood brake): null to go
   * on, else the refusal. Web Chat sends the activity first; photos before it are refused.
   */
  accept(activity: Record<string, unknown>): Promise<Refusal | null>;
}

/** What came of reading an upload: its activity and stored photos, or why it was refused (nothing stored then). */
export type UploadOutcome = { activity: Record<string, unknown>; photos: StoredPhoto[] } | { refused: Refusal };

/** A refusal carried through a stream as its error. */
class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.error);
  }
}

/**
 * Reads a Direct Line upload, storing each photo as it arrives. Stops at the first problem: the
 * request is unpiped (the caller discards the rest), the photo being stored is cut off, and
 * every photo of the upload stored so far is removed.
 */
export function readUpload(req: IncomingMessage, reading: UploadReading): Promise<UploadOutcome> {
  const refused = refusals(reading.limits);
  return new Promise((resolve) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        // The activity may come as a file (Web Chat sends it as a Blob): one file more than the photos.
        limits: {
          files: FILES_PER_UPLOAD + 1,
          fields: 2,
          parts: FILES_PER_UPLOAD + 3,
          fieldSize: ACTIVITY_MAX,
          fileSize: Math.max(reading.limits.maxBytes, ACTIVITY_MAX) + 1,
        },
      });
    } catch {
      resolve({ refused: malformed('Expected multipart/form-data') });
      return;
    }
    const photos: StoredPhoto[] = [];
    const work: Promise<unknown>[] = [];
    const gates = new Set<PhotoGate>();
    let activity: Record<string, unknown> | null = null;
    let accepted: Promise<boolean> | null = null;
    let problem: Refusal | null = null;
    let finishing = false;

    const finish = () => {
      if (finishing) return;
      finishing = true;
      void (async () => {
        // Work added while waiting (a part busboy had already read) sees `problem` and stores nothing.
        for (let settled = 0; settled < work.length;) {
          const batch = work.slice(settled);
          settled = work.length;
          await Promise.allSettled(batch);
        }
        if (problem) {
          await Promise.all(photos.map((photo) => reading.media.remove(photo.id).catch(() => false)));
          resolve({ refused: problem });
        } else if (!activity) resolve({ refused: malformed('Missing the activity part') });
        else if (photos.length === 0) resolve({ refused: malformed('No photo in the upload') });
        else resolve({ activity, photos });
      })();
    };
    const fail = (refusal: Refusal) => {
      if (problem) return;
      problem = refusal;
      req.unpipe(parser);
      for (const gate of gates) gate.destroy(new Refused(refusal));
      finish();
    };

    /** Takes the activity part (its text once read, null if it was not): parsed, then checked. */
    const takeActivity = (json: Promise<string | null>) => {
      if (accepted) return fail(malformed('More than one activity part'));
      accepted = json
        .then(async (text) => {
          if (text === null || problem) return false;
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            return (fail(malformed('The activity part is not JSON')), false);
          }
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return (fail(malformed('The activity part is not a JSON object')), false);
          activity = parsed as Record<string, unknown>;
          const refusal = await reading.accept(activity);
          return refusal ? (fail(refusal), false) : true;
        })
        .catch((error: unknown) => (fail({ status: 500, code: 'internal', error: 'Could not take the upload', cause: error }), false));
      work.push(accepted);
    };

    parser.on('field', (name, value, info) => {
      if (name !== 'activity' || problem) return;
      if (info.valueTruncated) return fail(malformed('The activity part is too large'));
      takeActivity(Promise.resolve(value));
    });
    parser.on('file', (name, stream, info) => {
      // A body that ends in the middle of a file: the parser reports it, but the file's stream
      // errors too, and an 'error' nobody listens to would take the whole process down.
      stream.on('error', () => fail(malformed('Malformed multipart body')));
      if (problem) return void stream.resume();
      if (name === 'activity') {
        // Read here, whole (it is small): the photos after it wait for its check.
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > ACTIVITY_MAX) fail(malformed('The activity part is too large'));
          else chunks.push(chunk);
        });
        takeActivity(
          new Promise((resolve) => {
            stream.on('end', () => resolve(problem ? null : Buffer.concat(chunks).toString('utf8')));
            stream.on('error', () => resolve(null));
          }),
        );
        return;
      }
      if (!accepted) {
        stream.resume();
        return fail(malformed('The activity part must come before the photos'));
      }
      const refusal = IMAGE_TYPES[info.mimeType] ? reading.reservation.photo() : refused.notAPhoto;
      if (refusal) {
        stream.resume();
        return fail(refusal);
      }
      const checked = accepted;
      work.push(
        (async () => {
          // Nothing is stored for an activity refused (invalid, or its sender over the brake).
          if (!(await checked) || problem) return void stream.resume();
          const gate = new PhotoGate(info.mimeType, reading.limits.maxBytes, reading.reservation, refused);
          // Its refusal reaches `save` (which may start reading it a moment later, and then finds
          // it failed); an 'error' nobody listens to would take the whole process down.
          gate.on('error', () => {});
          gates.add(gate);
          stream.on('limit', () => gate.destroy(new Refused(refused.tooLarge)));
          stream.pipe(gate);
          try {
            const id = await reading.media.save(gate, info.mimeType, reading.owner);
            photos.push({ id, contentType: info.mimeType, ...(info.filename ? { name: info.filename.slice(0, 100) } : {}) });
          } catch (error) {
            fail(error instanceof Refused ? error.refusal : { status: 500, code: 'internal', error: 'Could not store the photo', cause: error });
          } finally {
            gates.delete(gate);
          }
        })(),
      );
    });
    parser.on('filesLimit', () => fail(refused.tooMany));
    parser.on('partsLimit', () => fail(malformed('Too many parts')));
    parser.on('fieldsLimit', () => fail(malformed('Too many fields')));
    parser.on('error', () => fail(malformed('Malformed multipart body')));
    parser.on('close', finish);
    // A client that goes away mid-upload: nothing more will come, and what was stored goes.
    req.on('close', () => {
      if (!req.complete) fail(malformed('The upload was cut off'));
    });
    req.pipe(parser);
  });
}

/**
 * Passes a photo's bytes on while they keep within the caps, once its first bytes show it is the
 * image type it says (a renamed HTML file is not a photo); fails with the refusal otherwise.
 */
class PhotoGate extends Transform {
  private head: Buffer[] = [];
  private headBytes = 0;
  private size = 0;
  private sniffed = false;

  constructor(
    private readonly contentType: string,
    private readonly maxBytes: number,
    private readonly reservation: Reservation,
    private readonly refused: ReturnType<typeof refusals>,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    const over = this.size > this.maxBytes ? this.refused.tooLarge : this.reservation.bytes(chunk.length);
    if (over) return callback(new Refused(over));
    if (this.sniffed) return callback(null, chunk);
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < SNIFF_BYTES) return callback();
    this.release(callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.sniffed) return callback();
    this.release(callback);
  }

  private release(callback: TransformCallback): void {
    const head = Buffer.concat(this.head);
    this.head = [];
    if (!looksLike(this.contentType, head)) return callback(new Refused(this.refused.notAPhoto));
    this.sniffed = true;
    callback(null, head);
  }
}

/** The image's first bytes match its declared type. */
function looksLike(contentType: string, bytes: Buffer): boolean {
  const starts = (hex: string) => bytes.subarray(0, hex.length / 2).equals(Buffer.from(hex, 'hex'));
  switch (contentType) {
    case 'image/jpeg':
      return starts('ffd8ff');
    case 'image/png':
      return starts('89504e470d0a1a0a');
    case 'image/gif':
      return starts('474946383');
    case 'image/webp':
      return starts('52494646') && bytes.subarray(8, 12).toString('latin1') === 'WEBP';
    default:
      return false;
  }
}
