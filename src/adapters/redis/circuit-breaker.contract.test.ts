import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BreakerSettings, CircuitBreaker } from '#app/application/ports/circuit-breaker.ts';
import { createMemoryCircuitBreaker } from '../memory/circuit-breaker.ts';
import {
  calls,
  CONTRACT_SETTINGS,
  describeCircuitBreakerContract,
  grant,
} from '../../../test/contracts/circuit-breaker.contract.ts';
import { createManualClock, type ManualClock } from '../../../test/support/manual-clock.ts';
import {
  deleteKeys,
  describeOnRedis,
  openTestRedis,
  startRedisProxy,
  uniqueKeyPrefix,
  type RedisProxy,
} from '../../../test/support/redis.ts';
import { openRedis, type RedisConnection } from './client.ts';
import {
  createRedisCircuitBreaker,
  type BreakerBackendChange,
  type RedisCircuitBreakerOptions,
} from './circuit-breaker.ts';

const prefix = uniqueKeyPrefix('circuit-breaker');
const { openMs } = CONTRACT_SETTINGS;
const anError = expect.any(Error) as unknown;

describeOnRedis('circuit breaker on Redis', () => {
  /** What every breaker of this file reported: the contract must run on Redis, never on the fallback. */
  const changes: BreakerBackendChange[] = [];
  let seq = 0;
  /** A key prefix of its own under the file's, for breakers that must not see the others. */
  const freshPrefix = (): string => `${prefix}${String((seq += 1))}:`;

  const redisBreaker = (
    options: Pick<RedisCircuitBreakerOptions, 'redis' | 'clock'> & Partial<RedisCircuitBreakerOptions>,
  ): CircuitBreaker =>
    createRedisCircuitBreaker({
      settings: CONTRACT_SETTINGS,
      keyPrefix: options.keyPrefix ?? freshPrefix(),
      openFallback: (settings) => createMemoryCircuitBreaker({ clock: options.clock, settings }),
      onBackendChange: (change) => changes.push(change),
      ...options,
    });

  describeCircuitBreakerContract('redis', async () => {
    const connection = await openTestRedis();
    return {
      create: (clock, settings) => redisBreaker({ redis: connection.redis, clock, settings }),
      clean: async () => {
        await deleteKeys(connection.redis, prefix);
        expect(changes.splice(0)).toEqual([]);
      },
      close: () => connection.close(),
    };
  });

  describe('shared by instances, atomic, and standing in for Redis during an outage', () => {
    let one: RedisConnection;
    let two: RedisConnection;
    let clock: ManualClock;
    beforeAll(async () => {
      [one, two] = await Promise.all([openTestRedis(), openTestRedis()]);
    });
    afterEach(async () => {
      await deleteKeys(one.redis, prefix);
      changes.splice(0);
    });
    afterAll(async () => {
      await Promise.all([one.close(), two.close()]);
    });

    /** Two breakers, each on its own client, sharing one key prefix (as two worker processes would). */
    let keyPrefix: string;
    const pair = (settings: Partial<BreakerSettings> = {}): [CircuitBreaker, CircuitBreaker] => {
      clock = createManualClock();
      keyPrefix = freshPrefix();
      const options = { clock, keyPrefix, settings: { ...CONTRACT_SETTINGS, ...settings } };
      return [redisBreaker({ ...options, redis: one.redis }), redisBreaker({ ...options, redis: two.redis })];
    };

    it('shares one state between two instances on two clients', async () => {
      const [a, b] = pair();
      await calls(a, 'sirene', 'SSF');
      await calls(b, 'sirene', 'FF');

      const opened = await a.snapshot('sirene');
      expect(opened).toMatchObject({ state: 'OPEN', calls: 5, failures: 3 });
      expect(await b.snapshot('sirene')).toEqual(opened);
      expect(await b.acquire('sirene')).toEqual({ allowed: false, state: 'OPEN', retryAt: opened.retryAt });

      clock.advance(openMs);
      const probe = await grant(a, 'sirene');
      expect(probe.probe).toBe(true);
      expect(await b.acquire('sirene')).toMatchObject({ allowed: false, state: 'HALF_OPEN' });
      // The probe's report may come from another instance than its grant (a job moved between workers).
      await b.record('sirene', 'success', probe);
      expect(await a.acquire('sirene')).toEqual({ allowed: true, probe: false });
      expect(changes).toEqual([]);
    });

    it('grants exactly one probe of 50 concurrent acquires on two clients', async () => {
      const [a, b] = pair();
      await calls(a, 'sirene', 'FFFFF');
      clock.advance(openMs);

      const permits = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).acquire('sirene')),
      );
      expect(permits.filter((p) => p.allowed)).toEqual([
        { allowed: true, probe: true, openedAt: expect.any(String) as unknown },
      ]);
      expect(permits.filter((p) => !p.allowed && p.state === 'HALF_OPEN')).toHaveLength(49);
      expect(changes).toEqual([]);
    });

    it('loses no outcome of 60 concurrent records on two clients', async () => {
      const [a, b] = pair({ minimumCalls: 1_000 });
      await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          (i % 2 === 0 ? a : b).record('vies', i % 3 === 0 ? 'failure' : 'success', {
            allowed: true,
            probe: false,
          }),
        ),
      );
      expect(await b.snapshot('vies')).toMatchObject({ state: 'CLOSED', calls: 60, failures: 20 });
      expect(changes).toEqual([]);
    });

    it('keeps one small, expiring hash per breaker, and none for an unused or freshly closed one', async () => {
      const [a] = pair({ windowMs: 10_000 });
      const keyOf = (name: string): string => `${keyPrefix}breaker:${name}`;
      await a.snapshot('bodacc');
      await a.acquire('bodacc');
      expect(await one.redis.exists(keyOf('bodacc'))).toBe(0);

      // One success per second for a minute: 60 buckets seen, at most the last 10 (or 11) kept.
      for (let i = 0; i < 60; i += 1) {
        await calls(a, 'bodacc', 'S');
        clock.advance(1_000);
      }
      const fields = await one.redis.hkeys(keyOf('bodacc'));
      expect(fields.length).toBeLessThanOrEqual(11);
      expect(fields.every((f) => f.startsWith('c'))).toBe(true);
      const ttl = await one.redis.pttl(keyOf('bodacc'));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(24 * 60 * 60 * 1000);

      await calls(a, 'sirene', 'FFFFF');
      clock.advance(openMs);
      const probe = await grant(a, 'sirene');
      expect(await one.redis.hget(keyOf('sirene'), 'st')).toBe('H');
      await a.record('sirene', 'success', probe);
      expect(await one.redis.exists(keyOf('sirene'))).toBe(0);
    });

    it('keeps working in memory, without throwing, when Redis cannot be reached', async () => {
      const unreachable = openRedis({ url: 'redis://127.0.0.1:1', onError: () => undefined });
      try {
        clock = createManualClock();
        const seen: BreakerBackendChange[] = [];
        const b = redisBreaker({
          redis: unreachable.redis,
          clock,
          onBackendChange: (change) => seen.push(change),
        });

        expect(await b.acquire('sirene')).toEqual({ allowed: true, probe: false });
        await calls(b, 'sirene', 'SFFFF');
        expect(await b.acquire('sirene')).toMatchObject({ allowed: false, state: 'OPEN' });
        expect(await b.snapshot('sirene')).toMatchObject({ state: 'OPEN', calls: 5, failures: 4 });
        clock.advance(openMs);
        const probe = await grant(b, 'sirene');
        await b.record('sirene', 'success', probe);
        expect(await b.snapshot('sirene')).toMatchObject({ state: 'CLOSED', calls: 0 });

        expect(seen).toHaveLength(1);
        expect(seen[0]).toMatchObject({ backend: 'memory', cause: anError });
      } finally {
        await unreachable.close();
      }
    });

    describe('through a proxy that fails like Redis does', () => {
      let proxy: RedisProxy;
      let proxied: RedisConnection;
      beforeAll(async () => {
        proxy = await startRedisProxy();
        proxied = await openTestRedis(proxy.url);
      });
      afterAll(async () => {
        await proxied.close();
        await proxy.close();
      });

      it('goes back to Redis, and its shared state, once Redis is back', async () => {
        const [, observer] = pair();
        const seen: BreakerBackendChange[] = [];
        const b = redisBreaker({
          redis: proxied.redis,
          clock,
          keyPrefix,
          outageRecheckMs: 1_000,
          onBackendChange: (change) => seen.push(change),
        });
        await calls(b, 'sirene', 'SS');
        expect(await observer.snapshot('sirene')).toMatchObject({ calls: 2, failures: 0 });

        await proxy.stop();
        await calls(b, 'sirene', 'FFFFF');
        expect(await b.acquire('sirene')).toMatchObject({ allowed: false, state: 'OPEN' });
        expect(await observer.snapshot('sirene')).toMatchObject({ state: 'CLOSED', calls: 2, failures: 0 });
        expect(seen).toEqual([{ backend: 'memory', cause: anError }]);

        await proxy.start();
        expect(await proxied.ready(10_000)).toBe(true);
        // Connected again, but the last fault is less than outageRecheckMs old: still in memory.
        expect(await b.acquire('sirene')).toMatchObject({ allowed: false, state: 'OPEN' });

        clock.advance(1_000);
        expect(await b.acquire('sirene')).toEqual({ allowed: true, probe: false });
        await calls(b, 'sirene', 'F');
        expect(await observer.snapshot('sirene')).toMatchObject({ state: 'CLOSED', calls: 3, failures: 1 });
        expect(seen).toEqual([{ backend: 'memory', cause: anError }, { backend: 'redis' }]);
      });

      it('asks a hung Redis once per recheck, not on every call', async () => {
        clock = createManualClock();
        const seen: BreakerBackendChange[] = [];
        const b = redisBreaker({
          redis: proxied.redis,
          clock,
          outageRecheckMs: 1_000,
          onBackendChange: (change) => seen.push(change),
        });
        await calls(b, 'sirene', 'S');

        proxy.hang();
        try {
          // The first call waits for the command timeout, then the breaker is in memory: no call reaches Redis.
          await calls(b, 'sirene', 'FFFFF');
          expect(await b.acquire('sirene')).toMatchObject({ allowed: false, state: 'OPEN' });
          expect(proxy.held().match(/EVALSHA/gi)).toHaveLength(1);
          expect(seen).toEqual([
            {
              backend: 'memory',
              cause: expect.objectContaining({ message: 'Command timed out' }) as unknown,
            },
          ]);
        } finally {
          proxy.resume();
        }
        clock.advance(1_000);
        expect(await b.acquire('sirene')).toEqual({ allowed: true, probe: false });
        expect(seen.map((c) => c.backend)).toEqual(['memory', 'redis']);
      });
    });
  });
});
