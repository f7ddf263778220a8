import type { Assessment, AssessmentInput } from '#app/domain/assessment.ts';

export type AssessmentState = 'COMPLETE' | 'AWAITING_SOURCES';

/** An assessment as kept: who asked, for which account, and what was concluded. */
export interface StoredAssessment {
  readonly id: string;
  readonly accountId: string;
  readonly actorId: string | null;
  /**
   * The ON_BEHALF agent account whose member made it for this (client) account, else null: the report then says
   * "requested by <actor> on behalf of <account>".
   */
  readonly agentAccountId: string | null;
  /** When it was made; also its partition (assessments are partitioned by month). */
  readonly createdAt: string;
  /** 1 when made; each re-evaluation (a retried source answering) makes the next version. */
  readonly version: number;
  readonly state: AssessmentState;
  readonly idempotencyKey: string | null;
  readonly correlationId: string | null;
  readonly assessment: Assessment;
  /** What it was evaluated from, to evaluate again when a retried source answers (null for older assessments). */
  readonly evaluation: AssessmentInput | null;
}

/** How to find a supplier's past assessments: by SIREN for a French company, by VAT number otherwise. */
export type SubjectKey = { readonly siren: string } | { readonly vat: string };

/** Filters of an account's assessment list; newest first, paged by a cursor (the last item's createdAt and id). */
export interface AssessmentListQuery {
  readonly accountId: string;
  readonly verdict?: 'GREEN' | 'RED' | 'GREY';
  readonly state?: AssessmentState;
  readonly subject?: SubjectKey;
  /** createdAt >= from, < to (ISO instants). */
  readonly from?: string;
  readonly to?: string;
  readonly after?: { readonly createdAt: string; readonly id: string };
  /** 1 to 200. */
  readonly limit: number;
}

/**
 * Assessments, scoped by account: no method ever returns another account's assessment.
 *
 * `save` inserts (an id is saved once; uniqueness across partitions is the UniquenessRegistry's job, in the same
 * transaction). `history` lists newest first.
 */
export interface AssessmentStore {
  save(record: StoredAssessment): Promise<void>;
  /**
   * Reads an assessment and holds it until the caller's transaction ends, so re-evaluations of one assessment
   * happen one after the other (not scoped by account: the retry worker acts for every account).
   */
  lockForUpdate(id: string): Promise<StoredAssessment | null>;
  /** Writes a re-evaluation: the new version, state, verdict, signals, sources and evaluation input. */
  update(record: StoredAssessment): Promise<void>;
  get(accountId: string, id: string): Promise<StoredAssessment | null>;
  list(query: AssessmentListQuery): Promise<readonly StoredAssessment[]>;
  history(
    accountId: string,
    subject: SubjectKey,
    options?: { readonly limit?: number },
  ): Promise<readonly StoredAssessment[]>;
}
