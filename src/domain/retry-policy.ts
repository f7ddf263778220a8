/**
 * When to ask an unavailable registry again. An outage is accepted on the first attempt (the assessment says GREY);
 * the retries are what makes it complete: exponential backoff with full jitter, capped, for 48 hours after the
 * first failure, then the source is final-unavailable. A registry's Retry-After is a floor, never shortened.
 */
export interface RetryPolicy {
  /** The backoff's scale: attempt n waits a uniformly random time in [minimumMs, min(capMs, baseMs * 2^(n-1))]. */
  readonly baseMs: number;
  /** The longest wait between two attempts. */
  readonly capMs: number;
  /** No retry sooner than this (a registry that just failed is not asked again within the second). */
  readonly minimumMs: number;
  /** How long after the first failure a source is still retried; after it, the source is final-unavailable. */
  readonly windowMs: number;
}

export const RETRY_POLICY_V1: RetryPolicy = {
  baseMs: 60_000,
  capMs: 60 * 60_000,
  minimumMs: 1_000,
  windowMs: 48 * 60 * 60_000,
};

export type RetryDecision =
  | { readonly kind: 'retry'; readonly at: string }
  /** The window is over: no more attempts. */
  | { readonly kind: 'final' };

/**
 * The decision after a failed attempt. `attempt` counts the attempts made so far (1 after the first, inline
 * attempt); `random` is a uniform draw in [0, 1) (the caller's randomness source, so tests can fix it). The next
 * attempt is never after the window's end: the last one happens as the window closes, and a failure then is final.
 */
export const nextRetry = (
  policy: RetryPolicy,
  input: {
    readonly attempt: number;
    readonly firstFailedAt: string;
    readonly failedAt: string;
    readonly retryAfterSeconds: number | null;
    readonly random: number;
  },
): RetryDecision => {
  const failedAt = Date.parse(input.failedAt);
  const windowEnd = Date.parse(input.firstFailedAt) + policy.windowMs;
  if (failedAt >= windowEnd) return { kind: 'final' };
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, input.attempt - 1));
  const jittered = Math.max(policy.minimumMs, Math.floor(input.random * ceiling));
  const floor = input.retryAfterSeconds === null ? 0 : input.retryAfterSeconds * 1000;
  const at = Math.min(windowEnd, failedAt + Math.max(jittered, floor));
  return { kind: 'retry', at: new Date(at).toISOString() };
};
