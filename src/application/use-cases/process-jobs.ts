import {
  evaluateAssessment,
  withOutcome,
  withRetryStates,
  type Assessment,
  type AssessmentInput,
  type SourceAnswer,
  type SourceOutcome,
  type SourceReport,
} from '#app/domain/assessment.ts';
import type { SourceName } from '#app/domain/facts.ts';
import { timelinesOf } from '#app/domain/observations.ts';
import { POLICY_V1, type VerdictPolicy } from '#app/domain/policy.ts';
import { nextRetry, RETRY_POLICY_V1, type RetryPolicy } from '#app/domain/retry-policy.ts';
import type { AssessmentStore, StoredAssessment } from '../ports/assessment-store.ts';
import type { CircuitBreaker } from '../ports/circuit-breaker.ts';
import type { Clock } from '../ports/clock.ts';
import type { CompanyRegistry } from '../ports/company-registry.ts';
import type { IdGenerator } from '../ports/id-generator.ts';
import { InfrastructureError } from '../ports/infrastructure-error.ts';
import type { InsolvencyRegistry } from '../ports/insolvency-registry.ts';
import type { JsonValue } from '../ports/json.ts';
import type { AssessmentJob, JobOutcome, JobStore } from '../ports/job-store.ts';
import type { RateLimiter } from '../ports/rate-limiter.ts';
import type { RegistryAnswer, UnavailableReason } from '../ports/registry-call.ts';
import type { ReportStore } from '../ports/report-store.ts';
import type { Stores, UnitOfWork } from '../ports/unit-of-work.ts';
import type { VatRegistry } from '../ports/vat-registry.ts';
import type { SealReport } from './seal-report.ts';

export type { JobOutcome };

/** How one job ran, for logs: identifiers and measures only, never a payload. */
export interface JobRun {
  /**
   * Made for the job: sent to the registry as `X-Correlation-ID` and written in the audit entry the job makes, so
   * a log line, the registry's own logs and the audit log can be joined.
   */
  readonly correlationId: string;
  /** The registry call's duration, when the job reached the registry (not when postponed). */
  readonly durationMs: number | null;
  /** Why the registry gave no usable answer, when it did not. */
  readonly reason: UnavailableReason | null;
}

/**
 * Watches the worker: every registry call and every job's outcome. All optional. Registry calls are counted for
 * metrics around the registry ports themselves (both the assessment's and the worker's): `registryCall` is for
 * what else wants to see the worker's own calls.
 */
export interface JobObserver {
  registryCall?(
    source: SourceName,
    outcome: 'ok' | 'unavailable',
    durationMs: number,
    correlationId: string,
  ): void;
  job?(job: AssessmentJob, outcome: JobOutcome, run: JobRun): void;
}

/** A job's run as it goes: the registry call fills in its measures. */
interface Trace {
  readonly correlationId: string;
  durationMs: number | null;
  reason: UnavailableReason | null;
}

export interface ProcessJobsDeps {
  readonly companyRegistry: CompanyRegistry;
  readonly insolvencyRegistry: InsolvencyRegistry;
  readonly vatRegistry: VatRegistry;
  readonly breaker: CircuitBreaker;
  readonly limiter: RateLimiter;
  readonly unitOfWork: UnitOfWork;
  readonly jobs: JobStore;
  readonly assessments: AssessmentStore;
  readonly reports: ReportStore;
  readonly sealReport: SealReport;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Names this worker's leases. */
  readonly workerId: string;
  /** How long a claimed job is this worker's: past it, another worker takes the job (this one died or stalled). */
  readonly leaseMs?: number;
  /** Jobs claimed per round. */
  readonly batchSize?: number;
  readonly policy?: VerdictPolicy;
  readonly retryPolicy?: RetryPolicy;
  readonly observer?: JobObserver;
}

export const DEFAULT_LEASE_MS = 120_000;
const DEFAULT_BATCH = 10;

/** Raised inside a job's transaction when its lease was lost: rolls back, so the job's new owner decides. */
class LeaseLost extends Error {}

