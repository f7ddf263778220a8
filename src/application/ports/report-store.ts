import type { Verdict } from '#app/domain/policy.ts';
import type { SealFile } from '#app/domain/seal.ts';

/** A sealed report as kept: the signed seal, where its PDF is, and what became of it since. */
export interface StoredReport {
  readonly id: string;
  readonly accountId: string;
  readonly assessmentId: string;
  /** The assessment version sealed: one report per assessment version. */
  readonly assessmentVersion: number;
  /** SHA-256 (hex) of the verification token; the token itself is never kept. */
  readonly tokenHash: string;
  readonly seal: SealFile;
  readonly verdict: Verdict;
  readonly pdfSha256: string;
  readonly storageKey: string;
  readonly lang: 'fr' | 'en';
  readonly sealedAt: string;
  readonly actorId: string | null;
  readonly correlationId: string | null;
  /** The report of a later version of the same assessment, once there is one. */
  readonly supersededBy: string | null;
  readonly revokedAt: string | null;
  readonly revocationReason: string | null;
}

/**
 * Sealed reports. Account-scoped reads for the account's own use; `findByTokenHash` and `successorOf` serve the
 * public verification, where the token is the credential.
 *
 * `insert` keeps one report per (assessment, version): a second insert for the same version writes nothing and
 * answers `duplicate`, so concurrent seals of one version leave exactly one report. `supersede` links every
 * earlier, not yet superseded report of the assessment to the new one.
 */
export interface ReportStore {
  insert(report: StoredReport): Promise<'inserted' | 'duplicate'>;
  get(accountId: string, id: string): Promise<StoredReport | null>;
  forAssessmentVersion(
    accountId: string,
    assessmentId: string,
    version: number,
  ): Promise<StoredReport | null>;
  findByTokenHash(tokenHash: string): Promise<StoredReport | null>;
  /** The report of the assessment's highest sealed version, or null when it was never sealed. */
  latestForAssessment(accountId: string, assessmentId: string): Promise<StoredReport | null>;
  /** The newest report of the same assessment, following `supersededBy` to its end; null when `id` is the newest. */
  latestSuccessorOf(id: string): Promise<StoredReport | null>;
  supersede(
    accountId: string,
    assessmentId: string,
    newReportId: string,
    version: number,
  ): Promise<readonly string[]>;
  revoke(accountId: string, id: string, at: string, reason: string): Promise<StoredReport | null>;
  /** Which of these storage keys a report refers to (for the sweeper of orphaned objects). */
  referencedKeys(keys: readonly string[]): Promise<ReadonlySet<string>>;
}
