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

/** The timer functions maintenance needs; tests pass their own to run ticks by hand. */
export interface Scheduler {
  every(ms: number, tick: () => Promise<void>): () => void;
}

export const systemScheduler: Scheduler = {
  every: (ms, tick) => {
    const timer = setInterval(() => {
      void tick();
    }, ms);
    // Maintenance must never keep a process alive on its own.
    timer.unref();
    return () => {
      clearInterval(timer);
    };
  },
};

/**
 * Keeps the coming months' partitions ahead of time in a long-running process: every `intervalMs`, makes sure
 * the current and next months exist (as of `now()`). A failed run is tried again at the next tick; meanwhile the
 * default partition keeps the rows, and the next successful run moves them. Returns the stop function.
 */
export const startPartitionMaintenance = (
  db: SqlExecutor,
  now: () => Date,
  intervalMs: number,
  scheduler: Scheduler = systemScheduler,
  onError: (error: unknown) => void = () => undefined,
): (() => void) =>
  scheduler.every(intervalMs, () =>
    ensurePartitions(db, now()).then(
      () => undefined,
      (error: unknown) => {
        onError(error);
      },
    ),
  );