/**
 * One round of the retry worker: claims the jobs due now (by the Clock), and for each:
 *
 * - `retry_source`: asks the source's circuit breaker and rate limiter first (a refusal postpones the job, without
 *   spending an attempt), then the registry. An answer is put in the place of the outage and the assessment is
 *   evaluated again, as a new version (GREY becomes GREEN or RED), in one transaction with the observations, the
 *   job's end and the audit entry; if a report of the assessment was sealed, a `seal` job is enqueued in the same
 *   transaction. A failure schedules the next attempt (full jitter, Retry-After as a floor) or, past the 48-hour
 *   window, marks the source final-unavailable.
 * - `seal`: seals the assessment's current version (idempotent per version), in the language of its last report.
 *
 * Every write of a job happens only while this worker holds its lease, in the same transaction as the state it
 * changes: a worker killed mid-job leaves the job to be run again, with nothing done twice.
 *
 * Each job run has one correlation id: the registry gets it, the audit entry carries it, the observer is told it.
 */
export const makeProcessDueJobs = (deps: ProcessJobsDeps) => {
  const policy = deps.policy ?? POLICY_V1;
  const retryPolicy = deps.retryPolicy ?? RETRY_POLICY_V1;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const now = (): string => deps.clock.now().toISOString();

  const limiterKey = (source: SourceName): string =>
    source === 'sirene' ? deps.companyRegistry.provider : source;

  /** Asks the source's registry about the assessment's subject, timed and observed. */
  const call = async (source: SourceName, input: AssessmentInput, trace: Trace): Promise<SourceAnswer> => {
    const correlation = { correlationId: trace.correlationId };
    const timed = async <F>(
      request: () => Promise<RegistryAnswer<F>>,
    ): Promise<Exclude<SourceOutcome<F>, { status: 'not_applicable' }>> => {
      const started = deps.clock.monotonicMs();
      const answer = await request();
      const durationMs = Math.round(deps.clock.monotonicMs() - started);
      const observedAt = now();
      trace.durationMs = durationMs;
      trace.reason = answer.ok ? null : answer.error.reason;
      deps.observer?.registryCall?.(
        source,
        answer.ok ? 'ok' : 'unavailable',
        durationMs,
        trace.correlationId,
      );
      return answer.ok
        ? { status: 'ok', facts: answer.value, observedAt, durationMs }
        : { status: 'unavailable', unavailable: answer.error, observedAt, durationMs };
    };
    const siren = input.id.siren;
    if (source === 'sirene' && siren !== null) {
      const siret = input.id.kind === 'siret' ? input.id.siret : null;
      return {
        source,
        outcome: await timed(() => deps.companyRegistry.lookup({ siren, siret }, correlation)),
      };
    }
    if (source === 'bodacc' && siren !== null) {
      return { source, outcome: await timed(() => deps.insolvencyRegistry.notices(siren, correlation)) };
    }
    if (source === 'vies' && input.vat !== null) {
      const vat = input.vat.number;
      return { source, outcome: await timed(() => deps.vatRegistry.check(vat, correlation)) };
    }
    throw new InfrastructureError('JOB_INVALID', `Source ${source} does not apply to this assessment.`);
  };

  /** The retry states of the assessment's sources, from its jobs as they now stand. */
  const retryStates = async (stores: Stores, assessmentId: string) => {
    const states: Partial<Record<SourceName, { nextRetryAt: string } | { final: true }>> = {};
    for (const j of await stores.jobs.forAssessment(assessmentId)) {
      if (j.kind !== 'retry_source' || j.source === null) continue;
      if (j.state === 'PENDING') states[j.source] = { nextRetryAt: j.nextAttemptAt };
      else if (j.state === 'FINAL') states[j.source] = { final: true };
    }
    return states;
  };

  const stateOf = (assessment: Assessment): StoredAssessment['state'] =>
    assessment.sources.some((s) => s.status === 'unavailable' && s.nextRetryAt !== undefined)
      ? 'AWAITING_SOURCES'
      : 'COMPLETE';

  const audit = (
    stores: Stores,
    job: AssessmentJob,
    action: string,
    before: JsonValue,
    after: JsonValue,
    correlationId: string,
  ) =>
    stores.audit.append({
      occurredAt: now(),
      accountId: job.accountId,
      actorId: null,
      ip: null,
      userAgent: `vigilance-worker/${deps.workerId}`,
      correlationId,
      action,
      entityType: 'assessment',
      entityId: job.assessmentId,
      before,
      after,
    });

  const summary = (a: Assessment): JsonValue => ({
    verdict: a.verdict,
    signals: a.signals.map((s) => `${s.severity} ${s.code}`),
    sources: a.sources.map((s) => `${s.name}:${s.status}`),
  });

  const answered = async (job: AssessmentJob, answer: SourceAnswer, correlationId: string) => {
    const { source } = answer;
    await deps.unitOfWork.run(async (stores) => {
      const stored = await stores.assessments.lockForUpdate(job.assessmentId);
      if (stored?.evaluation == null) throw new InfrastructureError('JOB_INVALID', 'The assessment is gone.');
      const evaluation = withOutcome(stored.evaluation, answer);
      if (
        !(await stores.jobs.finish(job.id, deps.workerId, {
          state: 'DONE',
          attempt: job.attempt + 1,
          lastReason: null,
          now: now(),
        }))
      ) {
        throw new LeaseLost();
      }
      const assessment = withRetryStates(
        evaluateAssessment(evaluation, policy),
        await retryStates(stores, job.assessmentId),
      );
      const next: StoredAssessment = {
        ...stored,
        version: stored.version + 1,
        state: stateOf(assessment),
        assessment,
        evaluation,
      };
      await stores.assessments.update(next);
      // The observations of the answer alone: the other sources' facts were recorded when they answered.
      const notApplicable = { status: 'not_applicable' } as const;
      const siret = evaluation.id.kind === 'siret' ? evaluation.id.siret : null;
      const only = withOutcome(
        { sirene: notApplicable, bodacc: notApplicable, vies: notApplicable, siret },
        answer,
      );
      for (const timeline of timelinesOf(only)) {
        await stores.observations.record(timeline, now(), job.assessmentId);
      }
      await audit(
        stores,
        job,
        'assessment.reevaluated',
        { version: stored.version, ...(summary(stored.assessment) as object) },
        { version: next.version, source, ...(summary(assessment) as object) },
        correlationId,
      );
      const sealed = await stores.reports.latestForAssessment(job.accountId, job.assessmentId);
      if (sealed !== null) {
        await stores.jobs.enqueue({
          id: deps.ids.newId(),
          accountId: job.accountId,
          assessmentId: job.assessmentId,
          kind: 'seal',
          source: null,
          attempt: 0,
          firstFailedAt: null,
          nextAttemptAt: now(),
          lastReason: null,
          now: now(),
        });
      }
    });
    return 'answered' as const;
  };

  const failed = async (
    job: AssessmentJob,
    source: SourceName,
    outcome: Extract<SourceOutcome<unknown>, { status: 'unavailable' }>,
    correlationId: string,
  ): Promise<JobOutcome> => {
    const attempt = job.attempt + 1;
    const decision = nextRetry(retryPolicy, {
      attempt,
      firstFailedAt: job.firstFailedAt ?? outcome.observedAt,
      failedAt: outcome.observedAt,
      retryAfterSeconds: outcome.unavailable.retryAfterSeconds,
      random: deps.ids.random(),
    });
    const reason = outcome.unavailable.reason;
    if (decision.kind === 'retry') {
      return (await deps.jobs.reschedule(job.id, deps.workerId, {
        attempt,
        nextAttemptAt: decision.at,
        lastReason: reason,
        now: now(),
      }))
        ? 'retry_scheduled'
        : 'lease_lost';
    }
    await deps.unitOfWork.run(async (stores) => {
      const stored = await stores.assessments.lockForUpdate(job.assessmentId);
      if (
        !(await stores.jobs.finish(job.id, deps.workerId, {
          state: 'FINAL',
          attempt,
          lastReason: reason,
          now: now(),
        }))
      ) {
        throw new LeaseLost();
      }
      if (stored === null) return;
      const assessment = withRetryStates(
        { ...stored.assessment, sources: stored.assessment.sources.map(withoutNextRetry) },
        await retryStates(stores, job.assessmentId),
      );
      await stores.assessments.update({ ...stored, state: stateOf(assessment), assessment });
      await audit(
        stores,
        job,
        'assessment.source_final',
        { source, state: stored.state },
        { source, final: true, attempts: attempt, lastReason: reason },
        correlationId,
      );
    });
    return 'final';
  };

  const retrySource = async (job: AssessmentJob, trace: Trace): Promise<JobOutcome> => {
    const source = job.source;
    const stored = await deps.assessments.get(job.accountId, job.assessmentId);
    if (source === null || stored?.evaluation == null) {
      return (await deps.jobs.finish(job.id, deps.workerId, {
        state: 'FINAL',
        attempt: job.attempt,
        lastReason: 'nothing to retry',
        now: now(),
      }))
        ? 'final'
        : 'lease_lost';
    }
    const permit = await deps.breaker.acquire(source);
    if (!permit.allowed) {
      return (await deps.jobs.postpone(job.id, deps.workerId, permit.retryAt, now()))
        ? 'postponed_breaker'
        : 'lease_lost';
    }
    const place = await deps.limiter.tryAcquire(limiterKey(source));
    if (!place.granted) {
      // The breaker's permit is not used: a probe not reported is re-granted after the open period.
      const until = new Date(deps.clock.now().getTime() + place.retryAfterMs).toISOString();
      return (await deps.jobs.postpone(job.id, deps.workerId, until, now()))
        ? 'postponed_rate_limit'
        : 'lease_lost';
    }
    let answer: SourceAnswer;
    try {
      answer = await call(source, stored.evaluation, trace);
    } finally {
      await place.release();
    }
    const { outcome } = answer;
    await deps.breaker.record(source, outcome.status === 'ok' ? 'success' : 'failure', permit);
    return outcome.status === 'unavailable'
      ? failed(job, source, outcome, trace.correlationId)
      : answered(job, answer, trace.correlationId);
  };

  const seal = async (job: AssessmentJob, correlationId: string): Promise<JobOutcome> => {
    const last = await deps.reports.latestForAssessment(job.accountId, job.assessmentId);
    const sealed = await deps.sealReport({
      accountId: job.accountId,
      actorId: null,
      assessmentId: job.assessmentId,
      lang: last?.lang ?? 'fr',
      correlationId,
      origin: { ip: null, userAgent: `vigilance-worker/${deps.workerId}` },
    });
    const end = {
      state: sealed.ok ? 'DONE' : 'FINAL',
      attempt: job.attempt + 1,
      lastReason: sealed.ok ? null : sealed.error.code,
      now: now(),
    } as const;
    return (await deps.jobs.finish(job.id, deps.workerId, end)) ? 'sealed' : 'lease_lost';
  };

  const run = async (job: AssessmentJob, trace: Trace): Promise<JobOutcome> => {
    try {
      return job.kind === 'seal' ? await seal(job, trace.correlationId) : await retrySource(job, trace);
    } catch (error) {
      if (error instanceof LeaseLost) return 'lease_lost';
      // A fault (database, storage, signer): the job keeps its lease until it lapses, then runs again.
      throw error;
    }
  };

  /** Runs one round; returns how many jobs it claimed (0: nothing was due). */
  return async (): Promise<number> => {
    const claimed = await deps.jobs.claimDue({
      now: now(),
      limit: deps.batchSize ?? DEFAULT_BATCH,
      leaseMs,
      workerId: deps.workerId,
    });
    const results = await Promise.allSettled(
      claimed.map(async (job) => {
        const trace: Trace = { correlationId: deps.ids.newId(), durationMs: null, reason: null };
        const outcome = await run(job, trace);
        deps.observer?.job?.(job, outcome, {
          correlationId: trace.correlationId,
          durationMs: trace.durationMs,
          reason: trace.reason,
        });
      }),
    );
    const fault = results.find((r) => r.status === 'rejected');
    if (fault !== undefined) throw fault.reason;
    return claimed.length;
  };
};

export type ProcessDueJobs = ReturnType<typeof makeProcessDueJobs>;

/** A source report without its next attempt: the retry states are then set from the jobs as they stand. */
const withoutNextRetry = (s: SourceReport): SourceReport =>
  Object.fromEntries(Object.entries(s).filter(([key]) => key !== 'nextRetryAt')) as unknown as SourceReport;
