import type { VatFacts } from '#app/domain/facts.ts';
import type { VatNumber } from '#app/domain/identifiers/identifiers.ts';
import type { RegistryAnswer, RegistryCall } from './registry-call.ts';

/**
 * VIES: whether an EU VAT number is valid.
 *
 * Guarantees: only VIES's VALID and INVALID verdicts become facts; every other `userError` (MS_UNAVAILABLE,
 * TIMEOUT, MS_MAX_CONCURRENT_REQ, ...) and every HTTP failure is `REGISTRY_UNAVAILABLE`, even though VIES then
 * says `isValid: false`.
 */
export interface VatRegistry {
  check(vat: VatNumber, call: RegistryCall): Promise<RegistryAnswer<VatFacts>>;
}
