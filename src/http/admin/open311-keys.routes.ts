/**
 * Staff API for Open311 API keys (issue 19), admins only: list them with their last use, make
 * one (the key is in the answer once, and never again), revoke one, and read a key's audit trail
 * (what it posted). See src/staff/open311-keys.ts for the key's format and hashing.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../service.js';
import { validationError } from '../../core/errors.js';
import { listAudit } from '../../staff/audit-log.js';
import { createOpen311Key, listOpen311Keys, MAX_KEY_PER_MINUTE, open311Actor, revokeOpen311Key } from '../../staff/open311-keys.js';
import { readServiceMap, saveServiceMap } from '../../staff/open311-client.js';
import { actorOf, requireAdmin } from './actor.js';

/** The body of a new key: who it is for, and how many requests it may post a minute. */
export const open311KeyBody = z.strictObject({
  name: z.string().trim().min(1).max(80),
  perMinute: z.number().int().min(1).max(MAX_KEY_PER_MINUTE).optional(),
});

const auditQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).optional() });

/** The Open311 key routes, mounted under /admin/api. */
export function open311KeyApiRoutes(service: Service): Router {
  const router = express.Router();

  // The category → service_code map the Open311 client forwards reports with (OPEN311_ENDPOINT):
  // editable whether or not forwarding is on, so it is ready before the city switches it on.
  router.get('/open311/service-map', requireAdmin(), async (_req, res) => {
    res.json({ map: await readServiceMap(service.store) });
  });

  router.put('/open311/service-map', requireAdmin(), async (req, res) => {
    const body = (req.body ?? {}) as { map?: unknown };
    res.json({ map: await saveServiceMap(service.store, body.map, actorOf(res)) });
  });

  router.get('/open311/keys', requireAdmin(), async (_req, res) => {
    res.json({ keys: await listOpen311Keys(service.store) });
  });

  router.post('/open311/keys', requireAdmin(), async (req, res) => {
    const body = open311KeyBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const created = await createOpen311Key(service.store, body.data, actorOf(res));
    // Never cached anywhere: this answer is the only place the key is ever shown.
    res.set('Cache-Control', 'no-store').status(201).json({ apiKey: created.key, key: created.view });
  });

  router.post('/open311/keys/:id/revoke', requireAdmin(), async (req, res) => {
    res.json({ key: await revokeOpen311Key(service.store, String(req.params.id), actorOf(res)) });
  });

  router.get('/open311/keys/:id/audit', requireAdmin(), async (req, res) => {
    const query = auditQuery.safeParse(req.query);
    if (!query.success) throw validationError(query.error);
    res.json({ entries: await listAudit(service.store, { actor: open311Actor(String(req.params.id)), ...query.data }) });
  });

  return router;
}
