/**
 * PDF renders per second and render latency with the pdfkit renderer: one renderer (fonts read and parsed once,
 * as in production), against a renderer made per report (fonts read and parsed for every document).
 * Usage: node bench/render.bench.ts [--total 300 --uncached 40]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createPdfRenderer } from '#app/adapters/pdf/renderer.ts';
import type { ReportDocument, ReportRenderer } from '#app/application/ports/report-renderer.ts';
import { evaluateAssessment } from '#app/domain/assessment.ts';
import type { CompanyFound } from '#app/domain/facts.ts';
import { frenchVatFromSiren, parseSupplierId, type Siren } from '#app/domain/identifiers/identifiers.ts';
import { POLICY_V1 } from '#app/domain/policy.ts';
import { percentile, round } from './support.ts';

const { values } = parseArgs({
  options: {
    total: { type: 'string', default: '300' },
    uncached: { type: 'string', default: '40' },
  },
});
const total = Number(values.total);
const uncachedTotal = Number(values.uncached);

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

const documentFor = (i: number): ReportDocument => ({
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

interface Series {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly bytes: number;
}

const measure = async (count: number, rendererFor: () => ReportRenderer): Promise<Series> => {
  const latencies: number[] = [];
  let bytes = 0;
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const renderer = rendererFor();
    const t0 = performance.now();
    bytes += (await renderer.render(documentFor(i))).byteLength;
    latencies.push(performance.now() - t0);
  }
  const wallMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: round((count * 1000) / wallMs),
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    bytes: Math.round(bytes / count),
  };
};

const shared = createPdfRenderer();
await measure(30, () => shared); // warm-up: JIT, and the shared renderer's one font parse
const cached = await measure(total, () => shared);
const uncached = await measure(uncachedTotal, () => createPdfRenderer());

const figures = {
  bench: 'render',
  total,
  cachedRendersPerSecond: cached.perSecond,
  cachedP50Ms: cached.p50Ms,
  cachedP95Ms: cached.p95Ms,
  uncachedTotal,
  uncachedRendersPerSecond: uncached.perSecond,
  uncachedP50Ms: uncached.p50Ms,
  uncachedP95Ms: uncached.p95Ms,
  uncachedOverCachedP50: round(uncached.p50Ms / cached.p50Ms, 2),
  averageBytes: cached.bytes,
  node: process.version,
};

const print = (label: string, value: string): void => {
  console.log(`  ${label.padEnd(34)} ${value}`);
};
console.log(`PDF renders, one at a time (${figures.averageBytes} bytes on average)`);
print(
  'fonts parsed once (one renderer)',
  `${cached.perSecond} renders/s, p50 ${cached.p50Ms} ms, p95 ${cached.p95Ms} ms`,
);
print(
  'fonts parsed per report',
  `${uncached.perSecond} renders/s, p50 ${uncached.p50Ms} ms, p95 ${uncached.p95Ms} ms (${figures.uncachedOverCachedP50} x)`,
);
console.log(JSON.stringify(figures));
