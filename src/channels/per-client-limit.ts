/**
 * A per-client-address brake for the public endpoints that create things without any
 * credential (a new web chat: Direct Line tokens, `/chat/api/session`). In memory, per instance;
 * `req.ip` is the client's address behind a local proxy too (`trust proxy` is loopback).
 */
import type { RequestHandler } from 'express';
import { TokenBuckets, type RateLimit } from '../pipeline/rate-limit.js';

/** Answers 429 with Retry-After to a client address over `limit`; one bucket per middleware. */
export function perClientLimit(limit: RateLimit, what: string): RequestHandler {
  const buckets = new TokenBuckets(limit);
  return (req, res, next) => {
    const taken = buckets.take(req.ip ?? 'unknown');
    if (taken.ok) return next();
    res
      .set('Retry-After', String(Math.max(1, Math.ceil(taken.retryAfterMs / 1000))))
      .status(429)
      .json({ error: `Too many ${what} from this address: wait a minute, then try again` });
  };
}
