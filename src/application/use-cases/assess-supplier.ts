import type { Assessment, SourceOutcome } from '#app/domain/assessment.ts';
import { evaluateAssessment, withRetryStates, type AssessmentInput } from '#app/domain/assessment.ts';
import type { SourceName } from '#app/domain/facts.ts';
import { nextRetry, RETRY_POLICY_V1, type RetryPolicy } from '#app/domain/retry-policy.ts';
import type { VatOrigin } from '#app/domain/derive-signals.ts';
import {
  formatVat,
  frenchVatFromSiren,
  parseSupplierId,
  parseVatNumber,
  sirenOfVat,
  type IdentifierError,
  type SupplierId,
  type VatNumber,
} from '#app/domain/identifiers/identifiers.ts';
import { POLICY_V1, type VerdictPolicy } from '#app/domain/policy.ts';
import { timelinesOf } from '#app/domain/observations.ts';
import { err, ok, type Result } from '#app/domain/result.ts';
import type { Clock } from '../ports/clock.ts';
import type { CompanyRegistry } from '../ports/company-registry.ts';
import type { InsolvencyRegistry } from '../ports/insolvency-registry.ts';
import type { IdGenerator } from '../ports/id-generator.ts';
import type { IdempotencyStore } from '../ports/idempotency-store.ts';
import { InfrastructureError } from '../ports/infrastructure-error.ts';
import type { JsonValue } from '../ports/json.ts';
import type { RegistryAnswer } from '../ports/registry-call.ts';
import type { UnitOfWork } from '../ports/unit-of-work.ts';
import type { VatRegistry } from '../ports/vat-registry.ts';

export interface AssessSupplierDeps {
  readonly companyRegistry: CompanyRegistry;
  readonly insolvencyRegistry: InsolvencyRegistry;
  readonly vatRegistry: VatRegistry;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly unitOfWork: UnitOfWork;
  /** Claims and releases idempotency keys outside the work's transaction (completion happens inside it). */
  readonly idempotency: IdempotencyStore;
  readonly policy?: VerdictPolicy;
  readonly retryPolicy?: RetryPolicy;
}

export interface AssessSupplierInput {
  /** A SIREN, a SIRET or an EU VAT number, as typed. */
  readonly identifier: string;
  /** A VAT number to check instead of the one derived from the SIREN. */
  readonly vat?: string;
  readonly correlationId: string;
  /** The account the assessment belongs to, and who asked for it. */
  readonly accountId: string;
  readonly actorId: string | null;
  /** The ON_BEHALF agent account the actor acts through for the client account `accountId`, if any. */
  readonly agentAccountId?: string | null;
  /** Same key and same request: the stored answer, with no registry call; same key, other request: a conflict. */
  readonly idempotencyKey?: string;
  /** Where the request came from, for the audit log. */
  readonly origin?: { readonly ip: string | null; readonly userAgent: string | null };
}

export type AssessSupplierError =
  | IdentifierError
  | { readonly code: 'VAT_SUBJECT_MISMATCH'; readonly message: string }
  | { readonly code: 'IDEMPOTENCY_KEY_REUSED'; readonly message: string }
  | { readonly code: 'IDEMPOTENCY_IN_PROGRESS'; readonly message: string };

export interface AssessmentOutcome {
  readonly assessmentId: string;
  readonly assessment: Assessment;
  /** True when the answer is the one stored under the idempotency key: nothing was asked of the registries. */
  readonly replayed: boolean;
}

export type AssessSupplier = (
  input: AssessSupplierInput,
) => Promise<Result<AssessmentOutcome, AssessSupplierError>>;

/**
 * Assesses a supplier against SIRENE, BODACC and VIES, and keeps the result.
 *
 * The identifier is validated before any network call (codes IDENTIFIER_*, VAT_*, VAT_SUBJECT_MISMATCH). The
 * sources that apply are queried concurrently, so the assessment takes as long as the slowest source, not the
 * sum. A source that does not answer is carried as unavailable (never as a negative fact), and the verdict
 * policy decides GREEN, RED or GREY. Then one transaction stores the assessment, the registries' facts
 * (bitemporally), the audit entry and the idempotency outcome: all of them or none.
 *
 * With an idempotency key, a repeated request replays the stored answer without calling the registries;
 * IDEMPOTENCY_KEY_REUSED when the key came with another request, IDEMPOTENCY_IN_PROGRESS when the first request
 * is still running after the store's wait.
 */
