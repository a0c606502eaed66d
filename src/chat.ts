/**
 * `npm run chat`: a terminal conversation with the bot on the configured store. The resident
 * address is per terminal user, so the conversation continues across runs.
 */
import { userInfo } from 'node:os';
import { pino } from 'pino';
import { loadConfig, ConfigError } from './config.js';
import { createService } from './service.js';
import { runConsoleChat } from './channels/console/console.channel.js';

async function main(): Promise<void> {
  const config = loadConfig();
  // Logs go to stderr at warn level, so they do not interleave with the conversation.
  const service = await createService(config, pino({ level: 'warn' }, pino.destination(2)));
  process.stdout.write(`${config.cityName} - CivicLine console. Type "menu" to start, Ctrl-D to quit.\n`);
  await runConsoleChat({
    pipeline: service.pipeline,
    i18n: service.i18n,
    input: process.stdin,
    output: process.stdout,
    address: `console:${userInfo().username}`,
  });
  await service.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
