import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  RequestBudget,
  RequestDecision,
  RequestLimiter,
} from '#app/application/ports/request-limiter.ts';

export type Budgets = Readonly<Record<string, RequestBudget>>;

/** One adapter, opened for a suite. */
export interface RequestLimiterSubject {
  /** A limiter with these budgets and counts of its own: nothing counted by another limiter is seen. */
  limiterFor(budgets: Budgets): RequestLimiter;
  close(): Promise<void>;
}

/** Asserts the request was allowed and returns what remains. */
export const expectAllowed = (decision: RequestDecision, limit: number): number => {
  expect(decision).toMatchObject({ allowed: true, limit });
  if (!decision.allowed) throw new Error('refused');
  return decision.remaining;
};

/** Asserts a refusal whose wait is within [1, windowMs], and returns the wait. */
export const expectRefused = (decision: RequestDecision, limit: number, windowMs: number): number => {
  expect(decision).toMatchObject({ allowed: false, limit });
  if (decision.allowed) throw new Error('allowed');
  expect(Number.isInteger(decision.retryAfterMs)).toBe(true);
  expect(decision.retryAfterMs).toBeGreaterThanOrEqual(1);
  expect(decision.retryAfterMs).toBeLessThanOrEqual(windowMs);
  return decision.retryAfterMs;
};

/** Consumes `count` times in a row, each after the previous answer. */
export const consumeInTurn = async (
  limiter: RequestLimiter,
  routeClass: string,
  key: string,
  count: number,
): Promise<RequestDecision[]> => {
  const decisions: RequestDecision[] = [];
  for (let i = 0; i < count; i += 1) decisions.push(await limiter.consume(routeClass, key));
  return decisions;
};

export const allowedCount = (decisions: readonly RequestDecision[]): number =>
  decisions.filter((d) => d.allowed).length;

const MINUTE_MS = 60_000;
// Wall time: rate-limiter-flexible reads the system clock (Redis its own), so the one window that must close is short.
const MARGIN_MS = 50;

/** Client keys as the HTTP API makes them, with characters a store must not read as structure. */
export const AWKWARD_KEYS: readonly string[] = [
  '203.0.113.7',
  '2001:db8::1',
  '::ffff:203.0.113.7',
  'client:acme',
  'client*acme',
  'client?[acme]',
  'client acme\r\n',
  'clïent-☃',
  '',
  '__proto__',
  'constructor',
];

