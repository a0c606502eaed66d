/**
 * `npm run staff`: the CLI run as a child process on a temp data folder, with the password
 * piped on stdin, and the account it made used to log in through the service.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp } from '../support/http.js';
import { freshTestStore } from '../support/test-store.js';
import { runStaffCli, type StaffCliRun } from '../support/staff-cli.js';
import { login } from '../../src/staff/staff-accounts.js';
import { listAudit } from '../../src/staff/audit-log.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-staff-cli-'));
// The CLI and the services the tests start share one store: this folder, or one MongoDB database.
const store = freshTestStore();
afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  await store.drop();
});

const PASSWORD = 'piped password for alice';

/** Runs the CLI with `stdin` piped in, on this test's store; resolves with its exit code and output. */
function staffCli(args: string[], stdin = ''): Promise<StaffCliRun> {
  return runStaffCli(args, { DATA_DIR: dataDir, ADMIN_TOKEN: '', MONGODB_URI: '', ...store.env }, stdin);
}

describe('staff CLI', () => {
  it('adds an account with the piped password, refuses bad input, and the account can log in', async () => {
    const added = await staffCli(['add', 'Alice', '--role', 'coordinator', '--name', 'Alice Liddell'], `${PASSWORD}\n`);
    expect(added).toMatchObject({ code: 0, stdout: 'added alice (coordinator)\n' });
    expect(added.stdout + added.stderr).not.toContain(PASSWORD);

    const duplicate = await staffCli(['add', 'alice', '--role', 'admin'], `${PASSWORD}\n`);
    expect(duplicate.code).not.toBe(0);
    expect(duplicate.stderr).toContain('taken');
    const weak = await staffCli(['add', 'bob', '--role', 'admin'], 'short\n');
    expect(weak.code).not.toBe(0);
    expect(weak.stderr).toContain('at least 12 characters');
    const role = await staffCli(['add', 'carol', '--role', 'boss'], `${PASSWORD}\n`);
    expect(role.code).not.toBe(0);
    expect(role.stderr).toContain('unknown role');

    const listed = await staffCli(['list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe('alice\tcoordinator\tactive\tAlice Liddell\n');

    const app = await startTestApp({ DATA_DIR: dataDir, ...store.env });
    try {
      expect(await login(app.service.store, 'alice', PASSWORD)).toMatchObject({
        ok: true,
        user: { username: 'alice', role: 'coordinator', displayName: 'Alice Liddell' },
      });
      const audit = await listAudit(app.service.store, { actor: 'cli' });
      expect(audit).toContainEqual(expect.objectContaining({ action: 'staff.create', target: 'alice' }));
    } finally {
      await app.close();
    }
  }, 60_000);

  it('changes a password, and disables and enables an account', async () => {
    expect((await staffCli(['passwd', 'alice'], 'a whole new password\r\nignored second line\n')).code).toBe(0);
    const disabled = await staffCli(['disable', 'alice']);
    expect(disabled).toMatchObject({ code: 0, stdout: 'alice is disabled\n' });
    expect((await staffCli(['list'])).stdout).toContain('alice\tcoordinator\tdisabled');
    expect((await staffCli(['enable', 'alice'])).code).toBe(0);
    expect((await staffCli(['passwd', 'nobody'], 'a whole new password\n')).stderr).toContain('no staff member');
    expect((await staffCli(['launch'])).code).toBe(2);

    const app = await startTestApp({ DATA_DIR: dataDir, ...store.env });
    try {
      expect(await login(app.service.store, 'alice', PASSWORD)).toEqual({ ok: false, reason: 'invalid' });
      expect(await login(app.service.store, 'alice', 'a whole new password')).toMatchObject({ ok: true });
    } finally {
      await app.close();
    }
  }, 60_000);

  it('compacts the store (the step after residents deleted their data), with --if-needed only when some did', async () => {
    expect(await staffCli(['compact', '--if-needed'])).toMatchObject({
      code: 0,
      stdout: 'nothing to compact: no data was deleted since the last compaction\n',
    });
    expect(await staffCli(['compact'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^compacted /) });
    expect((await staffCli(['list'])).stdout).toContain('alice\tcoordinator');
    expect((await staffCli(['compact', 'now'])).code).toBe(2);
    if (store.env.MONGODB_URI) return;
    const nowhere = mkdtempSync(path.join(tmpdir(), 'civicline-staff-cli-empty-'));
    try {
      const { code, stderr } = await runStaffCli(['compact'], { DATA_DIR: nowhere, MONGODB_URI: '' });
      expect({ code, stderr }).toEqual({ code: 1, stderr: `error: no embedded store in ${nowhere} (DATA_DIR)\n` });
    } finally {
      rmSync(nowhere, { recursive: true, force: true });
    }
  }, 60_000);

  it('lists a locked account as locked, and enable lifts the lock', async () => {
    const app = await startTestApp({ DATA_DIR: dataDir, ...store.env });
    try {
      for (let i = 0; i < 5; i++) await login(app.service.store, 'alice', 'not her password');
      expect(await login(app.service.store, 'alice', 'a whole new password')).toMatchObject({ ok: false, reason: 'locked' });
    } finally {
      await app.close();
    }
    expect((await staffCli(['list'])).stdout).toMatch(/^alice\tcoordinator\tlocked until \d{4}-\d\d-\d\dT[\d:.]+Z\tAlice Liddell\n$/);
    expect(await staffCli(['enable', 'alice'])).toMatchObject({ code: 0, stdout: 'alice is enabled\n' });
    expect((await staffCli(['list'])).stdout).toBe('alice\tcoordinator\tactive\tAlice Liddell\n');

    const again = await startTestApp({ DATA_DIR: dataDir, ...store.env });
    try {
      expect(await login(again.service.store, 'alice', 'a whole new password')).toMatchObject({ ok: true });
      const audit = await listAudit(again.service.store, { actor: 'cli' });
      expect(audit).toContainEqual(expect.objectContaining({ action: 'staff.enable', target: 'alice' }));
    } finally {
      await again.close();
    }
  }, 60_000);
});
