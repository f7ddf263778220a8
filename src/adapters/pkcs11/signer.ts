import { createHash, randomBytes } from 'node:crypto';
import type * as graphene from 'graphene-pk11';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import {
  SEAL_ALGORITHM,
  type PublishedKey,
  type SealSignature,
  type Signer,
} from '#app/application/ports/signer.ts';

type Graphene = typeof graphene;

export interface Pkcs11SignerOptions {
  /** Path of the PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`). */
  readonly library: string;
  /** The label of the token holding the seal keys. */
  readonly tokenLabel: string;
  /** The user PIN. Never written into an error message. */
  readonly pin: string;
  /** Key objects are labelled `<prefix>-<n>`; the highest n signs. Default `vigilance-seal`. */
  readonly keyLabelPrefix?: string;
}

/** A {@link Signer} holding a PKCS#11 session, which `close()` releases. */
export interface Pkcs11Signer extends Signer {
  /**
   * Waits for the calls already made, then closes the session (which also ends the login once no other signer of
   * this process uses the token) and finalizes the module when no other signer of this process uses it.
   * Idempotent; any later call fails with SIGNER_UNAVAILABLE.
   */
  close(): Promise<void>;
}

const DEFAULT_KEY_LABEL_PREFIX = 'vigilance-seal';
const MODULUS_BITS = 3072;
const PUBLIC_EXPONENT = Buffer.from([0x01, 0x00, 0x01]);
const SHA256_DIGEST_BYTES = 32;
const SALT_BYTES = 32;
/** PKCS#11 `CKF_OS_LOCKING_OK`: signing and key generation run on libuv's threads, not only the main thread. */
const CKF_OS_LOCKING_OK = 0x2;

const unavailable = (message: string, cause?: unknown): InfrastructureError =>
  new InfrastructureError('SIGNER_UNAVAILABLE', message, cause === undefined ? undefined : { cause });

/**
 * The CKR_ name of a Cryptoki error, the only part of a driver error put in our messages: graphene's messages
 * start with that name, and anything else a driver says is kept out of them (it stays reachable as the `cause`).
 */
const returnValueName = (error: unknown): string => {
  const message = error instanceof Error ? error.message : '';
  return /^CKR_[A-Z0-9_]+/.exec(message)?.[0] ?? 'PKCS#11 error';
};

const loadGraphene = async (): Promise<Graphene> => {
  try {
    return await import('graphene-pk11');
  } catch (error) {
    throw unavailable(
      'PKCS#11 support is not installed: the optional dependency graphene-pk11 (and its native pkcs11js) ' +
        'could not be loaded. Reinstall with optional dependencies, or choose another signer.',
      error,
    );
  }
};

interface LoadedLibrary {
  readonly module: graphene.Module;
  users: number;
}

/**
 * The modules this process has initialized, by path. One per library because C_Initialize and C_Finalize act on
 * the library as a whole, not on a handle: a second `Module.load` of the same file shares the first's state, and
 * finalizing it would pull the token from under every other signer of the process.
 */
const libraries = new Map<string, LoadedLibrary>();

const acquireLibrary = (g: Graphene, path: string): graphene.Module => {
  const loaded = libraries.get(path);
  if (loaded !== undefined) {
    loaded.users += 1;
    return loaded.module;
  }
  let module: graphene.Module;
  try {
    module = g.Module.load(path);
  } catch (error) {
    throw unavailable(`The PKCS#11 module ${path} could not be loaded.`, error);
  }
  try {
    module.initialize({ flags: CKF_OS_LOCKING_OK });
  } catch (error) {
    module.close();
    throw unavailable(`The PKCS#11 module ${path} failed to initialize (${returnValueName(error)}).`, error);
  }
  libraries.set(path, { module, users: 1 });
  return module;
};

