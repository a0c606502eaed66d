/**
 * Telegram's webhook. The secret header must equal TELEGRAM_WEBHOOK_SECRET (compared in constant
 * time) before anything is read; the update is answered 200 only after its turn is done and
 * its replies sent, so an update that failed half-way is redelivered (and processed once).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { Router } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { HttpError } from '../../core/errors.js';
import type { TelegramChannel } from './telegram.channel.js';

/** Updates are small; a bot never gets one near this. */
const UPDATE_LIMIT = '256kb';

/** The parts of the running service the Telegram webhook uses. */
export interface TelegramRoutesDeps {
  config: Pick<Config, 'telegram'>;
  /** Null when TELEGRAM_BOT_TOKEN is not set. */
  telegram: TelegramChannel | null;
  logger: Logger;
}

/** The Telegram webhook route. */
export function telegramRoutes(service: TelegramRoutesDeps): Router {
  const router = Router();
  const secret = service.config.telegram.webhookSecret;
  const expected = secret ? createHash('sha256').update(secret).digest() : undefined;

  router.post('/webhooks/telegram', (req, _res, next) => {
    const channel = service.telegram;
    if (!channel || service.config.telegram.mode !== 'webhook' || !expected) {
      return next(new HttpError(404, 'The Telegram webhook is off: set TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET and PUBLIC_URL'));
    }
    const given = req.get('x-telegram-bot-api-secret-token');
    if (given === undefined) return next(new HttpError(401, 'Missing X-Telegram-Bot-Api-Secret-Token'));
    if (!timingSafeEqual(createHash('sha256').update(given).digest(), expected)) {
      service.logger.warn({ path: req.path }, 'refused a Telegram webhook with a wrong secret');
      return next(new HttpError(403, 'Wrong X-Telegram-Bot-Api-Secret-Token'));
    }
    next();
  });
  router.post('/webhooks/telegram', express.json({ limit: UPDATE_LIMIT }), async (req, res) => {
    const outcome = await service.telegram!.handleUpdate(req.body);
    if (!outcome.ok) throw new HttpError(outcome.status, `Invalid Telegram update. ${outcome.error}`);
    res.json({});
  });
  return router;
}
