import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSealCrypto } from '#app/adapters/system/seal-crypto.ts';
import { loadConfig } from '#app/config/config.ts';
import { compose, LOCAL_ACCOUNT_ID, LOCAL_USER_ID, type App } from '#app/main/compose.ts';
import { opensslVerifies } from '../contracts/signer.contract.ts';
import { runCli } from '../support/cli.ts';
import { describeOnPostgres, type TestDatabase } from '../support/databases.ts';

const crypto = createSealCrypto();

describe('vigilance assess --seal, verify, seal and reports revoke (the real command, embedded default)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigilance-seal-e2e-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const sandbox = ['--registries', 'sandbox'];
  let report: { reportId: string; pdf: string; seal: string; verificationUrl: string };
  let assessmentId: string;

  it('writes report.pdf and report.seal.json, and `verify` says VALID (exit 0)', async () => {
    const pdf = join(dir, 'danone', 'report.pdf');
    const run = await runCli(['assess', '552032534', ...sandbox, '--seal', '--out', pdf, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { assessmentId: string; verdict: string; report: typeof report };
    expect(out.verdict).toBe('GREEN');
    ({ report, assessmentId } = out);
    expect(report.seal).toBe(join(dir, 'danone', 'report.seal.json'));
    expect(report.verificationUrl).toMatch(/^http:\/\/localhost:8080\/verify\/[A-Za-z0-9_-]{43}$/);
    const sealFile = JSON.parse(readFileSync(report.seal, 'utf8')) as Record<string, string>;
    expect(Object.keys(sealFile).sort()).toEqual(['alg', 'kid', 'payload', 'signature']);
    const payload = JSON.parse(sealFile.payload ?? '') as Record<string, unknown>;
    expect(payload).toMatchObject({ reportId: report.reportId, assessmentId, verdict: 'GREEN' });
    expect(payload.pdfSha256).toBe(crypto.sha256Hex(readFileSync(pdf)));

    const verify = await runCli(['verify', pdf, '--seal', report.seal]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`VALID: report ${report.reportId}`);
  });

  it('the signature verifies with the OpenSSL command line and the exported key', async () => {
    const jwks = JSON.parse((await runCli(['keys', 'export'])).stdout) as {
      keys: { kid: string; n: string; e: string }[];
    };
    const sealFile = JSON.parse(readFileSync(report.seal, 'utf8')) as Record<string, string>;
    const key = jwks.keys.find((k) => k.kid === sealFile.kid);
    if (key === undefined) throw new Error('the sealing key is not exported');
    const publicKey = createPublicKey({ key: { kty: 'RSA', n: key.n, e: key.e }, format: 'jwk' });
    const signature = crypto.fromBase64url(sealFile.signature ?? '') ?? new Uint8Array();
    const openssl = await opensslVerifies(
      new TextEncoder().encode(sealFile.payload ?? ''),
      signature,
      publicKey,
    );
    expect(openssl).toMatchObject({ exitCode: 0 });
    expect(openssl.output.trim()).toBe('Verified OK');
  });

  it('`verify` says INVALID (exit 1) for one changed byte of the PDF, and for a changed payload field', async () => {
    const bytes = readFileSync(report.pdf);
    const at = Math.floor(bytes.length / 3);
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    const tampered = join(dir, 'tampered.pdf');
    writeFileSync(tampered, bytes);
    const pdfRun = await runCli(['verify', tampered, '--seal', report.seal]);
    expect(pdfRun.code).toBe(1);
    expect(pdfRun.stdout).toContain('SEAL_PDF_MISMATCH');

    const sealFile = JSON.parse(readFileSync(report.seal, 'utf8')) as { payload: string };
    const forged = join(dir, 'forged.seal.json');
    writeFileSync(
      forged,
      JSON.stringify({
        ...sealFile,
        payload: sealFile.payload.replace('"verdict":"GREEN"', '"verdict":"RED"'),
      }),
    );
    const payloadRun = await runCli(['verify', report.pdf, '--seal', forged]);
    expect(payloadRun.code).toBe(1);
    expect(payloadRun.stdout).toContain('SEAL_SIGNATURE_INVALID');
  });

  it('`seal <assessment>` returns the same report again, and `reports revoke` revokes it', async () => {
    const again = join(dir, 'again.pdf');
    const run = await runCli(['seal', assessmentId, '--out', again]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Sealed report ${report.reportId} (already sealed)`);
    expect(readFileSync(again)).toEqual(readFileSync(report.pdf));

    const revoke = await runCli(['reports', 'revoke', report.reportId, '--reason', 'Wrong supplier']);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain(`Report ${report.reportId} revoked at`);
    const missing = await runCli([
      'reports',
      'revoke',
      '00000000-0000-4000-8000-0000000000ff',
      '--reason',
      'x',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('REPORT_NOT_FOUND');
  });

  it('`keys rotate`: new reports are sealed with the new key, the old report still verifies', async () => {
    const before = JSON.parse(readFileSync(report.seal, 'utf8')) as { kid: string };
    const rotate = await runCli(['keys', 'rotate', '--json']);
    expect(rotate.code, rotate.stderr).toBe(0);
    const rotation = JSON.parse(rotate.stdout) as {
      previousKeyId: string;
      currentKeyId: string;
      publishedKeyIds: string[];
    };
    expect(rotation.previousKeyId).toBe(before.kid);
    expect(rotation.publishedKeyIds).toEqual([rotation.currentKeyId, before.kid]);
    const old = await runCli(['verify', report.pdf, '--seal', report.seal]);
    expect(old.code, old.stdout).toBe(0);
    const pdf = join(dir, 'rotated.pdf');
    const run = await runCli(['assess', '552032534', ...sandbox, '--seal', '--out', pdf, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { report: { kid: string } }).report.kid).toBe(rotation.currentKeyId);
    expect((await runCli(['audit', 'verify'])).code).toBe(0);
  });

  it('seals with the Chromium renderer when configured (VIGILANCE_RENDERER=chromium), and the report verifies', async () => {
    const pdf = join(dir, 'chromium.pdf');
    const env = { VIGILANCE_RENDERER: 'chromium' };
    const run = await runCli(['assess', '552032534', ...sandbox, '--seal', '--out', pdf], env);
    expect(run.code, run.stderr).toBe(0);
    expect(execFileSync('pdftotext', [pdf, '-']).toString()).toContain('DANONE');
    const verify = await runCli(['verify', pdf, '--seal', join(dir, 'chromium.seal.json')]);
    expect(verify.code, verify.stdout).toBe(0);
  });

  it('--lang en seals an English report; an unknown assessment is an input error (exit 2)', async () => {
    const pdf = join(dir, 'en.pdf');
    const run = await runCli(['assess', '552032534', ...sandbox, '--seal', '--out', pdf, '--lang', 'en']);
    expect(run.code, run.stderr).toBe(0);
    const text = execFileSync('pdftotext', [pdf, '-']).toString();
    expect(text).toContain('How to verify this report');
    const unknown = await runCli(['seal', '00000000-0000-4000-8000-0000000000ff']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('ASSESSMENT_NOT_FOUND');
  });
});

describeOnPostgres('20 concurrent seals of one assessment on PostgreSQL', (target) => {
  let t: TestDatabase;
  let app: App;
  let dir: string;
  beforeAll(async () => {
    t = await target.open();
    dir = mkdtempSync(join(tmpdir(), 'vigilance-seal-pg-'));
    const config = loadConfig({ VIGILANCE_REGISTRIES: 'sandbox', VIGILANCE_DATA_DIR: dir });
    if (!config.ok) throw new Error(config.error.message);
    app = await compose(config.value, { database: t.db });
  }, 60_000);
  afterAll(async () => {
    await app.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives one report, one stored PDF and one audit entry; every request answers with that report', async () => {
    const assessed = await app.useCases.assessSupplier({
      identifier: '552032534',
      correlationId: 'seal-race',
      accountId: LOCAL_ACCOUNT_ID,
      actorId: LOCAL_USER_ID,
    });
    if (!assessed.ok) throw new Error(assessed.error.message);
    const { assessmentId } = assessed.value;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        app.useCases.sealReport({
          accountId: LOCAL_ACCOUNT_ID,
          actorId: LOCAL_USER_ID,
          assessmentId,
          lang: 'fr',
          correlationId: `seal-race-${String(i)}`,
        }),
      ),
    );
    const reportIds = new Set(results.map((r) => (r.ok ? r.value.report.id : r.error.code)));
    expect(reportIds.size).toBe(1);
    expect(results.filter((r) => r.ok && !r.value.replayed)).toHaveLength(1);
    const rows = await t.db.query('select id from reports where assessment_id = $1', [assessmentId]);
    expect(rows).toHaveLength(1);
    const audits = await t.db.query(
      `select 1 from audit_log where action = 'report.sealed' and after->>'assessmentId' = $1`,
      [assessmentId],
    );
    expect(audits).toHaveLength(1);
    const objects = readdirRecursive(join(dir, 'objects'));
    expect(objects.filter((f) => f.endsWith('.pdf'))).toHaveLength(1);
    expect((await app.useCases.verifyAuditLog()).ok).toBe(true);
  });
});

const readdirRecursive = (root: string): string[] =>
  execFileSync('find', [root, '-type', 'f']).toString().trim().split('\n').filter(Boolean);
