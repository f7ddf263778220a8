import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BODY_LIMIT } from '#app/http/app.ts';
import { logIn, sendJson, startWeb, type Browser, type WebHarness } from '../support/web.ts';

const SECURITY_HEADERS = [
  'content-security-policy',
  'x-content-type-options',
  'referrer-policy',
  'x-frame-options',
  'strict-transport-security',
] as const;

/** A valid SIREN the registry sandbox knows, and the same with its check digit wrong. */
const SIREN = '552032534';
const SIREN_BAD_CHECKSUM = '552032535';

interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A request through node:http, for what fetch does not send: a Host header of our choosing, or a body the server
 * answers before it has read it all (the answer is kept; the upload cut short after it is not an error).
 */
const raw = (
  baseUrl: string,
  options: {
    readonly method: string;
    readonly path: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string;
  },
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const url = new URL(options.path, baseUrl);
    let answered = false;
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: `${url.pathname}${url.search}`,
        headers: options.headers,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.end(options.body);
  });

const headerOf = (headers: Headers | IncomingHttpHeaders, name: string): string | undefined => {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

const expectCommonHeaders = (headers: Headers | IncomingHttpHeaders): void => {
  for (const name of SECURITY_HEADERS) expect(headerOf(headers, name), name).toBeTruthy();
  expect(headerOf(headers, 'x-content-type-options')).toBe('nosniff');
  expect(headerOf(headers, 'x-correlation-id')).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
};

interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail?: string;
  readonly errors?: readonly { readonly where: string; readonly message: string }[];
}

interface OpenApiOperation {
  readonly summary?: string;
  readonly responses?: Record<string, unknown>;
  readonly requestBody?: { readonly content?: Record<string, { readonly schema?: unknown }> };
}

interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, OpenApiOperation>>;
  readonly components?: { readonly schemas?: Record<string, { readonly required?: readonly string[] }> };
}

/** The routes the server has, as `METHOD /path/{param}`, read from Fastify's route tree (HEAD left out). */
const routesOf = (tree: string): Set<string> => {
  const routes = new Set<string>();
  const prefixes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (match === null) continue;
    const depth = (match[1] ?? '').length / 4;
    const path = `${prefixes[depth - 1] ?? ''}${match[2] ?? ''}`;
    prefixes[depth] = path;
    prefixes.length = depth + 1;
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim())) {
      if (method === '' || method === 'HEAD') continue;
      routes.add(`${method} ${path.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}')}`);
    }
  }
  return routes;
};

/**
 * Routes deliberately left out of the description: the home page, the description itself, its browsable page and
 * their assets, the verification page's script and style, and the embedded OpenID provider (its own protocol,
 * under /oidc). Any other route the server has must be described.
 */
const UNDESCRIBED = /^\w+ (\/|\/api\/v1\/openapi\.json|\/docs(\/.*)?|\/assets\/.*|\/oidc\/.*)$/;

/** Routes other parts of the product and its documentation rely on: the description names each of them. */
const KNOWN_OPERATIONS = [
  'GET /auth/providers',
  'GET /auth/login/{provider}',
  'GET /auth/callback/{provider}',
  'POST /auth/logout',
  'POST /oauth/token',
  'GET /.well-known/oauth-authorization-server',
  'GET /.well-known/jwks.json',
  'GET /healthz',
  'GET /api/v1/auth/csrf',
  'GET /api/v1/me',
  'PUT /api/v1/me/account',
  'POST /api/v1/assessments',
  'GET /api/v1/assessments',
  'GET /api/v1/assessments/{id}',
  'POST /api/v1/assessments/{id}/seal',
  'GET /api/v1/reports/{id}',
  'GET /api/v1/reports/{id}/download',
  'POST /api/v1/reports/{id}/revoke',
  'GET /api/v1/suppliers/{identifier}/state',
  'GET /api/v1/accounts',
  'POST /api/v1/accounts',
  'GET /api/v1/accounts/{accountId}',
  'GET /api/v1/accounts/{accountId}/members',
  'POST /api/v1/accounts/{accountId}/members',
  'PATCH /api/v1/accounts/{accountId}/members/{userId}',
  'DELETE /api/v1/accounts/{accountId}/members/{userId}',
  'GET /api/v1/accounts/{accountId}/api-clients',
  'POST /api/v1/accounts/{accountId}/api-clients',
  'DELETE /api/v1/accounts/{accountId}/api-clients/{clientId}',
  'GET /api/v1/accounts/{accountId}/audit',
  'GET /verify/{token}',
  'GET /verify/{token}/latest',
  'GET /verify/{token}/seal.json',
  'GET /verify/{token}/latest/seal.json',
  'POST /api/v1/public/verify/{token}',
];

