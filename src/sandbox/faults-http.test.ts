import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from './server.ts';

const KEY = { 'X-INSEE-Api-Key-Integration': 'test-key' };
const DANONE_UNIT = { header: { statut: 200, message: 'OK' }, uniteLegale: { siren: '552032534' } };
const DANONE_SEARCH = {
  results: [{ siren: '552032534' }],
  total_results: 1,
  page: 1,
  per_page: 10,
  total_pages: 1,
};
const MS_UNAVAILABLE = {
  isValid: false,
  userError: 'MS_UNAVAILABLE',
  name: '---',
  address: '---',
  vatNumber: '27552032534',
};

const INSEE = '/api-sirene/3.11/siren/552032534';
const SEARCH = '/search?q=552032534';
const BODACC =
  '/api/explore/v2.1/catalog/datasets/annonces-commerciales/records?where=registre%3D%22552032534%22';
const VIES = '/taxation_customs/vies/rest-api/ms/FR/vat/27552032534';

let root: string;
let dir: string;
const opened: Sandbox[] = [];

const makeDir = async (name: string): Promise<string> => {
  const d = join(root, name);
  await mkdir(join(d, 'insee', 'siren'), { recursive: true });
  await mkdir(join(d, 'recherche'), { recursive: true });
  await writeFile(join(d, 'insee', 'siren', '552032534.json'), JSON.stringify(DANONE_UNIT));
  await writeFile(join(d, 'recherche', '552032534.json'), JSON.stringify(DANONE_SEARCH));
  return d;
};

