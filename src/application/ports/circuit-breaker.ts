export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/**
 * How a breaker judges a registry. Every instance sharing a breaker's state (Redis) must use the same settings:
 * they come from the configuration, not from the caller.
 */
export interface BreakerSettings {
  /** The breaker opens when failures / calls in the window reach this (0 < x <= 1; 0.5 = half the calls failed). */
  readonly failureRateThreshold: number;
  /** No verdict on fewer calls than this in the window: three failures out of three do not open it at 5. */
  readonly minimumCalls: number;
  /**
   * The sliding window, in milliseconds: whole tenths of it (buckets of `windowMs / 10`), so an outcome counts
   * for more than nine tenths of the window and never longer than the whole window. At least 10.
   */
  readonly windowMs: number;
  /**
   * How long an open breaker refuses everyone before letting probes through; also how long an unanswered probe
   * holds its slot before it is presumed lost (its caller crashed) and granted again.
   */
  readonly openMs: number;
  /** How many probe calls a half-open breaker lets through; all of them must succeed to close it. */
  readonly halfOpenProbes: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = Object.freeze({
  failureRateThreshold: 0.5,
  minimumCalls: 5,
  windowMs: 60_000,
  openMs: 30_000,
  halfOpenProbes: 1,
});

/** The number of buckets of the sliding window (see {@link BreakerSettings.windowMs}). */
export const BREAKER_WINDOW_BUCKETS = 10;

/** What `acquire` answers: go ahead (maybe as a probe), or not before `retryAt`. */
export type BreakerPermit =
  | GrantedPermit
  | {
      readonly allowed: false;
      readonly state: 'OPEN' | 'HALF_OPEN';
      /**
       * When to ask again. OPEN: the end of the open period. HALF_OPEN (every probe slot taken): when the
       * outstanding probes will be presumed lost; a probe that succeeds sooner closes the breaker sooner.
       */
      readonly retryAt: string;
    };

/** A permit to call the registry, handed back to `record` with the call's outcome. */
export type GrantedPermit =
  | { readonly allowed: true; readonly probe: false }
  /** `openedAt` names the open period the probe belongs to, so a late report from an older period is ignored. */
  | { readonly allowed: true; readonly probe: true; readonly openedAt: string };

/** A breaker's state at the clock's current instant, for logs, metrics and tests. */
export interface BreakerSnapshot {
  readonly state: BreakerState;
  /**
   * Outcomes in the sliding window. Only calls made while CLOSED count; an open breaker keeps the window that
   * opened it (still ageing out), and closing starts an empty one.
   */
  readonly calls: number;
  readonly failures: number;
  /** When the current open period began (OPEN and HALF_OPEN), else null. */
  readonly openedAt: string | null;
  /** When a refused caller may ask again (as in a refusal), or null when `acquire` would grant a permit now. */
  readonly retryAt: string | null;
}

/**
 * One circuit breaker per registry source (`sirene`, `bodacc`, `vies`, ...) on the retry path (ARCHITECTURE
 * section 7). The retry worker calls `acquire` before calling the registry and, when granted, `record`s the
 * outcome with the permit.
 *
 * - CLOSED: every call is allowed. Once the window holds at least `minimumCalls` outcomes and the failure rate
 *   reaches `failureRateThreshold`, the breaker opens.
 * - OPEN: every call is refused until `openMs` after the opening, with that instant as `retryAt`. Refusals
 *   change nothing.
 * - HALF_OPEN (after `openMs`): `halfOpenProbes` permits are granted as probes, the others refused. When all the
 *   probes of the period succeed the breaker closes with an empty window; when one fails it opens again for a
 *   new period. A probe with no report within `openMs` is presumed lost and its slot granted again.
 *
 * Outcomes that arrive after the state they were granted in has passed are ignored: a non-probe outcome while
 * OPEN or HALF_OPEN, a probe's outcome from another open period. Time comes from the Clock port only. Names are
 * 1 to 64 characters of `[A-Za-z0-9._:-]`; another name, or a permit `acquire` cannot have made, is a
 * programming error (RangeError). Adapters never fail their caller on an infrastructure fault: the Redis one
 * falls back to an in-memory breaker while Redis is unreachable.
 */
export interface CircuitBreaker {
  acquire(name: string): Promise<BreakerPermit>;
  record(name: string, outcome: 'success' | 'failure', permit: GrantedPermit): Promise<void>;
  snapshot(name: string): Promise<BreakerSnapshot>;
}

const NAME = /^[A-Za-z0-9._:-]{1,64}$/;

/** Throws a RangeError for a name breakers do not accept (see {@link CircuitBreaker}). */
export const checkBreakerName = (name: string): void => {
  if (!NAME.test(name)) {
    throw new RangeError('A breaker name is 1 to 64 characters of [A-Za-z0-9._:-].');
  }
};

const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 1;

/** Throws a RangeError naming the first setting out of range; returns the settings, frozen, otherwise. */
export const checkBreakerSettings = (settings: BreakerSettings): BreakerSettings => {
  const { failureRateThreshold, minimumCalls, windowMs, openMs, halfOpenProbes } = settings;
  if (!(failureRateThreshold > 0 && failureRateThreshold <= 1)) {
    throw new RangeError('failureRateThreshold is a rate above 0 and at most 1.');
  }
  if (!isCount(minimumCalls)) throw new RangeError('minimumCalls is a whole number, at least 1.');
  if (!isCount(windowMs) || windowMs < BREAKER_WINDOW_BUCKETS) {
    throw new RangeError(`windowMs is a whole number of milliseconds, at least ${BREAKER_WINDOW_BUCKETS}.`);
  }
  if (!isCount(openMs)) throw new RangeError('openMs is a whole number of milliseconds, at least 1.');
  if (!isCount(halfOpenProbes)) throw new RangeError('halfOpenProbes is a whole number, at least 1.');
  return Object.freeze({ failureRateThreshold, minimumCalls, windowMs, openMs, halfOpenProbes });
};

/** The epoch milliseconds of a probe permit's open period; a RangeError for a permit no breaker made. */
export const probeEpochMs = (permit: GrantedPermit): number | null => {
  if (!permit.probe) return null;
  const ms = Date.parse(permit.openedAt);
  if (!Number.isSafeInteger(ms))
    throw new RangeError('A probe permit carries the ISO instant of its open period.');
  return ms;
};
