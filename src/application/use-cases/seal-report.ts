import { attachedPayloadOf, type SealFile, type SealPayload } from '#app/domain/seal.ts';
import { err, ok, type Result } from '#app/domain/result.ts';
import type { AssessmentStore } from '../ports/assessment-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { IdGenerator } from '../ports/id-generator.ts';
import { InfrastructureError } from '../ports/infrastructure-error.ts';
import type { JsonValue } from '../ports/json.ts';
import type { ObjectStorage } from '../ports/object-storage.ts';
import type { ReportRenderer } from '../ports/report-renderer.ts';
import type { ReportStore, StoredReport } from '../ports/report-store.ts';
import type { SealCrypto } from '../ports/seal-crypto.ts';
import type { Signer } from '../ports/signer.ts';
import type { UnitOfWork } from '../ports/unit-of-work.ts';

export interface SealReportDeps {
  readonly assessments: AssessmentStore;
  readonly reports: ReportStore;
  readonly unitOfWork: UnitOfWork;
  readonly renderer: ReportRenderer;
  readonly signer: Signer;
  readonly storage: ObjectStorage;
  readonly crypto: SealCrypto;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Where the public verification pages are served, e.g. https://vigilance.example (no trailing slash). */
  readonly publicBaseUrl: string;
}

export interface SealReportInput {
  readonly accountId: string;
  readonly actorId: string | null;
  readonly assessmentId: string;
  readonly lang: 'fr' | 'en';
  readonly correlationId: string;
  /** "Requested by X on behalf of Y", when an agent acts for a client account. */
  readonly requestedBy?: string | null;
  readonly origin?: { readonly ip: string | null; readonly userAgent: string | null };
}

export interface SealOutcome {
  readonly report: StoredReport;
  readonly payload: SealPayload;
  /** `report.seal.json`. */
  readonly seal: SealFile;
  readonly pdf: Uint8Array;
  /**
   * The public verification URL. The token in it is kept only as a hash, so it is returned when the report is
   * sealed and null on a replay: the URL is printed (and QR-coded) in the PDF, which a replay returns.
   */
  readonly verificationUrl: string | null;
  /** True when the report already existed for this assessment version: nothing new was rendered or signed. */
  readonly replayed: boolean;
}

export type SealReportError = { readonly code: 'ASSESSMENT_NOT_FOUND'; readonly message: string };

export type SealReport = (input: SealReportInput) => Promise<Result<SealOutcome, SealReportError>>;

/** Where a report's PDF is stored: by account and month, under the report id. */
export const reportStorageKey = (accountId: string, sealedAt: string, reportId: string): string =>
  `reports/${accountId}/${sealedAt.slice(0, 4)}/${sealedAt.slice(5, 7)}/${reportId}.pdf`;

export const REPORTS_PREFIX = 'reports/';

/** Raised inside the seal transaction when another seal of the same version won: rolls the transaction back. */
class LostRace extends Error {}

/**
 * Seals an assessment as a report anyone can verify, idempotently per assessment version.
 *
 * Steps: a report id and a 256-bit verification token (only its SHA-256 is kept); the PDF, rendered with the
 * verification URL and the payload-to-be attached; the PDF's SHA-256; the RFC 8785 canonical payload; its PS256
 * signature by the signer's current key. Then the PDF is put in object storage, and one transaction writes the
 * report row, its id in the uniqueness registry, the supersession of earlier versions' reports and the audit
 * entry. When the transaction fails the stored object is deleted; if even that fails (or the process dies
 * between the two), the object has no row and the sweeper removes it. So there is never a report row without
 * its PDF, and never a PDF left behind for good.
 *
 * Sealing a version that already has a report returns that report (replayed). Concurrent seals of one version
 * each render and store, but the database keeps one report; the others delete their object and return the winner.
 */
