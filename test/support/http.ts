/**
 * Starts the real express app on 127.0.0.1 with an ephemeral port, for HTTP tests.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp, type AppOptions } from '../../src/http/app.js';
import { attachDirectLineStreams } from '../../src/channels/webchat/direct-line.routes.js';
import { startTestService } from './harness.js';
import type { Service, ServiceOverrides } from '../../src/service.js';

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
