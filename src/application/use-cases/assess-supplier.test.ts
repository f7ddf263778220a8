import { describe, expect, it } from 'vitest';
import type { CompanyFacts, InsolvencyFacts, VatFacts } from '#app/domain/facts.ts';
import { ok } from '#app/domain/result.ts';
import { danone } from '../../../test/support/facts.ts';
import { createManualClock } from '../../../test/support/manual-clock.ts';
import type { CompanyQuery, CompanyRegistry } from '../ports/company-registry.ts';
import type { InsolvencyRegistry } from '../ports/insolvency-registry.ts';
import type { RegistryAnswer, RegistryCall } from '../ports/registry-call.ts';
import type { VatRegistry } from '../ports/vat-registry.ts';
import { makeAssessSupplier } from './assess-supplier.ts';

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
    const assess = makeAssessSupplier({ ...r, clock });
    const done = assess({ identifier: '552 032 534', correlationId: 'corr-1' });
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
    expect(result.value.verdict).toBe('GREEN');
    expect(result.value.sources.map((s) => [s.name, s.durationMs])).toEqual([
      ['sirene', 50],
      ['bodacc', 80],
      ['vies', 50],
    ]);
  });

  it('rejects an invalid identifier before any registry call', async () => {
    const r = controlledRegistries();
    const assess = makeAssessSupplier({ ...r, clock: createManualClock() });
    const result = await assess({ identifier: '552032535', correlationId: 'c' });
    expect(result).toMatchObject({ ok: false, error: { code: 'IDENTIFIER_BAD_CHECKSUM' } });
    expect([r.pending.sirene.length, r.pending.bodacc.length, r.pending.vies.length]).toEqual([0, 0, 0]);
  });

  it('rejects a VAT number that belongs to another company before any call', async () => {
    const r = controlledRegistries();
    const assess = makeAssessSupplier({ ...r, clock: createManualClock() });
    const result = await assess({ identifier: '552032534', vat: 'FR39356000000', correlationId: 'c' });
    expect(result).toMatchObject({ ok: false, error: { code: 'VAT_SUBJECT_MISMATCH' } });
    expect(r.pending.vies).toHaveLength(0);
  });

  it('checks the VAT number the user gave, as given', async () => {
    const r = controlledRegistries();
    const assess = makeAssessSupplier({ ...r, clock: createManualClock() });
    void assess({ identifier: '552032534', vat: 'fr 27 552 032 534', correlationId: 'c' });
    await flush();
    expect(r.pending.vies[0]?.args).toEqual({ country: 'FR', national: '27552032534' });
  });

  it('asks SIRENE about the establishment when given a SIRET', async () => {
    const r = controlledRegistries();
    const assess = makeAssessSupplier({ ...r, clock: createManualClock() });
    void assess({ identifier: '356 000 000 00048', correlationId: 'c' });
    await flush();
    expect(r.pending.sirene[0]?.args).toEqual({ siren: '356000000', siret: '35600000000048' });
    expect(r.pending.bodacc[0]?.args).toBe('356000000');
  });

  it('asks only VIES about a foreign VAT number', async () => {
    const r = controlledRegistries();
    const assess = makeAssessSupplier({ ...r, clock: createManualClock() });
    const done = assess({ identifier: 'PL7740001454', correlationId: 'c' });
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
    expect(result.ok && result.value.verdict).toBe('GREEN');
  });
});
