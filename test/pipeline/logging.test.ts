/**
 * Logs carry one line per turn with what an operator needs, and never a phone number or what
 * the resident wrote.
 */
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createService } from '../../src/service.js';
import { TestConversation } from '../support/harness.js';

describe('turn logs', () => {
  it('have channel, dialog, step, intent, outcome and latency, and no number or text', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...chunk.toString().trim().split('\n'));
        done();
      },
    });
    const dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-log-'));
    const service = await createService(loadConfig({ DATA_DIR: dataDir }), pino({ level: 'info' }, sink));
    const chat = new TestConversation(service, 'sms:+15557654321');
    await chat.send('there is a pothole outside 42 Secret Lane');
    await chat.send('STOP');
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });

    const turns = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'turn');
    expect(turns).toHaveLength(2);
    expect(turns[0]).toMatchObject({ channel: 'sms', dialog: 'report-problem', intent: 'report_problem' });
    expect(typeof turns[0].latencyMs).toBe('number');
    expect(turns[1]).toMatchObject({ outcome: 'opted_out' });
    const everything = lines.join('\n');
    expect(everything).not.toContain('5557654321');
    expect(everything).not.toContain('Secret Lane');
  });
});
