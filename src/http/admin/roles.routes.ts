/**
 * Staff API for volunteer roles: list, create, edit, close or reopen, see the sign-ups and
 * export them as CSV; and Love Your Block (love-your-block.ts): make a role from reports, send
 * its volunteer call to the reports' residents and residents nearby, and close its reports
 * together when the work is done.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../service.js';
import { createRole, listRoles, roleDetail, roleSignups, roleSignupsCsv, setRoleProgramme, setRoleStatus, updateRole } from '../../staff/role-desk.js';
import { closeRoleReports, createRoleCall, createRoleFromReports, MAX_ROLE_REPORTS } from '../../staff/love-your-block.js';
import { MAX_ANSWER_WINDOW_HOURS, MAX_MESSAGE_LENGTH } from '../../staff/broadcasts.js';
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

/** The body of `PATCH /roles/:ref/programme`: reminders, release deadline, outcome; `null` removes one. */
export const roleProgrammeBody = z.strictObject({
  reminderHours: z.array(z.number().positive().max(720)).min(1).max(6).nullable().optional(),
  releaseUnconfirmedHours: z.number().min(0).max(720).nullable().optional(),
  outcome: z
    .strictObject({
      unit: text(60),
      question: text(300),
      target: z.number().int().min(0).max(100_000_000).optional(),
      translations: z.record(z.string().regex(/^[a-z]{2}$/), z.strictObject({ unit: text(60), question: text(300) })).optional(),
    })
    .nullable()
    .optional(),
});

/** The body of `POST /roles/from-reports`: the role's fields and the open reports it is made from. */
export const fromReportsBody = roleFields.extend({
  reports: z
    .array(
      z
        .string()
        .trim()
        .regex(/^[Rr]-?[A-Za-z0-9]{5}$/, 'must be report references like R-7K3QX'),
    )
    .min(1)
    .max(MAX_ROLE_REPORTS, `at most ${MAX_ROLE_REPORTS} reports make one role`),
});

/** The body of `POST /roles/:ref/close-reports`: the role's revision as the caller saw it. */
export const closeReportsBody = z.strictObject({ revision: z.number().int().min(1) });

/** The body of `POST /roles/:ref/call`: the message per language, who hears it, and when. */
export const roleCallBody = z.strictObject({
  messages: z.record(
    z.string().regex(/^[a-z]{2}$/, 'must be keyed by two-letter language codes such as en'),
    z.string().trim().min(1).max(MAX_MESSAGE_LENGTH, `must be at most ${MAX_MESSAGE_LENGTH} characters`),
  ),
  audience: z.strictObject({ reporters: z.boolean().default(false), nearby: z.boolean().default(false) }),
  sendAt: z.iso.datetime({ offset: true, message: 'must be an ISO date and time such as 2026-12-01T17:00:00Z' }).optional(),
  answerWindowHours: z.number().min(1).max(MAX_ANSWER_WINDOW_HOURS).optional(),
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

  router.post('/roles/from-reports', async (req, res) => {
    const body = fromReportsBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { reports, ...fields } = body.data;
    const { _rev, ...role } = await createRoleFromReports(service.staff, reports, withoutUndefined(fields), actorOf(res));
    res.status(201).json({ role, revision: _rev });
  });

  router.get('/roles/:ref', async (req, res) => {
    const ref = refOf(req.params.ref);
    const { _rev, ...role } = await roleDetail(service.staff, ref);
    // The revision is what "close these reports" is checked against.
    res.json({ role, revision: _rev, signups: await roleSignups(service.staff, ref) });
  });

  router.post('/roles/:ref/call', async (req, res) => {
    const ref = refOf(req.params.ref);
    const body = roleCallBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { messages, audience, sendAt, answerWindowHours } = body.data;
    const { broadcast, plan } = await createRoleCall(
      service,
      ref,
      { messages, audience, ...(sendAt ? { sendAt: new Date(sendAt) } : {}), ...(answerWindowHours !== undefined ? { answerWindowHours } : {}) },
      actorOf(res),
    );
    service.broadcasts.kick();
    const { _rev, ...record } = broadcast;
    res.status(201).json({ broadcast: record, plan });
  });

  router.post('/roles/:ref/close-reports', async (req, res) => {
    const ref = refOf(req.params.ref);
    const body = closeReportsBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    res.json({ closing: await closeRoleReports(service.staff, ref, body.data.revision, actorOf(res)) });
  });

  router.patch('/roles/:ref/programme', async (req, res) => {
    const ref = refOf(req.params.ref);
    const body = roleProgrammeBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { _rev, ...role } = await setRoleProgramme(service.staff, ref, withoutUndefined(body.data), actorOf(res));
    res.json({ role });
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
