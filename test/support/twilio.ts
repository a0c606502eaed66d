/**
 * Twilio for tests: signed webhooks (signed with the twilio library's own function, against
 * the public URL), and a fake Twilio REST API on 127.0.0.1 that the real twilio client talks to
 * through its `httpClient` option. Nothing reaches the internet.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import twilio from 'twilio';

export const AUTH_TOKEN = 'test-twilio-auth-token-0123456789';
export const ACCOUNT_SID = 'AC00000000000000000000000000000000';

/** A raw webhook payload from test/fixtures/twilio/, as Twilio posts it. */
export function twilioFixture(name: 'inbound-sms' | 'inbound-mms-photo'): Record<string, string> {
  return JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'twilio', `${name}.json`), 'utf8')) as Record<string, string>;
}

/** A fresh message SID, as Twilio makes them. */
export function messageSid(prefix: 'SM' | 'MM' = 'SM'): string {
  return prefix + randomBytes(16).toString('hex');
}

/**
 * POSTs a form to the app as Twilio would: signed for `publicUrl + path` (what Twilio called),
 * sent to `appUrl + path` (where the app listens, e.g. behind a proxy).
 */
export async function postTwilio(options: {
  appUrl: string;
  publicUrl?: string;
  path: string;
  params: Record<string, string>;
  authToken?: string | null;
  signature?: string;
}): Promise<{ status: number; text: string }> {
  const { appUrl, path: route, params } = options;
  const signedUrl = `${options.publicUrl ?? appUrl}${route}`;
  const token = options.authToken === undefined ? AUTH_TOKEN : options.authToken;
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const signature = options.signature ?? (token ? twilio.getExpectedTwilioSignature(token, signedUrl, params) : undefined);
  if (signature) headers['x-twilio-signature'] = signature;
  const response = await fetch(`${appUrl}${route}`, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
  return { status: response.status, text: await response.text() };
}

/** The <Message> bodies of a TwiML response, unescaped. */
export function twimlMessages(xml: string): string[] {
  return [...xml.matchAll(/<Message>([\s\S]*?)<\/Message>/g)].map((m) =>
    m[1]!.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&apos;', "'").replaceAll('&amp;', '&'),
  );
}

/** One request the fake API received. */
export interface FakeTwilioRequest {
  at: number;
  path: string;
  form: Record<string, string>;
}

/** How the fake API answers the next request: a status and a Twilio-shaped JSON body. */
export interface FakeTwilioAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** A fake Twilio REST API (Messages.json) on 127.0.0.1. */
export interface FakeTwilio {
  url: string;
  requests: FakeTwilioRequest[];
  /** Answers to give, in order; when empty, every message is accepted. */
  answers: FakeTwilioAnswer[];
  /** An httpClient for the twilio library that sends everything to this fake. */
  httpClient: { request(opts: { method: string; uri: string; headers?: Record<string, string>; data?: Record<string, unknown> }): Promise<unknown> };
  close(): Promise<void>;
}

export async function startFakeTwilio(): Promise<FakeTwilio> {
  const requests: FakeTwilioRequest[] = [];
  const answers: FakeTwilioAnswer[] = [];
  const server: Server = createServer(async (req, res) => {
    const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
    requests.push({ at: Date.now(), path: req.url ?? '', form });
    const answer = answers.shift() ?? { status: 201, body: { sid: messageSid(), status: 'queued', to: form.To, body: form.Body } };
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    answers,
    httpClient: {
      async request(opts) {
        const target = new URL(opts.uri);
        const response = await fetch(`${url}${target.pathname}${target.search}`, {
          method: opts.method.toUpperCase(),
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          ...(opts.data ? { body: new URLSearchParams(flatten(opts.data)).toString() } : {}),
        });
        return { statusCode: response.status, body: await response.text(), headers: Object.fromEntries(response.headers) };
      },
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function flatten(data: Record<string, unknown>): [string, string][] {
  return Object.entries(data).flatMap(([key, value]) =>
    Array.isArray(value) ? value.map((v) => [key, String(v)] as [string, string]) : [[key, String(value)] as [string, string]],
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => resolve(body));
  });
}
