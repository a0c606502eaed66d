/**
 * A fake Bot Framework connector on 127.0.0.1: the serviceUrl botbuilder posts replies to
 * (`/v3/conversations/:id/activities` and `.../activities/:replyToId`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ConnectorPost {
  path: string;
  activity: Record<string, any>;
  authorization?: string;
}

export interface FakeConnector {
  url: string;
  posts: ConnectorPost[];
  close(): Promise<void>;
}

export async function startFakeConnector(): Promise<FakeConnector> {
  const posts: ConnectorPost[] = [];
  let next = 1;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && /^\/v3\/conversations\/[^/]+\/activities(\/[^/]+)?$/.test(req.url ?? '')) {
        posts.push({
          path: decodeURIComponent(req.url ?? ''),
          activity: JSON.parse(body),
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `reply-${next++}` }));
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
