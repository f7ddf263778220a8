import type { ReportDocument } from '#app/application/ports/report-renderer.ts';
import { evaluateAssessment, type Assessment, type SourceOutcome } from '#app/domain/assessment.ts';
import type { BodaccNotice, InsolvencyFacts, VatFacts } from '#app/domain/facts.ts';
import {
  frenchVatFromSiren,
  parseSupplierId,
  type Siren,
  type SupplierId,
} from '#app/domain/identifiers/identifiers.ts';
import { POLICY_V1 } from '#app/domain/policy.ts';
import { danone } from './facts.ts';

/** Report documents for the renderers' tests and benchmarks: DANONE in liquidation (RED), and clean (GREEN). */
export const AT = '2026-11-29T09:00:00.000Z';
export const SEALED_AT = '2026-11-29T09:00:05.123Z';
export const SIREN = '552032534' as Siren;
export const REPORT_ID = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
export const KEY_ID = 'kR3x9QnV1m2Yb8c7d6e5f4g3h2j1k0lMnOpQrStUvWx';
export const URL = 'https://vigilance.example/verify/3q2-7wEjx9Vv0bQ1sZk4mT8yP6rN5cH2aL0dF9gJ1uI';

export const idOf = (text: string): SupplierId => {
  const parsed = parseSupplierId(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
};

export const ok = <F>(facts: F, durationMs = 120): SourceOutcome<F> => ({
  status: 'ok',
  facts,
  observedAt: AT,
  durationMs,
});

export const liquidation: BodaccNotice = {
  id: 'A202500000001',
  publishedOn: '2025-03-01',
  type: 'annonce',
  family: 'collective',
  tribunal: 'Tribunal de commerce de Paris',
  url: 'https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:A202500000001',
  judgment: {
    family: "Jugement d'ouverture",
    nature: "Jugement d'ouverture de liquidation judiciaire",
    date: '2025-02-20',
    complement: null,
  },
  radiation: null,
  previousNoticeId: null,
};

export const bodacc = (notices: readonly BodaccNotice[]): InsolvencyFacts => ({
  siren: SIREN,
  notices,
  sourceUrl: 'https://bodacc.example/records?siren=552032534',
});

export const vies: VatFacts = {
  vat: frenchVatFromSiren(SIREN),
  valid: true,
  name: 'DANONE',
  address: '17 BD HAUSSMANN\n75009 PARIS',
  requestDate: AT,
  sourceUrl: 'https://vies.example/ms/FR/vat/27552032534',
};

export const assess = (over: {
  bodacc?: SourceOutcome<InsolvencyFacts>;
  vies?: SourceOutcome<VatFacts>;
}): Assessment =>
  evaluateAssessment(
    {
      id: idOf(SIREN),
      query: SIREN,
      vat: { number: frenchVatFromSiren(SIREN), origin: 'derived' },
      assessedAt: AT,
      sirene: ok(danone()),
      bodacc: over.bodacc ?? ok(bodacc([]), 340),
      vies: over.vies ?? ok(vies, 80),
    },
    POLICY_V1,
  );

/** DANONE in liquidation while VIES timed out: RED on the BODACC signal alone. */
export const red = assess({
  bodacc: ok(bodacc([liquidation]), 340),
  vies: {
    status: 'unavailable',
    unavailable: {
      reason: 'timeout',
      detail: 'no answer within 8000 ms',
      status: null,
      retryAfterSeconds: 30,
    },
    observedAt: AT,
    durationMs: 8000,
  },
});
export const green = assess({});

export const report = (over: Partial<ReportDocument> = {}): ReportDocument => ({
  reportId: REPORT_ID,
  assessmentId: 'assessment-42',
  assessment: red,
  sealedAt: SEALED_AT,
  keyId: KEY_ID,
  algorithm: 'PS256',
  verificationUrl: URL,
  lang: 'fr',
  requestedBy: null,
  attachedPayload: JSON.stringify({ reportId: REPORT_ID, verdict: 'RED', sealedAt: SEALED_AT, note: 'é ✓' }),
  ...over,
});
