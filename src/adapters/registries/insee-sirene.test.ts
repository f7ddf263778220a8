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
import { createInseeCompanyRegistry, INSEE_BASE_URL } from './insee-sirene.ts';

const LA_POSTE = 'sample_insee-sirene-3.11_GET-siren-356000000_reconstructed.json';
const LA_POSTE_HEAD_OFFICE = 'sample_insee-sirene-3.11_GET-siret-35600000000048_reconstructed.json';
const SOLE_TRADER_P = 'sample_insee-sirene-3.11_GET-siren_partially-diffusible-P_illustrative.json';
const DINUM = 'insee-sirene_siren-130025265_captured-2023-01.json';
const ERRORS = 'sample_insee-sirene-3.11_error-bodies.json';

const API_KEY = 'f1e2d3c4-0000-4bad-8eef-5ec12e7c0de5';
const USER_AGENT = 'vigilance-test/1.0 (+https://vigilance.example)';
const call = { correlationId: 'corr-insee-42' };
const clock = createManualClock('2026-11-29T09:00:00.000Z');

type Json = Record<string, unknown>;

/** A recorded sample from the error-bodies file: its status and body (absent for the unverified ones). */
const errorSample = (name: string): StubReply => {
  const samples = recorded(ERRORS) as Record<string, { httpStatus: number; body?: unknown }>;
  const sample = samples[name];
  if (sample === undefined) throw new Error(`no error sample ${name}`);
  return sample.body === undefined
    ? { status: sample.httpStatus }
    : { status: sample.httpStatus, body: sample.body };
};

/** A recorded body, edited: `root` is uniteLegale or etablissement, `periods` its periods list. */
const variant = (file: string, edit: (root: Json, periods: Json[]) => void): unknown => {
  const payload = structuredClone(recorded(file)) as Record<string, Json>;
  const root = payload.uniteLegale ?? payload.etablissement;
  if (root === undefined) throw new Error(`${file} has no unit or establishment`);
  const periods = (root.periodesUniteLegale ?? root.periodesEtablissement) as Json[];
  edit(root, periods);
  return payload;
};

/** A period like the first of `template`, with the given fields. */
const period = (template: Json[], fields: Json): Json => ({ ...structuredClone(template[0]), ...fields });

const track = closingAfterEach();

/** Answers by path, like the sandbox: a path with no recorded body gets INSEE's own 404. */
const serve = async (
  byPath: Readonly<Record<string, StubReply>>,
  timeoutMs = 2_000,
): Promise<{
  server: StubServer;
  lookup: (query: CompanyQuery) => Promise<RegistryAnswer<CompanyFacts>>;
}> => {
  const server = await startStubServer((req) => byPath[req.url.pathname] ?? errorSample('404_unknown_siren'));
  track(server);
  const registry = createInseeCompanyRegistry(
    { clock },
    { baseUrl: server.baseUrl, timeoutMs, userAgent: USER_AGENT, apiKey: API_KEY },
  );
  return { server, lookup: (query) => registry.lookup(query, call) };
};

const found = (answer: RegistryAnswer<CompanyFacts>) =>
  answer.ok && answer.value.kind === 'found' ? answer.value : null;
const failure = (answer: RegistryAnswer<CompanyFacts>) => (answer.ok ? null : answer.error);

