/**
 * Serves a stored photo to whoever holds a signed, unexpired link to it (`GET /media/<id>?expires=&sig=`,
 * made by src/staff/media-links.ts): the city's Open311 server fetching a forwarded report's
 * `media_url` has no login here. A forged or altered link gets 403, an expired one 410, neither
 * with any of the photo; a good link to a photo no longer kept gets 404.
 */
import { Router } from 'express';
import { pipeline } from 'node:stream/promises';
import { HttpError } from '../core/errors.js';
import { IMAGE_TYPES, type MediaFiles } from '../store/media-files.js';
import { MEDIA_LINK_PATH, type MediaLinks } from '../staff/media-links.js';

/** What the signed photo route uses of the running service. */
export interface MediaLinkRoutesDeps {
  media: MediaFiles;
  mediaLinks: MediaLinks;
}

/** The cache lifetime at most (a day), and never past the link's expiry. */
const MAX_AGE_SECONDS = 86_400;

/** The route of signed photo links. */
export function mediaLinkRoutes(service: MediaLinkRoutesDeps): Router {
  const router = Router();
  router.get(`${MEDIA_LINK_PATH}/:id`, async (req, res) => {
    const checked = service.mediaLinks.check(req.params.id, req.query['expires'], req.query['sig']);
    if (checked.state === 'forged') throw new HttpError(403, 'This photo link is not valid');
    if (checked.state === 'expired') throw new HttpError(410, 'This photo link has expired');
    const file = await service.media.open(req.params.id);
    if (!file) throw new HttpError(404, 'No such photo');
    // Only the image types uploads are taken as, so a resident's bytes are never served as something runnable.
    if (!IMAGE_TYPES[file.contentType]) {
      file.stream.destroy();
      throw new HttpError(404, 'No such photo');
    }
    res
      .set({
        // A resident's photo: kept by the fetching client only, and not past the link's expiry.
        'Cache-Control': `private, max-age=${Math.min(MAX_AGE_SECONDS, checked.secondsLeft)}`,
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': "default-src 'none'",
        'Referrer-Policy': 'no-referrer',
        // A city page that shows the link must not make it a search result.
        'X-Robots-Tag': 'noindex, nofollow',
        'Content-Length': String(file.bytes),
      })
      .type(file.contentType);
    await pipeline(file.stream, res).catch(() => {
      // The client went away (or the photo was removed mid-way): nothing more to answer.
    });
  });
  return router;
}
