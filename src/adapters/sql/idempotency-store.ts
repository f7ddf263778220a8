import { performance } from 'node:perf_hooks';
import type {
  IdempotencyClaim,
  IdempotencyRequest,
  IdempotencyStore,
} from '#app/application/ports/idempotency-store.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { JsonValue } from '#app/application/ports/json.ts';
import type { SqlExecutor } from './database.ts';

export interface SqlIdempotencyStoreOptions {
  /** How long a claim holds the key before another request may take it over (its owner is presumed dead). */
  readonly lockMs?: number;
  /** How long a completed key replays its response; after that the key can be claimed afresh. */
  readonly ttlMs?: number;
  /** How long `claim` waits for another request holding the key to complete before answering `in_progress`. */
  readonly waitMs?: number;
  /** The pause between two looks at a key another request holds. */
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * A monotonic reading in milliseconds (the Clock port's `monotonicMs`), measuring how long `claim` has waited.
   * Defaults to `performance.now`.
   */
  readonly monotonicMs?: () => number;
}

const DEFAULTS = {
  lockMs: 120_000,
  ttlMs: 24 * 60 * 60 * 1000,
  waitMs: 30_000,
  pollMs: 25,
} as const;

type KeyRow = {
  readonly fingerprint: string;
  readonly state: 'IN_PROGRESS' | 'COMPLETED';
  readonly response: JsonValue;
  readonly resource_id: string | null;
  readonly expired: boolean;
  readonly lock_expired: boolean;
};

const realSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** Instants arrive as ISO strings from the caller's Clock; anything else is a programming error. */
const instantAt = (text: string): number => {
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new RangeError('An idempotency instant is not an ISO 8601 string.');
  return at;
};

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The IdempotencyStore on the `idempotency_keys` table, for PostgreSQL and PGlite alike.
 *
 * `claim` must run outside any transaction (on the database itself): its IN_PROGRESS row is how concurrent
 * requests see each other, and it may wait. Each attempt is one atomic statement at a time: an `insert ... on
 * conflict do nothing` that wins the key, else an `update ... where <takeover condition>` that takes over an
 * expired key or a claim whose lock ran out (its owner crashed), else a read that decides mismatch, replay or
 * wait. Concurrent takeovers of one row serialise on its row lock and the losers re-check the condition, so
 * exactly one wins.
 *
 * Time: every decision compares against the request's `now`, never the database's clock, so the caller's Clock
 * drives expiry and takeover. While waiting, `now` advances by the time waited, measured with `monotonicMs`
 * (the request's wall time plus a monotonic elapsed time, immune to wall-clock jumps).
 *
 * `complete` marks the claim COMPLETED in the caller's transaction, and throws IDEMPOTENCY_NOT_CLAIMED when no
 * claim is in progress for the key (released, or completed already), so the work's transaction rolls back rather
 * than storing a result the key would not replay. `release` deletes an IN_PROGRESS claim, never a completed key.
 * Claims carry no owner token: a holder that outlives `lockMs` may share the key with the request that took it
 * over, so `lockMs` must exceed the longest work.
 */
export const createSqlIdempotencyStore = (
  db: SqlExecutor,
  options: SqlIdempotencyStoreOptions = {},
): IdempotencyStore => {
  const lockMs = options.lockMs ?? DEFAULTS.lockMs;
  const ttlMs = options.ttlMs ?? DEFAULTS.ttlMs;
  const waitMs = options.waitMs ?? DEFAULTS.waitMs;
  const pollMs = options.pollMs ?? DEFAULTS.pollMs;
  const sleep = options.sleep ?? realSleep;
  const monotonicMs = options.monotonicMs ?? (() => performance.now());

  /** One look at the key at instant `now`: a final answer, or null when another request holds it. */
  const attempt = async (request: IdempotencyRequest, now: number): Promise<IdempotencyClaim | null> => {
    const params = [
      request.accountId,
      request.key,
      request.fingerprint,
      iso(now),
      iso(now + lockMs),
      iso(now + ttlMs),
    ];
    for (;;) {
      const inserted = await db.query(
        `insert into idempotency_keys (account_id, key, fingerprint, state, created_at, locked_until, expires_at)
         values ($1, $2, $3, 'IN_PROGRESS', $4::timestamptz, $5::timestamptz, $6::timestamptz)
         on conflict (account_id, key) do nothing
         returning 1 as claimed`,
        params,
      );
      if (inserted.length > 0) return { kind: 'claimed' };

      // The fingerprint test on the lock takeover keeps a different request from hijacking a live key's slot.
      const taken = await db.query(
        `update idempotency_keys
            set fingerprint = $3, state = 'IN_PROGRESS', response = null, resource_id = null,
                created_at = $4::timestamptz, locked_until = $5::timestamptz, expires_at = $6::timestamptz
          where account_id = $1 and key = $2
            and (expires_at <= $4::timestamptz
                 or (state = 'IN_PROGRESS' and locked_until <= $4::timestamptz and fingerprint = $3))
         returning 1 as claimed`,
        params,
      );
      if (taken.length > 0) return { kind: 'claimed' };

      const [row] = await db.query<KeyRow>(
        `select fingerprint, state, response, resource_id,
                expires_at <= $3::timestamptz as expired, locked_until <= $3::timestamptz as lock_expired
           from idempotency_keys where account_id = $1 and key = $2`,
        [request.accountId, request.key, iso(now)],
      );
      // The row changed since the update looked (a concurrent release, claim or takeover): deciding on it could
      // answer from a state that no longer holds, so the atomic statements go again.
      if (row === undefined || row.expired) continue;
      if (row.fingerprint !== request.fingerprint) return { kind: 'mismatch' };
      if (row.state === 'COMPLETED') {
        return { kind: 'replay', response: row.response, resourceId: row.resource_id };
      }
      if (row.lock_expired) continue;
      return null;
    }
  };

  return {
    claim: async (request) => {
      const requestedAt = instantAt(request.now);
      const started = monotonicMs();
      for (;;) {
        const elapsed = monotonicMs() - started;
        const answer = await attempt(request, requestedAt + elapsed);
        if (answer !== null) return answer;
        const waited = monotonicMs() - started;
        if (waited >= waitMs) return { kind: 'in_progress' };
        await sleep(Math.min(pollMs, waitMs - waited));
      }
    },

    complete: async (key, outcome) => {
      const completed = await db.query(
        `update idempotency_keys
            set state = 'COMPLETED', response = $3::jsonb, resource_id = $4, expires_at = $5::timestamptz
          where account_id = $1 and key = $2 and state = 'IN_PROGRESS'
         returning 1 as completed`,
        [
          key.accountId,
          key.key,
          JSON.stringify(outcome.response),
          outcome.resourceId,
          iso(instantAt(outcome.now) + ttlMs),
        ],
      );
      if (completed.length === 0) {
        throw new InfrastructureError(
          'IDEMPOTENCY_NOT_CLAIMED',
          'An idempotency key was completed without a claim in progress.',
        );
      }
    },

    release: async (key) => {
      await db.query(
        `delete from idempotency_keys where account_id = $1 and key = $2 and state = 'IN_PROGRESS'`,
        [key.accountId, key.key],
      );
    },
  };
};
