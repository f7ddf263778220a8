import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomically } from '#app/adapters/shared/atomic-file.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import {
  SEAL_ALGORITHM,
  type PublishedKey,
  type SealSignature,
  type Signer,
} from '#app/application/ports/signer.ts';

/** Where the local signer keeps its keys. */
export interface LocalSignerOptions {
  /** Created (mode 0700) when missing; holds `keyring.json` and the current private key. */
  readonly dir: string;
}

const MODULUS_BITS = 3072;
const HASH_BYTES = 32;
const SALT_BYTES = 32;
const KEYRING_FILE = 'keyring.json';
const KEYRING_VERSION = 1;
// An RFC 7638 SHA-256 thumbprint in base64url: also what makes it safe as part of a file name.
const KID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const generateRsaKeyPair = promisify(generateKeyPair);

const sha256 = (...parts: readonly Uint8Array[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** MGF1 with SHA-256 (RFC 8017 B.2.1). */
const mgf1Sha256 = (seed: Uint8Array, length: number): Buffer => {
  const blocks: Buffer[] = [];
  const counter = Buffer.alloc(4);
  for (let i = 0; i * HASH_BYTES < length; i += 1) {
    counter.writeUInt32BE(i);
    blocks.push(sha256(seed, counter));
  }
  return Buffer.concat(blocks).subarray(0, length);
};

/**
 * EMSA-PSS-ENCODE (RFC 8017 9.1.1) of a SHA-256 digest with MGF1-SHA256 and the given salt, for a modulus of
 * `modulusBits` bits (emBits = modBits - 1), left-padded with zeros to the modulus length so it is the integer
 * representative the RSA primitive takes.
 */
const emsaPssEncode = (digest: Uint8Array, salt: Uint8Array, modulusBits: number): Buffer => {
  const emBits = modulusBits - 1;
  const emLen = Math.ceil(emBits / 8);
  if (emLen < HASH_BYTES + salt.length + 2) throw new RangeError('the modulus is too short for PSS');
  const h = sha256(Buffer.alloc(8), digest, salt);
  const db = Buffer.alloc(emLen - HASH_BYTES - 1);
  db[db.length - salt.length - 1] = 0x01;
  db.set(salt, db.length - salt.length);
  const mask = mgf1Sha256(h, db.length);
  for (let i = 0; i < db.length; i += 1) db[i] = (db[i] ?? 0) ^ (mask[i] ?? 0);
  // Clearing the bits above emBits keeps the representative below the modulus.
  db[0] = (db[0] ?? 0) & (0xff >> (8 * emLen - emBits));
  const em = Buffer.concat([db, h, Buffer.of(0xbc)]);
  const k = Math.ceil(modulusBits / 8);
  return k === em.length ? em : Buffer.concat([Buffer.alloc(k - em.length), em]);
};

/**
 * RSASSA-PSS-SIGN (RFC 8017 8.1.1) over a message of which only the SHA-256 `digest` is given: MGF1-SHA256, a
 * random 32-byte salt, so the signature verifies as PS256 over the message itself.
 *
 * Node's `crypto.sign` always hashes its input, so the encoding is done here and only the RSA private operation
 * (RSASP1, m^d mod n) is left to OpenSSL: `privateEncrypt` with RSA_NO_PADDING is OpenSSL's raw signing
 * operation (EVP_PKEY_sign), blinded and CRT-checked; the output is always the modulus length.
 */
export const signPssDigest = (privateKey: KeyObject, digest: Uint8Array): Buffer => {
  if (!(digest instanceof Uint8Array) || digest.length !== HASH_BYTES) {
    throw new TypeError(`a SHA-256 digest is ${String(HASH_BYTES)} bytes`);
  }
  const modulusBits = privateKey.asymmetricKeyDetails?.modulusLength;
  if (privateKey.asymmetricKeyType !== 'rsa' || modulusBits === undefined) {
    throw new TypeError('an RSA private key is needed');
  }
  const encoded = emsaPssEncode(digest, randomBytes(SALT_BYTES), modulusBits);
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, encoded);
};

/** The RFC 7638 SHA-256 thumbprint, base64url, of an RSA public key given as JWK members. */
export const rsaJwkThumbprint = (jwk: { readonly n: string; readonly e: string }): string =>
  sha256(Buffer.from(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n }), 'utf8')).toString('base64url');

const publishedKeyOf = (publicKey: KeyObject): PublishedKey => {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'RSA' || jwk.n === undefined || jwk.e === undefined) {
    throw new TypeError('an RSA public key is needed');
  }
  return {
    kid: rsaJwkThumbprint({ n: jwk.n, e: jwk.e }),
    kty: 'RSA',
    n: jwk.n,
    e: jwk.e,
    alg: SEAL_ALGORITHM,
    use: 'sig',
  };
};

