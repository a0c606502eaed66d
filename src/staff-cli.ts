/**
 * `npm run staff -- <command>`: manages staff accounts from the server's shell, on the
 * configured store. It is how the first admin is made (nobody can log in to make one), and how
 * an admin who forgot their password gets a new one.
 *
 *   add <username> --role admin|coordinator [--name "Display Name"]
 *   list
 *   passwd <username>
 *   disable <username>
 *   enable <username>      also lifts a lock-out after failed logins
 *   compact [--if-needed]
 *
 * Passwords come from stdin: typed twice without echo at a terminal, or the first line of a
 * pipe, so scripts can use it. Every change is in the audit log with the actor `cli`.
 *
 * `compact` is the maintenance step after residents deleted their data: it rewrites the store
 * so that what was deleted is not left readable on disk (see store/compaction.ts). The embedded
 * store must not be open elsewhere: stop the service first (it refuses otherwise). With
 * `--if-needed` it does nothing unless data was deleted since the last compaction, for a
 * nightly job.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from './config.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/store.port.js';
import { recordAudit } from './staff/audit-log.js';
import { compactionPendingSince, compactStore, StoreInUseError, type CompactionOutcome } from './store/compaction.js';
import {
  createStaffUser,
  isLocked,
  isStaffRole,
  listStaffUsers,
  setStaffActive,
  setStaffPassword,
  STAFF_ROLES,
  type StaffResult,
  type StaffUserView,
} from './staff/staff-accounts.js';

const USAGE = `usage: npm run staff -- <command>
  add <username> --role ${STAFF_ROLES.join('|')} [--name "Display Name"]
  list
  passwd <username>
  disable <username>
  enable <username>       also lifts a lock-out after failed logins
  compact [--if-needed]   after residents deleted their data; stop the service first
The password is read from stdin (typed twice at a terminal, or the first line of a pipe).`;

/** A refusal to show as one line and exit non-zero; not a crash, so no stack trace. */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { role: { type: 'string' }, name: { type: 'string' }, 'if-needed': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, username, ...extra] = positionals;
  if (values.help || !command) throw new CliError(USAGE, command || values.help ? 0 : 2);
  if (extra.length > 0) throw new CliError(`unexpected arguments: ${extra.join(' ')}\n${USAGE}`, 2);
  if (command === 'compact') {
    if (username) throw new CliError(`unexpected arguments: ${username}\n${USAGE}`, 2);
    process.stdout.write(`${await compact(values['if-needed'] === true)}\n`);
    return;
  }
  if (command !== 'list' && !username) throw new CliError(`${command} needs a username\n${USAGE}`, 2);
  if (command === 'add' && !isStaffRole(values.role)) {
    throw new CliError(values.role ? `unknown role: ${values.role} (use ${STAFF_ROLES.join(' or ')})` : `add needs --role ${STAFF_ROLES.join('|')}`, 2);
  }
  if (!['add', 'list', 'passwd', 'disable', 'enable'].includes(command)) throw new CliError(`unknown command: ${command}\n${USAGE}`, 2);

  // Asked before the store opens, so a typo in the password prompt costs no store work.
  const password = command === 'add' || command === 'passwd' ? await readPassword() : undefined;
  const config = loadConfig();
  const store = await openStore({ dataDir: config.dataDir, ...(config.mongodbUri ? { mongodbUri: config.mongodbUri } : {}) });
  try {
    process.stdout.write(`${await run(store, command, username ?? '', { ...values, password })}\n`);
  } finally {
    await store.close();
  }
}

