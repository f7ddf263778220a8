import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStorage } from '#app/application/ports/object-storage.ts';

/** One adapter on a fresh, empty store, with what the contract needs beyond the port. */
export interface ObjectStorageSubject {
  readonly storage: ObjectStorage;
  /** The same adapter on a backend that fails every call (an unusable folder, an endpoint nobody listens on). */
  readonly broken: ObjectStorage;
  /** What someone following a download link gets now: the bytes, or null when the link is refused. */
  fetchLink(url: string): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

const PDF = { contentType: 'application/pdf' };

/** Every byte value, twice, so no encoding (text, base64, line endings) can pass by accident. */
export const allByteValues = (): Uint8Array => Uint8Array.from({ length: 512 }, (_, i) => i % 256);

const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Compares bytes exactly, whatever Uint8Array subclass the adapter returns. */
export const expectBytes = (actual: Uint8Array | null, expected: Uint8Array): void => {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(Buffer.from(actual ?? []).equals(Buffer.from(expected))).toBe(true);
};

/**
 * A key of exactly 1024 characters under `scope`, in folders of 255. Its last segment stays short: fakes such as
 * s3rver add a suffix to the last segment's file name, and real S3 has no segment limit to test.
 */
const longestKey = (scope: string): string => {
  let key = scope;
  while (1024 - key.length > 200) key += `${'y'.repeat(Math.min(255, 1024 - key.length - 2))}/`;
  return key + 'z'.repeat(1024 - key.length);
};

export const BAD_KEYS = [
  '../x',
  '/abs',
  'a/../b',
  'A B',
  '',
  'a//b',
  'a/',
  './a',
  'a/./b',
  '..',
  'a/...',
  'a\\b',
  'Report.pdf',
  'é.pdf',
  'a\u0000b',
  'a?b',
  'a%2Fb',
  'x'.repeat(256),
  `${'abcdefgh/'.repeat(113)}abcdefgh`, // 1025 characters
];

const BAD_PREFIXES = ['../x', '/abs', 'a/../b', 'A B', 'a//', './', 'a/./', '..', 'A/'];

/**
 * A case a fake backend cannot pass although the real service does; the adapter's test names it, and the case is
 * reported as skipped with the reason.
 */
export type ObjectStorageGap =
  /** s3rver writes an object in place, so a reader can see part of it; S3's PutObject is atomic. */
  'atomic-put-under-concurrent-reads';

/**
 * The ObjectStorage contract: exact bytes, overwrite, null for a missing key, idempotent delete, listing by prefix
 * with modification instants, the key syntax enforced before any I/O, download links that serve the object, faults as
 * STORAGE_UNAVAILABLE, and atomic puts under concurrency. Every ObjectStorage adapter runs it.
 */
export const describeObjectStorageContract = (
  name: string,
  open: () => Promise<ObjectStorageSubject>,
  knownGaps: readonly ObjectStorageGap[] = [],
): void => {
  describe(`ObjectStorage contract: ${name}`, () => {
    let subject: ObjectStorageSubject;
    let storage: ObjectStorage;
    let scopes = 0;
    /** A prefix of its own for each case, so cases on the shared store do not see each other's objects. */
    const scope = (): string => {
      scopes += 1;
      return `case-${String(scopes)}/`;
    };

    beforeAll(async () => {
      subject = await open();
      storage = subject.storage;
    });
    afterAll(async () => {
      await subject.close();
    });

    it('gives back exactly the bytes put, every byte value included, and an empty object as empty', async () => {
      const s = scope();
      const bytes = allByteValues();
      await storage.put(`${s}report.pdf`, bytes, PDF);
      await storage.put(`${s}empty`, new Uint8Array(0), { contentType: 'application/octet-stream' });

      expectBytes(await storage.get(`${s}report.pdf`), bytes);
      expectBytes(await storage.get(`${s}empty`), new Uint8Array(0));
    });

    it('is not affected by changes to the caller’s buffer after the put', async () => {
      const s = scope();
      const bytes = allByteValues();
      await storage.put(`${s}a.pdf`, bytes, PDF);
      bytes.fill(0);
      expectBytes(await storage.get(`${s}a.pdf`), allByteValues());
    });

    it('overwrites an object with a put to the same key, a shorter one included', async () => {
      const s = scope();
      await storage.put(`${s}a.pdf`, bytesOf('the first, longer version'), PDF);
      await storage.put(`${s}a.pdf`, bytesOf('second'), PDF);
      expectBytes(await storage.get(`${s}a.pdf`), bytesOf('second'));
      expect((await storage.list(s)).map((o) => o.key)).toEqual([`${s}a.pdf`]);
    });

    it('returns null for a missing key, under an existing prefix or not', async () => {
      const s = scope();
      await storage.put(`${s}present.pdf`, bytesOf('x'), PDF);
      expect(await storage.get(`${s}absent.pdf`)).toBeNull();
      expect(await storage.get(`${s}no/such/folder.pdf`)).toBeNull();
      expect(await storage.get('never-written/at-all.pdf')).toBeNull();
      // A prefix of existing keys is not itself an object.
      expect(await storage.get(s.slice(0, -1))).toBeNull();
    });

    it('deletes an object, leaves its neighbours, and deleting a missing key is not an error', async () => {
      const s = scope();
      await storage.put(`${s}gone.pdf`, bytesOf('gone'), PDF);
      await storage.put(`${s}kept.pdf`, bytesOf('kept'), PDF);

      await storage.delete(`${s}gone.pdf`);
      expect(await storage.get(`${s}gone.pdf`)).toBeNull();
      expectBytes(await storage.get(`${s}kept.pdf`), bytesOf('kept'));
      expect((await storage.list(s)).map((o) => o.key)).toEqual([`${s}kept.pdf`]);

      await expect(storage.delete(`${s}gone.pdf`)).resolves.toBeUndefined();
      await expect(storage.delete(`${s}never/written.pdf`)).resolves.toBeUndefined();
      // A prefix of existing keys is not an object: deleting it removes nothing.
      await storage.put(`${s}sub/inner.pdf`, bytesOf('inner'), PDF);
      await expect(storage.delete(`${s}sub`)).resolves.toBeUndefined();
      expectBytes(await storage.get(`${s}sub/inner.pdf`), bytesOf('inner'));
    });

    it('lists the objects under a prefix, with the instant each was last written', async () => {
      const s = scope();
      // Object stores keep seconds; filesystems may lag the wall clock by a tick.
      const before = Math.floor(Date.now() / 1000) * 1000 - 1000;
      const keys = [
        `${s}p/a.pdf`,
        `${s}p/sub/b.pdf`,
        `${s}p/sub/deeper/c.pdf`,
        `${s}p-other/d.pdf`,
        `${s}q.pdf`,
      ];
      for (const key of keys) await storage.put(key, bytesOf(key), PDF);
      const after = Date.now() + 1000;

      const keysUnder = async (prefix: string) => (await storage.list(prefix)).map((o) => o.key).sort();
      expect(await keysUnder(s)).toEqual([...keys].sort());
      expect(await keysUnder(`${s}p/`)).toEqual([`${s}p/a.pdf`, `${s}p/sub/b.pdf`, `${s}p/sub/deeper/c.pdf`]);
      expect(await keysUnder(`${s}p`)).toEqual([
        `${s}p-other/d.pdf`,
        `${s}p/a.pdf`,
        `${s}p/sub/b.pdf`,
        `${s}p/sub/deeper/c.pdf`,
      ]);
      expect(await keysUnder(`${s}p/sub/`)).toEqual([`${s}p/sub/b.pdf`, `${s}p/sub/deeper/c.pdf`]);
      expect(await keysUnder(`${s}p/su`)).toEqual([`${s}p/sub/b.pdf`, `${s}p/sub/deeper/c.pdf`]);
      expect(await keysUnder(`${s}p/a.pdf`)).toEqual([`${s}p/a.pdf`]);
      expect(await keysUnder(`${s}nothing/`)).toEqual([]);
      expect(await keysUnder('no-such-prefix-anywhere/')).toEqual([]);
      const everything = await keysUnder('');
      for (const key of keys) expect(everything).toContain(key);

      for (const { modifiedAt } of await storage.list(s)) {
        expect(new Date(modifiedAt).toISOString()).toBe(modifiedAt);
        expect(Date.parse(modifiedAt)).toBeGreaterThanOrEqual(before);
        expect(Date.parse(modifiedAt)).toBeLessThanOrEqual(after);
      }

      await storage.delete(`${s}p/sub/b.pdf`);
      expect(await keysUnder(`${s}p/sub/`)).toEqual([`${s}p/sub/deeper/c.pdf`]);
    });

    it('accepts every key the syntax allows, up to 1024 characters and segments of 255', async () => {
      const s = scope();
      const keys = [
        `${s}a`,
        `${s}.hidden`,
        `${s}-_.0-9`,
        `${s}a-b_c.d/e.f`,
        `${s}0/1/2/3/4/5/6/7/8/9/10.pdf`,
        `${s}${'x'.repeat(255)}/${'x'.repeat(200)}.pdf`,
        longestKey(s),
      ];
      expect(keys.at(-1)).toHaveLength(1024);
      for (const key of keys) await storage.put(key, bytesOf(key), PDF);
      for (const key of keys) expectBytes(await storage.get(key), bytesOf(key));
      expect((await storage.list(s)).map((o) => o.key).sort()).toEqual([...keys].sort());
    });

    it('refuses a key outside the syntax with STORAGE_BAD_KEY before any I/O', async () => {
      // On a backend where every call fails, only a refusal made before any I/O can be STORAGE_BAD_KEY.
      const { broken } = subject;
      for (const key of BAD_KEYS) {
        const refused: unknown = expect.objectContaining({
          name: 'InfrastructureError',
          code: 'STORAGE_BAD_KEY',
        });
        await expect(broken.put(key, bytesOf('x'), PDF), JSON.stringify(key)).rejects.toEqual(refused);
        await expect(broken.get(key), JSON.stringify(key)).rejects.toEqual(refused);
        await expect(broken.delete(key), JSON.stringify(key)).rejects.toEqual(refused);
        await expect(broken.downloadUrl(key, 900), JSON.stringify(key)).rejects.toEqual(refused);
        await expect(storage.get(key), JSON.stringify(key)).rejects.toEqual(refused);
      }
      for (const prefix of BAD_PREFIXES) {
        await expect(broken.list(prefix), JSON.stringify(prefix)).rejects.toMatchObject({
          code: 'STORAGE_BAD_KEY',
        });
      }
      expect(await storage.list('never-written/')).toEqual([]);
    });

    it('reports a failing backend as STORAGE_UNAVAILABLE, with the cause', async () => {
      const { broken } = subject;
      const calls: [string, () => Promise<unknown>][] = [
        ['put', () => broken.put('reports/r.pdf', bytesOf('x'), PDF)],
        ['get', () => broken.get('reports/r.pdf')],
        ['delete', () => broken.delete('reports/r.pdf')],
        ['list', () => broken.list('reports/')],
      ];
      for (const [label, call] of calls) {
        const error: unknown = await call().then(
          () => null,
          (e: unknown) => e,
        );
        expect(error, label).toMatchObject({ name: 'InfrastructureError', code: 'STORAGE_UNAVAILABLE' });
        expect((error as Error).cause, label).toBeDefined();
      }
    });

    it('gives a download link that serves the object’s bytes', async () => {
      const s = scope();
      const bytes = allByteValues();
      await storage.put(`${s}r.pdf`, bytes, PDF);

      const url = await storage.downloadUrl(`${s}r.pdf`, 900);
      expect(new URL(url).protocol).toMatch(/^https?:$/);
      expectBytes(await subject.fetchLink(url), bytes);
      // A link to one object does not serve another.
      const other = await storage.downloadUrl(`${s}other.pdf`, 900);
      expect(await subject.fetchLink(other)).toBeNull();
    });

    it('refuses a link lifetime that is not a whole number of seconds from 1 to a week', async () => {
      for (const seconds of [0, -1, 1.5, Number.NaN, 604_801]) {
        await expect(storage.downloadUrl('reports/r.pdf', seconds), String(seconds)).rejects.toThrow(
          RangeError,
        );
      }
      await expect(storage.downloadUrl('reports/r.pdf', 604_800)).resolves.toMatch(/^https?:\/\//);
    });

    it('keeps all of 20 concurrent puts of different keys', async () => {
      const s = scope();
      const keys = Array.from({ length: 20 }, (_, i) => `${s}concurrent/${String(i).padStart(2, '0')}.pdf`);
      const content = (i: number) => Uint8Array.from({ length: 4096 + i }, (_, j) => (j * 7 + i) % 256);

      await Promise.all(keys.map((key, i) => storage.put(key, content(i), PDF)));

      const read = await Promise.all(keys.map((key) => storage.get(key)));
      read.forEach((bytes, i) => {
        expectBytes(bytes, content(i));
      });
      expect((await storage.list(`${s}concurrent/`)).map((o) => o.key).sort()).toEqual(keys);
    });

    it.skipIf(knownGaps.includes('atomic-put-under-concurrent-reads'))(
      'shows a reader the whole of one put or nothing while puts to the same key race',
      async () => {
        const s = scope();
        const key = `${s}raced.pdf`;
        const versions = Array.from({ length: 8 }, (_, i) => new Uint8Array(64 * 1024 + i).fill(i + 1));
        const matchesAVersion = (bytes: Uint8Array | null): boolean =>
          bytes !== null && versions.some((v) => Buffer.from(v).equals(Buffer.from(bytes)));

        const [, seen] = await Promise.all([
          Promise.all(versions.map((v) => storage.put(key, v, PDF))),
          Promise.all(Array.from({ length: 16 }, () => storage.get(key))),
        ]);

        for (const bytes of seen) expect(bytes === null || matchesAVersion(bytes)).toBe(true);
        expect(matchesAVersion(await storage.get(key))).toBe(true);
        expect((await storage.list(s)).map((o) => o.key)).toEqual([key]);
      },
    );
  });
};
