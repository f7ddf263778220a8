import { randomBytes } from 'node:crypto';
import { link, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes a whole file, with exactly `mode`, so that no reader and no crash ever sees it half written: under a
 * temporary name, flushed, then moved into place, and the directory entry flushed too. `replace: true` renames over
 * what is there; `replace: false` links into place and fails with EEXIST when the file exists, so of processes
 * creating the same file at once exactly one wins and the others read its content. The keys and secrets of every
 * adapter that keeps them in files (signing keys, the access-token key, the embedded provider's keys) are written
 * with it, and the download links' secret.
 */
export const writeFileAtomically = async (
  path: string,
  data: string | Uint8Array,
  mode: number,
  { replace }: { readonly replace: boolean },
): Promise<void> => {
  const temporary = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', mode);
  try {
    // The umask may have narrowed the mode; a private key must be exactly owner-only.
    await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (replace) await rename(temporary, path);
    else await link(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
};
