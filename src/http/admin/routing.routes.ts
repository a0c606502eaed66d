/**
 * Staff API for the routing table (src/staff/report-routing.ts): the departments and the
 * categories each handles, and each category's target days. Everyone on the staff side reads it;
 * only admins ("data staff") change it.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../service.js';
import { validationError } from '../../core/errors.js';
import { categoryTargets, removeDepartment, routingTable, saveDepartment, setTargetDays, type RoutingTable } from '../../staff/report-routing.js';
import { actorOf, requireAdmin } from './actor.js';

/** The body of a department: its name and the categories it handles. */
export const departmentBody = z.strictObject({
  name: z.string().min(1).max(80),
  categories: z.array(z.string().max(40)).max(50),
});

/** The body of a target change: days per category, null for the default. */
export const targetsBody = z.strictObject({
  targetDays: z.record(z.string().max(40), z.number().int().min(1).max(365).nullable()),
});

/** The routing table's routes, mounted under /admin/api. */
export function routingApiRoutes(service: Service): Router {
  const router = express.Router();

  router.get('/routing', async (_req, res) => {
    res.json(routingView(await routingTable(service.staff)));
  });

  router.put('/routing/departments/:id', requireAdmin(), async (req, res) => {
    const body = departmentBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const department = await saveDepartment(service.staff, String(req.params.id), body.data, actorOf(res));
    res.json({ department });
  });

  router.delete('/routing/departments/:id', requireAdmin(), async (req, res) => {
    await removeDepartment(service.staff, String(req.params.id), actorOf(res));
    res.status(204).end();
  });

  router.put('/routing/targets', requireAdmin(), async (req, res) => {
    const body = targetsBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    res.json(routingView(await setTargetDays(service.staff, body.data.targetDays, actorOf(res))));
  });

  return router;
}

/** The table as the API shows it: departments, and every category's target with whether it is the default. */
function routingView(table: RoutingTable) {
  return { departments: table.departments, targets: categoryTargets(table) };
}
