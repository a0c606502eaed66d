/**
 * The reference servers CivicLine is compared with in the same run, on the same core, with the
 * same requests. Each does as little as its kind allows, so a ratio to it says how much of a
 * turn's cost is CivicLine's own work:
 *
 * - `node-http`: bare `node:http`, reads the body and answers 200.
 * - `express`: an express 5 app with the urlencoded body parser and one handler answering 200.
 * - `twilio`: a do-nothing Twilio SMS webhook: express, the body parser, the signature check
 *   (`twilio.validateRequest` over PUBLIC_URL + path), and TwiML echoing the text back.
 * - `botbuilder`: a do-nothing Bot Framework bot: express, the JSON parser and botbuilder's
 *   `CloudAdapter` (no app id, as CivicLine's development mode) with an echo turn, so an
 *   activity with `deliveryMode: expectReplies` gets the echo in the response body.
 *
 * Usage: node dist/bench/servers/reference.js <kind>; PORT, PUBLIC_URL and TWILIO_AUTH_TOKEN
 * come from the environment (the benchmark's harness sets them; this is not the service).
 */
import { createServer } from 'node:http';
import express from 'express';
import twilio from 'twilio';
import { CloudAdapter, ConfigurationBotFrameworkAuthentication, MessageFactory, type TurnContext } from 'botbuilder';

const kind = process.argv[2];
const port = Number(process.env.PORT ?? 3000);
const publicUrl = process.env.PUBLIC_URL ?? '';
const authToken = process.env.TWILIO_AUTH_TOKEN ?? '';

function nodeHttp(): void {
  createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  }).listen(port, '127.0.0.1');
}

function expressApp(): void {
  const app = express();
  app.disable('x-powered-by');
  app.get('/readyz', (_req, res) => {
    res.send('ok');
  });
  app.post('/webhooks/twilio/sms', express.urlencoded({ extended: false }), (_req, res) => {
    res.send('ok');
  });
  app.listen(port, '127.0.0.1');
}

function twilioEcho(): void {
  const app = express();
  app.disable('x-powered-by');
  app.get('/readyz', (_req, res) => {
    res.send('ok');
  });
  app.post('/webhooks/twilio/sms', express.urlencoded({ extended: false }), (req, res) => {
    const params = req.body as Record<string, string>;
    if (!twilio.validateRequest(authToken, req.get('x-twilio-signature') ?? '', `${publicUrl}${req.originalUrl}`, params)) {
      res.status(403).send('bad signature');
      return;
    }
    const response = new twilio.twiml.MessagingResponse();
    response.message(params.Body ?? '');
    res.type('text/xml').send(response.toString());
  });
  app.listen(port, '127.0.0.1');
}

function botbuilderEcho(): void {
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  const onTurn = async (context: TurnContext) => {
    if (context.activity.type === 'message') await context.sendActivity(MessageFactory.text(`You said: ${context.activity.text ?? ''}`));
  };
  const app = express();
  app.disable('x-powered-by');
  app.get('/readyz', (_req, res) => {
    res.send('ok');
  });
  app.post('/api/messages', express.json({ limit: '256kb' }), async (req, res) => {
    await adapter.process(req, res, onTurn);
  });
  app.listen(port, '127.0.0.1');
}

switch (kind) {
  case 'node-http':
    nodeHttp();
    break;
  case 'express':
    expressApp();
    break;
  case 'twilio':
    twilioEcho();
    break;
  case 'botbuilder':
    botbuilderEcho();
    break;
  default:
    process.stderr.write(`unknown reference server ${String(kind)}: node-http, express, twilio or botbuilder\n`);
    process.exit(2);
}
