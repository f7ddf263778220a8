import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sirenFromWhere } from './registries.ts';
import { startSandbox, type Sandbox } from './server.ts';

const KEY = { 'X-INSEE-Api-Key-Integration': 'test-key' };
const SECRET = 'TOP-SECRET-OUTSIDE-THE-FIXTURES';

const unit = (siren: string, statut = 200, message = 'OK') => ({
  header: { statut, message },
  uniteLegale: { siren, statutDiffusionUniteLegale: 'O', periodesUniteLegale: [] },
});

const notice = (siren: string, n: number, dateparution: string) => ({
  id: `A2025000${n}`,
  dateparution,
  registre: [siren, `${siren.slice(0, 3)} ${siren.slice(3, 6)} ${siren.slice(6)}`],
});

// 12 notices, newest first, so paging and ordering can be checked.
const NOTICES = Array.from({ length: 12 }, (_, i) =>
  notice('812345676', i, `2025-${String(12 - i).padStart(2, '0')}-15`),
);

const FILES: Readonly<Record<string, unknown>> = {
  'insee/siren/552032534.json': unit('552032534'),
  'insee/siren/300025764.json': unit('300025764', 403, 'Unité légale non diffusable (300025764)'),
  'insee/siren/999999998.json': unit('999999998', 404, 'Aucun élément trouvé pour le siren 999999998'),
  'insee/siren/812345676.json': unit('552032534', 301, 'Unité légale fermée pour cause de doublon'),
  'insee/siren/900000019.json': unit('900000019', 503, 'Service indisponible'),
  'insee/siret/55203253400703.json': {
    header: { statut: 200, message: 'OK' },
    etablissement: { siren: '552032534', siret: '55203253400703' },
  },
  'recherche/552032534.json': {
    results: [{ siren: '552032534' }],
    total_results: 1,
    page: 1,
    per_page: 10,
    total_pages: 1,
  },
  'bodacc/812345676.json': { total_count: 12, results: NOTICES },
  'vies/FR27552032534.json': { isValid: true, userError: 'VALID', name: 'DANONE', vatNumber: '27552032534' },
};

let root: string;
let dir: string;
let sandbox: Sandbox;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vigilance-sandbox-'));
  dir = join(root, 'fixtures');
  for (const [path, body] of Object.entries(FILES)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), JSON.stringify(body));
  }
  await writeFile(join(dir, 'insee/siren/111111118.json'), '{ not json');
  // Files a traversal would reach: next to the fixtures directory, and at its root.
  await writeFile(join(root, 'secret.json'), JSON.stringify({ secret: SECRET }));
  await writeFile(join(dir, 'secret.json'), JSON.stringify({ secret: SECRET }));
  sandbox = await startSandbox({ dir });
});

afterAll(async () => {
  await sandbox.close();
  await rm(root, { recursive: true, force: true });
});

const get = (path: string, init: RequestInit = {}) => fetch(`${sandbox.baseUrl}${path}`, init);
const getJson = async (path: string, init: RequestInit = {}) => {
  const response = await get(path, init);
  return { status: response.status, headers: response.headers, body: await response.json() };
};

/** A request whose path is sent byte for byte (fetch would normalise dot segments). */
const raw = (path: string, headers: Record<string, string> = {}) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const url = new URL(sandbox.baseUrl);
    const req = httpRequest({ host: url.hostname, port: url.port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });

const bodaccPath = (params: Record<string, string>) =>
  `/api/explore/v2.1/catalog/datasets/annonces-commerciales/records?${new URLSearchParams(params).toString()}`;

