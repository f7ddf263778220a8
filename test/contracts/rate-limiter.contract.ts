import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REGISTRY_LIMITS,
  type Permit,
  type RateLimiter,
  type SourceLimits,
} from '#app/application/ports/rate-limiter.ts';

/** One adapter, opened for a suite. */
export interface RateLimiterSubject {
  /** A limiter with these rules and a budget of its own: nothing counted by another test is seen. */
  limiterFor(limits: SourceLimits): RateLimiter;
  close(): Promise<void>;
}

type Granted = Extract<Permit, { granted: true }>;

/** Asserts the permit was granted and returns it, typed so its release can be called. */
export const expectGranted = (permit: Permit): Granted => {
  expect(permit).toMatchObject({ granted: true });
  if (!permit.granted) throw new Error('refused');
  return permit;
};

/** Asserts a refusal whose wait is within (0, atMostMs], and returns the wait. */
export const expectRefused = (permit: Permit, atMostMs: number): number => {
  expect(permit).toMatchObject({ granted: false });
  if (permit.granted) throw new Error('granted');
  expect(permit.retryAfterMs).toBeGreaterThan(0);
  expect(permit.retryAfterMs).toBeLessThanOrEqual(atMostMs);
  return permit.retryAfterMs;
};

/** Asks `count` times in a row, each after the previous answer. */
export const acquireInTurn = async (
  limiter: RateLimiter,
  source: string,
  count: number,
): Promise<Permit[]> => {
  const permits: Permit[] = [];
  for (let i = 0; i < count; i += 1) permits.push(await limiter.tryAcquire(source));
  return permits;
};

export const grantedCount = (permits: readonly Permit[]): number => permits.filter((p) => p.granted).length;

// Wall time: rate-limiter-flexible reads the system clock (Redis its own), so windows are real and kept short.
const MARGIN_MS = 50;

