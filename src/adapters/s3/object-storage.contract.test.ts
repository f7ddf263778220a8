import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  allByteValues,
  describeObjectStorageContract,
  expectBytes,
} from '../../../test/contracts/object-storage.contract.ts';
import { startStubServer, type StubServer } from '../../../test/support/loopback-server.ts';
import { createManualClock } from '../../../test/support/manual-clock.ts';
import {
  createS3ObjectStorage,
  type S3ObjectStorage,
  type S3ObjectStorageOptions,
} from './object-storage.ts';

const BUCKET = 'vigilance-reports';
// s3rver knows one account; it does not check SigV4 signatures, only that the access key exists.
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const PDF = { contentType: 'application/pdf' };

interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
}

const listen = async (server: Server): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

const closeServer = (server: Server): Promise<void> => {
  server.closeAllConnections();
  return new Promise((resolve, reject) =>
    server.close((e) => {
      if (e) reject(e);
      else resolve();
    }),
  );
};

/**
 * s3rver on loopback with the bucket created, behind a proxy that records every request as it went over the wire:
 * s3rver ignores server-side encryption, so the SSE header is asserted on what the SDK sent.
 */
interface S3Fixture {
  readonly endpoint: string;
  readonly requests: RecordedRequest[];
  open(extra?: Partial<S3ObjectStorageOptions>): S3ObjectStorage;
  /** A plain SDK client on the same server, to look at the bucket around the adapter. */
  readonly raw: S3Client;
  close(): Promise<void>;
}

/**
 * s3rver runs in a child process: on Node 17+ its ListObjectsV2 continuation tokens (single DES, from OpenSSL's
 * legacy provider) fail with a 500 unless Node starts with --openssl-legacy-provider, which the test process must not.
 */
const S3RVER_MAIN = `
const S3rver = require('s3rver');
const [directory, bucket] = process.argv.slice(1);
new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket }] })
  .run()
  .then(({ port }) => process.stdout.write(JSON.stringify({ port }) + '\\n'));
`;

const startS3rver = async (directory: string): Promise<{ port: number; stop(): Promise<void> }> => {
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '--input-type=commonjs', '-e', S3RVER_MAIN, directory, BUCKET],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
    });
    void exited.then(() => {
      reject(new Error(`s3rver exited before listening: ${stderr}`));
    });
  });
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
};

