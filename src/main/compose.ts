import type { Clock } from '#app/application/ports/clock.ts';
import type { CompanyRegistry } from '#app/application/ports/company-registry.ts';
import type { IdGenerator } from '#app/application/ports/id-generator.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { InsolvencyRegistry } from '#app/application/ports/insolvency-registry.ts';
import type { VatRegistry } from '#app/application/ports/vat-registry.ts';
import { makeAssessSupplier, type AssessSupplier } from '#app/application/use-cases/assess-supplier.ts';
import { makeListAssessments, type ListAssessments } from '#app/application/use-cases/list-assessments.ts';
import { makeGetSupplierState, type GetSupplierState } from '#app/application/use-cases/supplier-state.ts';
import { makeVerifyAuditLog } from '#app/application/use-cases/verify-audit-log.ts';
import type { AuditVerification } from '#app/application/ports/audit-log.ts';
import type { ObjectStorage } from '#app/application/ports/object-storage.ts';
import type { ReportRenderer } from '#app/application/ports/report-renderer.ts';
import type { PublishedKey, Signer } from '#app/application/ports/signer.ts';
import { makeSealReport, type SealReport } from '#app/application/use-cases/seal-report.ts';
import {
  makePublicVerification,
  type PublicVerification,
} from '#app/application/use-cases/public-verification.ts';
import {
  makeRevokeReport,
  makeSweepReportObjects,
  type RevokeReport,
  type SweepOutcome,
} from '#app/application/use-cases/manage-reports.ts';
import { createSealCrypto } from '#app/adapters/system/seal-crypto.ts';
import {
  makeRotateSigningKey,
  type Rotation,
  type RotateSigningKeyInput,
} from '#app/application/use-cases/rotate-signing-key.ts';
import { lazyRenderer, lazySigner, openObjectStorage } from './report-infrastructure.ts';
import type { CircuitBreaker } from '#app/application/ports/circuit-breaker.ts';
import { REGISTRY_LIMITS, type RateLimiter } from '#app/application/ports/rate-limiter.ts';
import {
  makeProcessDueJobs,
  type JobObserver,
  type ProcessDueJobs,
} from '#app/application/use-cases/process-jobs.ts';
import { startJobWorker, type JobWorker } from '#app/application/use-cases/job-worker.ts';
import type { Metrics, MetricsExposition } from '#app/application/ports/metrics.ts';
import { createPrometheusMetrics } from '#app/adapters/prometheus/metrics.ts';
import { createMemoryCircuitBreaker } from '#app/adapters/memory/circuit-breaker.ts';
import { createMemoryRateLimiter } from '#app/adapters/memory/rate-limiter.ts';
import { createRedisCircuitBreaker } from '#app/adapters/redis/circuit-breaker.ts';
import { openRedis, type RedisConnection } from '#app/adapters/redis/client.ts';
import type { Stores, UnitOfWork } from '#app/application/ports/unit-of-work.ts';
import { createRedisRateLimiter } from '#app/adapters/redis/rate-limiter.ts';
import { openPgliteDatabase } from '#app/adapters/pglite/database.ts';
import { openPostgresDatabase } from '#app/adapters/postgres/database.ts';
import { BODACC_BASE_URL, createBodaccInsolvencyRegistry } from '#app/adapters/registries/bodacc.ts';
import { createInseeCompanyRegistry, INSEE_BASE_URL } from '#app/adapters/registries/insee-sirene.ts';
import {
  createRechercheCompanyRegistry,
  RECHERCHE_BASE_URL,
} from '#app/adapters/registries/recherche-entreprises.ts';
import { createViesVatRegistry, VIES_BASE_URL } from '#app/adapters/registries/vies.ts';
import type { SqlDatabase } from '#app/adapters/sql/database.ts';
import { migrate, readMigrations } from '#app/adapters/sql/migrate.ts';
import { ensurePartitions, startPartitionMaintenance } from '#app/adapters/sql/partitions.ts';
import { createSqlStores, createSqlUnitOfWork } from '#app/adapters/sql/unit-of-work.ts';
import { createSystemClock } from '#app/adapters/system/clock.ts';
import { createUuidGenerator } from '#app/adapters/system/id-generator.ts';
import type { Config } from '#app/config/config.ts';
import { BUILT_IN_FIXTURES_DIR, startSandbox } from '#app/sandbox/server.ts';
import { instrumentRegistries, limitRegistries } from './instrument-registries.ts';

