/**
 * How much one source (a registry) may be asked: a published request rate, or a number of requests in flight.
 * - `rate`: at most `points` requests per window of `durationMs`. The window opens with the first request and is a
 *   whole number of seconds (rate-limiter-flexible's Redis store keeps windows in whole seconds, and both adapters
 *   refuse what one of them cannot honour).
 * - `concurrency`: at most `max` permits held at once. A permit that is never released (its holder crashed) stops
 *   counting `leaseMs` after it was granted, so a lost permit cannot shrink the budget for good.
 */
export type LimitRule =
  | { readonly kind: 'rate'; readonly points: number; readonly durationMs: number }
  | { readonly kind: 'concurrency'; readonly max: number; readonly leaseMs: number };

/** Rules by source name. A source without a rule is unlimited. */
export type SourceLimits = Readonly<Record<string, LimitRule>>;

/**
 * The registries' published limits (ARCHITECTURE section 7), shared by every Vigilance process: INSEE Sirene 30
 * requests per minute, Recherche d'entreprises 7 per second, BODACC (Opendatasoft, which publishes no per-client
 * figure) a polite 10 per second, VIES a few requests in flight at most. The VIES lease outlasts its slowest answer.
 */
export const REGISTRY_LIMITS: SourceLimits = Object.freeze({
  insee: Object.freeze({ kind: 'rate', points: 30, durationMs: 60_000 }),
  recherche: Object.freeze({ kind: 'rate', points: 7, durationMs: 1_000 }),
  bodacc: Object.freeze({ kind: 'rate', points: 10, durationMs: 1_000 }),
  vies: Object.freeze({ kind: 'concurrency', max: 4, leaseMs: 30_000 }),
});

/**
 * The answer to a request for one call to a source.
 * - granted: call now, then `release()` (in a `finally`). Release frees a concurrency place and does nothing for a
 *   rate (the call has been counted). It is idempotent and never rejects: a place it cannot free (the shared store
 *   is down) is freed when its lease lapses.
 * - refused: do not call; try again in `retryAfterMs` (at least 1). For a rate, when the window reopens; for a
 *   concurrency rule, when the oldest permit's lease lapses: the longest wait, since a release frees a place sooner.
 */
export type Permit =
  | { readonly granted: true; release(): Promise<void> }
  | { readonly granted: false; readonly retryAfterMs: number };

/**
 * Keeps Vigilance within each registry's published limits. The shared adapter (Redis) gives every process one
 * budget; when its store is unreachable it falls back to an in-memory budget sized for one process, so an outage
 * neither stops every registry call nor lets them all through. A refusal is a value, never a fault: `tryAcquire`
 * does not throw for a store outage.
 */
export interface RateLimiter {
  tryAcquire(source: string): Promise<Permit>;
}

const isPositiveInteger = (n: number): boolean => Number.isSafeInteger(n) && n > 0;

/**
 * Refuses, with a RangeError at start-up, a rule an adapter could not honour: counts and durations are positive
 * integers, a rate's window a whole number of seconds. Every adapter calls it, so they accept the same rules.
 */
export const checkLimits = (limits: SourceLimits): void => {
  for (const [source, rule] of Object.entries(limits)) {
    if (rule.kind === 'rate') {
      if (
        !isPositiveInteger(rule.points) ||
        !isPositiveInteger(rule.durationMs) ||
        rule.durationMs % 1000 !== 0
      )
        throw new RangeError(
          `The rate limit of "${source}" needs a whole number of points and a window of whole seconds.`,
        );
    } else if (!isPositiveInteger(rule.max) || !isPositiveInteger(rule.leaseMs)) {
      throw new RangeError(
        `The concurrency limit of "${source}" needs a whole maximum and a whole lease in ms.`,
      );
    }
  }
};
