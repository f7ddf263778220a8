import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachDatabase, type TestDatabase } from '../../../test/support/databases.ts';
import { migrate, readMigrations } from './migrate.ts';
import { ensurePartitions, startPartitionMaintenance } from './partitions.ts';

describeOnEachDatabase('migrations and partitions', (target) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await target.open({ migrated: false });
  });
  afterAll(async () => {
    await t.close();
  });

  it('applies every migration once, then nothing', async () => {
    const first = await migrate(t.db);
    expect(first).toEqual(readMigrations().map((m) => m.version));
    expect(await migrate(t.db)).toEqual([]);
  });

  it('refuses a migration changed after it was applied', async () => {
    const [head, ...rest] = readMigrations();
    if (head === undefined) throw new Error('no migration');
    await expect(migrate(t.db, [{ ...head, checksum: 'edited' }, ...rest])).rejects.toMatchObject({
      code: 'MIGRATION_CHANGED',
    });
  });

  it('creates the current and next months, idempotently, and rows land in their month', async () => {
    const created = await ensurePartitions(t.db, new Date('2026-11-29T23:59:59Z'));
    expect(created).toEqual([
      'assessments_y2026m11',
      'assessments_y2026m12',
      'audit_log_y2026m11',
      'audit_log_y2026m12',
    ]);
    expect(await ensurePartitions(t.db, new Date('2026-11-30T00:00:00Z'))).toEqual([]);
    const insert = (id: string, at: string) =>
      t.db.query(
        `insert into assessments (id, created_at, assessed_at, account_id, subject_query, verdict, policy_version, state, subject, signals, sources)
           values ($1, $2::timestamptz, $2::timestamptz, '00000000-0000-4000-8000-000000000001', 'q', 'GREEN', 'v1', 'COMPLETE', '{}', '[]', '[]')`,
        [id, at],
      );
    await insert('11111111-1111-4111-8111-111111111111', '2026-11-30T23:59:59.999Z');
    await insert('22222222-2222-4222-8222-222222222222', '2026-12-01T00:00:00.000Z');
    await insert('33333333-3333-4333-8333-333333333333', '2027-01-15T00:00:00.000Z');
    const rows = await t.db.query<{ id: string; part: string }>(
      'select id, tableoid::regclass::text as part from assessments order by created_at',
    );
    expect(rows.map((r) => r.part)).toEqual([
      'assessments_y2026m11',
      'assessments_y2026m12',
      'assessments_default',
    ]);
    // Maintenance that runs late moves what the default partition caught.
    expect(await ensurePartitions(t.db, new Date('2027-01-02T00:00:00Z'), 0)).toEqual([
      'assessments_y2027m01',
      'audit_log_y2027m01',
    ]);
    const [moved] = await t.db.query<{ part: string }>(
      `select tableoid::regclass::text as part from assessments where id = '33333333-3333-4333-8333-333333333333'`,
    );
    expect(moved?.part).toBe('assessments_y2027m01');
  });
});

describeOnEachDatabase('periodic partition maintenance', (target) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await target.open();
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates the next months as time passes, tick by tick', async () => {
    let tick: () => Promise<void> = () => Promise.reject(new Error('not scheduled'));
    let stopped = false;
    const scheduler = {
      every: (_ms: number, fn: () => Promise<void>) => {
        tick = fn;
        return () => {
          stopped = true;
        };
      },
    };
    let now = new Date('2031-03-31T23:00:00Z');
    const errors: unknown[] = [];
    const stop = startPartitionMaintenance(
      t.db,
      () => now,
      1000,
      scheduler,
      (e) => errors.push(e),
    );
    const partitions = async (): Promise<string[]> =>
      (
        await t.db.query<{ name: string }>(
          `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = 'assessments'::regclass and c.relname like 'assessments_y2031%' order by 1`,
        )
      ).map((r) => r.name);
    expect(await partitions()).toEqual([]);
    now = new Date('2031-04-01T00:00:01Z');
    await tick();
    expect(await partitions()).toEqual(['assessments_y2031m04', 'assessments_y2031m05']);
    stop();
    expect(stopped).toBe(true);
    expect(errors).toEqual([]);
  });
});
