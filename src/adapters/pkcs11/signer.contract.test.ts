import { createHash, createPublicKey, constants, verify, type KeyObject } from 'node:crypto';
import type * as graphene from 'graphene-pk11';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { PublishedKey, SealSignature } from '#app/application/ports/signer.ts';
import { createSoftHsmToken, describeOnSoftHsm, type SoftHsmToken } from '../../../test/support/softhsm.ts';
import { describeSignerContract } from '../../../test/contracts/signer.contract.ts';
import { createPkcs11Signer, type Pkcs11Signer } from './signer.ts';

const sha256 = (message: Uint8Array): Uint8Array =>
  new Uint8Array(createHash('sha256').update(message).digest());

const publicKeyOf = (jwk: PublishedKey): KeyObject =>
  createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' });

/** Strict PS256 verification over the message, as any third party would do it with the published key. */
const verifiesPs256 = (message: Uint8Array, signature: SealSignature, key: PublishedKey): boolean =>
  verify(
    'sha256',
    message,
    { key: publicKeyOf(key), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
    signature.value,
  );

/** RFC 7638 thumbprint computed here, from what node:crypto makes of the key, not from the adapter's JWK. */
const thumbprintOf = (key: KeyObject): string => {
  const { n, e } = key.export({ format: 'jwk' });
  return createHash('sha256')
    .update(JSON.stringify({ e, kty: 'RSA', n }), 'utf8')
    .digest('base64url');
};

const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
};

/** Every string an error exposes: its message, stack and those of its causes. */
const everythingSaidBy = (error: unknown): string => {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    parts.push(e.message, e.stack ?? '', JSON.stringify(e));
  }
  return parts.join('\n');
};

