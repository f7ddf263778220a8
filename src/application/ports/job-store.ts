import type { SourceName } from '#app/domain/facts.ts';

export type JobKind = 'retry_source' | 'seal';
export type JobState = 'PENDING' | 'DONE' | 'FINAL';

/** What became of one job the worker ran, for metrics and logs. */
export type JobOutcome =
  | 'answered'
  | 'retry_scheduled'
  | 'final'
  | 'postponed_breaker'
  | 'postponed_rate_limit'
  | 'sealed'
  | 'lease_lost';

/** Work left on an assessment: a registry to ask again, or a new report version to seal. */
export interface AssessmentJob {
  readonly id: string;
  readonly accountId: string;
  readonly assessmentId: string;
  readonly kind: JobKind;
  /** The registry to retry (`retry_source` only). */
  readonly source: SourceName | null;
  readonly state: JobState;
  /** Attempts made so far; the assessment's own call is the first. */
  readonly attempt: number;
  readonly firstFailedAt: string | null;
  readonly nextAttemptAt: string;
  readonly lastReason: string | null;
  readonly lockedBy: string | null;
  readonly lockedUntil: string | null;
}

export interface NewJob {
  readonly id: string;
  readonly accountId: string;
  readonly assessmentId: string;
  readonly kind: JobKind;
  readonly source: SourceName | null;
  readonly attempt: number;
  readonly firstFailedAt: string | null;
  readonly nextAttemptAt: string;
  readonly lastReason: string | null;
  readonly now: string;
}

/**
 * The durable job table (ADR 0003). `enqueue` writes in the caller's transaction and keeps one pending job per
 * assessment, kind and source (a second enqueue of the same is ignored). `claimDue` takes up to `limit` jobs due at
 * `now` (by the application's clock) that no live lease holds, and leases them to `workerId` until now + leaseMs;
 * concurrent claimers never get the same job. The other writes only apply while the caller still holds the lease
 * (they answer false otherwise: the lease expired and another worker may have the job).
 */
export interface JobStore {
  enqueue(job: NewJob): Promise<void>;
  claimDue(input: {
    readonly now: string;
    readonly limit: number;
    readonly leaseMs: number;
    readonly workerId: string;
  }): Promise<readonly AssessmentJob[]>;
  /** Not an attempt (an open breaker, a local rate limit): due again at `until`, the lease released. */
  postpone(id: string, workerId: string, until: string, now: string): Promise<boolean>;
  /** A failed attempt: the next one at `nextAttemptAt`. */
  reschedule(
    id: string,
    workerId: string,
    next: {
      readonly attempt: number;
      readonly nextAttemptAt: string;
      readonly lastReason: string;
      readonly now: string;
    },
  ): Promise<boolean>;
  finish(
    id: string,
    workerId: string,
    end: {
      readonly state: 'DONE' | 'FINAL';
      readonly attempt: number;
      readonly lastReason: string | null;
      readonly now: string;
    },
  ): Promise<boolean>;
  forAssessment(assessmentId: string): Promise<readonly AssessmentJob[]>;
  /** Pending jobs, and how many of them are due at `now`: the queue's depth. */
  depth(now: string): Promise<{ readonly pending: number; readonly due: number }>;
}
