import { execFile } from 'node:child_process';
import {
  constants,
  createHash,
  createPublicKey,
  generateKeyPair,
  verify,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublishedKey, Signer } from '#app/application/ports/signer.ts';

/** One signer, opened for a suite, with what releases it. */
export interface SignerSubject {
  readonly signer: Signer;
  close(): Promise<void>;
}

/** What an adapter may declare it does not do; anything else is a typo and fails the suite. */
export const SIGNER_GAPS = ['rotation'] as const;

const execFileAsync = promisify(execFile);
const generateRsaKeyPair = promisify(generateKeyPair);

const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

/** The public key of a published JWK, as any verifier would import it. */
export const keyObjectOf = (key: PublishedKey): KeyObject =>
  createPublicKey({ key: { kty: key.kty, n: key.n, e: key.e }, format: 'jwk' });

/** A strict PS256 check: RSASSA-PSS, SHA-256, MGF1-SHA256, salt exactly `saltLength` bytes (32 unless told). */
export const verifiesAsPs256 = (
  message: Uint8Array,
  signature: Uint8Array,
  key: KeyObject,
  saltLength = 32,
): boolean =>
  verify('sha256', message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature);

/** Runs `openssl dgst -verify` as a third party would; resolves with its exit code and output. */
export const opensslVerifies = async (
  message: Uint8Array,
  signature: Uint8Array,
  key: KeyObject,
): Promise<{ readonly exitCode: number; readonly output: string }> => {
  const dir = await mkdtemp(join(tmpdir(), 'vigilance-openssl-'));
  try {
    const files = { msg: join(dir, 'msg.bin'), sig: join(dir, 'sig.bin'), pub: join(dir, 'pub.pem') };
    await writeFile(files.msg, message);
    await writeFile(files.sig, signature);
    await writeFile(files.pub, key.export({ type: 'spki', format: 'pem' }));
    const args = [
      'dgst',
      '-sha256',
      '-sigopt',
      'rsa_padding_mode:pss',
      '-sigopt',
      'rsa_pss_saltlen:32',
      '-sigopt',
      'rsa_mgf1_md:sha256',
      '-verify',
      files.pub,
      '-signature',
      files.sig,
      files.msg,
    ];
    try {
      const { stdout, stderr } = await execFileAsync('openssl', args);
      return { exitCode: 0, output: stdout + stderr };
    } catch (error) {
      // execFile rejects on a non-zero exit, with the exit code and both outputs on the error.
      if (error instanceof Error && 'code' in error && typeof error.code === 'number') {
        const { stdout, stderr } = error as Error & { stdout?: string; stderr?: string };
        return { exitCode: error.code, output: `${stdout ?? ''}${stderr ?? ''}` };
      }
      throw error;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

const withByteChanged = (bytes: Uint8Array, index: number): Uint8Array => {
  const copy = new Uint8Array(bytes);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
};

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * The Signer contract: `sign(digest)` gives a signature that verifies as PS256 (RSASSA-PSS, SHA-256, MGF1-SHA256,
 * salt 32, checked strictly) over the message itself, with the published key of `currentKeyId()`, by node:crypto,
 * WebCrypto and the openssl command line; any changed byte, or another key, fails; the salt is random; the
 * published keys are RSA of at least 3072 bits with kid, alg and use and no private member; after a rotation the
 * new key signs and the old ones stay published and verifying. Every Signer adapter runs it.
 *
 * `knownGaps` names what an adapter does not do (see SIGNER_GAPS): with 'rotation', `rotate()` must refuse with
 * InfrastructureError SIGNER_ROTATION_UNSUPPORTED and change nothing.
 */
export const describeSignerContract = (
  name: string,
  open: () => Promise<SignerSubject>,
  knownGaps: readonly string[] = [],
): void => {
  const unknownGaps = knownGaps.filter((gap) => !(SIGNER_GAPS as readonly string[]).includes(gap));
  if (unknownGaps.length > 0) throw new Error(`unknown signer gaps: ${unknownGaps.join(', ')}`);

  describe(`Signer contract: ${name}`, () => {
    let subject: SignerSubject;
    let otherKey: KeyObject;
    beforeAll(async () => {
      const [opened, other] = await Promise.all([open(), generateRsaKeyPair('rsa', { modulusLength: 3072 })]);
      subject = opened;
      otherKey = other.publicKey;
    });
    afterAll(async () => {
      await subject.close();
    });

    // A canonical seal payload as the seal use case signs it, non-ASCII included.
    const message = new TextEncoder().encode(
      '{"pdfSha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",' +
        '"reportId":"r-1","subject":{"name":"Société Générale"},"verdict":"GREEN"}',
    );
    const digest = sha256(message);

    const publishedKey = async (kid: string): Promise<PublishedKey> => {
      const key = (await subject.signer.publicKeys()).find((k) => k.kid === kid);
      if (key === undefined) throw new Error(`the key ${kid} is not published`);
      return key;
    };

    it('signs the digest so the signature verifies as PS256 over the message with the key of currentKeyId()', async () => {
      const kid = await subject.signer.currentKeyId();
      const signature = await subject.signer.sign(digest);
      expect(signature.keyId).toBe(kid);
      expect(signature.algorithm).toBe('PS256');

      const published = await publishedKey(kid);
      const key = keyObjectOf(published);
      const modulusBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
      expect(signature.value).toBeInstanceOf(Uint8Array);
      expect(signature.value.length).toBe(modulusBytes);
      expect(verifiesAsPs256(message, signature.value, key)).toBe(true);
      // Strict salt length: the signature is salted with exactly 32 bytes, not "any salt".
      expect(verifiesAsPs256(message, signature.value, key, 20)).toBe(false);
      expect(verifiesAsPs256(message, signature.value, key, 64)).toBe(false);
      // Not a signature over the digest taken as the message (the "hashed twice" mistake).
      expect(verifiesAsPs256(digest, signature.value, key)).toBe(false);

      // A browser imports the published JWK as it is (alg PS256, use sig) and verifies with WebCrypto.
      const webKey = await webcrypto.subtle.importKey(
        'jwk',
        { ...published },
        { name: 'RSA-PSS', hash: 'SHA-256' },
        false,
        ['verify'],
      );
      expect(
        await webcrypto.subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, webKey, signature.value, message),
      ).toBe(true);
    });

    it('fails verification when one byte of the message or of the signature changes', async () => {
      const signature = await subject.signer.sign(digest);
      const key = keyObjectOf(await publishedKey(signature.keyId));
      expect(verifiesAsPs256(message, signature.value, key)).toBe(true);
      for (const index of [0, Math.floor(message.length / 2), message.length - 1]) {
        expect(
          verifiesAsPs256(withByteChanged(message, index), signature.value, key),
          `message ${index}`,
        ).toBe(false);
      }
      for (const index of [0, 1, Math.floor(signature.value.length / 2), signature.value.length - 1]) {
        expect(
          verifiesAsPs256(message, withByteChanged(signature.value, index), key),
          `signature ${index}`,
        ).toBe(false);
      }
    });

    it('fails verification against another key', async () => {
      const signature = await subject.signer.sign(digest);
      expect(verifiesAsPs256(message, signature.value, otherKey)).toBe(false);
      for (const published of await subject.signer.publicKeys()) {
        if (published.kid !== signature.keyId) {
          expect(verifiesAsPs256(message, signature.value, keyObjectOf(published)), published.kid).toBe(
            false,
          );
        }
      }
    });

    it('salts every signature at random: signatures of one digest differ and all verify, concurrent ones too', async () => {
      const first = await subject.signer.sign(digest);
      const second = await subject.signer.sign(digest);
      const concurrent = await Promise.all(Array.from({ length: 6 }, () => subject.signer.sign(digest)));
      const all = [first, second, ...concurrent];
      expect(new Set(all.map((s) => Buffer.from(s.value).toString('hex'))).size).toBe(all.length);
      for (const signature of all) {
        const key = keyObjectOf(await publishedKey(signature.keyId));
        expect(verifiesAsPs256(message, signature.value, key)).toBe(true);
      }
    });

    it('publishes RSA keys of at least 3072 bits with kid, alg PS256 and use sig, the current first, nothing private', async () => {
      const keys = await subject.signer.publicKeys();
      expect(keys.length).toBeGreaterThanOrEqual(1);
      expect(keys[0]?.kid).toBe(await subject.signer.currentKeyId());
      expect(new Set(keys.map((k) => k.kid)).size).toBe(keys.length);
      for (const key of keys) {
        expect(key).toMatchObject({ kty: 'RSA', alg: 'PS256', use: 'sig' });
        expect(typeof key.kid === 'string' && key.kid.length > 0).toBe(true);
        expect(key.n).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(key.e).toMatch(/^[A-Za-z0-9_-]+$/);
        for (const member of PRIVATE_JWK_MEMBERS)
          expect(key, `${key.kid} ${member}`).not.toHaveProperty(member);
        const details = keyObjectOf(key).asymmetricKeyDetails;
        expect(details?.modulusLength).toBeGreaterThanOrEqual(3072);
      }
      // Published as JSON in a JWKS: the same keys come back on every call and survive serialisation.
      expect(JSON.parse(JSON.stringify(keys))).toEqual(keys);
      expect(await subject.signer.publicKeys()).toEqual(keys);
    });

    it('refuses a digest that is not 32 bytes with a TypeError', async () => {
      for (const length of [0, 20, 31, 33, 48, 64]) {
        await expect(subject.signer.sign(new Uint8Array(length)), `${length} bytes`).rejects.toThrow(
          TypeError,
        );
      }
      await expect(subject.signer.sign('x'.repeat(32) as unknown as Uint8Array)).rejects.toThrow(TypeError);
    });

    it('verifies with the openssl command line (PSS, salt 32, MGF1-SHA256), and fails on a changed message', async () => {
      const signature = await subject.signer.sign(digest);
      const key = keyObjectOf(await publishedKey(signature.keyId));

      const valid = await opensslVerifies(message, signature.value, key);
      expect(valid.output).toContain('Verified OK');
      expect(valid.exitCode).toBe(0);

      const tampered = await opensslVerifies(withByteChanged(message, 5), signature.value, key);
      expect(tampered.output).toContain('Verification failure');
      expect(tampered.exitCode).toBe(1);
    });

    if (knownGaps.includes('rotation')) {
      it('refuses rotate() with SIGNER_ROTATION_UNSUPPORTED and changes nothing (known gap)', async () => {
        const kid = await subject.signer.currentKeyId();
        const keys = await subject.signer.publicKeys();
        await expect(subject.signer.rotate()).rejects.toMatchObject({
          name: 'InfrastructureError',
          code: 'SIGNER_ROTATION_UNSUPPORTED',
        });
        expect(await subject.signer.currentKeyId()).toBe(kid);
        expect(await subject.signer.publicKeys()).toEqual(keys);
        expect((await subject.signer.sign(digest)).keyId).toBe(kid);
      });
    } else {
      it('rotates: the new key signs, the old keys stay published and their signatures still verify', async () => {
        const firstKid = await subject.signer.currentKeyId();
        const firstSignature = await subject.signer.sign(digest);

        const secondKid = await subject.signer.rotate();
        expect(secondKid).not.toBe(firstKid);
        expect(await subject.signer.currentKeyId()).toBe(secondKid);
        const secondSignature = await subject.signer.sign(digest);
        expect(secondSignature.keyId).toBe(secondKid);

        const thirdKid = await subject.signer.rotate();
        expect(new Set([firstKid, secondKid, thirdKid]).size).toBe(3);
        const thirdSignature = await subject.signer.sign(digest);
        expect(thirdSignature.keyId).toBe(thirdKid);

        const keys = await subject.signer.publicKeys();
        expect(keys[0]?.kid).toBe(thirdKid);
        expect(keys.map((k) => k.kid)).toEqual(expect.arrayContaining([firstKid, secondKid, thirdKid]));

        const signatures = [firstSignature, secondSignature, thirdSignature];
        for (const published of keys) {
          const key = keyObjectOf(published);
          for (const signature of signatures) {
            // Each signature verifies with its own key, and with no other.
            expect(
              verifiesAsPs256(message, signature.value, key),
              `${signature.keyId} by ${published.kid}`,
            ).toBe(signature.keyId === published.kid);
          }
        }
        const oldKey = keyObjectOf(await publishedKey(firstKid));
        expect((await opensslVerifies(message, firstSignature.value, oldKey)).exitCode).toBe(0);
      });
    }
  });
};
