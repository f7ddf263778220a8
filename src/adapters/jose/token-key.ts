import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type CryptoKey, type JWK } from 'jose';
import { writeFileAtomically } from '#app/adapters/shared/atomic-file.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';

/** The key that signs our access tokens: ES256 (ECDSA on P-256 with SHA-256). */
export interface TokenKey {
  readonly privateKey: CryptoKey | KeyObject;
  /** The public half as published: kty, crv, x, y, kid, alg ES256, use sig. Never a private member. */
  readonly publicJwk: Readonly<JWK>;
  /** The RFC 7638 SHA-256 thumbprint of the public key: the `kid` of every token it signs. */
  readonly kid: string;
}

const ALGORITHM = 'ES256';
const CURVE = 'P-256';
const COORDINATE_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const generateEcKeyPair = promisify(generateKeyPair);

const invalid = (message: string, cause?: unknown): InfrastructureError =>
  new InfrastructureError('TOKEN_KEY_INVALID', message, cause === undefined ? {} : { cause });

const errnoCode = (error: unknown): string | undefined =>
  error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;

const isCoordinate = (value: unknown): value is string =>
  typeof value === 'string' &&
  BASE64URL.test(value) &&
  Buffer.from(value, 'base64url').length === COORDINATE_BYTES;

/**
 * The token-signing key from a private JWK (kty EC, crv P-256, x, y, d), as kept in the key file or given by
 * configuration. A `kid`, `alg` or `use` member, when present, must be the thumbprint, ES256 and sig. The private
 * scalar must belong to the public point: a key that signs what its published half cannot verify is refused.
 * Anything else is an InfrastructureError TOKEN_KEY_INVALID naming `source`, never the key material.
 */
export const tokenKeyFromJwk = async (
  jwk: unknown,
  source = 'the configured token key',
): Promise<TokenKey> => {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw invalid(`${source} is not a JWK object`);
  }
  const { kty, crv, x, y, d, kid, alg, use } = jwk as Record<string, unknown>;
  if (kty !== 'EC' || crv !== CURVE) throw invalid(`${source} is not an EC ${CURVE} key`);
  if (!isCoordinate(x) || !isCoordinate(y)) throw invalid(`${source} has malformed x or y coordinates`);
  if (!isCoordinate(d))
    throw invalid(`${source} is not a private key: its "d" member is missing or malformed`);
  if (alg !== undefined && alg !== ALGORITHM) throw invalid(`${source} is not an ${ALGORITHM} key`);
  if (use !== undefined && use !== 'sig')
    throw invalid(`${source} is not a signing key ("use" is not "sig")`);

  let privateKey: KeyObject;
  let publicKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: { kty, crv, x, y, d }, format: 'jwk' });
    publicKey = createPublicKey({ key: { kty, crv, x, y }, format: 'jwk' });
  } catch (error) {
    throw invalid(`${source} is not a valid ${CURVE} key`, error);
  }
  // Proves the pair: the private scalar and the public point come from the same key.
  const probe = randomBytes(32);
  if (!verify('sha256', probe, publicKey, sign('sha256', probe, privateKey))) {
    throw invalid(`${source} does not hold a matching key pair: its "d" does not belong to its x and y`);
  }

  const thumbprint = await calculateJwkThumbprint({ kty, crv, x, y }, 'sha256');
  if (kid !== undefined && kid !== thumbprint) {
    throw invalid(`${source} has a "kid" that is not the RFC 7638 thumbprint of its public key`);
  }
  return Object.freeze({
    privateKey,
    publicJwk: Object.freeze({ kty, crv, x, y, kid: thumbprint, alg: ALGORITHM, use: 'sig' }),
    kid: thumbprint,
  });
};

const readKeyFile = async (path: string): Promise<TokenKey | undefined> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new InfrastructureError(
      'TOKEN_KEY_UNAVAILABLE',
      `cannot read the token key ${path} (${errnoCode(error) ?? 'error'})`,
      { cause: error },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(`the token key ${path} is not JSON`, error);
  }
  return tokenKeyFromJwk(value, `the token key ${path}`);
};

const newKeyFile = async (): Promise<string> => {
  const { privateKey } = await generateEcKeyPair('ec', { namedCurve: CURVE });
  const { kty, crv, x, y, d } = privateKey.export({ format: 'jwk' });
  if (kty !== 'EC' || crv !== CURVE || x === undefined || y === undefined || d === undefined) {
    throw new TypeError(`an EC ${CURVE} private key was expected`);
  }
  const kid = await calculateJwkThumbprint({ kty, crv, x, y }, 'sha256');
  return `${JSON.stringify({ kty, crv, x, y, d, kid, alg: ALGORITHM, use: 'sig' }, null, 2)}\n`;
};

/**
 * The token-signing key kept at `path` as a private JWK (ES256, P-256), generated on first use: the directory is
 * created (mode 0700) when missing and the file written atomically with mode 0600. Processes starting at once on
 * an empty directory end with the same single key. A file that is not such a key is an InfrastructureError
 * TOKEN_KEY_INVALID; one that cannot be read or written, TOKEN_KEY_UNAVAILABLE. Messages name the file, never
 * its contents.
 */
export const loadOrCreateTokenKey = async (path: string): Promise<TokenKey> => {
  const existing = await readKeyFile(path);
  if (existing !== undefined) return existing;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFileAtomically(path, await newKeyFile(), 0o600, { replace: false });
  } catch (error) {
    // EEXIST: another process created the key first, and its key is the one.
    if (errnoCode(error) !== 'EEXIST') {
      throw new InfrastructureError(
        'TOKEN_KEY_UNAVAILABLE',
        `cannot create the token key ${path} (${errnoCode(error) ?? 'error'})`,
        { cause: error },
      );
    }
  }
  const created = await readKeyFile(path);
  if (created === undefined) {
    throw new InfrastructureError(
      'TOKEN_KEY_UNAVAILABLE',
      `the token key ${path} vanished while being created`,
    );
  }
  return created;
};
