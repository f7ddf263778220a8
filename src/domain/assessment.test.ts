import { describe, expect, it } from 'vitest';
import { evaluateAssessment, type AssessmentInput, type SourceOutcome } from './assessment.ts';
import type { BodaccNotice, CompanyFacts, CompanyFound, InsolvencyFacts, VatFacts } from './facts.ts';
import {
  frenchVatFromSiren,
  parseSupplierId,
  type Siren,
  type SupplierId,
} from './identifiers/identifiers.ts';
import { POLICY_V1 } from './policy.ts';
import { namesMatch } from './derive-signals.ts';
import { danone } from '../../test/support/facts.ts';

const AT = '2026-11-29T09:00:00.000Z';
const SIREN = '552032534' as Siren;

const idOf = (text: string): SupplierId => {
  const parsed = parseSupplierId(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
};

const company = (over: Partial<CompanyFound> = {}): CompanyFacts => danone(over);

const notice = (over: Partial<BodaccNotice>): BodaccNotice => ({
  id: 'A202500000001',
  publishedOn: '2025-03-01',
  type: 'annonce',
  family: 'collective',
  tribunal: 'Tribunal de commerce de Paris',
  url: 'https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:A202500000001',
  judgment: null,
  radiation: null,
  previousNoticeId: null,
  ...over,
});

const liquidation = notice({
  judgment: {
    family: "Jugement d'ouverture",
    nature: "Jugement d'ouverture de liquidation judiciaire",
    date: '2025-02-20',
    complement: null,
  },
});

const bodacc = (notices: readonly BodaccNotice[] = []): InsolvencyFacts => ({
  siren: SIREN,
  notices,
  sourceUrl: 'https://bodacc.example/records',
});

const vat = (over: Partial<VatFacts> = {}): VatFacts => ({
  vat: frenchVatFromSiren(SIREN),
  valid: true,
  name: 'DANONE',
  address: '17 BD HAUSSMANN\n75009 PARIS',
  requestDate: AT,
  sourceUrl: 'https://vies.example/ms/FR/vat/27552032534',
  ...over,
});

const ok = <F>(facts: F): SourceOutcome<F> => ({ status: 'ok', facts, observedAt: AT, durationMs: 10 });
const down = <F>(): SourceOutcome<F> => ({
  status: 'unavailable',
  unavailable: {
    reason: 'timeout',
    detail: 'no answer within 8000 ms',
    status: null,
    retryAfterSeconds: null,
  },
  observedAt: AT,
  durationMs: 8000,
});

const input = (over: Partial<AssessmentInput> = {}): AssessmentInput => ({
  id: idOf(SIREN),
  query: SIREN,
  vat: { number: frenchVatFromSiren(SIREN), origin: 'derived' },
  assessedAt: AT,
  sirene: ok(company()),
  bodacc: ok(bodacc()),
  vies: ok(vat()),
  ...over,
});

const codes = (a: { signals: readonly { code: string; severity: string }[] }): string[] =>
  a.signals.map((s) => `${s.severity} ${s.code}`);

describe('evaluateAssessment with policy v1', () => {
  it('is GREEN for an active company with no proceeding and a valid VAT number', () => {
    const a = evaluateAssessment(input(), POLICY_V1);
    expect(a.verdict).toBe('GREEN');
    expect(codes(a)).toEqual(['INFO SIRENE_ACTIVE', 'INFO BODACC_NO_PROCEEDING', 'INFO VIES_VAT_VALID']);
    expect(a.subject).toMatchObject({
      siren: SIREN,
      name: 'DANONE',
      vat: 'FR27552032534',
      vatOrigin: 'derived',
    });
    expect(a.policyVersion).toBe('v1');
  });

  it('is RED for an open liquidation even when VIES is down', () => {
    const a = evaluateAssessment(input({ bodacc: ok(bodacc([liquidation])), vies: down() }), POLICY_V1);
    expect(a.verdict).toBe('RED');
    const signal = a.signals.find((s) => s.code === 'BODACC_LIQUIDATION_OPEN');
    expect(signal).toMatchObject({
      severity: 'BLOCKING',
      source: 'bodacc',
      effectiveFrom: '2025-02-20',
      evidence: {
        references: ['A202500000001'],
        dates: { judgmentDate: '2025-02-20', publishedOn: '2025-03-01' },
      },
    });
    expect(a.sources.find((s) => s.name === 'vies')).toMatchObject({
      status: 'unavailable',
      durationMs: 8000,
    });
  });

  it('is GREY, never RED or GREEN, when a source times out and the others are clean', () => {
    for (const which of ['sirene', 'bodacc', 'vies'] as const) {
      const a = evaluateAssessment(input({ [which]: down() }), POLICY_V1);
      expect(a.verdict, which).toBe('GREY');
      expect(a.sources.find((s) => s.name === which)?.reason).toBe('timeout: no answer within 8000 ms');
    }
  });

  it('is RED for a ceased company, dated by the cessation', () => {
    const a = evaluateAssessment(
      input({ sirene: ok(company({ state: 'ceased', ceasedOn: '2024-06-30' })) }),
      POLICY_V1,
    );
    expect(a.verdict).toBe('RED');
    expect(a.signals[0]).toMatchObject({ code: 'SIRENE_CEASED', effectiveFrom: '2024-06-30' });
    expect(a.signals[0]?.summary.fr).toContain('30/06/2024');
  });

  it('is RED for an unknown SIREN', () => {
    const a = evaluateAssessment(
      input({
        sirene: ok({
          kind: 'not_found',
          provider: 'recherche',
          siren: SIREN,
          knownToRneOnly: false,
          sourceUrl: 'u',
        }),
      }),
      POLICY_V1,
    );
    expect(a.verdict).toBe('RED');
    expect(codes(a)).toContain('BLOCKING SIRENE_NOT_FOUND');
  });

  it('warns on a derived VAT number VIES does not know, and blocks on an invalid one the user gave', () => {
    const derived = evaluateAssessment(input({ vies: ok(vat({ valid: false, name: null })) }), POLICY_V1);
    expect(derived.verdict).toBe('GREEN');
    expect(codes(derived)).toContain('WARNING VIES_DERIVED_VAT_NOT_REGISTERED');
    const given = evaluateAssessment(
      input({
        vat: { number: frenchVatFromSiren(SIREN), origin: 'given' },
        vies: ok(vat({ valid: false, name: null })),
      }),
      POLICY_V1,
    );
    expect(given.verdict).toBe('RED');
    expect(codes(given)).toContain('BLOCKING VIES_VAT_INVALID');
  });

  it('warns when the VIES name differs from the registry name, not when it only adds a legal form', () => {
    const same = evaluateAssessment(input({ vies: ok(vat({ name: 'DANONE SA' })) }), POLICY_V1);
    expect(codes(same)).not.toContain('WARNING VIES_NAME_MISMATCH');
    const other = evaluateAssessment(
      input({ vies: ok(vat({ name: 'GERVAIS DANONE BELGIQUE' })) }),
      POLICY_V1,
    );
    expect(codes(other)).not.toContain('WARNING VIES_NAME_MISMATCH');
    const differs = evaluateAssessment(input({ vies: ok(vat({ name: 'LACTALIS' })) }), POLICY_V1);
    expect(codes(differs)).toContain('WARNING VIES_NAME_MISMATCH');
    expect(differs.verdict).toBe('GREEN');
  });

  it('warns on a company created less than a year before the assessment', () => {
    const recent = evaluateAssessment(input({ sirene: ok(company({ createdOn: '2026-03-01' })) }), POLICY_V1);
    expect(codes(recent)).toContain('WARNING SIRENE_RECENTLY_CREATED');
    const old = evaluateAssessment(input({ sirene: ok(company({ createdOn: '2025-11-29' })) }), POLICY_V1);
    expect(codes(old)).not.toContain('WARNING SIRENE_RECENTLY_CREATED');
  });

  it('reports a non-diffusible unit as existing, with an information signal', () => {
    const a = evaluateAssessment(
      input({ sirene: ok(company({ name: null, diffusion: 'partial' })), vies: ok(vat({ name: null })) }),
      POLICY_V1,
    );
    expect(a.verdict).toBe('GREEN');
    expect(codes(a)).toContain('INFO SIRENE_NON_DIFFUSIBLE');
  });

  it('warns on a closed establishment without condemning the company', () => {
    const a = evaluateAssessment(
      input({
        id: idOf('55203253400646'),
        sirene: ok(
          company({
            establishment: {
              kind: 'found',
              siret: '55203253400646' as never,
              state: 'closed',
              closedOn: '2019-12-31',
              isHeadOffice: false,
            },
          }),
        ),
      }),
      POLICY_V1,
    );
    expect(a.verdict).toBe('GREEN');
    expect(a.signals.find((s) => s.code === 'SIRENE_ESTABLISHMENT_CLOSED')).toMatchObject({
      severity: 'WARNING',
      effectiveFrom: '2019-12-31',
    });
    expect(a.subject.siret).toBe('55203253400646');
  });

  it('checks only VIES for a foreign VAT number, naming the supplier from VIES', () => {
    const pl = idOf('PL7740001454');
    const a = evaluateAssessment(
      input({
        id: pl,
        query: 'PL7740001454',
        vat: { number: { country: 'PL', national: '7740001454' }, origin: 'given' },
        sirene: { status: 'not_applicable' },
        bodacc: { status: 'not_applicable' },
        vies: ok(vat({ vat: { country: 'PL', national: '7740001454' }, name: 'ORLEN SPÓŁKA AKCYJNA' })),
      }),
      POLICY_V1,
    );
    expect(a.verdict).toBe('GREEN');
    expect(a.subject).toMatchObject({
      siren: null,
      country: 'PL',
      name: 'ORLEN SPÓŁKA AKCYJNA',
      vat: 'PL7740001454',
    });
    expect(a.sources.map((s) => s.status)).toEqual(['not_applicable', 'not_applicable', 'ok']);
  });

  it('orders signals by severity then source', () => {
    const a = evaluateAssessment(
      input({ bodacc: ok(bodacc([liquidation])), vies: ok(vat({ valid: false, name: null })) }),
      POLICY_V1,
    );
    expect(a.signals.map((s) => s.severity)).toEqual(['BLOCKING', 'WARNING', 'INFO']);
  });
});

describe('namesMatch', () => {
  it.each([
    ['DANONE', 'DANONE SA', true],
    ['Société Générale', 'SOCIETE GENERALE', true],
    ['ACME BATIMENT', 'ACME', true],
    ['ACME', 'ZENITH', false],
  ])('%s ~ %s is %s', (a, b, expected) => {
    expect(namesMatch(a, b)).toBe(expected);
  });
});
