import { describe, expect, it } from 'vitest';
import type { CompanyQuery } from '#app/application/ports/company-registry.ts';
import type { RegistryAnswer } from '#app/application/ports/registry-call.ts';
import type { CompanyFacts } from '#app/domain/facts.ts';
import { recorded } from '../../../test/support/fixtures.ts';
import {
  closingAfterEach,
  startStubServer,
  type StubReply,
  type StubServer,
} from '../../../test/support/loopback-server.ts';
import { bySiren, bySiret } from '../../../test/support/company-queries.ts';
import { createManualClock } from '../../../test/support/manual-clock.ts';
import { createRechercheCompanyRegistry, RECHERCHE_BASE_URL } from './recherche-entreprises.ts';

const DANONE = 'recherche-entreprises_search-q-552032534.json';
const LA_POSTE = 'recherche-entreprises_search-q-356000000.json';
const NON_DIFFUSIBLE = 'recherche-entreprises_search-q-300025764.json';
const GHOST = 'recherche-entreprises_search-q-123456789.json';
const NO_RESULT = 'recherche-entreprises_search-q-12345678900003.json';

const call = { correlationId: 'corr-7f3a' };
const USER_AGENT = 'vigilance-test/1.0 (+https://vigilance.example)';
const clock = createManualClock('2026-11-29T09:00:00.000Z');

/** A recorded payload with its single result edited, as a registry would answer for a variant of that unit. */
const variant = (file: string, edit: (unit: Record<string, unknown>) => void): unknown => {
  const payload = structuredClone(recorded(file)) as { results: Record<string, unknown>[] };
  const unit = payload.results[0];
  if (unit === undefined) throw new Error(`${file} has no result`);
  edit(unit);
  return payload;
};

const track = closingAfterEach();

/** Answers `/search` by `q`, like the sandbox: a q with no recorded body gets the API's own empty answer. */
const serve = async (
  byQ: Readonly<Record<string, StubReply>>,
): Promise<{
  server: StubServer;
  lookup: (query: CompanyQuery) => Promise<RegistryAnswer<CompanyFacts>>;
}> => {
  const server = await startStubServer(
    (req) => byQ[req.url.searchParams.get('q') ?? ''] ?? { body: recorded(NO_RESULT) },
  );
  track(server);
  const registry = createRechercheCompanyRegistry(
    { clock },
    { baseUrl: server.baseUrl, timeoutMs: 2_000, userAgent: USER_AGENT },
  );
  return { server, lookup: (query) => registry.lookup(query, call) };
};

const searchUrl = (server: StubServer, q: string): string =>
  `${server.baseUrl}/search?q=${q}&page=1&per_page=1`;