export const makeAssessSupplier = (deps: AssessSupplierDeps): AssessSupplier => {
  const policy = deps.policy ?? POLICY_V1;
  const retryPolicy = deps.retryPolicy ?? RETRY_POLICY_V1;

  /** The first retry of each source that did not answer (the assessment's own call was attempt 1). */
  const firstRetries = (input: AssessmentInput) => {
    const retries: { source: SourceName; nextRetryAt: string; reason: string; failedAt: string }[] = [];
    for (const source of ['sirene', 'bodacc', 'vies'] as const) {
      const outcome = input[source];
      if (outcome.status !== 'unavailable') continue;
      const decision = nextRetry(retryPolicy, {
        attempt: 1,
        firstFailedAt: outcome.observedAt,
        failedAt: outcome.observedAt,
        retryAfterSeconds: outcome.unavailable.retryAfterSeconds,
        random: deps.ids.random(),
      });
      // A window shorter than one attempt would be a misconfiguration; the schedule still says when.
      const nextRetryAt = decision.kind === 'retry' ? decision.at : outcome.observedAt;
      retries.push({ source, nextRetryAt, reason: outcome.unavailable.reason, failedAt: outcome.observedAt });
    }
    return retries;
  };

  const timed = async <F>(call: () => Promise<RegistryAnswer<F>>): Promise<SourceOutcome<F>> => {
    const started = deps.clock.monotonicMs();
    const answer = await call();
    const durationMs = Math.round(deps.clock.monotonicMs() - started);
    const observedAt = deps.clock.now().toISOString();
    return answer.ok
      ? { status: 'ok', facts: answer.value, observedAt, durationMs }
      : { status: 'unavailable', unavailable: answer.error, observedAt, durationMs };
  };

  const consultRegistries = async (id: SupplierId, vat: VatCheck, correlationId: string) => {
    const siren = id.siren;
    const siret = id.kind === 'siret' ? id.siret : null;
    const call = { correlationId };
    const notApplicable = { status: 'not_applicable' } as const;
    const vatNumber = vat?.number ?? null;
    const assessedAt = deps.clock.now().toISOString();
    const [sirene, bodacc, vies] = await Promise.all([
      siren === null ? notApplicable : timed(() => deps.companyRegistry.lookup({ siren, siret }, call)),
      siren === null ? notApplicable : timed(() => deps.insolvencyRegistry.notices(siren, call)),
      vatNumber === null ? notApplicable : timed(() => deps.vatRegistry.check(vatNumber, call)),
    ]);
    return { assessedAt, sirene, bodacc, vies, siret };
  };

  return async (input) => {
    const id = parseSupplierId(input.identifier);
    if (!id.ok) return id;
    const vat = vatToCheck(id.value, input.vat);
    if (!vat.ok) return vat;
    const query = queryOf(id.value);
    const key =
      input.idempotencyKey === undefined ? null : { accountId: input.accountId, key: input.idempotencyKey };

    if (key !== null) {
      const claim = await deps.idempotency.claim({
        ...key,
        // The normalised request: "552 032 534" and "552032534" are the same request.
        fingerprint: JSON.stringify({
          assess: query,
          vat: vat.value === null ? null : formatVat(vat.value.number),
        }),
        now: deps.clock.now().toISOString(),
      });
      switch (claim.kind) {
        case 'claimed':
          break;
        case 'replay':
          // The stored response is the document this use case wrote below.
          return ok({ ...(claim.response as unknown as StoredResponse), replayed: true });
        case 'mismatch':
          return err({
            code: 'IDEMPOTENCY_KEY_REUSED',
            message: `Idempotency key "${key.key}" was already used for a different request.`,
          });
        case 'in_progress':
          return err({
            code: 'IDEMPOTENCY_IN_PROGRESS',
            message: `A request with idempotency key "${key.key}" is still being processed; retry later.`,
          });
      }
    }

    try {
      const answers = await consultRegistries(id.value, vat.value, input.correlationId);
      const evaluation: AssessmentInput = {
        id: id.value,
        query,
        vat: vat.value,
        assessedAt: answers.assessedAt,
        sirene: answers.sirene,
        bodacc: answers.bodacc,
        vies: answers.vies,
      };
      const retries = firstRetries(evaluation);
      const assessment = withRetryStates(
        evaluateAssessment(evaluation, policy),
        Object.fromEntries(retries.map((r) => [r.source, { nextRetryAt: r.nextRetryAt }])),
      );
      const assessmentId = deps.ids.newId();
      const response: StoredResponse = { assessmentId, assessment };
      const knownAt = deps.clock.now().toISOString();
      await deps.unitOfWork.run(async (stores) => {
        const reserved = await stores.uniqueness.reserve('assessment', assessmentId, assessmentId);
        if (!reserved.ok)
          throw new InfrastructureError('ID_COLLISION', 'A newly generated assessment id is taken.');
        await stores.assessments.save({
          id: assessmentId,
          accountId: input.accountId,
          actorId: input.actorId,
          agentAccountId: input.agentAccountId ?? null,
          createdAt: assessment.assessedAt,
          version: 1,
          state: assessment.sources.some((s) => s.status === 'unavailable') ? 'AWAITING_SOURCES' : 'COMPLETE',
          idempotencyKey: input.idempotencyKey ?? null,
          correlationId: input.correlationId,
          assessment,
          evaluation,
        });
        // Each source that did not answer is retried by the worker: enqueued with the assessment, or not at all.
        for (const retry of retries) {
          await stores.jobs.enqueue({
            id: deps.ids.newId(),
            accountId: input.accountId,
            assessmentId,
            kind: 'retry_source',
            source: retry.source,
            attempt: 1,
            firstFailedAt: retry.failedAt,
            nextAttemptAt: retry.nextRetryAt,
            lastReason: retry.reason,
            now: knownAt,
          });
        }
        for (const timeline of timelinesOf(answers)) {
          await stores.observations.record(timeline, knownAt, assessmentId);
        }
        await stores.audit.append({
          occurredAt: knownAt,
          accountId: input.accountId,
          actorId: input.actorId,
          ip: input.origin?.ip ?? null,
          userAgent: input.origin?.userAgent ?? null,
          correlationId: input.correlationId,
          action: 'assessment.created',
          entityType: 'assessment',
          entityId: assessmentId,
          before: null,
          after: auditView(assessment),
        });
        if (key !== null) {
          await stores.idempotency.complete(key, {
            response: response as unknown as JsonValue,
            resourceId: assessmentId,
            now: knownAt,
          });
        }
      });
      return ok({ ...response, replayed: false });
    } catch (error) {
      // The key must not stay claimed by a request that failed: a retry with it has to be able to run.
      if (key !== null) await deps.idempotency.release(key);
      throw error;
    }
  };
};

