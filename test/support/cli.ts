import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/vigilance.js', import.meta.url));

/**
 * The embedded database the commands of one test file share (each test file has its own module instance, and a
 * file's tests run one after the other, so the data directory's lock is never contended). Removed at exit.
 */
export const cliDataDir = mkdtempSync(join(tmpdir(), 'vigilance-cli-'));
process.once('exit', () => {
  rmSync(cliDataDir, { recursive: true, force: true });
});

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real `vigilance` command in a child process, on the same Node as the tests, with only the environment
 * given (plus PATH and the file's data directory), so no setting of the developer's machine leaks in.
 */
export const runCli = (
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CliRun> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { PATH: process.env.PATH ?? '', VIGILANCE_DATA_DIR: cliDataDir, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
