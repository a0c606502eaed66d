/**
 * A flood of wrong staff logins does not slow residents down. Each login check is a 32 MiB
 * scrypt hash (~90 ms of a core); 300 of them at once used to fill the thread pool the turn
 * pipeline also waits on (LMDB, files), and an SMS turn took 10 s instead of 14 ms. Here
 * residents converse (signed Twilio webhooks and the JSON web chat API) while 300 wrong logins
 * arrive, from one address and then from 300, and their turns' p99 latency must stay within what
 * it was without the flood.
 *
 * The bound is max(2 × p99 without the flood, p99 without + FLOOR_MS): a ratio alone would fail
 * on noise (a 7 ms p99 after a 3 ms one is a GC pause or a busy neighbour on a shared 2-core CI
 * machine, not a stall), and 100 ms is both far below the stall this catches (seconds; the old
 * code: 10 s) and below what a person notices in a chat reply. 50 ms was tried first: in a CI
 * run the median flood round's p99 was 63 ms against a 10 ms calm one, with single rounds
 * ranging from 16 to 105 ms: the 300 requests' own parsing and answers on 2 cores, not hashing. Both p99s come from the same run, in alternating rounds
 * (calm, flood, calm, flood...), so a slow machine weighs on both alike; and what is compared is
 * the median round's p99, so a busy moment of the machine that happens to land in one flood
 * phase does not decide, while a stall that comes with every flood does.
 *
 * The service runs as a child process, as in production: the flood's requests are made here and
 * cost this process, not the service's event loop (the same arrangement as bad-input.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_TOKEN } from '../support/twilio.js';
import { agent, send, type Response } from './support/client.js';
import { freePort, startService, type ChildService } from './support/child-service.js';
import { ADMIN_TOKEN, PUBLIC_URL, SmsResident, WebResident, type Reachable } from './support/all-channels.js';

const FLOOD = 300;
/** Calm and flood phases alternate this many times; each phase lasts `PHASE_SECONDS`. */
const ROUNDS = 5;
const PHASE_SECONDS = 2;
/** What residents' p99 may grow by during a flood, whatever the ratio (see the module comment). */
const FLOOR_MS = 100;
/** The per-address limit on failed logins (README: 20 in 15 minutes). */
const PER_ADDRESS = 20;
const PASSWORD = 'the real admin password';

let service: ChildService;
let dataDir: string;
/** Residents need only the URL and the sockets: no Telegram or Bot Framework here. */
let reachable: Reachable;
/** Wide enough that a whole flood can be in flight at once (the shared agent holds 64). */
const floodAgent = new Agent({ keepAlive: true, maxSockets: FLOOD + 10 });

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-faults-login-'));
  service = await startService(
    {
      DATA_DIR: dataDir,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      PUBLIC_URL,
      ADMIN_TOKEN,
      // The residents here send faster than the flood brake allows; it is not what is measured.
      RATE_LIMIT_MESSAGES_PER_MINUTE: '0',
    },
    await freePort(),
  );
  reachable = { app: { url: service.url }, agent } as Reachable;
  const created = await send({
    url: `${service.url}/admin/api/staff`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ username: 'ada', displayName: 'Ada', role: 'admin', password: PASSWORD }),
  });
  expect(created.status, created.text).toBe(201);
  // Warm up: the first turns load the NLU and compile the hot paths.
  await converse(1);
}, 60_000);
afterAll(async () => {
  floodAgent.destroy();
  try {
    if (service) expect(await service.stop(), service.stderr()).toBe(0);
  } finally {
    await service?.kill9();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * 4 SMS and 4 web chat residents starting a report, a turn every 100-200 ms each, for `seconds`;
 * their latencies, and the turns that went wrong (a turn with no answer within 10 s is one).
 */
async function converse(seconds: number): Promise<{ latencies: number[]; wrong: string[] }> {
  const script: [string, RegExp][] = [
    ['hi', /What would you like to do\?/],
    ['report a problem', /What kind of problem/],
    ['pothole', /Where is it\?/],
    ['5th and Main', /Describe the problem/],
    ['menu', /What would you like to do\?/],
  ];
  const latencies: number[] = [];
  const wrong: string[] = [];
  const deadline = Date.now() + seconds * 1000;
  const residents = [...Array.from({ length: 4 }, () => new SmsResident(reachable)), ...Array.from({ length: 4 }, () => new WebResident(reachable))];
  await Promise.all(
    residents.map(async (resident, n) => {
      await sleep(n * 13); // not all in step
      for (let i = 0; Date.now() < deadline; i++) {
        const [text, expected] = script[i % script.length]!;
        const answer = await resident.send(text);
        latencies.push(answer.response.ms);
        if (answer.status !== 200 || !expected.test(answer.replies.join('\n'))) {
          wrong.push(`${resident.address} "${text}": ${answer.status} ${answer.response.error ?? answer.replies.join(' | ')}`);
        }
        await sleep(100 + Math.random() * 100);
      }
    }),
  );
  return { latencies, wrong };
}

/** Posts the login form as a browser would: the login page's CSRF cookie and field, and a guess. */
async function loginForm(): Promise<(username: string, password: string, from: string) => Promise<Response>> {
  const page = await send({ method: 'GET', url: `${service.url}/admin/login` });
  const csrf = /name="_csrf"\s+value="([^"]+)"/.exec(page.text)?.[1];
  const cookie = ([] as string[]).concat(page.headers['set-cookie'] ?? []).find((line) => line.startsWith('civicline_login_csrf='));
  if (!csrf || !cookie) throw new Error(`the login page came without its CSRF token: ${page.status}`);
  return (username, password, from) =>
    send({
      agent: floodAgent,
      url: `${service.url}/admin/login`,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: cookie.split(';')[0]!,
        // The service trusts a proxy on its own machine (`trust proxy` loopback), as behind nginx.
        'x-forwarded-for': from,
      },
      body: new URLSearchParams({ username, password, _csrf: csrf }).toString(),
      timeoutMs: 60_000,
    });
}

