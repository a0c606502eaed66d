/**
 * Staff API for volunteer-call broadcasts: preview an audience's recipient count, create (send
 * now or schedule), list, follow the progress of one, and pause, resume or cancel it. Sending
 * is the broadcast worker's; these routes only write records and wake it.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { CHANNEL_NAMES } from '../../core/message.js';
import type { AudienceFilter } from '../../domain/records.js';
import type { Service } from '../../service.js';
import {
  MAX_ANSWER_WINDOW_HOURS,
  MAX_AUDIENCE_REPORTS,
  MAX_MESSAGE_LENGTH,
  broadcastProgress,
  cancelBroadcast,
  createBroadcast,
  getBroadcast,
  listBroadcasts,
  pauseBroadcast,
  previewAudience,
  resumeBroadcast,
} from '../../staff/broadcasts.js';
import { HttpError, validationError } from '../../core/errors.js';
import { actorOf } from './actor.js';

const words = (max: number) => z.array(z.string().trim().min(1).max(max)).max(100);

/** Who a broadcast goes to, as the API takes it (every field narrows; absent or empty narrows nothing). */
const audienceFields = z.strictObject({
  channels: z.array(z.enum(CHANNEL_NAMES)).max(CHANNEL_NAMES.length).optional(),
  locales: z
    .array(z.string().regex(/^[a-z]{2}$/, 'must be a two-letter language code such as en'))
    .max(20)
    .optional(),
  interests: words(40).optional(),
  neighbourhoods: words(80).optional(),
  activeWithinDays: z.number().int().min(1).max(3650).optional(),
  /** A shift's confirmed volunteers (alone: no other field narrows it). */
  shiftId: z.string().trim().min(1).max(40).optional(),
  /** Love Your Block: these reports' reporters and followers are in the audience too. */
  reports: z
    .array(z.string().regex(/^[Rr]-?[A-Za-z0-9]{5}$/, 'must be report references like R-7K3QX'))
    .max(MAX_AUDIENCE_REPORTS)
    .transform((refs) => refs.map((ref) => `R-${ref.replace(/^[Rr]-?/, '').toUpperCase()}`))
    .optional(),
  /** `false`: only the reports' residents, not the opted-in residents. */
  optedIn: z.boolean().optional(),
});

const previewBody = z.strictObject({ audience: audienceFields.default({}) });

const createBody = z.strictObject({
  messages: z.record(
    z.string().regex(/^[a-z]{2}$/, 'must be keyed by two-letter language codes such as en'),
    z.string().trim().min(1).max(MAX_MESSAGE_LENGTH, `must be at most ${MAX_MESSAGE_LENGTH} characters`),
  ),
  audience: audienceFields,
  roleId: z
    .string()
    .regex(/^[Vv]-?[A-Za-z0-9]{5}$/, 'must be a role reference like V-8M2PQ')
    .transform((ref) => `V-${ref.replace(/^[Vv]-?/, '').toUpperCase()}`)
    .optional(),
  sendAt: z.iso.datetime({ offset: true, message: 'must be an ISO date and time such as 2026-12-01T17:00:00Z' }).optional(),
  answerWindowHours: z.number().min(1).max(MAX_ANSWER_WINDOW_HOURS).optional(),
});

const broadcastRef = z
  .string()
  .regex(/^[Bb]-?[A-Za-z0-9]{5}$/, 'must be a broadcast reference like B-7K3QX')
  .transform((ref) => `B-${ref.replace(/^[Bb]-?/, '').toUpperCase()}`);

const listQuery = z.coerce.number().int().min(1).max(200).default(50);

/** The routes, mounted under /admin/api. */
export function broadcastApiRoutes(service: Service): Router {
  const router = express.Router();
  const { store } = service;
  const refOf = (value: unknown) => {
    const ref = broadcastRef.safeParse(value);
    if (!ref.success) throw validationError(ref.error);
    return ref.data;
  };

  router.post('/broadcasts/preview', async (req, res) => {
    const body = previewBody.safeParse(req.body ?? {});
    if (!body.success) throw validationError(body.error);
    res.json({ preview: await previewAudience(store, audienceOf(body.data.audience), new Date(), (channel) => service.messenger.reaches(channel)) });
  });

  router.post('/broadcasts', async (req, res) => {
    const body = createBody.safeParse(req.body);
    if (!body.success) throw validationError(body.error);
    const { messages, audience, roleId, sendAt, answerWindowHours } = body.data;
    const { broadcast, plan } = await createBroadcast(
      service,
      {
        messages,
        audience: audienceOf(audience),
        ...(roleId !== undefined ? { roleId } : {}),
        ...(sendAt !== undefined ? { sendAt: new Date(sendAt) } : {}),
        ...(answerWindowHours !== undefined ? { answerWindowHours } : {}),
      },
      actorOf(res),
    );
    service.broadcasts.kick();
    const { _rev, ...record } = broadcast;
    res.status(201).json({ broadcast: record, plan });
  });

  router.get('/broadcasts', async (req, res) => {
    const limit = listQuery.safeParse(req.query['limit'] ?? undefined);
    if (!limit.success) throw validationError(limit.error);
    res.json({ broadcasts: (await listBroadcasts(store, limit.data)).map(({ _rev, ...broadcast }) => broadcast) });
  });

  router.get('/broadcasts/:id', async (req, res) => {
    const id = refOf(req.params.id);
    const broadcast = await getBroadcast(store, id);
    if (!broadcast) throw new HttpError(404, `No broadcast ${id}`);
    const { _rev, ...record } = broadcast;
    res.json({ broadcast: record, progress: await broadcastProgress(store, id) });
  });

  router.post('/broadcasts/:id/pause', async (req, res) => {
    const { _rev, ...broadcast } = await pauseBroadcast(store, refOf(req.params.id), actorOf(res));
    res.json({ broadcast });
  });

  router.post('/broadcasts/:id/resume', async (req, res) => {
    const { _rev, ...broadcast } = await resumeBroadcast(store, refOf(req.params.id), actorOf(res));
    service.broadcasts.kick();
    res.json({ broadcast });
  });

  router.post('/broadcasts/:id/cancel', async (req, res) => {
    const { broadcast, skipped } = await cancelBroadcast(store, refOf(req.params.id), actorOf(res));
    const { _rev, ...record } = broadcast;
    res.json({ broadcast: record, skipped });
  });

  return router;
}

/** The parsed filter without zod's `undefined` fields (the stored filter has them absent). */
function audienceOf(parsed: z.infer<typeof audienceFields>): AudienceFilter {
  return Object.fromEntries(Object.entries(parsed).filter(([, value]) => value !== undefined)) as AudienceFilter;
}
