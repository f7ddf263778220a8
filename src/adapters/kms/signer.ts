import { createPublicKey, type KeyObject } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import {
  SEAL_ALGORITHM,
  type PublishedKey,
  type SealSignature,
  type Signer,
} from '#app/application/ports/signer.ts';

/** Which KMS keys sign, and how to reach KMS. */
export interface KmsSignerOptions {
  /**
   * Key ids or key ARNs, the current signing key first; the others signed earlier reports and stay published.
   * Aliases are refused: an alias can be moved to another key, and the kid of every report sealed under it
   * would then name the wrong key.
   */
  readonly keyIds: readonly string[];
  readonly region: string;
  /** KMS endpoint override (a VPC endpoint, or the loopback stub in tests). */
  readonly endpoint?: string;
  /** Static credentials; the SDK's default provider chain otherwise. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Budget of one KMS operation, retries included. 5 s by default. */
  readonly timeoutMs?: number;
}

/** A KMS signer holds HTTP connections: `close()` releases them. */
export interface KmsSigner extends Signer {
  close(): void;
}

const KMS_ALGORITHM = 'RSASSA_PSS_SHA_256';
const DIGEST_BYTES = 32;
const MIN_MODULUS_BITS = 3072;
const DEFAULT_TIMEOUT_MS = 5_000;
const ROTATION_UNSUPPORTED =
  'KMS keys are not rotated by the signer: create a new KMS key and configure it first in keyIds, keeping the ' +
  'old ones after it so the reports they sealed stay verifiable';

const isAlias = (keyId: string): boolean =>
  keyId.startsWith('alias/') || /^arn:[^:]+:kms:[^:]*:[^:]*:alias\//.test(keyId);

/** The SDK error's name (NotFoundException, TimeoutError, ...): says what failed without any payload. */
const errorName = (error: unknown): string => (error instanceof Error ? error.name : 'error');

/**
 * A Signer over AWS KMS asymmetric keys (RSA_3072 or RSA_4096, SIGN_VERIFY): KMS signs the SHA-256 digest with
 * RSASSA_PSS_SHA_256 (`MessageType: DIGEST`), which is PS256 over the message (salt 32, MGF1-SHA256). The private
 * key never leaves KMS. The published kid of each key is its id or ARN exactly as configured.
 *
 * Public keys come from `GetPublicKey` and are cached for the process. `rotate()` is refused with
 * InfrastructureError SIGNER_ROTATION_UNSUPPORTED: rotation is done by configuration. Every KMS failure (unknown
 * key, access denied, disabled key, throttling, timeout) is thrown as InfrastructureError SIGNER_UNAVAILABLE with
 * the SDK error as cause.
 */
export const createKmsSigner = (options: KmsSignerOptions): KmsSigner => {
  const { keyIds } = options;
  const current = keyIds[0];
  if (current === undefined) throw new TypeError('createKmsSigner needs at least one KMS key id');
  if (new Set(keyIds).size !== keyIds.length)
    throw new TypeError('createKmsSigner: a KMS key id is listed twice');
  const alias = keyIds.find(isAlias);
  if (alias !== undefined) {
    throw new TypeError(
      `createKmsSigner needs key ids or key ARNs, not the alias ${alias}: an alias can move`,
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const client = new KMSClient({
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined
      ? {}
      : {
          credentials: {
            accessKeyId: options.credentials.accessKeyId,
            secretAccessKey: options.credentials.secretAccessKey,
          },
        }),
  });

  const call = async <T>(
    what: string,
    keyId: string,
    operation: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> => {
    try {
      // One budget for the whole operation, the SDK's retries included: a hung KMS must not hang a seal.
      return await operation(AbortSignal.timeout(timeoutMs));
    } catch (error) {
      throw new InfrastructureError(
        'SIGNER_UNAVAILABLE',
        `KMS ${what} failed for key ${keyId} (${errorName(error)})`,
        {
          cause: error,
        },
      );
    }
  };

  const fetchPublicKey = async (keyId: string): Promise<PublishedKey> => {
    const reply = await call('GetPublicKey', keyId, (abortSignal) =>
      client.send(new GetPublicKeyCommand({ KeyId: keyId }), { abortSignal }),
    );
    const refuse = (why: string): InfrastructureError =>
      new InfrastructureError('SIGNER_UNAVAILABLE', `KMS key ${keyId} cannot seal reports: ${why}`);
    if (reply.KeyUsage !== 'SIGN_VERIFY') throw refuse('it is not a SIGN_VERIFY key');
    if (!(reply.SigningAlgorithms ?? []).includes(KMS_ALGORITHM))
      throw refuse(`it does not offer ${KMS_ALGORITHM}`);
    if (reply.PublicKey === undefined) throw refuse('KMS returned no public key');
    let key: KeyObject;
    try {
      key = createPublicKey({ key: Buffer.from(reply.PublicKey), format: 'der', type: 'spki' });
    } catch (error) {
      throw new InfrastructureError(
        'SIGNER_UNAVAILABLE',
        `KMS returned an unreadable public key for ${keyId}`,
        {
          cause: error,
        },
      );
    }
    if (
      key.asymmetricKeyType !== 'rsa' ||
      (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_MODULUS_BITS
    ) {
      throw refuse(`it is not an RSA key of at least ${String(MIN_MODULUS_BITS)} bits`);
    }
    const jwk = key.export({ format: 'jwk' });
    if (jwk.n === undefined || jwk.e === undefined) throw refuse('KMS returned no RSA modulus');
    return { kid: keyId, kty: 'RSA', n: jwk.n, e: jwk.e, alg: SEAL_ALGORITHM, use: 'sig' };
  };

  const cache = new Map<string, Promise<PublishedKey>>();
  const publicKey = (keyId: string): Promise<PublishedKey> => {
    let cached = cache.get(keyId);
    if (cached === undefined) {
      cached = fetchPublicKey(keyId);
      // A failed fetch is not cached: the next call asks KMS again.
      void cached.catch(() => cache.delete(keyId));
      cache.set(keyId, cached);
    }
    return cached;
  };

  return {
    currentKeyId: () => Promise.resolve(current),

    sign: async (digest: Uint8Array): Promise<SealSignature> => {
      if (!(digest instanceof Uint8Array) || digest.length !== DIGEST_BYTES) {
        throw new TypeError(`sign() takes a SHA-256 digest of ${String(DIGEST_BYTES)} bytes`);
      }
      const reply = await call('Sign', current, (abortSignal) =>
        client.send(
          new SignCommand({
            KeyId: current,
            Message: digest,
            MessageType: 'DIGEST',
            SigningAlgorithm: KMS_ALGORITHM,
          }),
          { abortSignal },
        ),
      );
      if (reply.Signature === undefined || reply.Signature.length === 0) {
        throw new InfrastructureError(
          'SIGNER_UNAVAILABLE',
          `KMS Sign returned no signature for key ${current}`,
        );
      }
      return { keyId: current, algorithm: SEAL_ALGORITHM, value: new Uint8Array(reply.Signature) };
    },

    publicKeys: () => Promise.all(keyIds.map(publicKey)),

    rotate: () =>
      Promise.reject(new InfrastructureError('SIGNER_ROTATION_UNSUPPORTED', ROTATION_UNSUPPORTED)),

    close: () => {
      client.destroy();
    },
  };
};
