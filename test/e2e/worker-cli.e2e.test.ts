import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_FIXTURES_DIR } from '#app/sandbox/server.ts';
import { runCli } from '../support/cli.ts';

describe('vigilance assess with a registry down, and vigilance worker (the real command, embedded default)', () => {
  let fixtures: string;
  beforeAll(() => {
    fixtures = mkdtempSync(join(tmpdir(), 'vigilance-vies-down-'));
    cpSync(BUILT_IN_FIXTURES_DIR, fixtures, { recursive: true });
    writeFileSync(join(fixtures, 'faults.json'), JSON.stringify({ vies: [{ retryAfterSeconds: 3600 }] }));
  });
  afterAll(() => {
    rmSync(fixtures, { recursive: true, force: true });
  });

  it('says GREY, with the next attempt of the source that did not answer', async () => {
    const before = Date.now();
    const run = await runCli(['assess', '552032534', '--sandbox-dir', fixtures, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as {
      verdict: string;
      sources: { name: string; status: string; nextRetryAt?: string }[];
    };
    expect(out.verdict).toBe('GREY');
    const vies = out.sources.find((s) => s.name === 'vies');
    expect(vies?.status).toBe('unavailable');
    // VIES answered 429 with Retry-After: one hour. The retry honours it (the jitter alone would say within a minute).
    const next = Date.parse(vies?.nextRetryAt ?? '');
    expect(next - before).toBeGreaterThanOrEqual(3_600_000);
    expect(next - Date.now()).toBeLessThanOrEqual(3_600_000);
    expect(out.sources.filter((s) => s.nextRetryAt !== undefined).map((s) => s.name)).toEqual(['vies']);
  });

  it('`worker --once` runs a round against the stored jobs and reports the queue', async () => {
    const run = await runCli(['worker', '--once', '--sandbox-dir', fixtures]);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as {
      claimed: number;
      queue: { pending: number; due: number };
    };
    // Not due for an hour: the job is there, pending.
    expect(out).toEqual({ claimed: 0, queue: { pending: 1, due: 0 } });
  });
});
