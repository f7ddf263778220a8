import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import {
  checkBudgets,
  type RequestBudget,
  type RequestDecision,
  type RequestLimiter,
} from '#app/application/ports/request-limiter.ts';

export interface RedisRequestLimiterOptions {
  /**
   * A client made by `openRedis`, which connects by itself. Until it is ready, and whenever it is not, the limiter
   * answers from its in-memory insurance budget rather than queue behind a reconnection.
   */
  readonly redis: Redis;
  /**
   * Every instance that shares the budgets uses the same prefix. A client's count lives at
   * `${keyPrefix}requests:<route class, URI-encoded>:<SHA-256 hex of the client key>`.
   */
  readonly keyPrefix: string;
  /** The budget of each route class; a class without one is a programming error. */
  readonly budgets: Readonly<Record<string, RequestBudget>>;
}

/** A client key as a Redis key part: fixed length, no separator or glob character, and no IP address in Redis. */
const keyPartOf = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

type Count = (key: string) => Promise<RequestDecision>;

/**
 * One route class's budget, counted in Redis by rate-limiter-flexible (an atomic INCR with expiry: a fixed window
 * that opens with a key's first request). Its insurance limiter keeps the same budget in this process's memory and
 * answers whenever Redis is not ready or a command fails (refused, timed out, an error reply).
 */
const countOf = (redis: Redis, prefix: string, { max, windowMs }: RequestBudget): Count => {
  const duration = windowMs / 1000;
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: prefix,
    points: max,
    duration,
    // Fall back at once instead of waiting in ioredis's offline queue for a reconnection.
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ points: max, duration }),
  });
  return async (key) => {
    try {
      const res = await limiter.consume(keyPartOf(key));
      return Object.freeze({ allowed: true, limit: max, remaining: res.remainingPoints });
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      const retryAfterMs = Math.min(windowMs, Math.max(1, Math.ceil(refusal.msBeforeNext)));
      return Object.freeze({ allowed: false, limit: max, retryAfterMs });
    }
  };
};

/**
 * The request limiter shared by every instance of the HTTP API through Redis: one budget per (route class, client
 * key) for the whole fleet. Client keys may hold any characters (IP addresses, client ids): Redis sees only their
 * SHA-256. When Redis is down or slow (a command fails after the client's timeout), each instance answers from an
 * in-memory budget of the same size, so an outage lets a client make up to N times its budget on N instances,
 * never stops the API and never throws. `consume` on a route class without a budget rejects with a RangeError (a
 * programming error), and `createRedisRequestLimiter` throws one for a budget that is not a positive whole number
 * of requests over whole seconds. Does not own the client.
 */
export const createRedisRequestLimiter = ({
  redis,
  keyPrefix,
  budgets,
}: RedisRequestLimiterOptions): RequestLimiter => {
  checkBudgets(budgets);
  const counts = new Map(
    Object.entries(budgets).map(([routeClass, budget]) => [
      routeClass,
      // rate-limiter-flexible puts a colon between its prefix and the key.
      countOf(redis, `${keyPrefix}requests:${encodeURIComponent(routeClass)}`, budget),
    ]),
  );
  return {
    consume: async (routeClass, key) => {
      const count = counts.get(routeClass);
      if (count === undefined) throw new RangeError(`No request budget for the route class "${routeClass}".`);
      return count(key);
    },
  };
};
