import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UniquenessRegistry } from '#app/application/ports/uniqueness-registry.ts';

export interface UniquenessHarness {
  readonly registry: UniquenessRegistry;
  /**
   * Runs `work` in one transaction with a registry bound to it: committed when it resolves, rolled back when it
   * throws.
   */
  transaction<T>(work: (registry: UniquenessRegistry) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const OWNER = '5d4f1c2e-3b6a-4c8d-9e0f-1a2b3c4d5e6f';

/** The UniquenessRegistry contract (ARCHITECTURE section 5, `global_keys`), run once per adapter. */
export const describeUniquenessRegistryContract = (
  name: string,
  open: () => Promise<UniquenessHarness>,
): void => {
  describe(`UniquenessRegistry contract: ${name}`, () => {
    let h: UniquenessHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });

    it('reserves a key once; the second reservation is UNIQUENESS_CONFLICT naming the namespace', async () => {
      expect(await h.registry.reserve('report', 'r-1', OWNER)).toEqual({ ok: true, value: undefined });
      expect(await h.registry.reserve('report', 'r-1', null)).toEqual({
        ok: false,
        error: { code: 'UNIQUENESS_CONFLICT', namespace: 'report' },
      });
    });

    it('keeps namespaces independent', async () => {
      expect((await h.registry.reserve('token-hash', 'shared', null)).ok).toBe(true);
      expect((await h.registry.reserve('assessment-x', 'shared', null)).ok).toBe(true);
      expect((await h.registry.reserve('token-hash', 'shared', null)).ok).toBe(false);
    });

    it('answers a conflict inside a transaction without spoiling it: the caller can try another key', async () => {
      await h.registry.reserve('report', 'taken', null);
      const second = await h.transaction(async (tx) => {
        const first = await tx.reserve('report', 'taken', OWNER);
        expect(first.ok).toBe(false);
        return tx.reserve('report', 'free', OWNER);
      });
      expect(second.ok).toBe(true);
      expect((await h.registry.reserve('report', 'free', null)).ok).toBe(false);
    });

    it('forgets a reservation whose transaction rolled back', async () => {
      await expect(
        h.transaction(async (tx) => {
          expect((await tx.reserve('report', 'rolled-back', OWNER)).ok).toBe(true);
          throw new Error('the work failed');
        }),
      ).rejects.toThrow('the work failed');
      expect((await h.registry.reserve('report', 'rolled-back', OWNER)).ok).toBe(true);
    });
  });
};

/**
 * Concurrent reservations of one key from separate transactions: exactly one wins. Needs a database with real
 * concurrent sessions.
 */
export const describeUniquenessRegistryConcurrencyContract = (
  name: string,
  open: () => Promise<UniquenessHarness>,
  transactions = 20,
): void => {
  describe(`UniquenessRegistry concurrency: ${name}`, () => {
    let h: UniquenessHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });

    it(`lets exactly one of ${String(transactions)} concurrent transactions reserve a key`, async () => {
      const results = await Promise.all(
        Array.from({ length: transactions }, () =>
          h.transaction((tx) => tx.reserve('report', 'contended', null)),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok)).toHaveLength(transactions - 1);
    });
  });
};
