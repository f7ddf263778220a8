import type { Clock } from '#app/application/ports/clock.ts';
import type { CompanyQuery, CompanyRegistry } from '#app/application/ports/company-registry.ts';
import {
  unavailable,
  type RegistryAnswer,
  type RegistryUnavailable,
} from '#app/application/ports/registry-call.ts';
import type { CompanyFacts, CompanyFound, EstablishmentFacts } from '#app/domain/facts.ts';
import { parseSiren, type Siren, type Siret } from '#app/domain/identifiers/identifiers.ts';
import { err, ok, type Result } from '#app/domain/result.ts';
import { badPayload, request, statusUnavailable, type HttpClientOptions, type HttpReply } from './http.ts';
import {
  createPayloadReader,
  isRecord,
  knownCreationDate,
  type JsonRecord,
  type PayloadReader,
} from './sirene-common.ts';

export const INSEE_BASE_URL = 'https://api.insee.fr/api-sirene/3.11';

const REGISTRY = 'INSEE Sirene';

export interface InseeDeps {
  readonly clock: Clock;
}

export interface InseeOptions extends HttpClientOptions {
  /** The portail-api.insee.fr application key, sent as `X-INSEE-Api-Key-Integration`; never logged or reported. */
  readonly apiKey: string;
}

/** What `/siren/{siren}` said about the unit, before the establishment is known. */
type UnitReading =
  | { readonly kind: 'not_found' }
  | { readonly kind: 'found'; readonly facts: Omit<CompanyFound, 'establishment'> };

/**
 * The INSEE API Sirene 3.11 as the SIRENE `CompanyRegistry` (provider 'insee').
 *
 * Guarantees, beyond the port's: a SIREN asked is one `GET /siren/{siren}`; a SIRET asked also sends
 * `GET /siret/{siret}` concurrently, so it costs two of the 30 calls per minute the public plan allows. The state
 * and the name are read from the current period (the one with no end date); "[ND]" is never a value. A unit INSEE
 * closed as a duplicate (HTTP 301, followed) is `found` for the surviving unit with `duplicateOf` set to the SIREN
 * asked. HTTP 403 means the unit exists but may not be shown: `found`, diffusion 'restricted', state 'unknown'.
 * HTTP 404 is `not_found`. HTTP 429 is `rate_limited` (Retry-After, else X-Rate-Limit-Reset); 401 (key refused),
 * 5xx, any other status, a timeout, a network failure or an unreadable body are `REGISTRY_UNAVAILABLE`, and so is
 * the whole answer when either of the two calls of a SIRET lookup is. The key appears in no message.
 */
export const createInseeCompanyRegistry = (deps: InseeDeps, options: InseeOptions): CompanyRegistry => {
  const { apiKey, ...http } = options;
  const get = (url: string, correlationId: string): Promise<Result<HttpReply, RegistryUnavailable>> =>
    request(http, { url, correlationId, headers: { 'X-INSEE-Api-Key-Integration': apiKey } });

  const refused = (reply: HttpReply): RegistryUnavailable =>
    reply.status === 401
      ? unavailable('http_status', `${REGISTRY} answered HTTP 401: API key refused`, { status: 401 })
      : statusUnavailable(REGISTRY, reply, deps.clock.now().getTime());

  return {
    provider: 'insee',
    lookup: async (query, call): Promise<RegistryAnswer<CompanyFacts>> => {
      const sourceUrl = `${options.baseUrl}/siren/${query.siren}`;
      const [unitReply, establishmentReply] = await Promise.all([
        get(sourceUrl, call.correlationId),
        query.siret === null ? null : get(`${options.baseUrl}/siret/${query.siret}`, call.correlationId),
      ]);
      if (!unitReply.ok) return unitReply;
      if (establishmentReply !== null && !establishmentReply.ok) return establishmentReply;

      const unit = readUnitReply(unitReply.value, query, sourceUrl, refused);
      if (!unit.ok) return unit;
      let establishment: EstablishmentFacts | null = null;
      if (query.siret !== null && establishmentReply !== null) {
        const headOfficeSiret = unit.value.kind === 'found' ? unit.value.facts.headOfficeSiret : null;
        const read = readEstablishmentReply(establishmentReply.value, query.siret, headOfficeSiret, refused);
        if (!read.ok) return read;
        establishment = read.value;
      }
      if (unit.value.kind === 'not_found') {
        return ok(
          Object.freeze({
            kind: 'not_found',
            provider: 'insee',
            siren: query.siren,
            knownToRneOnly: false,
            sourceUrl,
          }),
        );
      }
      return ok(Object.freeze({ ...unit.value.facts, establishment }));
    },
  };
};

