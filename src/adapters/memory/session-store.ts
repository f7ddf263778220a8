import { createHash } from 'node:crypto';
import type { Clock } from '#app/application/ports/clock.ts';
import type { SessionData, SessionStore } from '#app/application/ports/session-store.ts';

export interface MemorySessionStoreOptions {
  /** Measures each session's time to live (its monotonic reading), so tests drive expiry. */
  readonly clock: Pick<Clock, 'monotonicMs'>;
}

interface Entry {
  readonly data: SessionData;
  readonly expiresAt: number;
}

/** Entries looked at for expiry on each write: a sweep of the whole map every size / 8 writes. */
const SWEEP_STEP = 8;

const hashOf = (id: string): string => createHash('sha256').update(id, 'utf8').digest('hex');

/** Runs `work` now, its result or exception as a promise, as the port's asynchronous methods require. */
const settled = <T>(work: () => T): Promise<T> =>
  new Promise((resolve) => {
    resolve(work());
  });

const checkTtl = (ttlMs: number): void => {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError('A session lives a positive whole number of milliseconds.');
  }
};

/**
 * Sessions in this process's memory: the embedded default (one process, sessions lost on restart) and the fake of
 * the HTTP tests. Sessions are keyed by the SHA-256 of their id, so the map never holds a cookie value. An expired
 * session reads as absent and is removed when read; each write also looks at a few entries in turn and drops the
 * expired ones, so sessions nobody comes back for do not pile up. Data is copied in and out: what a caller changes
 * afterwards never reaches the store. Never throws a fault; a ttl that is not a positive whole number of ms is a
 * RangeError, and data that cannot be copied (which could not be JSON either) is refused with the DataCloneError.
 */
export const createMemorySessionStore = ({ clock }: MemorySessionStoreOptions): SessionStore => {
  const sessions = new Map<string, Entry>();
  // Map iterators see deletions and later insertions, so one cursor walks the map round and round.
  let cursor: MapIterator<[string, Entry]> = sessions.entries();

  const sweepSome = (now: number): void => {
    for (let i = 0; i < SWEEP_STEP && sessions.size > 0; i += 1) {
      let next = cursor.next();
      if (next.done === true) {
        cursor = sessions.entries();
        next = cursor.next();
        if (next.done === true) return;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt <= now) sessions.delete(key);
    }
  };

  return {
    get: (id) =>
      settled(() => {
        const key = hashOf(id);
        const entry = sessions.get(key);
        if (entry === undefined) return null;
        if (entry.expiresAt <= clock.monotonicMs()) {
          sessions.delete(key);
          return null;
        }
        return structuredClone(entry.data);
      }),

    set: (id, data, ttlMs) =>
      settled(() => {
        checkTtl(ttlMs);
        const now = clock.monotonicMs();
        sweepSome(now);
        sessions.set(hashOf(id), { data: structuredClone(data), expiresAt: now + ttlMs });
      }),

    delete: (id) =>
      settled(() => {
        sessions.delete(hashOf(id));
      }),
  };
};
