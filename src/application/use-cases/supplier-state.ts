import {
  frenchVatFromSiren,
  formatVat,
  parseSupplierId,
  type IdentifierError,
} from '#app/domain/identifiers/identifiers.ts';
import { err, ok, type Result } from '#app/domain/result.ts';
import type { Clock } from '../ports/clock.ts';
import type { ObservationStore, ObservedFact } from '../ports/observation-store.ts';

export interface SupplierStateInput {
  readonly identifier: string;
  /** Business time: the legal date asked about (ISO date or instant); today by default. */
  readonly validAt?: string;
  /** System time: what we knew at that instant (ISO date or instant); now by default. */
  readonly knownAt?: string;
}

export interface SupplierState {
  readonly validAt: string;
  readonly knownAt: string;
  readonly subjects: readonly string[];
  readonly facts: readonly ObservedFact[];
}

export type SupplierStateError =
  IdentifierError | { readonly code: 'STATE_BAD_DATE'; readonly message: string };

export type GetSupplierState = (
  input: SupplierStateInput,
) => Promise<Result<SupplierState, SupplierStateError>>;

/** An ISO date means the start of that day (UTC); an instant is taken as given. */
const instant = (text: string, name: string): Result<string, SupplierStateError> => {
  const value = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00.000Z` : text;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) {
    return err({
      code: 'STATE_BAD_DATE',
      message: `${name} must be an ISO date (2026-01-31) or instant, not "${text}".`,
    });
  }
  return ok(new Date(ms).toISOString());
};

/**
 * What the registries said about a supplier that was true at `validAt`, as Vigilance knew it at `knownAt`: the
 * legal state a report can be defended with later. Covers the company (SIREN), the establishment (SIRET) and the
 * VAT number (given, or derived from the SIREN). Codes: IDENTIFIER_*, VAT_*, STATE_BAD_DATE.
 */
export const makeGetSupplierState =
  (deps: { readonly observations: ObservationStore; readonly clock: Clock }): GetSupplierState =>
  async (input) => {
    const id = parseSupplierId(input.identifier);
    if (!id.ok) return id;
    const now = deps.clock.now().toISOString();
    const validAt = instant(input.validAt ?? now, '--valid-at');
    if (!validAt.ok) return validAt;
    const knownAt = instant(input.knownAt ?? now, '--known-at');
    if (!knownAt.ok) return knownAt;
    const v = id.value;
    const subjects = [
      ...(v.siren === null ? [] : [v.siren]),
      ...(v.kind === 'siret' ? [v.siret] : []),
      v.kind === 'vat' ? formatVat(v.vat) : formatVat(frenchVatFromSiren(v.siren)),
    ];
    const facts: ObservedFact[] = [];
    for (const subject of subjects) {
      facts.push(
        ...(await deps.observations.asOf(subject, { validAt: validAt.value, knownAt: knownAt.value })),
      );
    }
    return ok({ validAt: validAt.value, knownAt: knownAt.value, subjects, facts });
  };
