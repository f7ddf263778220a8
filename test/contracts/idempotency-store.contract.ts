import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  IdempotencyClaim,
  IdempotencyRequest,
  IdempotencyStore,
} from '#app/application/ports/idempotency-store.ts';
import type { JsonValue } from '#app/application/ports/json.ts';

/** How a contract case builds a store: time and waiting are injected, so no case waits for real. */
export interface IdempotencyStoreSettings {
  readonly lockMs?: number;
  readonly ttlMs?: number;
  readonly waitMs?: number;
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly monotonicMs?: () => number;
}

export interface IdempotencyHarness {
  /** Two accounts that exist, for keys of the same name in different accounts. */
  readonly accounts: readonly [string, string];
  create(settings: IdempotencyStoreSettings): IdempotencyStore;
  close(): Promise<void>;
}

export interface IdempotencyConcurrencyHarness {
  readonly accountId: string;
  /** A store whose statements run on connections no other store of this harness uses at the same time. */
  create(settings: IdempotencyStoreSettings): IdempotencyStore;
  close(): Promise<void>;
}

const T0 = '2026-11-29T09:00:00.000Z';
const HOUR = 60 * 60 * 1000;
const at = (offsetMs: number): string => new Date(Date.parse(T0) + offsetMs).toISOString();

const RESPONSE: JsonValue = {
  assessmentId: '0b7c5f5e-8f43-4f7e-9a36-5d0c1f1f8e21',
  assessment: { verdict: 'GREEN', signals: [{ code: 'SIRENE_ACTIVE', evidence: { dates: {} } }], n: 1.5 },
  flags: [true, false, null],
};

/** A sleep that only advances a fake monotonic clock, so waits cost nothing and are counted. */
const fakeTime = () => {
  let mono = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    monotonicMs: () => mono,
    sleep: (ms: number): Promise<void> => {
      sleeps.push(ms);
      mono += ms;
      return Promise.resolve();
    },
  };
};

let keySeq = 0;
const freshKey = (): string => {
  keySeq += 1;
  return `key-${String(keySeq)}`;
};

/**
 * The IdempotencyStore contract (ARCHITECTURE section 2, issue 3 item 6), run once per adapter. Time is the
 * request's `now`, and the store's waits go through an injected sleep and monotonic clock.
 */
