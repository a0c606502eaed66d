/**
 * The broadcast worker: sends planned deliveries (see `broadcasts.ts`) through each channel's
 * own outbound sender, and keeps every delivery's record up to date.
 *
 * - One lane per channel, running side by side, so SMS at one message a second does not hold up
 *   Telegram. A lane sends one message at a time, each broadcast's in plan order: the channel's
 *   sender paces it at the channel's rate, and a crash leaves at most one message per channel in
 *   doubt. The broadcasts sending at once take turns, one message each, so a coordinator's note to
 *   one shift's volunteers or an idea's notice does not wait a day for a call to 100,000 residents
 *   (one SMS a second) to finish.
 * - A delivery is claimed before it is sent (`queued` → `sending`, a revision-checked replace),
 *   so two workers never take the same one, and the broadcast's status is read again before
 *   every claim, so a pause or a cancel stops the lanes after the message in flight.
 * - Every instance runs a worker. A claim names its worker and carries a lease (`leaseUntil`,
 *   BROADCAST_LEASE_SECONDS), renewed every third of it while the worker works on the delivery:
 *   a delivery left `sending` past its lease belongs to an instance that died, and any worker
 *   takes it over as a crash's leftover (below).
 * - The channel's rate holds across instances: each delivery first takes the next slot of its
 *   channel from a record every instance shares (`broadcast-pace|<channel>` in meta).
 * - Nothing is claimed during quiet hours (QUIET_HOURS in CITY_TIMEZONE); scheduled broadcasts
 *   wait for them to end too.
 * - After a crash, a delivery left `sending` (and its lease run out) is handed to the notifier
 *   again with the same key.
 *   The channel's sender then either sends it (the crash came before the provider was called) or
 *   reports it `interrupted`: Twilio and Telegram take no idempotency key, so a request cut off
 *   after the provider accepted it but before we recorded that may have arrived, and sending it
 *   again could reach the resident twice. It is recorded as failed (`interrupted`), never resent.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { ChannelName, Reply } from '../core/message.js';
import type { SendOutcome } from '../channels/channel.js';
import { outboundErrorSummary as describe, redactNumbers } from '../channels/outbound-records.js';
import { isQuiet, quietHoursEnd } from '../domain/quiet-hours.js';
import type { BroadcastRecord, DeliveryRecord } from '../domain/records.js';
import type { Collections } from '../store/store.port.js';
import { BROADCAST_CHANNELS, countIn, deliveryBucket, finishIfSettled, finishPlanning, planBroadcast, withState, type Reaches } from './broadcasts.js';
import type { Notification, ResidentNotifier } from './resident-notifier.js';
import { ideaNoticeText } from '../pipeline/idea-support.js';

/** What the worker needs; `now` and the timings are there for tests. */
export interface BroadcastWorkerOptions {
  store: Collections;
  notifier: ResidentNotifier;
  /** Whether a channel is on: used when a plan a crash cut off is made again. */
  reaches: Reaches;
  config: Pick<Config, 'defaultLocale' | 'quietHours' | 'cityTimeZone'>;
  logger: Logger;
  now?: () => Date;
  /** How often an idle lane looks for work (default 1 s); `kick()` wakes it sooner. */
  pollMs?: number;
  /** Attempts at a delivery whose failure the channel calls retryable (default 3). */
  maxAttempts?: number;
  /** Wait before the second attempt; doubled for each next one (default 30 s). */
  retryBackoffMs?: number;
  /** How long a claim is this worker's before another may take it over (default 60 s). */
  leaseMs?: number;
  /** Messages per second a channel takes from all instances together (none: no shared pace). */
  rates?: Partial<Record<ChannelName, number>>;
}

/** A running (or not yet started) broadcast worker. */
export interface BroadcastWorker {
  /** Starts the lanes; a second call does nothing. */
  start(): void;
  /** Stops taking deliveries and resolves once the messages in flight are recorded. */
  stop(): Promise<void>;
  /** Wakes idle lanes now (a broadcast was created, resumed, or a test moved its clock). */
  kick(): void;
  /** Resolves once every lane has looked for work since this call and found none (or quiet hours). */
  idle(): Promise<void>;
}