const startS3 = async (): Promise<S3Fixture> => {
  const directory = await mkdtemp(join(tmpdir(), 'vigilance-s3rver-'));
  const s3rver = await startS3rver(directory);
  const s3Port = s3rver.port;

  const requests: RecordedRequest[] = [];
  const proxy = createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      url: new URL(req.url ?? '/', 'http://proxy'),
      headers: req.headers,
    });
    const upstream = request(
      { host: '127.0.0.1', port: s3Port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const endpoint = `http://127.0.0.1:${String(await listen(proxy))}`;

  const opened: S3ObjectStorage[] = [];
  const raw = new S3Client({ region: 'eu-west-3', endpoint, forcePathStyle: true, credentials: CREDENTIALS });
  return {
    endpoint,
    requests,
    raw,
    open: (extra = {}) => {
      const storage = createS3ObjectStorage({
        bucket: BUCKET,
        region: 'eu-west-3',
        endpoint,
        forcePathStyle: true,
        credentials: CREDENTIALS,
        ...extra,
      });
      opened.push(storage);
      return storage;
    },
    close: async () => {
      for (const storage of opened) await storage.close();
      raw.destroy();
      await closeServer(proxy);
      await s3rver.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
};

/** A loopback port nobody listens on: connections are refused at once. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  const port = await listen(server);
  await closeServer(server);
  return port;
};

const fetchLink = async (url: string): Promise<Uint8Array | null> => {
  const response = await fetch(url);
  if (!response.ok) {
    await response.body?.cancel();
    return null;
  }
  return new Uint8Array(await response.arrayBuffer());
};

const contractSubject = async () => {
  const s3 = await startS3();
  return {
    storage: s3.open(),
    broken: s3.open({ endpoint: `http://127.0.0.1:${String(await closedPort())}` }),
    fetchLink,
    close: () => s3.close(),
  };
};

// s3rver truncates and rewrites an object file in place, so a racing GET can get part of it, or stall on a body
// shorter than its Content-Length: the atomicity case cannot pass on it (S3's PutObject is atomic).
describeObjectStorageContract('S3 on s3rver', () => contractSubject(), ['atomic-put-under-concurrent-reads']);

describe('S3 object storage on s3rver', () => {
  let s3: S3Fixture;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => {
    await s3.close();
  });

  const since = (mark: number) => s3.requests.slice(mark);

  it('asks for AES256 server-side encryption, signed, with the content type, on every PutObject', async () => {
    const storage = s3.open();
    const mark = s3.requests.length;
    await storage.put('sse/r.pdf', allByteValues(), PDF);
    await storage.put('sse/r.pdf', allByteValues().subarray(0, 10), PDF);
    await storage.put('sse/empty.json', new Uint8Array(0), { contentType: 'application/json' });
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => storage.put(`sse/c-${String(i)}.pdf`, allByteValues(), PDF)),
    );

    const puts = since(mark).filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(8);
    for (const put of puts) {
      expect(put.url.pathname).toMatch(new RegExp(`^/${BUCKET}/sse/`));
      expect(put.headers['x-amz-server-side-encryption']).toBe('AES256');
      // Signed, so nothing between us and S3 can drop it without the request being refused.
      expect(put.headers.authorization).toMatch(/SignedHeaders=[^,]*\bx-amz-server-side-encryption\b/);
      expect(put.headers['content-type']).toBe(
        put.url.pathname.endsWith('.json') ? 'application/json' : 'application/pdf',
      );
    }
    expectBytes(await storage.get('sse/r.pdf'), allByteValues().subarray(0, 10));
  });

  it('presigns a GetObject valid 900 seconds, signed at the clock’s time, without calling S3', async () => {
    const clock = createManualClock();
    clock.set(new Date(Math.floor(Date.now() / 1000) * 1000).toISOString());
    const storage = s3.open({ clock });
    await storage.put('links/r.pdf', allByteValues(), PDF);

    const mark = s3.requests.length;
    const url = new URL(await storage.downloadUrl('links/r.pdf', 900));
    expect(since(mark)).toEqual([]);

    expect(url.origin).toBe(s3.endpoint);
    expect(url.pathname).toBe(`/${BUCKET}/links/r.pdf`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Date')).toBe(
      clock
        .now()
        .toISOString()
        .replace(/[-:]|\.\d{3}/g, ''),
    );
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^S3RVER\/\d{8}\/eu-west-3\/s3\/aws4_request$/);
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expectBytes(await fetchLink(url.href), allByteValues());
  });

  it('gives a link that s3rver refuses once its 900 seconds are over', async () => {
    const clock = createManualClock();
    clock.set(new Date(Date.now() - 901_000).toISOString());
    const storage = s3.open({ clock });
    await storage.put('links/old.pdf', allByteValues(), PDF);

    const response = await fetch(await storage.downloadUrl('links/old.pdf', 900));
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('Request has expired');
  });

  it('keeps its objects under the configured prefix and lists only keys of the port’s syntax', async () => {
    const storage = s3.open({ prefix: 'tenant-1/' });
    await storage.put('reports/r.pdf', allByteValues(), PDF);
    await s3.raw.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'tenant-1/Upper Case.txt', Body: 'foreign' }),
    );
    await s3.raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'tenant-2/reports/r.pdf', Body: 'other' }));

    const stored = await s3.raw.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'tenant-' }));
    expect(stored.Contents?.map((o) => o.Key).sort()).toEqual([
      'tenant-1/Upper Case.txt',
      'tenant-1/reports/r.pdf',
      'tenant-2/reports/r.pdf',
    ]);
    expect((await storage.list('')).map((o) => o.key)).toEqual(['reports/r.pdf']);
    expectBytes(await storage.get('reports/r.pdf'), allByteValues());
    await storage.delete('reports/r.pdf');
    expect(await storage.get('reports/r.pdf')).toBeNull();
    expect(await s3.open({ prefix: 'tenant-2/' }).get('reports/r.pdf')).not.toBeNull();

    expect(() => s3.open({ prefix: '../' })).toThrow(RangeError);
    expect(() => s3.open({ listPageSize: 0 })).toThrow(RangeError);
  });

  it('reports a missing bucket as STORAGE_UNAVAILABLE, never as a missing object', async () => {
    const storage = s3.open({ bucket: 'no-such-bucket' });
    const unavailable = {
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringContaining('NoSuchBucket') as unknown,
    };
    await expect(storage.get('reports/r.pdf')).rejects.toMatchObject(unavailable);
    await expect(storage.put('reports/r.pdf', allByteValues(), PDF)).rejects.toMatchObject(unavailable);
    await expect(storage.list('')).rejects.toMatchObject(unavailable);
  });

  it('keeps credentials out of fault messages', async () => {
    const credentials = {
      accessKeyId: 'AKIAVIGILANCELEAKCHECK',
      secretAccessKey: 'secret-that-must-not-leak',
    };
    const storage = s3.open({ credentials });
    const error: unknown = await storage.get('reports/r.pdf').catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'InfrastructureError', code: 'STORAGE_UNAVAILABLE' });
    expect((error as Error).message).toBe('S3 GetObject failed (InvalidAccessKeyId).');
    expect((error as Error).message).not.toContain(credentials.secretAccessKey);
  });
});

/** A ListObjectsV2 answer holding `keys`, continued by `next` when given. */
const listPage = (keys: readonly string[], next?: string): string =>
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
  `<Name>${BUCKET}</Name><KeyCount>${String(keys.length)}</KeyCount><MaxKeys>2</MaxKeys>` +
  `<IsTruncated>${String(next !== undefined)}</IsTruncated>` +
  (next === undefined ? '' : `<NextContinuationToken>${next}</NextContinuationToken>`) +
  keys
    .map(
      (key) =>
        `<Contents><Key>${key}</Key><LastModified>2026-11-29T09:00:00.000Z</LastModified>` +
        '<ETag>&quot;0&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>',
    )
    .join('') +
  '</ListBucketResult>';

// s3rver pages in directory-walk order but resumes by key order, so it drops keys across pages: pagination is
// checked against a scripted server instead, as is a server that stalls.
describe('S3 object storage against a scripted server', () => {
  let stub: StubServer | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });

  const storageOn = (server: StubServer) =>
    createS3ObjectStorage({
      bucket: BUCKET,
      region: 'eu-west-3',
      endpoint: server.baseUrl,
      forcePathStyle: true,
      credentials: CREDENTIALS,
      prefix: 'tenant-1/',
      listPageSize: 2,
    });

  it('follows every page with its continuation token', async () => {
    const pages: Readonly<Record<string, string>> = {
      '': listPage(['tenant-1/paged/a.pdf', 'tenant-1/paged/b.pdf'], 'token/1+='),
      'token/1+=': listPage(['tenant-1/paged/c.pdf', 'tenant-1/paged/d.pdf'], 'token-2'),
      'token-2': listPage(['tenant-1/paged/e.pdf']),
    };
    const server = await startStubServer((r) => ({
      headers: { 'content-type': 'application/xml' },
      body: pages[r.url.searchParams.get('continuation-token') ?? ''] ?? '',
    }));
    stub = server;
    const storage = storageOn(server);

    const listed = await storage.list('paged/');
    await storage.close();

    expect(listed).toEqual(
      ['a', 'b', 'c', 'd', 'e'].map((k) => ({
        key: `paged/${k}.pdf`,
        modifiedAt: '2026-11-29T09:00:00.000Z',
      })),
    );
    expect(server.requests.map((r) => r.url.searchParams.get('continuation-token'))).toEqual([
      null,
      'token/1+=',
      'token-2',
    ]);
    for (const r of server.requests) {
      expect(r.url.pathname).toBe(`/${BUCKET}/`);
      expect(r.url.searchParams.get('list-type')).toBe('2');
      expect(r.url.searchParams.get('max-keys')).toBe('2');
      expect(r.url.searchParams.get('prefix')).toBe('tenant-1/paged/');
    }
  });

  it('fails rather than loop when a truncated page has no continuation token', async () => {
    const server = await startStubServer(() => ({
      headers: { 'content-type': 'application/xml' },
      body: listPage(['tenant-1/paged/a.pdf']).replace(
        '<IsTruncated>false</IsTruncated>',
        '<IsTruncated>true</IsTruncated>',
      ),
    }));
    stub = server;
    const storage = storageOn(server);

    await expect(storage.list('paged/')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await storage.close();
    expect(server.requests).toHaveLength(1);
  });

  it('gives up on an answer that stalls mid-body, after the socket timeout', async () => {
    let answered = 0;
    const stalling = createServer((_req, res) => {
      answered += 1;
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': '100' });
      res.write('only ten b');
    });
    const port = await listen(stalling);
    const storage = createS3ObjectStorage({
      bucket: BUCKET,
      region: 'eu-west-3',
      endpoint: `http://127.0.0.1:${String(port)}`,
      forcePathStyle: true,
      credentials: CREDENTIALS,
      socketTimeoutMs: 200,
    });
    try {
      const error: unknown = await storage.get('reports/r.pdf').catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'InfrastructureError', code: 'STORAGE_UNAVAILABLE' });
      expect((error as Error).cause).toMatchObject({ name: 'TimeoutError' });
      expect(answered).toBeGreaterThanOrEqual(1);
    } finally {
      await storage.close();
      await closeServer(stalling);
    }
    expect(() => createS3ObjectStorage({ bucket: BUCKET, region: 'eu-west-3', socketTimeoutMs: 0 })).toThrow(
      RangeError,
    );
  });
});
