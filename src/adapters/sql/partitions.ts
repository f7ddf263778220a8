import type { SqlExecutor } from './database.ts';

/** The monthly-partitioned tables (ARCHITECTURE section 5). */
export const PARTITIONED_TABLES = ['assessments', 'audit_log'] as const;

/**
 * Makes sure the partitions of `now`'s month and of the `monthsAhead` following months exist for every
 * partitioned table, moving any rows the default partition caught for them. Idempotent; returns the partitions
 * it created.
 */
export const ensurePartitions = async (
  db: SqlExecutor,
  now: Date,
  monthsAhead = 1,
): Promise<readonly string[]> => {
  const created: string[] = [];
  for (const table of PARTITIONED_TABLES) {
    for (let i = 0; i <= monthsAhead; i += 1) {
      const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1));
      const [row] = await db.query<{ created: boolean }>(
        'select vigilance_ensure_month_partition($1, $2::timestamptz) as created',
        [table, month.toISOString()],
      );
      if (row?.created === true) {
        created.push(
          `${table}_y${String(month.getUTCFullYear())}m${String(month.getUTCMonth() + 1).padStart(2, '0')}`,
        );
      }
    }
  }
  return created;
};
