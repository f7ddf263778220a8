import { createPublicKey, generateKeyPair, randomUUID, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { signPssDigest } from '#app/adapters/local-crypto/signer.ts';
import { startStubServer, type RecordedRequest, type StubReply } from './loopback-server.ts';

const generateRsaKeyPair = promisify(generateKeyPair);

/** One request as KMS received it. */
export interface KmsRequest {
  /** The `X-Amz-Target` header, e.g. `TrentService.Sign`. */
  readonly target: string;
  readonly headers: RecordedRequest['headers'];
  readonly body: Readonly<Record<string, unknown>>;
}

/** A key the stub holds: its id and ARN are both accepted as `KeyId`. */
export interface KmsStubKey {
  readonly keyId: string;
  readonly arn: string;
}

export interface KmsServer {
  /** The endpoint to give the KMS client. */
  readonly endpoint: string;
  readonly region: string;
  /** Every request received, in order, including refused ones. */
  readonly requests: readonly KmsRequest[];
  /** A new RSA key pair, kept in this process; only its public half ever leaves, through GetPublicKey. */
  createKey(options?: { readonly modulusBits?: 2048 | 3072 | 4096 }): Promise<KmsStubKey>;
  /** While set, every request gets this reply instead of an answer (a KMS outage, a hang); unset with undefined. */
  setFault(reply: StubReply | undefined): void;
  close(): Promise<void>;
}

interface HeldKey extends KmsStubKey {
  readonly privateKey: KeyObject;
  readonly publicKeyDer: Buffer;
  readonly keySpec: string;
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
const SIGNING_ALGORITHM = 'RSASSA_PSS_SHA_256';
// What KMS lists for an RSA signing key; the stub signs with the PSS SHA-256 one only.
const RSA_SIGNING_ALGORITHMS = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
];

const kmsError = (type: string, message: string): StubReply => ({
  status: 400,
  headers: { 'content-type': JSON_CONTENT_TYPE, 'x-amzn-requestid': randomUUID() },
  body: { __type: type, message },
});

const answer = (body: Readonly<Record<string, unknown>>): StubReply => ({
  status: 200,
  headers: { 'content-type': JSON_CONTENT_TYPE, 'x-amzn-requestid': randomUUID() },
  body,
});

const parseBody = (text: string): Readonly<Record<string, unknown>> | undefined => {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
};

/**
 * A loopback server speaking the AWS KMS JSON 1.1 protocol (POST /, `X-Amz-Target`, JSON bodies with base64
 * blobs) for `TrentService.Sign` and `TrentService.GetPublicKey`, backed by RSA keys held in this process and
 * never exported. Sign accepts only `MessageType: DIGEST` with a 32-byte digest and `RSASSA_PSS_SHA_256`, so an
 * adapter that sends the message or asks for another algorithm is refused, as KMS answers errors: HTTP 400 and
 * `{"__type": "...", "message": "..."}` (NotFoundException for an unknown key id).
 *
 * It does NOT check AWS Signature V4: it only refuses a request without an Authorization header, as KMS does;
 * tests assert the header's shape from `requests`. The RSA private operation reuses the local signer's
 * EMSA-PSS code; tests verify every signature with node:crypto and the openssl CLI, not with that code.
 */
export const startKmsServer = async (
  options: { readonly region?: string; readonly accountId?: string } = {},
): Promise<KmsServer> => {
  const region = options.region ?? 'eu-west-3';
  const accountId = options.accountId ?? '111122223333';
  const keys = new Map<string, HeldKey>();
  const requests: KmsRequest[] = [];
  let fault: StubReply | undefined;

  const findKey = (keyId: unknown): HeldKey | undefined => {
    if (typeof keyId !== 'string') return undefined;
    for (const key of keys.values()) if (key.keyId === keyId || key.arn === keyId) return key;
    return undefined;
  };

  const sign = (body: Readonly<Record<string, unknown>>): StubReply => {
    const key = findKey(body['KeyId']);
    if (key === undefined)
      return kmsError('NotFoundException', `Key '${String(body['KeyId'])}' does not exist`);
    if (body['SigningAlgorithm'] !== SIGNING_ALGORITHM) {
      return kmsError('InvalidKeyUsageException', `this stub signs with ${SIGNING_ALGORITHM} only`);
    }
    if (body['MessageType'] !== 'DIGEST') {
      return kmsError('ValidationException', 'this stub signs digests only (MessageType DIGEST)');
    }
    const message = typeof body['Message'] === 'string' ? Buffer.from(body['Message'], 'base64') : undefined;
    if (message?.length !== 32) {
      return kmsError('ValidationException', 'Digest is invalid length for algorithm RSASSA_PSS_SHA_256.');
    }
    return answer({
      KeyId: key.arn,
      Signature: signPssDigest(key.privateKey, message).toString('base64'),
      SigningAlgorithm: SIGNING_ALGORITHM,
    });
  };

  const getPublicKey = (body: Readonly<Record<string, unknown>>): StubReply => {
    const key = findKey(body['KeyId']);
    if (key === undefined)
      return kmsError('NotFoundException', `Key '${String(body['KeyId'])}' does not exist`);
    return answer({
      KeyId: key.arn,
      PublicKey: key.publicKeyDer.toString('base64'),
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: RSA_SIGNING_ALGORITHMS,
    });
  };

  const stub = await startStubServer((request) => {
    const target = typeof request.headers['x-amz-target'] === 'string' ? request.headers['x-amz-target'] : '';
    const body = parseBody(request.body);
    requests.push({ target, headers: request.headers, body: body ?? {} });
    if (fault !== undefined) return fault;
    if (request.method !== 'POST' || request.url.pathname !== '/') {
      return kmsError('UnknownOperationException', 'KMS answers POST / only');
    }
    if (request.headers.authorization === undefined) {
      return kmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    if (request.headers['content-type'] !== JSON_CONTENT_TYPE || body === undefined) {
      return kmsError('SerializationException', `expected a JSON body of type ${JSON_CONTENT_TYPE}`);
    }
    switch (target) {
      case 'TrentService.Sign':
        return sign(body);
      case 'TrentService.GetPublicKey':
        return getPublicKey(body);
      default:
        return kmsError('UnknownOperationException', `this stub does not implement ${target}`);
    }
  });

  return {
    endpoint: stub.baseUrl,
    region,
    requests,
    createKey: async ({ modulusBits = 3072 } = {}) => {
      const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: modulusBits });
      const keyId = randomUUID();
      const held: HeldKey = {
        keyId,
        arn: `arn:aws:kms:${region}:${accountId}:key/${keyId}`,
        privateKey,
        publicKeyDer: createPublicKey(privateKey).export({ type: 'spki', format: 'der' }),
        keySpec: `RSA_${String(modulusBits)}`,
      };
      keys.set(keyId, held);
      return { keyId: held.keyId, arn: held.arn };
    },
    setFault: (reply) => {
      fault = reply;
    },
    close: () => stub.close(),
  };
};
