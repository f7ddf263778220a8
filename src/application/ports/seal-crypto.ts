import type { JsonValue } from './json.ts';
import type { PublishedKey } from './signer.ts';

/**
 * The digest, canonical form and signature check seals rest on: SHA-256, RFC 8785 JSON canonicalization, and
 * PS256 verification (RSASSA-PSS, SHA-256, MGF1-SHA256, salt length exactly 32) against a published key.
 */
export interface SealCrypto {
  sha256Hex(data: Uint8Array | string): string;
  /** The raw SHA-256 digest (32 bytes): what a Signer signs. */
  sha256(data: Uint8Array | string): Uint8Array;
  /** Whether two hex digests are equal, in time that does not depend on where they differ. */
  sameDigest(a: string, b: string): boolean;
  /** The RFC 8785 canonical JSON text of a value. */
  canonicalize(value: JsonValue): string;
  /** True only when `signature` is a PS256 signature of `message` by `key`. */
  verifyPs256(message: string, signature: Uint8Array, key: PublishedKey): boolean;
  /** Decodes unpadded base64url; null when the text is not base64url. */
  fromBase64url(text: string): Uint8Array | null;
  toBase64url(bytes: Uint8Array): string;
}
