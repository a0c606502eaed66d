/**
 * The Direct Line 3.0-compatible endpoint of the self-hosted web chat (`/v3/directline`), and
 * its WebSocket stream. Every request but token generation needs a token for its conversation;
 * a wrong or expired one gets 403.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import express, { Router, type Request, type Response } from 'express';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../../config.js';
import type { MediaFiles } from '../../store/media-files.js';
import type { DirectLineChannel } from './direct-line.channel.js';
import type { TokenClaims } from './direct-line-token.js';
import { directLineAddress } from './activity-mapping.js';
import {
  clientKey,
  createPhotoBudget,
  cutOffIfSlow,
  UPLOAD_PACE,
  maxUploadBytes,
  readUpload,
  refusals,
  type Refusal,
  type UploadOutcome,
} from './photo-uploads.js';
import { HttpError } from '../../core/errors.js';
import { perClientLimit } from '../per-client-limit.js';

const BASE = '/v3/directline';
const STREAM = /^\/v3\/directline\/conversations\/([A-Za-z0-9_-]{8,64})\/stream$/;

/** The parts of the running service the Direct Line endpoint uses. */
export interface DirectLineRoutesDeps {
  config: Pick<Config, 'publicUrl' | 'rateLimits' | 'photos'>;
  directLine: DirectLineChannel;
  media: MediaFiles;
}