describe('startSandbox', () => {
  it('gives the base URL each adapter expects', () => {
    expect(sandbox.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sandbox.urls).toEqual({
      insee: `${sandbox.baseUrl}/api-sirene/3.11`,
      recherche: sandbox.baseUrl,
      bodacc: sandbox.baseUrl,
      vies: `${sandbox.baseUrl}/taxation_customs/vies/rest-api`,
    });
  });

  it('rejects a fixtures directory that does not exist', async () => {
    await expect(startSandbox({ dir: join(root, 'nowhere') })).rejects.toThrow(/not found/);
  });

  it('answers 404 outside the registries paths', async () => {
    const { status, body } = await getJson('/nowhere');
    expect(status).toBe(404);
    expect(JSON.stringify(body)).toContain('/api-sirene/3.11/siren/{siren}');
  });

  it('answers 405 to a method the registry route does not serve', async () => {
    const response = await get('/search?q=552032534', { method: 'POST', body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  it('reads fixtures at request time, so edits show while it runs', async () => {
    expect((await getJson('/search?q=danone')).body).toMatchObject({ total_results: 0 });
    await writeFile(
      join(dir, 'recherche/danone.json'),
      JSON.stringify({ results: [{ siren: '552032534' }] }),
    );
    expect((await getJson('/search?q=danone')).body).toEqual({ results: [{ siren: '552032534' }] });
  });

  it('answers 500 with the file name when a fixture is not valid JSON', async () => {
    const { status, body } = await getJson('/api-sirene/3.11/siren/111111118', { headers: KEY });
    expect(status).toBe(500);
    expect(JSON.stringify(body)).toContain('insee/siren/111111118.json is not valid JSON');
  });
});

describe('INSEE Sirene 3.11', () => {
  it('serves /siren/{siren} from insee/siren/<siren>.json', async () => {
    const { status, headers, body } = await getJson('/api-sirene/3.11/siren/552032534', { headers: KEY });
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(body).toEqual(FILES['insee/siren/552032534.json']);
  });

  it('answers the status the body carries in header.statut', async () => {
    expect((await get('/api-sirene/3.11/siren/300025764', { headers: KEY })).status).toBe(403);
    expect((await get('/api-sirene/3.11/siren/999999998', { headers: KEY })).status).toBe(404);
    const unavailable = await getJson('/api-sirene/3.11/siren/900000019', { headers: KEY });
    expect(unavailable).toMatchObject({ status: 503, body: { header: { statut: 503 } } });
  });

  it('redirects a 301 (duplicate) to the surviving unit the body names', async () => {
    const manual = await get('/api-sirene/3.11/siren/812345676?date=2026-01-01', {
      headers: KEY,
      redirect: 'manual',
    });
    expect(manual.status).toBe(301);
    expect(manual.headers.get('location')).toBe('/api-sirene/3.11/siren/552032534?date=2026-01-01');
    const followed = await get('/api-sirene/3.11/siren/812345676', { headers: KEY });
    expect(followed.redirected).toBe(true);
    expect(followed.url).toBe(`${sandbox.baseUrl}/api-sirene/3.11/siren/552032534`);
    expect(await followed.json()).toEqual(FILES['insee/siren/552032534.json']);
  });

  it('answers the real 404 body for a SIREN without a fixture', async () => {
    const { status, body } = await getJson('/api-sirene/3.11/siren/732829320', { headers: KEY });
    expect(status).toBe(404);
    expect(body).toEqual({
      header: { statut: 404, message: 'Aucun élément trouvé pour le siren 732829320' },
    });
  });

  it('serves /siret/{siret} and its not-found answer', async () => {
    const found = await getJson('/api-sirene/3.11/siret/55203253400703', { headers: KEY });
    expect(found).toMatchObject({ status: 200, body: FILES['insee/siret/55203253400703.json'] });
    const missing = await getJson('/api-sirene/3.11/siret/55203253400018', { headers: KEY });
    expect(missing).toEqual(
      expect.objectContaining({
        status: 404,
        body: { header: { statut: 404, message: 'Aucun élément trouvé pour le siret 55203253400018' } },
      }),
    );
  });

  it('answers 401 without the X-INSEE-Api-Key-Integration header', async () => {
    const { status, body } = await getJson('/api-sirene/3.11/siren/552032534');
    expect(status).toBe(401);
    expect(body).toEqual({ header: { statut: 401, message: "Jeton d'accès manquant ou invalide" } });
    expect(
      (await get('/api-sirene/3.11/siren/552032534', { headers: { 'X-INSEE-Api-Key-Integration': ' ' } }))
        .status,
    ).toBe(401);
  });

  it('answers 400 to a malformed SIREN or SIRET', async () => {
    expect((await get('/api-sirene/3.11/siren/55203253', { headers: KEY })).status).toBe(400);
    expect((await get('/api-sirene/3.11/siren/55203253A', { headers: KEY })).status).toBe(400);
    expect((await get('/api-sirene/3.11/siret/552032534', { headers: KEY })).status).toBe(400);
  });
});

describe("API Recherche d'entreprises", () => {
  it('serves /search?q=<q> from recherche/<q>.json', async () => {
    const { status, body } = await getJson('/search?q=552032534&page=1&per_page=10');
    expect(status).toBe(200);
    expect(body).toEqual(FILES['recherche/552032534.json']);
  });

  it('answers 200 with no results for a query without a fixture', async () => {
    const { status, body } = await getJson('/search?q=732829320');
    expect(status).toBe(200);
    expect(body).toEqual({ results: [], total_results: 0, page: 1, per_page: 10, total_pages: 0 });
  });

  it('answers 400 without a query', async () => {
    const { status, body } = await getJson('/search');
    expect(status).toBe(400);
    expect(body).toEqual({ erreur: 'Veuillez indiquer au moins un paramètre de recherche.' });
  });
});

describe('BODACC (Opendatasoft Explore v2.1)', () => {
  const records = async (params: Record<string, string>) => getJson(bodaccPath(params));

  it.each([
    ['registre="812345676"'],
    ['registre like "812345676"'],
    ['search(registre, "812345676")'],
    ["registre='812 345 676'"],
    ['registre = "812345676" and familleavis="collective"'],
  ])('finds the SIREN in where=%s', async (where) => {
    const { status, body } = await records({ where, limit: '100' });
    expect(status).toBe(200);
    expect(body).toEqual({ total_count: 12, results: NOTICES });
  });

  it('pages with limit and offset, keeping total_count', async () => {
    const first = await records({ where: 'registre="812345676"', limit: '5', offset: '0' });
    const third = await records({ where: 'registre="812345676"', limit: '5', offset: '10' });
    expect(first.body).toEqual({ total_count: 12, results: NOTICES.slice(0, 5) });
    expect(third.body).toEqual({ total_count: 12, results: NOTICES.slice(10, 12) });
    const beyond = await records({ where: 'registre="812345676"', limit: '5', offset: '20' });
    expect(beyond.body).toEqual({ total_count: 12, results: [] });
  });

  it('returns 10 records when no limit is given, as Opendatasoft does', async () => {
    const { body } = await records({ where: 'registre="812345676"' });
    expect(body).toEqual({ total_count: 12, results: NOTICES.slice(0, 10) });
  });

  it('orders by dateparution when asked', async () => {
    const asc = await records({ where: 'registre="812345676"', order_by: 'dateparution asc', limit: '3' });
    expect(asc.body).toEqual({ total_count: 12, results: NOTICES.slice().reverse().slice(0, 3) });
    const desc = await records({ where: 'registre="812345676"', order_by: 'dateparution desc', limit: '3' });
    expect(desc.body).toEqual({ total_count: 12, results: NOTICES.slice(0, 3) });
  });

  it('rejects a limit above 100 with 400, as Opendatasoft does', async () => {
    const { status, body } = await records({ where: 'registre="812345676"', limit: '101' });
    expect(status).toBe(400);
    expect(body).toEqual({
      error_code: 'InvalidRESTParameterError',
      message: 'Invalid value for limit API parameter: 101 was found but -1 <= limit <= 100 is expected.',
    });
    expect((await records({ where: 'registre="812345676"', limit: 'ten' })).status).toBe(400);
    expect((await records({ where: 'registre="812345676"', offset: '-1' })).status).toBe(400);
    expect((await records({ where: 'registre="812345676"', limit: '100', offset: '9950' })).status).toBe(400);
  });

  it('answers no records for a SIREN without a fixture', async () => {
    const { status, body } = await records({ where: 'registre="732829320"', limit: '100' });
    expect(status).toBe(200);
    expect(body).toEqual({ total_count: 0, results: [] });
  });

  it('answers 400 to a where clause that selects no single SIREN', async () => {
    expect((await records({ limit: '10' })).status).toBe(400);
    expect((await records({ where: 'familleavis="collective"' })).status).toBe(400);
    expect((await records({ where: 'registre="812345676" or registre="552032534"' })).status).toBe(400);
  });

  it('answers 404 on another dataset', async () => {
    const response = await get(
      '/api/explore/v2.1/catalog/datasets/annonces-civiles/records?where=registre="812345676"',
    );
    expect(response.status).toBe(404);
  });

  it('reads the SIREN out of each where form', () => {
    expect(sirenFromWhere('registre like "552 032 534"')).toEqual({ ok: true, value: '552032534' });
    expect(sirenFromWhere("SEARCH(registre, '552032534')")).toEqual({ ok: true, value: '552032534' });
    expect(sirenFromWhere('registre="55203253"').ok).toBe(false);
    expect(sirenFromWhere('commercant="DANONE"').ok).toBe(false);
  });
});

describe('VIES REST', () => {
  it('serves /ms/{CC}/vat/{number} from vies/<CC><number>.json', async () => {
    const { status, body } = await getJson('/taxation_customs/vies/rest-api/ms/FR/vat/27552032534');
    expect(status).toBe(200);
    expect(body).toEqual(FILES['vies/FR27552032534.json']);
  });

  it('answers the real INVALID shape for a number without a fixture', async () => {
    const { status, body } = await getJson('/taxation_customs/vies/rest-api/ms/FR/vat/92482319076');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      isValid: false,
      userError: 'INVALID',
      name: '---',
      address: '---',
      vatNumber: '92482319076',
      requestIdentifier: '',
    });
    const { requestDate } = body as { requestDate: string };
    expect(new Date(requestDate).toISOString()).toBe(requestDate);
  });

  it('answers INVALID_INPUT to an unknown member state or a malformed number', async () => {
    const unknown = await getJson('/taxation_customs/vies/rest-api/ms/GB/vat/123456789');
    expect(unknown).toMatchObject({
      status: 400,
      body: { actionSucceed: false, errorWrappers: [{ error: 'INVALID_INPUT' }] },
    });
    expect((await get('/taxation_customs/vies/rest-api/ms/FR/vat/27.552.032.534')).status).toBe(400);
  });

  it('answers /check-status with every member state available', async () => {
    const { status, body } = await getJson('/taxation_customs/vies/rest-api/check-status');
    expect(status).toBe(200);
    expect(body).toMatchObject({ vow: { available: true } });
    expect((body as { countries: unknown[] }).countries).toContainEqual({
      countryCode: 'FR',
      availability: 'Available',
    });
  });
});

describe('path traversal', () => {
  const attempts: readonly (readonly [string, Record<string, string>])[] = [
    ['/api-sirene/3.11/siren/..%2F..%2Fsecret', KEY],
    ['/api-sirene/3.11/siren/%2e%2e%2f%2e%2e%2fsecret', KEY],
    ['/api-sirene/3.11/siren/../../../secret', KEY],
    ['/api-sirene/3.11/siret/..%2f..%2f..%2fsecret', KEY],
    ['/search?q=..%2F..%2Fsecret', {}],
    ['/search?q=../secret', {}],
    ['/search?q=%2Fetc%2Fpasswd', {}],
    ['/search?q=..%5C..%5Csecret', {}],
    [bodaccPath({ where: 'registre="../secret"' }), {}],
    [bodaccPath({ where: 'registre="..%2F..%2Fsecret"' }), {}],
    ['/taxation_customs/vies/rest-api/ms/FR/vat/..%2F..%2Fsecret', {}],
    ['/taxation_customs/vies/rest-api/ms/..%2F..%2F/vat/secret', {}],
    ['/taxation_customs/vies/rest-api/ms/FR/vat/..', {}],
  ];

  it.each(attempts)('never serves a file outside its registry folder: %s', async (path, headers) => {
    const { status, body } = await raw(path, headers);
    expect(body).not.toContain(SECRET);
    expect([200, 400, 404]).toContain(status);
    if (status === 200) expect(body).not.toContain('secret');
  });
});