export const describeIdempotencyStoreContract = (
  name: string,
  open: () => Promise<IdempotencyHarness>,
): void => {
  describe(`IdempotencyStore contract: ${name}`, () => {
    let h: IdempotencyHarness;
    let account: string;
    beforeAll(async () => {
      h = await open();
      account = h.accounts[0];
    });
    afterAll(async () => {
      await h.close();
    });

    const noWait = (settings: IdempotencyStoreSettings = {}): IdempotencyStore => {
      const time = fakeTime();
      return h.create({ waitMs: 0, sleep: time.sleep, monotonicMs: time.monotonicMs, ...settings });
    };

    it('claims a new key, then replays the completed response and resource id', async () => {
      const store = noWait();
      const key = freshKey();
      const request = { accountId: account, key, fingerprint: 'fp-a', now: T0 };
      expect(await store.claim(request)).toEqual({ kind: 'claimed' });
      await store.complete(
        { accountId: account, key },
        { response: RESPONSE, resourceId: 'res-1', now: at(1000) },
      );
      expect(await store.claim({ ...request, now: at(2000) })).toEqual({
        kind: 'replay',
        response: RESPONSE,
        resourceId: 'res-1',
      });
    });

    it('refuses to complete a key that is not claimed, or completed already: a fault, thrown', async () => {
      const store = noWait();
      const key = freshKey();
      const outcome = { response: RESPONSE, resourceId: null, now: T0 };
      await expect(store.complete({ accountId: account, key }, outcome)).rejects.toMatchObject({
        code: 'IDEMPOTENCY_NOT_CLAIMED',
      });
      await store.claim({ accountId: account, key, fingerprint: 'fp', now: T0 });
      await store.complete({ accountId: account, key }, outcome);
      await expect(
        store.complete({ accountId: account, key }, { ...outcome, response: 'second' }),
      ).rejects.toMatchObject({ code: 'IDEMPOTENCY_NOT_CLAIMED' });
      expect(await store.claim({ accountId: account, key, fingerprint: 'fp', now: T0 })).toMatchObject({
        response: RESPONSE,
      });
    });

    it('replays a null resource id and a null response', async () => {
      const store = noWait();
      const key = freshKey();
      const request = { accountId: account, key, fingerprint: 'fp', now: T0 };
      await store.claim(request);
      await store.complete({ accountId: account, key }, { response: null, resourceId: null, now: T0 });
      expect(await store.claim(request)).toEqual({ kind: 'replay', response: null, resourceId: null });
    });

    it('answers mismatch for the same key with another fingerprint, in progress or completed', async () => {
      const store = noWait();
      const key = freshKey();
      expect(await store.claim({ accountId: account, key, fingerprint: 'fp-a', now: T0 })).toEqual({
        kind: 'claimed',
      });
      expect(await store.claim({ accountId: account, key, fingerprint: 'fp-b', now: T0 })).toEqual({
        kind: 'mismatch',
      });
      await store.complete({ accountId: account, key }, { response: RESPONSE, resourceId: null, now: T0 });
      expect(await store.claim({ accountId: account, key, fingerprint: 'fp-b', now: at(HOUR) })).toEqual({
        kind: 'mismatch',
      });
    });

    it('keeps keys per account', async () => {
      const store = noWait();
      const key = freshKey();
      const [first, second] = h.accounts;
      expect(await store.claim({ accountId: first, key, fingerprint: 'fp-a', now: T0 })).toEqual({
        kind: 'claimed',
      });
      expect(await store.claim({ accountId: second, key, fingerprint: 'fp-b', now: T0 })).toEqual({
        kind: 'claimed',
      });
    });

    it('lets a released key be claimed again, and never releases a completed one', async () => {
      const store = noWait();
      const key = freshKey();
      const request = { accountId: account, key, fingerprint: 'fp', now: T0 };
      await store.claim(request);
      await store.release({ accountId: account, key });
      expect(await store.claim({ ...request, fingerprint: 'another request' })).toEqual({ kind: 'claimed' });
      await store.complete({ accountId: account, key }, { response: RESPONSE, resourceId: 'r', now: T0 });
      await store.release({ accountId: account, key });
      expect(await store.claim({ ...request, fingerprint: 'another request' })).toMatchObject({
        kind: 'replay',
      });
    });

    it('takes over a claim whose owner crashed once its lock expires, and only the same request can', async () => {
      const store = noWait({ lockMs: 120_000 });
      const key = freshKey();
      const request = { accountId: account, key, fingerprint: 'fp', now: T0 };
      expect(await store.claim(request)).toEqual({ kind: 'claimed' });
      expect(await store.claim({ ...request, now: at(119_999) })).toEqual({ kind: 'in_progress' });
      expect(await store.claim({ ...request, fingerprint: 'other', now: at(120_000) })).toEqual({
        kind: 'mismatch',
      });
      expect(await store.claim({ ...request, now: at(120_000) })).toEqual({ kind: 'claimed' });
      // The new owner holds a fresh lock.
      expect(await store.claim({ ...request, now: at(239_999) })).toEqual({ kind: 'in_progress' });
      await store.complete(
        { accountId: account, key },
        { response: RESPONSE, resourceId: 'r', now: at(130_000) },
      );
      expect(await store.claim({ ...request, now: at(130_001) })).toMatchObject({ kind: 'replay' });
    });

    it('expires a completed key 24 hours after completion, for any request', async () => {
      const store = noWait();
      const key = freshKey();
      const request = { accountId: account, key, fingerprint: 'fp', now: T0 };
      await store.claim(request);
      await store.complete(
        { accountId: account, key },
        { response: RESPONSE, resourceId: 'r', now: at(5000) },
      );
      expect(await store.claim({ ...request, now: at(5000 + 24 * HOUR - 1) })).toMatchObject({
        kind: 'replay',
      });
      expect(await store.claim({ ...request, fingerprint: 'new', now: at(5000 + 24 * HOUR) })).toEqual({
        kind: 'claimed',
      });
      expect(await store.claim({ ...request, fingerprint: 'new', now: at(5000 + 24 * HOUR + 1) })).toEqual({
        kind: 'in_progress',
      });
    });

    it('answers in_progress after waiting waitMs for another holder, polling every pollMs', async () => {
      const time = fakeTime();
      const store = h.create({ waitMs: 1000, pollMs: 25, lockMs: 120_000, ...time });
      const key = freshKey();
      const request = { accountId: account, key, fingerprint: 'fp', now: T0 };
      expect(await store.claim(request)).toEqual({ kind: 'claimed' });
      expect(await store.claim(request)).toEqual({ kind: 'in_progress' });
      expect(time.sleeps).toHaveLength(40);
      expect(time.sleeps.every((ms) => ms === 25)).toBe(true);
    });

    it('replays once the holder completes while a duplicate waits', async () => {
      const key = freshKey();
      let polls = 0;
      let mono = 0;
      const owner = h.create({});
      const waiter = h.create({
        waitMs: 30_000,
        pollMs: 25,
        monotonicMs: () => mono,
        sleep: async (ms) => {
          mono += ms;
          polls += 1;
          if (polls === 3) {
            await owner.complete(
              { accountId: account, key },
              { response: RESPONSE, resourceId: 'done', now: at(50) },
            );
          }
        },
      });
      const request = { accountId: account, key, fingerprint: 'fp', now: T0 };
      expect(await owner.claim(request)).toEqual({ kind: 'claimed' });
      expect(await waiter.claim(request)).toEqual({ kind: 'replay', response: RESPONSE, resourceId: 'done' });
      expect(polls).toBe(3);
    });

    it("advances the waiter's now by the time waited, so it takes over a lock that expires meanwhile", async () => {
      const time = fakeTime();
      const waiter = h.create({ lockMs: 1000, waitMs: 5000, pollMs: 100, ...time });
      const key = freshKey();
      const request = { accountId: account, key, fingerprint: 'fp', now: T0 };
      expect(await waiter.claim(request)).toEqual({ kind: 'claimed' });
      expect(await waiter.claim(request)).toEqual({ kind: 'claimed' });
      expect(time.sleeps.reduce((a, b) => a + b, 0)).toBe(1000);
    });
  });
};

