/**
 * The staff API under `/admin/api`: who am I (`/me`, for everyone with access), and the
 * admin-only management of staff accounts and the audit log. Every change is recorded in the
 * audit log with its actor; passwords never appear in it.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Store } from '../../store/store.port.js';
import { listAudit, recordAudit } from '../../staff/audit-log.js';
import { createStaffUser, listStaffUsers, STAFF_ROLES, updateStaffUser, type StaffErrorCode } from '../../staff/staff-accounts.js';
import { HttpError, validationError } from '../../core/errors.js';
import { actorOf, requireAdmin } from './actor.js';

/** What the staff API needs from the service. */
export interface StaffApiDeps {
  store: Pick<Store, 'staffUsers' | 'staffSessions' | 'audit'>;
}

const role = z.enum(['admin', 'coordinator'] satisfies typeof STAFF_ROLES);
const createBody = z
  .object({
    username: z.string().min(1).max(100),
    displayName: z.string().min(1).max(80),
    role,
    password: z.string().min(1).max(1024),
  })
  .strict();
const patchBody = z
  .object({
    displayName: z.string().min(1).max(80).optional(),
    role: role.optional(),
    active: z.boolean().optional(),
    password: z.string().min(1).max(1024).optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, 'give at least one of displayName, role, active, password');
const auditQuery = z
  .object({
    actor: z.string().min(1).max(100).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .strict();

/** The HTTP status of each expected refusal. */
const STATUS: Record<StaffErrorCode, number> = {
  invalid_username: 400,
  invalid_name: 400,
  invalid_role: 400,
  weak_password: 400,
  username_taken: 409,
  unknown_user: 404,
  last_admin: 409,
};

/** The staff routes, for the `/admin/api` router (which applies staff access before them). */
export function staffApiRoutes(deps: StaffApiDeps): Router {
  const { store } = deps;
  const router = express.Router();

  // Lets a page or script learn who it acts as; a session's pages get their CSRF token here.
  router.get('/me', (_req, res) => {
    const actor = actorOf(res);
    res.json({ username: actor.username, role: actor.role, via: actor.via, ...(actor.via === 'session' ? { csrfToken: actor.csrfToken } : {}) });
  });

  router.get('/staff', requireAdmin(), async (_req, res) => {
    res.json({ staff: await listStaffUsers(store) });
  });

  router.post('/staff', requireAdmin(), async (req, res) => {
    const body = createBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const created = await createStaffUser(store, body.data);
    if (!created.ok) throw new HttpError(STATUS[created.code], created.message);
    await recordAudit(store, {
      actor: actorOf(res).username,
      action: 'staff.create',
      target: created.value.username,
      details: { role: created.value.role, displayName: created.value.displayName },
    });
    res.status(201).json({ user: created.value });
  });

  router.patch('/staff/:username', requireAdmin(), async (req, res) => {
    const body = patchBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const username = String(req.params['username']);
    const updated = await updateStaffUser(store, username, body.data);
    if (!updated.ok) throw new HttpError(STATUS[updated.code], updated.message);
    const { user, changed } = updated.value;
    const actor = actorOf(res).username;
    // One entry per kind of change, so the log can be read (and filtered) action by action.
    for (const field of changed) {
      const entry =
        field === 'role'
          ? { action: 'staff.set_role', details: { role: user.role } }
          : field === 'active'
            ? { action: user.active ? 'staff.enable' : 'staff.disable' }
            : field === 'password'
              ? { action: 'staff.set_password' }
              : { action: 'staff.rename', details: { displayName: user.displayName } };
      await recordAudit(store, { actor, target: user.username, ...entry });
    }
    res.json({ user, changed });
  });

  router.get('/audit', requireAdmin(), async (req, res) => {
    const query = auditQuery.safeParse(req.query);
    if (!query.success) throw validationError(query.error);
    res.json({ entries: await listAudit(store, { ...query.data }) });
  });

  return router;
}
