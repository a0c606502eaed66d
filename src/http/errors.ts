/**
 * HTTP errors as JSON with a message that says what is wrong. Bad requests get a 4xx; nothing a
 * client sends gets a 5xx. Logs carry the path and error name, never the body.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { HttpError } from '../core/errors.js';

/** The 404 for paths nobody serves. */
export const notFound: RequestHandler = (req, _res, next) => next(new HttpError(404, `Nothing here: ${req.method} ${req.path}`));

/** Turns any error into a JSON response; body-parser's own errors keep their 4xx status. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const known = error as { status?: number; statusCode?: number; type?: string; expose?: boolean; message?: string };
    const status = error instanceof HttpError ? error.status : (known.status ?? known.statusCode ?? 500);
    if (status >= 500) logger.error({ path: req.path, err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'request failed');
    const message =
      error instanceof HttpError
        ? error.message
        : known.type === 'entity.too.large'
          ? 'Request body too large'
          : known.type === 'entity.parse.failed'
            ? 'Malformed JSON body'
            : known.expose && known.message
              ? known.message
              : status >= 500
                ? 'Something went wrong on our side; please retry'
                : 'Bad request';
    if (res.headersSent) return;
    res.status(status).json({ error: message });
  };
}
