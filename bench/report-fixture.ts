import type { ReportDocument } from '#app/application/ports/report-renderer.ts';
import { evaluateAssessment } from '#app/domain/assessment.ts';
import type { CompanyFound } from '#app/domain/facts.ts';
import { frenchVatFromSiren, parseSupplierId, type Siren } from '#app/domain/identifiers/identifiers.ts';
import { POLICY_V1 } from '#app/domain/policy.ts';

/** The report a rendering benchmark renders: DANONE, realistic signals; the i-th copy differs in ids and date. */

const AT = '2026-11-29T09:00:00.000Z';
const SIREN = '552032534' as Siren;
const id = parseSupplierId(SIREN);
if (!id.ok) throw new Error(id.error.message);

const company: CompanyFound = {
  kind: 'found',
  provider: 'recherche',
  siren: SIREN,
  duplicateOf: null,
  name: 'DANONE',
  diffusion: 'public',
  state: 'active',
  ceasedOn: null,
  createdOn: '1955-01-01',
  legalCategory: '5599',
  activity: '70.10Z',
  headOfficeSiret: '55203253400703',
  vatNumbers: ['FR27552032534'],
  establishment: null,
  sourceUrl: 'https://recherche-entreprises.api.gouv.fr/search?q=552032534&page=1&per_page=1',
};

// A typical RED report: a liquidation on BODACC while VIES timed out, about two pages.
const assessment = evaluateAssessment(
  {
    id: id.value,
    query: SIREN,
    vat: { number: frenchVatFromSiren(SIREN), origin: 'derived' },
    assessedAt: AT,
    sirene: { status: 'ok', facts: company, observedAt: AT, durationMs: 120 },
    bodacc: {
      status: 'ok',
      facts: {
        siren: SIREN,
        sourceUrl: 'https://bodacc.example/records?siren=552032534',
        notices: [
          {
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
          },
        ],
      },
      observedAt: AT,
      durationMs: 340,
    },
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
  },
  POLICY_V1,
);

export const documentFor = (i: number): ReportDocument => ({
  reportId: `0193a1b2-c3d4-7e5f-8a9b-${String(i).padStart(12, '0')}`,
  assessmentId: `assessment-${i}`,
  assessment,
  sealedAt: new Date(Date.parse(AT) + i * 1000).toISOString(),
  keyId: 'kR3x9QnV1m2Yb8c7d6e5f4g3h2j1k0lMnOpQrStUvWx',
  algorithm: 'PS256',
  verificationUrl: `https://vigilance.example/verify/3q2-7wEjx9Vv0bQ1sZk4mT8yP6rN5cH2aL0dF9g${String(i).padStart(6, '0')}`,
  lang: i % 2 === 0 ? 'fr' : 'en',
  requestedBy: null,
  attachedPayload: JSON.stringify({ reportId: i, verdict: assessment.verdict, sealedAt: AT }),
});
