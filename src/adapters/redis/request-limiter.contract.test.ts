import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestLimiter } from '#app/application/ports/request-limiter.ts';
import {
  allowedCount,
  AWKWARD_KEYS,
  consumeInTurn,
  describeRequestLimiterContract,
  expectAllowed,
  expectRefused,
  type Budgets,
} from '../../../test/contracts/request-limiter.contract.ts';
import {
  deleteKeys,
  describeOnRedis,
  openTestRedis,
  startRedisProxy,
  uniqueKeyPrefix,
} from '../../../test/support/redis.ts';
import { openRedis, type RedisConnection } from './client.ts';
import { createRedisRequestLimiter } from './request-limiter.ts';

const FILE_PREFIX = uniqueKeyPrefix('request-limiter');
let prefixes = 0;
/** A prefix of its own for each limiter (or pair sharing a budget); all under this file's, deleted at the end. */
const freshPrefix = (): string => {
  prefixes += 1;
  return `${FILE_PREFIX}${String(prefixes)}:`;
};

const MINUTE_MS = 60_000;
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

const connections: RedisConnection[] = [];
afterAll(async () => {
  for (const connection of connections.splice(0)) await connection.close();
});

/** Every key under `prefix` (SCAN, as other suites share the server). */
const keysUnder = async (redis: Redis, prefix: string): Promise<string[]> => {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  return keys.sort();
};

const budgets: Budgets = {
  login: { max: 3, windowMs: MINUTE_MS },
  read: { max: 2, windowMs: 2 * MINUTE_MS },
};

/** Neither all nor nothing: this process's own budget, from memory, and never a fault. */
const expectInsuredBudget = async (limiter: RequestLimiter): Promise<void> => {
  const decisions = await consumeInTurn(limiter, 'login', '203.0.113.7', 3);
  expect(decisions.map((d) => expectAllowed(d, 3))).toEqual([2, 1, 0]);
  expectRefused(await limiter.consume('login', '203.0.113.7'), 3, MINUTE_MS);
  expect(expectAllowed(await limiter.consume('login', '2001:db8::1'), 3)).toBe(2);
  expect(allowedCount(await consumeInTurn(limiter, 'read', '203.0.113.7', 3))).toBe(2);
  await expect(limiter.consume('unknown', 'k')).rejects.toThrow(RangeError);
};