/** Runs one command on an open store and returns its one line of result. */
async function run(store: Store, command: string, username: string, options: { role?: string; name?: string; password?: string }): Promise<string> {
  switch (command) {
    case 'add': {
      const user = unwrap(
        await createStaffUser(store, {
          username,
          role: options.role ?? '',
          password: options.password ?? '',
          ...(options.name ? { displayName: options.name } : {}),
        }),
      );
      await recordAudit(store, { actor: 'cli', action: 'staff.create', target: user.username, details: { role: user.role, displayName: user.displayName } });
      return `added ${user.username} (${user.role})`;
    }
    case 'list': {
      const users = await listStaffUsers(store);
      if (users.length === 0) return 'no staff accounts yet: add one with `npm run staff -- add <username> --role admin`';
      const now = new Date();
      return users.map((user) => [user.username, user.role, stateOf(user, now), user.displayName].join('\t')).join('\n');
    }
    case 'passwd': {
      const { user } = unwrap(await setStaffPassword(store, username, options.password ?? ''));
      await recordAudit(store, { actor: 'cli', action: 'staff.set_password', target: user.username });
      return `password changed for ${user.username}; their sessions were ended`;
    }
    case 'disable':
    case 'enable': {
      const active = command === 'enable';
      const { user, changed } = unwrap(await setStaffActive(store, username, active));
      if (changed.length > 0) await recordAudit(store, { actor: 'cli', action: `staff.${command}`, target: user.username });
      return `${user.username} is ${active ? 'enabled' : 'disabled'}${changed.length === 0 ? ' (no change)' : ''}`;
    }
    default:
      throw new CliError(`unknown command: ${command}\n${USAGE}`, 2);
  }
}

/** Compacts the configured store (not opened as a store: compaction needs it to itself). */
async function compact(ifNeeded: boolean): Promise<string> {
  const config = loadConfig();
  const where = { dataDir: config.dataDir, mongodbUri: config.mongodbUri };
  let outcome: CompactionOutcome;
  try {
    if (ifNeeded && !(await compactionPendingSince(where))) return 'nothing to compact: no data was deleted since the last compaction';
    outcome = await compactStore(where);
  } catch (error) {
    if (error instanceof StoreInUseError) throw new CliError(error.message);
    if ((error as { code?: unknown }).code === 'ENOENT') throw new CliError(`no embedded store in ${config.dataDir} (DATA_DIR)`);
    throw error;
  }
  const since = outcome.pendingSince ? ` (data deleted since ${outcome.pendingSince})` : '';
  if (outcome.kind === 'embedded') return `compacted ${config.dataDir}: ${megabytes(outcome.bytesBefore)} → ${megabytes(outcome.bytesAfter)}${since}`;
  return [
    `compacted ${outcome.collections} collections, ${megabytes(outcome.bytesFreed)} freed${since}`,
    "Deleted data can stay until rotated in the journal (FerretDB: PostgreSQL's WAL, after a CHECKPOINT), the oplog of a replica set, and backups.",
  ].join('\n');
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

/** What `list` says of an account: `active`, `disabled`, or locked (until when, so an admin can decide to `enable` it). */
function stateOf(user: StaffUserView, now: Date): string {
  if (!user.active) return 'disabled';
  return user.lockedUntil && isLocked(user, now) ? `locked until ${user.lockedUntil.toISOString()}` : 'active';
}

function unwrap<T>(result: StaffResult<T>): T {
  if (!result.ok) throw new CliError(result.message);
  return result.value;
}

/** The new password: typed twice without echo at a terminal, else the first line of stdin. */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const line = await firstLine(process.stdin);
    if (line === undefined) throw new CliError('no password on stdin (pipe it as the first line, or run at a terminal)');
    return line;
  }
  const first = await promptHidden('New password: ');
  const second = await promptHidden('Repeat it: ');
  if (first !== second) throw new CliError('the two passwords differ; nothing changed');
  return first;
}

async function firstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) return line;
    return undefined;
  } finally {
    lines.close();
  }
}

/** Reads a line at the terminal in raw mode, echoing nothing, so the password is not on screen. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || char === '\u0004') return finish(new CliError('cancelled', 130));
        if (char === '\u007f' || char === '\b') typed = [...typed].slice(0, -1).join('');
        else if (char >= ' ') typed += char;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof CliError) {
    (error.exitCode === 0 ? process.stdout : process.stderr).write(`${error.exitCode === 0 ? '' : 'error: '}${error.message}\n`);
    process.exit(error.exitCode);
  }
  const message =
    error instanceof ConfigError
      ? error.message
      : (error as { code?: string })?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `${(error as Error).message}\n${USAGE}`
        : String((error as Error)?.stack ?? error);
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
});
