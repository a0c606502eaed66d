/**
 * Photos residents upload through the web chat. The embedded store keeps them as files under
 * DATA_DIR/media (here); the MongoDB store keeps them in the database (GridFS, mongo.store.ts),
 * so every instance serves every photo. Each has a random 128-bit id: its URL is unguessable,
 * and is what a report refers to.
 *
 * A photo is written as it arrives (a stream), never held whole in memory, and a stream that
 * fails (a limit passed, the client gone) leaves nothing behind. Each upload is also entered in a
 * ledger: who sent it (the conversation, and a key for the client's address), its size and time,
 * and whether it is still pending (not yet found in a report or a report update). The ledger
 * answers the upload quotas (what a conversation or an address sent in the last day) and the
 * sweep of uploads never attached to a report, with work that grows with the recent uploads,
 * never with all photos or all reports: settled entries are forgotten once past the quota window.
 * The ledger entry is written before the photo, so a crash in between leaves a pending entry the
 * sweep removes, never a photo nobody accounts for.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database } from 'lmdb';

/** The image types accepted, with the file extension each is stored under. */
export const IMAGE_TYPES: Readonly<Record<string, string>> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif' };
const ID = /^[A-Za-z0-9_-]{22}$/;
/** A file being written: renamed to its photo's name once complete. */
const PARTIAL = '.part';

/** A new photo's id: 128 random bits. */
export function newMediaId(): string {
  return randomBytes(16).toString('base64url');
}

/** The URL path our own photos are served at (`/v3/directline/media/<id>`, direct-line.routes.ts). */
const MEDIA_URL = /\/v3\/directline\/media\/([A-Za-z0-9_-]{22})$/;

/** The id of a photo of ours in a photo URL (`.../v3/directline/media/<id>`), or null for anyone else's. */
export function mediaIdIn(url: string): string | null {
  return MEDIA_URL.exec(url)?.[1] ?? null;
}

/** Whether a string is a photo's id (anything else is not looked up). */
export function isMediaId(id: string): boolean {
  return ID.test(id);
}

/** Who sent an upload. */
export interface UploadOwner {
  /** The resident's address (`webchat:<conversation id>`). */
  conversation: string;
  /** A key for the client address it came from (a hash: the ledger keeps no IP address). */
  client: string;
}

/** An upload as the ledger has it. */
export interface UploadEntry extends UploadOwner {
  id: string;
  bytes: number;
  at: Date;
  /** Not yet found attached to a report or a report update (see the sweep). */
  pending: boolean;
}

/** What one owner uploaded since a time: photos kept or pending, removed ones not counted. */
export interface UploadUsage {
  conversationPhotos: number;
  clientPhotos: number;
  clientBytes: number;
}

/** Stored photos, and the ledger of uploads. */
export interface MediaFiles {
  /**
   * Stores a photo, bytes or a stream read to its end, and returns its id. With `owner` it is an
   * upload, entered in the ledger as pending. When the stream fails, nothing of the photo stays
   * stored (nor in the ledger) and the stream's error is thrown.
   */
  save(content: Buffer | Readable, contentType: string, owner?: UploadOwner): Promise<string>;
  /** A photo's bytes (for the staff pages, which check its size). */
  read(id: string): Promise<{ bytes: Buffer; contentType: string } | null>;
  /** A photo as a stream, to serve it without holding it in memory. */
  open(id: string): Promise<{ stream: Readable; contentType: string; bytes: number } | null>;
  /** Removes a photo and its ledger entry; false when there was no such photo. */
  remove(id: string): Promise<boolean>;
  /** The bytes all stored photos take (kept up to date by this process; see each adapter). */
  totalBytes(): Promise<number>;
  /** The photos `owner`'s conversation, and the bytes and photos its client address, uploaded since `since`. */
  usage(owner: UploadOwner, since: Date): Promise<UploadUsage>;
  /** Pending uploads made before `before`, oldest first, from after `after` (the last of a previous page). */
  pending(before: Date, limit: number, after?: Pick<UploadEntry, 'id' | 'at'>): Promise<UploadEntry[]>;
  /** Marks an upload attached: no longer pending (its ledger entry stays until `forget`). */
  settle(id: string): Promise<void>;
  /** Drops the ledger entries of attached uploads made before `before`; returns how many. */
  forget(before: Date): Promise<number>;
}

/** A ledger entry as the embedded store keeps it (times as epoch ms). */
export interface StoredUploadEntry extends UploadOwner {
  bytes: number;
  at: number;
  pending: boolean;
}

