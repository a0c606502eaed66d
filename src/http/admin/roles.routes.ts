/**
 * Staff API for volunteer roles: list, create, edit, close or reopen, see the sign-ups and
 * export them as CSV.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../service.js';
import { createRole, listRoles, roleDetail, roleSignups, roleSignupsCsv, setRoleStatus, updateRole } from '../../staff/role-desk.js';
import { validationError } from '../../core/errors.js';
import { actorOf } from './actor.js';

const text = (max: number) => z.string().trim().min(1).max(max);
/** A date and time as ISO 8601 (`2026-12-05T15:00:00Z`), within a sensible range: not null, not a bare number. */
export const isoDate = z.iso
  .datetime({ offset: true, message: 'must be an ISO date and time such as 2026-12-05T15:00:00Z' })
  .transform((value) => new Date(value))
  .refine((date) => date.getUTCFullYear() >= 2000 && date.getUTCFullYear() <= 2100, 'must be between the years 2000 and 2100');

/** The fields of a role, as the API takes them. */
export const roleFields = z.strictObject({
  title: text(120),
  description: text(2000),
  interests: z.array(text(40)).max(12).default([]),
  neighbourhood: text(80),
  place: text(200),
  startsAt: isoDate,
  endsAt: isoDate.optional(),
  schedule: z.string().trim().max(120).optional(),
  capacity: z.coerce.number().int().min(1).max(100_000),
  contact: text(200),
  translations: z.record(z.string().regex(/^[a-z]{2}$/), z.strictObject({ title: text(120), description: text(2000) })).optional(),
});

/** A role reference from a path, normalised (`v8m2pq` → `V-8M2PQ`). */
export const roleRef = z
  .string()
  .regex(/^[Vv]-?[A-Za-z0-9]{5}$/, 'must be a role reference like V-8M2PQ')
  .transform((ref) => `V-${ref.replace(/^[Vv]-?/, '').toUpperCase()}`);

/** The routes, mounted under /admin/api. */
export function roleApiRoutes(service: Service): Router {
  const router = express.Router();
  const refOf = (value: unknown) => {
    const ref = roleRef.safeParse(value);
    if (!ref.success) throw validationError(ref.error);
    return ref.data;
  };

  router.get('/roles', async (req, res) => {
    const status = z.enum(['open', 'closed']).optional().safeParse(req.query['status']);
    if (!status.success) throw validationError(status.error);
    res.json({ roles: (await listRoles(service.staff, status.data ? { status: status.data } : {})).map(({ _rev, ...role }) => role) });
  });

  router.post('/roles', async (req, res) => {
    const body = roleFields.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { _rev, ...role } = await createRole(service.staff, withoutUndefined(body.data), actorOf(res));
    res.status(201).json({ role });
  });

  router.get('/roles/:ref', async (req, res) => {
    const ref = refOf(req.params.ref);
    const { _rev, ...role } = await roleDetail(service.staff, ref);
    res.json({ role, signups: await roleSignups(service.staff, ref) });
  });

  router.patch('/roles/:ref', async (req, res) => {
    const ref = refOf(req.params.ref);
    const body = roleFields
      .partial()
      .extend({ endsAt: isoDate.nullable().optional(), schedule: z.string().trim().max(120).nullable().optional() })
      .safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { _rev, ...role } = await updateRole(service.staff, ref, withoutUndefined(body.data), actorOf(res));
    res.json({ role });
  });

  router.post('/roles/:ref/close', async (req, res) => {
    const { _rev, ...role } = await setRoleStatus(service.staff, refOf(req.params.ref), 'closed', actorOf(res));
    res.json({ role });
  });

  router.post('/roles/:ref/reopen', async (req, res) => {
    const { _rev, ...role } = await setRoleStatus(service.staff, refOf(req.params.ref), 'open', actorOf(res));
    res.json({ role });
  });

  router.get('/roles/:ref/signups.csv', async (req, res) => {
    const ref = refOf(req.params.ref);
    const csv = await roleSignupsCsv(service.staff, ref);
    res.type('text/csv; charset=utf-8').attachment(`${ref}-signups.csv`).send(csv);
  });

  return router;
}

/** zod's optional fields come back as `undefined`; the role desk's types want them absent. */
function withoutUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