const readUnitReply = (
  reply: HttpReply,
  query: CompanyQuery,
  sourceUrl: string,
  refused: (reply: HttpReply) => RegistryUnavailable,
): Result<UnitReading, RegistryUnavailable> => {
  switch (reply.status) {
    case 200:
      return readUnit(reply.json, query.siren, sourceUrl);
    case 403:
      return ok({
        kind: 'found',
        facts: {
          kind: 'found',
          provider: 'insee',
          siren: query.siren,
          duplicateOf: null,
          name: null,
          diffusion: 'restricted',
          state: 'unknown',
          ceasedOn: null,
          createdOn: null,
          legalCategory: null,
          activity: null,
          headOfficeSiret: null,
          vatNumbers: Object.freeze([]),
          sourceUrl,
        },
      });
    case 404:
      return ok({ kind: 'not_found' });
    default:
      return err(refused(reply));
  }
};

const readUnit = (
  json: unknown,
  asked: Siren,
  sourceUrl: string,
): Result<UnitReading, RegistryUnavailable> => {
  const unit = isRecord(json) ? json.uniteLegale : undefined;
  if (!isRecord(unit)) return err(badPayload(REGISTRY, 'no uniteLegale'));
  const read = createPayloadReader();
  const answered = read.text(unit, 'siren');
  let siren = asked;
  if (answered !== asked) {
    // fetch follows INSEE's 301 for a duplicate silently: a different SIREN is the surviving unit.
    const survivor = parseSiren(answered ?? '');
    if (!survivor.ok) return err(badPayload(REGISTRY, 'uniteLegale.siren is not a SIREN'));
    siren = survivor.value;
  }
  const periods = readPeriods(read, unit.periodesUniteLegale, 'periodesUniteLegale');
  const current = periods[0];
  if (current === undefined) return err(badPayload(REGISTRY, read.problems.join(', ') || 'no period'));

  const stateCode = read.text(current, 'etatAdministratifUniteLegale');
  const state = stateCode === 'A' ? 'active' : stateCode === 'C' ? 'ceased' : 'unknown';
  const denomination = read.text(current, 'denominationUniteLegale');
  const legalCategory = read.text(current, 'categorieJuridiqueUniteLegale');
  const nic = read.text(current, 'nicSiegeUniteLegale');
  const diffusion = read.text(unit, 'statutDiffusionUniteLegale');
  const facts: Omit<CompanyFound, 'establishment'> = {
    kind: 'found',
    provider: 'insee',
    siren,
    duplicateOf: siren === asked ? null : asked,
    name: legalCategory === '1000' || denomination === null ? personName(read, unit, current) : denomination,
    // "N" is the pre-2023 status INSEE replaced by "P"; an unknown status cannot vouch that nothing is hidden.
    diffusion: diffusion === 'O' ? 'public' : 'partial',
    state,
    ceasedOn:
      state === 'ceased'
        ? changeDate(
            read,
            periods,
            'etatAdministratifUniteLegale',
            'C',
            'changementEtatAdministratifUniteLegale',
          )
        : null,
    createdOn: knownCreationDate(read.date(unit, 'dateCreationUniteLegale')),
    legalCategory,
    activity: read.text(current, 'activitePrincipaleUniteLegale'),
    headOfficeSiret: nic !== null && /^\d{5}$/.test(nic) ? `${siren}${nic}` : null,
    vatNumbers: Object.freeze([]),
    sourceUrl,
  };
  if (read.problems.length > 0) return err(badPayload(REGISTRY, read.problems.join(', ')));
  return ok({ kind: 'found', facts });
};