const releaseLibrary = (path: string): void => {
  const loaded = libraries.get(path);
  if (loaded === undefined) return;
  loaded.users -= 1;
  if (loaded.users > 0) return;
  libraries.delete(path);
  try {
    loaded.module.finalize();
  } finally {
    loaded.module.close();
  }
};

const findSlot = (module: graphene.Module, tokenLabel: string, library: string): graphene.Slot => {
  const matching: graphene.Slot[] = [];
  for (const slot of module.getSlots(true)) {
    // Token labels are blank-padded to 32 bytes; graphene strips the padding, a hand-typed label may not.
    if (slot.getToken().label.trim() === tokenLabel.trim()) matching.push(slot);
  }
  const [slot, ...others] = matching;
  if (slot === undefined) throw unavailable(`No PKCS#11 token labelled "${tokenLabel}" in ${library}.`);
  // Two tokens with one label would make which key signs depend on slot order.
  if (others.length > 0)
    throw unavailable(`Several PKCS#11 tokens are labelled "${tokenLabel}" in ${library}.`);
  return slot;
};

/** A read-write session logged in as the user. */
const openSession = (g: Graphene, slot: graphene.Slot, pin: string, onToken: string): graphene.Session => {
  let session: graphene.Session;
  try {
    session = slot.open(g.SessionFlag.RW_SESSION | g.SessionFlag.SERIAL_SESSION);
  } catch (error) {
    throw unavailable(`Could not open a session ${onToken} (${returnValueName(error)}).`, error);
  }
  try {
    session.login(pin, g.UserType.USER);
  } catch (error) {
    // The login belongs to the application, not the session: another signer of this process on the token holds it.
    if (returnValueName(error) !== 'CKR_USER_ALREADY_LOGGED_IN') {
      session.close();
      throw unavailable(`Could not log in ${onToken} (${returnValueName(error)}).`, error);
    }
  }
  return session;
};

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Big-endian unsigned integer bytes as JWK wants them: no leading zero octets (RFC 7518 section 6.3.1). */
const base64urlUInt = (bytes: Buffer): string => {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  return bytes.subarray(start).toString('base64url');
};

/** RFC 7638 JWK thumbprint of an RSA key: SHA-256 over the required members in lexicographic order. */
const rsaThumbprint = (n: string, e: string): string =>
  createHash('sha256')
    .update(JSON.stringify({ e, kty: 'RSA', n }), 'utf8')
    .digest('base64url');

interface TokenKey {
  /** The n of the `<prefix>-<n>` label. */
  readonly serial: number;
  readonly published: PublishedKey;
  /** Null when the token keeps only the public half (a retired key whose private half was destroyed). */
  readonly privateKey: graphene.PrivateKey | null;
}

interface KeyRing {
  /** Current first, then the others, newest first. */
  readonly keys: readonly TokenKey[];
  readonly current: TokenKey | null;
  readonly nextSerial: number;
}

/**
 * Opens a Signer on a PKCS#11 token: its RSA-3072 keys are generated on the token, sensitive and non-extractable,
 * and every signature is computed there (CKM_RSA_PKCS_PSS over the SHA-256 digest, MGF1-SHA256, salt 32, which
 * verifies as PS256 over the message). Keys are labelled `<prefix>-<n>`; the highest n signs. The first key is
 * generated on opening a token that has none; `rotate()` generates the next. Key ids are RFC 7638 thumbprints.
 *
 * Calls are serialized on one session: an operation in progress on a PKCS#11 session excludes any other. A rotation
 * made by another process on the same token is seen by `publicKeys()`, `rotate()` and on reopening (two processes
 * rotating at the same instant would both create the same label; both keys stay published).
 * Every fault (module missing, token absent, wrong PIN, a token refusal) is InfrastructureError SIGNER_UNAVAILABLE
 * with the driver error as its cause; no message carries the PIN. A digest that is not 32 bytes is a caller's bug:
 * a TypeError. PKCS#11 logs in per application, not per session: a second signer of this process on a token the
 * first is logged into is accepted without its PIN being checked again.
 */
