/**
 * What the embedded store did during a run: LMDB numbers its write transactions, so the last
 * transaction id before and after a run says how many commits the run's turns cost. (Each commit
 * is a round trip to LMDB's writer thread and a flush to disk; commits of concurrent turns that
 * arrive together are grouped into one.)
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { open } from 'lmdb';

/** The id of the last committed write transaction in an embedded store folder, or null. */
export async function lastTxnId(dataDir: string): Promise<number | null> {
  if (!existsSync(path.join(dataDir, 'data.mdb'))) return null;
  const root = open({ path: dataDir, noSubdir: false, maxDbs: 64, readOnly: true });
  try {
    const stats = root.getStats() as { lastTxnId?: number };
    return typeof stats.lastTxnId === 'number' ? stats.lastTxnId : null;
  } finally {
    await root.close();
  }
}
