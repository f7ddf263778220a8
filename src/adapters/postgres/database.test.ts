import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnPostgres, type TestDatabase } from '../../../test/support/databases.ts';

describeOnPostgres('the PostgreSQL driver', (target) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await target.open({ migrated: false });
  });
  afterAll(async () => {
    await t.close();
  });

  it('fails a transaction whose connection is terminated, without crashing, and serves the next one', async () => {
    const work = t.db.transaction(async (tx) => {
      const [me] = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
      // Another session kills this one mid-transaction, as a failover or an administrator would.
      await t.db.query('select pg_terminate_backend($1)', [me?.pid]);
      await tx.query('select 1');
    });
    await expect(work).rejects.toThrow();
    const [row] = await t.db.query<{ one: number }>('select 1 as one');
    expect(row?.one).toBe(1);
  });

  it('reads int8 as numbers and dates as calendar days, like PGlite', async () => {
    const [row] = await t.db.query<{ big: number; day: string; at: string }>(
      "select 42::int8 as big, date '2026-02-28' as day, timestamptz '2026-02-28 23:30:00+00' as at",
    );
    expect(row).toEqual({ big: 42, day: '2026-02-28', at: '2026-02-28T23:30:00.000Z' });
  });
});