const DEFAULT_POLL_MS = 1000;
/** During quiet hours the lanes look again at least this often, in case the clock or config changed. */
const QUIET_RECHECK_MS = 60_000;
/** Planning 100,000 deliveries takes seconds; one unfinished after this long was cut off by a crash. */
const PLAN_STALE_MS = 5 * 60_000;
/** Broadcasts looked at per pass: more than a city sends at once. */
const ACTIVE_LIMIT = 50;
/**
 * The reason a delivery carries while a restarted worker asks its channel what became of it. If
 * that restart is cut off too, the delivery is recorded as interrupted without asking again:
 * the channel may have marked its message interrupted already, and a third ask would send it.
 */
const RECOVERING = 'recovering';
/** A shared pace slot further ahead than this was set by a clock that ran fast: it is not waited for. */
const MAX_PACE_AHEAD_MS = 60_000;
/** What an interrupted delivery's `lastError` says. */
const INTERRUPTED_ERROR = 'interrupted mid-send by a restart: it may have arrived, so it is not sent again';

interface Claim {
  delivery: DeliveryRecord;
  broadcast: BroadcastRecord;
}

/** Builds a broadcast worker; nothing runs until `start()`. */
export function createBroadcastWorker(options: BroadcastWorkerOptions): BroadcastWorker {
  const { store, notifier, config, logger } = options;
  const now = options.now ?? (() => new Date());
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const maxAttempts = options.maxAttempts ?? 3;
  const retryBackoffMs = options.retryBackoffMs ?? 30_000;
  const leaseMs = options.leaseMs ?? 60_000;
  // Whose claims are whose: a restarted process is another worker.
  const workerId = randomUUID();
  // Leases are about processes dying, so they run on the real clock (`now` may be a test's).
  const leaseFrom = (fromMs: number) => new Date(fromMs + leaseMs);
  const leaseHeld = (delivery: DeliveryRecord) => delivery.leaseUntil !== undefined && delivery.leaseUntil.getTime() > Date.now();
  // How often a lane looks for other instances' expired claims (at once after a start).
  const leftoverCheckMs = Math.min(leaseMs / 2, 5_000);

  let running = false;
  let lanes: Promise<void> | null = null;
  // Wakes: each sleeping lane's resolver, called by kick() or by its own timer.
  const sleepers = new Set<() => void>();
  // idle(): each kick starts a generation; a lane that finds nothing records the one it looked in.
  let generation = 0;
  const idleAt = new Map<ChannelName, number>();
  // Deliveries this worker is sending now: a `sending` delivery not in here is a crash's leftover.
  const inFlight = new Set<string>();
  // `<channel>|<broadcastId>` → when this lane last looked for its expired claims (real clock).
  const leftoversCheckedAt = new Map<string, number>();
  // When a lane last settled cancelled broadcasts' expired claims (another instance's, now dead).
  let cancelledSweptAt = Date.now();
  const planning = new Set<string>();
  // The broadcast each lane last sent for: its next claim starts at the one after it (turns).
  const lastServed = new Map<ChannelName, Pick<BroadcastRecord, '_id' | 'sendAt'>>();

  function nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      sleepers.add(wake);
    });
  }

  function kick(): void {
    generation += 1;
    for (const wake of [...sleepers]) wake();
  }

  async function runLane(channel: ChannelName): Promise<void> {
    while (running) {
      const looked = generation;
      let delay = pollMs;
      try {
        const step = await laneStep(channel);
        if (step === 'worked') continue;
        delay = step;
      } catch (error) {
        logger.error({ channel, err: describe(error) }, 'broadcast lane failed; trying again');
      }
      idleAt.set(channel, looked);
      if (running) await nap(delay);
    }
  }

  /** One step of a lane: sends one message and returns 'worked', or returns how long to sleep. */
  async function laneStep(channel: ChannelName): Promise<'worked' | number> {
    const at = now();
    if (isQuiet(config.quietHours, config.cityTimeZone, at)) {
      const end = quietHoursEnd(config.quietHours, config.cityTimeZone, at);
      return Math.min(Math.max(end.getTime() - at.getTime(), 10), QUIET_RECHECK_MS);
    }
    if (Date.now() - cancelledSweptAt >= leftoverCheckMs) {
      cancelledSweptAt = Date.now();
      await settleCancelledLeftovers();
    }
    const nextDueInMs = await startDueBroadcasts(at);
    const claim = await claimNext(channel, at);
    if (!claim) return Math.min(pollMs, nextDueInMs ?? pollMs);
    await deliver(claim);
    return 'worked';
  }

  /** Moves scheduled broadcasts whose time has come to `sending`; returns ms until the next one. */
  async function startDueBroadcasts(at: Date): Promise<number | undefined> {
    const scheduled = await store.broadcasts.find({ field: 'status', equals: 'scheduled' }, { limit: ACTIVE_LIMIT });
    for (const broadcast of scheduled) {
      if (broadcast.sendAt.getTime() > at.getTime()) return broadcast.sendAt.getTime() - at.getTime();
      if (broadcast.planned === 0) {
        // An idea's notice is written by a resident's support or a staff answer, and planned here.
        await (broadcast.ideaNotice ? plan(broadcast, at) : replanIfCutOff(broadcast, at));
        continue;
      }
      // Every lane may try; the revision check lets one win.
      if (await store.broadcasts.replace({ ...broadcast, status: 'sending', updatedAt: at }, broadcast._rev)) {
        logger.info({ broadcastId: broadcast._id, planned: broadcast.planned }, 'broadcast sending');
      }
    }
    return undefined;
  }

  /** Plans again a broadcast whose planning a crash cut off (a planning in progress is left alone). */
  async function replanIfCutOff(broadcast: BroadcastRecord, at: Date): Promise<void> {
    if (at.getTime() - broadcast.createdAt.getTime() < PLAN_STALE_MS) return;
    await plan(broadcast, at);
  }

  /**
   * Plans a broadcast's deliveries, in batches (see `planBroadcast`). Two instances planning one
   * broadcast at once insert the same ids, so each resident still has one delivery, and either's
   * count of them is the whole plan.
   */
  async function plan(broadcast: BroadcastRecord, at: Date): Promise<void> {
    if (planning.has(broadcast._id)) return;
    planning.add(broadcast._id);
    try {
      const plan = await planBroadcast(store, options.reaches, broadcast);
      await finishPlanning(store, broadcast._id, at);
      logger.info(
        { broadcastId: broadcast._id, planned: plan.planned },
        broadcast.ideaNotice ? 'idea notice planned' : 'broadcast planned again after an interrupted plan',
      );
    } finally {
      planning.delete(broadcast._id);
    }
  }

  /** Claims the next delivery of this channel: a crash's leftover first, then the queue in plan order. */
  async function claimNext(channel: ChannelName, at: Date): Promise<Claim | null> {
    // Read for every claim: a broadcast paused or cancelled since the last one is not in the list.
    const active = await store.broadcasts.find({ field: 'status', equals: 'sending' }, { limit: ACTIVE_LIMIT });
    for (const broadcast of inTurn(active, lastServed.get(channel))) {
      const leftover = await claimLeftover(channel, broadcast, at);
      if (leftover) return leftover;
      const bucket = deliveryBucket(broadcast._id, 'queued', channel);
      for (let attempt = 0; attempt < 5; attempt++) {
        const [next] = await store.deliveries.find({ field: 'bucket', equals: bucket }, { limit: 1 });
        if (!next) break;
        const claimed = withState(next, 'sending', at, { attempts: next.attempts + 1, leaseUntil: leaseFrom(Date.now()), claimedBy: workerId });
        if (await store.deliveries.replace(claimed, next._rev)) {
          lastServed.set(channel, broadcast);
          return { delivery: { ...claimed, _rev: next._rev + 1 }, broadcast };
        }
      }
      await finishIfDone(broadcast, at);
    }
    return null;
  }

  /**
   * A delivery a crash left `sending` (in this instance or another), claimed again once its lease
   * has run out. Looked for at once after a start, then every `leftoverCheckMs` per broadcast.
   */
  async function claimLeftover(channel: ChannelName, broadcast: BroadcastRecord, at: Date): Promise<Claim | null> {
    const key = `${channel}|${broadcast._id}`;
    if (Date.now() - (leftoversCheckedAt.get(key) ?? Number.NEGATIVE_INFINITY) < leftoverCheckMs) return null;
    const left = await store.deliveries.find({ field: 'bucket', equals: deliveryBucket(broadcast._id, 'sending', channel) });
    for (const delivery of left) {
      if (inFlight.has(delivery._id) || leaseHeld(delivery)) continue;
      if (delivery.reason === RECOVERING) {
        await settle(delivery._id, interruptedOutcome(), at);
        continue;
      }
      const claimed = withState(delivery, 'sending', at, {
        attempts: delivery.attempts + 1,
        reason: RECOVERING,
        leaseUntil: leaseFrom(Date.now()),
        claimedBy: workerId,
      });
      if (await store.deliveries.replace(claimed, delivery._rev)) {
        logger.info({ broadcastId: broadcast._id, seq: delivery.seq, channel }, 'broadcast delivery left sending by a restart: asking its channel');
        return { delivery: { ...claimed, _rev: delivery._rev + 1 }, broadcast };
      }
    }
    leftoversCheckedAt.set(key, Date.now());
    return null;
  }

  /**
   * Waits for this channel's next slot at its rate, shared by every instance: the slot is taken
   * with a revision-checked write of `broadcast-pace|<channel>`, so two instances never take the
   * same one. Real time: rates are.
   */
  async function takeSlot(channel: ChannelName): Promise<void> {
    const perSecond = options.rates?.[channel];
    if (!perSecond) return;
    const interval = 1000 / perSecond;
    const id = `broadcast-pace|${channel}`;
    for (let attempt = 0; attempt < 100; attempt++) {
      const current = await store.meta.get(id);
      const nowMs = Date.now();
      const next = typeof current?.value === 'number' && current.value < nowMs + MAX_PACE_AHEAD_MS ? current.value : 0;
      const slot = Math.max(nowMs, next);
      const taken = current
        ? await store.meta.replace({ _id: id, value: slot + interval }, current._rev)
        : await store.meta.insert({ _id: id, value: slot + interval });
      if (taken) {
        if (slot > nowMs) await new Promise((resolve) => setTimeout(resolve, slot - nowMs));
        return;
      }
    }
    throw new Error(`The ${channel} broadcast pace kept changing`);
  }

  /** Marks a sending broadcast done once nothing of it is queued or in flight. */
  async function finishIfDone(broadcast: BroadcastRecord, at: Date): Promise<void> {
    if ((await countIn(store, broadcast._id, ['queued', 'sending'])) > 0) return;
    if (await store.broadcasts.replace({ ...broadcast, status: 'done', finishedAt: at, updatedAt: at }, broadcast._rev)) {
      logger.info({ broadcastId: broadcast._id, planned: broadcast.planned }, 'broadcast done');
    }
  }

  /** Sends one claimed delivery (retrying what the channel calls retryable) and records the outcome. */
  async function deliver({ delivery, broadcast }: Claim): Promise<void> {
    inFlight.add(delivery._id);
    // The lease is renewed as long as this worker works on the delivery (a channel's sender may
    // retry for minutes inside one send); a renewal that finds the claim gone means another
    // instance took it over (this one stalled past its lease), and this one sends no more.
    const mine = (current: DeliveryRecord) => current.state === 'sending' && current.claimedBy === workerId;
    let lost = false;
    const renew = () =>
      update(delivery._id, (current) => {
        if (!mine(current)) lost = true;
        return lost ? null : { ...current, leaseUntil: leaseFrom(Date.now()) };
      }).catch((error: unknown) => logger.warn({ broadcastId: broadcast._id, err: describe(error) }, 'broadcast lease not renewed'));
    const heartbeat = setInterval(() => void renew(), leaseMs / 3);
    heartbeat.unref();
    try {
      let attempts = delivery.attempts;
      await takeSlot(delivery.channel);
      let outcome = await send(delivery, broadcast);
      // Attempts already made by an earlier run count too: a restart does not reset the budget.
      while (outcome.state === 'failed' && outcome.retryable && !outcome.interrupted && attempts < maxAttempts && !lost) {
        const until = Date.now() + retryBackoffMs * 2 ** Math.max(0, attempts - 1);
        while (running && Date.now() < until) await nap(until - Date.now());
        // Stopping, paused, cancelled or quiet hours begun meanwhile: back to the queue (the channel
        // said it did not go out), where the next start, a resume or the morning finds it; a
        // cancellation skips it at once, as it skipped the rest of the queue.
        const latest = running ? await store.broadcasts.get(broadcast._id) : null;
        if (!running || latest?.status !== 'sending' || isQuiet(config.quietHours, config.cityTimeZone, now())) {
          const cancelled = latest?.status === 'cancelled';
          await update(delivery._id, (current) =>
            !mine(current)
              ? null
              : cancelled
                ? withState(withoutReason(current), 'skipped', now(), { reason: 'cancelled' })
                : withoutReason(withState(current, 'queued', now())),
          );
          if (cancelled) await finishIfSettled(store, broadcast._id, now());
          return;
        }
        attempts += 1;
        await update(delivery._id, (current) => (mine(current) ? { ...current, attempts, leaseUntil: leaseFrom(Date.now()), updatedAt: now() } : null));
        if (lost) break;
        await takeSlot(delivery.channel);
        outcome = await send(delivery, broadcast);
      }
      // The outcome is recorded only while the claim is still this worker's (see `settle`).
      if (lost) {
        logger.warn({ broadcastId: broadcast._id, seq: delivery.seq, channel: delivery.channel }, 'broadcast delivery taken over by another instance');
        return;
      }
      await settle(delivery._id, outcome, now(), workerId);
      logger.debug({ broadcastId: broadcast._id, seq: delivery.seq, channel: delivery.channel, state: outcome.state }, 'broadcast delivery');
      const current = await store.broadcasts.get(broadcast._id);
      if (current?.status === 'cancelled') await finishIfSettled(store, broadcast._id, now());
    } finally {
      clearInterval(heartbeat);
      inFlight.delete(delivery._id);
    }
  }

  /** Hands one delivery to the notifier (which skips opted-out residents and sends once per key). */
  async function send(delivery: DeliveryRecord, broadcast: BroadcastRecord): Promise<SendOutcome> {
    try {
      // News of an idea its author has since erased (with their data): there is nothing left to tell.
      if (broadcast.ideaNotice && !(await store.ideas.get(broadcast.ideaNotice.ideaId))) return { state: 'skipped', reason: 'idea_gone' };
      return await notifier.notify(delivery.address, notificationFor(delivery, broadcast));
    } catch (error) {
      // Thrown (the store, a bug): the channel's record says whether anything went out, and a
      // retry asks it again with the same key, so nothing is sent twice.
      logger.warn({ broadcastId: broadcast._id, seq: delivery.seq, err: describe(error) }, 'broadcast send threw');
      return { state: 'failed', error: describe(error).message, retryable: true };
    }
  }

  function notificationFor(delivery: DeliveryRecord, broadcast: BroadcastRecord): Notification {
    const { roleId, ideaNotice } = broadcast;
    if (ideaNotice) {
      // News of an idea they support or shared: no call, no answer expected (a reply is a new message).
      return { purpose: 'notification', key: delivery._id, compose: (_locale, t): Reply[] => [{ kind: 'text', text: ideaNoticeText(ideaNotice, t) }] };
    }
    return {
      // A shift's volunteers are messaged about the shift they signed up for, not called: they
      // need not have opted in to volunteer calls (STOP still stops it, in the notifier).
      // So are a ballot's voters told its result (issue 21): they voted, they asked to hear.
      purpose: broadcast.audience.shiftId || broadcast.audience.ballotId ? 'notification' : 'broadcast',
      key: delivery._id,
      ...(delivery.via === 'reports' ? { toReportResident: true } : {}),
      compose: (locale, t): Reply[] => [
        {
          kind: 'text',
          text: broadcast.messages[locale] ?? broadcast.messages[config.defaultLocale] ?? Object.values(broadcast.messages)[0] ?? '',
          // The renderer makes buttons of these, or "reply 1 or 2" on SMS.
          ...(roleId
            ? {
                choices: [
                  { id: 'yes', label: t('volunteer_call.yes') },
                  { id: 'no', label: t('volunteer_call.no') },
                ],
              }
            : {}),
        },
      ],
      // A volunteer call's reply answers yes or no; any broadcast's reply in words reaches a person (the inbox).
      // A ballot's reply of numbers votes in it (issue 21).
      followUp: (sentAt: number) => ({
        kind: roleId ? ('volunteer_call' as const) : broadcast.ballotId ? ('ballot' as const) : ('broadcast' as const),
        ref: roleId ?? broadcast.ballotId ?? broadcast._id,
        broadcastId: broadcast._id,
        sentAt,
        until: sentAt + broadcast.answerWindowHours * 3_600_000,
      }),
    };
  }

  /**
   * Records a delivery's outcome; re-reads on a conflict (a resident's answer may be written
   * meanwhile). With `claimedBy`, only while that worker's claim stands (another instance may have
   * taken it over); without, whoever claimed it (a dead instance's leftover).
   */
  async function settle(id: string, outcome: SendOutcome, at: Date, claimedBy?: string): Promise<void> {
    await update(id, (current) => {
      if (current.state !== 'sending' || (claimedBy !== undefined && current.claimedBy !== claimedBy)) return null;
      const base = withoutReason(current);
      switch (outcome.state) {
        case 'sent':
        case 'outbox':
          return withState(base, 'sent', at);
        case 'skipped':
          return withState(base, 'skipped', at, { reason: outcome.reason });
        case 'failed':
          return withState(base, 'failed', at, {
            reason: outcome.interrupted ? 'interrupted' : 'send_failed',
            lastError: redactNumbers(outcome.error).slice(0, 200),
          });
      }
    });
  }

  async function update(id: string, change: (current: DeliveryRecord) => DeliveryRecord | null): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await store.deliveries.get(id);
      if (!current) return;
      const next = change(current);
      if (!next || (await store.deliveries.replace(next, current._rev))) return;
    }
    throw new Error('A broadcast delivery kept changing while being recorded');
  }

  /**
   * Cancelled broadcasts a crash left with deliveries `sending`: those are recorded as
   * interrupted (they may have gone out; asking the channel could send them after the cancel),
   * and the broadcast is marked finished.
   */
  async function settleCancelledLeftovers(): Promise<void> {
    const at = now();
    const cancelled = await store.broadcasts.find({ field: 'status', equals: 'cancelled' }, { order: 'desc', limit: ACTIVE_LIMIT });
    for (const broadcast of cancelled) {
      if (broadcast.finishedAt) continue;
      for (const channel of BROADCAST_CHANNELS) {
        const left = await store.deliveries.find({ field: 'bucket', equals: deliveryBucket(broadcast._id, 'sending', channel) });
        for (const delivery of left) if (!inFlight.has(delivery._id) && !leaseHeld(delivery)) await settle(delivery._id, interruptedOutcome(), at);
      }
      await finishIfSettled(store, broadcast._id, at);
    }
  }

  return {
    start() {
      if (running || lanes) return;
      running = true;
      lanes = (async () => {
        try {
          await settleCancelledLeftovers();
        } catch (error) {
          logger.error({ err: describe(error) }, 'could not settle cancelled broadcasts');
        }
        await Promise.all(BROADCAST_CHANNELS.map((channel) => runLane(channel)));
      })();
    },
    async stop() {
      if (!lanes) return;
      running = false;
      kick();
      await lanes;
      lanes = null;
    },
    kick,
    async idle() {
      kick();
      const target = generation;
      while (running && !BROADCAST_CHANNELS.every((channel) => (idleAt.get(channel) ?? -1) >= target)) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
}

/**
 * The active broadcasts (in the index's order: by `sendAt`, then id) starting with the one after
 * the broadcast a lane last sent for, and round again: each broadcast takes its turn.
 */
function inTurn<T extends Pick<BroadcastRecord, '_id' | 'sendAt'>>(active: readonly T[], last: Pick<BroadcastRecord, '_id' | 'sendAt'> | undefined): T[] {
  if (!last) return [...active];
  const after = active.findIndex(
    (broadcast) => broadcast.sendAt.getTime() > last.sendAt.getTime() || (broadcast.sendAt.getTime() === last.sendAt.getTime() && broadcast._id > last._id),
  );
  return after <= 0 ? [...active] : [...active.slice(after), ...active.slice(0, after)];
}

function interruptedOutcome(): SendOutcome {
  return { state: 'failed', error: INTERRUPTED_ERROR, retryable: false, interrupted: true };
}

/** The delivery without a reason (a reason belongs to a skipped or failed one) or a claim (its worker and lease, while `sending`). */
function withoutReason(delivery: DeliveryRecord): DeliveryRecord {
  const { reason: _reason, leaseUntil: _leaseUntil, claimedBy: _claimedBy, ...rest } = delivery;
  return rest;
}
