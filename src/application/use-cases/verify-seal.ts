import { readSealFile, readSealPayload, type SealFailure, type SealPayload } from '#app/domain/seal.ts';
import { err, ok, type Result } from '#app/domain/result.ts';
import type { SealCrypto } from '../ports/seal-crypto.ts';
import type { PublishedKey } from '../ports/signer.ts';

export interface SealInvalid {
  readonly code: SealFailure;
  readonly message: string;
}

export interface VerifySealInput {
  readonly pdf: Uint8Array;
  /** The parsed JSON of `report.seal.json`. */
  readonly seal: unknown;
  /** The published keys to check against (a JWKS's keys). */
  readonly keys: readonly PublishedKey[];
}

export type VerifySeal = (input: VerifySealInput) => Result<SealPayload, SealInvalid>;

const invalid = (code: SealFailure, message: string): Result<never, SealInvalid> => err({ code, message });

/**
 * Checks a seal without its PDF: the seal file is well formed, its payload is exactly the canonical form of itself
 * (so no reformatting could hide a change), and the signature verifies with the published key it names. The
 * checks run in that order and the first failure is returned.
 */
export const checkSeal = (
  crypto: SealCrypto,
  sealJson: unknown,
  keys: readonly PublishedKey[],
): Result<SealPayload, SealInvalid> => {
  const seal = readSealFile(sealJson);
  if (seal === null)
    return invalid(
      'SEAL_MALFORMED',
      'The seal file is not a Vigilance seal (payload, signature, kid, alg PS256).',
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(seal.payload) as unknown;
  } catch {
    return invalid('SEAL_MALFORMED', 'The signed payload is not JSON.');
  }
  const payload = readSealPayload(parsed);
  if (payload === null)
    return invalid('SEAL_MALFORMED', 'The signed payload is not a seal payload this version knows.');
  if (crypto.canonicalize(parsed as never) !== seal.payload) {
    return invalid(
      'SEAL_PAYLOAD_NOT_CANONICAL',
      'The signed payload is not in its canonical form (RFC 8785).',
    );
  }
  if (payload.kid !== seal.kid) {
    return invalid('SEAL_MALFORMED', 'The seal names another key than its payload does.');
  }
  const key = keys.find((k) => k.kid === seal.kid);
  if (key === undefined) return invalid('SEAL_KEY_UNKNOWN', `No published key has the id ${seal.kid}.`);
  const signature = crypto.fromBase64url(seal.signature);
  if (signature === null || !crypto.verifyPs256(seal.payload, signature, key)) {
    return invalid('SEAL_SIGNATURE_INVALID', `The signature does not verify with key ${seal.kid}.`);
  }
  return ok(payload);
};

/** The PDF's check: its SHA-256 is the one the payload signed. */
export const checkPdf = (
  crypto: SealCrypto,
  payload: SealPayload,
  pdf: Uint8Array,
): Result<SealPayload, SealInvalid> => {
  const pdfSha256 = crypto.sha256Hex(pdf);
  return pdfSha256 === payload.pdfSha256
    ? ok(payload)
    : invalid(
        'SEAL_PDF_MISMATCH',
        `The PDF's SHA-256 is ${pdfSha256}, the seal says ${payload.pdfSha256}: this is not the sealed document, or it was altered.`,
      );
};

/**
 * Checks a sealed report with no server: the seal (checkSeal), then the PDF's SHA-256 against the signed one.
 */
export const makeVerifySeal =
  (deps: { readonly crypto: SealCrypto }): VerifySeal =>
  (input) => {
    const sealed = checkSeal(deps.crypto, input.seal, input.keys);
    return sealed.ok ? checkPdf(deps.crypto, sealed.value, input.pdf) : sealed;
  };
