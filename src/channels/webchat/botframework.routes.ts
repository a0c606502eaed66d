/**
 * `POST /api/messages`, the Bot Framework's Activity endpoint. With MICROSOFT_APP_ID set,
 * botbuilder checks every caller's token. Without it the endpoint is off, unless
 * BOT_FRAMEWORK_DEV_MODE is on: then only requests from this machine, naming a serviceUrl on
 * this machine, are taken (an app-less botbuilder accepts anyone and posts replies to any URL
 * it is given, which would make the server an open relay).
 */
import express, { Router } from 'express';
import type { Config } from '../../config.js';
import { HttpError } from '../../core/errors.js';
import type { BotFrameworkChannel } from './botframework.channel.js';

const ACTIVITY_LIMIT = '256kb';

/** The parts of the running service the Bot Framework endpoint uses. */
export interface BotFrameworkRoutesDeps {
  config: Pick<Config, 'microsoft'>;
  /** Null when the endpoint is off (no MICROSOFT_APP_ID and no development mode). */
  botframework: BotFrameworkChannel | null;
}

/** The Bot Framework's Activity endpoint. */
export function botFrameworkRoutes(service: BotFrameworkRoutesDeps): Router {
  const router = Router();
  router.post('/api/messages', express.json({ limit: ACTIVITY_LIMIT }), async (req, res) => {
    const channel = service.botframework;
    if (!channel) throw new HttpError(404, 'The Bot Framework endpoint is off: set MICROSOFT_APP_ID (or BOT_FRAMEWORK_DEV_MODE=true on a development machine)');
    if (!service.config.microsoft.appId) {
      if (!isLoopbackAddress(req.ip)) throw new HttpError(403, 'Development mode accepts requests from this machine only');
      const serviceUrl = channel.serviceUrlOf(req.body);
      if (serviceUrl !== null && !isLoopbackUrl(serviceUrl)) throw new HttpError(403, 'Development mode accepts only a serviceUrl on this machine');
    }
    const result = await channel.receive(req.body, req.get('authorization') ?? '');
    res.status(result.status);
    if (result.body === undefined) res.end();
    else res.json(result.body);
  });
  return router;
}

function isLoopbackAddress(address: string | undefined): boolean {
  return address === '::1' || /^(::ffff:)?127\./.test(address ?? '');
}

function isLoopbackUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    // The whole host: 127.0.0.1.attacker.example is not this machine, and neither is user@ trickery.
    if (parsed.username || parsed.password) return false;
    return parsed.hostname === 'localhost' || parsed.hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(parsed.hostname);
  } catch {
    return false;
  }
}
