import type { Assessment } from '#app/domain/assessment.ts';

/** Everything a sealed report shows. */
export interface ReportDocument {
  readonly reportId: string;
  readonly assessmentId: string;
  readonly assessment: Assessment;
  /** ISO instant of the seal; also the PDF's creation date, so the same document renders to the same bytes. */
  readonly sealedAt: string;
  readonly keyId: string;
  readonly algorithm: string;
  /** The public verification URL the QR code and the text point to. */
  readonly verificationUrl: string;
  readonly lang: 'fr' | 'en';
  /** "Requested by X on behalf of Y", when an agent acts for a client account. */
  readonly requestedBy: string | null;
  /** The canonical seal payload without its own PDF hash, attached to the PDF as a JSON file. */
  readonly attachedPayload: string;
}

/**
 * Renders a sealed report as PDF bytes. Deterministic: the same document gives byte-identical output, so a
 * report can be re-rendered and compared. Faults are thrown as InfrastructureError RENDERER_UNAVAILABLE.
 */
export interface ReportRenderer {
  render(document: ReportDocument): Promise<Uint8Array>;
}
