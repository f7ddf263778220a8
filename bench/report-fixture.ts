import type { ReportDocument } from '#app/application/ports/report-renderer.ts';
import { AT, red, report } from '../test/support/reports.ts';

/**
 * The report a rendering benchmark renders: the renderers' test report (DANONE in liquidation, VIES timed out);
 * the i-th copy differs in ids, seal time and language, as successive real reports would.
 */
export const documentFor = (i: number): ReportDocument =>
  report({
    reportId: `0193a1b2-c3d4-7e5f-8a9b-${String(i).padStart(12, '0')}`,
    assessmentId: `assessment-${String(i)}`,
    sealedAt: new Date(Date.parse(AT) + i * 1000).toISOString(),
    verificationUrl: `https://vigilance.example/verify/3q2-7wEjx9Vv0bQ1sZk4mT8yP6rN5cH2aL0dF9g${String(i).padStart(6, '0')}`,
    lang: i % 2 === 0 ? 'fr' : 'en',
    attachedPayload: JSON.stringify({ reportId: i, verdict: red.verdict, sealedAt: AT }),
  });
