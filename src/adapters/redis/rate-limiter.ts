import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { GRANTED, leasedSemaphore, refused, type Gate } from '#app/adapters/shared/permits.ts';
import {
  checkLimits,
  type LimitRule,
  type RateLimiter,
  type SourceLimits,
} from '#app/application/ports/rate-limiter.ts';

export interface RedisRateLimiterOptions {
  /**
   * A client that connects by itself (not `lazyConnect`). Until it is ready, and whenever it is not, the limiter
   * answers from its in-memory fallback rather than queue behind a reconnection.
   */
  readonly redis: Redis;
  readonly limits: SourceLimits;
  /** Every process that shares the budget uses the same prefix; keys are `<prefix>:rate:<source>` and so on. */
  readonly keyPrefix: string;
}

/**
 * A published rate, counted in Redis by rate-limiter-flexible (an atomic INCR with expiry: a fixed window that opens
 * with the first request). Its insurance limiter keeps the same rule in this process's memory and answers whenever
 * Redis is not ready or a command fails, so an outage costs the shared budget, not every registry call.
 */
const rateGate = (
  redis: Redis,
  keyPrefix: string,
  source: string,
  points: number,
  durationMs: number,
): Gate => {
  const duration = durationMs / 1000;
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${keyPrefix}:rate`,
    points,
    duration,
    // Fall back at once instead of waiting in ioredis's offline queue for a reconnection.
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ points, duration }),
  });
  return async () => {
    try {
      await limiter.consume(source);
      return GRANTED;
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) return refused(refusal.msBeforeNext);
      throw refusal;
    }
  };
};

/**
 * Takes a place in the sorted set of a source's permits, scored by when their lease lapses; lapsed ones are dropped
 * first. Time is Redis's own clock, so processes with skewed clocks agree. Returns 0 when granted, otherwise the ms
 * until the oldest lease lapses. The key expires with its newest lease, so an idle source leaves nothing behind.
 * KEYS[1] the source's permits; ARGV max, lease (ms), permit id.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) - now
`;
const ACQUIRE_SHA = createHash('sha1').update(ACQUIRE).digest('hex');

const acquireInRedis = async (redis: Redis, key: string, max: number, leaseMs: number, id: string) => {
  const args = [key, max, leaseMs, id] as const;
  try {
    return Number(await redis.evalsha(ACQUIRE_SHA, 1, ...args));
  } catch (error) {
    // The script cache is empty after a restart or SCRIPT FLUSH: send the script itself once.
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return Number(await redis.eval(ACQUIRE, 1, ...args));
  }
};

/**
 * Requests in flight, shared by every process. Each permit has its own id, so a release removes that permit and no
 * other: a late release, after the lease lapsed and the place went to someone else, frees nothing (a shared counter
 * with consume/reward would free the newcomer's place). A permit granted by the fallback is released there.
 */
const concurrencyGate = (
  redis: Redis,
  keyPrefix: string,
  source: string,
  max: number,
  leaseMs: number,
): Gate => {
  const key = `${keyPrefix}:concurrency:${source}`;
  const fallback = leasedSemaphore(max, leaseMs);
  return async () => {
    if (redis.status !== 'ready') return fallback();
    const id = randomUUID();
    let waitMs: number;
    try {
      waitMs = await acquireInRedis(redis, key, max, leaseMs, id);
    } catch {
      return fallback();
    }
    if (waitMs > 0) return refused(waitMs);
    let released = false;
    const release = async (): Promise<void> => {
      if (released) return;
      released = true;
      // A place Redis cannot free now lapses with its lease.
      if (redis.status !== 'ready') return;
      await redis.zrem(key, id).catch(() => undefined);
    };
    return Object.freeze({ granted: true, release });
  };
};

const gateOf = (redis: Redis, keyPrefix: string, source: string, rule: LimitRule): Gate => {
  switch (rule.kind) {
    case 'rate':
      return rateGate(redis, keyPrefix, source, rule.points, rule.durationMs);
    case 'concurrency':
      return concurrencyGate(redis, keyPrefix, source, rule.max, rule.leaseMs);
  }
};

/**
 * The rate limiter shared by every Vigilance process through Redis (5 or later: the semaphore reads the server's
 * clock in a script). When Redis is down each process falls back to an in-memory budget of one full rule, so a
 * fleet of N processes may then reach N times a registry's limit until Redis is back; the registry's own 429 is the
 * backstop. Throws a RangeError for a rule it cannot keep or an empty prefix. Does not own the client: closing it is
 * the caller's business.
 */
export const createRedisRateLimiter = ({
  redis,
  limits,
  keyPrefix,
}: RedisRateLimiterOptions): RateLimiter => {
  checkLimits(limits);
  if (keyPrefix === '') throw new RangeError('The rate limiter needs a key prefix of its own.');
  const gates = new Map(
    Object.entries(limits).map(([source, rule]) => [source, gateOf(redis, keyPrefix, source, rule)]),
  );
  return {
    tryAcquire: (source) => gates.get(source)?.() ?? Promise.resolve(GRANTED),
  };
};
