/**
 * A fake Telegram Bot API on 127.0.0.1 that telegraf talks to through TELEGRAM_API_ROOT: it
 * records every call and answers like Telegram, with failures a test can queue per method.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const BOT_TOKEN = '123456:TEST-token_for-civicline-tests';
export const BOT_USERNAME = 'SpringfieldBot';

/** One call the fake received. */
export interface FakeTelegramCall {
  at: number;
  method: string;
  payload: Record<string, any>;
  /** What the fake answered (for sendMessage: the message, with its message_id). */
  result?: any;
}

/** A failure to give instead of the normal answer, for a method. */
export interface FakeTelegramFailure {
  status: number;
  errorCode: number;
  description: string;
  retryAfter?: number;
}

export interface FakeTelegram {
  apiRoot: string;
  calls: FakeTelegramCall[];
  /** Calls of one method, in order. */
  callsOf(method: string): FakeTelegramCall[];
  /** Failures to give, per method, in order; then normal answers again. */
  fail(method: string, ...failures: FakeTelegramFailure[]): void;
  /** Updates getUpdates hands out (long polling). */
  pendingUpdates: unknown[];
  close(): Promise<void>;
}

export async function startFakeTelegram(): Promise<FakeTelegram> {
  const calls: FakeTelegramCall[] = [];
  const failures = new Map<string, FakeTelegramFailure[]>();
  const pendingUpdates: unknown[] = [];
  let nextMessageId = 1000;

  const answer = (method: string, payload: Record<string, any>): unknown => {
    switch (method) {
      case 'getMe':
        return { id: 123456, is_bot: true, first_name: 'Springfield', username: BOT_USERNAME };
      case 'sendMessage':
        return { message_id: nextMessageId++, date: Math.floor(Date.now() / 1000), chat: { id: payload.chat_id, type: 'private' }, text: payload.text };
      case 'getFile':
        return { file_id: payload.file_id, file_unique_id: `u-${payload.file_id}`, file_size: 84_000, file_path: `photos/${payload.file_id}.jpg` };
      case 'getUpdates':
        return pendingUpdates.splice(0, pendingUpdates.length);
      default:
        return true;
    }
  };

  const server: Server = createServer(async (req, res) => {
    const method = /\/bot[^/]+\/(\w+)$/.exec(req.url ?? '')?.[1] ?? '';
    const raw = await readBody(req);
    const payload = raw ? (JSON.parse(raw) as Record<string, any>) : {};
    const call: FakeTelegramCall = { at: Date.now(), method, payload };
    calls.push(call);
    const failure = failures.get(method)?.shift();
    if (failure) {
      const body = {
        ok: false,
        error_code: failure.errorCode,
        description: failure.description,
        ...(failure.retryAfter ? { parameters: { retry_after: failure.retryAfter } } : {}),
      };
      res.writeHead(failure.status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    if (method === 'getUpdates' && pendingUpdates.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    call.result = answer(method, payload);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, result: call.result }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    apiRoot: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    callsOf: (method) => calls.filter((call) => call.method === method),
    fail: (method, ...more) => failures.set(method, [...(failures.get(method) ?? []), ...more]),
    pendingUpdates,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => resolve(body));
  });
}