interface KeyringFile {
  readonly version: typeof KEYRING_VERSION;
  readonly current: string;
  /** Newest first. */
  readonly keys: readonly PublishedKey[];
}

interface LoadedKeyring {
  /** Identifies the keyring file read, so a rewrite by another process (a rotation) is noticed. */
  readonly stamp: string;
  readonly currentKid: string;
  readonly privateKey: KeyObject;
  /** Current first. */
  readonly keys: readonly PublishedKey[];
}

const unavailable = (message: string, cause?: unknown): InfrastructureError =>
  new InfrastructureError('SIGNER_UNAVAILABLE', message, cause === undefined ? {} : { cause });

const errnoCode = (error: unknown): string | undefined =>
  error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;

const parsePublishedKey = (value: unknown): PublishedKey | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const { kid, kty, n, e, alg, use } = value as Record<string, unknown>;
  if (typeof kid !== 'string' || typeof n !== 'string' || typeof e !== 'string') return undefined;
  if (kty !== 'RSA' || alg !== SEAL_ALGORITHM || use !== 'sig' || !KID_PATTERN.test(kid)) return undefined;
  // A kid that is not the thumbprint of its key would publish a signature under the wrong name.
  if (rsaJwkThumbprint({ n, e }) !== kid) return undefined;
  return { kid, kty, n, e, alg, use };
};

const parseKeyring = (text: string): KeyringFile | undefined => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { version, current, keys } = value as Record<string, unknown>;
  if (version !== KEYRING_VERSION || typeof current !== 'string' || !Array.isArray(keys)) return undefined;
  const parsed = keys.map(parsePublishedKey);
  const valid = parsed.filter((key): key is PublishedKey => key !== undefined);
  if (valid.length !== parsed.length || new Set(valid.map((key) => key.kid)).size !== valid.length) {
    return undefined;
  }
  if (!valid.some((key) => key.kid === current)) return undefined;
  return { version, current, keys: valid };
};

const serialiseKeyring = (keyring: KeyringFile): string => `${JSON.stringify(keyring, null, 2)}\n`;

interface NewKey {
  readonly published: PublishedKey;
  readonly pem: string;
}

