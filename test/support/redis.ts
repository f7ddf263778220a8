import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { describe } from 'vitest';
import { openRedis, type RedisConnection } from '#app/adapters/redis/client.ts';
import { servicesRequired } from './services.ts';

/** The Redis of REDIS_URL, or '' when the run has none. */
export const redisUrl = process.env.REDIS_URL?.trim() ?? '';

/**
 * A key prefix no other suite, test file or run uses, so suites sharing one Redis (CI runs test files in
 * parallel) never see each other's keys: `vigilance-test:<suite>:<random>:`.
 */
export const uniqueKeyPrefix = (suite: string): string =>
  `vigilance-test:${suite}:${randomBytes(6).toString('hex')}:`;

/**
 * A client of the product's own making (`openRedis`), connected: it throws when Redis does not answer within 5 s,
 * since a suite that reached this point was told Redis is there. `url` defaults to REDIS_URL.
 */
export const openTestRedis = async (url = redisUrl): Promise<RedisConnection> => {
  const connection = openRedis({ url, name: 'vigilance-test' });
  if (!(await connection.ready(5_000))) {
    await connection.close();
    throw new Error(`Redis at REDIS_URL did not answer within 5 s.`);
  }
  return connection;
};

/** Deletes every key under `prefix` (SCAN, never KEYS: other suites may be using the server). */
export const deleteKeys = async (redis: Redis, prefix: string): Promise<void> => {
  // A prefix made by uniqueKeyPrefix holds no glob characters.
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
};

/**
 * Declares the Redis-only suite, or a visible skip explaining why it did not run (and a failure under
 * REQUIRE_SERVICES=1, as in CI).
 */
export const describeOnRedis = (name: string, body: () => void): void => {
  if (redisUrl === '') {
    if (servicesRequired) throw new Error('REQUIRE_SERVICES=1 but REDIS_URL is not set.');
    describe.skip(`${name} (skipped for a known reason: REDIS_URL is not set, so there is no Redis to run on)`, () => {
      body();
    });
    return;
  }
  describe(name, () => {
    body();
  });
};

/** A TCP proxy in front of REDIS_URL that a test can hang, stop and start again, as a failing Redis would. */
export interface RedisProxy {
  /** REDIS_URL with the proxy's host and port. */
  readonly url: string;
  /** Holds every byte clients send: connections stay up, commands get no reply (a hung Redis). */
  hang(): void;
  /** Sends on what was held, and forwards again. */
  resume(): void;
  /** What was held since the last `hang`, as text. */
  held(): string;
  /** Drops every connection and refuses new ones (a stopped Redis). */
  stop(): Promise<void>;
  /** Accepts connections again on the same port (a restarted Redis). */
  start(): Promise<void>;
  close(): Promise<void>;
}

export const startRedisProxy = async (url = redisUrl): Promise<RedisProxy> => {
  const target = new URL(url);
  const upstreamPort = Number(target.port === '' ? '6379' : target.port);
  const upstreamHost = target.hostname;
  const sockets = new Set<Socket>();
  const pending = new Map<Socket, { upstream: Socket; chunks: Buffer[] }>();
  let hung = false;
  let heldText = '';

  const server = createServer((client) => {
    const upstream = connect(upstreamPort, upstreamHost);
    sockets.add(client).add(upstream);
    const link = { upstream, chunks: [] as Buffer[] };
    pending.set(client, link);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      pending.delete(client);
    };
    client.on('data', (chunk: Buffer) => {
      if (hung) {
        link.chunks.push(chunk);
        heldText += chunk.toString('latin1');
      } else {
        upstream.write(chunk);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
    });
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const port = await listen(0);
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(port);

  const stop = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  return {
    url: proxied.toString(),
    hang: () => {
      hung = true;
      heldText = '';
    },
    resume: () => {
      hung = false;
      for (const link of pending.values()) {
        for (const chunk of link.chunks.splice(0)) link.upstream.write(chunk);
      }
    },
    held: () => heldText,
    stop,
    start: async () => {
      await listen(port);
    },
    close: async () => {
      if (server.listening) await stop();
    },
  };
};

/**
 * Runs `body` with a client of the product's making connected through a fresh proxy to REDIS_URL, which the body
 * may hang or stop; afterwards the proxy is resumed and both are closed, whatever happened.
 */
export const withRedisProxy = async (
  body: (proxy: RedisProxy, connection: RedisConnection) => Promise<void>,
): Promise<void> => {
  const proxy = await startRedisProxy();
  const connection = await openTestRedis(proxy.url);
  try {
    await body(proxy, connection);
  } finally {
    proxy.resume();
    await connection.close();
    await proxy.close();
  }
};