describeOnRedis('Redis request limiter', () => {
  describeRequestLimiterContract('redis', async () => {
    const connection = await openTestRedis();
    connections.push(connection);
    return {
      limiterFor: (b) =>
        createRedisRequestLimiter({ redis: connection.redis, keyPrefix: freshPrefix(), budgets: b }),
      close: () => deleteKeys(connection.redis, FILE_PREFIX),
    };
  });

  describe('shared by every instance', () => {
    let one: Redis;
    let other: Redis;
    beforeAll(async () => {
      const opened = await Promise.all([openTestRedis(), openTestRedis()]);
      connections.push(...opened);
      [one, other] = opened.map((c) => c.redis) as [Redis, Redis];
    });
    afterAll(async () => {
      await deleteKeys(one, FILE_PREFIX);
    });

    /** Two limiters, as two instances would hold them: one client each, the same prefix. */
    const twoInstances = (b: Budgets): readonly [RequestLimiter, RequestLimiter, string] => {
      const keyPrefix = freshPrefix();
      return [
        createRedisRequestLimiter({ redis: one, keyPrefix, budgets: b }),
        createRedisRequestLimiter({ redis: other, keyPrefix, budgets: b }),
        keyPrefix,
      ];
    };

    it('spends one budget across instances, counted in Redis', async () => {
      const [a, b] = twoInstances({ api: { max: 5, windowMs: MINUTE_MS } });

      const remaining: number[] = [];
      for (let i = 0; i < 6; i += 1) {
        const decision = await (i % 2 === 0 ? a : b).consume('api', '203.0.113.7');
        if (decision.allowed) remaining.push(decision.remaining);
        else expectRefused(decision, 5, MINUTE_MS);
      }
      expect(remaining).toEqual([4, 3, 2, 1, 0]);
      expectRefused(await a.consume('api', '203.0.113.7'), 5, MINUTE_MS);
      expectRefused(await b.consume('api', '203.0.113.7'), 5, MINUTE_MS);
    });

    it('allows exactly max of 50 concurrent requests from two instances', async () => {
      const [a, b] = twoInstances({ api: { max: 4, windowMs: MINUTE_MS } });

      const decisions = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).consume('api', 'client:acme')),
      );
      expect(allowedCount(decisions)).toBe(4);
    });

    it('keeps one expiring counter per route class and client, named by the SHA-256 of the client key', async () => {
      const [a, , keyPrefix] = twoInstances({
        api: { max: 5, windowMs: MINUTE_MS },
        'odd class:*': { max: 5, windowMs: 2 * MINUTE_MS },
      });
      for (const key of AWKWARD_KEYS) await a.consume('api', key);
      await a.consume('odd class:*', '203.0.113.7');

      const keys = await keysUnder(one, keyPrefix);
      expect(keys).toEqual(
        [
          ...AWKWARD_KEYS.map((key) => `${keyPrefix}requests:api:${sha256(key)}`),
          `${keyPrefix}requests:odd%20class%3A*:${sha256('203.0.113.7')}`,
        ].sort(),
      );
      for (const key of keys) {
        const ttl = await one.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(2 * MINUTE_MS);
      }
    });
  });

  describe('when Redis fails', () => {
    it('answers from the insurance budget once Redis has stopped', async () => {
      const proxy = await startRedisProxy();
      try {
        const connection = await openTestRedis(proxy.url);
        connections.push(connection);
        const limiter = createRedisRequestLimiter({
          redis: connection.redis,
          keyPrefix: freshPrefix(),
          budgets,
        });
        expectAllowed(await limiter.consume('read', 'before'), 2);

        await proxy.stop();
        await expectInsuredBudget(limiter);
      } finally {
        await proxy.close();
      }
    });

    it('answers from the insurance budget when Redis hangs, once its commands time out', async () => {
      const proxy = await startRedisProxy();
      try {
        const connection = await openTestRedis(proxy.url);
        connections.push(connection);
        const limiter = createRedisRequestLimiter({
          redis: connection.redis,
          keyPrefix: freshPrefix(),
          budgets,
        });
        proxy.hang();

        expect(expectAllowed(await limiter.consume('login', 'k'), 3)).toBe(2);
        // The command did reach the hung server: the insurance answered because it timed out.
        expect(proxy.held()).toContain(`requests:login:${sha256('k')}`);
        expect(connection.redis.status).toBe('ready');
      } finally {
        proxy.resume();
        await proxy.close();
      }
    });
  });
});

// Needs no Redis: it runs everywhere.
describe('Redis request limiter when Redis is unreachable', () => {
  it('answers from an in-memory budget of the same size, never throwing', async () => {
    const connection = openRedis({ url: 'redis://127.0.0.1:1', onError: () => undefined });
    connections.push(connection);
    expect(connection.redis.status).not.toBe('ready');

    await expectInsuredBudget(
      createRedisRequestLimiter({ redis: connection.redis, keyPrefix: freshPrefix(), budgets }),
    );
  });

  it('refuses, with a RangeError, a budget it could not keep, as the memory adapter does', () => {
    const connection = openRedis({ url: 'redis://127.0.0.1:1', onError: () => undefined });
    connections.push(connection);
    expect(() =>
      createRedisRequestLimiter({
        redis: connection.redis,
        keyPrefix: freshPrefix(),
        budgets: { api: { max: 5, windowMs: 1_500 } },
      }),
    ).toThrow(RangeError);
  });
});