/** A sole trader's name: the usual first name, then the name in use (or the birth name). */
const personName = (read: PayloadReader, unit: JsonRecord, current: JsonRecord): string | null => {
  const surname = read.text(current, 'nomUsageUniteLegale') ?? read.text(current, 'nomUniteLegale');
  if (surname === null) return null;
  const firstName = read.text(unit, 'prenomUsuelUniteLegale');
  return firstName === null ? surname : `${firstName} ${surname}`;
};

/**
 * The periods, current first (the one with no end date), then newest to oldest: INSEE documents this order, but
 * the walk back through a state's history must not depend on it.
 */
const readPeriods = (read: PayloadReader, value: unknown, key: string): readonly JsonRecord[] => {
  if (!Array.isArray(value) || value.length === 0 || !value.every(isRecord)) {
    read.fail(`${key} is not a non-empty list of periods`);
    return [];
  }
  const periods: JsonRecord[] = value;
  const current = periods.find((period) => period.dateFin === null) ?? periods[0];
  if (current === undefined) return [];
  // A period with no start date is the oldest one: an empty string sorts it last.
  const older = periods
    .filter((period) => period !== current)
    .map((period) => ({ period, start: read.date(period, 'dateDebut') ?? '' }))
    .sort((a, b) => b.start.localeCompare(a.start))
    .map(({ period }) => period);
  return [current, ...older];
};

/**
 * When the current state began: the start of the earliest period of the current run of that state, which is the
 * one INSEE flags as a change; without such a flag, the start of the current period.
 */
const changeDate = (
  read: PayloadReader,
  periods: readonly JsonRecord[],
  stateKey: string,
  stateCode: string,
  changeKey: string,
): string | null => {
  let changed: JsonRecord | null = null;
  for (const period of periods) {
    if (read.text(period, stateKey) !== stateCode) break;
    if (read.flag(period, changeKey) === true) changed = period;
  }
  const current = periods[0];
  const from = changed ?? current;
  return from === undefined ? null : read.date(from, 'dateDebut');
};

const readEstablishmentReply = (
  reply: HttpReply,
  siret: Siret,
  headOfficeSiret: string | null,
  refused: (reply: HttpReply) => RegistryUnavailable,
): Result<EstablishmentFacts, RegistryUnavailable> => {
  switch (reply.status) {
    case 200:
      return readEstablishment(reply.json, siret, headOfficeSiret);
    case 403:
      return ok(
        Object.freeze({
          kind: 'found',
          siret,
          state: 'unknown',
          closedOn: null,
          isHeadOffice: siret === headOfficeSiret,
        }),
      );
    case 404:
      return ok(Object.freeze({ kind: 'not_found', siret }));
    default:
      return err(refused(reply));
  }
};

const readEstablishment = (
  json: unknown,
  siret: Siret,
  headOfficeSiret: string | null,
): Result<EstablishmentFacts, RegistryUnavailable> => {
  const establishment = isRecord(json) ? json.etablissement : undefined;
  if (!isRecord(establishment)) return err(badPayload(REGISTRY, 'no etablissement'));
  const read = createPayloadReader();
  const periods = readPeriods(read, establishment.periodesEtablissement, 'periodesEtablissement');
  const current = periods[0];
  if (current === undefined) return err(badPayload(REGISTRY, read.problems.join(', ') || 'no period'));
  const stateCode = read.text(current, 'etatAdministratifEtablissement');
  const state = stateCode === 'A' ? 'open' : stateCode === 'F' ? 'closed' : 'unknown';
  const facts: EstablishmentFacts = {
    kind: 'found',
    siret,
    state,
    closedOn:
      state === 'closed'
        ? changeDate(
            read,
            periods,
            'etatAdministratifEtablissement',
            'F',
            'changementEtatAdministratifEtablissement',
          )
        : null,
    isHeadOffice: read.flag(establishment, 'etablissementSiege') ?? siret === headOfficeSiret,
  };
  if (read.problems.length > 0) return err(badPayload(REGISTRY, read.problems.join(', ')));
  return ok(Object.freeze(facts));
};
