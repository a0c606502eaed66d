/**
 * The command runner on a real embedded store: creating is once per inbound message, whatever
 * point a first attempt died at, and the last volunteer spot goes to one resident only; the role
 * list and "my sign-ups" give every entry (the dialog pages them), in the order residents see.
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

  describe('shifts', () => {
    const role = (id: string) => ({
      _id: id,
      title: 'Shifts',
      description: 'd',
      interests: [],
      neighbourhood: 'N',
      place: 'P',
      startsAt: new Date('2026-12-01T10:00:00Z'),
      capacity: 0,
      contact: 'c',
      status: 'open' as const,
      demo: false,
      createdAt: new Date(),
    });
    const shift = (id: string, roleId: string, capacity: number, startsAt = new Date('2026-12-02T10:00:00Z')) => ({
      _id: id,
      roleId,
      startsAt,
      endsAt: new Date(startsAt.getTime() + 3 * 3_600_000),
      capacity,
      status: 'open' as const,
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    const outcome = async (command: Command, who: CommandScope) => ((await new CommandRunner(store).run(command, who)).value as { outcome: string }).outcome;

    it('gives the last spot of a shift to one of six residents at once, whatever the role and other shifts hold', async () => {
      await store.roles.insert(role('V-SHFT1'));
      await store.shifts.insert(shift('S-LAST1', 'V-SHFT1', 1));
      await store.shifts.insert(shift('S-ROOM1', 'V-SHFT1', 10));
      // The other shift's sign-ups do not count against this one.
      await runner.run(
        { type: 'role.signUp', input: { ref: 'V-SHFT1', shiftId: 'S-ROOM1', name: 'Y', waitlist: false } },
        scope('sms:SH0', 'sms:+15550000200'),
      );
      const signUp: Command = { type: 'role.signUp', input: { ref: 'V-SHFT1', shiftId: 'S-LAST1', name: 'X', waitlist: true } };
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => outcome(signUp, scope(`sms:SH${i + 1}`, `sms:+1555000020${i + 1}`))));
      expect(results.sort()).toEqual(['confirmed', 'waitlisted', 'waitlisted', 'waitlisted', 'waitlisted', 'waitlisted']);
      const onShift = await store.signups.find({ field: 'shiftId', equals: 'S-LAST1' });
      expect(onShift.every((s) => s._id === `S-LAST1|${s.address}` && s.roleId === 'V-SHFT1')).toBe(true);
    });

    it('asks for a shift, refuses one of another role, a started or cancelled one', async () => {
      await store.roles.insert(role('V-SHFT2'));
      await store.roles.insert(role('V-SHFT3'));
      await store.shifts.insert(shift('S-PAST2', 'V-SHFT2', 5, new Date('2026-11-20T09:00:00Z')));
      await store.shifts.insert({ ...shift('S-GONE2', 'V-SHFT2', 5), status: 'cancelled' });
      await store.shifts.insert(shift('S-OTHR3', 'V-SHFT3', 5));
      const who = scope('sms:SH9', 'sms:+15550000299');
      const signUp = (shiftId?: string): Command => ({
        type: 'role.signUp',
        input: { ref: 'V-SHFT2', ...(shiftId ? { shiftId } : {}), name: 'Z', waitlist: false },
      });
      expect(await outcome(signUp(), who)).toBe('pick_shift');
      expect(await outcome(signUp('S-OTHR3'), who)).toBe('not_found');
      expect(await outcome(signUp('S-PAST2'), who)).toBe('closed');
      expect(await outcome(signUp('S-GONE2'), who)).toBe('closed');
      expect(await store.signups.find({ field: 'address', equals: who.address })).toEqual([]);
    });

    it('withdraws by id, says who did it, and promotes that shift waitlist (not the role as a whole)', async () => {
      const freed: [string, string | undefined][] = [];
      const withHook = new CommandRunner(store, { spotFreed: async (roleId, shiftId) => void freed.push([roleId, shiftId]) });
      await store.roles.insert(role('V-SHFT4'));
      await store.shifts.insert(shift('S-ONE4X', 'V-SHFT4', 1));
      const ana = scope('sms:SHa', 'sms:+15550000401');
      const ben = scope('sms:SHb', 'sms:+15550000402');
      const signUp: Command = { type: 'role.signUp', input: { ref: 'V-SHFT4', shiftId: 'S-ONE4X', name: 'N', waitlist: true } };
      expect(await outcome(signUp, ana)).toBe('confirmed');
      expect(await outcome(signUp, ben)).toBe('waitlisted');
      expect(await withHook.withdrawSignup(`S-ONE4X|${ana.address}`, 'released', ana.now)).toBe('cancelled');
      expect(await withHook.withdrawSignup(`S-ONE4X|${ana.address}`, 'released', ana.now)).toBe('not_found');
      expect(freed).toEqual([['V-SHFT4', 'S-ONE4X']]);
      expect(await store.signups.get(`S-ONE4X|${ana.address}`)).toMatchObject({ status: 'cancelled', cancelledBy: 'released' });
      expect(await withHook.promoteFromWaitlist('V-SHFT4', ana.now)).toEqual([]);
      const promoted = await withHook.promoteFromWaitlist('V-SHFT4', ana.now, 'S-ONE4X');
      expect(promoted.map((s) => s.address)).toEqual([ben.address]);
      // Once the shift has started nobody is promoted into it.
      await store.signups.upsert({ ...(await store.signups.get(`S-ONE4X|${ben.address}`))!, status: 'waitlisted' });
      expect(await withHook.promoteFromWaitlist('V-SHFT4', new Date('2026-12-02T10:30:00Z'), 'S-ONE4X')).toEqual([]);
    });

    it('does not let a resident withdraw from a shift that has started, or a role that is over: what they did stays counted', async () => {
      await store.roles.insert(role('V-SHFT5'));
      await store.shifts.insert(shift('S-DONE5', 'V-SHFT5', 5, new Date('2026-11-20T07:00:00Z')));
      await store.roles.insert({ ...role('V-OVER5'), startsAt: new Date('2026-11-19T10:00:00Z'), capacity: 5 });
      const who = scope('sms:SHd', 'sms:+15550000501');
      const attended = { address: who.address, name: 'N', channel: 'sms' as const, status: 'confirmed' as const, attendance: 'attended' as const };
      const at = { createdAt: new Date('2026-11-01T10:00:00Z'), updatedAt: new Date('2026-11-01T10:00:00Z') };
      await store.signups.insert({ _id: `S-DONE5|${who.address}`, roleId: 'V-SHFT5', shiftId: 'S-DONE5', ...attended, hoursApproved: 3, ...at });
      await store.signups.insert({ _id: `V-OVER5|${who.address}`, roleId: 'V-OVER5', ...attended, hoursReported: 2, ...at });
      expect(await outcome({ type: 'signup.cancel', input: { ref: 'S-DONE5' } }, who)).toBe('over');
      expect(await outcome({ type: 'signup.cancel', input: { ref: 'V-OVER5' } }, who)).toBe('over');
      expect(await store.signups.get(`S-DONE5|${who.address}`)).toMatchObject({ status: 'confirmed', hoursApproved: 3 });
      expect(await store.signups.get(`V-OVER5|${who.address}`)).toMatchObject({ status: 'confirmed', hoursReported: 2 });
      // A place on the waitlist of a shift that started is given up as ever.
      const waiting = scope('sms:SHe', 'sms:+15550000502');
      await store.signups.insert({
        _id: `S-DONE5|${waiting.address}`,
        roleId: 'V-SHFT5',
        shiftId: 'S-DONE5',
        ...attended,
        address: waiting.address,
        status: 'waitlisted',
        ...at,
      });
      expect(await outcome({ type: 'signup.cancel', input: { ref: 'S-DONE5' } }, waiting)).toBe('cancelled');
    });
  });
});

describe('CommandRunner lists for the volunteer dialog', () => {
  const role = (id: string, day: number, capacity: number) =>
    store.roles.insert({
      _id: id,
      title: `Role ${id}`,
      description: 'd',
      translations: { es: { title: `Actividad ${id}`, description: 'd' } },
      interests: ['paging'],
      neighbourhood: 'N',
      place: 'P',
      startsAt: new Date(Date.UTC(2026, 10, day, 15)),
      capacity,
      contact: 'c',
      status: 'open',
      demo: false,
      createdAt: new Date(),
    });
  const signup = (roleId: string, address: string, status: 'confirmed' | 'waitlisted' | 'cancelled', minute: number) =>
    store.signups.insert({
      _id: `${roleId}|${address}`,
      roleId,
      address,
      name: 'N',
      channel: 'sms',
      status,
      createdAt: new Date(Date.UTC(2026, 10, 1, 10, minute)),
      updatedAt: new Date(Date.UTC(2026, 10, 1, 10, minute)),
    });

  beforeAll(async () => {
    // Seven upcoming roles (the runner once listed five), two of them full, and one already over.
    for (const [i, id] of ['V-PAGA2', 'V-PAGB3', 'V-PAGC4', 'V-PAGD5', 'V-PAGE6', 'V-PAGF7', 'V-PAGG8'].entries())
      await role(id, 21 + i, i === 1 || i === 4 ? 1 : 3);
    await role('V-PAGH9', 10, 3);
    await signup('V-PAGB3', 'sms:+15550009901', 'confirmed', 0);
    await signup('V-PAGE6', 'sms:+15550009902', 'confirmed', 0);
  });

  it('role.list gives every upcoming open role that matches, full ones last, each group by start', async () => {
    const listed = await runner.run({ type: 'role.list', input: { interest: 'paging' } }, scope('sms:RL1'));
    const roles = listed.type === 'role.list' ? listed.value.roles : [];
    expect(roles.map((r) => r.ref)).toEqual(['V-PAGA2', 'V-PAGC4', 'V-PAGD5', 'V-PAGF7', 'V-PAGG8', 'V-PAGB3', 'V-PAGE6']);
    expect(roles.map((r) => r.spotsLeft)).toEqual([3, 3, 3, 3, 3, 0, 0]);
  });

  it('role.list reuses its read for a second on one instance, brings a role up to date after a sign-up through it, and reads again after a staff change', async () => {
    let roleReads = 0;
    const roles = new Proxy(store.roles, {
      get: (target, key, receiver) =>
        key === 'find'
          ? (...args: Parameters<Store['roles']['find']>) => {
              roleReads += 1;
              return target.find(...args);
            }
          : Reflect.get(target, key, receiver),
    });
    const counted = new CommandRunner(new Proxy(store, { get: (target, key, receiver) => (key === 'roles' ? roles : Reflect.get(target, key, receiver)) }));
    const list = async (key: string) => {
      const listed = await counted.run({ type: 'role.list', input: { interest: 'paging' } }, scope(key));
      return listed.type === 'role.list' ? listed.value.roles : [];
    };
    const spotsOf = (listed: { ref: string; spotsLeft: number }[], ref: string) => listed.find((r) => r.ref === ref)?.spotsLeft;
    expect(spotsOf(await list('sms:RM1'), 'V-PAGA2')).toBe(3);
    await Promise.all([list('sms:RM2'), list('sms:RM3')]);
    expect(roleReads).toBe(1);
    // A sign-up through this instance: the next list counts it, with only that role read again.
    await counted.run({ type: 'role.signUp', input: { ref: 'V-PAGA2', name: 'Ana', waitlist: false } }, scope('sms:RM4', 'sms:+15550009933'));
    expect(spotsOf(await list('sms:RM5'), 'V-PAGA2')).toBe(2);
    expect(roleReads).toBe(1);
    // Staff changed roles or shifts through it (rolesChanged): read again.
    counted.rolesChanged();
    expect(spotsOf(await list('sms:RM6'), 'V-PAGA2')).toBe(2);
    expect(roleReads).toBe(2);
    // A withdrawal through it: the spot shows free again.
    await counted.run({ type: 'signup.cancel', input: { ref: 'V-PAGA2' } }, scope('sms:RM8', 'sms:+15550009933'));
    expect(spotsOf(await list('sms:RM9'), 'V-PAGA2')).toBe(3);
    expect(roleReads).toBe(2);
    // A resident on a clock more than a second on (or another instance's change, a second later): read again.
    await counted.run({ type: 'role.list', input: {} }, { ...scope('sms:RM7'), now: new Date(scope('').now.getTime() + 1_500) });
    expect(roleReads).toBe(3);
  });

  it('signup.listMine gives every active sign-up with its id, coming ones first (soonest first), then past ones', async () => {
    const address = 'sms:+15550009999';
    const ids = ['V-PAGG8', 'V-PAGA2', 'V-PAGH9', 'V-PAGD5', 'V-PAGF7', 'V-PAGC4', 'V-PAGB3'];
    for (const [minute, id] of ids.entries()) await signup(id, address, id === 'V-PAGC4' ? 'cancelled' : id === 'V-PAGB3' ? 'waitlisted' : 'confirmed', minute);
    const listed = await runner.run({ type: 'signup.listMine', input: {} }, { ...scope('sms:LM1', address), locale: 'es' });
    const signups = listed.type === 'signup.listMine' ? listed.value.signups : [];
    expect(signups.map((s) => s.ref)).toEqual(['V-PAGA2', 'V-PAGB3', 'V-PAGD5', 'V-PAGF7', 'V-PAGG8', 'V-PAGH9']);
    expect(signups[1]).toEqual({
      ref: 'V-PAGB3',
      roleRef: 'V-PAGB3',
      id: `V-PAGB3|${address}`,
      title: 'Actividad V-PAGB3',
      status: 'waitlisted',
      startsAt: '2026-11-22T15:00:00.000Z',
    });
  });
});
