import { performance } from 'node:perf_hooks';
import type { Permit } from '#app/application/ports/rate-limiter.ts';

/** One source's limiter: asked for a permit for each call. */
export type Gate = () => Promise<Permit>;

const RELEASED = (): Promise<void> => Promise.resolve();

/** A permit with nothing to release (a rate's call is counted when granted). */
export const GRANTED: Permit = Object.freeze({ granted: true, release: RELEASED });

/** A refusal, to try again in at least one whole millisecond. */
export const refused = (retryAfterMs: number): Permit =>
  Object.freeze({ granted: false, retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) });

/**
 * A counting semaphore in this process's memory whose places lapse `leaseMs` after they were granted (a holder that
 * never releases cannot shrink the budget for good). Leases all last as long, so the map's insertion order is their
 * expiry order: the first entry is the next to lapse. The in-memory limiter's concurrency rule, and the Redis
 * limiter's share while Redis cannot answer.
 */
export const leasedSemaphore = (max: number, leaseMs: number): Gate => {
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