/**
 * The API's surface as a client meets it, on the whole product (`startWeb`): what an anonymous call gets, the
 * OpenAPI description against the routes the server really has, CSRF, schema validation, body and host limits,
 * budgets per route class, the language of errors, and that no answer ever carries a stack trace.
 */
describe('the API surface', () => {
  let web: WebHarness;
  let alice: Browser;
  /** Every body this file received, scanned at the end for stack traces. */
  const bodies: { readonly label: string; readonly body: string }[] = [];

  const keep = async (label: string, response: Response): Promise<string> => {
    const body = await response.text();
    bodies.push({ label, body });
    return body;
  };
  const keepRaw = (label: string, response: RawResponse): RawResponse => {
    bodies.push({ label, body: response.body });
    return response;
  };
  const problemOf = (body: string): ProblemBody => JSON.parse(body) as ProblemBody;

  beforeAll(async () => {
    web = await startWeb();
    alice = await logIn(web.baseUrl, 'alice@surface.example', 'Alice Surface');
  }, 60_000);

  afterAll(async () => {
    await web.close();
  });

  const assessmentIds = async (): Promise<string[]> => {
    const response = await alice.fetch('/api/v1/assessments?limit=200');
    const body = await keep('list', response);
    expect(response.status).toBe(200);
    return (JSON.parse(body) as { items: { id: string }[] }).items.map((i) => i.id);
  };

  it('answers an anonymous call 401 problem+json with WWW-Authenticate: DPoP, a correlation id and the security headers', async () => {
    const response = await fetch(`${web.baseUrl}/api/v1/assessments`);
    const body = await keep('anonymous list', response);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('www-authenticate')).toMatch(/^DPoP /);
    expectCommonHeaders(response.headers);
    expect(problemOf(body)).toMatchObject({ type: 'about:blank', status: 401, code: 'UNAUTHENTICATED' });
  });

  describe('the OpenAPI description', () => {
    let doc: OpenApiDocument;
    let described: Set<string>;

    beforeAll(async () => {
      const response = await fetch(`${web.baseUrl}/api/v1/openapi.json`);
      expect(response.status).toBe(200);
      doc = JSON.parse(await keep('openapi', response)) as OpenApiDocument;
      described = new Set(
        Object.entries(doc.paths).flatMap(([path, operations]) =>
          Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
        ),
      );
    });

    it('is OpenAPI 3.1.0', () => {
      expect(doc.openapi).toBe('3.1.0');
    });

    it('describes every route the server has, and no route it does not have', () => {
      const served = [...routesOf(web.server.printRoutes())].filter((r) => !UNDESCRIBED.test(r));
      expect(served.length).toBeGreaterThan(KNOWN_OPERATIONS.length - 1);
      expect(served.filter((r) => !described.has(r)).sort()).toEqual([]);
      expect([...described].filter((r) => !served.includes(r)).sort()).toEqual([]);
    });

    it('names the routes the rest of the product relies on', () => {
      expect(KNOWN_OPERATIONS.filter((r) => !described.has(r))).toEqual([]);
    });

    it('gives every /api/v1 operation a summary', () => {
      const without = Object.entries(doc.paths)
        .filter(([path]) => path.startsWith('/api/v1/'))
        .flatMap(([path, operations]) =>
          Object.entries(operations)
            .filter(([, op]) => typeof op.summary !== 'string' || op.summary.trim() === '')
            .map(([method]) => `${method.toUpperCase()} ${path}`),
        );
      expect(without).toEqual([]);
    });

    it('describes the errors of every /api/v1 operation as a Problem with its stable code', () => {
      expect(doc.components?.schemas?.Problem?.required).toEqual(['type', 'title', 'status', 'code']);
      const undescribed = Object.entries(doc.paths)
        .filter(([path]) => path.startsWith('/api/v1/'))
        .flatMap(([path, operations]) =>
          Object.entries(operations)
            .filter(([, op]) => !['4XX', '5XX'].every((status) => op.responses?.[status] !== undefined))
            .map(([method]) => `${method.toUpperCase()} ${path}`),
        );
      expect(undescribed).toEqual([]);
    });

    it('gives every /api/v1 operation that takes a body (POST, PUT, PATCH) a requestBody schema', () => {
      const withBody = Object.entries(doc.paths)
        .filter(([path]) => path.startsWith('/api/v1/'))
        .flatMap(([path, operations]) =>
          Object.entries(operations)
            .filter(([method]) => ['post', 'put', 'patch'].includes(method))
            .map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
        );
      expect(withBody.length).toBeGreaterThan(5);
      const without = withBody
        .filter(({ op }) => Object.values(op.requestBody?.content ?? {}).every((c) => c.schema === undefined))
        .map(({ name }) => name);
      expect(without).toEqual([]);
    });
  });

  it('serves the browsable description at /docs as an HTML page', async () => {
    const response = await fetch(`${web.baseUrl}/docs`);
    const body = await keep('docs', response);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(body).toMatch(/<html/i);
  });

  describe('CSRF', () => {
    it('gives a logged-in browser its token, the same as the __Host-vigilance_csrf cookie', async () => {
      const response = await alice.fetch('/api/v1/auth/csrf');
      const body = await keep('csrf', response);
      expect(response.status).toBe(200);
      const { csrfToken } = JSON.parse(body) as { csrfToken: string };
      expect(csrfToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(csrfToken).toBe(alice.cookie('__Host-vigilance_csrf'));
    });

    it('refuses a session POST without the header (403 CSRF_TOKEN_INVALID) and creates nothing', async () => {
      const before = await assessmentIds();
      const refused = await alice.fetch('/api/v1/assessments', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identifier: SIREN }),
        csrf: false,
      });
      const body = await keep('csrf refused', refused);
      expect(refused.status).toBe(403);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(problemOf(body).code).toBe('CSRF_TOKEN_INVALID');
      expectCommonHeaders(refused.headers);
      expect(await assessmentIds()).toEqual(before);

      // The same request with the header goes through: the header was all that was missing.
      const accepted = await sendJson(alice, 'POST', '/api/v1/assessments', { identifier: SIREN });
      const created = JSON.parse(await keep('assessment', accepted)) as { id: string };
      expect(accepted.status).toBe(201);
      expect(await assessmentIds()).toEqual([created.id, ...before]);
    });
  });

  describe('schema validation', () => {
    const expectValidationFailed = (status: number, body: string, field: RegExp): void => {
      expect(status).toBe(400);
      const problem = problemOf(body);
      expect(problem.code).toBe('VALIDATION_FAILED');
      expect(Array.isArray(problem.errors)).toBe(true);
      expect(problem.errors?.length).toBeGreaterThan(0);
      expect(problem.errors?.map((e) => `${e.where}: ${e.message}`).join('\n')).toMatch(field);
    };

    it('refuses an unknown body property, naming it', async () => {
      const response = await sendJson(alice, 'POST', '/api/v1/assessments', {
        identifier: SIREN,
        colour: 'blue',
      });
      expectValidationFailed(response.status, await keep('unknown property', response), /colour/);
    });

    it('refuses a body without its identifier, naming it', async () => {
      const response = await sendJson(alice, 'POST', '/api/v1/assessments', {});
      expectValidationFailed(response.status, await keep('missing identifier', response), /identifier/);
    });

    it('refuses limit=0 in a query, naming it', async () => {
      const response = await alice.fetch('/api/v1/assessments?limit=0');
      expectValidationFailed(response.status, await keep('limit=0', response), /querystring\/limit/);
    });
  });

  it('answers a JSON body over the body limit 413', async () => {
    const response = keepRaw(
      'too large',
      await raw(web.baseUrl, {
        method: 'POST',
        path: '/api/v1/assessments',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identifier: 'x'.repeat(DEFAULT_BODY_LIMIT) }),
      }),
    );
    expect(response.status).toBe(413);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(problemOf(response.body).code).toBe('BODY_TOO_LARGE');
    expectCommonHeaders(response.headers);
  });

  it('answers a request for another host 421 MISDIRECTED_REQUEST', async () => {
    const response = keepRaw(
      'evil host',
      await raw(web.baseUrl, {
        method: 'GET',
        path: '/api/v1/assessments',
        headers: { host: 'evil.example' },
      }),
    );
    expect(response.status).toBe(421);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(problemOf(response.body).code).toBe('MISDIRECTED_REQUEST');
    expectCommonHeaders(response.headers);
  });

  it('counts each route class against its own budget', async () => {
    const tight = await startWeb({ env: { VIGILANCE_API_REQUESTS_PER_MINUTE: '3' } });
    try {
      for (let i = 1; i <= 3; i += 1) {
        const allowed = await fetch(`${tight.baseUrl}/api/v1/assessments`);
        await keep(`budget ${String(i)}`, allowed);
        expect(allowed.status, `request ${String(i)}`).toBe(401);
      }
      const fourth = await fetch(`${tight.baseUrl}/api/v1/assessments`);
      const body = await keep('budget 4', fourth);
      expect(fourth.status).toBe(429);
      expect(problemOf(body).code).toBe('RATE_LIMITED');
      expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expectCommonHeaders(fourth.headers);

      const health = await fetch(`${tight.baseUrl}/healthz`);
      await keep('healthz', health);
      expect(health.status).toBe(200);
    } finally {
      await tight.close();
    }
  }, 60_000);

  it('words an error in the language asked for, with the same code', async () => {
    const en = await sendJson(
      alice,
      'POST',
      '/api/v1/assessments',
      { identifier: SIREN_BAD_CHECKSUM },
      { 'accept-language': 'en' },
    );
    const enProblem = problemOf(await keep('checksum en', en));
    const fr = await sendJson(
      alice,
      'POST',
      '/api/v1/assessments',
      { identifier: SIREN_BAD_CHECKSUM },
      { 'accept-language': 'fr' },
    );
    const frProblem = problemOf(await keep('checksum fr', fr));

    expect(en.status).toBe(400);
    expect(fr.status).toBe(400);
    expect(enProblem.code).toBe('IDENTIFIER_BAD_CHECKSUM');
    expect(frProblem.code).toBe('IDENTIFIER_BAD_CHECKSUM');
    expect(en.headers.get('content-language')).toBe('en');
    expect(fr.headers.get('content-language')).toBe('fr');
    expect(enProblem.title).toBe('Bad Request');
    expect(frProblem.title).toBe('Requête invalide');
    expect(enProblem.detail).toMatch(/check/i);
    expect(frProblem.detail).toBe('La clé de contrôle du SIREN ou du SIRET est fausse.');
  });

  it('never answers with a stack trace', () => {
    expect(bodies.length).toBeGreaterThan(15);
    const leaking = bodies
      .filter(({ body }) => body.includes('stack') || body.includes('    at '))
      .map(({ label }) => label);
    expect(leaking).toEqual([]);
  });
});
