/**
 * The express app: health, the staff API, and the channels' HTTP endpoints. Each route file
 * adds its own body parser with its own size limit.
 */
import express, { type Express } from 'express';
import type { Service } from '../service.js';
import { errorHandler, notFound } from './errors.js';
import { adminRoutes } from './admin/index.js';
import { open311Routes } from './open311/open311.routes.js';
import { webChatPageRoutes } from '../channels/webchat/webchat-page.routes.js';
import { webRoutes } from '../channels/web/web.routes.js';
import { smsRoutes } from '../channels/sms/sms.routes.js';
import { telegramRoutes } from '../channels/telegram/telegram.routes.js';
import { botFrameworkRoutes } from '../channels/webchat/botframework.routes.js';
import { directLineRoutes } from '../channels/webchat/direct-line.routes.js';
import { mediaLinkRoutes } from './media-link.routes.js';

/** Settings of the app that tests change. */
export interface AppOptions {
  /** How long an SMS webhook waits for its turn before answering and sending the reply later. */
  twimlDeadlineMs?: number;
}

/** Builds the app for a running service. */
export function createApp(service: Service, options: AppOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Browsers ask for it on every page (the web chat's, the staff's); a 204 keeps their consoles free of a 404.
  app.get('/favicon.ico', (_req, res) => {
    res.status(204).end();
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await service.store.ping();
      res.json({ status: 'ready', store: service.store.kind });
    } catch {
      res.status(503).json({ status: 'unavailable', store: service.store.kind });
    }
  });

  app.use('/admin', adminRoutes(service));
  // Open311 GeoReport v2 (issue 19): its own body parsers, limits and the spec's error bodies.
  app.use('/open311/v2', open311Routes(service));
  // The photo links a forwarded report's media_url points at: signed and expiring, no login.
  app.use(mediaLinkRoutes(service));

  app.use(webChatPageRoutes(service));
  app.use(webRoutes(service));
  app.use(smsRoutes(service, options.twimlDeadlineMs === undefined ? {} : { twimlDeadlineMs: options.twimlDeadlineMs }));
  app.use(telegramRoutes(service));
  app.use(botFrameworkRoutes(service));
  app.use(directLineRoutes(service));

  app.use(notFound);
  app.use(errorHandler(service.logger));
  return app;
}