describe('createInseeCompanyRegistry', () => {
  it('is the insee provider and names the 3.11 public API', () => {
    const registry = createInseeCompanyRegistry(
      { clock },
      { baseUrl: INSEE_BASE_URL, timeoutMs: 1_000, userAgent: USER_AGENT, apiKey: API_KEY },
    );
    expect(registry.provider).toBe('insee');
    expect(INSEE_BASE_URL).toBe('https://api.insee.fr/api-sirene/3.11');
  });

  it('reads a legal person from its current period (LA POSTE, reconstructed sample)', async () => {
    const { server, lookup } = await serve({ '/siren/356000000': { body: recorded(LA_POSTE) } });

    const answer = await lookup(bySiren('356000000'));

    expect(answer).toEqual({
      ok: true,
      value: {
        kind: 'found',
        provider: 'insee',
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
        sourceUrl: `${server.baseUrl}/siren/356000000`,
      },
    });
  });

  it('sends one GET /siren/{siren} with the API key, User-Agent, Accept and correlation id', async () => {
    const { server, lookup } = await serve({ '/siren/356000000': { body: recorded(LA_POSTE) } });

    await lookup(bySiren('356000000'));

    expect(server.requests).toHaveLength(1);
    const [req] = server.requests;
    expect(req?.method).toBe('GET');
    expect(req?.url.pathname).toBe('/siren/356000000');
    expect(req?.url.search).toBe('');
    expect(req?.headers['x-insee-api-key-integration']).toBe(API_KEY);
    expect(req?.headers['user-agent']).toBe(USER_AGENT);
    expect(req?.headers['x-correlation-id']).toBe('corr-insee-42');
    expect(req?.headers.accept).toBe('application/json');
  });

  it('reads a real capture with two periods (DINUM 2023)', async () => {
    const { server, lookup } = await serve({ '/siren/130025265': { body: recorded(DINUM) } });

    const answer = await lookup(bySiren('130025265'));

    expect(answer).toEqual({
      ok: true,
      value: {
        kind: 'found',
        provider: 'insee',
        siren: '130025265',
        duplicateOf: null,
        // Truncated by the repository the capture comes from, not by us.
        name: 'DIRECTION INTERMINISTERIELLE DU …',
        diffusion: 'public',
        state: 'active',
        ceasedOn: null,
        createdOn: '2017-05-24',
        legalCategory: '7120',
        activity: '84.11Z',
        headOfficeSiret: '13002526500013',
        vatNumbers: [],
        establishment: null,
        sourceUrl: `${server.baseUrl}/siren/130025265`,
      },
    });
  });

  it('reads a partially diffusible sole trader: partial, "[ND]" never a name (illustrative sample)', async () => {
    const { server, lookup } = await serve({ '/siren/845123793': { body: recorded(SOLE_TRADER_P) } });

    const answer = await lookup(bySiren('845123793'));

    expect(answer).toEqual({
      ok: true,
      value: {
        kind: 'found',
        provider: 'insee',
        siren: '845123793',
        duplicateOf: null,
        name: null,
        diffusion: 'partial',
        state: 'active',
        ceasedOn: null,
        createdOn: '2018-12-10',
        legalCategory: '1000',
        activity: '62.02A',
        headOfficeSiret: '84512379300018',
        vatNumbers: [],
        establishment: null,
        sourceUrl: `${server.baseUrl}/siren/845123793`,
      },
    });
    expect(JSON.stringify(answer)).not.toContain('[ND]');
  });

  it('names a sole trader by usual first name and name in use, else birth name', async () => {
    const withUsage = variant(SOLE_TRADER_P, (unit, periods) => {
      unit.statutDiffusionUniteLegale = 'O';
      unit.prenomUsuelUniteLegale = 'MARIE';
      // A sole trader's name is the person's, even with a denomination filled in.
      Object.assign(periods[0] ?? {}, {
        nomUniteLegale: 'DURAND',
        nomUsageUniteLegale: 'MARTIN',
        denominationUniteLegale: 'CABINET DURAND',
      });
    });
    const birthName = variant(SOLE_TRADER_P, (unit, periods) => {
      unit.siren = '732829320';
      unit.statutDiffusionUniteLegale = 'N';
      unit.prenomUsuelUniteLegale = 'MARIE';
      Object.assign(periods[0] ?? {}, { nomUniteLegale: 'DURAND', nomUsageUniteLegale: null });
    });
    const { lookup } = await serve({
      '/siren/845123793': { body: withUsage },
      '/siren/732829320': { body: birthName },
    });

    const usage = found(await lookup(bySiren('845123793')));
    const birth = found(await lookup(bySiren('732829320')));

    expect(usage).toMatchObject({ name: 'MARIE MARTIN', diffusion: 'public' });
    expect(birth).toMatchObject({ name: 'MARIE DURAND', diffusion: 'partial', duplicateOf: null });
  });

  it('reads a ceased unit: ceasedOn is the start of the period in which the state became C', async () => {
    const body = variant(LA_POSTE, (_unit, periods) => {
      const history = [...periods];
      periods.splice(
        0,
        periods.length,
        // Still ceased, another variable changed: the closing date is not this period's start.
        period(history, { dateFin: null, dateDebut: '2025-02-01', etatAdministratifUniteLegale: 'C' }),
        period(history, {
          dateFin: '2025-01-31',
          dateDebut: '2024-07-01',
          etatAdministratifUniteLegale: 'C',
          changementEtatAdministratifUniteLegale: true,
        }),
        { ...history[0], dateFin: '2024-06-30' },
        ...history.slice(1),
      );
    });
    const { lookup } = await serve({ '/siren/356000000': { body } });

    const answer = found(await lookup(bySiren('356000000')));

    expect(answer).toMatchObject({ state: 'ceased', ceasedOn: '2024-07-01', name: 'LA POSTE' });
  });

  it('walks the periods by date, not by their order in the payload', async () => {
    const body = variant(LA_POSTE, (_unit, periods) => {
      const history = [...periods];
      periods.splice(
        0,
        periods.length,
        ...history.slice(1),
        period(history, {
          dateFin: '2025-01-31',
          dateDebut: '2024-07-01',
          etatAdministratifUniteLegale: 'C',
          changementEtatAdministratifUniteLegale: true,
        }),
        period(history, { dateFin: null, dateDebut: '2025-02-01', etatAdministratifUniteLegale: 'C' }),
        { ...history[0], dateFin: '2024-06-30' },
      );
    });
    const { lookup } = await serve({ '/siren/356000000': { body } });

    const answer = found(await lookup(bySiren('356000000')));

    expect(answer).toMatchObject({ state: 'ceased', ceasedOn: '2024-07-01' });
  });

  it('dates a ceased unit with no change flag from its current period', async () => {
    const body = variant(DINUM, (_unit, periods) => {
      Object.assign(periods[0] ?? {}, { etatAdministratifUniteLegale: 'C' });
    });
    const { lookup } = await serve({ '/siren/130025265': { body } });

    const answer = found(await lookup(bySiren('130025265')));

    expect(answer).toMatchObject({ state: 'ceased', ceasedOn: '2019-10-25' });
  });

  it("reads INSEE's 1900-01-01 creation date as unknown, and an unexpected state as unknown", async () => {
    const body = variant(LA_POSTE, (unit, periods) => {
      unit.dateCreationUniteLegale = '1900-01-01';
      Object.assign(periods[0] ?? {}, { etatAdministratifUniteLegale: 'Z' });
    });
    const { lookup } = await serve({ '/siren/356000000': { body } });

    const answer = found(await lookup(bySiren('356000000')));

    expect(answer).toMatchObject({ createdOn: null, state: 'unknown', ceasedOn: null });
  });

  it('asks /siren and /siret for a SIRET and reads the head office (reconstructed samples)', async () => {
    const { server, lookup } = await serve({
      '/siren/356000000': { body: recorded(LA_POSTE) },
      '/siret/35600000000048': { body: recorded(LA_POSTE_HEAD_OFFICE) },
    });

    const answer = await lookup(bySiret('35600000000048'));

    expect(server.requests.map((req) => req.url.pathname).sort()).toEqual([
      '/siren/356000000',
      '/siret/35600000000048',
    ]);
    expect(server.requests.map((req) => req.headers['x-insee-api-key-integration'])).toEqual([
      API_KEY,
      API_KEY,
    ]);
    expect(server.requests.map((req) => req.headers['x-correlation-id'])).toEqual([
      'corr-insee-42',
      'corr-insee-42',
    ]);
    expect(answer).toEqual({
      ok: true,
      value: {
        kind: 'found',
        provider: 'insee',
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
        establishment: {
          kind: 'found',
          siret: '35600000000048',
          state: 'open',
          closedOn: null,
          isHeadOffice: true,
        },
        sourceUrl: `${server.baseUrl}/siren/356000000`,
      },
    });
  });

  it('sends the two calls of a SIRET lookup concurrently', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived = 0;
    const server = await startStubServer(async (req) => {
      arrived += 1;
      // Each call is held until both have arrived: sequential calls would never be answered.
      if (arrived === 2) release();
      await gate;
      return req.url.pathname.startsWith('/siren/')
        ? { body: recorded(LA_POSTE) }
        : { body: recorded(LA_POSTE_HEAD_OFFICE) };
    });
    track(server);
    const registry = createInseeCompanyRegistry(
      { clock },
      { baseUrl: server.baseUrl, timeoutMs: 2_000, userAgent: USER_AGENT, apiKey: API_KEY },
    );

    const answer = await registry.lookup(bySiret('35600000000048'), call);

    expect(found(answer)?.establishment).toMatchObject({ kind: 'found', state: 'open' });
  });

  it('reads a closed establishment: closedOn is the start of the period in which it became F', async () => {
    const establishment = variant(LA_POSTE_HEAD_OFFICE, (root, periods) => {
      const history = [...periods];
      root.siret = '35600000000100';
      root.etablissementSiege = false;
      periods.splice(
        0,
        periods.length,
        period(history, { dateFin: null, dateDebut: '2021-01-01', etatAdministratifEtablissement: 'F' }),
        period(history, {
          dateFin: '2020-12-31',
          dateDebut: '2020-06-15',
          etatAdministratifEtablissement: 'F',
          changementEtatAdministratifEtablissement: true,
        }),
        { ...history[0], dateFin: '2020-06-14' },
      );
    });
    const { lookup } = await serve({
      '/siren/356000000': { body: recorded(LA_POSTE) },
      '/siret/35600000000100': { body: establishment },
    });

    const answer = found(await lookup(bySiret('35600000000100')));

    expect(answer?.establishment).toEqual({
      kind: 'found',
      siret: '35600000000100',
      state: 'closed',
      closedOn: '2020-06-15',
      isHeadOffice: false,
    });
  });

  it('follows a 301 for a duplicate and answers for the surviving unit with duplicateOf', async () => {
    const { server, lookup } = await serve({
      '/siren/732829320': { ...errorSample('301_doublon'), headers: { location: '/siren/130025265' } },
      '/siren/130025265': { body: recorded(DINUM) },
    });

    const answer = await lookup(bySiren('732829320'));

    expect(server.requests.map((req) => req.url.pathname)).toEqual(['/siren/732829320', '/siren/130025265']);
    expect(server.requests[1]?.headers['x-insee-api-key-integration']).toBe(API_KEY);
    expect(found(answer)).toMatchObject({
      kind: 'found',
      siren: '130025265',
      duplicateOf: '732829320',
      name: 'DIRECTION INTERMINISTERIELLE DU …',
      headOfficeSiret: '13002526500013',
      sourceUrl: `${server.baseUrl}/siren/732829320`,
    });
  });

  it('answers a 301 with nowhere to go as unavailable', async () => {
    const { lookup } = await serve({ '/siren/732829320': errorSample('301_doublon') });

    const answer = await lookup(bySiren('732829320'));

    expect(failure(answer)).toMatchObject({ reason: 'http_status', status: 301 });
  });

  it('answers 403 as a unit that exists but may not be shown (legacy non-diffusible sample)', async () => {
    const { server, lookup } = await serve({ '/siren/732829320': errorSample('403_non_diffusable_legacy') });

    const answer = await lookup(bySiren('732829320'));

    expect(answer).toEqual({
      ok: true,
      value: {
        kind: 'found',
        provider: 'insee',
        siren: '732829320',
        duplicateOf: null,
        name: null,
        diffusion: 'restricted',
        state: 'unknown',
        ceasedOn: null,
        createdOn: null,
        legalCategory: null,
        activity: null,
        headOfficeSiret: null,
        vatNumbers: [],
        establishment: null,
        sourceUrl: `${server.baseUrl}/siren/732829320`,
      },
    });
  });

  it('answers 403 on /siret as an establishment in state unknown (legacy non-diffusible sample)', async () => {
    const { lookup } = await serve({
      '/siren/356000000': { body: recorded(LA_POSTE) },
      '/siret/35600000000048': errorSample('403_etablissement_non_diffusable_legacy'),
    });

    const answer = found(await lookup(bySiret('35600000000048')));

    expect(answer).toMatchObject({ name: 'LA POSTE', state: 'active' });
    expect(answer?.establishment).toEqual({
      kind: 'found',
      siret: '35600000000048',
      state: 'unknown',
      closedOn: null,
      isHeadOffice: true,
    });
  });

  it.each(['404_unknown_siren', '404_unknown_siren_with_date_param'])(
    'answers 404 as not found (%s sample)',
    async (sample) => {
      const { server, lookup } = await serve({ '/siren/732829320': errorSample(sample) });

      const answer = await lookup(bySiren('732829320'));

      expect(answer).toEqual({
        ok: true,
        value: {
          kind: 'not_found',
          provider: 'insee',
          siren: '732829320',
          knownToRneOnly: false,
          sourceUrl: `${server.baseUrl}/siren/732829320`,
        },
      });
    },
  );

  it('answers 404 on /siret with /siren 200 as a known unit whose establishment is not found', async () => {
    const { lookup } = await serve({ '/siren/356000000': { body: recorded(LA_POSTE) } });

    const answer = found(await lookup(bySiret('35600000000100')));

    expect(answer).toMatchObject({ siren: '356000000', name: 'LA POSTE' });
    expect(answer?.establishment).toEqual({ kind: 'not_found', siret: '35600000000100' });
  });

  it('answers 429 as rate limited, honouring Retry-After (quota sample)', async () => {
    const { lookup } = await serve({
      '/siren/356000000': { ...errorSample('429_quota'), headers: { 'retry-after': '12' } },
    });

    const answer = await lookup(bySiren('356000000'));

    expect(answer).toEqual({
      ok: false,
      error: {
        code: 'REGISTRY_UNAVAILABLE',
        reason: 'rate_limited',
        status: 429,
        retryAfterSeconds: 12,
        detail: 'INSEE Sirene answered HTTP 429',
      },
    });
  });

  it('answers 429 without Retry-After by the X-Rate-Limit-Reset epoch in ms, on the injected clock', async () => {
    const reset = String(Date.parse('2026-11-29T09:00:45.000Z'));
    const { lookup } = await serve({
      '/siren/356000000': { ...errorSample('429_quota'), headers: { 'x-rate-limit-reset': reset } },
    });

    const answer = await lookup(bySiren('356000000'));

    expect(failure(answer)).toMatchObject({ reason: 'rate_limited', status: 429, retryAfterSeconds: 45 });
  });

  it('answers 401 as unavailable, saying the key was refused without showing it', async () => {
    const { lookup } = await serve({ '/siren/356000000': errorSample('401_missing_or_bad_key') });

    const answer = await lookup(bySiren('356000000'));

    expect(answer).toEqual({
      ok: false,
      error: {
        code: 'REGISTRY_UNAVAILABLE',
        reason: 'http_status',
        status: 401,
        retryAfterSeconds: null,
        detail: 'INSEE Sirene answered HTTP 401: API key refused',
      },
    });
    expect(JSON.stringify(answer)).not.toContain(API_KEY);
  });

  it.each([
    ['503_maintenance', 503],
    ['400_bad_format', 400],
  ])('answers the %s sample as unavailable, never not found', async (sample, status) => {
    const { lookup } = await serve({ '/siren/356000000': errorSample(sample) });

    const answer = await lookup(bySiren('356000000'));

    expect(failure(answer)).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', reason: 'http_status', status });
  });

  it.each([406, 500, 502])('answers HTTP %i as unavailable', async (status) => {
    const { lookup } = await serve({ '/siren/356000000': { status, body: { header: { statut: status } } } });

    const answer = await lookup(bySiren('356000000'));

    expect(failure(answer)).toMatchObject({ reason: 'http_status', status });
  });

  it('answers the whole SIRET lookup as unavailable when /siret is, even with /siren 200', async () => {
    const { lookup } = await serve({
      '/siren/356000000': { body: recorded(LA_POSTE) },
      '/siret/35600000000048': errorSample('503_maintenance'),
    });

    const answer = await lookup(bySiret('35600000000048'));

    expect(failure(answer)).toMatchObject({ reason: 'http_status', status: 503 });
  });

  it('answers the whole SIRET lookup as unavailable when /siren is, even with /siret 200', async () => {
    const { lookup } = await serve({
      '/siren/356000000': { ...errorSample('429_quota'), headers: { 'retry-after': '3' } },
      '/siret/35600000000048': { body: recorded(LA_POSTE_HEAD_OFFICE) },
    });

    const answer = await lookup(bySiret('35600000000048'));

    expect(failure(answer)).toMatchObject({ reason: 'rate_limited', retryAfterSeconds: 3 });
  });

  it('answers a reply later than timeoutMs as a timeout', async () => {
    const server = await startStubServer(() => ({ body: recorded(LA_POSTE), delayMs: 5_000 }));
    track(server);
    const registry = createInseeCompanyRegistry(
      { clock },
      { baseUrl: server.baseUrl, timeoutMs: 100, userAgent: USER_AGENT, apiKey: API_KEY },
    );

    const answer = await registry.lookup(bySiren('356000000'), call);

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

  it.each([
    ['malformed JSON', '{"header":{"statut":200},"uniteLegale":{'],
    ['an empty body', ''],
    ['a body without uniteLegale', { header: { statut: 200, message: 'OK' } }],
    [
      'a unit without periods',
      variant(LA_POSTE, (_unit, periods) => {
        periods.splice(0);
      }),
    ],
    [
      'a unit whose siren is not a SIREN',
      variant(LA_POSTE, (unit) => {
        unit.siren = '35600000X';
      }),
    ],
    [
      'a state that is not a string',
      variant(LA_POSTE, (_unit, periods) => {
        Object.assign(periods[0] ?? {}, { etatAdministratifUniteLegale: true });
      }),
    ],
    [
      'a creation date that is not a date',
      variant(LA_POSTE, (unit) => {
        unit.dateCreationUniteLegale = '01/01/1991';
      }),
    ],
  ])('answers %s as a bad payload, never not found', async (_what, body) => {
    const { lookup } = await serve({ '/siren/356000000': { body } });

    const answer = await lookup(bySiren('356000000'));

    expect(failure(answer)).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', reason: 'bad_payload' });
  });

  it('answers an unreadable /siret body as a bad payload', async () => {
    const { lookup } = await serve({
      '/siren/356000000': { body: recorded(LA_POSTE) },
      '/siret/35600000000048': {
        body: { header: { statut: 200 }, etablissement: { periodesEtablissement: [] } },
      },
    });

    const answer = await lookup(bySiret('35600000000048'));

    expect(failure(answer)).toEqual({
      code: 'REGISTRY_UNAVAILABLE',
      reason: 'bad_payload',
      status: null,
      retryAfterSeconds: null,
      detail:
        'INSEE Sirene answered a body that could not be read: periodesEtablissement is not a non-empty list of periods',
    });
  });
});
