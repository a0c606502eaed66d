/**
 * The web chat: the page at `/chat` (Microsoft's Web Chat on CivicLine's own Direct Line), its
 * scripts, the embed snippet for a city's site, and a plain JSON API (`/chat/api`) for simple
 * integrations and scripts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import type { Service } from '../service.js';
import { channelFacts } from '../channels/channel.js';
import { renderReplies } from '../channels/render.js';
import { newWebConversationId, parseWebMessage, webAddress, webConversationQuery, WEB_CAPABILITIES, webMessageBody } from '../channels/web.channel.js';
import { validationError } from './errors.js';
import { perClientLimit } from './rate-limit.js';

const CHAT_JSON_LIMIT = '16kb';
const HISTORY_SHOWN = 60;

/** The routes of the web chat: the page (Web Chat on our Direct Line), its scripts, the embed snippet, and a plain JSON API. */
export function chatRoutes(service: Service): Router {
  const router = Router();
  const { config, i18n } = service;
  const pagesDir = path.join(config.rootDir, 'src', 'http', 'pages');
  const city = { city: config.cityName };
  const page = readFileSync(path.join(pagesDir, 'webchat.html'), 'utf8')
    .replaceAll('{{lang}}', () => config.defaultLocale)
    .replaceAll('{{accent}}', () => config.webChatAccentColor)
    .replaceAll('{{languageLabel}}', () => escapeHtml(i18n.t(config.defaultLocale, 'web.language_label')))
    .replaceAll('{{title}}', () => escapeHtml(i18n.t(config.defaultLocale, 'web.title', city)))
    .replace('{{config}}', () => scriptJson(pageConfig(service)));
  const app = readFileSync(path.join(pagesDir, 'webchat-app.js'), 'utf8');
  const embed = readFileSync(path.join(pagesDir, 'embed.js'), 'utf8').replace("'{{config}}'", () =>
    scriptJson({ label: i18n.t(config.defaultLocale, 'web.open_chat', city), accent: config.webChatAccentColor }),
  );
  // Microsoft's Web Chat bundle, served from here: no CDN, works on a closed network.
  const webChatBundle = path.join(config.rootDir, 'node_modules', 'botframework-webchat', 'dist', 'webchat.js');

  router.get('/chat', (_req, res) => {
    // Web Chat styles itself with inline styles; scripts and connections stay on this origin.
    res.set(
      'Content-Security-Policy',
      "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; connect-src 'self' blob: ws: wss:; worker-src 'self' blob:; frame-ancestors *",
    );
    res.type('html').send(page);
  });
  // Browsers ask for it; a 204 keeps their consoles free of a 404.
  router.get('/favicon.ico', (_req, res) => {
    res.status(204).end();
  });
  router.get('/chat/app.js', (_req, res) => {
    res.type('application/javascript').send(app);
  });
  router.get('/chat/embed.js', (_req, res) => {
    res.type('application/javascript').set('Access-Control-Allow-Origin', '*').send(embed);
  });
  router.get('/chat/webchat.js', (_req, res) => {
    res.sendFile(webChatBundle, { maxAge: '7d' });
  });

  const api = Router();
  api.use(express.json({ limit: CHAT_JSON_LIMIT }));
  api.post('/session', perClientLimit(config.rateLimits.newChats, 'new chats'), (_req, res) => {
    res.status(201).json({ conversationId: newWebConversationId() });
  });
  api.post('/messages', async (req, res) => {
    const body = webMessageBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const message = parseWebMessage(body.data, new Date());
    const turn = await service.pipeline.handle(message, channelFacts(WEB_CAPABILITIES), { throttle: true });
    if (turn.throttled) {
      res.set('Retry-After', String(turn.throttled.retryAfterSeconds)).status(429);
      res.json({
        error: 'Too many messages: wait a minute, then send again',
        replies: renderReplies(turn.replies, WEB_CAPABILITIES, service.i18n, turn.locale),
        locale: turn.locale,
        duplicate: false,
      });
      return;
    }
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

/** What the page needs: its language, colour, and its own words in every language. */
function pageConfig(service: Service) {
  const { i18n, config } = service;
  const strings = Object.fromEntries(
    i18n.locales.map((locale) => [
      locale,
      { name: i18n.t(locale, 'language.name'), shareLocation: i18n.t(locale, 'web.share_location'), locationShared: i18n.t(locale, 'web.location_shared') },
    ]),
  );
  return { locale: config.defaultLocale, accent: config.webChatAccentColor, initials: config.cityName.slice(0, 2).toUpperCase(), strings };
}

/** JSON safe inside a <script> element or a script file. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
