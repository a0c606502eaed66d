/**
 * The command runner on a real embedded store: creating is once per inbound message, whatever
 * point a first attempt died at, and the last volunteer spot goes to one resident only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandRunner, type CommandScope } from '../../src/pipeline/command-runner.js';
import { openEmbeddedStore } from '../../src/store/embedded.store.js';
import type { Store } from '../../src/store/store.port.js';
import type { Command } from '../../src/engine/commands.js';

let store: Store;
let dir: string;
let runner: CommandRunner;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'civicline-runner-'));
  store = await openEmbeddedStore(dir);
  runner = new CommandRunner(store);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const scope = (sourceKey: string, address = 'sms:+15550000001'): CommandScope => ({
  address,
  channel: 'sms',
  locale: 'en',
  sourceKey,
  now: new Date('2026-11-20T10:00:00Z'),
});
const fileReport: Command = { type: 'report.create', input: { category: 'pothole', locationText: 'Elm St', description: 'deep', photos: [] } };

describe('CommandRunner', () => {
  it("keeps a resident's opt-out as their consent log's latest event says, when an old STOP is applied again", async () => {
    const address = 'sms:+15550000077';
    const at = (minute: number): CommandScope => ({ ...scope('', address), now: new Date(Date.UTC(2026, 10, 20, 10, minute)) });
    await runner.apply({ type: 'consent.optOut', keyword: 'STOP' }, { ...at(0), sourceKey: `${address}|sms:SMstop` });
    await runner.apply({ type: 'consent.optIn', keyword: 'START' }, { ...at(1), sourceKey: `${address}|sms:SMstart` });
    // The STOP again, later (a replay): its event is already in the log, and START came after it.
    await runner.apply({ type: 'consent.optOut', keyword: 'STOP' }, { ...at(30), sourceKey: `${address}|sms:SMstop` });
    expect((await store.residents.get(address))?.optedOut).toBe(false);
    const log = await store.consentEvents.find({ field: 'address', equals: address }, { order: 'asc' });
    expect(log.map((event) => event.kind)).toEqual(['opt_out', 'opt_in']);
  });

  it('files one report per inbound message, however often the message is retried', async () => {
    const first = await runner.run(fileReport, scope('sms:SM1'));
    const again = await runner.run(fileReport, scope('sms:SM1'));
    expect(again).toEqual(first);
    expect(await store.reports.count({ field: 'residentAddress', equals: 'sms:+15550000001' })).toBe(1);
  });

  it('finishes a first attempt that planned a reference and died before filing it', async () => {
    await store.meta.upsert({ _id: await runner.erasure.createdMarker('sms:SM2'), value: 'R-PLAN2' });
    const result = await runner.run(fileReport, scope('sms:SM2'));
    expect(result).toEqual({ type: 'report.create', value: { ref: 'R-PLAN2' } });
    expect((await store.reports.get('R-PLAN2'))?.residentAddress).toBe('sms:+15550000001');
  });

  it('gives the last spot of a role to exactly one of six residents signing up at once', async () => {
    await store.roles.insert({
      _id: 'V-LAST2',
      title: 'One spot',
      description: 'd',
      interests: [],
      neighbourhood: 'N',
      place: 'P',
      startsAt: new Date('2026-12-01T10:00:00Z'),
      capacity: 1,
      contact: 'c',
      status: 'open',
      demo: false,
      createdAt: new Date(),
    });
    const signUp: Command = { type: 'role.signUp', input: { ref: 'V-LAST2', name: 'X', waitlist: true } };
    // A runner per sign-up, as if each came to a different service instance: no shared lock,
    // only the store's revision check keeps the last spot single.
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => new CommandRunner(store).run(signUp, scope(`sms:SU${i}`, `sms:+1555000010${i}`))));
    const outcomes = results.map((r) => (r.value as { outcome: string }).outcome).sort();
    expect(outcomes).toEqual(['confirmed', 'waitlisted', 'waitlisted', 'waitlisted', 'waitlisted', 'waitlisted']);
  });
});
