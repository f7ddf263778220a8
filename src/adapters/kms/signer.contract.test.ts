import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  describeSignerContract,
  keyObjectOf,
  verifiesAsPs256,
} from '../../../test/contracts/signer.contract.ts';
import { startKmsServer, type KmsServer, type KmsStubKey } from '../../../test/support/kms-server.ts';
import { createKmsSigner, type KmsSignerOptions } from './signer.ts';

// Fake credentials: the requests are signed with them (SigV4) and go to the loopback stub only.
const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

const optionsFor = (server: KmsServer, keyIds: readonly string[]): KmsSignerOptions => ({
  keyIds,
  region: server.region,
  endpoint: server.endpoint,
  credentials,
});

describeSignerContract(
  'AWS KMS (loopback KMS JSON protocol)',
  async () => {
    const server = await startKmsServer();
    const key = await server.createKey();
    const signer = createKmsSigner(optionsFor(server, [key.arn]));
    return {
      signer,
      close: async () => {
        signer.close();
        await server.close();
      },
    };
  },
  ['rotation'],
);

describe('AWS KMS signer', () => {
  let server: KmsServer;
  let key: KmsStubKey;
  let olderKey: KmsStubKey;
  beforeAll(async () => {
    server = await startKmsServer();
    [key, olderKey] = await Promise.all([server.createKey(), server.createKey()]);
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.setFault(undefined);
  });

  const message = new TextEncoder().encode('{"reportId":"r-1","verdict":"GREEN"}');
  const digest = sha256(message);

  /** Runs `work` with a signer that is closed afterwards; returns the requests it made. */
  const withSigner = async (
    keyIds: readonly string[],
    work: (signer: ReturnType<typeof createKmsSigner>) => Promise<void>,
    extra: Partial<KmsSignerOptions> = {},
  ): Promise<(typeof server.requests)[number][]> => {
    const before = server.requests.length;
    const signer = createKmsSigner({ ...optionsFor(server, keyIds), ...extra });
    try {
      await work(signer);
    } finally {
      signer.close();
    }
    return server.requests.slice(before);
  };

  it('sends Sign with the digest, MessageType DIGEST and RSASSA_PSS_SHA_256, signed with SigV4', async () => {
    const requests = await withSigner([key.keyId], async (signer) => {
      const signature = await signer.sign(digest);
      expect(signature.keyId).toBe(key.keyId);
    });
    expect(requests).toHaveLength(1);
    const [sign] = requests;
    expect(sign?.target).toBe('TrentService.Sign');
    expect(sign?.body).toEqual({
      KeyId: key.keyId,
      Message: digest.toString('base64'),
      MessageType: 'DIGEST',
      SigningAlgorithm: 'RSASSA_PSS_SHA_256',
    });
    expect(sign?.headers['content-type']).toBe('application/x-amz-json-1.1');
    // The stub does not check signatures; this asserts the SDK signed the request with the given credentials.
    expect(sign?.headers.authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\\d{8}/${server.region}/kms/aws4_request, SignedHeaders=[^,]*x-amz-target[^,]*, Signature=[0-9a-f]{64}$`,
      ),
    );
    expect(sign?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it('publishes each configured key under the id given, the current first, fetching each public key once', async () => {
    const requests = await withSigner([key.arn, olderKey.keyId], async (signer) => {
      const first = await signer.publicKeys();
      const second = await signer.publicKeys();
      expect(second).toEqual(first);
      expect(first.map((k) => k.kid)).toEqual([key.arn, olderKey.keyId]);
      expect(await signer.currentKeyId()).toBe(key.arn);
    });
    expect(requests.map((r) => [r.target, r.body['KeyId']])).toEqual([
      ['TrentService.GetPublicKey', key.arn],
      ['TrentService.GetPublicKey', olderKey.keyId],
    ]);
  });

  it('rotates by configuration: the new first key signs, the old one stays published and its signatures verify', async () => {
    let oldSignature: Uint8Array = new Uint8Array();
    await withSigner([olderKey.keyId], async (signer) => {
      oldSignature = (await signer.sign(digest)).value;
    });
    await withSigner([key.keyId, olderKey.keyId], async (signer) => {
      const signature = await signer.sign(digest);
      expect(signature.keyId).toBe(key.keyId);
      const [current, old] = await signer.publicKeys();
      if (current === undefined || old === undefined) throw new Error('two keys expected');
      expect(verifiesAsPs256(message, signature.value, keyObjectOf(current))).toBe(true);
      expect(verifiesAsPs256(message, oldSignature, keyObjectOf(old))).toBe(true);
      expect(verifiesAsPs256(message, oldSignature, keyObjectOf(current))).toBe(false);
      await expect(signer.rotate()).rejects.toMatchObject({
        code: 'SIGNER_ROTATION_UNSUPPORTED',
        message: expect.stringContaining('configure it first in keyIds') as unknown,
      });
    });
  });

  it('maps an unknown key to SIGNER_UNAVAILABLE with the KMS error as cause and no payload in the message', async () => {
    const unknown = '1234abcd-12ab-34cd-56ef-1234567890ab';
    const requests = await withSigner([unknown], async (signer) => {
      const error = await signer.sign(digest).catch((e: unknown) => e);
      expect(error).toMatchObject({
        name: 'InfrastructureError',
        code: 'SIGNER_UNAVAILABLE',
        message: `KMS Sign failed for key ${unknown} (NotFoundException)`,
        cause: { name: 'NotFoundException' },
      });
      if (!(error instanceof Error)) throw new Error('an error expected');
      expect(error.message).not.toContain(digest.toString('base64'));
      expect(error.message).not.toContain(digest.toString('hex'));

      await expect(signer.publicKeys()).rejects.toMatchObject({
        code: 'SIGNER_UNAVAILABLE',
        message: `KMS GetPublicKey failed for key ${unknown} (NotFoundException)`,
      });
    });
    // A client error is not retried.
    expect(requests.map((r) => r.target)).toEqual(['TrentService.Sign', 'TrentService.GetPublicKey']);
  });

  it('maps a KMS outage to SIGNER_UNAVAILABLE, and asks again once KMS is back (a failure is not cached)', async () => {
    server.setFault({ status: 500, body: { __type: 'KMSInternalException', message: 'internal failure' } });
    await withSigner([key.keyId], async (signer) => {
      await expect(signer.sign(digest)).rejects.toMatchObject({
        code: 'SIGNER_UNAVAILABLE',
        cause: { name: 'KMSInternalException' },
      });
      await expect(signer.publicKeys()).rejects.toMatchObject({ code: 'SIGNER_UNAVAILABLE' });
      server.setFault(undefined);
      const [published] = await signer.publicKeys();
      if (published === undefined) throw new Error('a key expected');
      expect(verifiesAsPs256(message, (await signer.sign(digest)).value, keyObjectOf(published))).toBe(true);
    });
  });

  it('gives up on a KMS that does not answer within the budget, with SIGNER_UNAVAILABLE', async () => {
    server.setFault({ delayMs: 5_000, body: {} });
    await withSigner(
      [key.keyId],
      async (signer) => {
        await expect(signer.sign(digest)).rejects.toMatchObject({ code: 'SIGNER_UNAVAILABLE' });
      },
      { timeoutMs: 200 },
    );
  });

  it('refuses a key that cannot seal reports (RSA 2048) when publishing it', async () => {
    const small = await server.createKey({ modulusBits: 2048 });
    await withSigner([small.keyId], async (signer) => {
      await expect(signer.publicKeys()).rejects.toMatchObject({
        code: 'SIGNER_UNAVAILABLE',
        message: `KMS key ${small.keyId} cannot seal reports: it is not an RSA key of at least 3072 bits`,
      });
    });
  });

  it('refuses a configuration without keys, with a duplicate, or with an alias (which can move)', () => {
    const base = optionsFor(server, []);
    expect(() => createKmsSigner(base)).toThrow(TypeError);
    expect(() => createKmsSigner({ ...base, keyIds: [key.keyId, key.keyId] })).toThrow(TypeError);
    expect(() => createKmsSigner({ ...base, keyIds: ['alias/vigilance-seal'] })).toThrow(/alias/);
    expect(() =>
      createKmsSigner({ ...base, keyIds: [key.keyId, 'arn:aws:kms:eu-west-3:111122223333:alias/seal'] }),
    ).toThrow(/alias/);
  });
});
