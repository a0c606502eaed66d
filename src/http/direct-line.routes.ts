/**
 * The Direct Line 3.0-compatible endpoint of the self-hosted web chat (`/v3/directline`), and
 * its WebSocket stream. Every request but token generation needs a token for its conversation;
 * a wrong or expired one gets 403.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import express, { Router, type Request } from 'express';
import { WebSocketServer } from 'ws';
import type { Service } from '../service.js';
import type { DirectLineChannel } from '../channels/webchat/direct-line.channel.js';
import type { TokenClaims } from '../channels/webchat/direct-line-token.js';
import { HttpError } from './errors.js';

const BASE = '/v3/directline';
const STREAM = /^\/v3\/directline\/conversations\/([A-Za-z0-9_-]{8,64})\/stream$/;

export function directLineRoutes(service: Service): Router {
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
  const watermarkOf = (req: Request): number => {
    const value = Number(req.query.watermark);
    return Number.isInteger(value) && value >= 0 ? value : -1;
  };

  router.post(`${BASE}/tokens/generate`, (_req, res) => {
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
    res.json(result);
  });
  router.get(`${BASE}/conversations/:id/activities`, async (req, res) => {
    const claims = claimsFor(req, req.params.id);
    res.json(await channel.history(claims.conversationId, watermarkOf(req)));
  });
  return router;
}

/** Where the browser opens its WebSocket: the public URL's host when set, else this request's. */
function streamUrl(service: Service, req: Request, claims: TokenClaims, watermark: number): string {
  const base = service.config.publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
  const { token } = service.directLine.refresh(claims);
  const query = new URLSearchParams({ t: token, ...(watermark >= 0 ? { watermark: String(watermark) } : {}) });
  return `${base.replace(/^http/, 'ws')}${BASE}/conversations/${claims.conversationId}/stream?${query}`;
}

/**
 * Serves the WebSocket streams on an HTTP server: the conversation's activities after the
 * watermark first, then each new one as it is added.
 */
export function attachDirectLineStreams(server: Server, channel: DirectLineChannel): void {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '', 'http://localhost');
    const conversationId = STREAM.exec(url.pathname)?.[1];
    const claims = conversationId ? channel.authorize(url.searchParams.get('t') ?? undefined, conversationId) : null;
    if (!claims) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(req, socket, head, async (ws) => {
      const queued: string[] = [];
      let ready = false;
      const sendSet = (set: unknown) => (ready ? ws.send(JSON.stringify(set)) : queued.push(JSON.stringify(set)));
      const unsubscribe = channel.subscribe(claims.conversationId, sendSet);
      ws.on('close', unsubscribe);
      ws.on('error', unsubscribe);
      const watermark = Number(url.searchParams.get('watermark') ?? -1);
      const backlog = await channel.history(claims.conversationId, Number.isInteger(watermark) ? watermark : -1);
      if (backlog.activities.length > 0) ws.send(JSON.stringify(backlog));
      ready = true;
      // Activities added while the backlog was read come after it, never before.
      for (const set of queued) ws.send(set);
    });
  });
}
