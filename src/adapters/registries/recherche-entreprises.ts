import type { Clock } from '#app/application/ports/clock.ts';
import type { CompanyQuery, CompanyRegistry } from '#app/application/ports/company-registry.ts';
import type {
  RegistryAnswer,
  RegistryCall,
  RegistryUnavailable,
} from '#app/application/ports/registry-call.ts';
import type { CompanyFacts, CompanyFound, EstablishmentFacts } from '#app/domain/facts.ts';
import type { Siret } from '#app/domain/identifiers/identifiers.ts';
import { err, ok, type Result } from '#app/domain/result.ts';
import { badPayload, request, statusUnavailable, type HttpClientOptions } from './http.ts';
import {
  createPayloadReader,
  isRecord,
  knownCreationDate,
  type JsonRecord,
  type PayloadReader,
} from './sirene-common.ts';

export const RECHERCHE_BASE_URL = 'https://recherche-entreprises.api.gouv.fr';

const REGISTRY = "Recherche d'entreprises";

export interface RechercheDeps {
  readonly clock: Clock;
}

/** One `/search` call: the unit whose SIREN was asked, if the answer holds it. */
interface SearchHit {
  readonly url: string;
  readonly unit: JsonRecord | null;
}

/**
 * The keyless API Recherche d'entreprises as the SIRENE `CompanyRegistry` (provider 'recherche').
 *
 * Guarantees, beyond the port's: a SIREN the API does not list, or lists under another SIREN, is `not_found`; a
 * SIREN it knows from the RNE only (no SIRENE data, a "ghost" hit) is `not_found` with `knownToRneOnly: true`;
 * "[NON-DIFFUSIBLE]" is never a value (the field is null and `diffusion` is 'partial' for statut "P"). When a
 * SIRET is asked and the API does not know it, the SIREN is asked in a second call, so an unknown establishment
 * of a known unit is `establishment: { kind: 'not_found' }`, never a missing company. HTTP 429 is `rate_limited`
 * with the `Retry-After` delay; any other non-200 status, a timeout, a network failure or a body that is not the
 * documented JSON shape is `REGISTRY_UNAVAILABLE`. `sourceUrl` is the request whose answer the facts come from.
 */
export const createRechercheCompanyRegistry = (
  deps: RechercheDeps,
  options: HttpClientOptions,
): CompanyRegistry => {
  const search = async (
    q: string,
    query: CompanyQuery,
    call: RegistryCall,
  ): Promise<Result<SearchHit, RegistryUnavailable>> => {
    // A 9- or 14-digit q is an exact SIREN/SIRET filter whose hits the API collapses by SIREN, so one result is
    // all there can be: per_page=1 says so and keeps the body small; page=1 pins the pagination the answer came from.
    const params = new URLSearchParams({ q, page: '1', per_page: '1' });
    const url = `${options.baseUrl}/search?${params.toString()}`;
    const reply = await request(options, { url, correlationId: call.correlationId });
    if (!reply.ok) return reply;
    if (reply.value.status !== 200) {
      return err(statusUnavailable(REGISTRY, reply.value, deps.clock.now().getTime()));
    }
    const body = reply.value.json;
    if (!isRecord(body) || !Array.isArray(body.results)) return err(badPayload(REGISTRY, 'no results list'));
    const results: unknown[] = body.results;
    if (!results.every(isRecord)) return err(badPayload(REGISTRY, 'a result is not an object'));
    const unit = results.find((result) => result.siren === query.siren) ?? null;
    return ok({ url, unit });
  };

  return {
    provider: 'recherche',
    lookup: async (query, call): Promise<RegistryAnswer<CompanyFacts>> => {
      let hit = await search(query.siret ?? query.siren, query, call);
      if (hit.ok && hit.value.unit === null && query.siret !== null) {
        // A SIRET query filters on the establishment: no hit says nothing about the unit, so ask for the unit.
        hit = await search(query.siren, query, call);
      }
      if (!hit.ok) return hit;
      const { url, unit } = hit.value;
      if (unit === null) return ok(notFound(query, url, false));
      return readUnit(unit, query, url);
    },
  };
};

const notFound = (query: CompanyQuery, sourceUrl: string, knownToRneOnly: boolean): CompanyFacts =>
  Object.freeze({ kind: 'not_found', provider: 'recherche', siren: query.siren, knownToRneOnly, sourceUrl });

const readUnit = (unit: JsonRecord, query: CompanyQuery, sourceUrl: string): RegistryAnswer<CompanyFacts> => {
  const read = createPayloadReader();
  const stateCode = read.text(unit, 'etat_administratif');
  // The RNE knows units INSEE never registered: such a hit has no administrative state and no INSEE update date.
  if (
    stateCode === null &&
    read.text(unit, 'date_mise_a_jour_insee') === null &&
    read.problems.length === 0
  ) {
    return ok(notFound(query, sourceUrl, true));
  }
  const state = stateCode === 'A' ? 'active' : stateCode === 'C' ? 'ceased' : 'unknown';
  const closedOn = read.date(unit, 'date_fermeture');
  const siegeValue = unit.siege;
  const siege = isRecord(siegeValue) ? siegeValue : null;
  if (siegeValue !== undefined && siegeValue !== null && siege === null) read.fail('siege is not an object');
  const headOfficeSiret = siege === null ? null : read.text(siege, 'siret');
  const facts: CompanyFound = {
    kind: 'found',
    provider: 'recherche',
    siren: query.siren,
    duplicateOf: null,
    // The legal name first; nom_complet is the display name (with sigle), the only name a sole trader has here.
    name: read.text(unit, 'nom_raison_sociale') ?? read.text(unit, 'nom_complet'),
    diffusion: read.text(unit, 'statut_diffusion') === 'O' ? 'public' : 'partial',
    state,
    ceasedOn: state === 'ceased' ? closedOn : null,
    createdOn: knownCreationDate(read.date(unit, 'date_creation')),
    legalCategory: read.text(unit, 'nature_juridique'),
    activity: read.text(unit, 'activite_principale'),
    headOfficeSiret,
    vatNumbers: Object.freeze(read.texts(unit, 'tva')),
    establishment:
      query.siret === null ? null : readEstablishment(read, unit, siege, headOfficeSiret, query.siret),
    sourceUrl,
  };
  if (read.problems.length > 0) return err(badPayload(REGISTRY, read.problems.join(', ')));
  return ok(Object.freeze(facts));
};

const readEstablishment = (
  read: PayloadReader,
  unit: JsonRecord,
  siege: JsonRecord | null,
  headOfficeSiret: string | null,
  siret: Siret,
): EstablishmentFacts => {
  const matchingValue = unit.matching_etablissements ?? [];
  const matching: unknown[] = Array.isArray(matchingValue) ? matchingValue : [];
  if (!Array.isArray(matchingValue) || !matching.every(isRecord)) {
    read.fail('matching_etablissements is not a list of objects');
  }
  const entry =
    matching.filter(isRecord).find((candidate) => candidate.siret === siret) ??
    (siege !== null && headOfficeSiret === siret ? siege : null);
  if (entry === null) return Object.freeze({ kind: 'not_found', siret });
  const stateCode = read.text(entry, 'etat_administratif');
  const state = stateCode === 'A' ? 'open' : stateCode === 'F' ? 'closed' : 'unknown';
  const closedOn = read.date(entry, 'date_fermeture');
  return Object.freeze({
    kind: 'found',
    siret,
    state,
    closedOn: state === 'closed' ? closedOn : null,
    isHeadOffice: read.flag(entry, 'est_siege') ?? siret === headOfficeSiret,
  });
};