/**
 * Sends `FLOOD` wrong logins in batches of 10 over one second, none waiting for another's
 * answer (on the code this guards against, all 300 were being hashed at once). Not all in one
 * millisecond: 300 requests of any kind arriving together hold the service's event loop for
 * 150-250 ms on a 2-core machine (measured with GET /healthz), which is HTTP's cost, not
 * hashing's, and would be what this measured. Unknown usernames: each costs a (dummy) hash, and
 * no account gets locked.
 */
async function flood(post: (username: string, password: string, from: string) => Promise<Response>, from: (i: number) => string): Promise<Response[]> {
  const answers: Promise<Response>[] = [];
  for (let i = 0; i < FLOOD; i++) {
    answers.push(post(`guess${i}`, `wrong password ${i}`, from(i)));
    if (i % 10 === 9) await sleep(1000 / (FLOOD / 10));
  }
  return Promise.all(answers);
}

/** The 99th percentile: the value 99% of turns were at or under. */
function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.99) - 1)]!;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Residents converse in `ROUNDS` rounds of a calm phase then a phase with a flood (started by
 * `startFlood(round)`); each round's two p99s, their medians, every flood's answers by round, and
 * the turns that went wrong. A round whose turns went wrong (a stall: no answer in 10 s) is the
 * last: the verdict is in, and more floods would only make the test slower.
 */
async function measure(startFlood: (round: number) => Promise<Response[]>) {
  const rounds: { calm: number; flooded: number }[] = [];
  const answers: Response[][] = [];
  const wrong: string[] = [];
  for (let round = 0; round < ROUNDS && wrong.length === 0; round++) {
    const quiet = await converse(PHASE_SECONDS);
    const [busy, floodAnswers] = await Promise.all([converse(PHASE_SECONDS), startFlood(round)]);
    rounds.push({ calm: p99(quiet.latencies), flooded: p99(busy.latencies) });
    answers.push(floodAnswers);
    wrong.push(...quiet.wrong, ...busy.wrong);
  }
  const calm = median(rounds.map((r) => r.calm));
  const flooded = median(rounds.map((r) => r.flooded));
  const summary = `residents' p99 ${calm.toFixed(1)} ms without, ${flooded.toFixed(1)} ms during (median round; rounds ${rounds
    .map((r) => `${r.calm.toFixed(0)}/${r.flooded.toFixed(0)}`)
    .join(' ')} ms); logins ${answers.map(countBy).join(', ')}`;
  return { calm, flooded, summary, answers, wrong };
}

/** How many answers of each status, e.g. `401×12 429×288` (no answer: `0 (why)`). */
function countBy(answers: Response[]): string {
  const counts = new Map<string, number>();
  for (const answer of answers) {
    const key = answer.status === 0 ? `0 (${answer.error})` : String(answer.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([status, count]) => `${status}×${count}`).join(' ');
}

describe('a flood of wrong staff logins', () => {
  it('300 from one address: residents’ turns keep their speed, and at most 20 guesses are checked', async () => {
    const post = await loginForm();
    // A new address each round: one round's flood uses up its address's tries.
    const { calm, flooded, summary, answers, wrong } = await measure((round) => flood(post, () => `203.0.113.${50 + round}`));
    console.log(`login flood from one address: ${summary}`);
    expect(wrong).toEqual([]);
    expect(flooded).toBeLessThanOrEqual(Math.max(2 * calm, calm + FLOOR_MS));

    for (const round of answers) {
      // Checked guesses answer 401; the rest are refused before any hashing, with a time to come back.
      for (const answer of round) expect([401, 429]).toContain(answer.status);
      expect(round.filter((a) => a.status === 401).length).toBeLessThanOrEqual(PER_ADDRESS);
      for (const answer of round.filter((a) => a.status === 429)) expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    }
    // The floods used up their own addresses' tries, not the staff's: Ada logs in from hers.
    expect((await post('ada', PASSWORD, '198.51.100.20')).status).toBe(303);
  });

  it('300 from 300 addresses: the hashing is bounded, and residents’ turns keep their speed', async () => {
    const post = await loginForm();
    const { calm, flooded, summary, answers, wrong } = await measure((round) => flood(post, (i) => `10.${round}.${i >> 8}.${i & 255}`));
    console.log(`login flood from ${FLOOD} addresses: ${summary}`);
    expect(wrong).toEqual([]);
    expect(flooded).toBeLessThanOrEqual(Math.max(2 * calm, calm + FLOOR_MS));
    for (const answer of answers.flat()) expect([401, 429]).toContain(answer.status);
    // Once the flood is over, a login is checked at once again.
    expect((await post('ada', PASSWORD, '198.51.100.21')).status).toBe(303);
  });
});
