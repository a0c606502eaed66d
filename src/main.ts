/**
 * The composition root: read config, build the service and the HTTP app, listen, and shut
 * down gracefully on SIGTERM/SIGINT (stop accepting, finish turns in flight, close the store).
 */
import { loadConfig, ConfigError, type Config } from './config.js';
import { createService } from './service.js';
import { createApp } from './http/app.js';
import { attachDirectLineStreams } from './channels/webchat/direct-line.routes.js';

/** Requests still open this long after SIGTERM are cut (a stuck client must not block a deploy). */
const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const service = await createService(config);
  const { logger } = service;
  reportChannels(config, (line) => logger.info(line));
  if ((await service.store.staffUsers.count({ field: 'role', equals: 'admin' })) === 0) {
    logger.info('No staff accounts yet: run `npm run staff -- add <name> --role admin` to make the first one');
  }
  // A Telegram outage at start must not keep residents on other channels waiting.
  service.telegram?.start().catch((error: unknown) => logger.error({ err: { message: (error as Error)?.message } }, 'telegram channel failed to start'));
  const server = createApp(service).listen(config.port, () => {
    logger.info({ port: config.port, store: service.store.kind, chat: `http://localhost:${config.port}/chat` }, 'CivicLine is ready');
  });
  const streams = attachDirectLineStreams(server, service.directLine, logger);
  service.broadcasts.start();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing turns in flight');
    // Stop accepting, let requests in flight finish (their turns too), then close the store.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    streams.close();
    server.closeIdleConnections();
    const forced = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    void closed
      .then(() => clearTimeout(forced))
      .then(() => service.close())
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: { message: (error as Error)?.message } }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Says once which channels are on and which are off for want of credentials. */
function reportChannels(config: Config, log: (line: string) => void): void {
  const off = (name: string, keys: string) => log(`${name} is off: set ${keys} to turn it on`);
  if (!config.twilio.authToken) log("The SMS webhook accepts only requests from this machine: set TWILIO_AUTH_TOKEN to take Twilio's");
  if (!config.twilio.accountSid || !config.twilio.authToken || (!config.twilio.from && !config.twilio.messagingServiceSid)) {
    log('Outbound SMS goes to the local outbox: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM (or TWILIO_MESSAGING_SERVICE_SID) to send');
  }
  if (!config.telegram.botToken) off('The Telegram channel', 'TELEGRAM_BOT_TOKEN');
  else log(`The Telegram channel is on, in ${config.telegram.mode} mode`);
  if (!config.microsoft.appId && config.microsoft.devMode) log('The Bot Framework endpoint is in development mode: this machine only');
  else if (!config.microsoft.appId) off('The Bot Framework channel', 'MICROSOFT_APP_ID');
  if (!config.adminToken) log('Scripts cannot use the staff API: set ADMIN_TOKEN for them (staff people log in at /admin)');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
