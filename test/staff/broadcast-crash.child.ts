/**
 * A child process for the broadcast crash test: the real service on the DATA_DIR of its
 * environment, with the broadcast worker running, sending SMS to the fake Twilio API whose URL
 * is the first argument and Telegram to the fake Bot API of TELEGRAM_API_ROOT (both live in the
 * test process, so they outlive every kill). It prints `progress <json>` for the broadcast named
 * by the second argument every 100 ms and `done` once it is done; the test kills it with SIGKILL
 * at will, and ends it with SIGTERM (a graceful stop) once it is done.
 */
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { createService } from '../../src/service.js';
import { broadcastProgress } from '../../src/staff/broadcasts.js';

const [fakeTwilioUrl, broadcastId] = process.argv.slice(2);
if (!fakeTwilioUrl || !broadcastId) throw new Error('usage: broadcast-crash.child.ts <fake twilio url> <broadcast id>');

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

const service = await createService(loadConfig(), pino({ level: 'silent' }), {
  twilioHttpClient,
  smsBackoffMs: 20,
  telegramRates: { perChatPerSecond: 1000 },
});
service.broadcasts.start();

const report = setInterval(() => {
  void broadcastProgress(service.store, broadcastId).then(
    (progress) => {
      process.stdout.write(`progress ${JSON.stringify(progress)}\n`);
      if (progress?.status === 'done') process.stdout.write('done\n');
    },
    () => undefined,
  ); // the store closing under a last report at SIGTERM
}, 100);

process.once('SIGTERM', () => {
  clearInterval(report);
  void service.close().then(() => process.exit(0));
});
