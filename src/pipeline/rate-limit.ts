/**
 * Token buckets, one per key (a resident's address, a client's IP), kept in this process's
 * memory. A key may take `burst` at once and then `perMinute` a minute. Per instance, not
 * shared: several instances behind a load balancer each allow that much, so this is a brake on
 * floods, not a quota.
 */

/** How fast a key may go: 0 per minute means no limit. */
export interface RateLimit {
  perMinute: number;
  burst: number;
}

/**
 * What `take` decided. `firstRefusal` is true for the first refusal of a flood: the next one is
 * first again only after the key has gone quiet long enough for its bucket to fill up.
 */
export type Take = { ok: true } | { ok: false; retryAfterMs: number; firstRefusal: boolean };

interface Bucket {
  tokens: number;
  at: number;
  refused: boolean;
  /** Ids let through lately: a provider's retry of one of them is let through again, free. */
  recent: string[];
}

/** Ids remembered per key, for retries (a provider retries within minutes, a few times at most). */
const RECENT_IDS = 8;

/** Token buckets by key; see the module comment. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private sweepAt: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly options: { maxTracked?: number; now?: () => number } = {},
  ) {
    this.perMs = limit.perMinute / 60_000;
    this.sweepAt = options.maxTracked ?? 50_000;
  }

  /** Whether limiting is on at all. */
  get enabled(): boolean {
    return this.limit.perMinute > 0 && this.limit.burst > 0;
  }

  /** Takes a token for `key`; a repeated `id` (a retry of something let through) costs none. */
  take(key: string, id?: string): Take {
    if (!this.enabled) return { ok: true };
    const now = this.options.now?.() ?? Date.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      this.makeRoom(now);
      bucket = { tokens: this.limit.burst, at: now, refused: false, recent: [] };
      this.buckets.set(key, bucket);
    }
    if (id !== undefined && bucket.recent.includes(id)) return { ok: true };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    // Quiet for long enough: a later flood is a new one.
    if (bucket.tokens >= this.limit.burst) bucket.refused = false;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      if (id !== undefined) bucket.recent = [...bucket.recent.slice(1 - RECENT_IDS), id];
      return { ok: true };
    }
    const firstRefusal = !bucket.refused;
    bucket.refused = true;
    return { ok: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / this.perMs), firstRefusal };
  }

  /**
   * Keeps the map bounded: a bucket that has filled up again is the same as no bucket, so those
   * go first; if busy ones still fill half the map, every bucket goes (a flood of distinct keys:
   * forgetting is better than running out of memory).
   */
  private makeRoom(now: number): void {
    const max = this.options.maxTracked ?? 50_000;
    if (this.buckets.size < this.sweepAt) return;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.perMs >= this.limit.burst) this.buckets.delete(key);
    }
    if (this.buckets.size > max / 2) this.buckets.clear();
    // The next sweep when half the bound has been added again: sweeps stay amortized O(1).
    this.sweepAt = this.buckets.size + Math.ceil(max / 2);
  }
}
