/** Staff API for the impact numbers of the dashboard's home. */
import express, { type Router } from 'express';
import type { Service } from '../../service.js';
import { impactNumbers } from '../../staff/impact.js';

/** The routes, mounted under /admin/api. */
export function impactApiRoutes(service: Service): Router {
  const router = express.Router();
  router.get('/impact', async (_req, res) => {
    res.json(await impactNumbers(service.staff));
  });
  return router;
}
