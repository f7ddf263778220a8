import type { AccountStore, ApiClientStore } from './account-store.ts';
import type { AssessmentStore } from './assessment-store.ts';
import type { AuditLog } from './audit-log.ts';
import type { IdempotencyStore } from './idempotency-store.ts';
import type { JobStore } from './job-store.ts';
import type { ObservationStore } from './observation-store.ts';
import type { ReportStore } from './report-store.ts';
import type { UniquenessRegistry } from './uniqueness-registry.ts';

/** The stores, bound to one transaction. */
export interface Stores {
  readonly accounts: AccountStore;
  readonly apiClients: ApiClientStore;
  readonly assessments: AssessmentStore;
  readonly observations: ObservationStore;
  readonly audit: AuditLog;
  readonly idempotency: IdempotencyStore;
  readonly reports: ReportStore;
  readonly jobs: JobStore;
  readonly uniqueness: UniquenessRegistry;
}

/**
 * Runs work atomically: every write made through the given stores commits together when the work resolves, or
 * none does when it throws.
 */
export interface UnitOfWork {
  run<T>(work: (stores: Stores) => Promise<T>): Promise<T>;
}
