import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_FIXTURES_DIR } from '#app/sandbox/server.ts';
import { runCli } from '../support/cli.ts';
import { startStubServer, type StubServer } from '../support/loopback-server.ts';

interface JsonReport {
  verdict: string;
  correlationId: string;
  subject: Record<string, unknown>;
  signals: { source: string; code: string; severity: string; summary: { fr: string; en: string } }[];
  sources: {
    name: string;
    status: string;
    durationMs: number | null;
    reason: string | null;
    retryAfterSeconds: number | null;
  }[];
}

const report = (stdout: string): JsonReport => JSON.parse(stdout) as JsonReport;

/** A copy of the built-in fixtures with a faults.json, served by the CLI's in-process sandbox. */
const faultedFixtures = (faults: unknown): string => {
  const dir = mkdtempSync(join(tmpdir(), 'vigilance-fixtures-'));
  cpSync(BUILT_IN_FIXTURES_DIR, dir, { recursive: true });
  writeFileSync(join(dir, 'faults.json'), JSON.stringify(faults));
  return dir;
};

describe('vigilance assess (the real command, against the sandbox)', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('prints a readable table and exits 0 for a GREEN supplier', async () => {
    const run = await runCli(['assess', '552032534', '--registries', 'sandbox']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Supplier assessment: DANONE');
    expect(run.stdout).toMatch(/Verdict\s+GREEN/);
    expect(run.stdout).toMatch(/VIES_VAT_VALID\s+VAT number FR27552032534 is valid/);
    expect(run.stdout).toMatch(/sirene\s+ok\s+\d+ ms\s+recherche/);
  });

  it('speaks French with --lang fr', async () => {
    const run = await runCli(['assess', '528437916', '--registries', 'sandbox', '--lang', 'fr']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Verdict\s+ROUGE/);
    expect(run.stdout).toContain('Liquidation judiciaire en cours (jugement du 17/03/2026)');
  });

  it('prints one JSON document with --json, a RED verdict still exiting 0', async () => {
    const run = await runCli(['assess', '528437916', '--registries', 'sandbox', '--json']);
    expect(run.code).toBe(0);
    const doc = report(run.stdout);
    expect(doc.verdict).toBe('RED');
    expect(doc.subject).toMatchObject({
      siren: '528437916',
      siret: null,
      vat: 'FR80528437916',
      vatOrigin: 'derived',
    });
    expect(doc.signals[0]).toMatchObject({
      source: 'bodacc',
      code: 'BODACC_LIQUIDATION_OPEN',
      severity: 'BLOCKING',
    });
    expect(doc.signals[0]?.summary.en).toContain('Judicial liquidation');
    expect(doc.sources.map((s) => [s.name, s.status])).toEqual([
      ['sirene', 'ok'],
      ['bodacc', 'ok'],
      ['vies', 'ok'],
    ]);
    expect(doc.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('assesses a foreign supplier with VIES alone', async () => {
    const run = await runCli(['assess', 'PL7740001454', '--json', '--registries', 'sandbox']);
    expect(run.code).toBe(0);
    const doc = report(run.stdout);
    expect(doc.verdict).toBe('GREEN');
    expect(doc.subject).toMatchObject({ siren: null, name: 'ORLEN SPÓŁKA AKCYJNA', country: 'PL' });
    expect(doc.sources.map((s) => s.status)).toEqual(['not_applicable', 'not_applicable', 'ok']);
  });

  it('gives GREY, never RED, when a source times out', async () => {
    const dir = faultedFixtures({ bodacc: { timeout: true } });
    dirs.push(dir);
    const run = await runCli(['assess', '552032534', '--json', '--sandbox-dir', dir], {
      VIGILANCE_BODACC_TIMEOUT_MS: '300',
    });
    expect(run.code).toBe(0);
    const doc = report(run.stdout);
    expect(doc.verdict).toBe('GREY');
    expect(doc.sources.find((s) => s.name === 'bodacc')).toMatchObject({
      status: 'unavailable',
      reason: 'timeout: no answer within 300 ms',
    });
    expect(doc.signals.some((s) => s.severity === 'BLOCKING')).toBe(false);
  });

  it('gives RED for a liquidation even with VIES down', async () => {
    const dir = faultedFixtures({ vies: { status: 503 } });
    dirs.push(dir);
    const run = await runCli(['assess', '528437916', '--json', '--sandbox-dir', dir]);
    const doc = report(run.stdout);
    expect(doc.verdict).toBe('RED');
    expect(doc.sources.find((s) => s.name === 'vies')).toMatchObject({ status: 'unavailable' });
  });

  it('carries a rate limit and its Retry-After as unavailable', async () => {
    const dir = faultedFixtures({ recherche: { status: 429, retryAfterSeconds: 42 } });
    dirs.push(dir);
    const run = await runCli(['assess', '552032534', '--json', '--sandbox-dir', dir]);
    const doc = report(run.stdout);
    expect(doc.verdict).toBe('GREY');
    expect(doc.sources[0]).toMatchObject({ name: 'sirene', status: 'unavailable', retryAfterSeconds: 42 });
  });

  it('reads SIRENE from INSEE when asked', async () => {
    const run = await runCli(['assess', '482319076', '--json', '--registries', 'sandbox'], {
      VIGILANCE_SIRENE: 'insee',
      INSEE_API_KEY: 'test-key',
    });
    const doc = report(run.stdout);
    expect(doc.verdict).toBe('RED');
    expect(doc.sources[0]).toMatchObject({ name: 'sirene', status: 'ok' });
    expect(doc.signals.map((s) => s.code)).toContain('SIRENE_CEASED');
  });
});

describe('vigilance assess: invalid input', () => {
  let registries: StubServer;
  beforeAll(async () => {
    registries = await startStubServer(() => ({ status: 500 }));
  });
  afterAll(async () => {
    await registries.close();
  });

  // Every registry points at a stub that records requests: invalid input must not reach any of them.
  const env = (): Record<string, string> => ({
    VIGILANCE_RECHERCHE_URL: registries.baseUrl,
    VIGILANCE_BODACC_URL: registries.baseUrl,
    VIGILANCE_VIES_URL: registries.baseUrl,
    VIGILANCE_INSEE_URL: registries.baseUrl,
  });

  it.each([
    ['552032535', 'IDENTIFIER_BAD_CHECKSUM', 'fails the Luhn check'],
    ['12345', 'IDENTIFIER_UNRECOGNISED', 'neither a SIREN'],
    ['FR00552032534', 'VAT_KEY_MISMATCH', 'gives key 27'],
    ['GB123456789', 'VAT_UNKNOWN_COUNTRY', 'member state'],
  ])('rejects %s with %s and exit code 2, before any network call', async (id, code, words) => {
    const run = await runCli(['assess', id], env());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(code);
    expect(run.stderr).toContain(words);
    expect(run.stdout).toBe('');
    expect(registries.requests).toHaveLength(0);
  });

  it('prints the error as JSON with --json', async () => {
    const run = await runCli(['assess', '552032534', '--vat', 'FR39356000000', '--json'], env());
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'VAT_SUBJECT_MISMATCH' } });
    expect(registries.requests).toHaveLength(0);
  });

  it.each([
    [['assess'], 'exactly one identifier'],
    [['assess', '552032534', '--registries', 'moon'], '--registries must be'],
    [['assess', '552032534', '--bogus'], "Unknown option '--bogus'"],
    [['frobnicate'], 'Unknown command'],
  ])('rejects %j as a usage error', async (args, words) => {
    const run = await runCli(args, env());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(words);
    expect(run.stderr).toContain('Usage:');
  });

  it('rejects a bad configuration value with CONFIG_INVALID', async () => {
    const run = await runCli(['assess', '552032534'], { ...env(), VIGILANCE_REGISTRY_TIMEOUT_MS: 'soon' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CONFIG_INVALID');
    expect(registries.requests).toHaveLength(0);
  });
});
