/**
 * Shift reminders survive `kill -9` in the middle of sending (issue 20), as broadcasts do
 * (broadcast-crash.test.ts): the service and its job scheduler run in a child process against a
 * data folder and the fake Twilio API of this process; the child plans the reminders of 300
 * volunteers (due at once: their shifts start within the hour and a half) and is killed without
 * warning several times while they go out, started again, and left to finish. Nobody gets a
 * reminder twice, and every volunteer is accounted for: reminded once, or (at most one per
 * kill) the send a kill cut off, which is not retried because it may have arrived.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { INTERRUPTED } from '../../src/channels/outbound-records.js';
import { createService, type Service } from '../../src/service.js';
import { reminderJobId } from '../../src/staff/shift-reminder-jobs.js';
import { ACCOUNT_SID, AUTH_TOKEN, startFakeTwilio, type FakeTwilio } from '../support/twilio.js';
import { freshTestStore, ON_MONGODB } from '../support/test-store.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-reminder-crash-'));
const testStore = freshTestStore();
const children: ChildProcess[] = [];
// Smaller on MongoDB, as the broadcast crash test is: FerretDB's writes take milliseconds each,
// and a job is several of them; the exactly-once rule is the same at either size.
const SHIFTS = ON_MONGODB ? 3 : 6;
const PER_SHIFT = ON_MONGODB ? 30 : 50;
const KILL_AFTER = ON_MONGODB ? [10, 35, 65] : [40, 130, 220];
const HOUR = 3_600_000;

let twilio: FakeTwilio;
let onRequest: () => void = () => {};

function environment(): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    ...testStore.env,
    LOG_LEVEL: 'silent',
    // A killed child's claims are taken over by the next one after this lease (jobs use it too).
    BROADCAST_LEASE_SECONDS: '1',
    CITY_NAME: 'Springfield',
    QUIET_HOURS: 'off',
    SEED_DEMO_DATA: 'false',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_FROM: '+12175550100',
    TWILIO_MESSAGES_PER_SECOND: '50',
  };
}

async function openService(): Promise<Service> {
  return createService(loadConfig(environment()), pino({ level: 'silent' }), { twilioHttpClient: twilio.httpClient });
}

beforeAll(async () => {
  twilio = await startFakeTwilio();
  const push = twilio.requests.push.bind(twilio.requests);
  twilio.requests.push = (...items) => {
    const length = push(...items);
    onRequest();
    return length;
  };
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await twilio.close();
  rmSync(dataDir, { recursive: true, force: true });
  await testStore.drop();
});

interface Child {
  process: ChildProcess;
  done: () => boolean;
  exited: Promise<number | null>;
}

function startChild(expected: number): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/staff/shift-reminder-crash.child.ts', twilio.url, String(expected)], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...environment() },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let done = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'done') done = true;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, done: () => done, exited };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = ON_MONGODB ? 280_000 : 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Reminders received by each SMS address at the fake. */
function received(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of twilio.requests) {
    if (request.form['Body']?.startsWith('Reminder: ')) counts.set(`sms:${request.form['To']}`, (counts.get(`sms:${request.form['To']}`) ?? 0) + 1);
  }
  return counts;
}

const total = (counts: Map<string, number>) => [...counts.values()].reduce((sum, n) => sum + n, 0);

describe('shift reminders killed mid-send', () => {
  const signups: { id: string; address: string; startsAt: Date }[] = [];

  beforeAll(async () => {
    const service = await openService();
    const now = new Date();
    await service.store.roles.insert({
      _id: 'V-CRASH',
      title: 'Food bank packing',
      description: 'Pack boxes',
      interests: [],
      neighbourhood: 'Eastside',
      place: 'Community hall',
      startsAt: now,
      capacity: 0,
      contact: 'food@city.example',
      status: 'open',
      demo: false,
      createdAt: now,
    });
    for (let s = 0; s < SHIFTS; s++) {
      // Within the 2 h reminder's time already: one reminder each, due at once.
      const startsAt = new Date(now.getTime() + 1.5 * HOUR + s * 60_000);
      await service.store.shifts.insert({
        _id: `S-CRSH${s}`,
        roleId: 'V-CRASH',
        startsAt,
        endsAt: new Date(startsAt.getTime() + 2 * HOUR),
        capacity: PER_SHIFT,
        status: 'open',
        createdAt: now,
        updatedAt: now,
      });
      for (let v = 0; v < PER_SHIFT; v++) {
        const address = `sms:+1217666${String(s * PER_SHIFT + v).padStart(4, '0')}`;
        const id = `S-CRSH${s}|${address}`;
        signups.push({ id, address, startsAt });
        await service.store.residents.insert({
          _id: address,
          address,
          channel: 'sms',
          locale: 'en',
          optedOut: false,
          volunteerCalls: false,
          interests: [],
          createdAt: now,
          lastSeenAt: now,
        });
        await service.store.signups.insert({
          _id: id,
          roleId: 'V-CRASH',
          shiftId: `S-CRSH${s}`,
          address,
          name: 'Vol',
          channel: 'sms',
          status: 'confirmed',
          createdAt: now,
          updatedAt: now,
        });
      }
    }
    await service.close();
  }, 120_000);

  it('reminds nobody twice and accounts for every volunteer, however often it is killed', async () => {
    const expected = SHIFTS * PER_SHIFT;
    for (const threshold of KILL_AFTER) {
      const child = startChild(expected);
      let killed = false;
      onRequest = () => {
        if (!killed && total(received()) >= threshold) killed = child.process.kill('SIGKILL');
      };
      await waitFor(`${threshold} reminders at the fake`, () => killed || child.done());
      onRequest = () => {};
      if (!killed) child.process.kill('SIGKILL');
      await child.exited;
    }
    const last = startChild(expected);
    await waitFor('every reminder to be settled', () => last.done());
    last.process.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    const service = await openService();
    try {
      const counts = received();
      // Nobody was reminded twice.
      expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
      const jobs = await Promise.all(signups.map((s) => service.store.jobs.get(reminderJobId(s.id, s.startsAt, 2))));
      const failed = jobs.filter((job) => job?.state === 'failed');
      // Every job settled; one done reached its volunteer once.
      expect(jobs.every((job) => job?.state === 'done' || job?.state === 'failed')).toBe(true);
      signups.forEach((signup, i) => {
        if (jobs[i]?.state === 'done') expect(counts.get(signup.address), signup.address).toBe(1);
      });
      // Only a send a kill cut off is in doubt (not sent again): at most one per kill.
      expect(failed.every((job) => job?.lastError === INTERRUPTED)).toBe(true);
      expect(failed.length).toBeLessThanOrEqual(KILL_AFTER.length);
      console.info(`after ${KILL_AFTER.length} kills: ${total(counts)} reminded, ${failed.length} interrupted`);
    } finally {
      await service.close();
    }
  }, 600_000);
});
