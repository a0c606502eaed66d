/**
 * Staff API for ideas: list (newest or most supported), one idea (with its supporters by week
 * and what was merged), the city's answer (its author and supporters are told by broadcast), an
 * idea's own support threshold, the moderation queue with hide / restore (issue 21), and merging
 * one idea into another.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../service.js';
import { IDEA_RESPONSES, ideaDetail, listIdeas, respondToIdea, setIdeaThreshold, supportersByWeek } from '../../staff/idea-desk.js';
import { ideaMergeInfo, mergeIdeas } from '../../staff/idea-merge.js';
import { moderateIdea, moderationQueue, moderationSeen, type ModeratedIdea } from '../../staff/idea-moderation.js';
import { validationError } from '../../core/errors.js';
import { actorOf } from './actor.js';
import { ideaForStaff } from './staff-views.js';

/** The query of `GET /ideas`. */
export const ideaQuery = z.strictObject({
  sort: z.enum(['newest', 'support']).optional(),
  status: z.enum(['new', 'under_review', 'accepted', 'not_planned']).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** The body of an answer to an idea. */
export const ideaResponseBody = z.strictObject({
  status: z.enum(IDEA_RESPONSES),
  note: z.string().max(1000).optional(),
  notifySupporters: z.boolean().optional(),
});

/** The body of a moderation decision: the note is required (why, for the audit log and the next reader). */
export const ideaModerationBody = z.strictObject({
  action: z.enum(['hide', 'restore']),
  note: z.string().trim().min(1, 'say why').max(1000),
  /** The moderation the decider saw (`moderationSeen`): changed since, the decision is refused (409). */
  seen: z.string().max(100).optional(),
});

/** The body of a merge: the idea to keep. */
export const ideaMergeBody = z.strictObject({
  into: z
    .string()
    .regex(/^[Ii]-?[A-Za-z0-9]{5}$/, 'must be an idea reference like I-4F2K9')
    .transform((ref) => `I-${ref.replace(/^[Ii]-?/, '').toUpperCase()}`),
});

/** The body that sets an idea's own support threshold (null: the city's, IDEA_SUPPORT_THRESHOLD; 0: none). */
export const ideaThresholdBody = z.strictObject({
  supportThreshold: z.number().int().min(0).max(1_000_000).nullable(),
});

const ideaRef = z
  .string()
  .regex(/^[Ii]-?[A-Za-z0-9]{5}$/, 'must be an idea reference like I-4F2K9')
  .transform((ref) => `I-${ref.replace(/^[Ii]-?/, '').toUpperCase()}`);

/** The routes, mounted under /admin/api. */
export function ideaApiRoutes(service: Service): Router {
  const router = express.Router();

  router.get('/ideas', async (req, res) => {
    const query = ideaQuery.safeParse(req.query);
    if (!query.success) throw validationError(query.error);
    res.json({ ideas: (await listIdeas(service.staff, query.data)).map(ideaForStaff) });
  });

  // Before `/ideas/:ref`, which "moderation" is not.
  router.get('/ideas/moderation', async (_req, res) => {
    const queue = await moderationQueue(service.staff);
    res.set('Cache-Control', 'private, no-store').json({ review: queue.review.map(moderatedForStaff), hidden: queue.hidden.map(moderatedForStaff) });
  });

  router.get('/ideas/:ref', async (req, res) => {
    const ref = ideaRef.safeParse(req.params.ref);
    if (!ref.success) throw validationError(ref.error);
    const idea = await ideaDetail(service.staff, ref.data);
    const [weeks, merges] = await Promise.all([supportersByWeek(service.staff, idea), ideaMergeInfo(service.staff.store, idea)]);
    res.json({
      idea: ideaForStaff(idea),
      supportersByWeek: weeks,
      ...(merges.mergedInto ? { mergedInto: merges.mergedInto._id } : {}),
      merged: merges.mergedHere.map((merged) => ({ ref: merged._id, title: merged.title, createdAt: merged.createdAt })),
    });
  });

  router.post('/ideas/:ref/moderation', async (req, res) => {
    const ref = ideaRef.safeParse(req.params.ref);
    if (!ref.success) throw validationError(ref.error);
    const body = ideaModerationBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { seen, ...decision } = body.data;
    res.json({ idea: ideaForStaff(await moderateIdea(service.staff, ref.data, { ...decision, ...(seen !== undefined ? { seen } : {}) }, actorOf(res))) });
  });

  router.post('/ideas/:ref/merge', async (req, res) => {
    const ref = ideaRef.safeParse(req.params.ref);
    if (!ref.success) throw validationError(ref.error);
    const body = ideaMergeBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const result = await mergeIdeas(service.staff, body.data.into, ref.data, actorOf(res));
    res.json({ kept: ideaForStaff(result.kept), merged: ideaForStaff(result.merged), already: result.already });
  });

  router.post('/ideas/:ref/response', async (req, res) => {
    const ref = ideaRef.safeParse(req.params.ref);
    if (!ref.success) throw validationError(ref.error);
    const body = ideaResponseBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const result = await respondToIdea(service.staff, ref.data, body.data, actorOf(res));
    res.json({ idea: ideaForStaff(result.idea), broadcastId: result.broadcastId, queued: result.queued });
  });

  router.post('/ideas/:ref/threshold', async (req, res) => {
    const ref = ideaRef.safeParse(req.params.ref);
    if (!ref.success) throw validationError(ref.error);
    const body = ideaThresholdBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    res.json({ idea: ideaForStaff(await setIdeaThreshold(service.staff, ref.data, body.data.supportThreshold, actorOf(res))) });
  });

  return router;
}

/** An idea in the moderation queue as the API shows it: counts and reasons, never who reported it. */
function moderatedForStaff(idea: ModeratedIdea) {
  const { reportSummary, ...rest } = idea;
  return { ...ideaForStaff(rest), reportSummary, seen: moderationSeen(idea) };
}
