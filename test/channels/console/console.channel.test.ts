/**
 * The console channel over the real service: lines in, numbered replies out, and the
 * conversation kept in the store.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseConsoleLine, runConsoleChat } from '../../../src/channels/console/console.channel.js';
import { startTestService } from '../../support/harness.js';

describe('console channel', () => {
  it('reads /location as a GPS point', () => {
    expect(parseConsoleLine('/location 40.71 -74.006', 'console:me', new Date(0))).toMatchObject({ text: '', location: { lat: 40.71, lon: -74.006 } });
    expect(parseConsoleLine('hello', 'console:me', new Date(0))).toMatchObject({ text: 'hello', channel: 'console' });
  });

  it('holds a conversation through stdin and stdout', async () => {
    const { service, close } = await startTestService();
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const chat = runConsoleChat({ pipeline: service.pipeline, i18n: service.i18n, input, output, address: 'console:tester' });
    input.write('menu\n');
    input.write('5\n');
    input.end();
    await chat;
    expect(printed).toContain('1. Report a problem');
    expect(printed).toContain('Reply 1-5.');
    expect(printed).toContain('[demo]');
    const stored = await service.store.transcripts.find({ field: 'conversationId', equals: 'console:tester' });
    expect(stored.filter((e) => e.direction === 'in').map((e) => e.text)).toEqual(['menu', '5']);
    await close();
  });
});
