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
