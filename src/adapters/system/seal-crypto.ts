import { createHash, createPublicKey, constants, timingSafeEqual, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { SealCrypto } from '#app/application/ports/seal-crypto.ts';

/** SHA-256, RFC 8785 (the maintained `canonicalize` package) and PS256 verification with node:crypto. */
export const createSealCrypto = (): SealCrypto => ({
  sha256Hex: (data) => createHash('sha256').update(data).digest('hex'),
  sha256: (data) => new Uint8Array(createHash('sha256').update(data).digest()),
  sameDigest: (a, b) => {
    const left = Buffer.from(a, 'utf8');
    const right = Buffer.from(b, 'utf8');
    // Lengths are public (every digest has the same one); only the content is compared in constant time.
    return left.length === right.length && timingSafeEqual(left, right);
  },
  canonicalize: (value) => {
    const text = canonicalize(value);
    if (text === undefined) throw new TypeError('A seal value must be JSON.');
    return text;
  },
  verifyPs256: (message, signature, key) => {
    try {
      const publicKey = createPublicKey({ key: { kty: key.kty, n: key.n, e: key.e }, format: 'jwk' });
      return verify(
        'sha256',
        Buffer.from(message, 'utf8'),
        { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        signature,
      );
    } catch {
      // A key that is not a usable RSA public key verifies nothing.
      return false;
    }
  },
  fromBase64url: (text) =>
    /^[A-Za-z0-9_-]*$/.test(text) ? new Uint8Array(Buffer.from(text, 'base64url')) : null,
  toBase64url: (bytes) => Buffer.from(bytes).toString('base64url'),
});
