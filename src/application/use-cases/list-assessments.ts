import {
  formatVat,
  parseSupplierId,
  type IdentifierError,
  type SupplierId,
} from '#app/domain/identifiers/identifiers.ts';
import { ok, type Result } from '#app/domain/result.ts';
import type { AssessmentStore, StoredAssessment, SubjectKey } from '../ports/assessment-store.ts';

/** A French supplier's history is its SIREN's, whatever identifier named it; a foreign one's, its VAT number's. */
const subjectKey = (id: SupplierId): SubjectKey => {
  if (id.kind !== 'vat') return { siren: id.siren };
  return id.siren === null ? { vat: formatVat(id.vat) } : { siren: id.siren };
};

export interface ListAssessmentsInput {
  readonly accountId: string;
  /** A SIREN, a SIRET (its company's history) or a VAT number. */
  readonly identifier: string;
  readonly limit?: number;
}

export type ListAssessments = (
  input: ListAssessmentsInput,
) => Promise<Result<readonly StoredAssessment[], IdentifierError>>;

/**
 * A supplier's past assessments in the caller's account, newest first. A SIRET lists its company's assessments;
 * a French VAT number its SIREN's. Invalid identifiers: IDENTIFIER_* and VAT_* codes.
 */
export const makeListAssessments =
  (deps: { readonly assessments: AssessmentStore }): ListAssessments =>
  async (input) => {
    const id = parseSupplierId(input.identifier);
    if (!id.ok) return id;
    const subject = subjectKey(id.value);
    return ok(
      await deps.assessments.history(
        input.accountId,
        subject,
        input.limit === undefined ? {} : { limit: input.limit },
      ),
    );
  };
