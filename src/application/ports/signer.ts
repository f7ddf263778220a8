/** The one signature scheme of sealed reports: RSASSA-PSS, SHA-256, MGF1-SHA256, salt 32 (AWS KMS RSASSA_PSS_SHA_256). */
export const SEAL_ALGORITHM = 'PS256';

export interface SealSignature {
  /** The id of the key that signed (published in the JWKS as `kid`). */
  readonly keyId: string;
  readonly algorithm: typeof SEAL_ALGORITHM;
  /** The raw RSASSA-PSS signature bytes. */
  readonly value: Uint8Array;
}

/** A public key as published in the JWKS: an RSA JWK with `kid`, `alg: PS256`, `use: sig`. */
export interface PublishedKey {
  readonly kid: string;
  readonly kty: 'RSA';
  readonly n: string;
  readonly e: string;
  readonly alg: typeof SEAL_ALGORITHM;
  readonly use: 'sig';
}

/**
 * Signs seal payloads with a key that never leaves its keeper (a local key file, a PKCS#11 token, AWS KMS).
 *
 * `sign(digest)` takes the SHA-256 digest (32 bytes) of the message and returns a signature that verifies as
 * PS256 over the message itself (so anyone verifies with a standard PS256 verifier and the published key).
 * `publicKeys()` lists every key that ever signed, the current one first, so every report ever sealed stays
 * verifiable after a rotation; `rotate()` makes a new key the signing key.
 * Faults (token unavailable, KMS refusal) are thrown as InfrastructureError SIGNER_UNAVAILABLE.
 */
export interface Signer {
  currentKeyId(): Promise<string>;
  sign(digest: Uint8Array): Promise<SealSignature>;
  publicKeys(): Promise<readonly PublishedKey[]>;
  rotate(): Promise<string>;
}
