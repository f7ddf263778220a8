import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { createMemoryRequestLimiter } from '#app/adapters/memory/request-limiter.ts';
import { createMemorySessionStore } from '#app/adapters/memory/session-store.ts';
import type { RequestBudget } from '#app/application/ports/request-limiter.ts';
import type { SessionData, SessionStore } from '#app/application/ports/session-store.ts';
import { createManualClock, type ManualClock } from '../../test/support/manual-clock.ts';
import { buildApp, ROUTE_CLASSES } from './app.ts';
import {
  CSRF_COOKIE,
  csrfTokenOf,
  LANG_COOKIE,
  PIPELINE_ORDER,
  SESSION_COOKIE,
  type StageName,
  SESSION_IDLE_MS,
  SESSION_MAX_MS,
} from './pipeline.ts';
import { problemError } from './problems.ts';

const ALLOWED_ORIGIN = 'https://app.vigilance.example';
const OTHER_ORIGIN = 'https://evil.example';
const BODY_LIMIT = 1024;
const SESSION_TTL_MS = 60 * 60 * 1000;
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'";
const THROWN_MESSAGE = 'connection to db.internal:5432 refused for user vigilance_owner';

const GENEROUS: RequestBudget = { max: 10_000, windowMs: 60_000 };
/** The class of the `/tight` route: one request a minute per address. */
const ONE_A_MINUTE: RequestBudget = { max: 1, windowMs: 60_000 };

interface Harness {
  readonly app: FastifyInstance;
  readonly clock: ManualClock;
  /** The memory store itself (sessions are created here directly). */
  readonly store: SessionStore;
  /** How many times the pipeline read a session from the store. */
  readonly sessionReads: () => number;
  /** The stages that started for the request answered with this response (by its correlation id). */
  readonly ran: (response: LightMyRequestResponse) => readonly StageName[];
  readonly send: (options: InjectOptions) => Promise<LightMyRequestResponse>;
}

interface HarnessOptions {
  readonly budgets?: Readonly<Record<string, RequestBudget>>;
}