interface StoredResponse {
  readonly assessmentId: string;
  readonly assessment: Assessment;
}

/** What the audit log keeps of a new assessment: the conclusion and what it rests on, not the whole evidence. */
const auditView = (a: Assessment): JsonValue => ({
  subject: { siren: a.subject.siren, siret: a.subject.siret, vat: a.subject.vat, name: a.subject.name },
  verdict: a.verdict,
  policyVersion: a.policyVersion,
  signals: a.signals.map((s) => `${s.severity} ${s.code}`),
  sources: a.sources.map((s) => `${s.name}:${s.status}`),
});

const queryOf = (id: SupplierId): string => {
  switch (id.kind) {
    case 'siren':
      return id.siren;
    case 'siret':
      return id.siret;
    case 'vat':
      return formatVat(id.vat);
  }
};

type VatCheck = { readonly number: VatNumber; readonly origin: VatOrigin } | null;

/** The VAT number VIES is asked about: the one given, or the French one computed from the SIREN. */
const vatToCheck = (id: SupplierId, given: string | undefined): Result<VatCheck, AssessSupplierError> => {
  if (given === undefined || given.trim() === '') {
    if (id.kind === 'vat') return ok({ number: id.vat, origin: 'given' });
    return ok({ number: frenchVatFromSiren(id.siren), origin: 'derived' });
  }
  const parsed = parseVatNumber(given);
  if (!parsed.ok) return parsed;
  const number = parsed.value;
  if (id.kind === 'vat') {
    if (formatVat(id.vat) !== formatVat(number)) {
      return err({
        code: 'VAT_SUBJECT_MISMATCH',
        message: `Two different VAT numbers were given: ${formatVat(id.vat)} and ${formatVat(number)}.`,
      });
    }
    return ok({ number, origin: 'given' });
  }
  if (sirenOfVat(number) !== id.siren) {
    return err({
      code: 'VAT_SUBJECT_MISMATCH',
      message: `VAT number ${formatVat(number)} does not belong to SIREN ${id.siren}: a French company's VAT number is FR, a two-character key, then its SIREN.`,
    });
  }
  return ok({ number, origin: 'given' });
};
