import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalSigner } from '#app/adapters/local-crypto/signer.ts';
import { createPdfRenderer } from '#app/adapters/pdf/renderer.ts';
import { createSealCrypto } from '#app/adapters/system/seal-crypto.ts';
import { evaluateAssessment } from '#app/domain/assessment.ts';
import { parseSupplierId, frenchVatFromSiren } from '#app/domain/identifiers/identifiers.ts';
import type { JsonValue } from '#app/domain/json.ts';
import { POLICY_V1 } from '#app/domain/policy.ts';
import { attachedPayloadOf, type SealFile } from '#app/domain/seal.ts';
import { opensslVerifies } from '../../../test/contracts/signer.contract.ts';
import { danone } from '../../../test/support/facts.ts';
import type { PublishedKey, Signer } from '../ports/signer.ts';
import { makeVerifySeal } from './verify-seal.ts';

const crypto = createSealCrypto();
const verifySeal = makeVerifySeal({ crypto });
const AT = '2026-11-29T10:00:00.000Z';

const assessment = (() => {
  const id = parseSupplierId('552032534');
  if (!id.ok) throw new Error('bad id');
  const observed = { observedAt: AT, durationMs: 10 } as const;
  return evaluateAssessment(
    {
      id: id.value,
      query: '552032534',
      vat: { number: frenchVatFromSiren(danone().siren), origin: 'derived' },
      assessedAt: AT,
      sirene: { status: 'ok', facts: danone(), ...observed },
      bodacc: { status: 'ok', facts: { siren: danone().siren, notices: [], sourceUrl: 'b' }, ...observed },
      vies: {
        status: 'ok',
        facts: {
          vat: frenchVatFromSiren(danone().siren),
          valid: true,
          name: 'DANONE',
          address: null,
          requestDate: null,
          sourceUrl: 'v',
        },
        ...observed,
      },
    },
    POLICY_V1,
  );
})();

/** Seals a report the way the seal pipeline does: render with the attached payload, hash, sign the payload. */
const seal = async (signer: Signer): Promise<{ pdf: Uint8Array; file: SealFile }> => {
  const kid = await signer.currentKeyId();
  const attached = attachedPayloadOf(
    assessment,
    { reportId: 'rep-0001', assessmentId: 'asm-0001' },
    {
      signalsSha256: crypto.sha256Hex(crypto.canonicalize(assessment.signals as unknown as JsonValue)),
      sealedAt: AT,
      kid,
    },
  );
  const pdf = await createPdfRenderer().render({
    reportId: 'rep-0001',
    assessmentId: 'asm-0001',
    assessment,
    sealedAt: AT,
    keyId: kid,
    algorithm: 'PS256',
    verificationUrl: 'https://vigilance.example/verify/token',
    lang: 'fr',
    requestedBy: null,
    attachedPayload: crypto.canonicalize(attached),
  });
  const payload = crypto.canonicalize({
    ...attached,
    pdfSha256: crypto.sha256Hex(pdf),
  });
  const signature = await signer.sign(new Uint8Array(Buffer.from(crypto.sha256Hex(payload), 'hex')));
  return { pdf, file: { payload, signature: crypto.toBase64url(signature.value), kid, alg: 'PS256' } };
};

describe('verifying a sealed report offline', () => {
  let dir: string;
  let signer: Signer;
  let other: Signer;
  let keys: readonly PublishedKey[];
  let sealed: { pdf: Uint8Array; file: SealFile };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigilance-seal-'));
    signer = await createLocalSigner({ dir: join(dir, 'keys') });
    other = await createLocalSigner({ dir: join(dir, 'other-keys') });
    keys = await signer.publicKeys();
    sealed = await seal(signer);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts the sealed PDF with its seal and the published key', () => {
    const result = verifySeal({ pdf: sealed.pdf, seal: sealed.file, keys });
    expect(result).toMatchObject({
      ok: true,
      value: { reportId: 'rep-0001', verdict: 'GREEN', kid: sealed.file.kid },
    });
  });

  it('refuses the PDF when any single byte changes, wherever it is', () => {
    const positions = [0, 100, Math.floor(sealed.pdf.length / 2), sealed.pdf.length - 1];
    for (const at of positions) {
      const altered = new Uint8Array(sealed.pdf);
      altered[at] = (altered[at] ?? 0) ^ 0x01;
      expect(verifySeal({ pdf: altered, seal: sealed.file, keys }), `byte ${String(at)}`).toMatchObject({
        ok: false,
        error: { code: 'SEAL_PDF_MISMATCH' },
      });
    }
  });

  it('refuses a payload with a changed field, even re-canonicalised', () => {
    const changed = { ...(JSON.parse(sealed.file.payload) as Record<string, JsonValue>), verdict: 'RED' };
    const file = { ...sealed.file, payload: crypto.canonicalize(changed) };
    expect(verifySeal({ pdf: sealed.pdf, seal: file, keys })).toMatchObject({
      ok: false,
      error: { code: 'SEAL_SIGNATURE_INVALID' },
    });
  });

  it('refuses a payload that is not in canonical form', () => {
    const file = { ...sealed.file, payload: JSON.stringify(JSON.parse(sealed.file.payload), null, 2) };
    expect(verifySeal({ pdf: sealed.pdf, seal: file, keys })).toMatchObject({
      ok: false,
      error: { code: 'SEAL_PAYLOAD_NOT_CANONICAL' },
    });
  });

  it('refuses a signature by another key, and a key nobody published', async () => {
    const forged = await other.sign(
      new Uint8Array(Buffer.from(crypto.sha256Hex(sealed.file.payload), 'hex')),
    );
    const file = { ...sealed.file, signature: crypto.toBase64url(forged.value) };
    expect(verifySeal({ pdf: sealed.pdf, seal: file, keys })).toMatchObject({
      ok: false,
      error: { code: 'SEAL_SIGNATURE_INVALID' },
    });
    expect(verifySeal({ pdf: sealed.pdf, seal: sealed.file, keys: await other.publicKeys() })).toMatchObject({
      ok: false,
      error: { code: 'SEAL_KEY_UNKNOWN' },
    });
  });

  it('refuses what is not a seal', () => {
    for (const bad of [null, {}, { ...sealed.file, alg: 'RS256' }, { ...sealed.file, payload: '{' }]) {
      expect(verifySeal({ pdf: sealed.pdf, seal: bad, keys })).toMatchObject({
        ok: false,
        error: { code: 'SEAL_MALFORMED' },
      });
    }
  });

  it('is verifiable with the OpenSSL command line', async () => {
    const key = keys.find((k) => k.kid === sealed.file.kid);
    if (key === undefined) throw new Error('no key');
    const publicKey = createPublicKey({ key: { kty: key.kty, n: key.n, e: key.e }, format: 'jwk' });
    const signature = crypto.fromBase64url(sealed.file.signature) ?? new Uint8Array();
    const openssl = await opensslVerifies(
      new TextEncoder().encode(sealed.file.payload),
      signature,
      publicKey,
    );
    expect(openssl).toMatchObject({ exitCode: 0 });
    expect(openssl.output.trim()).toBe('Verified OK');
  });
});