export const createPkcs11Signer = async (options: Pkcs11SignerOptions): Promise<Pkcs11Signer> => {
  const { library, tokenLabel, pin } = options;
  const prefix = options.keyLabelPrefix ?? DEFAULT_KEY_LABEL_PREFIX;
  const labelPattern = new RegExp(`^${escapeRegExp(prefix)}-([1-9][0-9]*)$`);
  const g = await loadGraphene();
  const onToken = `on PKCS#11 token "${tokenLabel}"`;

  const session = ((module: graphene.Module): graphene.Session => {
    try {
      return openSession(g, findSlot(module, tokenLabel, library), pin, onToken);
    } catch (error) {
      releaseLibrary(library);
      throw error;
    }
  })(acquireLibrary(g, library));

  const serialOf = (label: string | null | undefined): number | null => {
    const match = labelPattern.exec(label ?? '');
    return match?.[1] === undefined ? null : Number(match[1]);
  };

  const readKeyRing = (): KeyRing => {
    const privateById = new Map<string, graphene.PrivateKey>();
    for (const object of session.find({
      class: g.ObjectClass.PRIVATE_KEY,
      keyType: g.KeyType.RSA,
      token: true,
    })) {
      const { label, id } = object.getAttribute({ label: null, id: null });
      if (serialOf(label) !== null && id)
        privateById.set(id.toString('hex'), object.toType<graphene.PrivateKey>());
    }
    const keys: TokenKey[] = [];
    let nextSerial = 1;
    for (const object of session.find({
      class: g.ObjectClass.PUBLIC_KEY,
      keyType: g.KeyType.RSA,
      token: true,
    })) {
      const attributes = object.getAttribute({ label: null, id: null, modulus: null, publicExponent: null });
      const serial = serialOf(attributes.label);
      if (serial === null) continue;
      nextSerial = Math.max(nextSerial, serial + 1);
      if (!attributes.modulus || !attributes.publicExponent) {
        throw unavailable(`The public key "${attributes.label ?? ''}" ${onToken} has no readable modulus.`);
      }
      const n = base64urlUInt(attributes.modulus);
      const e = base64urlUInt(attributes.publicExponent);
      const kid = rsaThumbprint(n, e);
      const privateKey = attributes.id ? (privateById.get(attributes.id.toString('hex')) ?? null) : null;
      keys.push({
        serial,
        privateKey,
        published: { kid, kty: 'RSA', n, e, alg: SEAL_ALGORITHM, use: 'sig' },
      });
    }
    // Newest first; the kid breaks the tie two processes rotating at once would leave, the same way everywhere.
    keys.sort((a, b) => b.serial - a.serial || (a.published.kid < b.published.kid ? -1 : 1));
    const current = keys.find((key) => key.privateKey !== null) ?? null;
    const ordered = current === null ? keys : [current, ...keys.filter((key) => key !== current)];
    return { keys: ordered, current, nextSerial };
  };

  const generateKey = async (serial: number): Promise<void> => {
    const label = `${prefix}-${String(serial)}`;
    // A random CKA_ID pairs the two halves even if two processes ever rotate to the same label at once.
    const id = randomBytes(16);
    const publicTemplate: graphene.ITemplate = {
      token: true,
      private: false,
      label,
      id,
      keyType: g.KeyType.RSA,
      modulusBits: MODULUS_BITS,
      publicExponent: PUBLIC_EXPONENT,
      verify: true,
      encrypt: false,
      wrap: false,
    };
    const privateTemplate: graphene.ITemplate = {
      token: true,
      private: true,
      label,
      id,
      keyType: g.KeyType.RSA,
      sensitive: true,
      extractable: false,
      sign: true,
      decrypt: false,
      unwrap: false,
      derive: false,
    };
    // The callback form runs on a libuv thread: generating RSA-3072 takes seconds and must not block the event loop.
    await new Promise<void>((resolve, reject) => {
      session.generateKeyPair(g.KeyGenMechanism.RSA, publicTemplate, privateTemplate, (error) => {
        if (error) reject(error);
        else resolve();
      });
    });
  };

  let ring: KeyRing | null = null;

  /** Rereads the token's keys, generating the first one on a token that has none. */
  const refresh = async (): Promise<KeyRing & { readonly current: TokenKey }> => {
    let read = readKeyRing();
    if (read.current === null) {
      await generateKey(read.nextSerial);
      read = readKeyRing();
    }
    const { current } = read;
    if (current === null) throw unavailable(`The key just generated ${onToken} cannot be found.`);
    ring = read;
    return { ...read, current };
  };

  let tail: Promise<unknown> = Promise.resolve();
  let closed = false;
  let closing: Promise<void> | null = null;

  /** Runs `work` after every earlier call, mapping token faults to SIGNER_UNAVAILABLE. */
  const serialize = <T>(operation: string, work: () => Promise<T>): Promise<T> => {
    const result = tail.then(async () => {
      if (closed) throw unavailable('The PKCS#11 signer is closed.');
      try {
        return await work();
      } catch (error) {
        if (error instanceof InfrastructureError) throw error;
        throw unavailable(`PKCS#11 ${operation} failed ${onToken} (${returnValueName(error)}).`, error);
      }
    });
    tail = result.catch(() => undefined);
    return result;
  };

  const currentKey = async (): Promise<TokenKey & { readonly privateKey: graphene.PrivateKey }> => {
    const current = ring?.current ?? (await refresh()).current;
    if (current.privateKey === null) throw unavailable(`The current key has no private half ${onToken}.`);
    return { ...current, privateKey: current.privateKey };
  };

  const mechanism: graphene.IAlgorithm = {
    name: 'RSA_PKCS_PSS',
    params: new g.RsaPssParams(g.MechanismEnum.SHA256, g.RsaMgf.MGF1_SHA256, SALT_BYTES),
  };

  const signer: Pkcs11Signer = {
    currentKeyId: () => serialize('key lookup', async () => (await currentKey()).published.kid),

    sign: (digest) => {
      // CKM_RSA_PKCS_PSS takes its input as the SHA-256 hash: anything else would sign but never verify as PS256.
      if (!(digest instanceof Uint8Array) || digest.length !== SHA256_DIGEST_BYTES) {
        return Promise.reject(
          new TypeError(
            `sign() takes the ${String(SHA256_DIGEST_BYTES)}-byte SHA-256 digest of the message.`,
          ),
        );
      }
      return serialize('signing', async (): Promise<SealSignature> => {
        const key = await currentKey();
        const value = await new Promise<Buffer>((resolve, reject) => {
          session
            .createSign(mechanism, key.privateKey)
            .once(Buffer.from(digest), (error: Error | null, signature: Buffer) => {
              if (error) reject(error);
              else resolve(signature);
            });
        });
        return { keyId: key.published.kid, algorithm: SEAL_ALGORITHM, value: new Uint8Array(value) };
      });
    },

    publicKeys: () =>
      serialize('key listing', async () => (await refresh()).keys.map((key) => key.published)),

    rotate: () =>
      serialize('key rotation', async () => {
        const { nextSerial } = await refresh();
        await generateKey(nextSerial);
        return (await refresh()).current.published.kid;
      }),

    close: () =>
      (closing ??= serialize('closing', () => {
        closed = true;
        ring = null;
        try {
          // Closing the application's last session on the token also logs it out (PKCS#11 C_CloseSession).
          session.close();
        } finally {
          releaseLibrary(library);
        }
        return Promise.resolve();
      })),
  };

  try {
    await serialize('key lookup', refresh);
  } catch (error) {
    await signer.close();
    throw error;
  }
  return signer;
};
