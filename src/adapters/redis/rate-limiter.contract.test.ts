import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateLimiter, SourceLimits } from '#app/application/ports/rate-limiter.ts';
import {
  acquireInTurn,
  describeRateLimiterContract,
  expectGranted,
  expectRefused,
  grantedCount,
} from '../../../test/contracts/rate-limiter.contract.ts';
import {
  deleteKeys,
  describeOnRedis,
  openTestRedis,
  startRedisProxy,
  uniqueKeyPrefix,
} from '../../../test/support/redis.ts';
import { openRedis, type RedisConnection } from './client.ts';
import { createRedisRateLimiter } from './rate-limiter.ts';

const FILE_PREFIX = uniqueKeyPrefix('rate-limiter');
let prefixes = 0;
/** A prefix of its own for each limiter (or pair sharing a budget); all under this file's, deleted at the end. */
const freshPrefix = (): string => {
  prefixes += 1;
  return `${FILE_PREFIX}${String(prefixes)}`;
};

const connections: RedisConnection[] = [];
afterAll(async () => {
  for (const connection of connections.splice(0)) await connection.close();
});

/** A client of the product's own making, connected to REDIS_URL. */
const connected = async (): Promise<Redis> => {
  const connection = await openTestRedis();
  connections.push(connection);
  return connection.redis;
};

/** A client of the product's own making on `url`, left connecting: nothing there may ever answer. */
const connecting = (url: string): Redis => {
  const connection = openRedis({ url });
  connections.push(connection);
  return connection.redis;
};

const bulk = (text: string): string => `$${String(Buffer.byteLength(text))}\r\n${text}\r\n`;

/**
 * A Redis that accepts connections and refuses every command, as a read-only replica does: the client is ready,
 * yet every limiter command fails. It declines RESP3, accepts the client's introduction and answers the ready
 * check, so ioredis connects.
 */
const startRefusingRedis = async (): Promise<{ readonly port: number; close(): Promise<void> }> => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let command = readCommand(pending); command !== null; command = readCommand(pending)) {
        pending = pending.subarray(command.length);
        const name = command.name.toUpperCase();
        if (name === 'HELLO') socket.write("-ERR unknown command 'HELLO'\r\n");
        else if (name === 'CLIENT') socket.write('+OK\r\n');
        else if (name === 'INFO') socket.write(bulk('# Replication\r\nrole:slave\r\nloading:0\r\n'));
        else socket.write("-READONLY You can't write against a read only replica.\r\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
};

/** The name and byte length of the first complete RESP command in `buffer`, or null while it is incomplete. */
const readCommand = (buffer: Buffer): { readonly name: string; readonly length: number } | null => {
  const line = (from: number): { readonly text: string; readonly next: number } | null => {
    const end = buffer.indexOf('\r\n', from);
    return end < 0 ? null : { text: buffer.toString('latin1', from, end), next: end + 2 };
  };
  const header = line(0);
  if (header === null) return null;
  let position = header.next;
  let name = '';
  for (let i = 0; i < Number(header.text.slice(1)); i += 1) {
    const size = line(position);
    if (size === null) return null;
    const end = size.next + Number(size.text.slice(1));
    if (buffer.length < end + 2) return null;
    if (i === 0) name = buffer.toString('latin1', size.next, end);
    position = end + 2;
  }
  return { name, length: position };
};

describeOnRedis('Redis rate limiter', () => {
  describeRateLimiterContract('redis', async () => {
    const redis = await connected();
    return {
      limiterFor: (limits) => createRedisRateLimiter({ redis, limits, keyPrefix: freshPrefix() }),
      close: () => deleteKeys(redis, FILE_PREFIX),
    };
  });

  describe('shared by every process', () => {
    let one: Redis;
    let other: Redis;
    beforeAll(async () => {
      [one, other] = await Promise.all([connected(), connected()]);
    });
    afterAll(async () => {
      await deleteKeys(one, FILE_PREFIX);
    });

    /** Two limiters, as two processes would hold them: one client each, the same prefix. */
    const twoProcesses = (limits: SourceLimits): readonly [RateLimiter, RateLimiter, string] => {
      const keyPrefix = freshPrefix();
      return [
        createRedisRateLimiter({ redis: one, limits, keyPrefix }),
        createRedisRateLimiter({ redis: other, limits, keyPrefix }),
        keyPrefix,
      ];
    };

    it('spends one rate budget across processes, counted in Redis', async () => {
      const [a, b, keyPrefix] = twoProcesses({ insee: { kind: 'rate', points: 5, durationMs: 60_000 } });

      let granted = 0;
      for (let i = 0; i < 6; i += 1) {
        for (const limiter of [a, b]) if ((await limiter.tryAcquire('insee')).granted) granted += 1;
      }
      expect(granted).toBe(5);
      expectRefused(await a.tryAcquire('insee'), 60_000);
      expectRefused(await b.tryAcquire('insee'), 60_000);
      const ttl = await one.pttl(`${keyPrefix}:rate:insee`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    });

    it('grants exactly the maximum of a concurrency rule to 50 concurrent requests from two processes', async () => {
      const [a, b, keyPrefix] = twoProcesses({ vies: { kind: 'concurrency', max: 4, leaseMs: 10_000 } });

      const permits = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).tryAcquire('vies')),
      );
      expect(grantedCount(permits)).toBe(4);
      const key = `${keyPrefix}:concurrency:vies`;
      expect(await one.zcard(key)).toBe(4);
      const ttl = await one.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(10_000);

      // A place released by one process goes to the other.
      const held = permits.filter((p) => p.granted);
      await held[0]?.release();
      expectGranted(await b.tryAcquire('vies'));
      expectRefused(await a.tryAcquire('vies'), 10_000);
      for (const permit of held) await permit.release();
      expect(await one.zcard(key)).toBe(1);
    });

    it('reloads its script when Redis has forgotten it (a restart, SCRIPT FLUSH)', async () => {
      const [a] = twoProcesses({ vies: { kind: 'concurrency', max: 1, leaseMs: 10_000 } });
      await a.tryAcquire('vies').then((p) => expectGranted(p).release());

      await one.script('FLUSH');
      const permit = expectGranted(await a.tryAcquire('vies'));
      expectRefused(await a.tryAcquire('vies'), 10_000);
      await permit.release();
    });

    it('resolves a release when Redis has gone since the grant: the place lapses with its lease', async () => {
      const connection = await openTestRedis();
      connections.push(connection);
      const redis = connection.redis;
      const keyPrefix = freshPrefix();
      const limiter = createRedisRateLimiter({
        redis,
        limits: { vies: { kind: 'concurrency', max: 1, leaseMs: 10_000 } },
        keyPrefix,
      });
      const permit = expectGranted(await limiter.tryAcquire('vies'));
      redis.disconnect();

      await expect(permit.release()).resolves.toBeUndefined();
      expect(await one.zcard(`${keyPrefix}:concurrency:vies`)).toBe(1);
    });
  });

  describe('when Redis cannot answer', () => {
    it('falls back to an in-memory budget when Redis hangs, once its commands time out', async () => {
      const proxy = await startRedisProxy();
      try {
        const connection = openRedis({ url: proxy.url });
        connections.push(connection);
        expect(await connection.ready(5_000)).toBe(true);
        const limiter = createRedisRateLimiter({
          redis: connection.redis,
          limits: {
            insee: { kind: 'rate', points: 1, durationMs: 60_000 },
            vies: { kind: 'concurrency', max: 1, leaseMs: 10_000 },
          },
          keyPrefix: freshPrefix(),
        });
        proxy.hang();

        expectGranted(await limiter.tryAcquire('insee'));
        expectRefused(await limiter.tryAcquire('insee'), 60_000);
        const permit = expectGranted(await limiter.tryAcquire('vies'));
        expectRefused(await limiter.tryAcquire('vies'), 10_000);
        await permit.release();
        expectGranted(await limiter.tryAcquire('vies'));
        // The commands did reach the hung server: the fallback answered because they timed out.
        expect(proxy.held().toLowerCase()).toContain('evalsha');
        expect(connection.redis.status).toBe('ready');
      } finally {
        await proxy.close();
      }
    });
  });
});