const generateKey = async (): Promise<NewKey> => {
  const { publicKey, privateKey } = await generateRsaKeyPair('rsa', {
    modulusLength: MODULUS_BITS,
    publicExponent: 0x10001,
  });
  return {
    published: publishedKeyOf(publicKey),
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
};

/**
 * The embedded default signer: an RSA-3072 key generated into `dir` on first use and loaded on later runs.
 *
 * On disk: `keyring.json` (the public JWK of every key that ever signed, newest first, and which one is current)
 * and `<kid>.pem`, the current private key (PKCS#8 PEM, mode 0600). Both are written atomically. The key id is
 * the RFC 7638 thumbprint of the public key. `rotate()` generates a new key, makes it current, keeps the old
 * public keys listed and deletes the old private key: a retired key never signs again, so it is not kept to be
 * stolen. A rotation made by another process (the CLI while the server runs) is picked up on the next call.
 *
 * Faults (unreadable directory, a keyring or key file that is corrupt or does not match) are thrown as
 * InfrastructureError SIGNER_UNAVAILABLE, naming the file.
 */
export const createLocalSigner = async (options: LocalSignerOptions): Promise<Signer> => {
  const { dir } = options;
  const keyringPath = join(dir, KEYRING_FILE);
  const privateKeyPath = (kid: string): string => join(dir, `${kid}.pem`);

  const writePrivateKey = async (key: NewKey): Promise<void> => {
    await writeFileAtomically(privateKeyPath(key.published.kid), key.pem, 0o600, { replace: false });
  };

  const loadPrivateKey = async (kid: string): Promise<KeyObject> => {
    const path = privateKeyPath(kid);
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (error) {
      throw unavailable(`cannot read the signing key ${path} (${errnoCode(error) ?? 'error'})`, error);
    }
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: pem, format: 'pem' });
    } catch (error) {
      throw unavailable(`the signing key ${path} is not a PEM private key`, error);
    }
    const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (privateKey.asymmetricKeyType !== 'rsa' || bits < MODULUS_BITS) {
      throw unavailable(`the signing key ${path} is not an RSA key of at least ${MODULUS_BITS} bits`);
    }
    if (publishedKeyOf(createPublicKey(privateKey)).kid !== kid) {
      throw unavailable(`the signing key ${path} does not match the key ${kid} listed in ${keyringPath}`);
    }
    return privateKey;
  };

  /** The keyring as on disk, or undefined when there is none yet. */
  const load = async (): Promise<LoadedKeyring | undefined> => {
    let text: string;
    let stamp: string;
    try {
      const handle = await open(keyringPath, 'r');
      try {
        const info = await handle.stat();
        stamp = `${String(info.ino)}:${String(info.mtimeMs)}:${String(info.size)}`;
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw unavailable(`cannot read the keyring ${keyringPath} (${errnoCode(error) ?? 'error'})`, error);
    }
    const keyring = parseKeyring(text);
    if (keyring === undefined) {
      throw unavailable(
        `the keyring ${keyringPath} is corrupt: expected version ${String(KEYRING_VERSION)}, a current key ` +
          'and RSA public keys whose kid is their RFC 7638 thumbprint',
      );
    }
    const privateKey = await loadPrivateKey(keyring.current);
    const current = keyring.keys.filter((key) => key.kid === keyring.current);
    const others = keyring.keys.filter((key) => key.kid !== keyring.current);
    return { stamp, currentKid: keyring.current, privateKey, keys: [...current, ...others] };
  };

  const initialise = async (): Promise<LoadedKeyring> => {
    const key = await generateKey();
    await writePrivateKey(key);
    const keyring: KeyringFile = {
      version: KEYRING_VERSION,
      current: key.published.kid,
      keys: [key.published],
    };
    try {
      await writeFileAtomically(keyringPath, serialiseKeyring(keyring), 0o644, { replace: false });
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      // Another process initialised the directory first: its key is the one, ours was never used.
      await rm(privateKeyPath(key.published.kid), { force: true });
    }
    const loaded = await load();
    if (loaded === undefined) throw unavailable(`the keyring ${keyringPath} vanished while being created`);
    return loaded;
  };

  const guarded = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof InfrastructureError) throw error;
      throw unavailable(`cannot ${what} in ${dir} (${errnoCode(error) ?? 'error'})`, error);
    }
  };

  let state = await guarded('open the signing keys', async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return (await load()) ?? (await initialise());
  });
  let reloading: Promise<LoadedKeyring> | undefined;

  /** The keyring in memory, reloaded first when the file changed since it was read. */
  const fresh = async (): Promise<LoadedKeyring> => {
    const info = await guarded('read the keyring', () => stat(keyringPath));
    if (`${String(info.ino)}:${String(info.mtimeMs)}:${String(info.size)}` === state.stamp) return state;
    reloading ??= guarded('reload the signing keys', async () => {
      const loaded = await load();
      if (loaded === undefined) throw unavailable(`the keyring ${keyringPath} is missing`);
      state = loaded;
      return loaded;
    }).finally(() => {
      reloading = undefined;
    });
    return reloading;
  };

  // Rotations in this process run one after the other, each on the keyring as it then is on disk.
  let rotating: Promise<unknown> = Promise.resolve();

  const rotateNow = async (): Promise<string> => {
    const before = await fresh();
    const key = await generateKey();
    await writePrivateKey(key);
    const keyring: KeyringFile = {
      version: KEYRING_VERSION,
      current: key.published.kid,
      keys: [key.published, ...before.keys],
    };
    await writeFileAtomically(keyringPath, serialiseKeyring(keyring), 0o644, { replace: true });
    await rm(privateKeyPath(before.currentKid), { force: true });
    return (await fresh()).currentKid;
  };

  return {
    currentKeyId: async () => (await fresh()).currentKid,

    sign: async (digest: Uint8Array): Promise<SealSignature> => {
      if (!(digest instanceof Uint8Array) || digest.length !== HASH_BYTES) {
        throw new TypeError(`sign() takes a SHA-256 digest of ${String(HASH_BYTES)} bytes`);
      }
      const { currentKid, privateKey } = await fresh();
      return {
        keyId: currentKid,
        algorithm: SEAL_ALGORITHM,
        value: new Uint8Array(signPssDigest(privateKey, digest)),
      };
    },

    publicKeys: async () => (await fresh()).keys,

    rotate: () => {
      const rotation = rotating.then(() => guarded('rotate the signing key', rotateNow));
      rotating = rotation.catch(() => undefined);
      return rotation;
    },
  };
};

/**
 * The public keys of a local keyring, current first, read without creating anything: what `vigilance verify`
 * checks against on an installation, where a missing keyring simply means no key was ever published. A corrupt
 * keyring is SIGNER_UNAVAILABLE.
 */
export const readLocalPublicKeys = async (options: LocalSignerOptions): Promise<readonly PublishedKey[]> => {
  const path = join(options.dir, KEYRING_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return [];
    throw new InfrastructureError('SIGNER_UNAVAILABLE', `The keyring ${path} cannot be read.`, {
      cause: error,
    });
  }
  const keyring = parseKeyring(text);
  if (keyring === undefined) {
    throw new InfrastructureError('SIGNER_UNAVAILABLE', `The keyring ${path} is corrupt.`);
  }
  const current = keyring.keys.filter((k) => k.kid === keyring.current);
  return [...current, ...keyring.keys.filter((k) => k.kid !== keyring.current)];
};
