/**
 * Twilio's webhooks: inbound SMS/MMS (answered with TwiML) and delivery status callbacks.
 *
 * Every request is verified: with TWILIO_AUTH_TOKEN set, by Twilio's signature over the public
 * URL; without it, only requests from this machine are accepted, so the SMS flow can be tried
 * locally with curl but a public server never takes unsigned messages in a resident's name.
 */
import express, { Router, type Request, type Response } from 'express';
import twilio from 'twilio';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Translator } from '../../core/i18n.js';
import type { TurnPipeline } from '../../pipeline/turn-pipeline.js';
import { channelFacts } from '../channel.js';
import { inboundSmsForm, isSignedByTwilio, mediaOf, parseInboundSms, smsStatusForm } from './twilio-webhook.js';
import { renderSmsBodies, SMS_CAPABILITIES } from './sms.channel.js';
import type { TurnResult } from '../../pipeline/turn-pipeline.js';
import type { SmsSender } from './sms-sender.js';
import type { Collections } from '../../store/store.port.js';
import { errorSummary } from '../../core/errors.js';

/** Twilio gives up on a webhook after 15 s; later replies go out through the REST API. */
const TWIML_DEADLINE_MS = 10_000;
const FORM_LIMIT = '32kb';

/** The parts of the running service the Twilio webhooks use. */
export interface SmsRoutesDeps {
  config: Pick<Config, 'twilio' | 'publicUrl'>;
  pipeline: TurnPipeline;
  i18n: Translator;
  sms: SmsSender;
  logger: Logger;
  store: Pick<Collections, 'outbound'>;
}

/** The Twilio webhook routes. */
export function smsRoutes(service: SmsRoutesDeps, options: { twimlDeadlineMs?: number } = {}): Router {
  const router = Router();
  const deadline = options.twimlDeadlineMs ?? TWIML_DEADLINE_MS;
  router.use('/webhooks/twilio', express.urlencoded({ extended: false, limit: FORM_LIMIT, parameterLimit: 200 }));

  router.post('/webhooks/twilio/sms', async (req, res) => {
    if (!verified(service, req, res)) return;
    const form = inboundSmsForm.safeParse(req.body ?? {});
    if (!form.success) return badRequest(res, form.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const media = mediaOf(req.body as Record<string, unknown>, form.data.NumMedia);
    if ('error' in media) return badRequest(res, media.error);
    const message = parseInboundSms(form.data, media, new Date());

    // A flooding sender gets one "slow down", then empty TwiML: a 200, so Twilio does not retry.
    const turn = service.pipeline.handle(message, channelFacts(SMS_CAPABILITIES), { throttle: true });
    let answered: TurnResult | null;
    try {
      answered = await withinDeadline(turn, deadline);
    } catch (error) {
      // The store failed: nothing was recorded. 503 lets a Twilio fallback URL take the message.
      service.logger.error({ channel: 'sms', messageId: form.data.MessageSid, err: errorSummary(error) }, 'sms turn failed');
      res.status(503).type('text/plain').send('CivicLine could not take this message right now');
      return;
    }
    // Twilio's own Advanced Opt-Out already answered STOP/START/HELP: we record, it replies.
    const twilioAnswered = form.data.OptOutType !== undefined;
    const bodies = answered && !twilioAnswered ? renderSmsBodies(answered.replies, service.i18n, answered.locale) : [];
    res.type('text/xml').send(twiml(bodies));
    if (!answered && !twilioAnswered) void sendLate(service, message.address, turn, form.data.MessageSid);
  });

  router.post('/webhooks/twilio/status', async (req, res) => {
    if (!verified(service, req, res)) return;
    const form = smsStatusForm.safeParse(req.body ?? {});
    if (!form.success) return badRequest(res, form.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const known = await service.sms.recordStatus(form.data.MessageSid, form.data.MessageStatus, form.data.ErrorCode);
    if (!known) service.logger.info({ messageId: form.data.MessageSid }, 'status callback for a message we did not send');
    res.status(204).end();
  });
  return router;
}

/**
 * Checks the request came from Twilio or, with no token configured, from this machine: the
 * client's address (req.ip, through a local proxy too), and never on a server with a public URL.
 */
function verified(service: SmsRoutesDeps, req: Request, res: Response): boolean {
  const authToken = service.config.twilio.authToken;
  if (!authToken) {
    if (!service.config.publicUrl && isLoopback(req.ip)) return true;
    res.status(403).type('text/plain').send('The SMS webhook needs TWILIO_AUTH_TOKEN to accept requests from outside this machine');
    return false;
  }
  const base = service.config.publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
  const params = typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
  if (isSignedByTwilio({ authToken, signature: req.get('x-twilio-signature'), url: `${base}${req.originalUrl}`, params })) return true;
  service.logger.warn({ path: req.path }, 'refused a Twilio webhook with a missing or wrong signature');
  res.status(403).type('text/plain').send('Missing or invalid X-Twilio-Signature');
  return false;
}

function isLoopback(address: string | undefined): boolean {
  return address === '::1' || /^(::ffff:)?127\./.test(address ?? '');
}

function badRequest(res: Response, problem: string): void {
  res.status(400).type('text/plain').send(`Invalid Twilio webhook. ${problem}`);
}

/** A TwiML response with one <Message> per body (the library escapes the XML). */
function twiml(bodies: readonly string[]): string {
  const response = new twilio.twiml.MessagingResponse();
  for (const body of bodies) response.message(body);
  return response.toString();
}

/**
 * The turn's result, or null if it is still running after `ms`. The timer is cleared as soon as
 * the turn ends: left to run out, each request's timer and promise lived for the whole deadline
 * (thousands at once under load) and the garbage collector kept copying them.
 */
async function withinDeadline<T>(work: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms).unref();
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A turn that outlived the webhook: its replies go out through the REST API when it ends. */
async function sendLate(service: SmsRoutesDeps, address: string, turn: Promise<TurnResult>, messageSid: string): Promise<void> {
  try {
    const result = await turn;
    // Keyed by the message, so Twilio retrying the webhook meanwhile does not send it twice.
    const purpose = result.optedOut ? 'opt_out_confirmation' : 'reply';
    const sent = [];
    for (const [i, body] of renderSmsBodies(result.replies, service.i18n, result.locale).entries()) {
      sent.push(await service.sms.send(address, body, { purpose, idempotencyKey: `${address}|sms:${messageSid}|${i}` }));
    }
    // The turn deleted the resident's data: its confirmation leaves no record of the number either.
    if (result.forgotten) await Promise.all(sent.map((record) => service.store.outbound.delete(record._id)));
  } catch (error) {
    service.logger.error({ channel: 'sms', messageId: messageSid, err: errorSummary(error) }, 'late sms reply failed');
  }
}
