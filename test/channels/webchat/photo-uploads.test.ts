/**
 * The pieces of the upload route that need no server: how client addresses are counted, and the
 * cut-off for bodies that trickle in (which would hold their share of the photo caps for as long
 * as the server let them).
 */
import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientBlock, clientKey, cutOffIfSlow } from '../../../src/channels/webchat/photo-uploads.js';

describe('clientBlock', () => {
  it('counts an IPv6 client by its /64, whatever the spelling', () => {
    expect(clientBlock('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(clientBlock('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientBlock('2001:0db8:0001:0002:0:0:0:9')).toBe('2001:db8:1:2::/64');
    expect(clientBlock('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientBlock('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('2001:db8:1:2::1')).toBe(clientKey('2001:db8:1:2:ffff::7'));
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
  });

  it('counts an IPv4 client by its address, IPv4-mapped or not', () => {
    expect(clientBlock('198.51.100.7')).toBe('198.51.100.7');
    expect(clientBlock('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(clientKey('198.51.100.7')).not.toBe(clientKey('198.51.100.8'));
  });
});

describe('cutOffIfSlow', () => {
  const pace = { graceMs: 60, minBytesPerSecond: 1024 };

  it('cuts off a body that trickles in slower than the pace once the grace time is over', async () => {
    const body = new PassThrough();
    const watch = cutOffIfSlow(body as unknown as IncomingMessage, pace);
    const trickle = setInterval(() => body.destroyed || body.write(Buffer.alloc(1)), 10);
    try {
      await expect.poll(() => body.destroyed, { timeout: 5_000 }).toBe(true);
    } finally {
      clearInterval(trickle);
      watch.stop();
    }
  });

  it('lets a body that keeps the pace go on', async () => {
    const body = new PassThrough();
    body.resume();
    const watch = cutOffIfSlow(body as unknown as IncomingMessage, pace);
    const flowing = setInterval(() => body.write(Buffer.alloc(1024)), 10);
    await new Promise((resolve) => setTimeout(resolve, pace.graceMs * 4));
    clearInterval(flowing);
    watch.stop();
    expect(body.destroyed).toBe(false);
  });
});