/** The Direct Line routes of the self-hosted web chat. */
export function directLineRoutes(service: DirectLineRoutesDeps): Router {
  const router = Router();
  const channel = service.directLine;
  router.use(BASE, express.json({ limit: '64kb' }));

  const claimsFor = (req: Request, conversationId?: string): TokenClaims => {
    const header = req.get('authorization');
    if (!header) throw new HttpError(401, 'Missing Authorization: Bearer <token>');
    const claims = channel.authorize(/^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim(), conversationId);
    if (!claims) throw new HttpError(403, 'Wrong or expired token for this conversation');
    return claims;
  };
  // DirectLineJS sends `?watermark=` before it has one: empty means "from the start".
  const watermarkOf = (req: Request): number => watermarkFrom(typeof req.query.watermark === 'string' ? req.query.watermark : null);

  router.post(`${BASE}/tokens/generate`, perClientLimit(service.config.rateLimits.newChats, 'new chats'), (_req, res) => {
    res.json(channel.newConversationToken());
  });
  router.post(`${BASE}/tokens/refresh`, (req, res) => {
    const claims = channel.authorizeRenewal(/^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1]?.trim());
    if (!claims) throw new HttpError(403, 'Wrong or too old token');
    res.json(channel.refresh(claims));
  });
  router.post(`${BASE}/conversations`, async (req, res) => {
    const claims = claimsFor(req);
    await channel.start(claims);
    res.status(201).json({ ...channel.refresh(claims), streamUrl: streamUrl(service, req, claims, -1) });
  });
  router.get(`${BASE}/conversations/:id`, (req, res) => {
    const claims = claimsFor(req, req.params.id);
    res.json({ ...channel.refresh(claims), streamUrl: streamUrl(service, req, claims, watermarkOf(req)) });
  });
  router.post(`${BASE}/conversations/:id/activities`, async (req, res) => {
    const result = await channel.post(claimsFor(req, req.params.id), req.body);
    if ('error' in result) throw new HttpError(400, `Invalid activity. ${result.error}`);
    if ('throttled' in result) return tooMany(res, result.throttled.retryAfterSeconds);
    res.json(result);
  });
  // Photos: taken only where a report wants one, within the caps, and stored as they arrive (a
  // body is never held in memory). See photo-uploads.ts for the answers and why.
  const photoLimits = service.config.photos;
  const budget = createPhotoBudget(service.media, photoLimits);
  const refused = refusals(photoLimits);
  const maxBody = maxUploadBytes(photoLimits);
  router.post(`${BASE}/conversations/:id/upload`, async (req, res) => {
    const claims = claimsFor(req, req.params.id);
    // The activity got through the flood brake (a refusal after that costs no second message).
    let admitted = false;
    const refuse = async (refusal: Refusal): Promise<void> => {
      // Nothing more is stored: the rest of the body is read and dropped, and the answer sent once
      // the client is done sending (answered mid-body, a client may stop sending and reuse the
      // connection, whose next request the server would then read as the rest of this body).
      if (!(await drain(req, maxBody))) return;
      if (refusal.cause !== undefined) throw refusal.cause;
      if (refusal.retryAfterSeconds !== undefined) return tooMany(res, refusal.retryAfterSeconds);
      if (refusal.notice) {
        // Web Chat shows only "Send failed": the resident reads why in the chat. A message like
        // any other for the flood brake, so refused uploads in a loop cannot fill the log.
        const throttled = admitted ? null : await channel.admit(claims);
        if (throttled) return tooMany(res, throttled.retryAfterSeconds);
        await channel.tell(claims, refusal.notice, refusal.vars);
      }
      res.status(refusal.status).json({ error: refusal.error, code: refusal.code });
    };
    const declared = Number(req.get('content-length'));
    if (declared > maxBody) {
      // Not read at all: answered, and the connection closed behind it.
      res.set('Connection', 'close').status(413).json({ error: refused.tooLarge.error, code: refused.tooLarge.code });
      return;
    }
    if (!(declared > 0)) {
      // Browsers always say how long an upload is. One that does not would have to be counted
      // against the caps at its largest until it ends: a few trickling ones held the whole storage
      // cap with nothing stored.
      res.set('Connection', 'close').status(411).json({ error: 'Send the upload with a Content-Length', code: 'length_required' });
      return;
    }
    // Before a byte is read or stored: only a report in progress, or a reply to a report's update.
    if (!(await channel.photoWanted(claims))) return refuse(refused.notExpected);
    const owner = { conversation: directLineAddress(claims.conversationId), client: clientKey(req.ip) };
    const reservation = await budget.reserve(owner, declared);
    if ('status' in reservation) return refuse(reservation);
    // A body that trickles in holds its share of the caps while it lasts: cut it off.
    const pace = cutOffIfSlow(req, UPLOAD_PACE);
    let upload: UploadOutcome;
    try {
      upload = await readUpload(req, {
        media: service.media,
        owner,
        reservation,
        limits: photoLimits,
        async accept(activity) {
          const invalid = channel.validate(activity);
          if (invalid) return { status: 400, code: 'invalid_activity', error: `Invalid activity. ${invalid}` };
          const throttled = await channel.admit(claims, activity);
          if (throttled) return { status: 429, code: 'throttled', error: 'Too many messages', retryAfterSeconds: throttled.retryAfterSeconds };
          admitted = true;
          return null;
        },
      });
    } finally {
      pace.stop();
      // The photos read are in the store's counts now (or removed).
      reservation.release();
    }
    if ('refused' in upload) return refuse(upload.refused);
    const base = service.config.publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    const attachments = upload.photos.map((photo) => ({
      contentType: photo.contentType,
      contentUrl: `${base}${BASE}/media/${photo.id}`,
      ...(photo.name ? { name: photo.name } : {}),
    }));
    let attached = false;
    try {
      const result = await channel.post(
        claims,
        upload.activity,
        async () => {
          attached = true;
          return attachments;
        },
        { admitted: true },
      );
      if ('error' in result) throw new HttpError(400, `Invalid activity. ${result.error}`);
      if ('throttled' in result) return tooMany(res, result.throttled.retryAfterSeconds);
      res.json(result);
    } finally {
      // A resend of an activity logged before keeps that one's photos: these were never used.
      if (!attached) await Promise.all(upload.photos.map((photo) => service.media.remove(photo.id).catch(() => false)));
    }
  });
  // Photo URLs are unguessable (128-bit ids), so an <img> can show them without a token. Served
  // as a stream, like they were stored.
  router.get(`${BASE}/media/:id`, async (req, res) => {
    const file = await service.media.open(req.params.id);
    if (!file) throw new HttpError(404, 'No such photo');
    res
      .set({
        'Cache-Control': 'private, max-age=86400',
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': "default-src 'none'",
        'Content-Length': String(file.bytes),
      })
      .type(file.contentType);
    await pipeline(file.stream, res).catch(() => {
      // The browser went away (or the photo was removed mid-way): nothing more to answer.
    });
  });
  router.get(`${BASE}/conversations/:id/activities`, async (req, res) => {
    const claims = claimsFor(req, req.params.id);
    res.json(await channel.history(claims.conversationId, watermarkOf(req)));
  });
  return router;
}

