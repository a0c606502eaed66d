/**
 * The sweep of web chat uploads never attached to a report. An upload is stored as it arrives,
 * before the resident has filed the report it belongs to (and they may never file it, or send
 * another photo instead): the media store's ledger keeps it pending, and this sweep, run now and
 * then by every instance, decides each pending upload older than PHOTO_UNATTACHED_HOURS:
 *
 * - in one of the resident's reports or report updates: attached, no longer pending (kept);
 * - still in a report the resident is filling in (a flow active within its expiry): left pending,
 *   looked at again next time;
 * - otherwise removed, photo and ledger entry.
 *
 * Its work grows with the pending uploads and the reports of their residents, never with all
 * photos or all reports: the ledger lists pending uploads by time, reports are found by their
 * resident's address (an index), updates by their report. It also forgets the ledger entries of
 * attached uploads once they are past the quotas' window. Several instances sweeping at once
 * decide alike; removing a photo twice is harmless.
 */
import type { Logger } from 'pino';
import { errorSummary } from '../../core/errors.js';
import { holdsPhoto } from '../../engine/photo-wanted.js';
import type { EngineEnv } from '../../engine/types.js';
import type { Store } from '../../store/store.port.js';
import { mediaIdIn, type UploadEntry } from '../../store/media-files.js';
import { QUOTA_WINDOW_MS } from './photo-uploads.js';

/** Pending uploads read at a time. */
const PAGE = 200;
/** A resident's reports (and each report's updates) looked through, newest first. */
const REPORTS_LOOKED_AT = 200;
/** The longest wait between two sweeps, and the first one after start. */
const MAX_INTERVAL_MS = 60 * 60 * 1000;
const FIRST_SWEEP_MS = 60 * 1000;

/** What one sweep did. */
export interface SweepResult {
  attached: number;
  kept: number;
  removed: number;
  forgotten: number;
}

/** The sweep, run on a timer once started. */
export interface MediaSweep {
  /** Runs it now (tests give `now`). */
  run(now?: number): Promise<SweepResult>;
  /** Starts the timer (unref'd: it never keeps the process alive). */
  start(): void;
  /** Stops the timer and waits for a sweep in flight; before the store closes. */
  stop(): Promise<void>;
}

/** What the sweep is built from. */
export interface MediaSweepOptions {
  store: Pick<Store, 'media' | 'reports' | 'reportUpdates' | 'reportFollowers' | 'conversations'>;
  engine: Pick<EngineEnv, 'flowExpiresAfterMs'>;
  /** How long an upload may stay unattached (PHOTO_UNATTACHED_HOURS). */
  unattachedMs: number;
  logger: Logger;
  /** How often it runs: by default a quarter of `unattachedMs`, at most an hour. */
  intervalMs?: number;
}

/** The sweep of one service; see the module comment. */
export function createMediaSweep(options: MediaSweepOptions): MediaSweep {
  const { store, engine, unattachedMs, logger } = options;
  const intervalMs = options.intervalMs ?? Math.min(MAX_INTERVAL_MS, Math.max(1000, unattachedMs / 4));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  /** The ids of our photos in a resident's reports and their updates. */
  async function attachedTo(address: string): Promise<Set<string>> {
    const ids = new Set<string>();
    const add = (photos: readonly { url: string }[] | undefined) => {
      for (const photo of photos ?? []) {
        const id = mediaIdIn(photo.url);
        if (id) ids.add(id);
      }
    };
    const reports = await store.reports.find({ field: 'residentAddress', equals: address }, { order: 'desc', limit: REPORTS_LOOKED_AT });
    for (const report of reports) {
      add(report.photos);
      const updates = await store.reportUpdates.find({ field: 'reportId', equals: report._id }, { order: 'desc', limit: REPORTS_LOOKED_AT });
      for (const update of updates) add(update.photos);
    }
    // A photo sent when following someone else's report is in the follower's note on it.
    const follows = await store.reportFollowers.find({ field: 'address', equals: address }, { order: 'desc', limit: REPORTS_LOOKED_AT });
    for (const follow of follows) if (follow.noteId) add((await store.reportUpdates.get(follow.noteId))?.photos);
    return ids;
  }

  async function run(now = Date.now()): Promise<SweepResult> {
    const result: SweepResult = { attached: 0, kept: 0, removed: 0, forgotten: 0 };
    const before = new Date(now - unattachedMs);
    // Per resident, once per sweep: several uploads of one conversation are decided together.
    const attached = new Map<string, Promise<Set<string>>>();
    const states = new Map<string, Promise<unknown>>();
    let after: UploadEntry | undefined;
    for (;;) {
      const page = await store.media.pending(before, PAGE, after);
      for (const upload of page) {
        let ids = attached.get(upload.conversation);
        if (!ids) attached.set(upload.conversation, (ids = attachedTo(upload.conversation)));
        if ((await ids).has(upload.id)) {
          await store.media.settle(upload.id);
          result.attached += 1;
          continue;
        }
        let state = states.get(upload.conversation);
        if (!state) states.set(upload.conversation, (state = store.conversations.get(upload.conversation).then((record) => record?.state)));
        if (holdsPhoto(await state, upload.id, now, engine)) {
          result.kept += 1;
          continue;
        }
        await store.media.remove(upload.id);
        result.removed += 1;
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1];
    }
    result.forgotten = await store.media.forget(new Date(now - QUOTA_WINDOW_MS));
    if (result.removed + result.attached > 0) logger.info({ ...result }, 'swept unattached photo uploads');
    return result;
  }

  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run()
        .catch((error: unknown) => logger.warn({ err: errorSummary(error) }, 'photo upload sweep failed; it runs again later'))
        .finally(() => {
          running = undefined;
          schedule(intervalMs);
        });
    }, delay).unref();
  };

  return {
    run,
    start() {
      if (timer || stopped) return;
      schedule(Math.min(FIRST_SWEEP_MS, intervalMs));
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
