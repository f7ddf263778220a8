import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { ReplayCache } from '#app/application/ports/replay-cache.ts';
import { describeReplayCacheContract, newProofId } from '../../../test/contracts/replay-cache.contract.ts';
import {
  deleteKeys,
  describeOnRedis,
  openTestRedis,
  withRedisProxy,
  uniqueKeyPrefix,
} from '../../../test/support/redis.ts';
import { openRedis, type RedisConnection } from './client.ts';
import { createRedisReplayCache } from './replay-cache.ts';

const PREFIX = uniqueKeyPrefix('replay-cache');
/** Redis expires keys to the millisecond; this covers the timer's rounding. */
const MARGIN_MS = 20;
const HOUR_MS = 60 * 60 * 1000;

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Fails closed: every first use rejects with REPLAY_CACHE_UNAVAILABLE (its cause the client's error), none is true. */
const expectUnavailable = async (cache: ReplayCache): Promise<void> => {
  const outcomes = await Promise.allSettled(
    Array.from({ length: 5 }, () => cache.firstUse(newProofId(), HOUR_MS)),
  );
  for (const outcome of outcomes) {
    expect(outcome.status).toBe('rejected');
    if (outcome.status === 'fulfilled') continue;
    expect(outcome.reason).toBeInstanceOf(InfrastructureError);
    expect(outcome.reason).toMatchObject({
      code: 'REPLAY_CACHE_UNAVAILABLE',
      cause: expect.any(Error) as unknown,
    });
  }
  await expect(cache.firstUse(newProofId(), 0)).rejects.toThrow(RangeError);
};

describeOnRedis('Redis replay cache', () => {
  describeReplayCacheContract('redis', async () => {
    const connection = await openTestRedis();
    return {
      cache: createRedisReplayCache({ redis: connection.redis, keyPrefix: PREFIX }),
      shortTtlMs: 200,
      elapse: (ms: number) => sleep(ms + MARGIN_MS),
      close: async () => {
        await deleteKeys(connection.redis, PREFIX);
        await connection.close();
      },
    };
  });

  describe('in Redis', () => {
    let one: RedisConnection;
    let two: RedisConnection;
    beforeAll(async () => {
      [one, two] = await Promise.all([openTestRedis(), openTestRedis()]);
    });
    afterAll(async () => {
      await deleteKeys(one.redis, PREFIX);
      await Promise.all([one.close(), two.close()]);
    });

    it('remembers a value at the SHA-256 of it, expiring with its ttl, and holds nothing of the value itself', async () => {
      const keyPrefix = `${PREFIX}layout:`;
      const cache = createRedisReplayCache({ redis: one.redis, keyPrefix });
      const jti = `${newProofId()}:*?[]`;
      expect(await cache.firstUse(jti, 60_000)).toBe(true);

      const key = `${keyPrefix}replay:${sha256(jti)}`;
      expect(await one.redis.get(key)).toBe('1');
      const ttl = await one.redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
      // A replay leaves the expiry alone.
      expect(await cache.firstUse(jti, HOUR_MS)).toBe(false);
      expect(await one.redis.pttl(key)).toBeLessThanOrEqual(60_000);

      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await one.redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
      expect(keys).toEqual([key]);
    });

    it('answers true to exactly one of 50 concurrent first uses on two instances', async () => {
      const a = createRedisReplayCache({ redis: one.redis, keyPrefix: PREFIX });
      const b = createRedisReplayCache({ redis: two.redis, keyPrefix: PREFIX });
      const jti = newProofId();

      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).firstUse(jti, HOUR_MS)),
      );
      expect(answers.filter((first) => first)).toHaveLength(1);
    });
  });

  describe('when Redis fails', () => {
    it('throws REPLAY_CACHE_UNAVAILABLE once Redis has stopped, never answering a first use', async () => {
      await withRedisProxy(async (proxy, connection) => {
        const cache = createRedisReplayCache({ redis: connection.redis, keyPrefix: PREFIX });
        expect(await cache.firstUse(newProofId(), HOUR_MS)).toBe(true);

        await proxy.stop();
        await expectUnavailable(cache);
      });
    });

    it('throws REPLAY_CACHE_UNAVAILABLE when Redis hangs, once its commands time out', async () => {
      await withRedisProxy(async (proxy, connection) => {
        const cache = createRedisReplayCache({ redis: connection.redis, keyPrefix: PREFIX });
        proxy.hang();
        await expectUnavailable(cache);
        // The commands did reach the hung server: they failed because they timed out.
        expect(proxy.held().toUpperCase()).toContain('SET');
        expect(connection.redis.status).toBe('ready');
      });
    });
  });
});

// Needs no Redis: it runs everywhere.
describe('Redis replay cache when Redis is unreachable', () => {
  it('throws REPLAY_CACHE_UNAVAILABLE, never answering a first use', async () => {
    const connection = openRedis({ url: 'redis://127.0.0.1:1', onError: () => undefined });
    try {
      expect(connection.redis.status).not.toBe('ready');
      await expectUnavailable(createRedisReplayCache({ redis: connection.redis, keyPrefix: PREFIX }));
    } finally {
      await connection.close();
    }
  });
});
