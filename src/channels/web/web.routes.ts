/**
 * The plain JSON API of the `web` channel (`/chat/api`), for simple integrations and scripts: a
 * session, messages answered with the rendered replies, and the conversation's history.
 */
import express, { Router } from 'express';
import type { Config } from '../../config.js';
import type { Translator } from '../../core/i18n.js';
import { validationError } from '../../core/errors.js';
import type { TurnPipeline } from '../../pipeline/turn-pipeline.js';
import type { Store } from '../../store/store.port.js';
import { channelFacts } from '../channel.js';
import { renderReplies } from '../render.js';
import { perClientLimit } from '../per-client-limit.js';
import { parseWebMessage, type WebConversationIds, webAddress, webConversationQuery, WEB_CAPABILITIES, webMessageBody } from './web.channel.js';

const CHAT_JSON_LIMIT = '16kb';
const HISTORY_SHOWN = 60;

/** The parts of the running service the JSON API uses. */
export interface WebRoutesDeps {
  config: Pick<Config, 'rateLimits'>;
  pipeline: TurnPipeline;
  i18n: Translator;
  store: Store;
  /** Issues the conversation ids (the new-chat limit counts issuing) and recognises them. */
  webConversationIds: WebConversationIds;
}

/** The routes of the JSON API under `/chat/api`. */
export function webRoutes(service: WebRoutesDeps): Router {
  const router = Router();
  const { config } = service;
  const api = Router();
  api.use(express.json({ limit: CHAT_JSON_LIMIT }));
  api.post('/session', perClientLimit(config.rateLimits.newChats, 'new chats'), (_req, res) => {
    res.status(201).json({ conversationId: service.webConversationIds.issue() });
  });
  api.post('/messages', async (req, res) => {
    const body = webMessageBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    if (!(await isKnownConversation(service, body.data.conversationId))) {
      res.status(404).json({ error: 'Unknown conversation: start one with POST /chat/api/session' });
      return;
    }
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

/**
 * An id this service issued (no lookup), or one that already has a conversation: ids issued
 * before they carried a tag keep working, invented ones do not start a conversation.
 */
async function isKnownConversation(service: WebRoutesDeps, conversationId: string): Promise<boolean> {
  if (service.webConversationIds.wasIssued(conversationId)) return true;
  return (await service.store.conversations.get(webAddress(conversationId))) !== null;
}
