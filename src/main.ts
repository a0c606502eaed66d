/**
 * The composition root: read config, take the port, build the service and the HTTP app, and shut
 * down gracefully on SIGTERM/SIGINT (stop accepting, finish turns in flight, close the store).
 *
 * The port is taken first, before the store is opened or anything starts: a second process on a
 * busy port used to log "ready", register the Telegram webhook and run the broadcast worker with
 * no web server, marking the live instance's in-flight deliveries as interrupted.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { loadConfig, ConfigError, type Config } from './config.js';
import { createService } from './service.js';
import { createApp } from './http/app.js';
import { attachDirectLineStreams } from './channels/webchat/direct-line.routes.js';

/** Requests still open this long after SIGTERM are cut (a stuck client must not block a deploy). */
const SHUTDOWN_GRACE_MS = 10_000;

/** A start-up failure an operator fixes from one line (no stack trace). */
class StartupError extends Error {}

async function main(): Promise<void> {
  const config = loadConfig();
  const server = await takePort(config.port);
  const service = await createService(config);
  const { logger } = service;
  reportChannels(config, (line) => logger.info(line));
  if ((await service.store.staffUsers.count({ field: 'role', equals: 'admin' })) === 0) {
    logger.info('No staff accounts yet: run `npm run staff -- add <name> --role admin` to make the first one');
  }
  // A Telegram outage at start must not keep residents on other channels waiting.
  service.telegram?.start().catch((error: unknown) => logger.error({ err: { message: (error as Error)?.message } }, 'telegram channel failed to start'));
  server.removeAllListeners('request');
  server.on('request', createApp(service) as RequestListener);
  logger.info({ port: config.port, store: service.store.kind, chat: `http://localhost:${config.port}/chat` }, 'CivicLine is ready');
  const streams = attachDirectLineStreams(server, service.directLine, logger);
  service.broadcasts.start();
  service.jobs.start();

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

/**
 * Listens on the port with a server that answers 503 until the app is attached (a load balancer
 * or /readyz probe asking this early waits for the next try), or fails with one clear line.
 */
function takePort(port: number): Promise<Server> {
  const starting: RequestListener = (_request, response) => {
    response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"error":"starting"}');
  };
  const server = createServer(starting);
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE'
          ? 'it is in use (is CivicLine already running? set PORT to another port)'
          : error.code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges; set PORT)'
            : (error.code ?? error.message);
      reject(new StartupError(`Cannot listen on port ${port}: ${why}`));
    });
    server.listen(port, () => resolve(server));
  });
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
  if (!config.addressHashSecret && (config.twilio.authToken || config.telegram.botToken)) {
    // Phone numbers and chat ids are few enough to try them all: with the key in the data folder,
    // whoever has a copy of it can tell which numbers deleted their data.
    log(
      "Set ADDRESS_HASH_SECRET (kept outside DATA_DIR and the database): without it, the key of the hashes that replace deleted residents' numbers is kept with the data",
    );
  }
  if (!config.adminToken) log('Scripts cannot use the staff API: set ADMIN_TOKEN for them (staff people log in at /admin)');
}

main().catch((error: unknown) => {
  const oneLine = error instanceof ConfigError || error instanceof StartupError;
  process.stderr.write(`${oneLine ? error.message : String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
