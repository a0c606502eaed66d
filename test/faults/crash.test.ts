/**
 * Crash safety: the real service (a child process) under load from residents walking whole
 * journeys by SMS (signed Twilio webhooks) and by the web chat's JSON API, killed with SIGKILL at
 * random moments, over and over (sometimes while it is still starting), and started again on the
 * same data folder. Residents behave like Twilio with retries on and like Telegram: a message
 * that got no 2xx is sent again, same id, until one does.
 *
 * Then, with the child gone, the store is opened here and checked against what residents were
 * told: every inbound message that got a 2xx is in its conversation's transcript exactly once
 * and in the order sent; every report reference (R-XXXXX) and every volunteer sign-up confirmed
 * to a resident exists, with that resident, and nothing was filed twice; every conversation
 * parses, its transcript has no gaps and matches its transcriptLength.
 *
 * FAULTS_SEED=<n> replays the same kill schedule.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import { freePort, spawnService, waitReady, type ChildService } from './support/child-service.js';
import { expectNothingLost, journeyEnvironment, random, SmsResident, WebResident, type Resident } from './support/journeys.js';
import { freshTestStore, ON_MONGODB } from '../support/test-store.js';

const KILLS = 22;
const SMS_RESIDENTS = 36;
const WEB_RESIDENTS = 8;
const seed = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);
const dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-faults-crash-'));
// The embedded store in dataDir, or (in the mongodb project) one MongoDB database for every run.
const testStore = freshTestStore();
const running: ChildService[] = [];
/** FerretDB (CI's MongoDB server) takes turns more slowly: the service runs longer between kills there. */
const RUN_FACTOR = ON_MONGODB ? 3 : 1;

afterAll(async () => {
  for (const child of running) await child.kill9();
  rmSync(dataDir, { recursive: true, force: true });
  await testStore.drop();
});

describe('crash safety', () => {
  it(`loses nothing acknowledged across ${KILLS} kill -9s under load`, async () => {
    const rand = random(seed);
    const port = await freePort();
    const env = journeyEnvironment(dataDir, testStore.env);
    const residents: Resident[] = [
      ...Array.from({ length: SMS_RESIDENTS }, (_, i) => new SmsResident(`+1217556${String(i).padStart(4, '0')}`)),
      ...Array.from({ length: WEB_RESIDENTS }, () => new WebResident()),
    ];
    let acknowledgedAtKill: number[] = [];

    /** Every resident sends, one message at a time, until `until` resolves. */
    const load = async (base: string, until: Promise<void>) => {
      let stop = false;
      void until.then(() => (stop = true));
      await Promise.all(
        residents.map(async (resident) => {
          while (!stop) if (!(await resident.step(base))) await new Promise((resolve) => setTimeout(resolve, 20));
        }),
      );
    };

    for (let cycle = 0; cycle < KILLS; cycle++) {
      const child = spawnService(env, port);
      running.push(child);
      // Every fifth kill lands while the service is still starting (opening the store, seeding).
      if (cycle % 5 === 4) {
        await new Promise((resolve) => setTimeout(resolve, 150 + rand() * 1200));
        await child.kill9();
        continue;
      }
      await waitReady(child);
      const killed = new Promise<void>((resolve) => setTimeout(() => void child.kill9().then(resolve), (300 + rand() * 500) * RUN_FACTOR));
      await Promise.all([load(child.url, killed), killed]);
      expect((await child.exited).signal, child.stderr()).toBe('SIGKILL');
      acknowledgedAtKill.push(residents.reduce((sum, r) => sum + r.acknowledged.length, 0));
    }

    // One last run: every message still without a 2xx is sent again until it gets one (as a
    // provider's retries would, half a second apart), then a graceful stop. On MongoDB a write
    // that a kill cut off holds its record's next revision for STALE_CLAIM_MS (mongo.store.ts):
    // that resident's messages get a 503 until then, and a provider's retry goes through.
    const last = spawnService(env, port);
    running.push(last);
    await waitReady(last);
    await Promise.all(
      residents.map(async (resident) => {
        for (let tries = 0; resident.pending && tries < 40; tries++) {
          if (!(await resident.step(last.url))) await new Promise((resolve) => setTimeout(resolve, 500));
        }
        expect(resident.pending, resident.address).toBeNull();
        // And one more turn each, to see every conversation still works after all that.
        expect(await resident.step(last.url)).toBe(true);
      }),
    );
    expect(await last.stop(), last.stderr()).toBe(0);

    const total = residents.reduce((sum, r) => sum + r.acknowledged.length, 0);
    const confirmedReports = residents.reduce((sum, r) => sum + r.reports.size, 0);
    const confirmedSignups = residents.reduce((sum, r) => sum + r.signups.length, 0);
    console.log(
      `crash safety (seed ${seed}): ${KILLS} kills, ${total} messages acknowledged (${acknowledgedAtKill.join(', ')} at each kill), ` +
        `${confirmedReports} reports and ${confirmedSignups} sign-ups confirmed`,
    );
    // The load did reach the service between kills, and journeys were finished.
    expect(total).toBeGreaterThan(KILLS * 20);
    expect(confirmedReports).toBeGreaterThan(10);
    expect(confirmedSignups).toBeGreaterThan(5);

    const store = await openStore({ dataDir, mongodbUri: testStore.env['MONGODB_URI'] });
    try {
      await expectNothingLost(store, residents);
    } finally {
      await store.close();
    }
  }, 200_000);
});