const open: FastifyInstance[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

/**
 * The HTTP application with real in-memory adapters and no product routes, plus a few routes of its own: a read,
 * a JSON write with a schema, a write that opts out of CSRF, one answering 401, one that fails with a plain Error,
 * and one in a route class allowed one request a minute.
 */
const harness = async (options: HarnessOptions = {}): Promise<Harness> => {
  const clock = createManualClock();
  const store = createMemorySessionStore({ clock });
  let reads = 0;
  const counted: SessionStore = {
    get: (id) => {
      reads += 1;
      return store.get(id);
    },
    set: (id, data, ttlMs) => store.set(id, data, ttlMs),
    delete: (id) => store.delete(id),
  };
  const stages = new Map<string, StageName[]>();
  let ids = 0;
  const budgets = {
    ...Object.fromEntries(ROUTE_CLASSES.map((c) => [c, GENEROUS])),
    tight: ONE_A_MINUTE,
    ...options.budgets,
  };
  const app = await buildApp({
    newCorrelationId: () => `generated-${String(++ids)}`,
    limiter: createMemoryRequestLimiter({ budgets }),
    sessions: counted,
    now: () => clock.now(),
    trustedHosts: ['localhost'],
    corsOrigins: [ALLOWED_ORIGIN],
    bodyLimit: BODY_LIMIT,
    onStage: (name, request) => {
      const list = stages.get(request.id) ?? [];
      list.push(name);
      stages.set(request.id, list);
    },
  });
  open.push(app);

  app.get('/thing', () => ({ ok: true }));
  app.post(
    '/thing',
    {
      schema: {
        body: {
          type: 'object',
          properties: { name: { type: 'string', minLength: 1 } },
          required: ['name'],
          additionalProperties: false,
        },
      },
    },
    () => ({ ok: true }),
  );
  app.route({ method: ['PUT', 'PATCH', 'DELETE'], url: '/thing', handler: () => ({ ok: true }) });
  app.post('/open-door', { config: { csrf: false } }, () => ({ ok: true }));
  app.get('/private', () => {
    throw problemError('UNAUTHENTICATED', { 'www-authenticate': 'DPoP algs="ES256"' });
  });
  app.get('/boom', () => {
    throw new Error(THROWN_MESSAGE);
  });
  app.get('/tight', { config: { rateClass: 'tight' } }, () => ({ ok: true }));
  await app.ready();

  return {
    app,
    clock,
    store,
    sessionReads: () => reads,
    ran: (response) => stages.get(String(response.headers['x-correlation-id'])) ?? [],
    send: (inject) => app.inject(inject),
  };
};

/** A session as the login leaves it, stored directly; returns its cookie value and its CSRF token. */
const newSession = async (h: Harness): Promise<{ readonly id: string; readonly token: string }> => {
  const id = randomBytes(32).toString('base64url');
  const csrfSecret = randomBytes(32).toString('base64url');
  const data: SessionData = {
    userId: 'c0ffee00-0000-4000-8000-000000000001',
    accountId: 'c0ffee00-0000-4000-8000-000000000002',
    csrfSecret,
    createdAt: h.clock.now().toISOString(),
    pendingLogin: null,
    provider: null,
  };
  await h.store.set(id, data, SESSION_TTL_MS);
  return { id, token: csrfTokenOf(csrfSecret) };
};

const cookies = (entries: Readonly<Record<string, string>>): string =>
  Object.entries(entries)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');

const json = (response: LightMyRequestResponse): Record<string, unknown> =>
  JSON.parse(response.body) as Record<string, unknown>;

const expectCommonHeaders = (response: LightMyRequestResponse): void => {
  expect(response.headers['content-security-policy']).toBe(CSP);
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  expect(response.headers['referrer-policy']).toBe('no-referrer');
  expect(response.headers['x-frame-options']).toBe('DENY');
  expect(response.headers['strict-transport-security']).toBe('max-age=31536000');
  expect(response.headers['x-correlation-id']).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
};

const expectProblem = (response: LightMyRequestResponse, status: number, code: string): void => {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(json(response)).toMatchObject({ type: 'about:blank', status, code });
};

const preflight = (origin: string, extra: Record<string, string> = {}): InjectOptions => ({
  method: 'OPTIONS',
  url: '/thing',
  headers: { origin, 'access-control-request-method': 'POST', ...extra },
});

/** Spends the one request of `/tight` for an address, so its next one is over budget. */
const spendTight = async (h: Harness, remoteAddress: string): Promise<void> => {
  const first = await h.send({ method: 'GET', url: '/tight', remoteAddress });
  expect(first.statusCode).toBe(200);
};

describe('the request pipeline', () => {
  describe('order', () => {
    it('is the contractual list, exactly', () => {
      expect(PIPELINE_ORDER).toEqual([
        'logging',
        'rateLimiting',
        'cors',
        'session',
        'trustedHost',
        'csrf',
        'securityHeaders',
        'correlationId',
        'locale',
      ]);
    });

    it('runs the nine stages in that order on a normal request', async () => {
      const h = await harness();
      const res = await h.send({ method: 'GET', url: '/thing' });
      expect(res.statusCode).toBe(200);
      expect(h.ran(res)).toEqual([...PIPELINE_ORDER]);
    });

    it('runs them all on a request nothing answers (404) too', async () => {
      const h = await harness();
      const res = await h.send({ method: 'GET', url: '/nowhere' });
      expect(res.statusCode).toBe(404);
      expect(h.ran(res)).toEqual([...PIPELINE_ORDER]);
    });

    it('stops after rate limiting when the budget is spent', async () => {
      const h = await harness();
      await spendTight(h, '10.0.0.1');
      const res = await h.send({ method: 'GET', url: '/tight', remoteAddress: '10.0.0.1' });
      expect(res.statusCode).toBe(429);
      expect(h.ran(res)).toEqual(['logging', 'rateLimiting']);
    });

    it('stops after CORS on a denied preflight, and on an allowed one it answers itself', async () => {
      const h = await harness();
      const denied = await h.send(preflight(OTHER_ORIGIN));
      expect(denied.statusCode).toBe(403);
      expect(h.ran(denied)).toEqual(['logging', 'rateLimiting', 'cors']);
      const allowed = await h.send(preflight(ALLOWED_ORIGIN));
      expect(allowed.statusCode).toBe(204);
      expect(h.ran(allowed)).toEqual(['logging', 'rateLimiting', 'cors']);
    });

    it('stops after the trusted host check on an unknown host (421)', async () => {
      const h = await harness();
      const res = await h.send({ method: 'GET', url: '/thing', headers: { host: 'evil.example' } });
      expect(res.statusCode).toBe(421);
      expect(h.ran(res)).toEqual(['logging', 'rateLimiting', 'cors', 'session', 'trustedHost']);
    });

    it('stops after CSRF on a session request without its token (403)', async () => {
      const h = await harness();
      const session = await newSession(h);
      const res = await h.send({
        method: 'POST',
        url: '/thing',
        headers: { cookie: cookies({ [SESSION_COOKIE]: session.id, [CSRF_COOKIE]: session.token }) },
        payload: { name: 'x' },
      });
      expect(res.statusCode).toBe(403);
      expect(h.ran(res)).toEqual(['logging', 'rateLimiting', 'cors', 'session', 'trustedHost', 'csrf']);
    });
  });

  describe('order-dependent behaviour (each would change if two adjacent stages were swapped)', () => {
    it('logging before rate limiting: a request refused for its budget has gone through logging', async () => {
      const h = await harness();
      await spendTight(h, '10.0.1.1');
      const res = await h.send({ method: 'GET', url: '/tight', remoteAddress: '10.0.1.1' });
      expect(res.statusCode).toBe(429);
      expect(h.ran(res)[0]).toBe('logging');
      expect(h.ran(res)).toContain('rateLimiting');
    });

    it('rate limiting before CORS: a disallowed-origin preflight over budget is 429, not 403', async () => {
      const h = await harness({ budgets: { pages: ONE_A_MINUTE } });
      // A preflight is routed nowhere (no OPTIONS route): it counts in the class of unknown addresses.
      const first = await h.send({ ...preflight(OTHER_ORIGIN), remoteAddress: '10.0.2.1' });
      expectProblem(first, 403, 'CORS_ORIGIN_DENIED');
      const second = await h.send({ ...preflight(OTHER_ORIGIN), remoteAddress: '10.0.2.1' });
      expectProblem(second, 429, 'RATE_LIMITED');
    });

    it('CORS before session: an allowed preflight is answered 204 without reading the session store', async () => {
      const h = await harness();
      const session = await newSession(h);
      const cookie = cookies({ [SESSION_COOKIE]: session.id });
      const res = await h.send(preflight(ALLOWED_ORIGIN, { cookie }));
      expect(res.statusCode).toBe(204);
      expect(h.sessionReads()).toBe(0);
      // The same cookie on an ordinary request is read: the count above is not zero by accident.
      const read = await h.send({
        method: 'GET',
        url: '/thing',
        headers: { cookie, origin: ALLOWED_ORIGIN },
      });
      expect(read.statusCode).toBe(200);
      expect(h.sessionReads()).toBe(1);
    });

    it('session before trusted host: with a bad Host the session is read, then the request is 421', async () => {
      const h = await harness();
      const session = await newSession(h);
      const res = await h.send({
        method: 'GET',
        url: '/thing',
        headers: { host: 'evil.example', cookie: cookies({ [SESSION_COOKIE]: session.id }) },
      });
      expect(h.sessionReads()).toBe(1);
      expectProblem(res, 421, 'MISDIRECTED_REQUEST');
    });

    it('trusted host before CSRF: a bad Host without the CSRF token is 421, not 403', async () => {
      const h = await harness();
      const session = await newSession(h);
      const res = await h.send({
        method: 'POST',
        url: '/thing',
        headers: {
          host: 'evil.example',
          cookie: cookies({ [SESSION_COOKIE]: session.id, [CSRF_COOKIE]: session.token }),
        },
        payload: { name: 'x' },
      });
      expectProblem(res, 421, 'MISDIRECTED_REQUEST');
    });

    it('CSRF before security headers, correlation id and locale: the rejection still carries all three', async () => {
      const h = await harness();
      const session = await newSession(h);
      const res = await h.send({
        method: 'POST',
        url: '/thing',
        headers: {
          cookie: cookies({ [SESSION_COOKIE]: session.id, [LANG_COOKIE]: 'en' }),
          'x-correlation-id': 'csrf-rejection-1',
        },
        payload: { name: 'x' },
      });
      expectProblem(res, 403, 'CSRF_TOKEN_INVALID');
      expectCommonHeaders(res);
      expect(res.headers['x-correlation-id']).toBe('csrf-rejection-1');
      expect(res.headers['content-language']).toBe('en');
      expect(json(res).title).toBe('Forbidden');
      expect(h.ran(res)).not.toContain('securityHeaders');
    });
  });

  describe('headers on every response', () => {
    const cases: readonly {
      readonly name: string;
      readonly status: number;
      readonly request: (h: Harness) => Promise<LightMyRequestResponse>;
    }[] = [
      { name: 'a read', status: 200, request: (h) => h.send({ method: 'GET', url: '/thing' }) },
      { name: 'an unknown address', status: 404, request: (h) => h.send({ method: 'GET', url: '/nowhere' }) },
      { name: 'no credentials', status: 401, request: (h) => h.send({ method: 'GET', url: '/private' }) },
      {
        name: 'a body against the schema',
        status: 400,
        request: (h) => h.send({ method: 'POST', url: '/thing', payload: { name: 'x', extra: true } }),
      },
      {
        name: 'a body over the limit',
        status: 413,
        request: (h) =>
          h.send({ method: 'POST', url: '/thing', payload: { name: 'x'.repeat(BODY_LIMIT * 2) } }),
      },
      {
        name: 'a body of another media type',
        status: 415,
        request: (h) =>
          h.send({
            method: 'POST',
            url: '/thing',
            headers: { 'content-type': 'application/xml' },
            payload: '<name>x</name>',
          }),
      },
      {
        name: 'an unknown host',
        status: 421,
        request: (h) => h.send({ method: 'GET', url: '/thing', headers: { host: 'evil.example' } }),
      },
      {
        name: 'a session write without its CSRF token',
        status: 403,
        request: async (h) => {
          const session = await newSession(h);
          return h.send({
            method: 'POST',
            url: '/thing',
            headers: { cookie: cookies({ [SESSION_COOKIE]: session.id }) },
            payload: { name: 'x' },
          });
        },
      },
      {
        name: 'a write from a disallowed origin',
        status: 403,
        request: (h) =>
          h.send({
            method: 'POST',
            url: '/thing',
            headers: { origin: OTHER_ORIGIN },
            payload: { name: 'x' },
          }),
      },
      {
        name: 'a request over budget',
        status: 429,
        request: async (h) => {
          await spendTight(h, '10.0.3.1');
          return h.send({ method: 'GET', url: '/tight', remoteAddress: '10.0.3.1' });
        },
      },
      { name: 'a failing handler', status: 500, request: (h) => h.send({ method: 'GET', url: '/boom' }) },
    ];

    it.each(cases)('$status ($name) carries the correlation id and the security headers', async (c) => {
      const h = await harness();
      const res = await c.request(h);
      expect(res.statusCode).toBe(c.status);
      expectCommonHeaders(res);
      if (c.status >= 400) expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('an allowed preflight (204) carries them too', async () => {
      const h = await harness();
      const res = await h.send(preflight(ALLOWED_ORIGIN));
      expect(res.statusCode).toBe(204);
      expectCommonHeaders(res);
    });

    it('echoes a well-formed X-Correlation-ID, on answers and on rejections', async () => {
      const h = await harness();
      const ok = await h.send({
        method: 'GET',
        url: '/thing',
        headers: { 'x-correlation-id': 'erp-42.batch_7' },
      });
      expect(ok.headers['x-correlation-id']).toBe('erp-42.batch_7');
      const refused = await h.send({
        method: 'GET',
        url: '/thing',
        headers: { host: 'evil.example', 'x-correlation-id': 'erp-43' },
      });
      expect(refused.statusCode).toBe(421);
      expect(refused.headers['x-correlation-id']).toBe('erp-43');
    });

    it('replaces a malformed X-Correlation-ID with a new one', async () => {
      const h = await harness();
      for (const bad of ['has space', 'semi;colon', 'x'.repeat(129), '<script>']) {
        const res = await h.send({ method: 'GET', url: '/thing', headers: { 'x-correlation-id': bad } });
        expect(res.headers['x-correlation-id']).toMatch(/^generated-\d+$/);
      }
      const none = await h.send({ method: 'GET', url: '/thing' });
      expect(none.headers['x-correlation-id']).toMatch(/^generated-\d+$/);
    });
  });

  describe('problem format', () => {
    it('is application/problem+json with a stable code, in French by default', async () => {
      const h = await harness();
      const res = await h.send({ method: 'GET', url: '/nowhere' });
      expectProblem(res, 404, 'NOT_FOUND');
      expect(res.headers['content-language']).toBe('fr');
      expect(json(res)).toEqual({
        type: 'about:blank',
        title: 'Introuvable',
        status: 404,
        code: 'NOT_FOUND',
      });
    });

    it('is in English with Accept-Language: en, the code unchanged', async () => {
      const h = await harness();
      const res = await h.send({
        method: 'GET',
        url: '/private',
        headers: { 'accept-language': 'en-GB,en;q=0.9' },
      });
      expectProblem(res, 401, 'UNAUTHENTICATED');
      expect(res.headers['content-language']).toBe('en');
      expect(json(res)).toMatchObject({
        title: 'Unauthorized',
        detail: 'Log in, or call with a DPoP-bound access token.',
      });
      expect(res.headers['www-authenticate']).toBe('DPoP algs="ES256"');
      const fr = await h.send({ method: 'GET', url: '/private' });
      expect(json(fr)).toMatchObject({ title: 'Non authentifié', code: 'UNAUTHENTICATED' });
    });

    it('the vigilance_lang cookie beats Accept-Language', async () => {
      const h = await harness();
      const en = await h.send({
        method: 'GET',
        url: '/nowhere',
        headers: { cookie: cookies({ [LANG_COOKIE]: 'en' }), 'accept-language': 'fr' },
      });
      expect(json(en)).toMatchObject({ title: 'Not Found', code: 'NOT_FOUND' });
      const fr = await h.send({
        method: 'GET',
        url: '/nowhere',
        headers: { cookie: cookies({ [LANG_COOKIE]: 'fr' }), 'accept-language': 'en' },
      });
      expect(json(fr)).toMatchObject({ title: 'Introuvable', code: 'NOT_FOUND' });
    });

    it('a failing handler is 500 with exactly type, title, status and code: nothing of the error', async () => {
      const h = await harness();
      for (const lang of ['fr', 'en'] as const) {
        const res = await h.send({ method: 'GET', url: '/boom', headers: { 'accept-language': lang } });
        expectProblem(res, 500, 'INTERNAL');
        expect(json(res)).toEqual({
          type: 'about:blank',
          title: lang === 'fr' ? 'Erreur interne' : 'Internal Server Error',
          status: 500,
          code: 'INTERNAL',
        });
        expect(res.body).not.toContain('db.internal');
        expect(res.body).not.toContain('stack');
        expect(res.body).not.toContain('    at ');
      }
    });

    it('a schema violation names where and what', async () => {
      const h = await harness();
      const res = await h.send({ method: 'POST', url: '/thing', payload: { extra: 1 } });
      expectProblem(res, 400, 'VALIDATION_FAILED');
      const errors = json(res).errors as { where: string; message: string }[];
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.map((e) => `${e.where} ${e.message}`).join('\n')).toMatch(/body.*(name|extra)/);
    });

    it('429 says when to retry', async () => {
      const h = await harness();
      await spendTight(h, '10.0.4.1');
      const res = await h.send({ method: 'GET', url: '/tight', remoteAddress: '10.0.4.1' });
      expectProblem(res, 429, 'RATE_LIMITED');
      const retryAfter = Number(res.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      // Another address still has its own budget.
      const other = await h.send({ method: 'GET', url: '/tight', remoteAddress: '10.0.4.2' });
      expect(other.statusCode).toBe(200);
    });
  });

  describe('CORS', () => {
    it('gives an allowed origin its own origin back, with credentials and Vary: Origin', async () => {
      const h = await harness();
      const res = await h.send({ method: 'GET', url: '/thing', headers: { origin: ALLOWED_ORIGIN } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(String(res.headers.vary)).toMatch(/(^|,\s*)Origin(\s*,|$)/);
      expect(String(res.headers['access-control-expose-headers'])).toContain('x-correlation-id');
    });

    it('answers an allowed preflight 204 with the methods and headers it may use', async () => {
      const h = await harness();
      const res = await h.send(
        preflight(ALLOWED_ORIGIN, { 'access-control-request-headers': 'x-csrf-token' }),
      );
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
      expect(res.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
      const allowedHeaders = String(res.headers['access-control-allow-headers']).split(/,\s*/);
      expect(allowedHeaders).toEqual(
        expect.arrayContaining(['x-csrf-token', 'content-type', 'authorization', 'dpop']),
      );
    });

    it('refuses a preflight from a disallowed origin: 403 CORS_ORIGIN_DENIED', async () => {
      const h = await harness();
      const res = await h.send(preflight(OTHER_ORIGIN));
      expectProblem(res, 403, 'CORS_ORIGIN_DENIED');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('refuses a write from a disallowed origin: 403 CORS_ORIGIN_DENIED', async () => {
      const h = await harness();
      const res = await h.send({
        method: 'POST',
        url: '/thing',
        headers: { origin: OTHER_ORIGIN },
        payload: { name: 'x' },
      });
      expectProblem(res, 403, 'CORS_ORIGIN_DENIED');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('answers a read from a disallowed origin, without any CORS header (the browser keeps it from the page)', async () => {
      const h = await harness();
      const res = await h.send({ method: 'GET', url: '/thing', headers: { origin: OTHER_ORIGIN } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    });

    it('leaves same-origin writes and `Origin: null` (a form posted under no-referrer) to the CSRF check', async () => {
      const h = await harness();
      for (const origin of ['http://localhost:80', 'null']) {
        const res = await h.send({
          method: 'POST',
          url: '/thing',
          headers: { origin, host: 'localhost:80' },
          payload: { name: 'x' },
        });
        expect(res.statusCode, origin).toBe(200);
        expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
      }
    });
  });

  describe('CSRF', () => {
    const write = (
      h: Harness,
      headers: Record<string, string>,
      url = '/thing',
      method: 'POST' | 'PUT' | 'PATCH' | 'DELETE' = 'POST',
    ) => h.send({ method, url, headers, ...(method === 'POST' ? { payload: { name: 'x' } } : {}) });

    it('refuses a session write without the X-CSRF-Token header', async () => {
      const h = await harness();
      const s = await newSession(h);
      const res = await write(h, { cookie: cookies({ [SESSION_COOKIE]: s.id, [CSRF_COOKIE]: s.token }) });
      expectProblem(res, 403, 'CSRF_TOKEN_INVALID');
    });

    it.each(['PUT', 'PATCH', 'DELETE'] as const)(
      'refuses a session %s without the token too',
      async (method) => {
        const h = await harness();
        const s = await newSession(h);
        const res = await write(
          h,
          { cookie: cookies({ [SESSION_COOKIE]: s.id, [CSRF_COOKIE]: s.token }) },
          '/thing',
          method,
        );
        expectProblem(res, 403, 'CSRF_TOKEN_INVALID');
        const ok = await write(
          h,
          { cookie: cookies({ [SESSION_COOKIE]: s.id, [CSRF_COOKIE]: s.token }), 'x-csrf-token': s.token },
          '/thing',
          method,
        );
        expect(ok.statusCode).toBe(200);
      },
    );

    it('refuses a header that differs from the cookie', async () => {
      const h = await harness();
      const s = await newSession(h);
      const res = await write(h, {
        cookie: cookies({ [SESSION_COOKIE]: s.id, [CSRF_COOKIE]: s.token }),
        'x-csrf-token': `${s.token.slice(0, -1)}${s.token.endsWith('A') ? 'B' : 'A'}`,
      });
      expectProblem(res, 403, 'CSRF_TOKEN_INVALID');
    });

    it('refuses the right header without the CSRF cookie', async () => {
      const h = await harness();
      const s = await newSession(h);
      const res = await write(h, { cookie: cookies({ [SESSION_COOKIE]: s.id }), 'x-csrf-token': s.token });
      expectProblem(res, 403, 'CSRF_TOKEN_INVALID');
    });

    it("refuses a header equal to the cookie when both are another session's token", async () => {
      const h = await harness();
      const mine = await newSession(h);
      const theirs = await newSession(h);
      const res = await write(h, {
        cookie: cookies({ [SESSION_COOKIE]: mine.id, [CSRF_COOKIE]: theirs.token }),
        'x-csrf-token': theirs.token,
      });
      expectProblem(res, 403, 'CSRF_TOKEN_INVALID');
    });

    it("accepts the session's own token in both the header and the cookie", async () => {
      const h = await harness();
      const s = await newSession(h);
      const res = await write(h, {
        cookie: cookies({ [SESSION_COOKIE]: s.id, [CSRF_COOKIE]: s.token }),
        'x-csrf-token': s.token,
      });
      expect(res.statusCode).toBe(200);
      expect(json(res)).toEqual({ ok: true });
    });

    it('does not check a write without a session cookie, or with one the store does not know', async () => {
      const h = await harness();
      const none = await write(h, {});
      expect(none.statusCode).toBe(200);
      const unknown = await write(h, {
        cookie: cookies({ [SESSION_COOKIE]: randomBytes(32).toString('base64url') }),
      });
      expect(unknown.statusCode).toBe(200);
    });

    it('does not check a write whose session has expired', async () => {
      const h = await harness();
      const s = await newSession(h);
      const cookie = cookies({ [SESSION_COOKIE]: s.id });
      expectProblem(await write(h, { cookie }), 403, 'CSRF_TOKEN_INVALID');
      h.clock.advance(SESSION_TTL_MS);
      expect((await write(h, { cookie })).statusCode).toBe(200);
    });

    it('does not check a request with an Authorization header (a DPoP call has no ambient authority)', async () => {
      const h = await harness();
      const s = await newSession(h);
      const res = await write(h, {
        cookie: cookies({ [SESSION_COOKIE]: s.id }),
        authorization: 'DPoP eyJhbGciOiJFUzI1NiJ9.e30.c2ln',
      });
      expect(res.statusCode).toBe(200);
    });

    it('does not check a route declared with csrf: false', async () => {
      const h = await harness();
      const s = await newSession(h);
      const res = await write(h, { cookie: cookies({ [SESSION_COOKIE]: s.id }) }, '/open-door');
      expect(res.statusCode).toBe(200);
    });

    it('does not check a GET', async () => {
      const h = await harness();
      const s = await newSession(h);
      const res = await h.send({
        method: 'GET',
        url: '/thing',
        headers: { cookie: cookies({ [SESSION_COOKIE]: s.id }) },
      });
      expect(res.statusCode).toBe(200);
      expect(h.sessionReads()).toBe(1);
    });
  });

  describe('session lifetime', () => {
    const withSession = (h: Harness, id: string) =>
      h.send({ method: 'GET', url: '/thing', headers: { cookie: cookies({ [SESSION_COOKIE]: id }) } });
    const stored = (h: Harness, id: string) => h.store.get(id);

    it('extends a session at a request at most every 5 minutes, so an active person stays logged in', async () => {
      const h = await harness();
      const { id } = await newSession(h);
      // Stored for 2 hours; a request after 1 h 50 min extends it by another 2 hours.
      await h.store.set(id, (await stored(h, id)) ?? expect.fail('stored'), SESSION_IDLE_MS);
      h.clock.advance(110 * 60 * 1000);
      await withSession(h, id);
      expect((await stored(h, id))?.renewedAt).toBe(h.clock.now().toISOString());
      h.clock.advance(60 * 60 * 1000);
      expect(await stored(h, id)).not.toBeNull();
      // Within 5 minutes of a renewal nothing is written again.
      await withSession(h, id);
      const renewedAt = (await stored(h, id))?.renewedAt;
      expect(renewedAt).toBe(h.clock.now().toISOString());
      h.clock.advance(60 * 1000);
      await withSession(h, id);
      h.clock.advance(60 * 1000);
      await withSession(h, id);
      expect((await stored(h, id))?.renewedAt).toBe(renewedAt);
    });

    it('forgets a session left idle for 2 hours', async () => {
      const h = await harness();
      const { id } = await newSession(h);
      await h.store.set(id, (await stored(h, id)) ?? expect.fail('stored'), SESSION_IDLE_MS);
      h.clock.advance(SESSION_IDLE_MS);
      expect(await stored(h, id)).toBeNull();
    });

    it('ends a session 12 hours after the login, however active, and removes it from the store', async () => {
      const h = await harness();
      const { id } = await newSession(h);
      await h.store.set(id, (await stored(h, id)) ?? expect.fail('stored'), SESSION_IDLE_MS);
      for (let elapsed = 0; elapsed < SESSION_MAX_MS - 60 * 60 * 1000; elapsed += 60 * 60 * 1000) {
        h.clock.advance(60 * 60 * 1000);
        await withSession(h, id);
        expect(await stored(h, id)).not.toBeNull();
      }
      h.clock.advance(60 * 60 * 1000);
      const reads = h.sessionReads();
      await withSession(h, id);
      expect(h.sessionReads()).toBe(reads + 1);
      expect(await stored(h, id)).toBeNull();
    });
  });
});
