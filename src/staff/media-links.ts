/**
 * Signed, expiring links to the photos CivicLine stores (web chat uploads), for another system
 * that must fetch a photo without a login: the city's Open311 server reads a forwarded report's
 * `media_url` (issue 19). A link is `<PUBLIC_URL>/media/<photo id>?expires=<unix seconds>&sig=<HMAC>`,
 * the HMAC-SHA256 of the photo id and the expiry under MEDIA_LINK_SECRET (or a key made on first
 * start and kept in the store, so every instance agrees and links survive a restart). Changing
 * the id or the expiry breaks the signature; past the expiry the link is gone.
 *
 * Why a link of its own and not the web chat's `/v3/directline/media/<id>`: that URL is forever
 * (anyone who once saw it can fetch the photo as long as it is kept); a link handed to another
 * organisation's system should stop working on its own, and can be withdrawn for all at once by
 * changing the key.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isMediaId } from '../store/media-files.js';

/** The path signed photo links are served under (src/http/media-link.routes.ts). */
export const MEDIA_LINK_PATH = '/media';

/** What a presented link is: good (for so many seconds more), forged (or altered), or past its expiry. */
export type MediaLinkCheck = { state: 'valid'; secondsLeft: number } | { state: 'forged' } | { state: 'expired' };

/** Makes and checks signed photo links. */
export interface MediaLinks {
  /** A link to photo `id` that works until `expiresAt` (to the second), or null without PUBLIC_URL (nowhere to link to). */
  link(id: string, expiresAt: Date): string | null;
  /** Whether `expires` and `sig`, as they came in a link's query, are a good link to `id` now. */
  check(id: string, expires: unknown, sig: unknown): MediaLinkCheck;
}

/** What the links need: the key, the public base URL (PUBLIC_URL, when set) and a clock (tests move it). */
export interface MediaLinkSettings {
  secret: Buffer;
  publicUrl?: string;
  now?: () => Date;
}

/** Builds the signer and checker of photo links. */
export function createMediaLinks(settings: MediaLinkSettings): MediaLinks {
  const now = settings.now ?? (() => new Date());
  // A purpose label in the signed text: the key signs nothing else, and a later link format can change it.
  const signature = (id: string, expires: string): Buffer =>
    createHmac('sha256', settings.secret).update(`civicline-media-link-v1\n${id}\n${expires}`).digest();

  return {
    link(id, expiresAt) {
      if (!settings.publicUrl || !isMediaId(id)) return null;
      const expires = String(Math.floor(expiresAt.getTime() / 1000));
      const query = new URLSearchParams({ expires, sig: signature(id, expires).toString('base64url') });
      return `${settings.publicUrl}${MEDIA_LINK_PATH}/${id}?${query.toString()}`;
    },

    check(id, expires, sig) {
      const forged = { state: 'forged' } as const;
      // Shapes first: nothing odd is hashed, and a signature of the wrong length is not compared.
      if (!isMediaId(id) || typeof expires !== 'string' || !/^\d{1,12}$/.test(expires)) return forged;
      if (typeof sig !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return forged;
      const given = Buffer.from(sig, 'base64url');
      const expected = signature(id, expires);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return forged;
      // Checked after the signature: an altered expiry is forged, not merely expired.
      const left = Number(expires) * 1000 - now().getTime();
      return left <= 0 ? { state: 'expired' } : { state: 'valid', secondsLeft: Math.ceil(left / 1000) };
    },
  };
}