/** The RequestLimiter contract, run once per adapter. */
export const describeRequestLimiterContract = (
  name: string,
  open: () => Promise<RequestLimiterSubject>,
): void => {
  describe(`RequestLimiter contract: ${name}`, () => {
    let subject: RequestLimiterSubject;
    beforeAll(async () => {
      subject = await open();
    });
    afterAll(async () => {
      await subject.close();
    });

    it('allows max requests in a window, counting remaining down, then refuses with a wait within the window', async () => {
      const limiter = subject.limiterFor({ api: { max: 3, windowMs: MINUTE_MS } });

      const decisions = await consumeInTurn(limiter, 'api', '203.0.113.7', 3);
      expect(decisions.map((d) => expectAllowed(d, 3))).toEqual([2, 1, 0]);
      const firstWait = expectRefused(await limiter.consume('api', '203.0.113.7'), 3, MINUTE_MS);
      // A refusal does not push the window back.
      expect(expectRefused(await limiter.consume('api', '203.0.113.7'), 3, MINUTE_MS)).toBeLessThanOrEqual(
        firstWait,
      );
    });

    it('allows a full window again once the window has closed', async () => {
      const limiter = subject.limiterFor({ api: { max: 2, windowMs: 1_000 } });

      expect(allowedCount(await consumeInTurn(limiter, 'api', 'k', 2))).toBe(2);
      const wait = expectRefused(await limiter.consume('api', 'k'), 2, 1_000);

      await sleep(wait + MARGIN_MS);
      expect((await consumeInTurn(limiter, 'api', 'k', 2)).map((d) => expectAllowed(d, 2))).toEqual([1, 0]);
      expectRefused(await limiter.consume('api', 'k'), 2, 1_000);
    });

    it('allows exactly max of many concurrent requests', async () => {
      const limiter = subject.limiterFor({ api: { max: 7, windowMs: MINUTE_MS } });

      const decisions = await Promise.all(Array.from({ length: 30 }, () => limiter.consume('api', 'k')));
      expect(allowedCount(decisions)).toBe(7);
      for (const decision of decisions.filter((d) => !d.allowed)) expectRefused(decision, 7, MINUTE_MS);
    });

    it('keeps client keys independent, whatever characters they hold', async () => {
      const limiter = subject.limiterFor({ api: { max: 2, windowMs: MINUTE_MS } });

      for (const key of AWKWARD_KEYS) {
        expect(expectAllowed(await limiter.consume('api', key), 2), JSON.stringify(key)).toBe(1);
      }
      for (const key of AWKWARD_KEYS) {
        expect(expectAllowed(await limiter.consume('api', key), 2), JSON.stringify(key)).toBe(0);
        expectRefused(await limiter.consume('api', key), 2, MINUTE_MS);
      }
    });

    it('keeps route classes independent, each with its own budget', async () => {
      const limiter = subject.limiterFor({
        login: { max: 1, windowMs: MINUTE_MS },
        read: { max: 3, windowMs: 2 * MINUTE_MS },
      });

      expect(expectAllowed(await limiter.consume('login', 'k'), 1)).toBe(0);
      expectRefused(await limiter.consume('login', 'k'), 1, MINUTE_MS);
      expect((await consumeInTurn(limiter, 'read', 'k', 3)).map((d) => expectAllowed(d, 3))).toEqual([
        2, 1, 0,
      ]);
      expectRefused(await limiter.consume('read', 'k'), 3, 2 * MINUTE_MS);
      expectRefused(await limiter.consume('login', 'k'), 1, MINUTE_MS);
    });

    it('keeps separate limiters apart: each has the budget of its own', async () => {
      const budgets = { api: { max: 1, windowMs: MINUTE_MS } };
      const one = subject.limiterFor(budgets);
      const other = subject.limiterFor(budgets);

      expectAllowed(await one.consume('api', 'k'), 1);
      expectAllowed(await other.consume('api', 'k'), 1);
      expectRefused(await one.consume('api', 'k'), 1, MINUTE_MS);
    });

    it('rejects, with a RangeError, a route class without a budget, whatever its name', async () => {
      const limiter = subject.limiterFor({ api: { max: 1, windowMs: MINUTE_MS } });

      for (const routeClass of [
        'unknown',
        'API',
        '',
        '__proto__',
        'constructor',
        'toString',
        'hasOwnProperty',
      ]) {
        await expect(limiter.consume(routeClass, 'k'), routeClass).rejects.toThrow(RangeError);
      }
      expect(expectAllowed(await limiter.consume('api', 'k'), 1)).toBe(0);
    });

    it('refuses, with a RangeError, a budget it could not keep', () => {
      const bad: readonly Budgets[] = [
        { api: { max: 0, windowMs: 1_000 } },
        { api: { max: -1, windowMs: 1_000 } },
        { api: { max: 2.5, windowMs: 1_000 } },
        { api: { max: Number.NaN, windowMs: 1_000 } },
        { api: { max: Number.POSITIVE_INFINITY, windowMs: 1_000 } },
        { api: { max: 5, windowMs: 0 } },
        { api: { max: 5, windowMs: -1_000 } },
        { api: { max: 5, windowMs: 500 } },
        { api: { max: 5, windowMs: 1_500 } },
        { api: { max: 5, windowMs: Number.POSITIVE_INFINITY } },
        { ok: { max: 5, windowMs: 1_000 }, api: { max: 5, windowMs: 999 } },
      ];
      for (const budgets of bad) {
        expect(() => subject.limiterFor(budgets), JSON.stringify(budgets)).toThrow(RangeError);
      }
      expect(() => subject.limiterFor({})).not.toThrow();
    });
  });
};
