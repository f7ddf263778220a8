import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredAssessment } from '#app/application/ports/assessment-store.ts';
import { describeAssessmentStoreContract } from '../../../test/contracts/assessment-store.contract.ts';
import {
  describeIdempotencyConcurrencyContract,
  describeIdempotencyStoreContract,
} from '../../../test/contracts/idempotency-store.contract.ts';
import {
  describeUniquenessRegistryConcurrencyContract,
  describeUniquenessRegistryContract,
  type UniquenessHarness,
} from '../../../test/contracts/uniqueness-registry.contract.ts';
import {
  describeOnEachDatabase,
  describeOnPostgres,
  type DatabaseTarget,
  type TestDatabase,
} from '../../../test/support/databases.ts';
import { createSqlAssessmentStore } from './assessment-store.ts';
import type { SqlExecutor } from './database.ts';
import { createSqlIdempotencyStore } from './idempotency-store.ts';
import { ensurePartitions } from './partitions.ts';
import { createSqlUniquenessRegistry } from './uniqueness-registry.ts';

const LOCAL_ACCOUNT = '00000000-0000-4000-8000-000000000001';

/** A second tenant, beside the local account the migrations seed. */
const addAccount = async (db: SqlExecutor): Promise<string> => {
  const id = randomUUID();
  await db.query(
    `insert into customer_accounts (id, name, tenancy_mode) values ($1, 'Other account', 'SELF')`,
    [id],
  );
  return id;
};

const uniquenessHarness = async (target: DatabaseTarget): Promise<UniquenessHarness> => {
  const t = await target.open();
  return {
    registry: createSqlUniquenessRegistry(t.db),
    transaction: (work) => t.db.transaction((tx) => work(createSqlUniquenessRegistry(tx))),
    close: () => t.close(),
  };
};

describeOnEachDatabase('SQL stores', (target) => {
  describeIdempotencyStoreContract(target.name, async () => {
    const t = await target.open();
    return {
      accounts: [LOCAL_ACCOUNT, await addAccount(t.db)],
      create: (settings) => createSqlIdempotencyStore(t.db, settings),
      close: () => t.close(),
    };
  });

  describeUniquenessRegistryContract(target.name, () => uniquenessHarness(target));

  describeAssessmentStoreContract(target.name, async () => {
    const t = await target.open();
    return {
      store: createSqlAssessmentStore(t.db),
      accounts: [LOCAL_ACCOUNT, await addAccount(t.db)],
      close: () => t.close(),
    };
  });

  describe('assessments in monthly partitions', () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await target.open();
      await ensurePartitions(t.db, new Date('2026-11-15T00:00:00.000Z'));
    });
    afterAll(async () => {
      await t.close();
    });

    const stored = (id: string, createdAt: string): StoredAssessment => ({
      id,
      accountId: LOCAL_ACCOUNT,
      actorId: null,
      agentAccountId: null,
      createdAt,
      version: 1,
      evaluation: null,
      state: 'COMPLETE',
      idempotencyKey: null,
      correlationId: null,
      assessment: {
        subject: {
          query: '552032534',
          siren: '552032534',
          siret: null,
          vat: 'FR27552032534',
          vatOrigin: 'derived',
          name: 'DANONE',
          country: 'FR',
        },
        verdict: 'GREEN',
        policyVersion: 'v1',
        signals: [],
        sources: [],
        assessedAt: createdAt,
      },
    });

    const partitionOf = async (id: string): Promise<readonly string[]> =>
      (
        await t.db.query<{ part: string }>(
          'select tableoid::regclass::text as part from assessments where id = $1 order by created_at',
          [id],
        )
      ).map((r) => r.part);

    it('puts rows on either side of a month boundary in their months, and strays in the default', async () => {
      const store = createSqlAssessmentStore(t.db);
      const november = stored(randomUUID(), '2026-11-30T23:59:59.999Z');
      const december = stored(randomUUID(), '2026-12-01T00:00:00.000Z');
      const later = stored(randomUUID(), '2027-03-01T00:00:00.000Z');
      for (const r of [november, december, later]) await store.save(r);
      expect(await partitionOf(november.id)).toEqual(['assessments_y2026m11']);
      expect(await partitionOf(december.id)).toEqual(['assessments_y2026m12']);
      expect(await partitionOf(later.id)).toEqual(['assessments_default']);
      expect((await store.history(LOCAL_ACCOUNT, { siren: '552032534' })).map((r) => r.id)).toEqual([
        later.id,
        december.id,
        november.id,
      ]);
    });

    it('lets the same id into two monthly partitions, which global_keys refuses', async () => {
      const id = randomUUID();
      const store = createSqlAssessmentStore(t.db);
      const registry = createSqlUniquenessRegistry(t.db);
      await store.save(stored(id, '2026-11-10T00:00:00.000Z'));
      expect((await registry.reserve('assessment', id, id)).ok).toBe(true);
      // The partitioned table's primary key includes created_at: it cannot see the duplicate.
      await store.save(stored(id, '2026-12-10T00:00:00.000Z'));
      expect(await partitionOf(id)).toEqual(['assessments_y2026m11', 'assessments_y2026m12']);
      expect(await registry.reserve('assessment', id, id)).toEqual({
        ok: false,
        error: { code: 'UNIQUENESS_CONFLICT', namespace: 'assessment' },
      });
    });

    it('rolls back the row when the reservation conflicts in its transaction', async () => {
      const id = randomUUID();
      await t.db.transaction(async (tx) => {
        expect((await createSqlUniquenessRegistry(tx).reserve('assessment', id, id)).ok).toBe(true);
        await createSqlAssessmentStore(tx).save(stored(id, '2026-11-11T00:00:00.000Z'));
      });
      await expect(
        t.db.transaction(async (tx) => {
          await createSqlAssessmentStore(tx).save(stored(id, '2026-12-11T00:00:00.000Z'));
          const reserved = await createSqlUniquenessRegistry(tx).reserve('assessment', id, id);
          if (!reserved.ok) throw new Error(reserved.error.code);
        }),
      ).rejects.toThrow('UNIQUENESS_CONFLICT');
      expect(await partitionOf(id)).toEqual(['assessments_y2026m11']);
    });
  });
});

describeOnPostgres('SQL stores under concurrency on postgres', (target) => {
  describeIdempotencyConcurrencyContract('postgres', async () => {
    // The test database's pool holds 20 sessions: the claims' statements run on up to 20 of them at once.
    const t = await target.open();
    return {
      accountId: LOCAL_ACCOUNT,
      create: (settings) => createSqlIdempotencyStore(t.db, settings),
      close: () => t.close(),
    };
  });

  describeUniquenessRegistryConcurrencyContract('postgres', () => uniquenessHarness(target));
});
