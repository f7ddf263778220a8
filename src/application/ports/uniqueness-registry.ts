import type { Result } from '#app/domain/result.ts';

export interface UniquenessConflict {
  readonly code: 'UNIQUENESS_CONFLICT';
  readonly namespace: string;
}

/**
 * Keys that must be unique across every partition (a partitioned table's unique index must include its partition
 * key). Reserve in the same transaction as the row that uses the key.
 */
export interface UniquenessRegistry {
  reserve(namespace: string, key: string, ownerId: string | null): Promise<Result<void, UniquenessConflict>>;
}
