import type { Stores, UnitOfWork } from '#app/application/ports/unit-of-work.ts';
import { createSqlAccountStore } from './account-store.ts';
import { createSqlApiClientStore } from './api-client-store.ts';
import { createSqlAssessmentStore } from './assessment-store.ts';
import { createSqlAuditLog } from './audit-log.ts';
import type { SqlDatabase, SqlExecutor } from './database.ts';
import { createSqlIdempotencyStore } from './idempotency-store.ts';
import { createSqlJobStore } from './job-store.ts';
import { createSqlObservationStore } from './observation-store.ts';
import { createSqlReportStore } from './report-store.ts';
import { createSqlUniquenessRegistry } from './uniqueness-registry.ts';

export interface SqlStoreDeps {
  readonly newId: () => string;
  /** The database's driver: PGlite's single session needs no lock between concurrent recorders. */
  readonly driver?: SqlDatabase['driver'];
}

/** Every store bound to one executor: the database itself, or one transaction. */
export const createSqlStores = (db: SqlExecutor, deps: SqlStoreDeps): Stores => ({
  accounts: createSqlAccountStore(db),
  apiClients: createSqlApiClientStore(db),
  assessments: createSqlAssessmentStore(db),
  observations: createSqlObservationStore(db, { concurrentSessions: deps.driver !== 'pglite' }),
  audit: createSqlAuditLog(db, deps),
  idempotency: createSqlIdempotencyStore(db),
  reports: createSqlReportStore(db),
  jobs: createSqlJobStore(db),
  uniqueness: createSqlUniquenessRegistry(db),
});

/** A unit of work is one database transaction; the stores it hands out write through it. */
export const createSqlUnitOfWork = (db: SqlDatabase, deps: SqlStoreDeps): UnitOfWork => ({
  run: (work) => db.transaction((tx) => work(createSqlStores(tx, { ...deps, driver: db.driver }))),
});
