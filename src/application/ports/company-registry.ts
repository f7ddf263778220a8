import type { CompanyFacts, SireneProvider } from '#app/domain/facts.ts';
import type { Siren, Siret } from '#app/domain/identifiers/identifiers.ts';
import type { RegistryAnswer, RegistryCall } from './registry-call.ts';

export interface CompanyQuery {
  readonly siren: Siren;
  /** When set, the answer also describes this establishment (`CompanyFound.establishment`). */
  readonly siret: Siret | null;
}

/**
 * SIRENE: a legal unit's identity and administrative state.
 *
 * Guarantees: an unknown SIREN is `kind: 'not_found'` (a fact); a non-diffusible unit is `found` with its masked
 * fields null; a unit INSEE merged as a duplicate is `found` with `duplicateOf` set. Timeouts, HTTP 429/5xx,
 * unreadable bodies and network failures are `REGISTRY_UNAVAILABLE`, never `not_found`.
 */
export interface CompanyRegistry {
  readonly provider: SireneProvider;
  lookup(query: CompanyQuery, call: RegistryCall): Promise<RegistryAnswer<CompanyFacts>>;
}
