/**
 * Shift reminders exactly once, at size (issue 20): 12,000 confirmed sign-ups on 240 shifts are
 * planned by three planning passes at once (the planner job and two more, as several instances
 * would): one reminder job each, and a further pass schedules nothing. Four job schedulers on one
 * store then run the 10,000 that come due, with the reminder handlers; each reaches the notifier
 * once, for its volunteer, and the 2,000 not yet due are passed over. The notifier here counts
 * instead of sending: its own once-per-key sending is the channels' (the kill -9 test and the
 * transcripts send for real), and a real send's store commits, 10,000 times over, take longer
 * than a test may on a shared 2-core machine. And the planning rules, on the functions themselves.
 */
import { ON_MONGODB } from '../support/test-store.js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResidentRecord, SignupRecord } from '../../src/domain/records.js';
import type { SendOutcome } from '../../src/channels/channel.js';
import type { Service } from '../../src/service.js';
import type { ResidentNotifier } from '../../src/staff/resident-notifier.js';
import { createJobScheduler } from '../../src/staff/job-scheduler.js';
import {
  hoursToSchedule,
  mayRelease,
  planShiftReminders,
  PLAN_EVERY_MS,
  RELEASE_NOTICE_MS,
  SHIFT_REMINDER_JOB,
  shiftReminderJobHandlers,
} from '../../src/staff/shift-reminder-jobs.js';
import { startTestService } from '../support/harness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
// On MongoDB a tenth (FerretDB's writes take milliseconds each; 12,000 sign-ups and their jobs
// outlast the test there): the exactly-once rule is the same at either size.
const SHIFTS = ON_MONGODB ? 24 : 240;
/** Shifts whose reminders come due in the test (the first ones); the others' stay pending, to be passed over. */
const DUE_SHIFTS = ON_MONGODB ? 20 : 200;
const PER_SHIFT = 50;
/** Job schedulers on the one store, as four instances would run. */
const SCHEDULERS = 4;

describe('planning rules', () => {
  const at = new Date('2026-12-01T12:00:00Z');
  const startsIn = (hours: number) => new Date(at.getTime() + hours * HOUR);

  it('schedules the reminders still ahead; a passed one only when none is ahead, the shortest, once', () => {
    expect(hoursToSchedule([48, 2], startsIn(50), at)).toEqual([48, 2]);
    // Signed up 40 h before: the 48 h reminder is skipped, the 2 h one is ahead.
    expect(hoursToSchedule([48, 2], startsIn(40), at)).toEqual([2]);
    // An hour before: one reminder now (the 2 h one), not two.
    expect(hoursToSchedule([48, 2], startsIn(1), at)).toEqual([2]);
    expect(hoursToSchedule([48], startsIn(40), at)).toEqual([48]);
    // Started, or no reminders: nothing.
    expect(hoursToSchedule([48, 2], startsIn(-1), at)).toEqual([]);
    expect(hoursToSchedule([], startsIn(10), at)).toEqual([]);
  });

  it('releases only someone reminded in time who has not confirmed', () => {
    const deadline = at.getTime();
    expect(mayRelease({ remindedAt: new Date(deadline - RELEASE_NOTICE_MS) }, deadline)).toBe(true);
    expect(mayRelease({ remindedAt: new Date(deadline - RELEASE_NOTICE_MS + 1) }, deadline)).toBe(false);
    expect(mayRelease({}, deadline)).toBe(false);
    expect(mayRelease({ remindedAt: new Date(deadline - 24 * HOUR), attendanceConfirmedAt: new Date(deadline - HOUR) }, deadline)).toBe(false);
  });
});

