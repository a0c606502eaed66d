/**
 * Shift reminder planning at city scale (issue 20), in a pinned child process: stores a city's
 * volunteer calendar (roles, shifts, confirmed sign-ups) at each size, on a fresh store each
 * (a small city first, then 10,000 shifts with 100,000 sign-ups by default), and times one
 * planning pass of the reminder planner (`planShiftReminders`, src/staff/shift-reminder-jobs.ts)
 * three ways: cold (every reminder in the window scheduled, as on the first pass), warm (nothing
 * changed since: each shift's mark read, no sign-ups), and after 1 % of the shifts in the window
 * changed (a sign-up each, which claims the shift's revision), counting the records it reads.
 *
 * Half the shifts are in the past 30 days (the planner must never read them: it reads the open
 * shifts' start index from now) and half start within the next 70 hours, inside the window the
 * planner looks at (the 48 h reminder and a day more), so a pass has the most work a calendar of
 * that size can give it: shifts more than 48 h away get both reminders, the others the 2 h one
 * (their 48 h one has passed).
 *
 * Usage: node dist/bench/reminders.js '<json RemindersBenchRequest>'; prints the result as JSON.
 */
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import type { ShiftRecord, SignupRecord, VolunteerRoleRecord } from '../src/domain/records.js';
import { planShiftReminders, type PlanStats } from '../src/staff/shift-reminder-jobs.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.port.js';

/** What to run. */
export interface RemindersBenchRequest {
  dataDir: string;
  /** The calendars measured, each on a store of its own. */
  sizes: { shifts: number; signups: number }[];
}

/** One pass's measurement. */
export interface PlanPass {
  ms: number;
  /** Records the pass read from the store (what `get` and `find` returned). */
  reads: number;
  stats: PlanStats;
}

/** One calendar's measurements. */
export interface RemindersSizePoint {
  shifts: number;
  signups: number;
  /** Shifts and sign-ups inside the reminder window (the rest are past). */
  upcomingShifts: number;
  upcomingSignups: number;
  seedSeconds: number;
  cold: PlanPass;
  warm: PlanPass;
  /** After 1 % of the upcoming shifts gained a sign-up. */
  changed: PlanPass & { changedShifts: number };
}

/** What the reminder benchmark measured. */
export interface RemindersBenchResult {
  store: 'embedded' | 'mongodb';
  points: RemindersSizePoint[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const ROLES = 50;
const CHUNK = 500;

/** The store, with the collections the planner reads counting the records their reads return. */
function counting(store: Store): { store: Store; read: () => number } {
  let read = 0;
  const wrapped: Record<string, unknown> = { ...store };
  for (const name of ['shifts', 'signups', 'roles', 'meta', 'jobs'] as const) {
    const collection = store[name] as Store['meta'];
    wrapped[name] = {
      ...collection,
      get: async (id: string) => {
        const found = await collection.get(id);
        if (found) read++;
        return found;
      },
      find: async (...args: Parameters<Store['meta']['find']>) => {
        const found = await collection.find(...args);
        read += found.length;
        return found;
      },
    };
  }
  return { store: wrapped as unknown as Store, read: () => read };
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '{}') as RemindersBenchRequest;
  const result: RemindersBenchResult = { store: 'embedded', points: [] };
  for (const size of request.sizes) {
    const dataDir = path.join(request.dataDir, `reminders-${size.shifts}`);
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    const raw = await openStore({ dataDir: config.dataDir });
    result.store = raw.kind;
    try {
      result.points.push(await measure(raw, config.volunteerReminderHours, size));
    } finally {
      await raw.close();
    }
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function measure(raw: Store, hours: number[], size: { shifts: number; signups: number }): Promise<RemindersSizePoint> {
  const now = Date.now();
  const at = new Date(now);
  const started = performance.now();
  for (let r = 0; r < ROLES; r++) {
    const role: Omit<VolunteerRoleRecord, '_rev'> = {
      _id: `V-B${r}`,
      title: `Role ${r}`,
      description: 'Benchmark role',
      interests: [],
      neighbourhood: 'Eastside',
      place: 'Community hall',
      startsAt: at,
      capacity: 0,
      contact: 'coordinator@city.example',
      status: 'open',
      demo: false,
      createdAt: at,
    };
    await raw.roles.insert(role);
  }
  const perShift = Math.max(1, Math.round(size.signups / size.shifts));
  const past = Math.floor(size.shifts / 2);
  let upcomingShifts = 0;
  let upcomingSignups = 0;
  const upcomingIds: string[] = [];
  for (let start = 0; start < size.shifts; start += CHUNK) {
    const writes: Promise<unknown>[] = [];
    for (let s = start; s < Math.min(size.shifts, start + CHUNK); s++) {
      const isPast = s < past;
      // Past: spread over the last 30 days. Coming: over the next 70 hours, inside the planner's window.
      const startsAt = new Date(isPast ? now - 30 * DAY_MS + (s / past) * 29 * DAY_MS : now + HOUR_MS + ((s - past) / (size.shifts - past)) * 69 * HOUR_MS);
      const shiftId = `S-B${s}`;
      const shift: Omit<ShiftRecord, '_rev'> = {
        _id: shiftId,
        roleId: `V-B${s % ROLES}`,
        startsAt,
        endsAt: new Date(startsAt.getTime() + 3 * HOUR_MS),
        capacity: perShift,
        status: 'open',
        createdAt: at,
        updatedAt: at,
      };
      writes.push(raw.shifts.insert(shift));
      if (!isPast) {
        upcomingShifts++;
        upcomingIds.push(shiftId);
      }
      for (let v = 0; v < perShift; v++) {
        const address = `sms:+1217${String(s).padStart(5, '0')}${String(v).padStart(3, '0')}`;
        const signup: Omit<SignupRecord, '_rev'> = {
          _id: `${shiftId}|${address}`,
          roleId: shift.roleId,
          shiftId,
          address,
          name: 'Vol',
          channel: 'sms',
          status: 'confirmed',
          createdAt: at,
          updatedAt: at,
        };
        writes.push(raw.signups.insert(signup));
        if (!isPast) upcomingSignups++;
      }
    }
    await Promise.all(writes);
  }
  const seedSeconds = (performance.now() - started) / 1000;
  const { store, read } = counting(raw);
  const pass = async (): Promise<PlanPass> => {
    const before = read();
    const t = performance.now();
    const stats = await planShiftReminders({ store, config: { volunteerReminderHours: hours } }, at);
    return { ms: performance.now() - t, reads: read() - before, stats };
  };
  const cold = await pass();
  const warm = await pass();
  // 1 % of the coming shifts gain a volunteer: the sign-up claims the shift's revision, as the runner's does.
  const changing = upcomingIds.filter((_, i) => i % 100 === 0);
  for (const shiftId of changing) {
    const shift = (await raw.shifts.get(shiftId))!;
    const address = `sms:+1999${shiftId.slice(3).padStart(8, '0')}`;
    await raw.signups.insert({
      _id: `${shiftId}|${address}`,
      roleId: shift.roleId,
      shiftId,
      address,
      name: 'New',
      channel: 'sms',
      status: 'confirmed',
      createdAt: at,
      updatedAt: at,
    });
    await raw.shifts.replace({ ...shift, updatedAt: at }, shift._rev);
  }
  const changed = await pass();
  return {
    shifts: size.shifts,
    signups: past * perShift + upcomingSignups,
    upcomingShifts,
    upcomingSignups,
    seedSeconds,
    cold,
    warm,
    changed: { ...changed, changedShifts: changing.length },
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
