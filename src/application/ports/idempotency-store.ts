import type { JsonValue } from './json.ts';

export interface IdempotencyRequest {
  readonly accountId: string;
  readonly key: string;
  /** What the request asked for, normalised: the same key with another fingerprint is a conflict. */
  readonly fingerprint: string;
  readonly now: string;
}

export type IdempotencyClaim =
  /** The caller owns the key: do the work, then `complete` it in the work's transaction, or `release` it. */
  | { readonly kind: 'claimed' }
  /** The work was done: answer with what was stored. */
  | { readonly kind: 'replay'; readonly response: JsonValue; readonly resourceId: string | null }
  /** The key was used for a different request (IDEMPOTENCY_KEY_REUSED). */
  | { readonly kind: 'mismatch' }
  /** Another caller is doing the work and did not finish within the wait (IDEMPOTENCY_IN_PROGRESS). */
  | { readonly kind: 'in_progress' };

/**
 * Idempotency keys per account. `claim` is atomic: of any number of concurrent claims of one key, exactly one is
 * `claimed`; the others wait (up to the store's wait limit) for it to complete and replay its response. A claim
 * whose owner vanished (crash) is taken over once its lock expires; completed keys expire after 24 hours.
 */
export interface IdempotencyStore {
  claim(request: IdempotencyRequest): Promise<IdempotencyClaim>;
  complete(
    key: { readonly accountId: string; readonly key: string },
    outcome: { readonly response: JsonValue; readonly resourceId: string | null; readonly now: string },
  ): Promise<void>;
  release(key: { readonly accountId: string; readonly key: string }): Promise<void>;
}
