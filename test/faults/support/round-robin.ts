/**
 * A small load balancer for the several-instance tests: every HTTP request, and every WebSocket
 * upgrade, goes to the next instance in turn (no sticky sessions), as a round-robin balancer in
 * front of CivicLine would send them. An instance that refuses the connection (killed) gets a
 * 502, as a balancer without health checks answers; the client retries, as providers do.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

/** A running balancer: its URL, how many requests each instance got, and a way to stop it. */
export interface RoundRobin {
  url: string;
  /** Requests (and upgrades) sent to each instance, by its base URL. */
  counts: Map<string, number>;
  close(): Promise<void>;
}

/** Starts a balancer on 127.0.0.1 in front of the instances (their base URLs, `http://127.0.0.1:<port>`). */
export async function startRoundRobin(instances: readonly string[]): Promise<RoundRobin> {
  let next = 0;
  const counts = new Map(instances.map((url) => [url, 0]));
  const pick = (): URL => {
    const url = instances[next++ % instances.length]!;
    counts.set(url, (counts.get(url) ?? 0) + 1);
    return new URL(url);
  };

  const server: Server = createServer((req, res) => {
    const target = pick();
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer: IncomingMessage) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    });
    req.pipe(upstream);
  });

  // WebSockets (the Direct Line stream): the upgrade request and then the raw bytes both ways.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = pick();
    const upstream = connect(Number(target.port), target.hostname, () => {
      const headers = Object.entries(req.headers).flatMap(([name, value]) =>
        Array.isArray(value) ? value.map((v) => `${name}: ${v}`) : [`${name}: ${value}`],
      );
      upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    const end = () => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.on('error', end);
    socket.on('error', end);
    upstream.on('close', end);
    socket.on('close', end);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