/**
 * Reads and drops the rest of a request's body; true once it has all come, false when the client
 * went away or sent more than `max` (then cut off: no answer is sent).
 */
async function drain(req: Request, max: number): Promise<boolean> {
  req.unpipe();
  if (req.readableEnded) return true;
  if (req.destroyed || req.socket.destroyed) return false;
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > max) req.socket.destroy();
  });
  // Not `finished(req)`: a request's 'close' comes after its response, which waits for this.
  const ended = new Promise<boolean>((resolve) => {
    req.once('end', () => resolve(true));
    req.once('aborted', () => resolve(false));
    req.once('error', () => resolve(false));
    req.socket.once('close', () => resolve(false));
  });
  req.resume();
  return ended;
}

/** A sender over their rate limit: nothing was stored; Web Chat shows the send as failed. */
function tooMany(res: Response, retryAfterSeconds: number): void {
  res.set('Retry-After', String(retryAfterSeconds)).status(429).json({ error: 'Too many messages: wait a minute, then send again' });
}

function watermarkFrom(value: string | null): number {
  return value !== null && /^\d{1,9}$/.test(value) ? Number(value) : -1;
}

/** Where the browser opens its WebSocket: the public URL's host when set, else this request's. */
function streamUrl(service: DirectLineRoutesDeps, req: Request, claims: TokenClaims, watermark: number): string {
  const base = service.config.publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
  const query = new URLSearchParams({ t: service.directLine.streamToken(claims), ...(watermark >= 0 ? { watermark: String(watermark) } : {}) });
  return `${base.replace(/^http/, 'ws')}${BASE}/conversations/${claims.conversationId}/stream?${query}`;
}

/**
 * Serves the WebSocket streams on an HTTP server: the conversation's activities after the
 * watermark first, then each new one as it is added. Returns `close`, which ends every stream
 * (a server with open streams would otherwise never finish closing).
 */
export function attachDirectLineStreams(server: Server, channel: DirectLineChannel, logger?: Logger): { close(): void } {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '', 'http://localhost');
    const conversationId = STREAM.exec(url.pathname)?.[1];
    const claims = conversationId ? channel.authorize(url.searchParams.get('t') ?? undefined, conversationId, 'stream') : null;
    if (!claims) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => {
      void stream(ws, claims.conversationId, watermarkFrom(url.searchParams.get('watermark'))).catch((error: unknown) => {
        logger?.error({ channel: 'webchat', err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'web chat stream failed');
        ws.close(1011);
      });
    });
  });

  async function stream(ws: WebSocket, conversationId: string, watermark: number): Promise<void> {
    let unsubscribe: (() => void) | undefined;
    let closed = false;
    ws.once('close', () => {
      closed = true;
      unsubscribe?.();
    });
    const backlog = await channel.history(conversationId, watermark);
    if (closed) return;
    if (backlog.activities.length > 0) ws.send(JSON.stringify(backlog));
    // From the backlog's end on: each activity once and in order, whichever instance logged it
    // (one logged while the backlog was read is found by the subscription's first read).
    unsubscribe = channel.subscribe(conversationId, Number(backlog.watermark), (set) => ws.send(JSON.stringify(set)));
  }

  return {
    close() {
      for (const client of sockets.clients) client.close(1001, 'Server shutting down');
    },
  };
}
