import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalSigner } from '#app/adapters/local-crypto/signer.ts';
import { createSealCrypto } from '#app/adapters/system/seal-crypto.ts';
import { cliDataDir, runCli } from '../support/cli.ts';

/**
 * `vigilance verify` and `vigilance keys export` on a seal made with this installation's local key (the key
 * directory of the CLI's data directory), as the seal pipeline makes them.
 */
describe('vigilance verify and keys export', () => {
  const crypto = createSealCrypto();
  let dir: string;
  const files = { pdf: '', seal: '', jwks: '' };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigilance-verify-'));
    const signer = await createLocalSigner({ dir: join(cliDataDir, 'keys') });
    const kid = await signer.currentKeyId();
    const pdf = new TextEncoder().encode(
      '%PDF-1.7\nnot a real report, but bytes whose hash is sealed\n%%EOF\n',
    );
    const payload = crypto.canonicalize({
      version: 1,
      reportId: 'rep-42',
      assessmentId: 'asm-42',
      subject: { siren: '552032534', siret: null, vat: 'FR27552032534', name: 'DANONE', country: 'FR' },
      verdict: 'GREEN',
      policyVersion: 'v1',
      signalsSha256: crypto.sha256Hex('[]'),
      pdfSha256: crypto.sha256Hex(pdf),
      sealedAt: '2026-11-29T10:00:00.000Z',
      kid,
      alg: 'PS256',
    });
    const signature = await signer.sign(new Uint8Array(Buffer.from(crypto.sha256Hex(payload), 'hex')));
    files.pdf = join(dir, 'report.pdf');
    files.seal = join(dir, 'report.seal.json');
    writeFileSync(files.pdf, pdf);
    writeFileSync(
      files.seal,
      JSON.stringify({ payload, signature: crypto.toBase64url(signature.value), kid, alg: 'PS256' }),
    );
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('exports every public key as a JWKS', async () => {
    const run = await runCli(['keys', 'export']);
    expect(run.code, run.stderr).toBe(0);
    const jwks = JSON.parse(run.stdout) as { keys: { kid: string; kty: string; alg: string }[] };
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'PS256' });
    files.jwks = join(dir, 'jwks.json');
    writeFileSync(files.jwks, run.stdout);
  });

  it('says VALID (exit 0) for the sealed file, with the installation keys or a JWKS file', async () => {
    const local = await runCli(['verify', files.pdf, '--seal', files.seal]);
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout).toContain('VALID: report rep-42, DANONE GREEN');
    const withJwks = await runCli([
      'verify',
      files.pdf,
      '--seal',
      files.seal,
      '--jwks',
      files.jwks,
      '--json',
    ]);
    expect(JSON.parse(withJwks.stdout)).toMatchObject({ valid: true, payload: { reportId: 'rep-42' } });
  });

  it('says INVALID (exit 1) with the reason when one byte of the PDF changes, or the key is unknown', async () => {
    const altered = join(dir, 'altered.pdf');
    const bytes = readFileSync(files.pdf);
    bytes[10] = (bytes[10] ?? 0) ^ 1;
    writeFileSync(altered, bytes);
    const run = await runCli(['verify', altered, '--seal', files.seal]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('INVALID (SEAL_PDF_MISMATCH)');
    const empty = join(dir, 'empty-jwks.json');
    writeFileSync(empty, '{"keys":[]}');
    const unknown = await runCli(['verify', files.pdf, '--seal', files.seal, '--jwks', empty]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('SEAL_KEY_UNKNOWN');
  });

  it('checks against no key, and creates none, on an installation that never sealed', async () => {
    const fresh = join(dir, 'fresh-data');
    const run = await runCli(['verify', files.pdf, '--seal', files.seal], { VIGILANCE_DATA_DIR: fresh });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('SEAL_KEY_UNKNOWN');
    expect(existsSync(join(fresh, 'keys'))).toBe(false);
  });

  it('refuses missing files as input errors (exit 2)', async () => {
    const run = await runCli(['verify', join(dir, 'nope.pdf'), '--seal', files.seal]);
    expect(run.code).toBe(2);
    expect((await runCli(['verify', files.pdf])).code).toBe(2);
  });
});
