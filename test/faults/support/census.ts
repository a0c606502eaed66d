/**
 * How many records each collection of an embedded store holds, read through a second, read-only
 * LMDB handle (lmdb-js shares the environment with a store open in the same process), plus the
 * photo files under DATA_DIR/media: "nothing stored" is checked as "no count changed".
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { open } from 'lmdb';
import { COLLECTION_NAMES } from '../../../src/store/collections.js';

/** Records per collection, and `media` files. */
export type Census = Record<string, number>;

export async function census(dataDir: string): Promise<Census> {
  const root = open({ path: dataDir, noSubdir: false, maxDbs: 64, readOnly: true });
  try {
    const counts: Census = {};
    for (const name of COLLECTION_NAMES) counts[name] = root.openDB({ name, useVersions: true }).getCount();
    const media = path.join(dataDir, 'media');
    counts.media = existsSync(media) ? readdirSync(media, { recursive: true }).length : 0;
    return counts;
  } finally {
    await root.close();
  }
}

/** The collections whose counts differ, as `name: before → after`. */
export function changes(before: Census, after: Census): string[] {
  return Object.keys({ ...before, ...after })
    .filter((name) => before[name] !== after[name])
    .map((name) => `${name}: ${before[name]} → ${after[name]}`);
}
