import { performance } from 'node:perf_hooks';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import {
  checkLimits,
  type LimitRule,
  type Permit,
  type RateLimiter,
  type SourceLimits,
} from '#app/application/ports/rate-limiter.ts';

type Gate = () => Promise<Permit>;

const RELEASED = (): Promise<void> => Promise.resolve();
const GRANTED: Permit = Object.freeze({ granted: true, release: RELEASED });

const refused = (retryAfterMs: number): Permit =>
  Object.freeze({ granted: false, retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) });

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

/**
 * A counting semaphore whose places lapse `leaseMs` after they were granted. Leases all last as long, so the map's
 * insertion order is their expiry order: the first entry is the next to lapse.
 */
const concurrencyGate = (max: number, leaseMs: number): Gate => {
  const held = new Map<number, number>();
  let issued = 0;
  return () => {
    const now = performance.now();
    for (const [id, lapsesAt] of held) {
      if (lapsesAt > now) break;
      held.delete(id);
    }
    if (held.size >= max) {
      const [oldest = now] = held.values();
      return Promise.resolve(refused(oldest - now));
    }
    issued += 1;
    const id = issued;
    held.set(id, now + leaseMs);
    const release = (): Promise<void> => {
      held.delete(id);
      return Promise.resolve();
    };
    return Promise.resolve(Object.freeze({ granted: true, release }));
  };
};

const gateOf = (source: string, rule: LimitRule): Gate => {
  switch (rule.kind) {
    case 'rate':
      return rateGate(source, rule.points, rule.durationMs);
    case 'concurrency':
      return concurrencyGate(rule.max, rule.leaseMs);
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