describe('createRechercheCompanyRegistry', () => {
  it('is the recherche provider and names the public API', () => {
    const registry = createRechercheCompanyRegistry(
      { clock },
      { baseUrl: RECHERCHE_BASE_URL, timeoutMs: 1_000, userAgent: USER_AGENT },
    );
    expect(registry.provider).toBe('recherche');
    expect(RECHERCHE_BASE_URL).toBe('https://recherche-entreprises.api.gouv.fr');
  });

  it('reads an active company with its VAT numbers (DANONE, recorded)', async () => {
    const { server, lookup } = await serve({ '552032534': { body: recorded(DANONE) } });

    const answer = await lookup(bySiren('552032534'));

    expect(answer).toEqual({
      ok: true,
      value: {
        kind: 'found',
        provider: 'recherche',
        siren: '552032534',
        duplicateOf: null,
        name: 'DANONE',
        diffusion: 'public',
        state: 'active',
        ceasedOn: null,
        createdOn: '1955-01-01',
        legalCategory: '5599',
        activity: '70.10Z',
        headOfficeSiret: '55203253400703',
        vatNumbers: ['FR27552032534'],
        establishment: null,
        sourceUrl: searchUrl(server, '552032534'),
      },
    });
  });

  it('sends one GET /search with the exact SIREN, pagination, User-Agent and correlation id', async () => {
    const { server, lookup } = await serve({ '552032534': { body: recorded(DANONE) } });

    await lookup(bySiren('552032534'));

    expect(server.requests).toHaveLength(1);
    const [req] = server.requests;
    expect(req?.method).toBe('GET');
    expect(req?.url.pathname).toBe('/search');
    expect([...(req?.url.searchParams.entries() ?? [])]).toEqual([
      ['q', '552032534'],
      ['page', '1'],
      ['per_page', '1'],
    ]);
    expect(req?.headers['user-agent']).toBe(USER_AGENT);
    expect(req?.headers['x-correlation-id']).toBe('corr-7f3a');
    expect(req?.headers.accept).toBe('application/json');
  });

  it('gives no VAT number when the answer has no tva list (LA POSTE, recorded)', async () => {
    const { server, lookup } = await serve({ '356000000': { body: recorded(LA_POSTE) } });

    const answer = await lookup(bySiren('356000000'));

    expect(answer).toEqual({
      ok: true,
      value: {
        kind: 'found',
        provider: 'recherche',
        siren: '356000000',
        duplicateOf: null,
        name: 'LA POSTE',
        diffusion: 'public',
        state: 'active',
        ceasedOn: null,
        createdOn: '1991-01-01',
        legalCategory: '5510',
        activity: '53.10Z',
        headOfficeSiret: '35600000000048',
        vatNumbers: [],
        establishment: null,
        sourceUrl: searchUrl(server, '356000000'),
      },
    });
  });

  it('reads the head office from siege when the SIRET asked is the head office (LA POSTE, recorded)', async () => {
    const { server, lookup } = await serve({ '35600000000048': { body: recorded(LA_POSTE) } });

    const answer = await lookup(bySiret('35600000000048'));

    expect(server.requests.map((req) => req.url.searchParams.get('q'))).toEqual(['35600000000048']);
    expect(answer.ok && answer.value.kind === 'found' ? answer.value : null).toMatchObject({
      siren: '356000000',
      name: 'LA POSTE',
      state: 'active',
      sourceUrl: searchUrl(server, '35600000000048'),
      establishment: {
        kind: 'found',
        siret: '35600000000048',
        state: 'open',
        closedOn: null,
        isHeadOffice: true,
      },
    });
  });

  it('reads a non-diffusible sole trader: partial, masked name null, nothing masked leaks (recorded)', async () => {
    const { server, lookup } = await serve({ '300025764': { body: recorded(NON_DIFFUSIBLE) } });

    const answer = await lookup(bySiren('300025764'));

    expect(answer).toEqual({
      ok: true,
      value: {
        kind: 'found',
        provider: 'recherche',
        siren: '300025764',
        duplicateOf: null,
        name: null,
        diffusion: 'partial',
        state: 'active',
        ceasedOn: null,
        createdOn: '1981-10-01',
        legalCategory: '1000',
        activity: '68.20A',
        headOfficeSiret: '30002576400048',
        vatNumbers: [],
        establishment: null,
        sourceUrl: searchUrl(server, '300025764'),
      },
    });
    expect(JSON.stringify(answer)).not.toContain('NON-DIFFUSIBLE');
  });

  it('drops masked entries of the tva list and masked head-office fields of a SIRET lookup', async () => {
    const body = variant(NON_DIFFUSIBLE, (unit) => {
      unit.tva = ['[NON-DIFFUSIBLE]', 'FR53300025764'];
    });
    const { lookup } = await serve({ '30002576400048': { body } });

    const answer = await lookup(bySiret('30002576400048'));

    expect(answer.ok && answer.value.kind === 'found' ? answer.value : null).toMatchObject({
      name: null,
      diffusion: 'partial',
      vatNumbers: ['FR53300025764'],
      establishment: { kind: 'found', siret: '30002576400048', state: 'open', isHeadOffice: true },
    });
  });

  it('reads a unit with no diffusion status as partial: nothing vouches that no field is hidden', async () => {
    const body = variant(DANONE, (unit) => {
      unit.statut_diffusion = null;
    });
    const { lookup } = await serve({ '552032534': { body } });

    const answer = await lookup(bySiren('552032534'));

    expect(answer.ok ? answer.value : null).toMatchObject({
      kind: 'found',
      name: 'DANONE',
      diffusion: 'partial',
    });
  });

  it('answers a ghost hit (known to the RNE, not to SIRENE) as not found, known to the RNE only (recorded)', async () => {
    const { server, lookup } = await serve({ '123456789': { body: recorded(GHOST) } });

    const answer = await lookup(bySiren('123456789'));

    expect(answer).toEqual({
      ok: true,
      value: {
        kind: 'not_found',
        provider: 'recherche',
        siren: '123456789',
        knownToRneOnly: true,
        sourceUrl: searchUrl(server, '123456789'),
      },
    });
  });

  it('answers an empty result list as not found (recorded unknown SIRET body, asked by SIREN)', async () => {
    const { server, lookup } = await serve({ '732829320': { body: recorded(NO_RESULT) } });

    const answer = await lookup(bySiren('732829320'));

    expect(answer).toEqual({
      ok: true,
      value: {
        kind: 'not_found',
        provider: 'recherche',
        siren: '732829320',
        knownToRneOnly: false,
        sourceUrl: searchUrl(server, '732829320'),
      },
    });
  });

  it('asks for the unit when the SIRET is unknown: ghost unit, not found known to the RNE (recorded)', async () => {
    const { server, lookup } = await serve({
      '12345678900003': { body: recorded(NO_RESULT) },
      '123456789': { body: recorded(GHOST) },
    });

    const answer = await lookup(bySiret('12345678900003'));

    expect(server.requests.map((req) => req.url.searchParams.get('q'))).toEqual([
      '12345678900003',
      '123456789',
    ]);
    expect(answer).toEqual({
      ok: true,
      value: {
        kind: 'not_found',
        provider: 'recherche',
        siren: '123456789',
        knownToRneOnly: true,
        sourceUrl: searchUrl(server, '123456789'),
      },
    });
  });

  it('answers an unknown SIRET of an unknown unit as not found after asking both', async () => {
    const { server, lookup } = await serve({});

    const answer = await lookup(bySiret('12345678900003'));

    expect(server.requests).toHaveLength(2);
    expect(answer).toEqual({
      ok: true,
      value: {
        kind: 'not_found',
        provider: 'recherche',
        siren: '123456789',
        knownToRneOnly: false,
        sourceUrl: searchUrl(server, '123456789'),
      },
    });
  });

  it('answers an unknown SIRET of a known unit as found with the establishment not found', async () => {
    const { server, lookup } = await serve({ '552032534': { body: recorded(DANONE) } });

    const answer = await lookup(bySiret('55203253400018'));

    expect(server.requests.map((req) => req.url.searchParams.get('q'))).toEqual([
      '55203253400018',
      '552032534',
    ]);
    expect(answer.ok && answer.value.kind === 'found' ? answer.value : null).toMatchObject({
      siren: '552032534',
      name: 'DANONE',
      establishment: { kind: 'not_found', siret: '55203253400018' },
      sourceUrl: searchUrl(server, '552032534'),
    });
  });

  it('answers the establishment not found when neither matching_etablissements nor siege is the SIRET', async () => {
    const { server, lookup } = await serve({ '55203253400018': { body: recorded(DANONE) } });

    const answer = await lookup(bySiret('55203253400018'));

    expect(server.requests).toHaveLength(1);
    expect(answer.ok && answer.value.kind === 'found' ? answer.value.establishment : null).toEqual({
      kind: 'not_found',
      siret: '55203253400018',
    });
  });

  it('does not take a result for another SIREN as a match', async () => {
    const { lookup } = await serve({ '356000000': { body: recorded(DANONE) } });

    const answer = await lookup(bySiren('356000000'));

    expect(answer.ok ? answer.value : null).toMatchObject({ kind: 'not_found', knownToRneOnly: false });
  });

  it('reads a ceased company and its closing date', async () => {
    const body = variant(DANONE, (unit) => {
      unit.etat_administratif = 'C';
      unit.date_fermeture = '2024-06-30';
    });
    const { lookup } = await serve({ '552032534': { body } });

    const answer = await lookup(bySiren('552032534'));

    expect(answer.ok && answer.value.kind === 'found' ? answer.value : null).toMatchObject({
      state: 'ceased',
      ceasedOn: '2024-06-30',
      createdOn: '1955-01-01',
    });
  });

  it('gives no closing date to an active company, and state unknown to an unexpected state code', async () => {
    const stale = variant(DANONE, (unit) => {
      unit.date_fermeture = '2001-01-01';
    });
    const odd = variant(LA_POSTE, (unit) => {
      unit.etat_administratif = 'X';
    });
    const { lookup } = await serve({ '552032534': { body: stale }, '356000000': { body: odd } });

    const active = await lookup(bySiren('552032534'));
    const unknown = await lookup(bySiren('356000000'));

    expect(active.ok ? active.value : null).toMatchObject({ state: 'active', ceasedOn: null });
    expect(unknown.ok ? unknown.value : null).toMatchObject({
      kind: 'found',
      state: 'unknown',
      ceasedOn: null,
    });
  });

  it('reads a closed establishment from matching_etablissements', async () => {
    const body = variant(LA_POSTE, (unit) => {
      unit.matching_etablissements = [
        { siret: '35600000000100', est_siege: false, etat_administratif: 'F', date_fermeture: '2019-03-31' },
      ];
    });
    const { lookup } = await serve({ '35600000000100': { body } });

    const answer = await lookup(bySiret('35600000000100'));

    expect(answer.ok && answer.value.kind === 'found' ? answer.value.establishment : null).toEqual({
      kind: 'found',
      siret: '35600000000100',
      state: 'closed',
      closedOn: '2019-03-31',
      isHeadOffice: false,
    });
  });

  it('derives isHeadOffice from the head office SIRET when est_siege is absent', async () => {
    const body = variant(LA_POSTE, (unit) => {
      unit.matching_etablissements = [
        { siret: '35600000000048', etat_administratif: 'A', date_fermeture: null },
      ];
    });
    const { lookup } = await serve({ '35600000000048': { body } });

    const answer = await lookup(bySiret('35600000000048'));

    expect(answer.ok && answer.value.kind === 'found' ? answer.value.establishment : null).toEqual({
      kind: 'found',
      siret: '35600000000048',
      state: 'open',
      closedOn: null,
      isHeadOffice: true,
    });
  });

  it('answers HTTP 429 as rate limited, honouring Retry-After in seconds', async () => {
    const { lookup } = await serve({
      '552032534': { status: 429, headers: { 'retry-after': '7' }, body: '' },
    });

    const answer = await lookup(bySiren('552032534'));

    expect(answer).toEqual({
      ok: false,
      error: {
        code: 'REGISTRY_UNAVAILABLE',
        reason: 'rate_limited',
        status: 429,
        retryAfterSeconds: 7,
        detail: "Recherche d'entreprises answered HTTP 429",
      },
    });
  });

  it('reads a Retry-After HTTP date against the injected clock', async () => {
    const { lookup } = await serve({
      '552032534': { status: 429, headers: { 'retry-after': 'Sun, 29 Nov 2026 09:00:30 GMT' } },
    });

    const answer = await lookup(bySiren('552032534'));

    expect(answer.ok ? null : answer.error).toMatchObject({ reason: 'rate_limited', retryAfterSeconds: 30 });
  });

  it('answers HTTP 503 and 500 as unavailable, never not found', async () => {
    const { lookup } = await serve({
      '552032534': { status: 503, body: '<html>maintenance</html>' },
      '356000000': { status: 500, body: { erreur: 'Erreur interne' } },
    });

    const down = await lookup(bySiren('552032534'));
    const broken = await lookup(bySiren('356000000'));

    expect(down.ok ? null : down.error).toMatchObject({ reason: 'http_status', status: 503 });
    expect(broken.ok ? null : broken.error).toMatchObject({ reason: 'http_status', status: 500 });
  });

  it('answers HTTP 400 and 404 (the API rejecting the call, or an unknown route) as unavailable', async () => {
    const { lookup } = await serve({
      '552032534': { status: 400, body: { erreur: 'Veuillez indiquer au moins un paramètre de recherche.' } },
      '356000000': { status: 404, body: { erreur: 'Ressource non trouvée.' } },
    });

    const rejected = await lookup(bySiren('552032534'));
    const noRoute = await lookup(bySiren('356000000'));

    expect(rejected.ok ? null : rejected.error).toMatchObject({ reason: 'http_status', status: 400 });
    expect(noRoute.ok ? null : noRoute.error).toMatchObject({ reason: 'http_status', status: 404 });
  });

  it('answers a reply later than timeoutMs as a timeout', async () => {
    const server = await startStubServer(() => ({ body: recorded(DANONE), delayMs: 5_000 }));
    track(server);
    const slow = createRechercheCompanyRegistry(
      { clock },
      { baseUrl: server.baseUrl, timeoutMs: 100, userAgent: USER_AGENT },
    );

    const answer = await slow.lookup(bySiren('552032534'), call);

    expect(answer).toEqual({
      ok: false,
      error: {
        code: 'REGISTRY_UNAVAILABLE',
        reason: 'timeout',
        status: null,
        retryAfterSeconds: null,
        detail: 'no answer within 100 ms',
      },
    });
  });

  it('answers a refused connection as a network failure', async () => {
    const server = await startStubServer(() => ({ body: recorded(DANONE) }));
    await server.close();
    const gone = createRechercheCompanyRegistry(
      { clock },
      { baseUrl: server.baseUrl, timeoutMs: 2_000, userAgent: USER_AGENT },
    );

    const answer = await gone.lookup(bySiren('552032534'), call);

    expect(answer.ok ? null : answer.error).toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      reason: 'network',
    });
  });

  it.each([
    ['malformed JSON', '{"results": [{"siren": "552032534"'],
    ['an empty body', ''],
    ['JSON without a results list', { total_results: 0 }],
    ['a results entry that is not an object', { results: ['552032534'] }],
    [
      'a state that is not a string',
      variant(DANONE, (unit) => {
        unit.etat_administratif = 1;
      }),
    ],
    [
      'a creation date that is not a date',
      variant(DANONE, (unit) => {
        unit.date_creation = '01/01/1955';
      }),
    ],
    [
      'a tva field that is not a list of strings',
      variant(DANONE, (unit) => {
        unit.tva = 'FR27552032534';
      }),
    ],
  ])('answers %s as a bad payload, never not found', async (_what, body) => {
    const { lookup } = await serve({ '552032534': { body } });

    const answer = await lookup(bySiren('552032534'));

    expect(answer.ok ? null : answer.error).toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      reason: 'bad_payload',
    });
    expect(answer.ok ? '' : answer.error.detail).not.toContain('FR27552032534');
  });

  it('refuses matching_etablissements that is not a list, on a SIRET lookup', async () => {
    const body = variant(LA_POSTE, (unit) => {
      unit.matching_etablissements = { siret: '35600000000048' };
    });
    const { lookup } = await serve({ '35600000000048': { body } });

    const answer = await lookup(bySiret('35600000000048'));

    expect(answer.ok ? null : answer.error).toMatchObject({
      reason: 'bad_payload',
      detail:
        "Recherche d'entreprises answered a body that could not be read: matching_etablissements is not a list of objects",
    });
  });
});
