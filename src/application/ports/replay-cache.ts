/**
 * Remembers single-use values (DPoP proof ids, client assertion ids) until they expire. `firstUse` is atomic: of
 * any number of concurrent calls with one key, exactly one answers true. Redis (shared by every instance) in
 * production, memory in the embedded default. It fails closed: a fault is thrown (InfrastructureError
 * REPLAY_CACHE_UNAVAILABLE), never answered as a first use.
 */
export interface ReplayCache {
  /** True the first time `key` is seen before `ttlMs` elapse; false for a replay. */
  firstUse(key: string, ttlMs: number): Promise<boolean>;
}
