import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayCache } from '#app/application/ports/replay-cache.ts';

/** One adapter, opened for a suite. */
export interface ReplayCacheSubject {
  readonly cache: ReplayCache;
  /** A ttl short enough for `elapse` to let it pass within a test (memory moves a clock; Redis waits for real). */
  readonly shortTtlMs: number;
  /** Lets `ms` pass for the cache. */
  elapse(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** A DPoP proof id as clients make them; random, so cases never see each other's values. */
export const newProofId = (): string => randomUUID();

const HOUR_MS = 60 * 60 * 1000;

/** The ReplayCache contract, run once per adapter. */
export const describeReplayCacheContract = (name: string, open: () => Promise<ReplayCacheSubject>): void => {
  describe(`ReplayCache contract: ${name}`, () => {
    let subject: ReplayCacheSubject;
    let cache: ReplayCache;
    beforeAll(async () => {
      subject = await open();
      cache = subject.cache;
    });
    afterAll(async () => {
      await subject.close();
    });

    it('answers true the first time a value is seen, false for every replay', async () => {
      const jti = newProofId();
      expect(await cache.firstUse(jti, HOUR_MS)).toBe(true);
      expect(await cache.firstUse(jti, HOUR_MS)).toBe(false);
      expect(await cache.firstUse(jti, HOUR_MS)).toBe(false);
    });

    it('keeps different values independent, however alike they look', async () => {
      const base = newProofId();
      const values = [
        base,
        base.toUpperCase(),
        `${base} `,
        base.slice(0, -1),
        `${base}:x`,
        `${base}*`,
        `é${base}`,
      ];
      for (const value of values) expect(await cache.firstUse(value, HOUR_MS), value).toBe(true);
      for (const value of values) expect(await cache.firstUse(value, HOUR_MS), value).toBe(false);
    });

    it('answers true to exactly one of 50 concurrent first uses of one value', async () => {
      const jti = newProofId();
      const answers = await Promise.all(Array.from({ length: 50 }, () => cache.firstUse(jti, HOUR_MS)));

      expect(answers.filter((first) => first)).toHaveLength(1);
      expect(await cache.firstUse(jti, HOUR_MS)).toBe(false);
    });

    it('answers true to one first use per value among concurrent calls with many values', async () => {
      const values = Array.from({ length: 10 }, newProofId);
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => cache.firstUse(values[i % values.length] ?? '', HOUR_MS)),
      );

      expect(answers.filter((first) => first)).toHaveLength(values.length);
    });

    it('forgets a value once its ttl has passed: it is then a first use again', async () => {
      const jti = newProofId();
      const kept = newProofId();
      expect(await cache.firstUse(jti, subject.shortTtlMs)).toBe(true);
      expect(await cache.firstUse(kept, HOUR_MS)).toBe(true);

      await subject.elapse(subject.shortTtlMs);
      expect(await cache.firstUse(jti, subject.shortTtlMs)).toBe(true);
      expect(await cache.firstUse(jti, subject.shortTtlMs)).toBe(false);
      expect(await cache.firstUse(kept, HOUR_MS)).toBe(false);
    });

    it('does not lengthen a value’s ttl on a replay', async () => {
      const jti = newProofId();
      expect(await cache.firstUse(jti, subject.shortTtlMs)).toBe(true);
      expect(await cache.firstUse(jti, HOUR_MS)).toBe(false);

      await subject.elapse(subject.shortTtlMs);
      expect(await cache.firstUse(jti, HOUR_MS)).toBe(true);
    });

    it('refuses, with a RangeError, a ttl that is not a positive whole number of ms, and remembers nothing', async () => {
      const jti = newProofId();
      for (const ttl of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(cache.firstUse(jti, ttl), String(ttl)).rejects.toThrow(RangeError);
      }
      expect(await cache.firstUse(jti, HOUR_MS)).toBe(true);
    });
  });
};
