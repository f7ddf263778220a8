import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Clock } from '#app/application/ports/clock.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import {
  isValidStorageKey,
  isValidStoragePrefix,
  MAX_LINK_SECONDS,
  type ObjectStorage,
} from '#app/application/ports/object-storage.ts';

/** Which bucket, and how to reach it. */
export interface S3ObjectStorageOptions {
  readonly bucket: string;
  readonly region: string;
  /** An S3-compatible endpoint instead of AWS's, e.g. `http://127.0.0.1:4568`. */
  readonly endpoint?: string;
  /** Path-style URLs (`<endpoint>/<bucket>/<key>`), which most S3-compatible servers need. */
  readonly forcePathStyle?: boolean;
  /** Static credentials; the SDK's default chain (environment, profile, instance role) when absent. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Put before every key in the bucket, e.g. `vigilance/`; the port's keys and listings never show it. */
  readonly prefix?: string;
  /** Keys per ListObjectsV2 page (S3 gives at most 1000); smaller only to exercise pagination. */
  readonly listPageSize?: number;
  /**
   * How long a connection may stay silent, connecting or mid-answer, before the request fails (and is retried by the
   * SDK): 15 s when absent. Without it a stalled S3 connection would hold a seal forever.
   */
  readonly socketTimeoutMs?: number;
  /** Signing time of download links; the system clock when absent. Request signing keeps the SDK's own clock. */
  readonly clock?: Pick<Clock, 'now'>;
}

/** The S3 object storage, and the release of its connections (the composition root calls it on close). */
export interface S3ObjectStorage extends ObjectStorage {
  close(): Promise<void>;
}

const badKey = (): InfrastructureError =>
  new InfrastructureError(
    'STORAGE_BAD_KEY',
    'An object key is a relative path of [a-z0-9._/-] without "..", empty segments or "." segments.',
  );

const checkKey = (key: string): void => {
  if (!isValidStorageKey(key)) throw badKey();
};

/** The message names the operation and S3's error code only: no key, payload or credential. */
const unavailable = (operation: string, cause: unknown): InfrastructureError =>
  new InfrastructureError(
    'STORAGE_UNAVAILABLE',
    `S3 ${operation} failed${cause instanceof S3ServiceException ? ` (${cause.name})` : ''}.`,
    { cause },
  );

const isNoSuchKey = (error: unknown): boolean =>
  error instanceof S3ServiceException && error.name === 'NoSuchKey';

/**
 * Object storage in an S3 bucket. Every put asks for server-side encryption (`x-amz-server-side-encryption:
 * AES256`, part of the signed headers) and records the content type. A single PutObject is atomic on S3: readers see
 * the previous object or the new one. `get` maps NoSuchKey to null; `delete` of a missing key succeeds (S3's own
 * semantics); `list` follows every ListObjectsV2 page and skips objects whose key is outside the port's syntax (not
 * ours). `downloadUrl` presigns a GetObject (SigV4, at most a week; the product asks for 900 s) without contacting S3.
 * Keys are validated before any request (STORAGE_BAD_KEY); every S3 or network failure, after the SDK's retries, is
 * STORAGE_UNAVAILABLE with the SDK error as its cause.
 */
export const createS3ObjectStorage = (options: S3ObjectStorageOptions): S3ObjectStorage => {
  const keyPrefix = options.prefix ?? '';
  if (!isValidStoragePrefix(keyPrefix)) {
    throw new RangeError('The S3 key prefix follows the key syntax ([a-z0-9._/-], no "..").');
  }
  const pageSize = options.listPageSize;
  if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)) {
    throw new RangeError('An S3 listing page holds from 1 to 1000 keys.');
  }
  const socketTimeoutMs = options.socketTimeoutMs ?? 15_000;
  if (!Number.isInteger(socketTimeoutMs) || socketTimeoutMs < 1) {
    throw new RangeError('The S3 socket timeout is a positive whole number of milliseconds.');
  }
  const config: S3ClientConfig = {
    region: options.region,
    requestHandler: { connectionTimeout: socketTimeoutMs, socketTimeout: socketTimeoutMs },
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.forcePathStyle === undefined ? {} : { forcePathStyle: options.forcePathStyle }),
    ...(options.credentials === undefined
      ? {}
      : {
          credentials: {
            accessKeyId: options.credentials.accessKeyId,
            secretAccessKey: options.credentials.secretAccessKey,
          },
        }),
  };
  const client = new S3Client(config);
  const bucket = options.bucket;
  const clock = options.clock ?? { now: () => new Date() };

  const put = async (
    key: string,
    bytes: Uint8Array,
    meta: { readonly contentType: string },
  ): Promise<void> => {
    checkKey(key);
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: keyPrefix + key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: meta.contentType,
          ServerSideEncryption: 'AES256',
        }),
      );
    } catch (error) {
      throw unavailable('PutObject', error);
    }
  };

  const get = async (key: string): Promise<Uint8Array | null> => {
    checkKey(key);
    try {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyPrefix + key }));
      if (object.Body === undefined) throw new Error('S3 answered GetObject without a body.');
      return await object.Body.transformToByteArray();
    } catch (error) {
      if (isNoSuchKey(error)) return null;
      throw unavailable('GetObject', error);
    }
  };

  const remove = async (key: string): Promise<void> => {
    checkKey(key);
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keyPrefix + key }));
    } catch (error) {
      throw unavailable('DeleteObject', error);
    }
  };

  const list = async (prefix: string): Promise<readonly { key: string; modifiedAt: string }[]> => {
    if (!isValidStoragePrefix(prefix)) throw badKey();
    const found: { key: string; modifiedAt: string }[] = [];
    try {
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: keyPrefix + prefix,
            ...(token === undefined ? {} : { ContinuationToken: token }),
            ...(pageSize === undefined ? {} : { MaxKeys: pageSize }),
          }),
        );
        for (const object of page.Contents ?? []) {
          const key = object.Key?.slice(keyPrefix.length);
          if (key === undefined || !isValidStorageKey(key)) continue;
          if (object.LastModified === undefined) throw new Error('S3 listed an object without LastModified.');
          found.push({ key, modifiedAt: object.LastModified.toISOString() });
        }
        // A truncated page without a token would loop forever on the first page.
        if (page.IsTruncated === true && page.NextContinuationToken === undefined) {
          throw new Error('S3 truncated a listing without a continuation token.');
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (error) {
      throw unavailable('ListObjectsV2', error);
    }
    return found;
  };

  const downloadUrl = async (key: string, expiresInSeconds: number): Promise<string> => {
    checkKey(key);
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_LINK_SECONDS) {
      throw new RangeError(`A download link lasts a whole number of seconds from 1 to ${MAX_LINK_SECONDS}.`);
    }
    try {
      return await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: keyPrefix + key }), {
        expiresIn: expiresInSeconds,
        signingDate: clock.now(),
      });
    } catch (error) {
      // Presigning is local: it fails only when credentials cannot be resolved.
      throw unavailable('presigning GetObject', error);
    }
  };

  const close = (): Promise<void> => {
    client.destroy();
    return Promise.resolve();
  };

  return { put, get, delete: remove, list, downloadUrl, close };
};
