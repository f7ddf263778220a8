import type { UniquenessConflict, UniquenessRegistry } from '#app/application/ports/uniqueness-registry.ts';
import { err, ok } from '#app/domain/result.ts';
import type { SqlExecutor } from './database.ts';

const conflict = (namespace: string): UniquenessConflict =>
  Object.freeze({ code: 'UNIQUENESS_CONFLICT', namespace });

/**
 * The UniquenessRegistry on the `global_keys` table, for PostgreSQL and PGlite alike. A key already reserved in
 * the namespace is UNIQUENESS_CONFLICT; any other failure is thrown.
 *
 * The conflict is detected with `on conflict do nothing` rather than by catching the unique violation (23505):
 * on both drivers any error aborts the caller's transaction, whereas a conflict is an expected answer the caller
 * may act on (try another id) in the same transaction. A concurrent reservation of the same key waits for the
 * other transaction, and is a conflict if that one commits.
 */
export const createSqlUniquenessRegistry = (db: SqlExecutor): UniquenessRegistry => ({
  reserve: async (namespace, key, ownerId) => {
    const inserted = await db.query(
      `insert into global_keys (namespace, key, owner_id) values ($1, $2, $3)
       on conflict (namespace, key) do nothing
       returning 1 as reserved`,
      [namespace, key, ownerId],
    );
    return inserted.length > 0 ? ok(undefined) : err(conflict(namespace));
  },
});