export const makeSealReport = (deps: SealReportDeps): SealReport => {
  const replay = async (report: StoredReport): Promise<SealOutcome> => {
    const pdf = await deps.storage.get(report.storageKey);
    if (pdf === null) {
      throw new InfrastructureError(
        'STORAGE_UNAVAILABLE',
        `The PDF of report ${report.id} is missing from object storage.`,
      );
    }
    return {
      report,
      payload: JSON.parse(report.seal.payload) as SealPayload,
      seal: report.seal,
      pdf,
      verificationUrl: null,
      replayed: true,
    };
  };

  return async (input) => {
    const stored = await deps.assessments.get(input.accountId, input.assessmentId);
    if (stored === null) {
      return err({
        code: 'ASSESSMENT_NOT_FOUND',
        message: `No assessment ${input.assessmentId} in this account.`,
      });
    }
    const existing = await deps.reports.forAssessmentVersion(input.accountId, stored.id, stored.version);
    if (existing !== null) return ok(await replay(existing));

    const reportId = deps.ids.newId();
    const token = deps.ids.newToken();
    const verificationUrl = `${deps.publicBaseUrl}/verify/${token}`;
    const sealedAt = deps.clock.now().toISOString();
    const kid = await deps.signer.currentKeyId();
    const { assessment } = stored;
    const signalsSha256 = deps.crypto.sha256Hex(
      deps.crypto.canonicalize(assessment.signals as unknown as JsonValue),
    );
    const attached = attachedPayloadOf(
      assessment,
      { reportId, assessmentId: stored.id },
      { signalsSha256, sealedAt, kid },
    );
    const pdf = await deps.renderer.render({
      reportId,
      assessmentId: stored.id,
      assessment,
      sealedAt,
      keyId: kid,
      algorithm: attached.alg,
      verificationUrl,
      lang: input.lang,
      requestedBy: input.requestedBy ?? null,
      attachedPayload: deps.crypto.canonicalize(attached),
    });
    const payload: SealPayload = { ...attached, pdfSha256: deps.crypto.sha256Hex(pdf) };
    const payloadText = deps.crypto.canonicalize(payload as unknown as JsonValue);
    const signature = await deps.signer.sign(deps.crypto.sha256(payloadText));
    if (signature.keyId !== kid) {
      // The key rotated between naming it in the payload and signing: the payload would name the wrong key.
      throw new InfrastructureError(
        'SIGNER_UNAVAILABLE',
        'The signing key changed while the report was being sealed; seal again.',
      );
    }
    const seal: SealFile = {
      payload: payloadText,
      signature: deps.crypto.toBase64url(signature.value),
      kid,
      alg: 'PS256',
    };
    const report: StoredReport = {
      id: reportId,
      accountId: input.accountId,
      assessmentId: stored.id,
      assessmentVersion: stored.version,
      tokenHash: deps.crypto.sha256Hex(token),
      seal,
      verdict: assessment.verdict,
      pdfSha256: payload.pdfSha256,
      storageKey: reportStorageKey(input.accountId, sealedAt, reportId),
      lang: input.lang,
      sealedAt,
      actorId: input.actorId,
      correlationId: input.correlationId,
      supersededBy: null,
      revokedAt: null,
      revocationReason: null,
    };

    // Nothing is written anywhere before this put: a failure up to here leaves no trace.
    await deps.storage.put(report.storageKey, pdf, { contentType: 'application/pdf' });
    try {
      await deps.unitOfWork.run(async (stores) => {
        const reserved = await stores.uniqueness.reserve('report', reportId, reportId);
        if (!reserved.ok)
          throw new InfrastructureError('ID_COLLISION', 'A newly generated report id is taken.');
        if ((await stores.reports.insert(report)) === 'duplicate') throw new LostRace();
        const superseded = await stores.reports.supersede(
          input.accountId,
          stored.id,
          reportId,
          stored.version,
        );
        await stores.audit.append({
          occurredAt: sealedAt,
          accountId: input.accountId,
          actorId: input.actorId,
          ip: input.origin?.ip ?? null,
          userAgent: input.origin?.userAgent ?? null,
          correlationId: input.correlationId,
          action: 'report.sealed',
          entityType: 'report',
          entityId: reportId,
          before: superseded.length === 0 ? null : { supersedes: [...superseded] },
          after: {
            assessmentId: stored.id,
            assessmentVersion: stored.version,
            verdict: assessment.verdict,
            pdfSha256: payload.pdfSha256,
            kid,
            storageKey: report.storageKey,
          },
        });
      });
    } catch (error) {
      await deleteQuietly(deps.storage, report.storageKey);
      if (error instanceof LostRace) {
        const winner = await deps.reports.forAssessmentVersion(input.accountId, stored.id, stored.version);
        if (winner !== null) return ok(await replay(winner));
      }
      throw error;
    }
    return ok({ report, payload, seal, pdf, verificationUrl, replayed: false });
  };
};

/** Compensation: the object of a seal that did not commit. When this fails too, the sweeper removes it later. */
const deleteQuietly = async (storage: ObjectStorage, key: string): Promise<void> => {
  try {
    await storage.delete(key);
  } catch {
    // Left for the sweeper: an object no report row refers to.
  }
};
