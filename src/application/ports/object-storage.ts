/**
 * Where sealed PDFs are kept: the local filesystem (embedded default) or S3 (server-side encrypted, AES256).
 *
 * `put` is atomic (a reader sees the whole object or none) and overwrites; `get` returns null for a missing key;
 * `delete` of a missing key is not an error; `list` serves the sweeper that removes objects no report row refers
 * to. `downloadUrl` gives a time-limited link (a presigned URL on S3). Keys are relative paths of [a-z0-9._/-]
 * without "..": anything else is refused (STORAGE_BAD_KEY). Faults are thrown as InfrastructureError
 * STORAGE_UNAVAILABLE.
 */
export interface ObjectStorage {
  put(key: string, bytes: Uint8Array, meta: { readonly contentType: string }): Promise<void>;
  get(key: string): Promise<Uint8Array | null>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<readonly { readonly key: string; readonly modifiedAt: string }[]>;
  downloadUrl(key: string, expiresInSeconds: number): Promise<string>;
}

const MAX_KEY_LENGTH = 1024;
const MAX_SEGMENT_LENGTH = 255;
const SEGMENT = /^[a-z0-9._-]+$/;

/** The longest a download link may last: SigV4 caps presigned URLs at a week, and every adapter agrees. */
export const MAX_LINK_SECONDS = 604_800;

const isValidSegment = (segment: string): boolean =>
  segment.length <= MAX_SEGMENT_LENGTH && SEGMENT.test(segment) && segment !== '.' && !segment.includes('..');

/**
 * The key syntax of every ObjectStorage: a relative path of [a-z0-9._-] segments (at most 255 characters each,
 * 1 024 in all), without empty, "." or ".." segments. One rule, so a key valid on one adapter is valid on all.
 */
export const isValidStorageKey = (key: string): boolean =>
  key.length > 0 && key.length <= MAX_KEY_LENGTH && key.split('/').every(isValidSegment);

/** A listing prefix: a key, a key followed by "/", or empty. */
export const isValidStoragePrefix = (prefix: string): boolean =>
  prefix === '' ||
  isValidStorageKey(prefix) ||
  (prefix.endsWith('/') && isValidStorageKey(prefix.slice(0, -1)));
