import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import {
  checkBudgets,
  type RequestBudget,
  type RequestDecision,
  type RequestLimiter,
} from '#app/application/ports/request-limiter.ts';

export interface MemoryRequestLimiterOptions {
  /** The budget of each route class; a class without one is a programming error. */
  readonly budgets: Readonly<Record<string, RequestBudget>>;
}

type Count = (key: string) => Promise<RequestDecision>;

/** One route class's budget, counted by rate-limiter-flexible: a fixed window that opens with a key's first request. */
const countOf = ({ max, windowMs }: RequestBudget): Count => {
  const limiter = new RateLimiterMemory({ points: max, duration: windowMs / 1000 });
  return async (key) => {
    try {
      const res = await limiter.consume(key);
      return Object.freeze({ allowed: true, limit: max, remaining: res.remainingPoints });
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      const retryAfterMs = Math.min(windowMs, Math.max(1, Math.ceil(refusal.msBeforeNext)));
      return Object.freeze({ allowed: false, limit: max, retryAfterMs });
    }
  };
};

/**
 * The embedded default's request limiter: each route class's budget per client key, in this process's memory (lost
 * on restart, which only ever grants a fresh window). Windows are fixed and open with a key's first request, as in
 * the Redis adapter; a key's count is dropped when its window closes. Keys are any strings (IP addresses, client
 * ids). `consume` on a route class without a budget rejects with a RangeError (a programming error), and
 * `createMemoryRequestLimiter` throws one for a budget that is not a positive whole number of requests over whole
 * seconds. Never throws anything else.
 */
export const createMemoryRequestLimiter = ({ budgets }: MemoryRequestLimiterOptions): RequestLimiter => {
  checkBudgets(budgets);
  const counts = new Map(
    Object.entries(budgets).map(([routeClass, budget]) => [routeClass, countOf(budget)]),
  );
  return {
    consume: async (routeClass, key) => {
      const count = counts.get(routeClass);
      if (count === undefined) throw new RangeError(`No request budget for the route class "${routeClass}".`);
      return count(key);
    },
  };
};
