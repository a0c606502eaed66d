/**
 * The minimal web chat: the page at `/chat`, and its JSON endpoints to open a conversation,
 * send a message, and load the conversation so far.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import type { Service } from '../service.js';
import { channelFacts } from '../channels/channel.js';
import { renderReplies } from '../channels/render.js';
import { newWebConversationId, parseWebMessage, webAddress, webConversationQuery, WEB_CAPABILITIES, webMessageBody } from '../channels/web.channel.js';
import { validationError } from './errors.js';

const CHAT_JSON_LIMIT = '16kb';
const HISTORY_SHOWN = 60;

/** The routes of the web chat channel. */
export function chatRoutes(service: Service): Router {
  const router = Router();
  const pagesDir = path.join(service.config.rootDir, 'src', 'http', 'pages');
  const page = readFileSync(path.join(pagesDir, 'chat.html'), 'utf8')
    .replaceAll('{{lang}}', service.config.defaultLocale)
    .replaceAll('{{title}}', escapeHtml(service.i18n.t(service.config.defaultLocale, 'web.title', { city: service.config.cityName })))
    .replace('{{strings}}', pageStrings(service));
  const script = readFileSync(path.join(pagesDir, 'chat.js'), 'utf8');

  router.get('/chat', (_req, res) => {
    res.set('Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'");
    res.type('html').send(page);
  });
  router.get('/chat/chat.js', (_req, res) => {
    res.type('application/javascript').send(script);
  });

  const api = Router();
  api.use(express.json({ limit: CHAT_JSON_LIMIT }));
  api.post('/session', (_req, res) => {
    res.status(201).json({ conversationId: newWebConversationId() });
  });
  api.post('/messages', async (req, res) => {
    const body = webMessageBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const message = parseWebMessage(body.data, new Date());
    const turn = await service.pipeline.handle(message, channelFacts(WEB_CAPABILITIES));
    res.json({ replies: renderReplies(turn.replies, WEB_CAPABILITIES, service.i18n, turn.locale), locale: turn.locale, duplicate: turn.duplicate });
  });
  // POST, not GET: the conversation id is the browser's secret, and query strings end up in
  // access logs and browser history.
  api.post('/history', async (req, res) => {
    const query = webConversationQuery.safeParse(req.body);
    if (!query.success) throw validationError(query.error);
    const entries = await service.store.transcripts.find(
      { field: 'conversationId', equals: webAddress(query.data.conversationId) },
      { order: 'desc', limit: HISTORY_SHOWN },
    );
    res.json({ entries: entries.reverse().map((e) => ({ direction: e.direction, text: e.text, at: e.at.toISOString() })) });
  });
  router.use('/chat/api', api);
  return router;
}

/** The page's own words in every language, as JSON safe inside a <script> element. */
function pageStrings(service: Service): string {
  const { i18n } = service;
  const byLocale = Object.fromEntries(
    i18n.locales.map((locale) => [
      locale,
      { placeholder: i18n.t(locale, 'web.placeholder'), send: i18n.t(locale, 'web.send'), share_location: i18n.t(locale, 'web.share_location') },
    ]),
  );
  return JSON.stringify(byLocale).replace(/</g, '\\u003c');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