/**
 * Concurrent duplicates (issue 3 item 6): of many simultaneous claims of one key, exactly one is `claimed`, and
 * once it completes every other replays its response. Needs a database with real concurrent sessions.
 */
export const describeIdempotencyConcurrencyContract = (
  name: string,
  open: () => Promise<IdempotencyConcurrencyHarness>,
  requests = 50,
): void => {
  describe(`IdempotencyStore concurrency: ${name}`, () => {
    let h: IdempotencyConcurrencyHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });

    /**
     * Sends `requests` simultaneous claims of one key; the one that gets it completes with `resourceId`. The owner
     * completes only once every other request has either seen the key held (and gone to sleep) or answered, so
     * replays are proven to come from waiting, and a faulty store fails the case instead of hanging it.
     */
    const crowd = async (request: IdempotencyRequest, resourceId: string) => {
      const ready = new Set<number>();
      let everyoneReady: () => void = () => undefined;
      const othersReady = new Promise<void>((resolve) => {
        everyoneReady = resolve;
      });
      const markReady = (i: number): void => {
        ready.add(i);
        if (ready.size === requests) everyoneReady();
      };
      const slept = new Set<number>();
      const answers = await Promise.all(
        Array.from({ length: requests }, async (_, i): Promise<IdempotencyClaim> => {
          const store = h.create({
            pollMs: 5,
            waitMs: 30_000,
            sleep: (ms) => {
              slept.add(i);
              markReady(i);
              return new Promise((resolve) => {
                setTimeout(resolve, ms);
              });
            },
          });
          const claim = await store.claim(request);
          markReady(i);
          if (claim.kind === 'claimed') {
            await othersReady;
            const key = { accountId: request.accountId, key: request.key };
            await store.complete(key, { response: RESPONSE, resourceId, now: request.now });
          }
          return claim;
        }),
      );
      expect(answers.filter((a) => a.kind === 'claimed')).toHaveLength(1);
      const others = answers.filter((a) => a.kind !== 'claimed');
      expect(others).toHaveLength(requests - 1);
      for (const answer of others) {
        expect(answer).toEqual({ kind: 'replay', response: RESPONSE, resourceId });
      }
      expect(slept.size).toBe(requests - 1);
    };

    it(`gives ${String(requests)} concurrent claims of a new key exactly one owner, and its answer to the rest`, async () => {
      await crowd({ accountId: h.accountId, key: freshKey(), fingerprint: 'fp', now: T0 }, 'fresh');
    });

    it(`lets exactly one of ${String(requests)} concurrent claims take over an expired key`, async () => {
      const key = freshKey();
      const store = h.create({});
      await store.claim({ accountId: h.accountId, key, fingerprint: 'old', now: T0 });
      await store.complete({ accountId: h.accountId, key }, { response: 'old', resourceId: 'old', now: T0 });
      await crowd({ accountId: h.accountId, key, fingerprint: 'fp', now: at(25 * HOUR) }, 'after-expiry');
    });

    it(`lets exactly one of ${String(requests)} concurrent claims take over from a crashed owner`, async () => {
      const key = freshKey();
      const request = { accountId: h.accountId, key, fingerprint: 'fp', now: T0 };
      expect(await h.create({}).claim(request)).toEqual({ kind: 'claimed' });
      await crowd({ ...request, now: at(10 * 60 * 1000) }, 'after-crash');
    });
  });
};
