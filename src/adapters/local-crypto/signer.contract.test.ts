import { createHash, generateKeyPair } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  describeSignerContract,
  keyObjectOf,
  opensslVerifies,
  verifiesAsPs256,
} from '../../../test/contracts/signer.contract.ts';
import { createLocalSigner, readLocalPublicKeys, rsaJwkThumbprint, signPssDigest } from './signer.ts';

const generateRsaKeyPair = promisify(generateKeyPair);
const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

describeSignerContract('local key file', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vigilance-signer-'));
  const signer = await createLocalSigner({ dir: join(root, 'keys') });
  return { signer, close: () => rm(root, { recursive: true, force: true }) };
});

describe('local signer key files', () => {
  let root: string;
  let dir: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'vigilance-signer-'));
    dir = join(root, 'keys');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;
  const message = new TextEncoder().encode('{"reportId":"r-1"}');

  it('generates on first use: directory 0700, private key PKCS#8 PEM 0600 even under umask 000, keyring of the public key', async () => {
    const previous = process.umask(0o000);
    let kid: string;
    try {
      kid = await (await createLocalSigner({ dir })).currentKeyId();
    } finally {
      process.umask(previous);
    }

    expect(await mode(dir)).toBe(0o700);
    expect(await mode(join(dir, `${kid}.pem`))).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual([`${kid}.pem`, 'keyring.json'].sort());
    const pem = await readFile(join(dir, `${kid}.pem`), 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);

    const keyring: unknown = JSON.parse(await readFile(join(dir, 'keyring.json'), 'utf8'));
    expect(keyring).toMatchObject({
      version: 1,
      current: kid,
      keys: [{ kid, kty: 'RSA', alg: 'PS256', use: 'sig' }],
    });
    expect(JSON.stringify(keyring)).not.toMatch(/"(d|p|q|dp|dq|qi)"/);
  });

  it('names a key by its RFC 7638 thumbprint (the RFC 7638 section 3.1 example)', async () => {
    expect(
      rsaJwkThumbprint({
        n:
          '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn6' +
          '4tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n9' +
          '1CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
        e: 'AQAB',
      }),
    ).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    const signer = await createLocalSigner({ dir });
    const [published] = await signer.publicKeys();
    if (published === undefined) throw new Error('one key expected');
    expect(published.kid).toBe(rsaJwkThumbprint(published));
    expect(published.kid).toBe(await signer.currentKeyId());
  });

  it('loads the same key from the same directory on a later run', async () => {
    const first = await createLocalSigner({ dir });
    const kid = await first.currentKeyId();
    const signature = await first.sign(sha256(message));

    const second = await createLocalSigner({ dir });
    expect(await second.currentKeyId()).toBe(kid);
    expect(await second.publicKeys()).toEqual(await first.publicKeys());
    const again = await second.sign(sha256(message));
    expect(again.keyId).toBe(kid);
    const [published] = await second.publicKeys();
    if (published === undefined) throw new Error('one key expected');
    expect(verifiesAsPs256(message, signature.value, keyObjectOf(published))).toBe(true);
    expect(verifiesAsPs256(message, again.value, keyObjectOf(published))).toBe(true);
  });

  it('gives one key to two signers initialising the same empty directory at once', async () => {
    const [a, b] = await Promise.all([createLocalSigner({ dir }), createLocalSigner({ dir })]);
    const kid = await a.currentKeyId();
    expect(await b.currentKeyId()).toBe(kid);
    expect((await readdir(dir)).sort()).toEqual([`${kid}.pem`, 'keyring.json'].sort());
  });

  it('on rotation deletes the retired private key, keeps its public key listed and leaves no temporary file', async () => {
    const signer = await createLocalSigner({ dir });
    const oldKid = await signer.currentKeyId();
    const newKid = await signer.rotate();

    expect((await readdir(dir)).sort()).toEqual([`${newKid}.pem`, 'keyring.json'].sort());
    expect(await mode(join(dir, `${newKid}.pem`))).toBe(0o600);
    const keyring: unknown = JSON.parse(await readFile(join(dir, 'keyring.json'), 'utf8'));
    expect(keyring).toMatchObject({ version: 1, current: newKid, keys: [{ kid: newKid }, { kid: oldKid }] });
    expect(await (await createLocalSigner({ dir })).currentKeyId()).toBe(newKid);
  });

  it('runs concurrent rotations one after the other, losing no key', async () => {
    const signer = await createLocalSigner({ dir });
    const first = await signer.currentKeyId();
    const rotated = await Promise.all([signer.rotate(), signer.rotate()]);
    expect(new Set([first, ...rotated]).size).toBe(3);
    const kids = (await signer.publicKeys()).map((k) => k.kid);
    expect(kids).toHaveLength(3);
    expect(kids[0]).toBe(await signer.currentKeyId());
    expect(kids).toEqual(expect.arrayContaining([first, ...rotated]));
  });

  it('picks up a rotation made by another process on the same directory', async () => {
    const server = await createLocalSigner({ dir });
    const oldKid = await server.currentKeyId();
    const cli = await createLocalSigner({ dir });
    const newKid = await cli.rotate();

    expect(await server.currentKeyId()).toBe(newKid);
    expect((await server.publicKeys()).map((k) => k.kid)).toEqual([newKid, oldKid]);
    const signature = await server.sign(sha256(message));
    expect(signature.keyId).toBe(newKid);
    const [published] = await server.publicKeys();
    if (published === undefined) throw new Error('keys expected');
    expect(verifiesAsPs256(message, signature.value, keyObjectOf(published))).toBe(true);
  });

  describe('refuses a corrupt key directory with SIGNER_UNAVAILABLE naming the file', () => {
    const expectRefusal = async (fragment: string | RegExp): Promise<void> => {
      const refusal = createLocalSigner({ dir });
      await expect(refusal).rejects.toMatchObject({
        name: 'InfrastructureError',
        code: 'SIGNER_UNAVAILABLE',
      });
      const error = await refusal.catch((e: unknown) => e);
      if (!(error instanceof Error)) throw new Error('an error expected');
      expect(error.message).toMatch(fragment);
      // The message names files, never their contents.
      expect(error.message).not.toMatch(/BEGIN|PRIVATE KEY|MII/);
    };
    const initialised = async (): Promise<string> => (await createLocalSigner({ dir })).currentKeyId();

    it('a private key file that is not a PEM key', async () => {
      const kid = await initialised();
      await writeFile(
        join(dir, `${kid}.pem`),
        '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n',
      );
      await expectRefusal(`the signing key ${join(dir, `${kid}.pem`)} is not a PEM private key`);
    });

    it('a private key file that is truncated', async () => {
      const kid = await initialised();
      const pem = await readFile(join(dir, `${kid}.pem`), 'utf8');
      await writeFile(join(dir, `${kid}.pem`), pem.slice(0, pem.length / 2));
      await expectRefusal('is not a PEM private key');
    });

    it('a missing private key file', async () => {
      const kid = await initialised();
      await rm(join(dir, `${kid}.pem`));
      await expectRefusal(`cannot read the signing key ${join(dir, `${kid}.pem`)} (ENOENT)`);
    });

    it('a private key that is not the listed one', async () => {
      const kid = await initialised();
      const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: 3072 });
      await writeFile(join(dir, `${kid}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      await expectRefusal(`does not match the key ${kid}`);
    });

    it('a private key that is too short', async () => {
      const kid = await initialised();
      const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: 2048 });
      await writeFile(join(dir, `${kid}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      await expectRefusal('is not an RSA key of at least 3072 bits');
    });

    it('a keyring that is not JSON', async () => {
      await initialised();
      await writeFile(join(dir, 'keyring.json'), '{"version":1,');
      await expectRefusal(`the keyring ${join(dir, 'keyring.json')} is corrupt`);
    });

    it('a keyring whose kid is not the thumbprint of its key', async () => {
      const kid = await initialised();
      const path = join(dir, 'keyring.json');
      const text = await readFile(path, 'utf8');
      const n = /"n": "([^"]+)"/.exec(text)?.[1];
      if (n === undefined) throw new Error('a modulus expected');
      await writeFile(path, text.replace(n, `${n.slice(0, -2)}AA`));
      await expectRefusal('is corrupt');
      expect(kid).toHaveLength(43);
    });

    it('a key directory path that is a file', async () => {
      await writeFile(join(root, 'file'), 'x');
      dir = join(root, 'file');
      await expectRefusal(`cannot open the signing keys in ${dir}`);
    });

    it('a keyring corrupted while a signer runs: the next call fails, it does not sign with a stale key', async () => {
      const signer = await createLocalSigner({ dir });
      await writeFile(join(dir, 'keyring.json'), 'garbage');
      await expect(signer.sign(sha256(message))).rejects.toMatchObject({ code: 'SIGNER_UNAVAILABLE' });
    });
  });
});

