/**
 * A fast fake Telegram Bot API for the benchmark (TELEGRAM_API_ROOT points at it): answers every
 * call at once, like Telegram on a good day, so a run measures CivicLine's cost and not the
 * provider's. It remembers each chat's latest inline keyboard, so the load can press its buttons
 * as a resident would (a callback query names the message the keyboard is on), and the texts
 * (and button labels) sent to each chat since the load last asked, so a turn's replies can be
 * checked.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const BENCH_BOT_TOKEN = '123456:BENCH-token_for-civicline-bench';

/** The running fake. */
export interface FakeTelegramApi {
  apiRoot: string;
  /** The message id of the chat's latest inline keyboard, if the fake sent one. */
  latestKeyboard(chatId: number): number | undefined;
  /** The texts sent to a chat since the last call (and forgets them). */
  takeTexts(chatId: number): string;
  /** Calls per method so far. */
  calls: Record<string, number>;
  close(): Promise<void>;
}

export async function startFakeTelegramApi(): Promise<FakeTelegramApi> {
  const keyboards = new Map<number, number>();
  const texts = new Map<number, string>();
  const calls: Record<string, number> = {};
  let nextMessageId = 1000;

  const answer = (method: string, payload: Record<string, unknown>): unknown => {
    switch (method) {
      case 'getMe':
        return { id: 123456, is_bot: true, first_name: 'Springfield', username: 'SpringfieldBenchBot' };
      case 'sendMessage': {
        const chatId = Number(payload.chat_id);
        const messageId = nextMessageId++;
        const markup = payload.reply_markup as { inline_keyboard?: { text: string }[][] } | undefined;
        if (markup?.inline_keyboard?.length) keyboards.set(chatId, messageId);
        const labels = (markup?.inline_keyboard ?? []).flat().map((button) => button.text);
        texts.set(chatId, `${texts.get(chatId) ?? ''}${[String(payload.text), ...labels].join('\n')}\n`);
        return { message_id: messageId, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private' }, text: payload.text };
      }
      default:
        return true;
    }
  };

  const server: Server = createServer((req, res) => {
    const method = /\/bot[^/]+\/(\w+)$/.exec(req.url ?? '')?.[1] ?? '';
    calls[method] = (calls[method] ?? 0) + 1;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      const payload = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      const body = JSON.stringify({ ok: true, result: answer(method, payload) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    apiRoot: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    latestKeyboard: (chatId) => keyboards.get(chatId),
    takeTexts(chatId) {
      const sent = texts.get(chatId) ?? '';
      texts.delete(chatId);
      return sent;
    },
    calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
