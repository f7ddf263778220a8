import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextRetry, RETRY_POLICY_V1 } from './retry-policy.ts';

const T0 = '2026-11-29T09:00:00.000Z';
const at = (ms: number): string => new Date(Date.parse(T0) + ms).toISOString();
const MIN = 60_000;
const HOUR = 60 * MIN;

const delayOf = (decision: ReturnType<typeof nextRetry>, failedAt: string): number => {
  if (decision.kind !== 'retry') throw new Error('expected a retry');
  return Date.parse(decision.at) - Date.parse(failedAt);
};

describe('retry policy v1', () => {
  it('retries the first failure within about a minute, never sooner than a second', () => {
    const first = (random: number) =>
      delayOf(
        nextRetry(RETRY_POLICY_V1, {
          attempt: 1,
          firstFailedAt: T0,
          failedAt: T0,
          retryAfterSeconds: null,
          random,
        }),
        T0,
      );
    expect(first(0)).toBe(1_000);
    expect(first(0.5)).toBe(30_000);
    expect(first(0.999_999)).toBe(59_999);
  });

  it('doubles the ceiling with each attempt up to one hour, with full jitter below it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, random) => {
          const failedAt = at(MIN);
          const delay = delayOf(
            nextRetry(RETRY_POLICY_V1, {
              attempt,
              firstFailedAt: T0,
              failedAt,
              retryAfterSeconds: null,
              random,
            }),
            failedAt,
          );
          const ceiling = Math.min(HOUR, MIN * 2 ** (attempt - 1));
          expect(delay).toBeGreaterThanOrEqual(1_000);
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
    );
  });

  it("honours the registry's Retry-After as a floor", () => {
    const decision = nextRetry(RETRY_POLICY_V1, {
      attempt: 1,
      firstFailedAt: T0,
      failedAt: T0,
      retryAfterSeconds: 600,
      random: 0.1,
    });
    expect(decision).toEqual({ kind: 'retry', at: at(10 * MIN) });
  });

  it('never schedules past the 48-hour window, and a failure at its end is final', () => {
    const late = at(48 * HOUR - 5 * MIN);
    expect(
      nextRetry(RETRY_POLICY_V1, {
        attempt: 30,
        firstFailedAt: T0,
        failedAt: late,
        retryAfterSeconds: null,
        random: 0.99,
      }),
    ).toEqual({ kind: 'retry', at: at(48 * HOUR) });
    expect(
      nextRetry(RETRY_POLICY_V1, {
        attempt: 31,
        firstFailedAt: T0,
        failedAt: at(48 * HOUR),
        retryAfterSeconds: null,
        random: 0.5,
      }),
    ).toEqual({ kind: 'final' });
    expect(
      nextRetry(RETRY_POLICY_V1, {
        attempt: 2,
        firstFailedAt: T0,
        failedAt: at(47 * HOUR),
        retryAfterSeconds: 86_400,
        random: 0,
      }),
    ).toEqual({ kind: 'retry', at: at(48 * HOUR) });
  });
});
