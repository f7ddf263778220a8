import type { Assessment, SourceOutcome } from '#app/domain/assessment.ts';
import { evaluateAssessment } from '#app/domain/assessment.ts';
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
import { err, ok, type Result } from '#app/domain/result.ts';
import type { Clock } from '../ports/clock.ts';
import type { CompanyRegistry } from '../ports/company-registry.ts';
import type { InsolvencyRegistry } from '../ports/insolvency-registry.ts';
import type { RegistryAnswer } from '../ports/registry-call.ts';
import type { VatRegistry } from '../ports/vat-registry.ts';

export interface AssessSupplierDeps {
  readonly companyRegistry: CompanyRegistry;
  readonly insolvencyRegistry: InsolvencyRegistry;
  readonly vatRegistry: VatRegistry;
  readonly clock: Clock;
  readonly policy?: VerdictPolicy;
}

export interface AssessSupplierInput {
  /** A SIREN, a SIRET or an EU VAT number, as typed. */
  readonly identifier: string;
  /** A VAT number to check instead of the one derived from the SIREN. */
  readonly vat?: string;
  readonly correlationId: string;
}

export type AssessSupplierError =
  IdentifierError | { readonly code: 'VAT_SUBJECT_MISMATCH'; readonly message: string };

export type AssessSupplier = (input: AssessSupplierInput) => Promise<Result<Assessment, AssessSupplierError>>;

/**
 * Assesses a supplier against SIRENE, BODACC and VIES.
 *
 * The identifier is validated before any network call (codes IDENTIFIER_*, VAT_*, VAT_SUBJECT_MISMATCH). The
 * sources that apply are queried concurrently, so the assessment takes as long as the slowest source, not the
 * sum. A source that does not answer is carried as unavailable (never as a negative fact), and the verdict
 * policy decides GREEN, RED or GREY.
 */
export const makeAssessSupplier = (deps: AssessSupplierDeps): AssessSupplier => {
  const policy = deps.policy ?? POLICY_V1;

  const timed = async <F>(call: () => Promise<RegistryAnswer<F>>): Promise<SourceOutcome<F>> => {
    const started = deps.clock.monotonicMs();
    const answer = await call();
    const durationMs = Math.round(deps.clock.monotonicMs() - started);
    const observedAt = deps.clock.now().toISOString();
    return answer.ok
      ? { status: 'ok', facts: answer.value, observedAt, durationMs }
      : { status: 'unavailable', unavailable: answer.error, observedAt, durationMs };
  };

  return async (input) => {
    const id = parseSupplierId(input.identifier);
    if (!id.ok) return id;
    const vat = vatToCheck(id.value, input.vat);
    if (!vat.ok) return vat;
    const siren = id.value.siren;
    const siret = id.value.kind === 'siret' ? id.value.siret : null;
    const call = { correlationId: input.correlationId };
    const notApplicable = { status: 'not_applicable' } as const;
    const assessedAt = deps.clock.now().toISOString();
    const vatNumber = vat.value?.number ?? null;

    const [sirene, bodacc, vies] = await Promise.all([
      siren === null ? notApplicable : timed(() => deps.companyRegistry.lookup({ siren, siret }, call)),
      siren === null ? notApplicable : timed(() => deps.insolvencyRegistry.notices(siren, call)),
      vatNumber === null ? notApplicable : timed(() => deps.vatRegistry.check(vatNumber, call)),
    ]);

    return ok(
      evaluateAssessment(
        { id: id.value, query: queryOf(id.value), vat: vat.value, assessedAt, sirene, bodacc, vies },
        policy,
      ),
    );
  };
};

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
