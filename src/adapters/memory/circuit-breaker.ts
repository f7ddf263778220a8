import {
  BREAKER_WINDOW_BUCKETS,
  checkBreakerName,
  checkBreakerSettings,
  DEFAULT_BREAKER_SETTINGS,
  probeEpochMs,
  type BreakerPermit,
  type BreakerSettings,
  type BreakerSnapshot,
  type CircuitBreaker,
  type GrantedPermit,
} from '#app/application/ports/circuit-breaker.ts';
import type { Clock } from '#app/application/ports/clock.ts';

export interface MemoryCircuitBreakerOptions {
  readonly clock: Pick<Clock, 'now'>;
  readonly settings?: BreakerSettings;
}

/** One breaker's state; the same fields as the Redis adapter's hash, so the two read alike. */
interface Breaker {
  state: 'CLOSED' | 'OPEN' | 'HALF_OPEN';
  /** Bucket index (`floor(ms / bucketMs)`) -> outcomes recorded in it while CLOSED. */
  readonly buckets: Map<number, { calls: number; failures: number }>;
  /** Start of the current open period (OPEN and HALF_OPEN), epoch ms. */
  openedAt: number;
  /** Probes granted in this period and not reported yet. */
  probesOut: number;
  /** Probes of this period that succeeded. */
  probeSuccesses: number;
  /** When the oldest outstanding probe was granted: they are all presumed lost `openMs` later. */
  probesSince: number;
}

/** Runs `work` now, its result or exception as a promise, as the port's asynchronous methods require. */
const settled = <T>(work: () => T): Promise<T> =>
  new Promise((resolve) => {
    resolve(work());
  });

/**
 * The circuit breaker in this process's memory: the embedded default (one process), the fake of use-case tests,
 * and the Redis breaker's fallback during an outage. It passes the same contract as the Redis adapter, whose
 * Lua script follows this code step by step. Breakers are created on first use and never shared.
 */
export const createMemoryCircuitBreaker = ({
  clock,
  settings = DEFAULT_BREAKER_SETTINGS,
}: MemoryCircuitBreakerOptions): CircuitBreaker => {
  const { failureRateThreshold, minimumCalls, windowMs, openMs, halfOpenProbes } =
    checkBreakerSettings(settings);
  const bucketMs = windowMs / BREAKER_WINDOW_BUCKETS;
  const breakers = new Map<string, Breaker>();

  const iso = (ms: number): string => new Date(ms).toISOString();

  /** The breaker as of `now`: an open period that is over reads HALF_OPEN, overdue probes read lost. */
  const current = (name: string, now: number): Breaker => {
    checkBreakerName(name);
    const b = breakers.get(name) ?? {
      state: 'CLOSED',
      buckets: new Map(),
      openedAt: 0,
      probesOut: 0,
      probeSuccesses: 0,
      probesSince: 0,
    };
    if (b.state === 'OPEN' && now >= b.openedAt + openMs) b.state = 'HALF_OPEN';
    if (b.state === 'HALF_OPEN' && b.probesOut > 0 && now >= b.probesSince + openMs) b.probesOut = 0;
    return b;
  };

  /** The window's totals; buckets that have left it are dropped. */
  const windowTotals = (b: Breaker, now: number): { calls: number; failures: number } => {
    const oldest = Math.floor(now / bucketMs) - BREAKER_WINDOW_BUCKETS + 1;
    let calls = 0;
    let failures = 0;
    for (const [index, bucket] of b.buckets) {
      if (index < oldest) {
        b.buckets.delete(index);
      } else {
        calls += bucket.calls;
        failures += bucket.failures;
      }
    }
    return { calls, failures };
  };

  const open = (b: Breaker, now: number): void => {
    b.state = 'OPEN';
    b.openedAt = now;
    b.probesOut = 0;
    b.probeSuccesses = 0;
    b.probesSince = 0;
  };

  /** When a refused caller may ask again, or null when a permit is there to take. */
  const retryAt = (b: Breaker): number | null => {
    if (b.state === 'OPEN') return b.openedAt + openMs;
    if (b.state === 'HALF_OPEN' && b.probeSuccesses + b.probesOut >= halfOpenProbes) {
      return b.probesSince + openMs;
    }
    return null;
  };

  const acquire = (name: string): BreakerPermit => {
    const now = clock.now().getTime();
    const b = current(name, now);
    const refusedUntil = retryAt(b);
    if (b.state === 'CLOSED') return { allowed: true, probe: false };
    if (refusedUntil !== null) return { allowed: false, state: b.state, retryAt: iso(refusedUntil) };
    if (b.probesOut === 0) b.probesSince = now;
    b.probesOut += 1;
    return { allowed: true, probe: true, openedAt: iso(b.openedAt) };
  };

  const record = (name: string, outcome: 'success' | 'failure', permit: GrantedPermit): void => {
    const epoch = probeEpochMs(permit);
    const now = clock.now().getTime();
    const b = current(name, now);
    if (epoch === null) {
      if (b.state !== 'CLOSED') return;
      const index = Math.floor(now / bucketMs);
      const bucket = b.buckets.get(index) ?? { calls: 0, failures: 0 };
      bucket.calls += 1;
      if (outcome === 'failure') bucket.failures += 1;
      b.buckets.set(index, bucket);
      breakers.set(name, b);
      const { calls, failures } = windowTotals(b, now);
      if (calls >= minimumCalls && failures / calls >= failureRateThreshold) open(b, now);
      return;
    }
    if (b.state !== 'HALF_OPEN' || epoch !== b.openedAt) return;
    if (outcome === 'failure') {
      open(b, now);
      return;
    }
    b.probeSuccesses += 1;
    b.probesOut = Math.max(0, b.probesOut - 1);
    // Closed with an empty window: the same as a breaker never used.
    if (b.probeSuccesses >= halfOpenProbes) breakers.delete(name);
  };

  const snapshot = (name: string): BreakerSnapshot => {
    const now = clock.now().getTime();
    const b = current(name, now);
    const { calls, failures } = windowTotals(b, now);
    const until = retryAt(b);
    return {
      state: b.state,
      calls,
      failures,
      openedAt: b.state === 'CLOSED' ? null : iso(b.openedAt),
      retryAt: until === null ? null : iso(until),
    };
  };

  return {
    acquire: (name) => settled(() => acquire(name)),
    record: (name, outcome, permit) =>
      settled(() => {
        record(name, outcome, permit);
      }),
    snapshot: (name) => settled(() => snapshot(name)),
  };
};
