import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openPgliteDatabase } from '#app/adapters/pglite/database.ts';
import type { SqlDatabase } from '#app/adapters/sql/database.ts';
import { migrate } from '#app/adapters/sql/migrate.ts';
import { createSqlStores, createSqlUnitOfWork } from '#app/adapters/sql/unit-of-work.ts';
import type { CompanyFacts, InsolvencyFacts, VatFacts } from '#app/domain/facts.ts';
import { ok } from '#app/domain/result.ts';
import { danone } from '../../../test/support/facts.ts';
import { createManualClock } from '../../../test/support/manual-clock.ts';
import type { CompanyQuery, CompanyRegistry } from '../ports/company-registry.ts';
import type { InsolvencyRegistry } from '../ports/insolvency-registry.ts';
import type { RegistryAnswer, RegistryCall } from '../ports/registry-call.ts';
import type { VatRegistry } from '../ports/vat-registry.ts';
import type { UnitOfWork } from '../ports/unit-of-work.ts';
import { makeAssessSupplier, type AssessSupplierDeps } from './assess-supplier.ts';

const ACCOUNT = '00000000-0000-4000-8000-000000000001';
const ACTOR = '00000000-0000-4000-8000-000000000002';
const who = { accountId: ACCOUNT, actorId: ACTOR };

