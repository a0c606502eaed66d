/**
 * Who is acting on the staff side. The staff access middleware (`staff-access.ts`) puts the
 * signed-in staff member, or the ADMIN_TOKEN bearer, on `res.locals.staff`; routes read it here.
 */
import type { RequestHandler, Response } from 'express';
import { HttpError } from '../../core/errors.js';
import type { Actor } from '../../staff/staff-deps.js';

/** A staff member acting through a session, or a script with ADMIN_TOKEN (an admin). */
export interface StaffActor extends Actor {
  via: 'session' | 'token';
  /** The session's CSRF token, for pages to put in their forms. */
  csrfToken?: string;
}

/** The actor of a request that passed staff access; throws if the route was mounted without it. */
export function actorOf(res: Response): StaffActor {
  const actor = res.locals['staff'] as StaffActor | undefined;
  if (!actor) throw new Error('Staff route reached without staff access');
  return actor;
}

/** Lets through only admins (403 for a coordinator). */
export function requireAdmin(): RequestHandler {
  return (_req, res, next) => {
    next(actorOf(res).role === 'admin' ? undefined : new HttpError(403, 'Only an admin may do this'));
  };
}
