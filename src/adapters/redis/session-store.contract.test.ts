import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { SessionStore } from '#app/application/ports/session-store.ts';
import {
  describeSessionStoreContract,
  loggedIn,
  loggingIn,
  newSessionId,
} from '../../../test/contracts/session-store.contract.ts';
import {
  deleteKeys,
  describeOnRedis,
  openTestRedis,
  withRedisProxy,
  uniqueKeyPrefix,
} from '../../../test/support/redis.ts';
import { openRedis, type RedisConnection } from './client.ts';
import { createRedisSessionStore } from './session-store.ts';

const PREFIX = uniqueKeyPrefix('session-store');
/** Redis expires keys to the millisecond; this covers the timer's rounding. */
const MARGIN_MS = 20;
const HOUR_MS = 60 * 60 * 1000;

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Every call of the store rejects with SESSION_STORE_UNAVAILABLE, its cause the client's error. */
const expectUnavailable = async (store: SessionStore): Promise<void> => {
  const calls: readonly (() => Promise<unknown>)[] = [
    () => store.get(newSessionId()),
    () => store.set(newSessionId(), loggedIn(), HOUR_MS),
    () => store.delete(newSessionId()),
  ];
  for (const call of calls) {
    const error: unknown = await call().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(error).toMatchObject({ code: 'SESSION_STORE_UNAVAILABLE', cause: expect.any(Error) as unknown });
  }
  // A programming error is not a fault of the store.
  await expect(store.set(newSessionId(), loggedIn(), 0)).rejects.toThrow(RangeError);
};

describeOnRedis('Redis session store', () => {
  describeSessionStoreContract('redis', async () => {
    const connection = await openTestRedis();
    return {
      store: createRedisSessionStore({ redis: connection.redis, keyPrefix: PREFIX }),
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

    it('keeps a session as JSON at the SHA-256 of its id, expiring with its ttl', async () => {
      const keyPrefix = `${PREFIX}layout:`;
      const store = createRedisSessionStore({ redis: one.redis, keyPrefix });
      const id = newSessionId();
      const data = loggingIn();
      await store.set(id, data, 60_000);

      const key = `${keyPrefix}session:${sha256(id)}`;
      expect(JSON.parse((await one.redis.get(key)) ?? 'null')).toEqual(data);
      const ttl = await one.redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);

      await store.delete(id);
      expect(await one.redis.exists(key)).toBe(0);
    });

    it('never holds a session id, in a key or a value', async () => {
      const keyPrefix = `${PREFIX}secrecy:`;
      const store = createRedisSessionStore({ redis: one.redis, keyPrefix });
      const ids = Array.from({ length: 5 }, newSessionId);
      for (const id of ids) await store.set(id, loggedIn(), HOUR_MS);

      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await one.redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
      expect(keys).toHaveLength(ids.length);
      const values = await one.redis.mget(...keys);
      const everything = [...keys, ...values].join('\n');
      for (const id of ids) expect(everything).not.toContain(id);
    });

    it('shares sessions between instances on two clients', async () => {
      const a = createRedisSessionStore({ redis: one.redis, keyPrefix: PREFIX });
      const b = createRedisSessionStore({ redis: two.redis, keyPrefix: PREFIX });
      const id = newSessionId();
      const data = loggedIn();

      await a.set(id, data, HOUR_MS);
      expect(await b.get(id)).toEqual(data);
      await b.delete(id);
      expect(await a.get(id)).toBeNull();
    });

    it('reports a stored value it cannot read as SESSION_STORE_UNAVAILABLE', async () => {
      const keyPrefix = `${PREFIX}garbled:`;
      const store = createRedisSessionStore({ redis: one.redis, keyPrefix });
      const [notJson, notObject] = [newSessionId(), newSessionId()];
      await one.redis.set(`${keyPrefix}session:${sha256(notJson)}`, '{"userId":', 'PX', 60_000);
      await one.redis.set(`${keyPrefix}session:${sha256(notObject)}`, '"text"', 'PX', 60_000);

      for (const id of [notJson, notObject]) {
        await expect(store.get(id)).rejects.toMatchObject({
          name: 'InfrastructureError',
          code: 'SESSION_STORE_UNAVAILABLE',
        });
      }
    });
  });

  describe('when Redis fails', () => {
    it('throws SESSION_STORE_UNAVAILABLE once Redis has stopped', async () => {
      await withRedisProxy(async (proxy, connection) => {
        const store = createRedisSessionStore({ redis: connection.redis, keyPrefix: PREFIX });
        const id = newSessionId();
        await store.set(id, loggedIn(), HOUR_MS);
        expect(await store.get(id)).not.toBeNull();

        await proxy.stop();
        await expectUnavailable(store);
      });
    });

    it('throws SESSION_STORE_UNAVAILABLE when Redis hangs, once its commands time out', async () => {
      await withRedisProxy(async (proxy, connection) => {
        const store = createRedisSessionStore({ redis: connection.redis, keyPrefix: PREFIX });
        proxy.hang();
        await expectUnavailable(store);
        // The commands did reach the hung server: they failed because they timed out.
        expect(proxy.held().toUpperCase()).toContain('SET');
        expect(connection.redis.status).toBe('ready');
      });
    });
  });
});

// Needs no Redis: it runs everywhere.
describe('Redis session store when Redis is unreachable', () => {
  it('throws SESSION_STORE_UNAVAILABLE', async () => {
    const connection = openRedis({ url: 'redis://127.0.0.1:1', onError: () => undefined });
    try {
      expect(connection.redis.status).not.toBe('ready');
      await expectUnavailable(createRedisSessionStore({ redis: connection.redis, keyPrefix: PREFIX }));
    } finally {
      await connection.close();
    }
  });
});
