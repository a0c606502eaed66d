/**
 * Staff API for a volunteer role's shifts (issue 20): list and add a role's shifts, edit and
 * cancel one, today's shifts, a shift's volunteers with their check-in and hours, approving all
 * reported hours, and messaging a shift's confirmed volunteers (a broadcast).
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../service.js';
import { HttpError, validationError } from '../../core/errors.js';
import { MAX_MESSAGE_LENGTH } from '../../staff/broadcasts.js';
import { cancelShift, createShift, listShifts, messageShiftVolunteers, shiftDetail, updateShift } from '../../staff/shift-desk.js';
import {
  approveAllReported,
  approveHours,
  markAttendance,
  MAX_SHIFT_HOURS,
  shiftVolunteers,
  todaysShifts,
  type VolunteerView,
} from '../../staff/shift-checkin.js';
import { actorOf } from './actor.js';
import { isoDate, roleRef } from './roles.routes.js';

/** A shift's fields, as the API takes them. */
export const shiftFields = z.strictObject({
  startsAt: isoDate,
  endsAt: isoDate,
  place: z.string().trim().max(200).optional(),
  capacity: z.coerce.number().int().min(0).max(100_000),
});

const shiftChanges = shiftFields.partial().extend({ place: z.string().trim().max(200).nullable().optional() });

const signupChanges = z
  .strictObject({
    attendance: z.enum(['attended', 'no_show']).optional(),
    /** A number, or "reported" to approve what the volunteer reported. */
    hoursApproved: z.union([z.literal('reported'), z.number().min(0).max(MAX_SHIFT_HOURS)]).optional(),
    /** The sign-up's revision the caller saw: a change since is refused (409). */
    rev: z.number().int().min(1).optional(),
  })
  .refine((body) => body.attendance !== undefined || body.hoursApproved !== undefined, 'give attendance, hoursApproved or both');

const messageBody = z.strictObject({
  messages: z.record(
    z.string().regex(/^[a-z]{2}$/, 'must be keyed by two-letter language codes such as en'),
    z.string().trim().min(1).max(MAX_MESSAGE_LENGTH, `must be at most ${MAX_MESSAGE_LENGTH} characters`),
  ),
});

/** Shift ids are references (`S-7K3QX`); anything else in the path is a shift that is not there. */
const SHIFT_ID = /^[A-Za-z0-9-]{1,40}$/;
/** Sign-up keys: 12 hex characters (see shift-checkin.ts). */
const SIGNUP_KEY = /^[0-9a-f]{12}$/;

/** The routes, mounted under /admin/api. */
export function shiftApiRoutes(service: Service): Router {
  const router = express.Router();
  const roleOf = (value: unknown) => {
    const ref = roleRef.safeParse(value);
    if (!ref.success) throw validationError(ref.error);
    return ref.data;
  };
  const shiftOf = (value: unknown) => {
    if (typeof value !== 'string' || !SHIFT_ID.test(value)) throw new HttpError(404, 'No such shift');
    return value.toUpperCase();
  };

  router.get('/roles/:ref/shifts', async (req, res) => {
    res.json({ shifts: (await listShifts(service.staff, roleOf(req.params.ref))).map(({ _rev, ...shift }) => shift) });
  });

  router.post('/roles/:ref/shifts', async (req, res) => {
    const ref = roleOf(req.params.ref);
    const body = shiftFields.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { place, ...rest } = body.data;
    const { _rev, ...shift } = await createShift(service.staff, ref, { ...rest, ...(place ? { place } : {}) }, actorOf(res));
    res.status(201).json({ shift });
  });

  // Before `/shifts/:id`, which would take `today` for an id.
  router.get('/shifts/today', async (_req, res) => {
    const shifts = await todaysShifts(service.staff);
    res.json({ shifts: shifts.map(({ shift: { _rev, ...shift }, ...row }) => ({ ...row, shift })) });
  });

  router.get('/shifts/:id', async (req, res) => {
    const id = shiftOf(req.params.id);
    const { _rev, ...shift } = await shiftDetail(service.staff, id);
    const { volunteers } = await shiftVolunteers(service.staff, id);
    res.json({ shift, volunteers });
  });

  router.patch('/shifts/:id', async (req, res) => {
    const id = shiftOf(req.params.id);
    const body = shiftChanges.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const changes = Object.fromEntries(Object.entries(body.data).filter(([, v]) => v !== undefined));
    const { _rev, ...shift } = await updateShift(service.staff, id, changes, actorOf(res));
    res.json({ shift });
  });

  router.post('/shifts/:id/cancel', async (req, res) => {
    const { _rev, ...shift } = await cancelShift(service.staff, shiftOf(req.params.id), actorOf(res));
    res.json({ shift });
  });

  router.patch('/shifts/:id/signups/:key', async (req, res) => {
    const id = shiftOf(req.params.id);
    const key = String(req.params.key);
    if (!SIGNUP_KEY.test(key)) throw new HttpError(404, 'No such volunteer on this shift');
    const body = signupChanges.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { attendance, hoursApproved, rev } = body.data;
    let volunteer: VolunteerView | undefined;
    if (attendance) volunteer = await markAttendance(service.staff, id, key, attendance, actorOf(res), new Date(), rev);
    if (hoursApproved !== undefined) {
      // With both, the revision was checked by the first write; the second follows it.
      volunteer = await approveHours(service.staff, id, key, hoursApproved, actorOf(res), new Date(), volunteer ? volunteer.rev : rev);
    }
    res.json({ volunteer });
  });

  router.post('/shifts/:id/approve-reported', async (req, res) => {
    res.json({ approved: await approveAllReported(service.staff, shiftOf(req.params.id), actorOf(res)) });
  });

  router.post('/shifts/:id/message', async (req, res) => {
    const id = shiftOf(req.params.id);
    const body = messageBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { broadcast, plan } = await messageShiftVolunteers(service, id, body.data.messages, actorOf(res));
    service.broadcasts.kick();
    const { _rev, ...record } = broadcast;
    res.status(201).json({ broadcast: record, plan });
  });

  return router;
}
