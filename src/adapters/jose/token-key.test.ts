import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { calculateJwkThumbprint, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateTokenKey, tokenKeyFromJwk, type TokenKey } from './token-key.ts';

let root: string;
let path: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'vigilance-token-key-'));
  path = join(root, 'data', 'token-key.json');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const mode = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

/** Proves a key signs what its published half verifies. */
const signsAndVerifies = async (key: TokenKey): Promise<void> => {
  const token = await new SignJWT({ sub: 'probe' })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .sign(key.privateKey);
  const { payload, protectedHeader } = await jwtVerify(token, key.publicJwk, { algorithms: ['ES256'] });
  expect(payload.sub).toBe('probe');
  expect(decodeProtectedHeader(token).kid).toBe(protectedHeader.kid);
};

const ecPrivateJwk = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

describe('loadOrCreateTokenKey', () => {
  it('creates an ES256 key once, in a 0700 directory, as a 0600 JWK file, even under umask 000', async () => {
    const previous = process.umask(0o000);
    let key: TokenKey;
    try {
      key = await loadOrCreateTokenKey(path);
    } finally {
      process.umask(previous);
    }
    expect(await mode(path)).toBe(0o600);
    expect(await mode(join(root, 'data'))).toBe(0o700);
    expect(await readdir(join(root, 'data'))).toEqual(['token-key.json']);

    // RFC 7638 hashes only the required members: kid, alg and use do not change the thumbprint.
    const thumbprint = await calculateJwkThumbprint({ ...key.publicJwk }, 'sha256');
    expect(key.kid).toBe(thumbprint);
    expect(key.publicJwk).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: expect.any(String) as unknown,
      y: expect.any(String) as unknown,
      kid: thumbprint,
      alg: 'ES256',
      use: 'sig',
    });
    const file: unknown = JSON.parse(await readFile(path, 'utf8'));
    expect(file).toMatchObject({
      ...key.publicJwk,
      d: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as unknown,
    });
    await signsAndVerifies(key);
  });

  it('loads the same key on a second run', async () => {
    const first = await loadOrCreateTokenKey(path);
    const before = await readFile(path, 'utf8');
    const second = await loadOrCreateTokenKey(path);
    expect(second.kid).toBe(first.kid);
    expect(second.publicJwk).toEqual(first.publicJwk);
    expect(await readFile(path, 'utf8')).toBe(before);
    // A token signed on the first run verifies with the key of the second.
    const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'ES256' }).sign(first.privateKey);
    await expect(jwtVerify(token, second.publicJwk, { algorithms: ['ES256'] })).resolves.toBeDefined();
  });

  it('gives one key to concurrent first loads, leaving no temporary file', async () => {
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateTokenKey(path)));
    expect(new Set(keys.map((key) => key.kid)).size).toBe(1);
    expect(await readdir(join(root, 'data'))).toEqual(['token-key.json']);
    const [first] = keys;
    if (first === undefined) throw new Error('keys expected');
    expect((await loadOrCreateTokenKey(path)).kid).toBe(first.kid);
  });

  describe('refuses a malformed key file with TOKEN_KEY_INVALID, naming the file and not its contents', () => {
    const expectRefusal = async (contents: string, fragment: RegExp): Promise<void> => {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, contents);
      const error: unknown = await loadOrCreateTokenKey(path).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'InfrastructureError', code: 'TOKEN_KEY_INVALID' });
      if (!(error instanceof Error)) throw new Error('an error expected');
      expect(error.message).toContain(path);
      expect(error.message).toMatch(fragment);
      expect(error.message).not.toContain(contents.slice(0, 20));
      // The file is left as it is, for an operator to look at.
      expect(await readFile(path, 'utf8')).toBe(contents);
    };

    it('not JSON', async () => {
      await expectRefusal('{"kty": "EC", "crv": "P-2', /is not JSON/);
    });

    it('a JSON value that is not a JWK', async () => {
      await expectRefusal('["kty", "EC"]', /not a JWK object/);
    });

    it('a public key only', async () => {
      const { d, ...publicOnly } = ecPrivateJwk();
      expect(d).toBeDefined();
      await expectRefusal(JSON.stringify(publicOnly), /not a private key/);
    });

    it('another curve or key type', async () => {
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' });
      await expectRefusal(JSON.stringify(p384), /not an EC P-256 key/);
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
      await expectRefusal(JSON.stringify(rsa), /not an EC P-256 key/);
    });

    it('a private scalar that does not belong to the public point', async () => {
      const a = ecPrivateJwk();
      const b = ecPrivateJwk();
      await expectRefusal(JSON.stringify({ ...a, d: b.d }), /matching key pair|not a valid/);
    });

    it('a kid that is not the thumbprint, or another alg', async () => {
      await expectRefusal(JSON.stringify({ ...ecPrivateJwk(), kid: 'my-key' }), /thumbprint/);
      await expectRefusal(JSON.stringify({ ...ecPrivateJwk(), alg: 'ES384' }), /not an ES256 key/);
    });
  });

  it('refuses a key file that cannot be read with TOKEN_KEY_UNAVAILABLE', async () => {
    await expect(loadOrCreateTokenKey(root)).rejects.toMatchObject({ code: 'TOKEN_KEY_UNAVAILABLE' });
  });
});

describe('tokenKeyFromJwk', () => {
  it('takes a configured private JWK and names it by its thumbprint', async () => {
    const jwk = ecPrivateJwk();
    const key = await tokenKeyFromJwk(jwk);
    expect(key.kid).toBe(
      await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: jwk.x ?? '', y: jwk.y ?? '' }, 'sha256'),
    );
    expect(key.publicJwk).not.toHaveProperty('d');
    await signsAndVerifies(key);
    expect((await tokenKeyFromJwk({ ...jwk, kid: key.kid, alg: 'ES256', use: 'sig' })).kid).toBe(key.kid);
  });

  it('refuses what is not a P-256 private key with TOKEN_KEY_INVALID, without echoing it', async () => {
    const jwk = ecPrivateJwk();
    for (const value of [
      null,
      'a string',
      { ...jwk, d: undefined },
      { ...jwk, crv: 'P-384' },
      { ...jwk, use: 'enc' },
    ]) {
      const error: unknown = await tokenKeyFromJwk(value).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'InfrastructureError', code: 'TOKEN_KEY_INVALID' });
      if (!(error instanceof Error) || jwk.d === undefined) throw new Error('an error and a key expected');
      expect(error.message).toMatch(/the configured token key/);
      expect(error.message).not.toContain(jwk.d);
    }
  });
});