// The stores are the real ones on PostgreSQL-in-memory (PGlite): the transaction is part of what is tested.
let db: SqlDatabase;
let counter = 0;
const ids = {
  newId: () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`,
  newToken: () => `token-${String(counter)}`,
  random: () => 0.5,
};
beforeAll(async () => {
  db = await openPgliteDatabase({ dataDir: null });
  await migrate(db);
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  await db.script(
    `set session_replication_role = replica;
     delete from assessments; delete from source_observations; delete from global_keys; delete from idempotency_keys;
     delete from audit_log; delete from assessment_jobs; update audit_chain_head set seq = 0, hash = repeat('0', 64);
     set session_replication_role = default;`,
  );
});

const persistence = (
  unitOfWork?: UnitOfWork,
): Pick<AssessSupplierDeps, 'ids' | 'unitOfWork' | 'idempotency'> => ({
  ids,
  unitOfWork: unitOfWork ?? createSqlUnitOfWork(db, ids),
  idempotency: createSqlStores(db, ids).idempotency,
});

const count = async (table: string): Promise<number> => {
  const [row] = await db.query<{ n: number }>(`select count(*)::int as n from ${table}`);
  return row?.n ?? -1;
};

interface Pending<F> {
  readonly args: unknown;
  readonly call: RegistryCall;
  resolve(answer: RegistryAnswer<F>): void;
}

/** Registries whose answers the test releases by hand, to observe what runs concurrently. */
const controlledRegistries = () => {
  const pending = {
    sirene: [] as Pending<CompanyFacts>[],
    bodacc: [] as Pending<InsolvencyFacts>[],
    vies: [] as Pending<VatFacts>[],
  };
  const hold =
    <F>(list: Pending<F>[]) =>
    (args: unknown, call: RegistryCall) =>
      new Promise<RegistryAnswer<F>>((resolve) => list.push({ args, call, resolve }));
  const companyRegistry: CompanyRegistry = {
    provider: 'recherche',
    lookup: (query: CompanyQuery, call) => hold(pending.sirene)(query, call),
  };
  const insolvencyRegistry: InsolvencyRegistry = {
    notices: (siren, call) => hold(pending.bodacc)(siren, call),
  };
  const vatRegistry: VatRegistry = { check: (vat, call) => hold(pending.vies)(vat, call) };
  return { pending, companyRegistry, insolvencyRegistry, vatRegistry };
};

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const companyFacts: CompanyFacts = danone({ headOfficeSiret: null, vatNumbers: [] });

describe('assessSupplier', () => {
  it('queries the three sources concurrently: the slowest sets the duration, not the sum', async () => {
    const clock = createManualClock();
    const r = controlledRegistries();
    const assess = makeAssessSupplier({ ...r, ...persistence(), clock });
    const done = assess({ identifier: '552 032 534', correlationId: 'corr-1', ...who });
    await flush();
    // All three requests are in flight before any has answered.
    expect([r.pending.sirene.length, r.pending.bodacc.length, r.pending.vies.length]).toEqual([1, 1, 1]);
    expect(r.pending.sirene[0]?.args).toEqual({ siren: '552032534', siret: null });
    expect(r.pending.vies[0]?.args).toEqual({ country: 'FR', national: '27552032534' });
    expect(r.pending.bodacc[0]?.call).toEqual({ correlationId: 'corr-1' });

    clock.advance(50);
    r.pending.vies[0]?.resolve(
      ok({
        vat: { country: 'FR', national: '27552032534' },
        valid: true,
        name: 'DANONE',
        address: null,
        requestDate: null,
        sourceUrl: 'v',
      }),
    );
    r.pending.sirene[0]?.resolve(ok(companyFacts));
    await flush();
    clock.advance(30);
    r.pending.bodacc[0]?.resolve(ok({ siren: '552032534' as never, notices: [], sourceUrl: 'b' }));
    const result = await done;
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.assessment.verdict).toBe('GREEN');
    expect(result.value.assessment.sources.map((s) => [s.name, s.durationMs])).toEqual([
      ['sirene', 50],
      ['bodacc', 80],
      ['vies', 50],
    ]);
  });

  it('rejects an invalid identifier before any registry call', async () => {
    const r = controlledRegistries();
    const assess = makeAssessSupplier({ ...r, ...persistence(), clock: createManualClock() });
    const result = await assess({ identifier: '552032535', correlationId: 'c', ...who });
    expect(result).toMatchObject({ ok: false, error: { code: 'IDENTIFIER_BAD_CHECKSUM' } });
    expect([r.pending.sirene.length, r.pending.bodacc.length, r.pending.vies.length]).toEqual([0, 0, 0]);
  });

  it('rejects a VAT number that belongs to another company before any call', async () => {
    const r = controlledRegistries();
    const assess = makeAssessSupplier({ ...r, ...persistence(), clock: createManualClock() });
    const result = await assess({
      identifier: '552032534',
      vat: 'FR39356000000',
      correlationId: 'c',
      ...who,
    });
    expect(result).toMatchObject({ ok: false, error: { code: 'VAT_SUBJECT_MISMATCH' } });
    expect(r.pending.vies).toHaveLength(0);
  });

  it('checks the VAT number the user gave, as given', async () => {
    const r = controlledRegistries();
    const assess = makeAssessSupplier({ ...r, ...persistence(), clock: createManualClock() });
    void assess({ identifier: '552032534', vat: 'fr 27 552 032 534', correlationId: 'c', ...who });
    await flush();
    expect(r.pending.vies[0]?.args).toEqual({ country: 'FR', national: '27552032534' });
  });

  it('asks SIRENE about the establishment when given a SIRET', async () => {
    const r = controlledRegistries();
    const assess = makeAssessSupplier({ ...r, ...persistence(), clock: createManualClock() });
    void assess({ identifier: '356 000 000 00048', correlationId: 'c', ...who });
    await flush();
    expect(r.pending.sirene[0]?.args).toEqual({ siren: '356000000', siret: '35600000000048' });
    expect(r.pending.bodacc[0]?.args).toBe('356000000');
  });

  it('asks only VIES about a foreign VAT number', async () => {
    const r = controlledRegistries();
    const assess = makeAssessSupplier({ ...r, ...persistence(), clock: createManualClock() });
    const done = assess({ identifier: 'PL7740001454', correlationId: 'c', ...who });
    await flush();
    expect([r.pending.sirene.length, r.pending.bodacc.length, r.pending.vies.length]).toEqual([0, 0, 1]);
    r.pending.vies[0]?.resolve(
      ok({
        vat: { country: 'PL', national: '7740001454' },
        valid: true,
        name: 'ORLEN SPÓŁKA AKCYJNA',
        address: null,
        requestDate: null,
        sourceUrl: 'v',
      }),
    );
    const result = await done;
    expect(result.ok && result.value.assessment.verdict).toBe('GREEN');
  });
});

/** Registries that answer at once, counting their calls. */
const answeringRegistries = () => {
  const calls = { sirene: 0, bodacc: 0, vies: 0 };
  const companyRegistry: CompanyRegistry = {
    provider: 'recherche',
    lookup: () => {
      calls.sirene += 1;
      return Promise.resolve(ok(companyFacts));
    },
  };
  const insolvencyRegistry: InsolvencyRegistry = {
    notices: (siren) => {
      calls.bodacc += 1;
      return Promise.resolve(ok({ siren, notices: [], sourceUrl: 'b' }));
    },
  };
  const vatRegistry: VatRegistry = {
    check: (vat) => {
      calls.vies += 1;
      return Promise.resolve(
        ok({ vat, valid: true, name: 'DANONE', address: null, requestDate: null, sourceUrl: 'v' }),
      );
    },
  };
  return { calls, companyRegistry, insolvencyRegistry, vatRegistry };
};

describe('assessSupplier keeps what it concluded', () => {
  it('stores the assessment, the registry facts and the audit entry together', async () => {
    const assess = makeAssessSupplier({
      ...answeringRegistries(),
      ...persistence(),
      clock: createManualClock(),
    });
    const result = await assess({ identifier: '552032534', correlationId: 'corr-9', ...who });
    if (!result.ok) throw new Error(result.error.message);
    const [row] = await db.query<{ id: string; verdict: string; state: string; correlation_id: string }>(
      'select id, verdict, state, correlation_id from assessments',
    );
    expect(row).toEqual({
      id: result.value.assessmentId,
      verdict: 'GREEN',
      state: 'COMPLETE',
      correlation_id: 'corr-9',
    });
    const kinds = await db.query<{ subject: string; fact_kind: string }>(
      'select subject, fact_kind from source_observations order by subject, fact_kind',
    );
    // An empty BODACC history is a replace timeline with no version: nothing to store, nothing to close.
    expect(kinds).toEqual([
      { subject: '552032534', fact_kind: 'legal_status' },
      { subject: 'FR27552032534', fact_kind: 'vat_registration' },
    ]);
    const [audit] = await db.query<{
      action: string;
      entity_id: string;
      actor_id: string;
      correlation_id: string;
    }>('select action, entity_id, actor_id, correlation_id from audit_log');
    expect(audit).toEqual({
      action: 'assessment.created',
      entity_id: result.value.assessmentId,
      actor_id: ACTOR,
      correlation_id: 'corr-9',
    });
    expect(await count('global_keys')).toBe(1);
  });

  it('enqueues a retry for each source that did not answer, with the assessment, and says when', async () => {
    const registries = answeringRegistries();
    const down: VatRegistry = {
      check: () =>
        Promise.resolve({
          ok: false,
          error: {
            code: 'REGISTRY_UNAVAILABLE',
            source: 'vies',
            reason: 'rate_limited',
            detail: 'HTTP 429',
            status: 429,
            retryAfterSeconds: 300,
          },
        }),
    };
    const clock = createManualClock('2026-11-29T09:00:00.000Z');
    const assess = makeAssessSupplier({ ...registries, vatRegistry: down, ...persistence(), clock });
    const result = await assess({ identifier: '552032534', correlationId: 'corr-r', ...who });
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.assessment.verdict).toBe('GREY');
    // VIES said Retry-After 300: the first retry is no sooner (the jitter alone would say within a minute).
    const vies = result.value.assessment.sources.find((s) => s.name === 'vies');
    expect(vies).toMatchObject({ status: 'unavailable', nextRetryAt: '2026-11-29T09:05:00.000Z' });
    expect(result.value.assessment.sources.filter((s) => s.nextRetryAt !== undefined)).toHaveLength(1);
    const jobs = await db.query(
      'select kind, source, state, attempt, next_attempt_at, last_reason from assessment_jobs',
    );
    expect(jobs).toEqual([
      {
        kind: 'retry_source',
        source: 'vies',
        state: 'PENDING',
        attempt: 1,
        next_attempt_at: '2026-11-29T09:05:00.000Z',
        last_reason: 'rate_limited',
      },
    ]);
    const [stored] = await db.query<{ state: string; evaluation: { vies: { status: string } } }>(
      'select state, evaluation from assessments',
    );
    expect(stored?.state).toBe('AWAITING_SOURCES');
    expect(stored?.evaluation.vies.status).toBe('unavailable');
  });

  it('replays the stored answer for the same key and request, without asking the registries again', async () => {
    const registries = answeringRegistries();
    const assess = makeAssessSupplier({ ...registries, ...persistence(), clock: createManualClock() });
    const first = await assess({ identifier: '552032534', idempotencyKey: 'k1', correlationId: 'a', ...who });
    const second = await assess({
      identifier: '552 032 534',
      idempotencyKey: 'k1',
      correlationId: 'b',
      ...who,
    });
    if (!first.ok || !second.ok) throw new Error('assessment failed');
    expect(second.value).toEqual({ ...first.value, replayed: true });
    expect(first.value.replayed).toBe(false);
    expect(registries.calls).toEqual({ sirene: 1, bodacc: 1, vies: 1 });
    expect(await count('assessments')).toBe(1);

    const other = await assess({ identifier: '356000000', idempotencyKey: 'k1', correlationId: 'c', ...who });
    expect(other).toMatchObject({ ok: false, error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    expect(registries.calls.sirene).toBe(1);
  });

  it('leaves nothing behind when the transaction fails, and frees the key for a retry', async () => {
    const real = createSqlUnitOfWork(db, ids);
    const failing: UnitOfWork = {
      run: (work) =>
        real.run((stores) =>
          work({
            ...stores,
            audit: { ...stores.audit, append: () => Promise.reject(new Error('disk full')) },
          }),
        ),
    };
    const registries = answeringRegistries();
    const broken = makeAssessSupplier({ ...registries, ...persistence(failing), clock: createManualClock() });
    await expect(
      broken({ identifier: '552032534', idempotencyKey: 'k2', correlationId: 'a', ...who }),
    ).rejects.toThrow('disk full');
    for (const table of [
      'assessments',
      'source_observations',
      'global_keys',
      'audit_log',
      'idempotency_keys',
    ]) {
      expect(await count(table), table).toBe(0);
    }
    const healthy = makeAssessSupplier({ ...registries, ...persistence(), clock: createManualClock() });
    const retried = await healthy({
      identifier: '552032534',
      idempotencyKey: 'k2',
      correlationId: 'b',
      ...who,
    });
    expect(retried.ok && retried.value.replayed).toBe(false);
    expect(await count('assessments')).toBe(1);
  });
});
