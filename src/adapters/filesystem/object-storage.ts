import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Clock } from '#app/application/ports/clock.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import {
  isValidStorageKey,
  isValidStoragePrefix,
  MAX_LINK_SECONDS,
  type ObjectStorage,
} from '#app/application/ports/object-storage.ts';

/** Where the objects live and how download links are signed. */
export interface FilesystemObjectStorageOptions {
  /** The folder holding the objects; created (mode 0700) on the first put. */
  readonly dir: string;
  /** HMAC-SHA256 key of the download links: at least 32 bytes, kept secret, stable across restarts. */
  readonly linkSecret: Uint8Array;
  /** Public origin (and path) of the HTTP server that serves `/files/<key>` links, e.g. `https://vigilance.example`. */
  readonly baseUrl: string;
  /** Time source of the links' expiry; the system clock when absent. */
  readonly clock?: Pick<Clock, 'now'>;
}

const MIN_SECRET_BYTES = 32;

const badKey = (): InfrastructureError =>
  new InfrastructureError(
    'STORAGE_BAD_KEY',
    'An object key is a relative path of [a-z0-9._/-] without "..", empty segments or "." segments.',
  );

const checkedKey = (key: string): readonly string[] => {
  if (!isValidStorageKey(key)) throw badKey();
  return key.split('/');
};

const checkLinkSeconds = (expiresInSeconds: number): void => {
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_LINK_SECONDS) {
    throw new RangeError(`A download link lasts a whole number of seconds from 1 to ${MAX_LINK_SECONDS}.`);
  }
};

const checkSecret = (secret: Uint8Array): void => {
  if (secret.byteLength < MIN_SECRET_BYTES) {
    throw new RangeError(`The download link secret holds at least ${MIN_SECRET_BYTES} bytes.`);
  }
};

const linkSignature = (secret: Uint8Array, key: string, expires: string): string =>
  createHmac('sha256', secret).update(`${key}\n${expires}`, 'utf8').digest('base64url');

/**
 * Checks a download link made by {@link createFilesystemObjectStorage}'s `downloadUrl`, as the HTTP route serving
 * `/files/<key>` will: true only when `sig` is the link secret's HMAC of this key and expiry (compared in constant
 * time) and `nowSeconds` is not past `expires` (a link is good up to and including its expiry second). A malformed
 * key or expiry is false, never an exception.
 */
export const verifyDownloadLink = (
  options: Pick<FilesystemObjectStorageOptions, 'linkSecret'>,
  key: string,
  expires: string | number,
  sig: string,
  nowSeconds: number,
): boolean => {
  checkSecret(options.linkSecret);
  const expiresText = typeof expires === 'number' ? String(expires) : expires;
  // Only the canonical decimal form was ever signed: "0123" or "1e9" cannot be a link of ours.
  if (!/^[1-9][0-9]{0,14}$/.test(expiresText) || !isValidStorageKey(key)) return false;
  const expected = Buffer.from(linkSignature(options.linkSecret, key, expiresText), 'utf8');
  // Comparing the text (not decoded bytes) refuses the variants a lenient base64 decoder would accept.
  const given = Buffer.from(sig, 'utf8');
  const authentic = given.length === expected.length && timingSafeEqual(given, expected);
  return authentic && nowSeconds <= Number(expiresText);
};

const errorCode = (error: unknown): unknown =>
  error instanceof Error && 'code' in error ? error.code : undefined;