describe('12,000 sign-ups (10,000 due), four schedulers, three planners', () => {
  let started: Awaited<ReturnType<typeof startTestService>>;
  let clock = Date.now();
  const service = (): Service => started.service;

  beforeAll(async () => {
    // The service's store and runner; its own scheduler is not started: the test's four run the jobs.
    started = await startTestService({ QUIET_HOURS: 'off', SEED_DEMO_DATA: 'false' }, { now: () => new Date(clock) });
  });
  afterAll(() => started?.close());

  it("plans every volunteer's reminder once, and reminds each volunteer whose reminder is due once", async () => {
    const { store } = service();
    const at = new Date(clock);
    await store.roles.insert({
      _id: 'V-MANY1',
      title: 'Food bank packing',
      description: 'Pack boxes',
      interests: [],
      neighbourhood: 'Eastside',
      place: 'Community hall',
      startsAt: at,
      capacity: 0,
      contact: 'food@city.example',
      status: 'open',
      demo: false,
      createdAt: at,
      // One reminder each, two hours before.
      reminderHours: [2],
    });
    const addresses: string[] = [];
    for (let s = 0; s < SHIFTS; s++) {
      const shiftId = `S-MANY${s}`;
      // The first DUE_SHIFTS start in 3 hours (10 s apart), the rest in 30: their reminders are not due yet.
      const startsAt = new Date(clock + (s < DUE_SHIFTS ? 3 : 30) * HOUR + s * 10_000);
      await store.shifts.insert({
        _id: shiftId,
        roleId: 'V-MANY1',
        startsAt,
        endsAt: new Date(startsAt.getTime() + 2 * HOUR),
        capacity: PER_SHIFT,
        status: 'open',
        createdAt: at,
        updatedAt: at,
      });
      const writes: Promise<unknown>[] = [];
      for (let v = 0; v < PER_SHIFT; v++) {
        const address = `sms:+1217${String(s).padStart(3, '0')}${String(v).padStart(4, '0')}`;
        addresses.push(address);
        const resident: Omit<ResidentRecord, '_rev'> = {
          _id: address,
          address,
          channel: 'sms',
          locale: v % 2 ? 'es' : 'en',
          optedOut: false,
          volunteerCalls: false,
          interests: [],
          createdAt: at,
          lastSeenAt: at,
        };
        const signup: Omit<SignupRecord, '_rev'> = {
          _id: `${shiftId}|${address}`,
          roleId: 'V-MANY1',
          shiftId,
          address,
          name: 'Vol',
          channel: 'sms',
          status: 'confirmed',
          createdAt: at,
          updatedAt: at,
        };
        writes.push(store.residents.insert(resident), store.signups.insert(signup));
      }
      await Promise.all(writes);
    }

    // What the handlers asked the notifier to send: key and address, in order.
    const notified: { key: string; address: string; text: string }[] = [];
    const notifier: ResidentNotifier = {
      async notify(address, notification) {
        const [reply] = notification.compose('en', (key, vars) => service().i18n.t('en', key, vars), {});
        notified.push({ key: notification.key, address, text: reply?.kind === 'text' ? reply.text : '' });
        return { state: 'outbox' } as SendOutcome;
      },
    };
    // A scheduler runs one job at a time: four of them, as four instances would.
    const schedulers = Array.from({ length: SCHEDULERS }, () =>
      createJobScheduler({
        store,
        handlers: shiftReminderJobHandlers({ store, notifier, runner: service().runner, config: service().config, now: () => new Date(clock) }),
        config: service().config,
        logger: pino({ level: 'silent' }),
        now: () => new Date(clock),
        pollMs: 20,
      }),
    );
    const idle = () => Promise.all(schedulers.map((scheduler) => scheduler.idle()));

    // Three instances plan at once: the planner job (scheduled at the service's start) and two passes.
    clock += PLAN_EVERY_MS + MINUTE;
    const planAt = new Date(clock);
    const deps = { store, config: service().config };
    for (const scheduler of schedulers) scheduler.start();
    const passes = await Promise.all([planShiftReminders(deps, planAt), planShiftReminders(deps, planAt), idle()]);
    const reminders = () => store.jobs.find({ field: 'state', equals: 'pending' }, { limit: 100_000 });
    expect((await reminders()).filter((job) => job.kind === SHIFT_REMINDER_JOB)).toHaveLength(SHIFTS * PER_SHIFT);
    // Between them the two explicit passes scheduled at most all of them (the job may have planned first).
    expect(passes[0].scheduled + passes[1].scheduled).toBeLessThanOrEqual(SHIFTS * PER_SHIFT);
    // A second pass over unchanged shifts reads no sign-ups and schedules nothing.
    expect(await planShiftReminders(deps, planAt)).toMatchObject({ planned: 0, signups: 0, scheduled: 0 });

    // Due: the schedulers run the first shifts' 10,000; the last shifts' 2,000 wait.
    clock += 2 * HOUR;
    const dueLeft = async () => (await reminders()).filter((job) => job.kind === SHIFT_REMINDER_JOB && job.dueAt.getTime() <= clock).length;
    try {
      for (;;) {
        await idle();
        if ((await dueLeft()) === 0) break;
      }
    } finally {
      await Promise.all(schedulers.map((scheduler) => scheduler.stop()));
    }

    const keys = new Set(notified.map((n) => n.key));
    expect(keys.size).toBe(notified.length);
    const counts = new Map<string, number>();
    for (const { address } of notified) counts.set(address, (counts.get(address) ?? 0) + 1);
    expect(counts.size).toBe(DUE_SHIFTS * PER_SHIFT);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    expect(addresses.every((address, i) => counts.get(address) === (i < DUE_SHIFTS * PER_SHIFT ? 1 : undefined))).toBe(true);
    // The rest wait for their time, planned once.
    expect((await reminders()).filter((job) => job.kind === SHIFT_REMINDER_JOB)).toHaveLength((SHIFTS - DUE_SHIFTS) * PER_SHIFT);
    expect(notified[0]?.text).toMatch(/^Reminder: Food bank packing, /);
  }, 600_000);
});

