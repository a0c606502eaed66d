/**
 * A small HTTP client for the fault suite: node:http over keep-alive sockets (much cheaper per
 * request than fetch when a test sends hundreds of thousands), a timeout on every request (a hang
 * is a failure, never a stuck test), and a pool that runs many requests at once.
 */
import { Agent, request as httpRequest } from 'node:http';
import twilio from 'twilio';
import { AUTH_TOKEN } from '../../support/twilio.js';

/** What came back; `status` 0 with `error` when no response came (a reset, a refused connection, a timeout). */
export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  error?: string;
  ms: number;
}

export interface RequestSpec {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** A response must start within this long (default 10 s): longer is a hang. */
  timeoutMs?: number;
  /** Sockets to use (default: the shared keep-alive agent, 64 at once). */
  agent?: Agent;
}

/** Keep-alive sockets shared by every request of a test file. */
export const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/**
 * Sends one request; never throws. A request on a kept-alive socket that the server closed as
 * idle just then (its keep-alive timeout) is sent again once on a new socket, as Node documents
 * (`reusedSocket`): that race is the client's, not a server failure.
 */
export async function send(spec: RequestSpec): Promise<Response> {
  const first = await sendOnce(spec);
  return first.reused && first.error && /ECONNRESET|socket hang up/.test(first.error) ? sendOnce(spec) : first;
}

function sendOnce(spec: RequestSpec): Promise<Response & { reused?: boolean }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const url = new URL(spec.url);
    const body = spec.body === undefined ? undefined : typeof spec.body === 'string' ? Buffer.from(spec.body) : spec.body;
    const req = httpRequest(
      {
        agent: spec.agent ?? agent,
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: spec.method ?? 'POST',
        headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...spec.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }),
        );
        res.on('error', (error) => resolve({ status: 0, headers: {}, text: '', error: error.message, ms: performance.now() - started }));
      },
    );
    req.setTimeout(spec.timeoutMs ?? 10_000, () => req.destroy(new Error(`no answer within ${spec.timeoutMs ?? 10_000} ms`)));
    req.on('error', (error) => resolve({ status: 0, headers: {}, text: '', error: error.message, ms: performance.now() - started, reused: req.reusedSocket }));
    req.end(body);
  });
}

/** Runs `task` over every item with at most `concurrency` at once; results in item order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** Headers of a form Twilio would post: signed for `publicUrl + path` with the test auth token. */
export function twilioHeaders(publicUrl: string, path: string, params: Record<string, string | string[]>, authToken = AUTH_TOKEN): Record<string, string> {
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-twilio-signature': twilio.getExpectedTwilioSignature(authToken, `${publicUrl}${path}`, params),
  };
}

/** A form body from params (a list value repeats its key, as Twilio's own do). */
export function formBody(params: Record<string, string | string[]>): string {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) for (const each of Array.isArray(value) ? value : [value]) form.append(key, each);
  return form.toString();
}

/** The <Message> bodies of a TwiML answer. */
export { twimlMessages } from '../../support/twilio.js';

/** A fresh Twilio message SID. */
export { messageSid as sid } from '../../support/twilio.js';
