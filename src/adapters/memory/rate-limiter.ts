import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { GRANTED, leasedSemaphore, refused, type Gate } from '#app/adapters/shared/permits.ts';
import {
  checkLimits,
  type LimitRule,
  type RateLimiter,
  type SourceLimits,
} from '#app/application/ports/rate-limiter.ts';

/** A published rate, counted by rate-limiter-flexible in this process (the same fixed window as its Redis store). */
const rateGate = (source: string, points: number, durationMs: number): Gate => {
  const limiter = new RateLimiterMemory({ points, duration: durationMs / 1000 });
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

const gateOf = (source: string, rule: LimitRule): Gate => {
  switch (rule.kind) {
    case 'rate':
      return rateGate(source, rule.points, rule.durationMs);
    case 'concurrency':
      return leasedSemaphore(rule.max, rule.leaseMs);
  }
};

/**
 * The embedded default's rate limiter: one process's budget, kept in memory (lost on restart, which only ever
 * grants a fresh window). Throws a RangeError for a rule it cannot keep.
 */
export const createMemoryRateLimiter = (limits: SourceLimits): RateLimiter => {
  checkLimits(limits);
  const gates = new Map(Object.entries(limits).map(([source, rule]) => [source, gateOf(source, rule)]));
  return {
    tryAcquire: (source) => gates.get(source)?.() ?? Promise.resolve(GRANTED),
  };
};