/** The account and user the CLI acts as until login exists (seeded by the first migration). */
export const LOCAL_ACCOUNT_ID = '00000000-0000-4000-8000-000000000001';
export const LOCAL_USER_ID = '00000000-0000-4000-8000-000000000002';

export interface UseCases {
  readonly assessSupplier: AssessSupplier;
  readonly listAssessments: ListAssessments;
  readonly getSupplierState: GetSupplierState;
  readonly verifyAuditLog: () => Promise<AuditVerification>;
  readonly sealReport: SealReport;
  readonly revokeReport: RevokeReport;
  readonly publicVerification: PublicVerification;
  readonly sweepReportObjects: () => Promise<SweepOutcome>;
  readonly rotateSigningKey: (input: RotateSigningKeyInput) => Promise<Rotation>;
  /** One round of the retry worker (claims the jobs due now and runs them). */
  readonly processDueJobs: ProcessDueJobs;
  /** Every public key that ever signed a report, current first: the JWKS. */
  readonly publicKeys: () => Promise<readonly PublishedKey[]>;
}

/** What compose built that the HTTP composition (src/main/web.ts) builds on. */
export interface AppParts {
  readonly config: Config;
  readonly clock: Clock;
  readonly stores: Stores;
  readonly unitOfWork: UnitOfWork;
  readonly storage: ObjectStorage;
  /** Serves a filesystem download link (the PDF, or null when the link is not authentic or has expired). */
  readonly serveFile:
    ((key: string, expires: string, signature: string) => Promise<Uint8Array | null>) | null;
  /** The Redis connection when REDIS_URL is set (shared by every Redis adapter of the process). */
  readonly redis: RedisConnection | null;
  /** Registers something to release when the application closes (in reverse order). */
  onClose(closer: () => Promise<void>): void;
}

export interface App {
  readonly useCases: UseCases;
  readonly parts: AppParts;
  readonly ids: IdGenerator;
  /** Where the registries are reached (the sandbox's URLs in sandbox mode), for display. */
  readonly registryUrls: Readonly<Record<'insee' | 'recherche' | 'bodacc' | 'vies', string>>;
  /** The breaker and the rate limiter the worker goes through (for metrics and tests). */
  readonly breaker: CircuitBreaker;
  /** Pending and due jobs: the retry queue's depth. */
  readonly queueDepth: () => Promise<{ readonly pending: number; readonly due: number }>;
  /**
   * This process's metrics in the Prometheus text format: registry calls (the assessments' and the worker's),
   * retry jobs, and the breakers' states and the queue's depth read now.
   */
  readonly metrics: () => Promise<MetricsExposition>;
  /** Counts one answered HTTP request in this process's metrics. */
  readonly countHttpRequest: Metrics['httpRequest'];
  /** One round of the retry worker, watched by `observer` too (`vigilance worker --once`). */
  workerRound(observer?: JobObserver): Promise<number>;
  /** Starts a retry worker in this process; compose's close() stops it. */
  startWorker(options?: {
    readonly observer?: JobObserver;
    readonly onError?: (error: unknown) => void;
  }): JobWorker;
  /** Releases what compose opened, in reverse order. */
  close(): Promise<void>;
}

