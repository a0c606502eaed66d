/**
 * Direct Line tokens for the self-hosted web chat: a conversation id and a user id, signed with
 * HMAC-SHA256 and expiring. A token is the browser's proof that a conversation is its own, so
 * one browser cannot read or write another's conversation.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a token lives; Web Chat refreshes it before then. */
export const TOKEN_TTL_S = 30 * 60;
/** How long after expiry a token may still be renewed: a resident coming back within a month resumes. */
export const RENEWAL_GRACE_MS = 30 * 24 * 60 * 60 * 1000;

/** Stream tokens sit in URLs (and so in proxy logs): they live minutes and renew nothing. */
export const STREAM_TOKEN_TTL_S = 5 * 60;

/** What a token grants. */
export interface TokenClaims {
  conversationId: string;
  userId: string;
  /** Expiry, epoch seconds. */
  exp: number;
  /** `conversation` (the browser's own token) or `stream` (a WebSocket URL's). */
  scope: 'conversation' | 'stream';
  /** When the first token of this chain was issued (epoch seconds): renewals stop a month after it. */
  since: number;
}

/** Signs and checks tokens with one secret. */
export interface TokenSigner {
  issue(conversationId: string, userId: string, options?: { now?: number; scope?: TokenClaims['scope']; since?: number }): { token: string; expiresIn: number };
  /**
   * The claims of a valid token; null otherwise. Expired tokens are refused, unless within
   * `graceMs` after expiry (for renewing only: a returning browser resumes its conversation).
   */
  verify(token: string, now?: number, graceMs?: number): TokenClaims | null;
}

export function createTokenSigner(secret: Buffer): TokenSigner {
  const sign = (payload: string) => createHmac('sha256', secret).update(payload).digest('base64url');
  return {
    issue(conversationId, userId, options = {}) {
      const now = Math.floor((options.now ?? Date.now()) / 1000);
      const scope = options.scope ?? 'conversation';
      const ttl = scope === 'stream' ? STREAM_TOKEN_TTL_S : TOKEN_TTL_S;
      const claims: TokenClaims = { conversationId, userId, exp: now + ttl, scope, since: options.since ?? now };
      const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return { token: `${payload}.${sign(payload)}`, expiresIn: ttl };
    },
    verify(token, now = Date.now(), graceMs = 0) {
      const [payload, signature, extra] = token.split('.');
      if (!payload || !signature || extra !== undefined) return null;
      const expected = Buffer.from(sign(payload));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
      try {
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<TokenClaims>;
        if (typeof claims.conversationId !== 'string' || typeof claims.userId !== 'string' || typeof claims.exp !== 'number') return null;
        if ((claims.scope !== 'conversation' && claims.scope !== 'stream') || typeof claims.since !== 'number') return null;
        return claims.exp * 1000 + graceMs > now ? (claims as TokenClaims) : null;
      } catch {
        return null;
      }
    },
  };
}

/** A new random id (conversations, users). */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}
