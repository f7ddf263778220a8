import { createHmac } from 'node:crypto';
import type * as fsPromises from 'node:fs/promises';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  allByteValues,
  describeObjectStorageContract,
  expectBytes,
} from '../../../test/contracts/object-storage.contract.ts';
import { createManualClock } from '../../../test/support/manual-clock.ts';
import {
  createFilesystemObjectStorage,
  verifyDownloadLink,
  type FilesystemObjectStorageOptions,
} from './object-storage.ts';

/**
 * `open` passes through to the real one unless a test arms `failWritesOfNextOpen`: then the next file opened for
 * writing takes half the bytes and fails, as a full disk or an I/O error would once the temporary file exists.
 */
const faults = vi.hoisted(() => ({ failWritesOfNextOpen: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof fsPromises>();
  const open: typeof actual.open = async (...args) => {
    const handle = await actual.open(...args);
    const flags = args[1];
    if (!faults.failWritesOfNextOpen || typeof flags !== 'string' || !flags.includes('w')) return handle;
    faults.failWritesOfNextOpen = false;
    const failingWrite = async (data: Uint8Array): Promise<never> => {
      await actual.writeFile(handle, data.subarray(0, Math.floor(data.byteLength / 2)));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    return new Proxy(handle, {
      get: (target, property, receiver) => {
        if (property === 'writeFile' || property === 'write') return failingWrite;
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
  return { ...actual, open, default: { ...actual, open } };
});

const SECRET = new Uint8Array(32).fill(7);
const BASE_URL = 'https://vigilance.example/app';

const tempDirs: string[] = [];
const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'vigilance-fs-storage-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

/** Every file and link under `dir`, as relative paths. */
const filesUnder = async (dir: string): Promise<string[]> => {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
};

/** What the future `/files/<key>` route will do with a link: check it, then serve the object. */
const followLink = async (
  options: FilesystemObjectStorageOptions,
  url: string,
  nowSeconds: number,
): Promise<Uint8Array | null> => {
  const prefix = `${options.baseUrl}/files/`;
  if (!url.startsWith(prefix)) return null;
  const parsed = new URL(url);
  const key = parsed.pathname.slice(new URL(prefix).pathname.length);
  const expires = parsed.searchParams.get('expires') ?? '';
  const sig = parsed.searchParams.get('sig') ?? '';
  if (!verifyDownloadLink(options, key, expires, sig, nowSeconds)) return null;
  return createFilesystemObjectStorage(options).get(key);
};

describeObjectStorageContract('filesystem', async () => {
  const root = await tempDir();
  // A folder not created yet, as on a first run.
  const options = { dir: join(root, 'data', 'objects'), linkSecret: SECRET, baseUrl: BASE_URL };
  await writeFile(join(root, 'a-file'), 'not a folder');
  return {
    storage: createFilesystemObjectStorage(options),
    broken: createFilesystemObjectStorage({ ...options, dir: join(root, 'a-file', 'objects') }),
    fetchLink: (url) => followLink(options, url, Math.floor(Date.now() / 1000)),
    close: () => Promise.resolve(),
  };
});

describe('filesystem object storage', () => {
  let dir: string;
  let options: FilesystemObjectStorageOptions;
  beforeEach(async () => {
    dir = join(await tempDir(), 'objects');
    options = { dir, linkSecret: SECRET, baseUrl: BASE_URL };
  });
  afterEach(() => {
    faults.failWritesOfNextOpen = false;
  });

  it('creates objects with mode 0600 in folders with mode 0700', async () => {
    const storage = createFilesystemObjectStorage(options);
    await storage.put('reports/2026/r.pdf', allByteValues(), { contentType: 'application/pdf' });

    expect((await stat(join(dir, 'reports', '2026', 'r.pdf'))).mode & 0o777).toBe(0o600);
    for (const folder of [dir, join(dir, 'reports'), join(dir, 'reports', '2026')]) {
      expect((await stat(folder)).mode & 0o777).toBe(0o700);
    }
    expect(await filesUnder(dir)).toEqual(['reports/2026/r.pdf']);
  });

  it('leaves no partial object and no temporary file when a write fails after the temporary file exists', async () => {
    const storage = createFilesystemObjectStorage(options);
    const previous = new TextEncoder().encode('the previous, complete version');
    await storage.put('reports/kept.pdf', previous, { contentType: 'application/pdf' });

    faults.failWritesOfNextOpen = true;
    const error: unknown = await storage
      .put('reports/kept.pdf', allByteValues(), { contentType: 'application/pdf' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'InfrastructureError', code: 'STORAGE_UNAVAILABLE' });
    expect((error as Error).cause).toMatchObject({ code: 'ENOSPC' });
    expect(faults.failWritesOfNextOpen).toBe(false);
    expectBytes(await storage.get('reports/kept.pdf'), previous);

    faults.failWritesOfNextOpen = true;
    await expect(
      storage.put('reports/new.pdf', allByteValues(), { contentType: 'application/pdf' }),
    ).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(await storage.get('reports/new.pdf')).toBeNull();

    expect(await filesUnder(dir)).toEqual(['reports/kept.pdf']);
    expect((await storage.list('')).map((o) => o.key)).toEqual(['reports/kept.pdf']);
  });

  it('never lists a temporary file a crash left behind', async () => {
    const storage = createFilesystemObjectStorage(options);
    await storage.put('reports/r.pdf', allByteValues(), { contentType: 'application/pdf' });
    await writeFile(join(dir, 'reports', '~0123456789abcdef01234567.tmp'), 'half a PDF');
    await writeFile(join(dir, 'reports', 'Stray File.txt'), 'not ours');

    expect((await storage.list('')).map((o) => o.key)).toEqual(['reports/r.pdf']);
  });

  it('makes a link in the documented form, with an expiry taken from the clock', async () => {
    const clock = createManualClock('2026-11-29T09:00:00.250Z');
    const storage = createFilesystemObjectStorage({ ...options, baseUrl: `${BASE_URL}/`, clock });
    const url = await storage.downloadUrl('reports/r.pdf', 900);

    const expires = Date.parse('2026-11-29T09:00:00Z') / 1000 + 900;
    const sig = createHmac('sha256', SECRET)
      .update(`reports/r.pdf\n${String(expires)}`)
      .digest('base64url');
    expect(url).toBe(`${BASE_URL}/files/reports/r.pdf?expires=${String(expires)}&sig=${sig}`);
  });

  it('accepts a link until its expiry second, and refuses it after', async () => {
    const storage = createFilesystemObjectStorage(options);
    await storage.put('reports/r.pdf', allByteValues(), { contentType: 'application/pdf' });
    const url = new URL(await storage.downloadUrl('reports/r.pdf', 900));
    const expires = Number(url.searchParams.get('expires'));
    const sig = url.searchParams.get('sig') ?? '';

    expect(verifyDownloadLink(options, 'reports/r.pdf', expires, sig, expires - 900)).toBe(true);
    expect(verifyDownloadLink(options, 'reports/r.pdf', String(expires), sig, expires)).toBe(true);
    expect(verifyDownloadLink(options, 'reports/r.pdf', expires, sig, expires + 1)).toBe(false);
    expect(await followLink(options, url.href, expires + 1)).toBeNull();
    expectBytes(await followLink(options, url.href, expires), allByteValues());
  });

  it('refuses a tampered link', async () => {
    const storage = createFilesystemObjectStorage(options);
    const url = new URL(await storage.downloadUrl('reports/r.pdf', 900));
    const expires = url.searchParams.get('expires') ?? '';
    const sig = url.searchParams.get('sig') ?? '';
    const now = Number(expires) - 60;
    const flipped = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
    const otherSecret = { linkSecret: new Uint8Array(32).fill(8) };

    expect(verifyDownloadLink(options, 'reports/r.pdf', expires, sig, now)).toBe(true);
    const tampered: [string, string | number, string, Pick<FilesystemObjectStorageOptions, 'linkSecret'>][] =
      [
        ['reports/other.pdf', expires, sig, options],
        ['reports/r.pdf', Number(expires) + 3600, sig, options],
        ['reports/r.pdf', `0${expires}`, sig, options],
        ['reports/r.pdf', `${expires}.0`, sig, options],
        ['reports/r.pdf', expires, flipped, options],
        ['reports/r.pdf', expires, `${sig}=`, options],
        ['reports/r.pdf', expires, `${sig}A`, options],
        ['reports/r.pdf', expires, sig.slice(0, -1), options],
        ['reports/r.pdf', expires, '', options],
        ['reports/r.pdf', expires, sig, otherSecret],
        ['reports/../r.pdf', expires, sig, options],
      ];
    for (const [key, exp, s, o] of tampered) {
      expect(verifyDownloadLink(o, key, exp, s, now), JSON.stringify([key, exp, s])).toBe(false);
    }
  });

  it('refuses a link secret shorter than 32 bytes and a base URL that is not http(s)', () => {
    expect(() => createFilesystemObjectStorage({ ...options, linkSecret: new Uint8Array(31) })).toThrow(
      RangeError,
    );
    expect(() => verifyDownloadLink({ linkSecret: new Uint8Array(16) }, 'a', 1, 'x', 0)).toThrow(RangeError);
    expect(() => createFilesystemObjectStorage({ ...options, baseUrl: 'vigilance.example' })).toThrow(
      RangeError,
    );
    expect(() => createFilesystemObjectStorage({ ...options, baseUrl: 'file:///srv' })).toThrow(RangeError);
  });

  describe('with a symbolic link under the storage folder', () => {
    let outside: string;
    beforeEach(async () => {
      outside = await tempDir();
      await writeFile(join(outside, 'secret.pdf'), 'outside the store');
      await mkdir(dir, { recursive: true });
    });

    it('does not read, write or delete through a linked folder', async () => {
      await symlink(outside, join(dir, 'reports'));
      const storage = createFilesystemObjectStorage(options);
      const unavailable = { code: 'STORAGE_UNAVAILABLE' };

      await expect(storage.get('reports/secret.pdf')).rejects.toMatchObject(unavailable);
      await expect(
        storage.put('reports/new.pdf', allByteValues(), { contentType: 'application/pdf' }),
      ).rejects.toMatchObject(unavailable);
      await expect(storage.delete('reports/secret.pdf')).rejects.toMatchObject(unavailable);
      await expect(storage.list('reports/')).rejects.toMatchObject(unavailable);
      expect(await storage.list('')).toEqual([]);

      expect(await filesUnder(outside)).toEqual(['secret.pdf']);
      expect(await readFile(join(outside, 'secret.pdf'), 'utf8')).toBe('outside the store');
    });

    it('does not read through a linked object, and overwrites or deletes the link itself', async () => {
      await symlink(join(outside, 'secret.pdf'), join(dir, 'linked.pdf'));
      const storage = createFilesystemObjectStorage(options);

      await expect(storage.get('linked.pdf')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      expect(await storage.list('')).toEqual([]);

      await storage.put('linked.pdf', new TextEncoder().encode('ours'), { contentType: 'application/pdf' });
      expect((await lstat(join(dir, 'linked.pdf'))).isFile()).toBe(true);
      expect(await readFile(join(outside, 'secret.pdf'), 'utf8')).toBe('outside the store');

      await symlink(join(outside, 'secret.pdf'), join(dir, 'linked-again.pdf'));
      await storage.delete('linked-again.pdf');
      expect(await readFile(join(outside, 'secret.pdf'), 'utf8')).toBe('outside the store');
      expect(await filesUnder(dir)).toEqual(['linked.pdf']);
    });

    it('follows a link that is the storage folder itself, which is configuration', async () => {
      const real = await tempDir();
      const linkedRoot = join(await tempDir(), 'objects');
      await symlink(real, linkedRoot);
      const storage = createFilesystemObjectStorage({ ...options, dir: linkedRoot });

      await storage.put('r.pdf', allByteValues(), { contentType: 'application/pdf' });
      expectBytes(await storage.get('r.pdf'), allByteValues());
      expect(await filesUnder(real)).toEqual(['r.pdf']);
    });
  });

  it('cannot make a key both an object and a folder, unlike S3', async () => {
    const storage = createFilesystemObjectStorage(options);
    await storage.put('reports/a', allByteValues(), { contentType: 'application/pdf' });

    await expect(
      storage.put('reports/a/b.pdf', allByteValues(), { contentType: 'application/pdf' }),
    ).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(await storage.get('reports/a/b.pdf')).toBeNull();
    await expect(storage.delete('reports/a/b.pdf')).resolves.toBeUndefined();
    expect(await storage.list('reports/a/')).toEqual([]);
    expectBytes(await storage.get('reports/a'), allByteValues());
  });
});
