import { formatVat, parseSupplierId, type IdentifierError } from '#app/domain/identifiers/identifiers.ts';
import { ok, type Result } from '#app/domain/result.ts';
import type { Account, User } from '../ports/account-store.ts';
import type { AssessmentListQuery, StoredAssessment, SubjectKey } from '../ports/assessment-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { ObjectStorage } from '../ports/object-storage.ts';
import type { StoredReport } from '../ports/report-store.ts';
import type { Stores } from '../ports/unit-of-work.ts';

/** How long a report download link lasts: 15 minutes. */
export const DOWNLOAD_LINK_SECONDS = 15 * 60;

export type AssessmentFilter = Omit<AssessmentListQuery, 'subject'> & {
  /** A SIREN, SIRET or VAT number: that supplier's assessments (a SIRET's company's, a French VAT's SIREN's). */
  readonly identifier?: string;
};

export interface ReportDownload {
  readonly report: StoredReport;
  readonly url: string;
  readonly expiresAt: string;
}

export interface ReadResources {
  assessment(accountId: string, id: string): Promise<StoredAssessment | null>;
  assessments(filter: AssessmentFilter): Promise<Result<readonly StoredAssessment[], IdentifierError>>;
  report(accountId: string, id: string): Promise<StoredReport | null>;
  /** A 15-minute download link of the report's PDF (a presigned URL on S3, a signed link on the filesystem). */
  reportDownload(accountId: string, id: string): Promise<ReportDownload | null>;
  user(id: string): Promise<User | null>;
  account(id: string): Promise<Account | null>;
}

/** A French supplier's history is its SIREN's, whatever identifier named it; a foreign one's, its VAT number's. */
export const subjectKeyOf = (identifier: string): Result<SubjectKey, IdentifierError> => {
  const id = parseSupplierId(identifier);
  if (!id.ok) return id;
  if (id.value.kind !== 'vat') return ok({ siren: id.value.siren });
  return ok(id.value.siren === null ? { vat: formatVat(id.value.vat) } : { siren: id.value.siren });
};

/** The reads of an account's resources, each scoped by the account it is given. */
export const makeReadResources = (deps: {
  readonly stores: Stores;
  readonly storage: ObjectStorage;
  readonly clock: Clock;
}): ReadResources => ({
  assessment: (accountId, id) => deps.stores.assessments.get(accountId, id),
  assessments: async ({ identifier, ...query }) => {
    if (identifier === undefined) return ok(await deps.stores.assessments.list(query));
    const subject = subjectKeyOf(identifier);
    if (!subject.ok) return subject;
    return ok(await deps.stores.assessments.list({ ...query, subject: subject.value }));
  },
  report: (accountId, id) => deps.stores.reports.get(accountId, id),
  reportDownload: async (accountId, id) => {
    const report = await deps.stores.reports.get(accountId, id);
    if (report === null) return null;
    const expiresAt = new Date(deps.clock.now().getTime() + DOWNLOAD_LINK_SECONDS * 1000).toISOString();
    const url = await deps.storage.downloadUrl(report.storageKey, DOWNLOAD_LINK_SECONDS);
    return { report, url, expiresAt };
  },
  user: (id) => deps.stores.accounts.getUser(id),
  account: (id) => deps.stores.accounts.getAccount(id),
});
