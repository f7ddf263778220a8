import type { InsolvencyFacts } from '#app/domain/facts.ts';
import type { Siren } from '#app/domain/identifiers/identifiers.ts';
import type { RegistryAnswer, RegistryCall } from './registry-call.ts';

/**
 * BODACC: every commercial notice published for a SIREN (all pages), re-filtered on the SIREN client-side.
 *
 * Guarantees: no notice is a fact (`notices: []`); a failed page makes the whole answer `REGISTRY_UNAVAILABLE`,
 * since a partial list could hide the one judgment that matters.
 */
export interface InsolvencyRegistry {
  notices(siren: Siren, call: RegistryCall): Promise<RegistryAnswer<InsolvencyFacts>>;
}