const open = async (options: Partial<Parameters<typeof startSandbox>[0]> = {}): Promise<Sandbox> => {
  const sandbox = await startSandbox({ dir, ...options });
  opened.push(sandbox);
  return sandbox;
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vigilance-sandbox-faults-'));
  dir = await makeDir('fixtures');
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const call = (sandbox: Sandbox, path: string, init: RequestInit = {}) =>
  fetch(`${sandbox.baseUrl}${path}`, init);
const inseeCall = (sandbox: Sandbox, init: RequestInit = {}) =>
  call(sandbox, INSEE, { ...init, headers: KEY });
const statuses = async (sandbox: Sandbox, path: string, n: number): Promise<number[]> => {
  const out: number[] = [];
  for (let i = 0; i < n; i += 1) out.push((await call(sandbox, path)).status);
  return out;
};

const control = async (sandbox: Sandbox, method: string, path: string, body?: string) => {
  const response = await fetch(`${sandbox.baseUrl}/_sandbox/${path}`, {
    method,
    ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
};

describe('fault kinds', () => {
  it('answers a status with Retry-After, and the registry error body by default', async () => {
    const sandbox = await open({ faults: { insee: { status: 429, retryAfterSeconds: 30 } } });
    const response = await inseeCall(sandbox);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('30');
    expect(await response.json()).toEqual({
      header: { statut: 429, message: "Quota d'interrogations de l'API dépassé" },
    });
  });

  it('answers 429 when only retryAfterSeconds is set', async () => {
    const sandbox = await open({ faults: { recherche: { retryAfterSeconds: 1 } } });
    const response = await call(sandbox, SEARCH);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
  });

  it('answers 503 in each registry error format', async () => {
    const sandbox = await open({
      faults: {
        insee: { status: 503 },
        recherche: { status: 503 },
        bodacc: { status: 503 },
        vies: { status: 503 },
      },
    });
    expect(await (await inseeCall(sandbox)).json()).toEqual({
      header: { statut: 503, message: 'Service indisponible' },
    });
    expect(await (await call(sandbox, SEARCH)).json()).toHaveProperty('erreur');
    expect(await (await call(sandbox, BODACC)).json()).toMatchObject({ error_code: 'ServerError' });
    expect(await (await call(sandbox, VIES)).json()).toEqual({
      actionSucceed: false,
      errorWrappers: [{ error: 'SERVICE_UNAVAILABLE' }],
    });
  });

  it('answers a body alone with HTTP 200, e.g. VIES MS_UNAVAILABLE', async () => {
    const sandbox = await open({ faults: { vies: { body: MS_UNAVAILABLE } } });
    const response = await call(sandbox, VIES);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(MS_UNAVAILABLE);
  });

  it('sends a string body as is, with the extra headers', async () => {
    const sandbox = await open({
      faults: {
        bodacc: { status: 502, body: '<html>Bad Gateway</html>', headers: { 'X-RateLimit-Remaining': '0' } },
      },
    });
    const response = await call(sandbox, BODACC);
    expect(response.status).toBe(502);
    expect(response.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(await response.text()).toBe('<html>Bad Gateway</html>');
  });

  it('delays the normal answer by latencyMs, and says so', async () => {
    const sandbox = await open({ faults: { recherche: { latencyMs: 5 } } });
    const response = await call(sandbox, SEARCH);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-sandbox-fault')).toBe('latencyMs=5');
    expect(await response.json()).toEqual(DANONE_SEARCH);
  });

  it('holds the answer for latencyMs: a shorter client timeout fires first', async () => {
    const sandbox = await open({ faults: { recherche: { latencyMs: 600_000 } } });
    await expect(call(sandbox, SEARCH, { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
  });

  it('never answers on timeout: the client AbortSignal.timeout fires', async () => {
    const sandbox = await open({ faults: { vies: { timeout: true } } });
    await expect(call(sandbox, VIES, { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(sandbox.calls().vies).toBe(1);
  });

  it('ends held connections on close, so nothing hangs', async () => {
    const sandbox = await open({ faults: { insee: { timeout: true }, recherche: { latencyMs: 600_000 } } });
    const held = inseeCall(sandbox);
    const delayed = call(sandbox, SEARCH);
    const outcomes = Promise.allSettled([held, delayed]);
    // The calls are counted once the server has them: close only then, so they are really held.
    for (let i = 0; i < 1000 && (sandbox.calls().insee < 1 || sandbox.calls().recherche < 1); i += 1) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    expect(sandbox.calls()).toMatchObject({ insee: 1, recherche: 1 });
    await sandbox.close();
    const [heldOutcome, delayedOutcome] = await outcomes;
    expect(heldOutcome.status).toBe('rejected');
    expect(delayedOutcome.status).toBe('rejected');
  });

  it('drops the connection on reset: a network error for the client', async () => {
    const sandbox = await open({ faults: { vies: { reset: true } } });
    await expect(call(sandbox, VIES)).rejects.toThrow(TypeError);
  });
});

describe('fault conditions', () => {
  it('applies times to the next N calls only', async () => {
    const sandbox = await open({ faults: { recherche: { status: 503, times: 2 } } });
    expect(await statuses(sandbox, SEARCH, 4)).toEqual([503, 503, 200, 200]);
  });

  it('applies failureRate 0 to no call and 1 to every call', async () => {
    const sandbox = await open({
      faults: { recherche: { status: 500, failureRate: 0 }, vies: { status: 500, failureRate: 1 } },
    });
    expect(await statuses(sandbox, SEARCH, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(await statuses(sandbox, VIES, 5)).toEqual([500, 500, 500, 500, 500]);
  });

  it('applies a fractional failureRate according to the injected random source', async () => {
    const draws = [0.05, 0.95, 0.29, 0.3, 0.8, 0.1];
    let i = 0;
    const sandbox = await open({
      random: () => draws[i++ % draws.length] ?? 0,
      faults: { recherche: { status: 503, failureRate: 0.3 } },
    });
    expect(await statuses(sandbox, SEARCH, 6)).toEqual([503, 200, 503, 200, 200, 503]);
  });

  it('applies a rule with match only to matching calls, and the first applicable rule of a list', async () => {
    const sandbox = await open({
      faults: {
        insee: [
          { match: '/siren/356000000', status: 403 },
          { match: '/siret/', status: 404 },
        ],
      },
    });
    expect((await call(sandbox, '/api-sirene/3.11/siren/356000000', { headers: KEY })).status).toBe(403);
    expect((await call(sandbox, '/api-sirene/3.11/siret/35600000000048', { headers: KEY })).status).toBe(404);
    expect((await inseeCall(sandbox)).status).toBe(200);
  });

  it('matches the percent-decoded query too', async () => {
    const sandbox = await open({ faults: { bodacc: { match: 'registre="552032534"', status: 500 } } });
    expect((await call(sandbox, BODACC)).status).toBe(500);
    const other = BODACC.replace('552032534', '356000000');
    expect((await call(sandbox, other)).status).toBe(200);
  });

  it('faults one source without touching the others', async () => {
    const sandbox = await open({ faults: { vies: { status: 503 } } });
    expect((await inseeCall(sandbox)).status).toBe(200);
    expect((await call(sandbox, SEARCH)).status).toBe(200);
    expect((await call(sandbox, BODACC)).status).toBe(200);
    expect((await call(sandbox, VIES)).status).toBe(503);
  });

  it('is replaced at runtime by setFaults, which rejects invalid rules', async () => {
    const sandbox = await open();
    sandbox.setFaults({ recherche: { status: 500 } });
    expect((await call(sandbox, SEARCH)).status).toBe(500);
    expect(() => {
      sandbox.setFaults({ recherche: { status: 1000 } });
    }).toThrow(TypeError);
    expect((await call(sandbox, SEARCH)).status).toBe(500);
    sandbox.setFaults({});
    expect((await call(sandbox, SEARCH)).status).toBe(200);
  });
});

describe('control endpoint', () => {
  it('shows, replaces and clears the fault rules', async () => {
    const sandbox = await open();
    expect(await control(sandbox, 'GET', 'faults')).toEqual({ status: 200, body: {} });
    const rules = { vies: { status: 503, times: 3 }, insee: [{ match: '/siret/', latencyMs: 10 }] };
    const put = await control(sandbox, 'PUT', 'faults', JSON.stringify(rules));
    const expected = { vies: [{ status: 503, times: 3 }], insee: [{ match: '/siret/', latencyMs: 10 }] };
    expect(put).toEqual({ status: 200, body: expected });
    expect((await call(sandbox, VIES)).status).toBe(503);
    expect(await control(sandbox, 'GET', 'faults')).toEqual({
      status: 200,
      body: { ...expected, vies: [{ status: 503, times: 2 }] },
    });
    expect(await control(sandbox, 'DELETE', 'faults')).toEqual({ status: 204, body: undefined });
    expect(await control(sandbox, 'GET', 'faults')).toEqual({ status: 200, body: {} });
    expect((await call(sandbox, VIES)).status).toBe(200);
  });

  it('rejects invalid JSON with 400 and a clear message, rules unchanged', async () => {
    const sandbox = await open({ faults: { vies: { status: 503 } } });
    const bad = await control(sandbox, 'PUT', 'faults', '{"vies": {"status": 503');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: expect.stringContaining('invalid JSON') as unknown });
    expect(await control(sandbox, 'GET', 'faults')).toEqual({
      status: 200,
      body: { vies: [{ status: 503 }] },
    });
  });

  it('rejects invalid rules with 400 saying where, rules unchanged', async () => {
    const sandbox = await open({ faults: { vies: { status: 503 } } });
    const bad = await control(
      sandbox,
      'PUT',
      'faults',
      JSON.stringify({ vies: [{ status: 503 }, { failureRate: 1.5 }] }),
    );
    expect(bad).toEqual({
      status: 400,
      body: { error: 'invalid fault rules: vies[1].failureRate must be a number from 0 to 1' },
    });
    const unknown = await control(sandbox, 'PUT', 'faults', JSON.stringify({ sirene: { status: 500 } }));
    expect(unknown.status).toBe(400);
    expect(await control(sandbox, 'GET', 'faults')).toEqual({
      status: 200,
      body: { vies: [{ status: 503 }] },
    });
    expect((await call(sandbox, VIES)).status).toBe(503);
  });

  it('counts calls per source, faulted ones included, control and unknown paths excluded', async () => {
    const sandbox = await open({ faults: { vies: { status: 503 } } });
    expect(await control(sandbox, 'GET', 'calls')).toEqual({
      status: 200,
      body: { insee: 0, recherche: 0, bodacc: 0, vies: 0 },
    });
    await inseeCall(sandbox);
    await call(sandbox, INSEE); // 401: still a call
    await call(sandbox, SEARCH);
    await call(sandbox, VIES);
    await call(sandbox, '/elsewhere');
    await control(sandbox, 'GET', 'faults');
    expect(await control(sandbox, 'GET', 'calls')).toEqual({
      status: 200,
      body: { insee: 2, recherche: 1, bodacc: 0, vies: 1 },
    });
    expect(sandbox.calls()).toEqual({ insee: 2, recherche: 1, bodacc: 0, vies: 1 });
    expect(await control(sandbox, 'DELETE', 'calls')).toEqual({ status: 204, body: undefined });
    expect(sandbox.calls()).toEqual({ insee: 0, recherche: 0, bodacc: 0, vies: 0 });
  });

  it('answers 405 and 404 on the control paths it does not serve', async () => {
    const sandbox = await open();
    expect((await control(sandbox, 'POST', 'faults', '{}')).status).toBe(405);
    expect((await control(sandbox, 'PUT', 'calls', '{}')).status).toBe(405);
    expect((await control(sandbox, 'GET', 'nothing')).status).toBe(404);
  });

  it('describes itself on GET /_sandbox', async () => {
    const sandbox = await open();
    const response = await fetch(`${sandbox.baseUrl}/_sandbox`);
    expect(await response.json()).toMatchObject({ urls: sandbox.urls, dir, faultsFileError: null });
  });
});

describe('faults.json', () => {
  it('is applied at start', async () => {
    const d = await makeDir('with-faults');
    await writeFile(
      join(d, 'faults.json'),
      JSON.stringify({ _comment: 'INSEE over quota', insee: { status: 429 } }),
    );
    const sandbox = await open({ dir: d });
    expect((await inseeCall(sandbox)).status).toBe(429);
    expect((await call(sandbox, SEARCH)).status).toBe(200);
  });

  it('gives way to the faults option', async () => {
    const d = await makeDir('overridden');
    await writeFile(join(d, 'faults.json'), JSON.stringify({ insee: { status: 429 } }));
    const sandbox = await open({ dir: d, faults: { vies: { status: 503 } } });
    expect((await inseeCall(sandbox)).status).toBe(200);
    expect((await call(sandbox, VIES)).status).toBe(503);
  });

  it('makes start fail when invalid', async () => {
    const d = await makeDir('invalid-faults');
    await writeFile(join(d, 'faults.json'), JSON.stringify({ insee: { status: 'soon' } }));
    await expect(startSandbox({ dir: d })).rejects.toThrow(/insee\.status must be an HTTP status/);
    await writeFile(join(d, 'faults.json'), '{ not json');
    await expect(startSandbox({ dir: d })).rejects.toThrow(/faults\.json is not valid JSON/);
  });

  it('is read again when it changes; an invalid change keeps the rules and is reported', async () => {
    const d = await makeDir('changing');
    const file = join(d, 'faults.json');
    await writeFile(file, JSON.stringify({ recherche: { status: 500 } }));
    const sandbox = await open({ dir: d });
    expect((await call(sandbox, SEARCH)).status).toBe(500);
    await writeFile(file, JSON.stringify({ recherche: { status: 503, retryAfterSeconds: 5 } }));
    expect((await call(sandbox, SEARCH)).status).toBe(503);
    await writeFile(file, JSON.stringify({ recherche: { status: 'x' } }));
    expect((await call(sandbox, SEARCH)).status).toBe(503);
    const info = (await (await fetch(`${sandbox.baseUrl}/_sandbox`)).json()) as { faultsFileError: string };
    expect(info.faultsFileError).toContain('recherche.status');
    await rm(file);
    expect((await call(sandbox, SEARCH)).status).toBe(200);
  });
});
