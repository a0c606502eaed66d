/**
 * Photos residents upload through the web chat. The embedded store keeps them as files under
 * DATA_DIR/media (here); the MongoDB store keeps them in the database (GridFS, mongo.store.ts),
 * so every instance serves every photo. Each has a random 128-bit id: its URL is unguessable,
 * and is what a report refers to.
 */
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** The image types accepted, with the file extension each is stored under. */
export const IMAGE_TYPES: Readonly<Record<string, string>> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif' };
const ID = /^[A-Za-z0-9_-]{22}$/;

/** A new photo's id: 128 random bits. */
export function newMediaId(): string {
  return randomBytes(16).toString('base64url');
}

/** Whether a string is a photo's id (anything else is not looked up). */
export function isMediaId(id: string): boolean {
  return ID.test(id);
}

/** Stored photos. */
export interface MediaFiles {
  save(bytes: Buffer, contentType: string): Promise<string>;
  read(id: string): Promise<{ bytes: Buffer; contentType: string } | null>;
  /** Removes a photo; false when there was no such photo. */
  remove(id: string): Promise<boolean>;
}

/** The photos stored in a folder. */
export function createMediaFiles(dir: string): MediaFiles {
  return {
    async save(bytes, contentType) {
      const extension = IMAGE_TYPES[contentType];
      if (!extension) throw new Error('Not an accepted image type');
      await mkdir(dir, { recursive: true });
      const id = newMediaId();
      await writeFile(path.join(dir, `${id}.${extension}`), bytes, { flag: 'wx' });
      return id;
    },
    async read(id) {
      if (!isMediaId(id)) return null;
      for (const [contentType, extension] of Object.entries(IMAGE_TYPES)) {
        try {
          return { bytes: await readFile(path.join(dir, `${id}.${extension}`)), contentType };
        } catch {
          // not this extension
        }
      }
      return null;
    },
    async remove(id) {
      if (!isMediaId(id)) return false;
      for (const extension of Object.values(IMAGE_TYPES)) {
        try {
          await unlink(path.join(dir, `${id}.${extension}`));
          return true;
        } catch {
          // not this extension
        }
      }
      return false;
    },
  };
}
