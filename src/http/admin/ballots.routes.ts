/**
 * Staff API for ballots (issue 21): list, create and edit a draft, open, close, read the results
 * (votes, share and funding per project, turnout by channel and language), send an open ballot
 * by broadcast, and publish a closed ballot's result to its voters (a broadcast too). Sending is
 * the broadcast worker's; these routes write records and wake it.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { CHANNEL_NAMES } from '../../core/message.js';
import type { AudienceFilter } from '../../domain/records.js';
import type { Service } from '../../service.js';
import {
  MAX_BALLOT_PROJECTS,
  ballotReport,
  closeBallot,
  createBallot,
  listBallotsForStaff,
  openBallot,
  publishResults,
  sendBallot,
  updateBallot,
  type BallotInput,
} from '../../staff/ballot-desk.js';
import { HttpError, validationError } from '../../core/errors.js';
import { actorOf } from './actor.js';

const texts = (max: number) => z.record(z.string().regex(/^[a-z]{2}$/, 'must be keyed by two-letter language codes such as en'), z.string().trim().max(max));
const when = z.iso.datetime({ offset: true, message: 'must be an ISO date and time such as 2026-12-01T17:00:00Z' });

/** A ballot as the API takes it. */
export const ballotBody = z.strictObject({
  title: texts(120),
  question: texts(300),
  projects: z
    .array(z.strictObject({ title: texts(80), cost: z.number().int().min(0).max(1_000_000_000_000) }))
    .min(2)
    .max(MAX_BALLOT_PROJECTS),
  rule: z.enum(['budget', 'pick_up_to']),
  budget: z.number().int().min(1).max(1_000_000_000_000).optional(),
  maxPicks: z.number().int().min(1).max(MAX_BALLOT_PROJECTS).optional(),
  opensAt: when,
  closesAt: when,
});

/** Who an open ballot is sent to: residents opted in to messages, narrowed like a broadcast's audience. */
const sendBody = z.strictObject({
  audience: z
    .strictObject({
      channels: z.array(z.enum(CHANNEL_NAMES)).max(CHANNEL_NAMES.length).optional(),
      locales: z
        .array(z.string().regex(/^[a-z]{2}$/))
        .max(20)
        .optional(),
      interests: z.array(z.string().trim().min(1).max(40)).max(100).optional(),
      neighbourhoods: z.array(z.string().trim().min(1).max(80)).max(100).optional(),
      activeWithinDays: z.number().int().min(1).max(3650).optional(),
    })
    .default({}),
});

const ballotRef = z
  .string()
  .regex(/^[Pp]-?[A-Za-z0-9]{5}$/, 'must be a ballot reference like P-7K3QX')
  .transform((ref) => `P-${ref.replace(/^[Pp]-?/, '').toUpperCase()}`);

/** The routes, mounted under /admin/api. */
export function ballotApiRoutes(service: Service): Router {
  const router = express.Router();
  const { store } = service;
  const defaultLocale = service.config.defaultLocale;
  const refOf = (value: unknown) => {
    const ref = ballotRef.safeParse(value);
    if (!ref.success) throw validationError(ref.error);
    return ref.data;
  };
  const inputOf = (body: unknown): BallotInput => {
    const parsed = ballotBody.safeParse(body);
    if (!parsed.success) throw validationError(parsed.error);
    return ballotInputOf(parsed.data);
  };

  router.get('/ballots', async (_req, res) => {
    res.json({ ballots: (await listBallotsForStaff(store)).map(withoutRev) });
  });

  router.post('/ballots', async (req, res) => {
    const ballot = await createBallot(store, inputOf(req.body), actorOf(res), defaultLocale);
    res.status(201).json({ ballot: withoutRev(ballot) });
  });

  router.get('/ballots/:id', async (req, res) => {
    const id = refOf(req.params.id);
    const ballot = await store.ballots.get(id);
    if (!ballot) throw new HttpError(404, `No ballot ${id}`);
    res.json({ ballot: withoutRev(ballot), results: await ballotReport(store, ballot, defaultLocale) });
  });

  router.put('/ballots/:id', async (req, res) => {
    const id = refOf(req.params.id);
    res.json({ ballot: withoutRev(await updateBallot(store, id, inputOf(req.body), actorOf(res), defaultLocale)) });
  });

  router.post('/ballots/:id/open', async (req, res) => {
    res.json({ ballot: withoutRev(await openBallot(store, refOf(req.params.id), actorOf(res))) });
  });

  router.post('/ballots/:id/close', async (req, res) => {
    res.json({ ballot: withoutRev(await closeBallot(store, refOf(req.params.id), actorOf(res))) });
  });

  router.post('/ballots/:id/send', async (req, res) => {
    const id = refOf(req.params.id);
    const body = sendBody.safeParse(req.body ?? {});
    if (!body.success) throw validationError(body.error);
    const audience = Object.fromEntries(Object.entries(body.data.audience).filter(([, value]) => value !== undefined)) as AudienceFilter;
    const { broadcast, plan } = await sendBallot(service, id, audience, actorOf(res));
    service.broadcasts.kick();
    res.status(201).json({ broadcast: withoutRev(broadcast), plan });
  });

  router.post('/ballots/:id/publish', async (req, res) => {
    const { ballot, broadcast, plan } = await publishResults(service, refOf(req.params.id), actorOf(res));
    service.broadcasts.kick();
    res.json({ ballot: withoutRev(ballot), broadcast: withoutRev(broadcast), plan });
  });

  return router;
}

/** The parsed body as the desk takes it (dates as dates, absent fields absent). */
export function ballotInputOf(body: z.infer<typeof ballotBody>): BallotInput {
  return {
    title: body.title,
    question: body.question,
    projects: body.projects,
    rule: body.rule,
    ...(body.budget !== undefined ? { budget: body.budget } : {}),
    ...(body.maxPicks !== undefined ? { maxPicks: body.maxPicks } : {}),
    opensAt: new Date(body.opensAt),
    closesAt: new Date(body.closesAt),
  };
}

function withoutRev<T extends { _rev: number }>(record: T): Omit<T, '_rev'> {
  const { _rev, ...rest } = record;
  return rest;
}
