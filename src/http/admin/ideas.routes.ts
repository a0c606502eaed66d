/**
 * Staff API for ideas: list (newest or most supported), one idea, and the city's answer,
 * which tells the author and, if asked, the supporters.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../service.js';
import { IDEA_RESPONSES, ideaDetail, listIdeas, respondToIdea } from '../../staff/idea-desk.js';
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

  router.get('/ideas/:ref', async (req, res) => {
    const ref = ideaRef.safeParse(req.params.ref);
    if (!ref.success) throw validationError(ref.error);
    res.json({ idea: ideaForStaff(await ideaDetail(service.staff, ref.data)) });
  });

  router.post('/ideas/:ref/response', async (req, res) => {
    const ref = ideaRef.safeParse(req.params.ref);
    if (!ref.success) throw validationError(ref.error);
    const body = ideaResponseBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const result = await respondToIdea(service.staff, ref.data, body.data, actorOf(res));
    res.json({ idea: ideaForStaff(result.idea), notified: result.notified, skipped: result.skipped, failed: result.failed });
  });

  return router;
}