describeOnSoftHsm('PKCS#11 signer on SoftHSM2', () => {
  let token: SoftHsmToken;
  /** A second token nobody logs into correctly, so a wrong PIN meets a token this process is not logged into. */
  let otherToken: SoftHsmToken;
  const open: Pkcs11Signer[] = [];
  let prefixes = 0;

  beforeAll(async () => {
    // Both tokens exist before the first signer initializes the library: SoftHSM2 only scans at C_Initialize.
    token = await createSoftHsmToken();
    otherToken = await createSoftHsmToken();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((signer) => signer.close()));
  });

  afterAll(async () => {
    await token.cleanup();
    await otherToken.cleanup();
  });

  /** A signer on the shared token; a fresh prefix gives it a key ring of its own. */
  const openSigner = async (keyLabelPrefix = `test-${String((prefixes += 1))}`): Promise<Pkcs11Signer> => {
    const signer = await createPkcs11Signer({
      library: token.library,
      tokenLabel: token.tokenLabel,
      pin: token.pin,
      keyLabelPrefix,
    });
    open.push(signer);
    return signer;
  };

  /**
   * Runs `work` in a session of the test's own on the token, to look at the keys around the adapter. Call it while
   * a signer of the token is open: the library is then initialized and the user logged in for the process, and
   * closing this session leaves both as they were.
   */
  const onToken = async <T>(work: (session: graphene.Session, g: typeof graphene) => T): Promise<T> => {
    const g = await import('graphene-pk11');
    const module = g.Module.load(token.library);
    module.initialize();
    const slot = [...module.getSlots(true)].find((s) => s.getToken().label === token.tokenLabel);
    if (slot === undefined) throw new Error('the test token is not visible');
    const session = slot.open(g.SessionFlag.RW_SESSION | g.SessionFlag.SERIAL_SESSION);
    try {
      try {
        session.login(token.pin);
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('CKR_USER_ALREADY_LOGGED_IN'))) throw error;
      }
      return work(session, g);
    } finally {
      session.close();
      module.close();
    }
  };

  const keysLabelled = (session: graphene.Session, g: typeof graphene, label: string) => {
    const privateKeys = [...session.find({ class: g.ObjectClass.PRIVATE_KEY, label })];
    const publicKeys = [...session.find({ class: g.ObjectClass.PUBLIC_KEY, label })];
    return { privateKeys, publicKeys };
  };

  describeSignerContract('PKCS#11 on SoftHSM2', async () => {
    // Not in `open`: the contract keeps one signer for its whole suite, past this file's afterEach.
    const signer = await createPkcs11Signer({
      library: token.library,
      tokenLabel: token.tokenLabel,
      pin: token.pin,
      keyLabelPrefix: 'contract',
    });
    return { signer, close: () => signer.close() };
  });

  describe('keys on the token', () => {
    it('generates an RSA-3072 key pair on the token, private half sensitive and never extractable', async () => {
      await openSigner('attributes');
      const seen = await onToken((session, g) => {
        const { privateKeys, publicKeys } = keysLabelled(session, g, 'attributes-1');
        const [privateKey] = privateKeys;
        const [publicKey] = publicKeys;
        if (privateKey === undefined || publicKey === undefined)
          throw new Error('attributes-1 is not on the token');
        return {
          counts: [privateKeys.length, publicKeys.length],
          private: privateKey.getAttribute({
            token: null,
            private: null,
            sensitive: null,
            extractable: null,
            alwaysSensitive: null,
            neverExtractable: null,
            local: null,
            sign: null,
            decrypt: null,
            unwrap: null,
            id: null,
          }),
          public: publicKey.getAttribute({ token: null, modulusBits: null, publicExponent: null, id: null }),
        };
      });
      expect(seen.counts).toEqual([1, 1]);
      expect(seen.private).toMatchObject({
        token: true,
        private: true,
        sensitive: true,
        extractable: false,
        alwaysSensitive: true,
        neverExtractable: true,
        local: true,
        sign: true,
        decrypt: false,
        unwrap: false,
      });
      expect(seen.public).toMatchObject({
        token: true,
        modulusBits: 3072,
        publicExponent: Buffer.from([1, 0, 1]),
      });
      expect(seen.private.id?.length).toBe(16);
      expect(seen.public.id).toEqual(seen.private.id);
    });

    it('refuses to give out the private key: no private exponent, no wrap, no way back to extractable', async () => {
      await openSigner('export');
      const outcome = await onToken((session, g) => {
        const [privateKey] = keysLabelled(session, g, 'export-1').privateKeys;
        if (privateKey === undefined) throw new Error('export-1 is not on the token');
        const key = privateKey.toType<graphene.PrivateKey>();
        const wrappingKey = session.generateKey(g.KeyGenMechanism.AES, {
          token: false,
          keyType: g.KeyType.AES,
          valueLen: 32,
          wrap: true,
          extractable: false,
        });
        // The control: the same calls on an extractable key of the same kind succeed, so the refusals are the key's.
        const control = session.generateKeyPair(
          g.KeyGenMechanism.RSA,
          { token: false, keyType: g.KeyType.RSA, modulusBits: 2048, publicExponent: Buffer.from([1, 0, 1]) },
          { token: false, keyType: g.KeyType.RSA, sign: true, sensitive: false, extractable: true },
        );
        const attempt = (work: () => unknown): string => {
          try {
            work();
            return 'succeeded';
          } catch (error) {
            return error instanceof Error ? error.message : String(error);
          }
        };
        return {
          exponent: attempt(() => key.getAttribute({ privateExponent: null })),
          prime: attempt(() => key.getAttribute({ prime1: null })),
          wrap: attempt(() => session.wrapKey('AES_KEY_WRAP_PAD', wrappingKey, key)),
          unlock: attempt(() => {
            key.setAttribute({ extractable: true });
          }),
          controlExponent: attempt(() => control.privateKey.getAttribute({ privateExponent: null })),
          controlWrap: attempt(() => session.wrapKey('AES_KEY_WRAP_PAD', wrappingKey, control.privateKey)),
        };
      });
      expect(outcome.exponent).toBe('CKR_ATTRIBUTE_SENSITIVE');
      expect(outcome.prime).toBe('CKR_ATTRIBUTE_SENSITIVE');
      expect(outcome.wrap).toBe('CKR_KEY_UNEXTRACTABLE');
      expect(outcome.unlock).toMatch(/^CKR_ATTRIBUTE_READ_ONLY/);
      expect(outcome.controlExponent).toBe('succeeded');
      expect(outcome.controlWrap).toBe('succeeded');
    });

    it('labels keys <prefix>-<n> and publishes each one under the thumbprint of the modulus on the token', async () => {
      const signer = await openSigner('labels');
      await signer.rotate();
      const onTheToken = await onToken((session, g) =>
        ['labels-1', 'labels-2'].map((label) => {
          const [publicKey] = keysLabelled(session, g, label).publicKeys;
          if (publicKey === undefined) throw new Error(`${label} is not on the token`);
          const { modulus, publicExponent } = publicKey.getAttribute({ modulus: null, publicExponent: null });
          if (!modulus || !publicExponent) throw new Error(`${label} has no modulus`);
          return createPublicKey({
            key: { kty: 'RSA', n: modulus.toString('base64url'), e: publicExponent.toString('base64url') },
            format: 'jwk',
          });
        }),
      );
      const published = await signer.publicKeys();
      expect(published.map((key) => key.kid)).toEqual(onTheToken.reverse().map(thumbprintOf));
      for (const key of published) {
        expect(key).toMatchObject({ kty: 'RSA', alg: 'PS256', use: 'sig', e: 'AQAB' });
        expect(Buffer.from(key.n, 'base64url')).toHaveLength(384);
        expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      }
    });
  });

  describe('signing', () => {
    it('signs a SHA-256 digest so that the signature verifies as PS256 over the message', async () => {
      const signer = await openSigner();
      const message = new TextEncoder().encode('{"reportId":"r-1","verdict":"GREEN"}');
      const signature = await signer.sign(sha256(message));
      const [current] = await signer.publicKeys();
      if (current === undefined) throw new Error('no published key');
      expect(signature.algorithm).toBe('PS256');
      expect(signature.keyId).toBe(current.kid);
      expect(signature.keyId).toBe(await signer.currentKeyId());
      expect(signature.value).toBeInstanceOf(Uint8Array);
      expect(signature.value).toHaveLength(384);
      expect(verifiesPs256(message, signature, current)).toBe(true);
      expect(
        verifiesPs256(new TextEncoder().encode('{"reportId":"r-1","verdict":"RED"}'), signature, current),
      ).toBe(false);
    });

    it('serializes concurrent calls on its one session: signs racing a rotation all verify under their key id', async () => {
      const signer = await openSigner();
      const messages = Array.from({ length: 24 }, (_, i) => new TextEncoder().encode(`payload ${String(i)}`));
      const signing = messages.map((message) => signer.sign(sha256(message)));
      const rotation = signer.rotate();
      const moreSigning = messages.map((message) => signer.sign(sha256(message)));
      const [before, after, newKid] = await Promise.all([
        Promise.all(signing),
        Promise.all(moreSigning),
        rotation,
      ]);
      const published = new Map((await signer.publicKeys()).map((key) => [key.kid, key]));
      expect(published.size).toBe(2);
      expect(new Set(before.map((s) => s.keyId)).size).toBe(1);
      expect(after.every((s) => s.keyId === newKid)).toBe(true);
      for (const [index, signature] of [...before, ...after].entries()) {
        const key = published.get(signature.keyId);
        const message = messages[index % messages.length];
        if (key === undefined || message === undefined) throw new Error(`unknown key ${signature.keyId}`);
        expect(verifiesPs256(message, signature, key)).toBe(true);
      }
    });
  });

  describe('keys across time', () => {
    it('gives the same current key on reopening the token, and publishes the same keys', async () => {
      const first = await openSigner('reopen');
      const kid = await first.currentKeyId();
      const keys = await first.publicKeys();
      await first.close();
      const again = await openSigner('reopen');
      expect(await again.currentKeyId()).toBe(kid);
      expect(await again.publicKeys()).toEqual(keys);
      expect(keys).toHaveLength(1);
    });

    it('rotates to a new key and keeps publishing the old ones, current first, also after reopening', async () => {
      const signer = await openSigner('rotate');
      const message = new TextEncoder().encode('sealed before the rotation');
      const oldSignature = await signer.sign(sha256(message));
      const first = await signer.currentKeyId();
      const second = await signer.rotate();
      const third = await signer.rotate();
      expect(new Set([first, second, third]).size).toBe(3);
      expect(await signer.currentKeyId()).toBe(third);
      const published = await signer.publicKeys();
      expect(published.map((key) => key.kid)).toEqual([third, second, first]);
      const oldKey = published.find((key) => key.kid === oldSignature.keyId);
      if (oldKey === undefined) throw new Error('the old key is no longer published');
      expect(verifiesPs256(message, oldSignature, oldKey)).toBe(true);
      const newSignature = await signer.sign(sha256(message));
      expect(newSignature.keyId).toBe(third);
      await signer.close();

      const reopened = await openSigner('rotate');
      expect(await reopened.currentKeyId()).toBe(third);
      expect((await reopened.publicKeys()).map((key) => key.kid)).toEqual([third, second, first]);
    });

    it('keeps key rings apart by prefix, and closing one signer leaves another on the same library working', async () => {
      const a = await openSigner('ring-a');
      const b = await openSigner('ring-b');
      expect(await a.currentKeyId()).not.toBe(await b.currentKeyId());
      await a.rotate();
      expect(await b.publicKeys()).toHaveLength(1);
      await a.close();
      const message = new TextEncoder().encode('still signing');
      const signature = await b.sign(sha256(message));
      const [key] = await b.publicKeys();
      if (key === undefined) throw new Error('no key');
      expect(verifiesPs256(message, signature, key)).toBe(true);
    });
  });

  describe('faults', () => {
    it('reports a wrong PIN as SIGNER_UNAVAILABLE without the PIN anywhere in the error', async () => {
      const wrongPin = `${otherToken.pin}-wrong-7391`;
      const error = await rejection(
        createPkcs11Signer({ library: otherToken.library, tokenLabel: otherToken.tokenLabel, pin: wrongPin }),
      );
      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as InfrastructureError).code).toBe('SIGNER_UNAVAILABLE');
      expect((error as Error).message).toContain('CKR_PIN_INCORRECT');
      expect((error as Error).cause).toBeInstanceOf(Error);
      const said = everythingSaidBy(error);
      expect(said).not.toContain(wrongPin);
      expect(said).not.toContain(otherToken.pin);
    });

    it('reports an unknown token and a missing module as SIGNER_UNAVAILABLE', async () => {
      const noToken = await rejection(
        createPkcs11Signer({ library: token.library, tokenLabel: 'no-such-token', pin: token.pin }),
      );
      expect(noToken).toMatchObject({ name: 'InfrastructureError', code: 'SIGNER_UNAVAILABLE' });
      expect((noToken as Error).message).toContain('no-such-token');
      const noModule = await rejection(
        createPkcs11Signer({
          library: '/nonexistent/libpkcs11.so',
          tokenLabel: token.tokenLabel,
          pin: token.pin,
        }),
      );
      expect(noModule).toMatchObject({ name: 'InfrastructureError', code: 'SIGNER_UNAVAILABLE' });
      expect(everythingSaidBy(noModule)).not.toContain(token.pin);
    });

    it('says PKCS#11 support is not installed when graphene-pk11 cannot be loaded', async () => {
      vi.doMock('graphene-pk11', () => {
        throw new Error("Cannot find package 'graphene-pk11'");
      });
      try {
        const error = await rejection(
          createPkcs11Signer({ library: token.library, tokenLabel: 'x', pin: token.pin }),
        );
        expect(error).toMatchObject({ name: 'InfrastructureError', code: 'SIGNER_UNAVAILABLE' });
        expect((error as Error).message).toMatch(/PKCS#11 support is not installed/);
      } finally {
        vi.doUnmock('graphene-pk11');
      }
    });

    it('closes once, waits for calls in flight, and refuses calls afterwards', async () => {
      const signer = await openSigner();
      const inFlight = signer.sign(sha256(new TextEncoder().encode('in flight')));
      await Promise.all([signer.close(), signer.close()]);
      expect((await inFlight).value).toHaveLength(384);
      const error = await rejection(signer.currentKeyId());
      expect(error).toMatchObject({ name: 'InfrastructureError', code: 'SIGNER_UNAVAILABLE' });
      await signer.close();
    });
  });
});
