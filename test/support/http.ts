/**
 * Starts the real express app on 127.0.0.1 with an ephemeral port, for HTTP tests.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp, type AppOptions } from '../../src/http/app.js';
import { attachDirectLineStreams } from '../../src/channels/webchat/direct-line.routes.js';
import { startTestService } from './harness.js';
import type { Service, ServiceOverrides } from '../../src/service.js';
import { ACCOUNT_SID, AUTH_TOKEN, type FakeTwilio } from './twilio.js';
import { BOT_TOKEN, type FakeTelegram } from './fake-telegram.js';

/** A running app: its base URL, the service behind it, and a way to stop both. */
export interface RunningApp {
  url: string;
  service: Service;
  close(): Promise<void>;
}

export async function startTestApp(env: Record<string, string> = {}, overrides: ServiceOverrides = {}, appOptions: AppOptions = {}): Promise<RunningApp> {
  const started = await startTestService(env, overrides);
  const server: Server = await new Promise((resolve) => {
    const listening = createApp(started.service, appOptions).listen(0, '127.0.0.1', () => resolve(listening));
  });
  const streams = attachDirectLineStreams(server, started.service.directLine);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    service: started.service,
    async close() {
      streams.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await started.close();
    },
  };
}

/** POSTs JSON and returns the status and parsed body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/**
 * The settings of an app whose SMS goes to a fake Twilio and (given one) whose Telegram goes to
 * a fake Bot API, both on 127.0.0.1, fast enough for tests; `env` adds to or overrides them.
 */
export function withProviderFakes(
  fakes: { twilio: FakeTwilio; telegram?: FakeTelegram },
  env: Record<string, string> = {},
): { env: Record<string, string>; overrides: ServiceOverrides } {
  return {
    env: {
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_FROM: '+12175550100',
      TWILIO_MESSAGES_PER_SECOND: '100',
      ...(fakes.telegram ? { TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_API_ROOT: fakes.telegram.apiRoot, TELEGRAM_MODE: 'polling' } : {}),
      ...env,
    },
    overrides: { twilioHttpClient: fakes.twilio.httpClient, ...(fakes.telegram ? { telegramRates: { perChatPerSecond: 1000 } } : {}) },
  };
}
