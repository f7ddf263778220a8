import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock } from '#app/application/ports/clock.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { ObjectStorage } from '#app/application/ports/object-storage.ts';
import type { ReportRenderer } from '#app/application/ports/report-renderer.ts';
import type { Signer } from '#app/application/ports/signer.ts';
import type { ChromiumRenderer } from '#app/adapters/chromium/renderer.ts';
import {
  createFilesystemObjectStorage,
  verifyDownloadLink,
} from '#app/adapters/filesystem/object-storage.ts';
import { createPooledPdfRenderer } from '#app/adapters/pdf/worker-pool.ts';
import { writeFileAtomically } from '#app/adapters/shared/atomic-file.ts';
import type { Config } from '#app/config/config.ts';
import { openSigner, type OpenSigner } from './signer.ts';

const LINK_SECRET_BYTES = 32;

/**
 * A secret kept in a file of the data directory (mode 0600), made on first use: 32 random bytes. Used for the
 * filesystem storage's download links, which must stay valid across restarts.
 */
export const readOrCreateSecret = async (path: string): Promise<Uint8Array> => {
  try {
    const existing = await readFile(path);
    if (existing.byteLength >= LINK_SECRET_BYTES) return new Uint8Array(existing);
    throw new InfrastructureError('STORAGE_UNAVAILABLE', `The secret file ${path} is too short; remove it.`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const secret = randomBytes(LINK_SECRET_BYTES);
  try {
    // Whole or not at all: another process starting at once must never read half of it.
    await writeFileAtomically(path, secret, 0o600, { replace: false });
    return new Uint8Array(secret);
  } catch (error) {
    // Another process made it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return new Uint8Array(await readFile(path));
    throw error;
  }
};

/** The configured object storage, and how to release it. */
export const openObjectStorage = async (
  config: Config,
  clock: Clock,
): Promise<{
  readonly storage: ObjectStorage;
  /** Filesystem storage: serves its signed download links (`/files/<key>?expires=&sig=`). */
  readonly serveFile:
    ((key: string, expires: string, signature: string) => Promise<Uint8Array | null>) | null;
  close(): Promise<void>;
}> => {
  const s = config.storage;
  if (s.kind === 'filesystem') {
    const linkSecret = await readOrCreateSecret(`${config.database.dataDir}/keys/link-secret`);
    const storage = createFilesystemObjectStorage({
      dir: s.dir,
      linkSecret,
      baseUrl: config.publicBaseUrl,
      clock,
    });
    const serveFile = async (key: string, expires: string, signature: string) =>
      verifyDownloadLink({ linkSecret }, key, expires, signature, Math.floor(clock.now().getTime() / 1000))
        ? storage.get(key)
        : null;
    return { storage, serveFile, close: () => Promise.resolve() };
  }
  // Loaded only when configured: the AWS SDK adds a tenth of a second to every command's start.
  const { createS3ObjectStorage } = await import('#app/adapters/s3/object-storage.ts');
  const storage = createS3ObjectStorage({
    bucket: s.bucket,
    region: s.region,
    ...(s.endpoint === null ? {} : { endpoint: s.endpoint, forcePathStyle: true }),
    ...(s.prefix === '' ? {} : { prefix: s.prefix }),
    clock,
  });
  return { storage, serveFile: null, close: () => storage.close() };
};

/**
 * A signer opened on first use: commands that never seal (history, state) neither create a local key nor reach a
 * token or KMS. `close` releases it if it was opened.
 */
export const lazySigner = (config: Config): { readonly signer: Signer; close(): Promise<void> } => {
  let opening: Promise<OpenSigner> | undefined;
  const opened = (): Promise<OpenSigner> => {
    opening ??= openSigner(config).catch((error: unknown) => {
      opening = undefined;
      throw error;
    });
    return opening;
  };
  return {
    signer: {
      currentKeyId: async () => (await opened()).signer.currentKeyId(),
      sign: async (digest) => (await opened()).signer.sign(digest),
      publicKeys: async () => (await opened()).signer.publicKeys(),
      rotate: async () => (await opened()).signer.rotate(),
    },
    close: async () => {
      if (opening !== undefined) await (await opening).close();
    },
  };
};

/**
 * The configured renderer, started on first use: pdfkit in a pool of worker threads (rendering is CPU work that
 * would otherwise stop the event loop for the whole render), or Chromium (about half a second to launch).
 */
export const lazyRenderer = (
  config: Config,
): { readonly renderer: ReportRenderer; close(): Promise<void> } => {
  if (config.renderer === 'pdfkit') {
    const pool = createPooledPdfRenderer();
    return { renderer: pool, close: () => pool.close() };
  }
  let starting: Promise<ChromiumRenderer> | undefined;
  return {
    renderer: {
      render: async (document) => {
        // Loaded on first use: playwright-core alone adds about 0.6 s to a process's start.
        starting ??= import('#app/adapters/chromium/renderer.ts').then((m) => m.createChromiumRenderer());
        return (await starting).render(document);
      },
    },
    close: async () => {
      if (starting !== undefined) await (await starting).close();
    },
  };
};