// Neither case needs the Redis of REDIS_URL: they run everywhere.
describe('Redis rate limiter when Redis cannot answer', () => {
  const limits: SourceLimits = {
    insee: { kind: 'rate', points: 3, durationMs: 60_000 },
    vies: { kind: 'concurrency', max: 2, leaseMs: 10_000 },
  };

  /** Neither all nor nothing: this process's own budget, from memory, and never a fault. */
  const expectInsuredBudget = async (limiter: RateLimiter): Promise<void> => {
    expect(grantedCount(await acquireInTurn(limiter, 'insee', 5))).toBe(3);
    expectRefused(await limiter.tryAcquire('insee'), 60_000);

    const first = expectGranted(await limiter.tryAcquire('vies'));
    expectGranted(await limiter.tryAcquire('vies'));
    expectRefused(await limiter.tryAcquire('vies'), 10_000);
    await first.release();
    await first.release();
    expectGranted(await limiter.tryAcquire('vies'));
    expectRefused(await limiter.tryAcquire('vies'), 10_000);

    expect(grantedCount(await acquireInTurn(limiter, 'unknown', 10))).toBe(10);
  };

  it('falls back to an in-memory budget when Redis is unreachable', async () => {
    const unreachable = connecting('redis://127.0.0.1:1');
    expect(unreachable.status).not.toBe('ready');

    await expectInsuredBudget(
      createRedisRateLimiter({ redis: unreachable, limits, keyPrefix: freshPrefix() }),
    );
  });

  it('falls back to an in-memory budget when Redis refuses every command, the client staying connected', async () => {
    const refusing = await startRefusingRedis();
    try {
      const connection = openRedis({ url: `redis://127.0.0.1:${String(refusing.port)}` });
      connections.push(connection);
      expect(await connection.ready(5_000)).toBe(true);
      const redis = connection.redis;
      await expect(redis.set('x', '1')).rejects.toThrow('READONLY');
      expect(redis.status).toBe('ready');

      await expectInsuredBudget(createRedisRateLimiter({ redis, limits, keyPrefix: freshPrefix() }));
      expect(redis.status).toBe('ready');
    } finally {
      await refusing.close();
    }
  });

  it('refuses an empty key prefix', () => {
    const redis = connecting('redis://127.0.0.1:1');
    expect(() => createRedisRateLimiter({ redis, limits: {}, keyPrefix: '' })).toThrow(RangeError);
  });
});
