/**
 * The express app: health, the staff API, and the channels' HTTP endpoints. Each route file
 * adds its own body parser with its own size limit.
 */
import express, { type Express } from 'express';
import { z } from 'zod';
import type { Service } from '../service.js';
import { errorHandler, HttpError, notFound, validationError } from './errors.js';
import { requireAdminToken } from './admin-auth.js';
import { chatRoutes } from './chat.routes.js';
import { twilioRoutes } from './twilio.routes.js';
import { telegramRoutes } from './telegram.routes.js';
import { botFrameworkRoutes } from './botframework.routes.js';
import { directLineRoutes } from './direct-line.routes.js';

/** JSON bodies of the staff API are small; anything bigger is refused with 413. */
const ADMIN_JSON_LIMIT = '16kb';

const nluParseBody = z.object({ text: z.string().min(1).max(2000), locale: z.string().optional() }).strict();

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
  app.get('/readyz', async (_req, res) => {
    try {
      await service.store.ping();
      res.json({ status: 'ready', store: service.store.kind });
    } catch {
      res.status(503).json({ status: 'unavailable', store: service.store.kind });
    }
  });

  const admin = express.Router();
  admin.use(requireAdminToken(service.config.adminToken));
  admin.use(express.json({ limit: ADMIN_JSON_LIMIT }));
  admin.post('/nlu/parse', (req, res) => {
    const body = nluParseBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { locale } = body.data;
    if (locale !== undefined && !service.nlu.locales.includes(locale)) {
      throw new HttpError(400, `Invalid request. locale: must be one of ${service.nlu.locales.join(', ')}`);
    }
    const result = service.nlu.parse(body.data.text, locale);
    res.json({ intent: result.intent, confidence: result.confidence, category: result.category, locale: result.locale, entities: result.entities });
  });
  app.use('/admin/api', admin);

  app.use(chatRoutes(service));
  app.use(twilioRoutes(service, options.twimlDeadlineMs === undefined ? {} : { twimlDeadlineMs: options.twimlDeadlineMs }));
  app.use(telegramRoutes(service));
  app.use(botFrameworkRoutes(service));
  app.use(directLineRoutes(service));

  app.use(notFound);
  app.use(errorHandler(service.logger));
  return app;
}