/** The photos stored in a folder, with their ledger in an LMDB database of the embedded store. */
export function createMediaFiles(dir: string, ledger: Database<StoredUploadEntry, string>): MediaFiles {
  // The folder's bytes, counted once (the first time a photo is stored or the total asked for),
  // then kept up to date here: the embedded store is one process's, so nobody else writes it.
  // The count also removes what a crash left half-written.
  let total: Promise<{ bytes: number }> | undefined;
  const counted = () => (total ??= countFolder(dir));

  const locate = async (id: string): Promise<{ file: string; contentType: string; bytes: number } | null> => {
    if (!isMediaId(id)) return null;
    for (const [contentType, extension] of Object.entries(IMAGE_TYPES)) {
      const file = path.join(dir, `${id}.${extension}`);
      try {
        return { file, contentType, bytes: (await stat(file)).size };
      } catch {
        // not this extension
      }
    }
    return null;
  };

  const entries = (): UploadEntry[] => [...ledger.getRange()].map(({ key, value }) => ({ ...value, id: key, at: new Date(value.at) }));

  return {
    async save(content, contentType, owner) {
      const extension = IMAGE_TYPES[contentType];
      if (!extension) throw new Error('Not an accepted image type');
      const folder = await counted();
      const id = newMediaId();
      const entry = owner && { conversation: owner.conversation, client: owner.client, bytes: 0, at: Date.now(), pending: true };
      if (entry) await ledger.put(id, entry);
      const file = path.join(dir, `${id}.${extension}`);
      const partial = `${file}${PARTIAL}`;
      let bytes = 0;
      try {
        const source = Buffer.isBuffer(content) ? Readable.from([content]) : content;
        await pipeline(
          source,
          async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              bytes += chunk.length;
              yield chunk;
            }
          },
          createWriteStream(partial, { flags: 'wx' }),
        );
        await rename(partial, file);
      } catch (error) {
        await unlink(partial).catch(() => {});
        if (entry) await ledger.remove(id).catch(() => {});
        throw error;
      }
      folder.bytes += bytes;
      if (entry) await ledger.put(id, { ...entry, bytes });
      return id;
    },

    async read(id) {
      const found = await locate(id);
      return found ? { bytes: await readFile(found.file), contentType: found.contentType } : null;
    },

    async open(id) {
      const found = await locate(id);
      return found ? { stream: createReadStream(found.file), contentType: found.contentType, bytes: found.bytes } : null;
    },

    async remove(id) {
      const found = await locate(id);
      if (isMediaId(id)) await ledger.remove(id);
      if (!found) return false;
      const folder = await counted();
      try {
        await unlink(found.file);
      } catch {
        return false; // removed meanwhile
      }
      folder.bytes -= found.bytes;
      return true;
    },

    async totalBytes() {
      return (await counted()).bytes;
    },

    async usage(owner, since) {
      const usage: UploadUsage = { conversationPhotos: 0, clientPhotos: 0, clientBytes: 0 };
      for (const entry of entries()) {
        if (entry.at < since) continue;
        if (entry.conversation === owner.conversation) usage.conversationPhotos += 1;
        if (entry.client === owner.client) {
          usage.clientPhotos += 1;
          usage.clientBytes += entry.bytes;
        }
      }
      return usage;
    },

    async pending(before, limit, after) {
      const later = (entry: UploadEntry) => !after || entry.at > after.at || (entry.at.getTime() === after.at.getTime() && entry.id > after.id);
      return entries()
        .filter((entry) => entry.pending && entry.at < before && later(entry))
        .sort((a, b) => a.at.getTime() - b.at.getTime() || (a.id < b.id ? -1 : 1))
        .slice(0, limit);
    },

    async settle(id) {
      const entry = ledger.get(id);
      if (entry?.pending) await ledger.put(id, { ...entry, pending: false });
    },

    async forget(before) {
      const old = entries().filter((entry) => !entry.pending && entry.at < before);
      await Promise.all(old.map((entry) => ledger.remove(entry.id)));
      return old.length;
    },
  };
}

/** The bytes of the photos in a folder (made if missing); files a crash left half-written are removed. */
async function countFolder(dir: string): Promise<{ bytes: number }> {
  await mkdir(dir, { recursive: true });
  let bytes = 0;
  for (const name of await readdir(dir)) {
    const file = path.join(dir, name);
    if (name.endsWith(PARTIAL)) await unlink(file).catch(() => {});
    else
      bytes += await stat(file).then(
        (found) => (found.isFile() ? found.size : 0),
        () => 0,
      );
  }
  return { bytes };
}