describe('signPssDigest (EMSA-PSS over a precomputed SHA-256 digest)', () => {
  // A modulus of 8k + 1 bits has an encoded message one byte shorter than the modulus (RFC 8017 9.1.1, emBits =
  // modBits - 1), which must be left-padded; other lengths mask different top bits. OpenSSL rounds 8k + 1 down
  // from 2048 bits up, so that case runs on the smaller sizes it honours.
  it.each([1025, 1993, 2048, 2050, 2052, 2056, 3072, 3080, 4096])(
    'signs with a %i-bit modulus',
    async (bits) => {
      const { privateKey, publicKey } = await generateRsaKeyPair('rsa', { modulusLength: bits });
      expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(bits);
      const message = new TextEncoder().encode(`message for ${String(bits)} bits`);
      for (let i = 0; i < 4; i += 1) {
        const signature = signPssDigest(privateKey, sha256(message));
        expect(signature).toHaveLength(Math.ceil(bits / 8));
        expect(verifiesAsPs256(message, signature, publicKey)).toBe(true);
      }
      const signature = signPssDigest(privateKey, sha256(message));
      expect(await opensslVerifies(message, signature, publicKey)).toMatchObject({ exitCode: 0 });
    },
  );

  it('refuses a digest of the wrong length and a key that is not RSA', async () => {
    const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: 2048 });
    expect(() => signPssDigest(privateKey, new Uint8Array(31))).toThrow(TypeError);
    expect(() => signPssDigest(privateKey, new Uint8Array(33))).toThrow(TypeError);
    const ec = await generateRsaKeyPair('ec', { namedCurve: 'P-256' });
    expect(() => signPssDigest(ec.privateKey, new Uint8Array(32))).toThrow(TypeError);
  });
});

describe('readLocalPublicKeys', () => {
  it('reads the published keys of a keyring, current first, without creating one where there is none', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vigilance-keys-read-'));
    try {
      expect(await readLocalPublicKeys({ dir: join(root, 'none') })).toEqual([]);
      await expect(stat(join(root, 'none'))).rejects.toMatchObject({ code: 'ENOENT' });
      const signer = await createLocalSigner({ dir: join(root, 'keys') });
      await signer.rotate();
      expect(await readLocalPublicKeys({ dir: join(root, 'keys') })).toEqual(await signer.publicKeys());
      await writeFile(join(root, 'keys', 'keyring.json'), '{"version": 1');
      await expect(readLocalPublicKeys({ dir: join(root, 'keys') })).rejects.toMatchObject({
        code: 'SIGNER_UNAVAILABLE',
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