/** The RateLimiter contract (ARCHITECTURE section 7), run once per adapter. */
export const describeRateLimiterContract = (name: string, open: () => Promise<RateLimiterSubject>): void => {
  describe(`RateLimiter contract: ${name}`, () => {
    let subject: RateLimiterSubject;
    beforeAll(async () => {
      subject = await open();
    });
    afterAll(async () => {
      await subject.close();
    });

    it('grants exactly the points of a window, refuses until it closes, then grants a full window again', async () => {
      const limiter = subject.limiterFor({ insee: { kind: 'rate', points: 3, durationMs: 1_000 } });

      expect(grantedCount(await acquireInTurn(limiter, 'insee', 3))).toBe(3);
      const firstWait = expectRefused(await limiter.tryAcquire('insee'), 1_000);
      // A refusal does not push the window back.
      expect(expectRefused(await limiter.tryAcquire('insee'), 1_000)).toBeLessThanOrEqual(firstWait);

      await sleep(firstWait + MARGIN_MS);
      expect(grantedCount(await acquireInTurn(limiter, 'insee', 3))).toBe(3);
      expectRefused(await limiter.tryAcquire('insee'), 1_000);
    });

    it('gives nothing back when a rate permit is released, however often', async () => {
      const limiter = subject.limiterFor({ bodacc: { kind: 'rate', points: 2, durationMs: 60_000 } });

      for (let i = 0; i < 2; i += 1) {
        const permit = expectGranted(await limiter.tryAcquire('bodacc'));
        await permit.release();
        await permit.release();
      }
      expectRefused(await limiter.tryAcquire('bodacc'), 60_000);
    });

    it('grants exactly the points of a window to concurrent requests', async () => {
      const limiter = subject.limiterFor({ recherche: { kind: 'rate', points: 7, durationMs: 60_000 } });

      const permits = await Promise.all(Array.from({ length: 30 }, () => limiter.tryAcquire('recherche')));
      expect(grantedCount(permits)).toBe(7);
      for (const permit of permits.filter((p) => !p.granted)) expectRefused(permit, 60_000);
    });

    it('grants a concurrency rule its maximum, then one place per release', async () => {
      const limiter = subject.limiterFor({ vies: { kind: 'concurrency', max: 2, leaseMs: 10_000 } });

      const first = expectGranted(await limiter.tryAcquire('vies'));
      expectGranted(await limiter.tryAcquire('vies'));
      expectRefused(await limiter.tryAcquire('vies'), 10_000);

      await first.release();
      const third = expectGranted(await limiter.tryAcquire('vies'));
      expectRefused(await limiter.tryAcquire('vies'), 10_000);

      // Released twice, a permit frees its own place once.
      await third.release();
      await third.release();
      await first.release();
      expectGranted(await limiter.tryAcquire('vies'));
      expectRefused(await limiter.tryAcquire('vies'), 10_000);
    });

    it('grants exactly the maximum to concurrent requests', async () => {
      const limiter = subject.limiterFor({ vies: { kind: 'concurrency', max: 4, leaseMs: 10_000 } });

      const permits = await Promise.all(Array.from({ length: 50 }, () => limiter.tryAcquire('vies')));
      expect(grantedCount(permits)).toBe(4);
      for (const permit of permits.filter((p) => !p.granted)) expectRefused(permit, 10_000);
    });

    it('frees the place of a permit never released once its lease lapses, and a late release frees nothing', async () => {
      const limiter = subject.limiterFor({ vies: { kind: 'concurrency', max: 1, leaseMs: 500 } });

      const lost = expectGranted(await limiter.tryAcquire('vies'));
      const wait = expectRefused(await limiter.tryAcquire('vies'), 500);

      await sleep(wait + MARGIN_MS);
      expectGranted(await limiter.tryAcquire('vies'));
      // The crashed holder's release arrives after its place went to another: that place stays taken.
      await lost.release();
      expectRefused(await limiter.tryAcquire('vies'), 500);
    });

    it('keeps sources independent', async () => {
      const limiter = subject.limiterFor({
        insee: { kind: 'rate', points: 1, durationMs: 60_000 },
        recherche: { kind: 'rate', points: 1, durationMs: 60_000 },
        vies: { kind: 'concurrency', max: 1, leaseMs: 10_000 },
      });

      expectGranted(await limiter.tryAcquire('insee'));
      expectRefused(await limiter.tryAcquire('insee'), 60_000);
      expectGranted(await limiter.tryAcquire('recherche'));
      expectGranted(await limiter.tryAcquire('vies'));
      expectRefused(await limiter.tryAcquire('vies'), 10_000);
      expectRefused(await limiter.tryAcquire('recherche'), 60_000);
    });

    it('keeps separate limiters apart: each has the budget of its own rules', async () => {
      const rule = { insee: { kind: 'rate', points: 1, durationMs: 60_000 } } as const;
      const one = subject.limiterFor(rule);
      const other = subject.limiterFor(rule);

      expectGranted(await one.tryAcquire('insee'));
      expectGranted(await other.tryAcquire('insee'));
      expectRefused(await one.tryAcquire('insee'), 60_000);
    });

    it('leaves a source without a rule unlimited, whatever its name', async () => {
      const limiter = subject.limiterFor({ insee: { kind: 'rate', points: 1, durationMs: 60_000 } });

      for (const source of ['unknown', 'INSEE', 'constructor', '__proto__', 'toString', '']) {
        const permits = await Promise.all(Array.from({ length: 20 }, () => limiter.tryAcquire(source)));
        expect(grantedCount(permits), source).toBe(20);
        for (const permit of permits) await expectGranted(permit).release();
      }
    });

    it('keeps the registries’ published limits', async () => {
      const limiter = subject.limiterFor(REGISTRY_LIMITS);

      expect(grantedCount(await acquireInTurn(limiter, 'insee', 31))).toBe(30);
      expect(grantedCount(await acquireInTurn(limiter, 'recherche', 8))).toBe(7);
      expect(grantedCount(await acquireInTurn(limiter, 'bodacc', 11))).toBe(10);
      expect(grantedCount(await acquireInTurn(limiter, 'vies', 5))).toBe(4);
    });

    it('refuses, with a RangeError, a rule it could not keep', () => {
      const bad: readonly SourceLimits[] = [
        { s: { kind: 'rate', points: 5, durationMs: 500 } },
        { s: { kind: 'rate', points: 5, durationMs: 1_500 } },
        { s: { kind: 'rate', points: 0, durationMs: 1_000 } },
        { s: { kind: 'rate', points: 2.5, durationMs: 1_000 } },
        { s: { kind: 'rate', points: 5, durationMs: 0 } },
        { s: { kind: 'concurrency', max: 0, leaseMs: 1_000 } },
        { s: { kind: 'concurrency', max: 1.5, leaseMs: 1_000 } },
        { s: { kind: 'concurrency', max: 1, leaseMs: 0 } },
        { s: { kind: 'concurrency', max: 1, leaseMs: Number.POSITIVE_INFINITY } },
      ];
      for (const limits of bad)
        expect(() => subject.limiterFor(limits), JSON.stringify(limits)).toThrow(RangeError);
    });
  });
};
