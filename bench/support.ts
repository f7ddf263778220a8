import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** A registry sandbox in its own process, so the benchmark's CPU figures are the client's alone. */
export interface SandboxProcess {
  readonly baseUrl: string;
  readonly child: ChildProcess;
  setFaults(rules: unknown): Promise<void>;
  stop(): Promise<void>;
}

const cli = fileURLToPath(new URL('../src/main/cli.ts', import.meta.url));

export const startSandboxProcess = async (args: readonly string[] = []): Promise<SandboxProcess> => {
  const child = spawn(process.execPath, [cli, 'sandbox', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      seen += chunk;
      const match = /listening on (http:\/\/[^\s]+)/.exec(seen);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => {
      reject(new Error(`sandbox exited with code ${String(code)}`));
    });
  });
  return {
    baseUrl,
    child,
    setFaults: async (rules) => {
      const res = await fetch(`${baseUrl}/_sandbox/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(rules),
      });
      if (!res.ok) throw new Error(`sandbox refused the faults: HTTP ${res.status} ${await res.text()}`);
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
};

export const percentile = (sorted: readonly number[], p: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
};

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** A command-line count: a positive integer (underscores allowed as digit separators, e.g. 1_000_000). */
export const positiveInteger = (flag: string, text: string): number => {
  const n = Number(text.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`--${flag} takes a positive integer, not "${text}".`);
  return n;
};

/** Runs `work` on a throwaway database created on the PostgreSQL server of `serverUrl`, dropped afterwards. */
export const withThrowawayDatabase = async <T>(
  serverUrl: string,
  work: (url: string) => Promise<T>,
): Promise<T> => {
  const name = `vigilance_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  try {
    return await work(url.toString());
  } finally {
    const dropper = new pg.Client({ connectionString: serverUrl });
    await dropper.connect();
    try {
      await dropper.query(`drop database if exists ${name} with (force)`);
    } finally {
      await dropper.end();
    }
  }
};