const lstatOrNull = async (path: string): Promise<Stats | null> => {
  try {
    return await lstat(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
};

const linkInTheWay = (): InfrastructureError =>
  new InfrastructureError(
    'STORAGE_UNAVAILABLE',
    'The storage folder holds a symbolic link where an object or a folder is expected; links are not followed.',
  );

const unavailable = (operation: string, cause: unknown): InfrastructureError =>
  cause instanceof InfrastructureError
    ? cause
    : new InfrastructureError(
        'STORAGE_UNAVAILABLE',
        `The filesystem object storage could not ${operation}.`,
        {
          cause,
        },
      );

/** Makes a rename or a new folder entry durable: until its folder is synced, a crash can forget it. */
const syncFolder = async (path: string): Promise<void> => {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/**
 * Object storage in a local folder, the embedded default. Each key is a file under `dir` (mode 0600, folders 0700).
 *
 * A put writes a temporary file in the target folder, syncs it, renames it over the key and syncs the folder, so a
 * reader sees the old object or the new one, never part of one, and a resolved put survives a crash. A failed put
 * removes its temporary file; one left by a crash has a name outside the key syntax (it holds "~"), so `list` never
 * reports it. Keys are validated before any filesystem call, and no symbolic link under `dir` is followed: a link
 * where a folder or an object is expected is a fault (STORAGE_UNAVAILABLE), and `list` skips links.
 *
 * The content type is not kept: the route serving the links decides it. Unlike S3, a key cannot be both an object
 * and a folder ("a" and "a/b"): the second put is a fault. `downloadUrl` gives
 * `<baseUrl>/files/<key>?expires=<unix seconds>&sig=<base64url HMAC-SHA256(linkSecret, key + "\n" + expires)>`,
 * checked by {@link verifyDownloadLink}; it does not check that the object exists (neither does S3).
 */
export const createFilesystemObjectStorage = (options: FilesystemObjectStorageOptions): ObjectStorage => {
  checkSecret(options.linkSecret);
  const linkSecret = Uint8Array.from(options.linkSecret);
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch (error) {
    throw new RangeError('The download base URL is not an absolute URL.', { cause: error });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new RangeError('The download base URL is not http or https.');
  }
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const root = resolve(options.dir);
  const clock = options.clock ?? { now: () => new Date() };

  // Not memoised: a storage folder removed while running is created again by the next put.
  const ensureRoot = async (): Promise<void> => {
    const first = await mkdir(root, { recursive: true, mode: 0o700 });
    if (first === undefined) return;
    // Every folder the recursive mkdir created is a new entry in its parent.
    for (let folder = root; ; folder = dirname(folder)) {
      await syncFolder(dirname(folder));
      if (folder === first || dirname(folder) === folder) break;
    }
  };

  /**
   * The folder holding a key's file, reached without following links. On a read, null when it cannot exist (a
   * missing folder, or a file where a folder would be); on a write, missing folders are created.
   */
  const folderOf = async (
    segments: readonly string[],
    mode: 'read' | 'create',
  ): Promise<{ readonly path: string; readonly created: readonly string[] } | null> => {
    if (mode === 'create') {
      await ensureRoot();
    } else {
      try {
        if (!(await stat(root)).isDirectory()) throw new Error('The storage path is not a folder.');
      } catch (error) {
        if (errorCode(error) === 'ENOENT') return null;
        throw error;
      }
    }
    const created: string[] = [];
    let path = root;
    for (const segment of segments) {
      const parent = path;
      path = join(parent, segment);
      let info = await lstatOrNull(path);
      if (info === null) {
        if (mode === 'read') return null;
        try {
          await mkdir(path, { mode: 0o700 });
          created.push(parent);
        } catch (error) {
          // Another put created it meanwhile: what matters is what is there now.
          if (errorCode(error) !== 'EEXIST') throw error;
        }
        info = await lstat(path);
      }
      if (info.isSymbolicLink()) throw linkInTheWay();
      if (!info.isDirectory()) {
        if (mode === 'read') return null;
        throw new InfrastructureError(
          'STORAGE_UNAVAILABLE',
          'An object is where the key needs a folder: on a filesystem a key cannot also be a prefix of another.',
        );
      }
    }
    return { path, created };
  };

  const put = async (key: string, bytes: Uint8Array): Promise<void> => {
    const segments = checkedKey(key);
    const name = segments.at(-1) ?? '';
    try {
      const folder = await folderOf(segments.slice(0, -1), 'create');
      if (folder === null) throw new Error('The folder of a key could not be created.');
      // "~" is outside the key syntax: a temporary file is never taken for an object, nor collides with one.
      const temp = join(folder.path, `~${randomBytes(12).toString('hex')}.tmp`);
      try {
        const handle = await open(temp, 'wx', 0o600);
        try {
          await handle.writeFile(bytes);
          await handle.sync();
        } finally {
          await handle.close();
        }
        // rename replaces a link at the target rather than writing through it.
        await rename(temp, join(folder.path, name));
      } catch (error) {
        // The original fault says more than a failed cleanup would; a leftover is never listed as an object.
        await rm(temp, { force: true }).catch(() => undefined);
        throw error;
      }
      for (const parent of new Set([folder.path, ...folder.created])) await syncFolder(parent);
    } catch (error) {
      throw unavailable('write an object', error);
    }
  };

  const get = async (key: string): Promise<Uint8Array | null> => {
    const segments = checkedKey(key);
    try {
      const folder = await folderOf(segments.slice(0, -1), 'read');
      if (folder === null) return null;
      let handle;
      try {
        handle = await open(
          join(folder.path, segments.at(-1) ?? ''),
          constants.O_RDONLY | constants.O_NOFOLLOW,
        );
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ENOENT') return null;
        if (code === 'ELOOP') throw linkInTheWay();
        throw error;
      }
      try {
        // A folder named like the key is not an object.
        if (!(await handle.stat()).isFile()) return null;
        const read = await handle.readFile();
        return new Uint8Array(read.buffer, read.byteOffset, read.byteLength);
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw unavailable('read an object', error);
    }
  };

  const remove = async (key: string): Promise<void> => {
    const segments = checkedKey(key);
    try {
      const folder = await folderOf(segments.slice(0, -1), 'read');
      if (folder === null) return;
      // unlink removes a link itself, never what it points to.
      await unlink(join(folder.path, segments.at(-1) ?? ''));
    } catch (error) {
      // EISDIR: the key names a folder (a prefix of other keys), which is not an object.
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'EISDIR') return;
      throw unavailable('delete an object', error);
    }
  };

  const list = async (prefix: string): Promise<readonly { key: string; modifiedAt: string }[]> => {
    if (!isValidStoragePrefix(prefix)) throw badKey();
    const cut = prefix.lastIndexOf('/');
    const folderKey = prefix.slice(0, cut + 1);
    const found: { key: string; modifiedAt: string }[] = [];

    const walk = async (path: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(path, { withFileTypes: true });
      } catch (error) {
        // Removed while listing: it holds nothing any more.
        if (errorCode(error) === 'ENOENT') return;
        throw error;
      }
      await Promise.all(
        entries.map(async (entry) => {
          // A directory entry's name holds no "/": as a one-segment key it must pass the key syntax.
          if (!isValidStorageKey(entry.name)) return;
          const key = keyPrefix + entry.name;
          if (entry.isDirectory()) {
            if (`${key}/`.startsWith(prefix)) await walk(join(path, entry.name), `${key}/`);
          } else if (entry.isFile() && key.startsWith(prefix)) {
            const info = await lstatOrNull(join(path, entry.name));
            if (info?.isFile() === true) found.push({ key, modifiedAt: info.mtime.toISOString() });
          }
        }),
      );
    };

    try {
      const folder = await folderOf(cut < 0 ? [] : prefix.slice(0, cut).split('/'), 'read');
      if (folder === null) return [];
      await walk(folder.path, folderKey);
    } catch (error) {
      throw unavailable('list objects', error);
    }
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  };

  // No I/O, but a promise all the same: a refused key rejects like every other call of the port.
  const downloadUrl = (key: string, expiresInSeconds: number): Promise<string> =>
    new Promise((resolve) => {
      checkedKey(key);
      checkLinkSeconds(expiresInSeconds);
      const expires = String(Math.floor(clock.now().getTime() / 1000) + expiresInSeconds);
      resolve(`${baseUrl}/files/${key}?expires=${expires}&sig=${linkSignature(linkSecret, key, expires)}`);
    });

  return { put, get, delete: remove, list, downloadUrl };
};
