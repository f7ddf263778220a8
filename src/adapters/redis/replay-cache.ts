import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { ReplayCache } from '#app/application/ports/replay-cache.ts';

export interface RedisReplayCacheOptions {
  /** A client made by `openRedis` (no offline queue, short timeouts), which other adapters may share. */
  readonly redis: Redis;
  /** A value is remembered at `${keyPrefix}replay:<SHA-256 hex of it>`, e.g. `vigilance:replay:2c26b4…`. */
  readonly keyPrefix: string;
}

/**
 * Single-use values in Redis, shared by every instance: a proof id used on one instance is a replay on all.
 * `firstUse` is one `SET key 1 PX ttl NX`, atomic in Redis, so of any number of concurrent calls with one key, on
 * any number of instances, exactly one answers true; Redis forgets the value when its ttl passes. Keys are the
 * SHA-256 of the value, whatever characters or length the caller sends. It fails closed: a command that fails
 * (Redis down, a timeout, an error reply) is thrown as InfrastructureError REPLAY_CACHE_UNAVAILABLE, never
 * answered true, and there is no in-memory stand-in (one would accept, on each instance, a proof already used on
 * another). A ttl that is not a positive whole number of ms is a RangeError. Does not own the client.
 */
export const createRedisReplayCache = ({ redis, keyPrefix }: RedisReplayCacheOptions): ReplayCache => ({
  firstUse: async (key, ttlMs) => {
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
      throw new RangeError('A single-use value is remembered a positive whole number of milliseconds.');
    }
    const name = `${keyPrefix}replay:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
    let reply: string | null;
    try {
      reply = await redis.set(name, '1', 'PX', ttlMs, 'NX');
    } catch (cause) {
      throw new InfrastructureError('REPLAY_CACHE_UNAVAILABLE', 'The replay cache (Redis) did not answer.', {
        cause,
      });
    }
    return reply === 'OK';
  },
});