/** Replacements for tests and benchmarks: any port given here is used instead of the configured adapter. */
export interface Overrides {
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  readonly companyRegistry?: CompanyRegistry;
  readonly insolvencyRegistry?: InsolvencyRegistry;
  readonly vatRegistry?: VatRegistry;
  /** An open, migrated database (e.g. in-memory PGlite); compose neither migrates nor closes it. */
  readonly database?: SqlDatabase;
  readonly signer?: Signer;
  readonly storage?: ObjectStorage;
  readonly renderer?: ReportRenderer;
  readonly breaker?: CircuitBreaker;
  readonly limiter?: RateLimiter;
}

export interface ComposeOptions {
  /**
   * Long-running processes run periodic maintenance: the monthly partitions ahead of time, and the sweep of report
   * objects that a failed seal left behind.
   */
  readonly maintenanceIntervalMs?: number;
  /** Adds the process's CPU, memory, event loop and GC to the metrics: for long-running processes that serve them. */
  readonly processMetrics?: boolean;
}

/** How often long-running processes check that the coming months' partitions exist. */
export const PARTITION_MAINTENANCE_INTERVAL_MS = 6 * 60 * 60 * 1000;

/** The configured database, opened as it is: PostgreSQL when DATABASE_URL is set, else embedded PGlite. */
export const openConfiguredDatabase = async (config: Config): Promise<SqlDatabase> => {
  const { url, dataDir } = config.database;
  return url === null ? openPgliteDatabase({ dataDir }) : openPostgresDatabase({ url });
};

/**
 * Opens the configured database ready for use: PostgreSQL when DATABASE_URL is set (it must have been migrated with
 * `vigilance migrate`: DATABASE_NOT_MIGRATED otherwise), else embedded PGlite in the data directory, migrated
 * on the spot. The current and next months' partitions are made sure of either way.
 */
export const openDatabase = async (config: Config, clock: Clock): Promise<SqlDatabase> => {
  const db = await openConfiguredDatabase(config);
  const { url } = config.database;
  try {
    if (url === null) await migrate(db);
    else await assertMigrated(db);
    await ensurePartitions(db, clock.now());
    return db;
  } catch (error) {
    await db.close();
    throw error;
  }
};

const assertMigrated = async (db: SqlDatabase): Promise<void> => {
  const [row] = await db.query<{ present: boolean }>(
    "select to_regclass('schema_migrations') is not null as present",
  );
  const applied =
    row?.present === true
      ? new Set(
          (await db.query<{ version: string }>('select version from schema_migrations')).map(
            (r) => r.version,
          ),
        )
      : new Set<string>();
  const missing = readMigrations().filter((m) => !applied.has(m.version));
  if (missing.length > 0) {
    throw new InfrastructureError(
      'DATABASE_NOT_MIGRATED',
      `The PostgreSQL database lacks ${String(missing.length)} migration(s); run \`vigilance migrate\` first.`,
    );
  }
};

/** Both observers see everything, the first first. */
const alsoObserved = (first: JobObserver, second: JobObserver | undefined): JobObserver =>
  second === undefined
    ? first
    : {
        registryCall: (...args) => {
          first.registryCall?.(...args);
          second.registryCall?.(...args);
        },
        job: (...args) => {
          first.job?.(...args);
          second.job?.(...args);
        },
      };

