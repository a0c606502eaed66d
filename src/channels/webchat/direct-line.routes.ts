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
import busboy from 'busboy';
import type { Config } from '../../config.js';
import { IMAGE_TYPES, type MediaFiles } from '../../store/media-files.js';
import type { DirectLineChannel } from './direct-line.channel.js';
import type { TokenClaims } from './direct-line-token.js';
import { HttpError } from '../../core/errors.js';
import { perClientLimit } from '../per-client-limit.js';

const BASE = '/v3/directline';
const STREAM = /^\/v3\/directline\/conversations\/([A-Za-z0-9_-]{8,64})\/stream$/;

/** The parts of the running service the Direct Line endpoint uses. */
export interface DirectLineRoutesDeps {
  config: Pick<Config, 'publicUrl' | 'rateLimits'>;
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
  router.post(`${BASE}/conversations/:id/upload`, async (req, res) => {
    const claims = claimsFor(req, req.params.id);
    const upload = await readUpload(req);
    if ('error' in upload) throw new HttpError(upload.status, upload.error);
    // Nothing is stored for an activity that will be refused.
    const invalid = channel.validate(upload.activity);
    if (invalid) throw new HttpError(400, `Invalid activity. ${invalid}`);
    const base = service.config.publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    // Stored only once the sender is let through (a flood of photos fills no disk).
    const saveUploads = async () => {
      const attachments = [];
      for (const file of upload.files) {
        const id = await service.media.save(file.bytes, file.contentType);
        attachments.push({ contentType: file.contentType, contentUrl: `${base}${BASE}/media/${id}`, ...(file.name ? { name: file.name } : {}) });
      }
      return attachments;
    };
    const result = await channel.post(claims, upload.activity, saveUploads);
    if ('error' in result) throw new HttpError(400, `Invalid activity. ${result.error}`);
    if ('throttled' in result) return tooMany(res, result.throttled.retryAfterSeconds);
    res.json(result);
  });
  // Photo URLs are unguessable (128-bit ids), so an <img> can show them without a token.
  router.get(`${BASE}/media/:id`, async (req, res) => {
    const file = await service.media.read(req.params.id);
    if (!file) throw new HttpError(404, 'No such photo');
    res
      .set({ 'Cache-Control': 'private, max-age=86400', 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "default-src 'none'" })
      .type(file.contentType)
      .send(file.bytes);
  });
  router.get(`${BASE}/conversations/:id/activities`, async (req, res) => {
    const claims = claimsFor(req, req.params.id);
    res.json(await channel.history(claims.conversationId, watermarkOf(req)));
  });
  return router;
}

/** A photo a resident uploads may be this large; Web Chat sends at most this many at once. */
const UPLOAD_LIMITS = { fileSize: 8 * 1024 * 1024, files: 4, fields: 2, parts: 6 };

type Upload =
  { activity: Record<string, unknown>; files: { bytes: Buffer; contentType: string; name?: string }[] } | { error: string; status: 400 | 413 | 415 };

/**
 * Reads a Direct Line upload: the activity (a JSON part named "activity") and its files, which
 * must be images. Too large or too many gets 413; anything but images 415.
 */
function readUpload(req: Request): Promise<Upload> {
  return new Promise((resolve) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: UPLOAD_LIMITS });
    } catch {
      resolve({ error: 'Expected multipart/form-data', status: 400 });
      return;
    }
    const files: { bytes: Buffer; contentType: string; name?: string }[] = [];
    let activity: Record<string, unknown> | null = null;
    let problem: Upload | null = null;
    parser.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => (problem ??= { error: 'A photo may be at most 8 MB', status: 413 }));
      // A body that ends in the middle of a file: the parser reports it, but the file's stream
      // errors too, and an 'error' nobody listens to would take the whole process down.
      stream.on('error', () => (problem ??= { error: 'Malformed multipart body', status: 400 }));
      stream.on('end', () => {
        const bytes = Buffer.concat(chunks);
        if (field === 'activity') {
          try {
            activity = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
          } catch {
            problem ??= { error: 'The activity part is not JSON', status: 400 };
          }
        } else if (!IMAGE_TYPES[info.mimeType] || !looksLike(info.mimeType, bytes)) {
          problem ??= { error: 'Only photos (JPEG, PNG, WebP, GIF) can be sent', status: 415 };
        } else {
          files.push({ bytes, contentType: info.mimeType, ...(info.filename ? { name: info.filename.slice(0, 100) } : {}) });
        }
      });
    });
    parser.on('field', (field, value) => {
      if (field !== 'activity') return;
      try {
        activity = JSON.parse(value) as Record<string, unknown>;
      } catch {
        problem ??= { error: 'The activity part is not JSON', status: 400 };
      }
    });
    parser.on('filesLimit', () => (problem ??= { error: 'Too many files at once', status: 413 }));
    parser.on('partsLimit', () => (problem ??= { error: 'Too many parts', status: 413 }));
    parser.on('error', () => resolve({ error: 'Malformed multipart body', status: 400 }));
    parser.on('close', () => {
      if (problem) resolve(problem);
      else if (!activity) resolve({ error: 'Missing the activity part', status: 400 });
      else if (files.length === 0) resolve({ error: 'No photo in the upload', status: 400 });
      else resolve({ activity, files });
    });
    req.pipe(parser);
  });
}

/** The image's first bytes match its declared type (a renamed HTML file is not a photo). */
function looksLike(contentType: string, bytes: Buffer): boolean {
  const starts = (hex: string) => bytes.subarray(0, hex.length / 2).equals(Buffer.from(hex, 'hex'));
  switch (contentType) {
    case 'image/jpeg':
      return starts('ffd8ff');
    case 'image/png':
      return starts('89504e470d0a1a0a');
    case 'image/gif':
      return starts('474946383');
    case 'image/webp':
      return starts('52494646') && bytes.subarray(8, 12).toString('latin1') === 'WEBP';
    default:
      return false;
  }
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
