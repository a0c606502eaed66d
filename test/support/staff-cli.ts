/**
 * `npm run staff -- <args>` as an operator runs it: the real CLI (`src/staff-cli.ts`) in a child
 * process, with its environment and what is typed on its standard input.
 */
import { spawn } from 'node:child_process';

/** What a run of the CLI did. */
export interface StaffCliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the staff CLI with `env` over this process's environment (logs silent) and `stdin` piped in. */
export function runStaffCli(args: readonly string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<StaffCliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/staff-cli.ts', ...args], {
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