/** The composition root: builds every adapter from the configuration and wires the use cases. */
export const compose = async (
  config: Config,
  overrides: Overrides = {},
  options: ComposeOptions = {},
): Promise<App> => {
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const clock = overrides.clock ?? createSystemClock();
    const ids = overrides.ids ?? createUuidGenerator();
    const reg = config.registries;

    let urls = {
      insee: reg.insee.baseUrl ?? INSEE_BASE_URL,
      recherche: reg.recherche.baseUrl ?? RECHERCHE_BASE_URL,
      bodacc: reg.bodacc.baseUrl ?? BODACC_BASE_URL,
      vies: reg.vies.baseUrl ?? VIES_BASE_URL,
    };
    if (reg.mode === 'sandbox') {
      const sandbox = await startSandbox({ dir: reg.sandboxDir ?? BUILT_IN_FIXTURES_DIR, port: 0 });
      closers.push(() => sandbox.close());
      urls = { ...sandbox.urls };
    }

    let db = overrides.database;
    if (db === undefined) {
      const opened = await openDatabase(config, clock);
      closers.push(() => opened.close());
      db = opened;
    }
    if (options.maintenanceIntervalMs !== undefined) {
      const stop = startPartitionMaintenance(db, () => clock.now(), options.maintenanceIntervalMs);
      closers.push(() => {
        stop();
        return Promise.resolve();
      });
    }

    const http = (name: 'insee' | 'recherche' | 'bodacc' | 'vies') => ({
      baseUrl: urls[name],
      timeoutMs: reg[name].timeoutMs,
      userAgent: config.userAgent,
    });
    const useInsee = reg.sirene === 'insee' || (reg.sirene === 'auto' && reg.inseeApiKey !== null);
    const rawCompanyRegistry =
      overrides.companyRegistry ??
      (useInsee
        ? createInseeCompanyRegistry(
            { clock },
            // The sandbox only checks that a key is sent, like the real API does before it checks the key itself.
            { ...http('insee'), apiKey: reg.inseeApiKey ?? 'sandbox' },
          )
        : createRechercheCompanyRegistry({ clock }, http('recherche')));
    const rawInsolvencyRegistry =
      overrides.insolvencyRegistry ?? createBodaccInsolvencyRegistry({ clock }, http('bodacc'));
    const rawVatRegistry = overrides.vatRegistry ?? createViesVatRegistry({ clock }, http('vies'));

    const storeDeps = { newId: () => ids.newId(), driver: db.driver };
    const stores = createSqlStores(db, storeDeps);
    const unitOfWork = createSqlUnitOfWork(db, storeDeps);

    let signer = overrides.signer;
    if (signer === undefined) {
      const lazy = lazySigner(config);
      closers.push(() => lazy.close());
      signer = lazy.signer;
    }
    let storage = overrides.storage;
    let serveFile: AppParts['serveFile'] = null;
    if (storage === undefined) {
      const opened = await openObjectStorage(config, clock);
      closers.push(() => opened.close());
      storage = opened.storage;
      serveFile = opened.serveFile;
    }
    let renderer = overrides.renderer;
    if (renderer === undefined) {
      const lazy = lazyRenderer(config);
      closers.push(() => lazy.close());
      renderer = lazy.renderer;
    }
    let onBreakerBackend: (backend: 'redis' | 'memory') => void = () => undefined;
    let breaker = overrides.breaker;
    let limiter = overrides.limiter;
    let redis: RedisConnection | null = null;
    if (config.redis.url !== null) {
      const connection = openRedis({ url: config.redis.url, name: 'vigilance' });
      closers.push(() => connection.close());
      redis = connection;
      breaker ??= createRedisCircuitBreaker({
        redis: connection.redis,
        clock,
        keyPrefix: config.redis.keyPrefix,
        openFallback: (settings) => createMemoryCircuitBreaker({ clock, settings }),
        // The metrics are made once the breaker exists (they read it): the switches are reported through them then.
        onBackendChange: (change) => {
          onBreakerBackend(change.backend);
        },
      });
      limiter ??= createRedisRateLimiter({
        redis: connection.redis,
        limits: reg.limits === 'off' ? {} : REGISTRY_LIMITS,
        keyPrefix: `${config.redis.keyPrefix}limits`,
      });
    }
    breaker ??= createMemoryCircuitBreaker({ clock });
    limiter ??= createMemoryRateLimiter(reg.limits === 'off' ? {} : REGISTRY_LIMITS);
    const queueDepth = () => stores.jobs.depth(clock.now().toISOString());
    const metrics = createPrometheusMetrics(
      { breaker, queueDepth },
      { processMetrics: options.processMetrics === true },
    );
    onBreakerBackend = (backend) => {
      metrics.breakerBackend(backend);
    };
    // Both the assessment and the worker go through these: each call is counted once, here.
    const { companyRegistry, insolvencyRegistry, vatRegistry } = instrumentRegistries(
      {
        companyRegistry: rawCompanyRegistry,
        insolvencyRegistry: rawInsolvencyRegistry,
        vatRegistry: rawVatRegistry,
      },
      { metrics, clock },
    );
    const countJobs: JobObserver = {
      job: (job, outcome) => {
        metrics.job(job.kind, outcome);
      },
    };
    const crypto = createSealCrypto();
    const publicKeys = (): Promise<readonly PublishedKey[]> => signer.publicKeys();
    const sweepReportObjects = makeSweepReportObjects({ storage, reports: stores.reports, clock });
    if (options.maintenanceIntervalMs !== undefined) {
      const timer = setInterval(() => {
        // A failed sweep is retried at the next tick; the orphans stay harmless meanwhile.
        sweepReportObjects().catch(() => undefined);
      }, options.maintenanceIntervalMs);
      timer.unref();
      closers.push(() => {
        clearInterval(timer);
        return Promise.resolve();
      });
    }

    const sealReport = makeSealReport({
      assessments: stores.assessments,
      reports: stores.reports,
      unitOfWork,
      renderer,
      signer,
      storage,
      crypto,
      clock,
      ids,
      publicBaseUrl: config.publicBaseUrl,
    });
    const jobDeps = {
      companyRegistry,
      insolvencyRegistry,
      vatRegistry,
      breaker,
      limiter,
      unitOfWork,
      jobs: stores.jobs,
      assessments: stores.assessments,
      reports: stores.reports,
      sealReport,
      clock,
      ids,
      observer: countJobs,
    };
    const processDueJobs = makeProcessDueJobs({ ...jobDeps, workerId: `worker-${ids.newId()}` });
    const observedWorker = (observer: JobObserver | undefined) =>
      makeProcessDueJobs({
        ...jobDeps,
        workerId: `worker-${ids.newId()}`,
        observer: alsoObserved(countJobs, observer),
      });

    return {
      parts: {
        config,
        clock,
        stores,
        unitOfWork,
        storage,
        serveFile,
        redis,
        onClose: (closer) => {
          closers.push(closer);
        },
      },
      breaker,
      queueDepth,
      metrics: () => metrics.expose(),
      countHttpRequest: (measure) => {
        metrics.httpRequest(measure);
      },
      workerRound: (observer) => observedWorker(observer)(),
      startWorker: (workerOptions = {}) => {
        const worker = startJobWorker({
          processDueJobs: observedWorker(workerOptions.observer),
          idleMs: config.worker.idleMs,
          onError: workerOptions.onError ?? (() => undefined),
        });
        closers.push(() => worker.stop());
        return worker;
      },
      useCases: {
        assessSupplier: makeAssessSupplier({
          // Within each registry's published limits: over them, the source waits for the worker.
          ...limitRegistries({ companyRegistry, insolvencyRegistry, vatRegistry }, limiter),
          clock,
          ids,
          unitOfWork,
          idempotency: stores.idempotency,
        }),
        listAssessments: makeListAssessments({ assessments: stores.assessments }),
        getSupplierState: makeGetSupplierState({ observations: stores.observations, clock }),
        verifyAuditLog: makeVerifyAuditLog({ audit: stores.audit }),
        sealReport,
        processDueJobs,
        revokeReport: makeRevokeReport({ unitOfWork, clock }),
        publicVerification: makePublicVerification({ reports: stores.reports, crypto, publicKeys, clock }),
        sweepReportObjects,
        rotateSigningKey: makeRotateSigningKey({ signer, unitOfWork, clock }),
        publicKeys,
      },
      ids,
      registryUrls: urls,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
};
