import { createHash } from 'node:crypto';
import type { Clock } from '#app/application/ports/clock.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { ReplayCache } from '#app/application/ports/replay-cache.ts';

export interface MemoryReplayCacheOptions {
  /** Measures each value's time to live (its monotonic reading), so tests drive expiry. */
  readonly clock: Pick<Clock, 'monotonicMs'>;
  /** The most unexpired values held at once (default 100,000): past it, new values are refused. */
  readonly maxEntries?: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;

interface Held {
  readonly expiresAt: number;
  readonly key: string;
}

const hashOf = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** Runs `work` now, its result or exception as a promise, as the port's asynchronous methods require. */
const settled = <T>(work: () => T): Promise<T> =>
  new Promise((resolve) => {
    resolve(work());
  });

/** A binary min-heap of held values by expiry: the next to expire is always at the top. */
const createExpiryHeap = () => {
  const heap: Held[] = [];
  const at = (i: number): Held => heap[i] as Held;
  const swap = (i: number, j: number): void => {
    const held = at(i);
    heap[i] = at(j);
    heap[j] = held;
  };
  return {
    push: (held: Held): void => {
      heap.push(held);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (at(parent).expiresAt <= at(i).expiresAt) break;
        swap(i, parent);
        i = parent;
      }
    },
    /** Removes and returns the top if it has expired by `now`. */
    popExpired: (now: number): Held | undefined => {
      const top = heap[0];
      if (top === undefined || top.expiresAt > now) return undefined;
      const last = heap.pop() as Held;
      if (heap.length > 0) {
        heap[0] = last;
        let i = 0;
        for (;;) {
          const left = 2 * i + 1;
          const right = left + 1;
          let smallest = i;
          if (left < heap.length && at(left).expiresAt < at(smallest).expiresAt) smallest = left;
          if (right < heap.length && at(right).expiresAt < at(smallest).expiresAt) smallest = right;
          if (smallest === i) break;
          swap(i, smallest);
          i = smallest;
        }
      }
      return top;
    },
  };
};

/**
 * Single-use values in this process's memory: the embedded default (one process) and the fake of the HTTP tests.
 * `firstUse` runs in one synchronous step, so of any number of concurrent calls with one key exactly one answers
 * true. Values are held by their SHA-256 (a fixed size whatever the caller sends) until their ttl passes on the
 * Clock; expired ones are dropped, in expiry order, before each answer. The cache is bounded: when `maxEntries`
 * unexpired values are held, a new value is refused with InfrastructureError REPLAY_CACHE_UNAVAILABLE rather than
 * an unexpired one forgotten (forgetting would let its replay through): it fails closed. A replay is still
 * answered false when full. A ttl that is not a positive whole number of ms, or a `maxEntries` that is not a
 * positive whole number, is a RangeError.
 */
export const createMemoryReplayCache = ({
  clock,
  maxEntries = DEFAULT_MAX_ENTRIES,
}: MemoryReplayCacheOptions): ReplayCache => {
  if (!Number.isSafeInteger(maxEntries) || maxEntries <= 0) {
    throw new RangeError('maxEntries is a positive whole number.');
  }
  /** The hashes of the unexpired values; each is in the heap too, once, with its expiry. */
  const held = new Set<string>();
  const expiries = createExpiryHeap();

  const dropExpired = (now: number): void => {
    for (let gone = expiries.popExpired(now); gone !== undefined; gone = expiries.popExpired(now)) {
      held.delete(gone.key);
    }
  };

  return {
    firstUse: (key, ttlMs) =>
      settled(() => {
        if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
          throw new RangeError('A single-use value is remembered a positive whole number of milliseconds.');
        }
        const now = clock.monotonicMs();
        dropExpired(now);
        const hash = hashOf(key);
        if (held.has(hash)) return false;
        if (held.size >= maxEntries) {
          throw new InfrastructureError(
            'REPLAY_CACHE_UNAVAILABLE',
            'The replay cache is full of unexpired values: a new one cannot be remembered.',
          );
        }
        const expiresAt = now + ttlMs;
        held.add(hash);
        expiries.push({ expiresAt, key: hash });
        return true;
      }),
  };
};
