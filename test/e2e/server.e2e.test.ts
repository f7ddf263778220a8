import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../../src/main/server.ts', import.meta.url));

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Starts `npm start`'s entry on the same Node as the tests, with only the environment given (plus PATH). */
const start = (env: Readonly<Record<string, string>>): { child: ChildProcess; exited: Promise<Exit> } => {
  const child = spawn(process.execPath, [entry], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { child, exited };
};

/** Everything the process wrote so far, and a wait for a line matching `pattern`. */
const collect = (child: ChildProcess) => {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const line = (pattern: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const look = (): void => {
        const match = pattern.exec(stdout);
        if (match !== null) {
          child.stdout?.off('data', look);
          child.off('exit', gone);
          resolve(match);
        }
      };
      const gone = (): void => {
        reject(new Error(`the server exited before listening:\n${stdout}\n${stderr}`));
      };
      child.stdout?.on('data', look);
      child.once('exit', gone);
      look();
    });
  return { line, output: () => ({ stdout, stderr }) };
};

describe('npm start (the public verification server)', () => {
  let dir: string;
  let server: ReturnType<typeof start>;
  let io: ReturnType<typeof collect>;
  let baseUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigilance-server-'));
    server = start({
      PORT: '0',
      VIGILANCE_HOST: '127.0.0.1',
      VIGILANCE_REGISTRIES: 'sandbox',
      VIGILANCE_DATA_DIR: dir,
      VIGILANCE_PUBLIC_URL: 'https://verify.vigilance.example',
    });
    io = collect(server.child);
    const [, url] = await io.line(/^Vigilance listening on (http:\/\/\S+) \(public verification: (.*)\)$/m);
    baseUrl = url ?? '';
  }, 60_000);

  afterAll(() => {
    server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints where it listens, with the bound port and the public verification address', () => {
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    expect(io.output().stdout).toContain(
      '(public verification: https://verify.vigilance.example/verify/<token>; ' +
        'API: https://verify.vigilance.example/api/v1, documented at https://verify.vigilance.example/docs)',
    );
  });

  it('answers /healthz and the JWKS over HTTP', async () => {
    const health = await fetch(`${baseUrl}/healthz`, { headers: { 'x-correlation-id': 'e2e-1' } });
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(health.headers.get('x-correlation-id')).toBe('e2e-1');
    expect(health.headers.get('referrer-policy')).toBe('no-referrer');

    const jwks = await fetch(`${baseUrl}/.well-known/jwks.json`);
    expect(jwks.status).toBe(200);
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=300');
    const { keys } = (await jwks.json()) as { keys: { kty: string; alg: string; kid: string }[] };
    expect(keys.length).toBeGreaterThan(0);
    expect(keys[0]).toMatchObject({ kty: 'RSA', alg: 'PS256' });
  });

  it('answers an unknown token with the problem 404, and keeps the token out of its logs', async () => {
    const token = 'Qx7'.repeat(14) + 'Z';
    const res = await fetch(`${baseUrl}/verify/${token}`, { headers: { 'accept-language': 'en' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      code: 'NOT_FOUND',
    });
    // The access-log line is written once the response is sent.
    await io.line(/"url":"\/verify\/\[token\]","statusCode":404/);
    expect(io.output().stdout).not.toContain(token);
  });

  it('serves its metrics at /metrics for Prometheus, with the headers of every route', async () => {
    const res = await fetch(`${baseUrl}/metrics`, { headers: { 'x-correlation-id': 'scrape-1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('x-correlation-id')).toBe('scrape-1');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const body = await res.text();
    expect(body).toContain('vigilance_registry_calls_total{source="vies",outcome="ok"} 0');
    expect(body).toContain('vigilance_breaker_state{source="vies"} 0');
    expect(body).toMatch(/^vigilance_retry_queue_jobs\{state="pending"\} \d+$/m);
    expect(body).toContain('process_cpu_user_seconds_total');
  });

  it('closes cleanly on SIGTERM', async () => {
    server.child.kill('SIGTERM');
    const deadline = new Promise<'timeout'>((resolve) => {
      setTimeout(() => {
        resolve('timeout');
      }, 15_000).unref();
    });
    const outcome = await Promise.race([server.exited, deadline]);
    expect(outcome, io.output().stderr).toEqual({ code: 0, signal: null });
    await expect(fetch(`${baseUrl}/healthz`)).rejects.toThrow();
  }, 20_000);
});

describe('npm start with an invalid configuration', () => {
  it('says CONFIG_INVALID and exits with 2', async () => {
    const server = start({ PORT: 'eighty' });
    const io = collect(server.child);
    expect(await server.exited).toEqual({ code: 2, signal: null });
    expect(io.output().stderr).toContain('vigilance: CONFIG_INVALID: PORT must be');
  });
});
