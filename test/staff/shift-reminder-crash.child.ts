/**
 * A child process for the shift reminder crash test: the real service on the DATA_DIR of its
 * environment with its job scheduler running (the planner and the reminders), sending SMS to the
 * fake Twilio API whose URL is the first argument (it lives in the test process, so it outlives
 * every kill). It prints `done` once the number of reminder jobs given as the second argument
 * exist and none is pending or running; the test kills it with SIGKILL at will, and ends it with
 * SIGTERM (a graceful stop) once it is done.
 */
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { createService } from '../../src/service.js';
import { SHIFT_REMINDER_JOB } from '../../src/staff/shift-reminder-jobs.js';

const [fakeTwilioUrl, expected] = process.argv.slice(2);
if (!fakeTwilioUrl || !expected) throw new Error('usage: shift-reminder-crash.child.ts <fake twilio url> <reminder jobs>');

/** The twilio library's HTTP client, sending everything to the fake API (as test/support/twilio.ts does in-process). */
const twilioHttpClient = {
  async request(opts: { method: string; uri: string; data?: Record<string, unknown> }) {
    const target = new URL(opts.uri);
    const body = opts.data
      ? new URLSearchParams(
          Object.entries(opts.data).flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).map((v): [string, string] => [key, String(v)])),
        ).toString()
      : undefined;
    const response = await fetch(`${fakeTwilioUrl}${target.pathname}${target.search}`, {
      method: opts.method.toUpperCase(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      ...(body !== undefined ? { body } : {}),
    });
    return { statusCode: response.status, body: await response.text(), headers: Object.fromEntries(response.headers) };
  },
};

const service = await createService(loadConfig(), pino({ level: 'silent' }), { twilioHttpClient, smsBackoffMs: 20 });
service.jobs.start();

const report = setInterval(() => {
  void (async () => {
    const reminders = async (state: 'pending' | 'running' | 'done' | 'failed') =>
      (await service.store.jobs.find({ field: 'state', equals: state }, { limit: 100_000 })).filter((job) => job.kind === SHIFT_REMINDER_JOB).length;
    const [pending, running, done, failed] = await Promise.all([reminders('pending'), reminders('running'), reminders('done'), reminders('failed')]);
    if (pending + running === 0 && done + failed === Number(expected)) process.stdout.write('done\n');
  })().catch(() => undefined); // the store closing under a last look at SIGTERM
}, 100);

process.once('SIGTERM', () => {
  clearInterval(report);
  void service.close().then(() => process.exit(0));
});
