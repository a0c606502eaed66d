/**
 * Staff API for the inbox (conversations handed to a person) and its canned replies: list,
 * read one conversation, assign, reply on the resident's channel, hand back to the bot, close.
 * The same actions as the inbox pages (pages/handoffs.page.ts), through src/staff/handoff-desk.ts.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../service.js';
import { validationError } from '../../core/errors.js';
import { actorOf } from './actor.js';
import { handoffConversationForStaff, handoffForStaff } from './staff-views.js';
import {
  addCannedReply,
  assignHandoff,
  closeHandoff,
  handBack,
  handoffConversation,
  listCannedReplies,
  listHandoffs,
  MAX_STAFF_REPLY_LENGTH,
  removeCannedReply,
  replyToHandoff,
  waitingCount,
} from '../../staff/handoff-desk.js';

const replyBody = z.strictObject({ text: z.string().min(1).max(MAX_STAFF_REPLY_LENGTH) });
const assignBody = z.strictObject({ username: z.string().min(1).max(64).nullable() });
const cannedBody = z.strictObject({
  locale: z.string().min(2).max(10),
  title: z.string().min(1).max(80),
  text: z.string().min(1).max(MAX_STAFF_REPLY_LENGTH),
  // A report category: the reply is also offered on that category's status form.
  category: z.string().max(40).optional(),
});
const localeQuery = z.string().max(10).optional();

/** The inbox's API routes (mounted under `/admin/api`). */
export function inboxApiRoutes(service: Service): Router {
  const router = express.Router();

  router.get('/handoffs', async (req, res) => {
    const status = z.enum(['open', 'closed']).default('open').safeParse(req.query['status']);
    if (!status.success) throw validationError(status.error);
    const [handoffs, waiting] = await Promise.all([listHandoffs(service.staff, status.data), waitingCount(service.staff)]);
    res.json({ waiting, handoffs: handoffs.map(handoffForStaff) });
  });

  router.get('/handoffs/:id', async (req, res) => {
    res.json(handoffConversationForStaff(await handoffConversation(service.staff, String(req.params.id))));
  });

  router.post('/handoffs/:id/reply', async (req, res) => {
    const body = replyBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    res.status(202).json({ handoff: handoffForStaff(await replyToHandoff(service.staff, String(req.params.id), body.data.text, actorOf(res))) });
  });

  router.post('/handoffs/:id/assign', async (req, res) => {
    const body = assignBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    res.json({ handoff: handoffForStaff(await assignHandoff(service.staff, String(req.params.id), body.data.username, actorOf(res))) });
  });

  router.post('/handoffs/:id/hand-back', async (req, res) => {
    res.status(202).json({ handoff: handoffForStaff(await handBack(service.staff, String(req.params.id), actorOf(res))) });
  });

  router.post('/handoffs/:id/close', async (req, res) => {
    res.json({ handoff: handoffForStaff(await closeHandoff(service.staff, String(req.params.id), actorOf(res))) });
  });

  router.get('/canned-replies', async (req, res) => {
    const locale = localeQuery.safeParse(req.query['locale']);
    if (!locale.success) throw validationError(locale.error);
    const replies = await listCannedReplies(service.staff, locale.data);
    res.json({ cannedReplies: replies.map(({ _rev, _id, ...rest }) => ({ id: _id, ...rest })) });
  });

  router.post('/canned-replies', async (req, res) => {
    const body = cannedBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { _rev, _id, ...rest } = await addCannedReply(service.staff, body.data, actorOf(res));
    res.status(201).json({ cannedReply: { id: _id, ...rest } });
  });

  router.delete('/canned-replies/:id', async (req, res) => {
    await removeCannedReply(service.staff, String(req.params.id), actorOf(res));
    res.status(204).end();
  });

  return router;
}
