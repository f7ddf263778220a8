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
 * Checks a sealed report with no server: the seal file is well formed, its payload is exactly the canonical form
 * of itself (so no reformatting could hide a change), the signature verifies with the published key it names,
 * and the PDF's SHA-256 is the one signed. The checks run in that order and the first failure is returned.
 */
export const makeVerifySeal =
  (deps: { readonly crypto: SealCrypto }): VerifySeal =>
  (input) => {
    const seal = readSealFile(input.seal);
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
    if (deps.crypto.canonicalize(parsed as never) !== seal.payload) {
      return invalid(
        'SEAL_PAYLOAD_NOT_CANONICAL',
        'The signed payload is not in its canonical form (RFC 8785).',
      );
    }
    if (payload.kid !== seal.kid) {
      return invalid('SEAL_MALFORMED', 'The seal names another key than its payload does.');
    }
    const key = input.keys.find((k) => k.kid === seal.kid);
    if (key === undefined) return invalid('SEAL_KEY_UNKNOWN', `No published key has the id ${seal.kid}.`);
    const signature = deps.crypto.fromBase64url(seal.signature);
    if (signature === null || !deps.crypto.verifyPs256(seal.payload, signature, key)) {
      return invalid('SEAL_SIGNATURE_INVALID', `The signature does not verify with key ${seal.kid}.`);
    }
    const pdfSha256 = deps.crypto.sha256Hex(input.pdf);
    if (pdfSha256 !== payload.pdfSha256) {
      return invalid(
        'SEAL_PDF_MISMATCH',
        `The PDF's SHA-256 is ${pdfSha256}, the seal says ${payload.pdfSha256}: this is not the sealed document, or it was altered.`,
      );
    }
    return ok(payload);
  };