describe('a city with more open roles than one read returns', () => {
  let started: Awaited<ReturnType<typeof startTestService>>;
  beforeAll(async () => {
    started = await startTestService({ QUIET_HOURS: 'off', SEED_DEMO_DATA: 'false' });
  });
  afterAll(() => started?.close());

  it("plans a role's own longer reminder on time though 1,000 open roles start before it", async () => {
    const { store } = started.service;
    const at = new Date('2031-03-02T12:00:00Z');
    const role = (id: string, startsAt: Date) => ({
      _id: id,
      title: 'Tree planting',
      description: 'Plant trees',
      interests: [],
      neighbourhood: 'Eastside',
      place: 'Park',
      startsAt,
      capacity: 0,
      contact: 'trees@city.example',
      status: 'open' as const,
      demo: false,
      createdAt: at,
    });
    // Roles nobody closed, from the years before (a recurring role stays open).
    for (let start = 0; start < 1_000; start += 250) {
      await Promise.all(
        Array.from({ length: 250 }, (_, i) => store.roles.insert(role(`V-OLD${start + i}`, new Date(at.getTime() - (2_000 - start - i) * HOUR)))),
      );
    }
    // Its volunteers are reminded four days before (the city's default is 48 h and 2 h).
    await store.roles.insert({ ...role('V-TREES', at), reminderHours: [96] });
    const startsAt = new Date(at.getTime() + 100 * HOUR);
    await store.shifts.insert({
      _id: 'S-TREES',
      roleId: 'V-TREES',
      startsAt,
      endsAt: new Date(startsAt.getTime() + 2 * HOUR),
      capacity: 5,
      status: 'open',
      createdAt: at,
      updatedAt: at,
    });
    const signup: Omit<SignupRecord, '_rev'> = {
      _id: 'S-TREES|sms:+13125550123',
      roleId: 'V-TREES',
      shiftId: 'S-TREES',
      address: 'sms:+13125550123',
      name: 'Ana',
      channel: 'sms',
      status: 'confirmed',
      createdAt: at,
      updatedAt: at,
    };
    await store.signups.insert(signup);

    await planShiftReminders({ store, config: { volunteerReminderHours: [48, 2] } }, at);
    const job = await store.jobs.get(`${SHIFT_REMINDER_JOB}|${signup._id}|${startsAt.getTime()}|96`);
    expect(job?.dueAt).toEqual(new Date(startsAt.getTime() - 96 * HOUR));
  });
});
