import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { PublishedKey } from '#app/application/ports/signer.ts';
import type { PublicReportView, PublicVerification } from '#app/application/use-cases/public-verification.ts';
import { makeVerifySeal } from '#app/application/use-cases/verify-seal.ts';
import { createSealCrypto } from '#app/adapters/system/seal-crypto.ts';
import {
  composeSandboxApp,
  LOCAL_CALLER,
  sealSupplier,
  type App,
  type SealedReport,
} from '../../test/support/sealed-reports.ts';
import { createMemoryRequestLimiter } from '#app/adapters/memory/request-limiter.ts';
import { createMemorySessionStore } from '#app/adapters/memory/session-store.ts';
import type { RequestBudget } from '#app/application/ports/request-limiter.ts';
import { createManualClock } from '../../test/support/manual-clock.ts';
import { buildApp } from './app.ts';
import { maskToken, type PublicRoutesDeps } from './public-routes.ts';
import { problemBody } from './problems.ts';

const PUBLIC_URL = 'https://verify.vigilance.example';
// French unless the client prefers English, like the pages.
const NOT_FOUND = '{"type":"about:blank","title":"Introuvable","status":404,"code":"NOT_FOUND"}';
const PROBLEM_BODIES = {
  RATE_LIMITED: problemBody('RATE_LIMITED', 'fr'),
  SERVICE_UNAVAILABLE: problemBody('SERVICE_UNAVAILABLE', 'fr'),
  BAD_REQUEST: problemBody('BAD_REQUEST', 'en'),
};
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'";
const GENEROUS: Record<string, RequestBudget> = {
  pages: { max: 10_000, windowMs: 60_000 },
  checks: { max: 10_000, windowMs: 60_000 },
  assets: { max: 10_000, windowMs: 60_000 },
  metrics: { max: 10_000, windowMs: 60_000 },
};

type PublicServerDeps = PublicRoutesDeps & {
  readonly newCorrelationId: () => string;
  readonly rateLimit?: Record<string, RequestBudget>;
  readonly logger?: boolean;
  readonly trustProxy?: boolean;
};

/** The application with only the public routes, on in-memory budgets and sessions. */
const buildPublicServer = ({
  newCorrelationId,
  rateLimit,
  logger,
  trustProxy,
  ...routes
}: PublicServerDeps) =>
  buildApp({
    newCorrelationId,
    limiter: createMemoryRequestLimiter({ budgets: { ...GENEROUS, ...rateLimit } }),
    sessions: createMemorySessionStore({ clock: createManualClock() }),
    trustedHosts: ['*'],
    publicRoutes: routes,
    ...(logger === undefined ? {} : { logger }),
    ...(trustProxy === undefined ? {} : { trustProxy }),
  });

const expectCommonHeaders = (res: LightMyRequestResponse): void => {
  expect(res.headers['content-security-policy']).toBe(CSP);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['x-correlation-id']).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
};

const expectNotFound = (res: LightMyRequestResponse): void => {
  expect(res.statusCode).toBe(404);
  expect(res.body).toBe(NOT_FOUND);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.headers['cache-control']).toBe('no-store');
  expectCommonHeaders(res);
};

/** A token of the right shape that opens nothing: the real one with its first character changed. */
const wrong = (token: string): string => `${token.startsWith('A') ? 'B' : 'A'}${token.slice(1)}`;

/**
 * The public verification server over reports truly sealed by the composed application (registry sandbox, a
 * local key and embedded database in a temporary data directory), driven with `inject()`.
 */
describe('public verification server', () => {
  let dir: string;
  let app: App;
  let server: FastifyInstance;
  let valid: SealedReport;
  let revoked: SealedReport;
  let ids = 0;

  const build = (overrides: Partial<PublicServerDeps> = {}): Promise<FastifyInstance> =>
    buildPublicServer({
      publicVerification: app.useCases.publicVerification,
      publicKeys: app.useCases.publicKeys,
      newCorrelationId: () => `generated-${String(++ids)}`,
      publicBaseUrl: PUBLIC_URL,
      rateLimit: GENEROUS,
      ...overrides,
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigilance-http-'));
    app = await composeSandboxApp(dir, PUBLIC_URL);
    valid = await sealSupplier(app, '552032534');
    revoked = await sealSupplier(app, '482319076');
    const revocation = await app.useCases.revokeReport({
      ...LOCAL_CALLER,
      reportId: revoked.reportId,
      reason: 'Sealed on the wrong supplier <b>&</b>',
    });
    if (!revocation.ok) throw new Error(revocation.error.message);
    server = await build();
  }, 60_000);

  afterAll(async () => {
    await server.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const page = (path: string, headers: Record<string, string> = {}) =>
    server.inject({ method: 'GET', url: path, headers });

  const check = (token: string, body: Uint8Array | string, contentType = 'application/pdf') =>
    server.inject({
      method: 'POST',
      url: `/api/v1/public/verify/${token}`,
      headers: { 'content-type': contentType },
      payload: typeof body === 'string' ? body : Buffer.from(body),
    });

  describe('GET /verify/:token', () => {
    it('shows a valid report as a French page by default: status, subject, verdict, seal and how to verify', async () => {
      const res = await page(`/verify/${valid.token}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expectCommonHeaders(res);
      const view = await app.useCases.publicVerification.byToken(valid.token);
      if (view === null) throw new Error('no view');
      const html = res.body;
      expect(html).toContain('<html lang="fr">');
      expect(html).toContain('Rapport valide');
      expect(html).toContain('DANONE');
      expect(html).toContain('552032534');
      expect(html).toContain('verdict-GREEN');
      expect(html).toContain('VERT');
      expect(html).toContain(view.kid);
      expect(html).toContain(view.reportId);
      expect(html).toContain('signature-valid');
      expect(html).toContain(`data-expected-sha256="${view.pdfSha256}"`);
      expect(html).toContain(view.seal.signature);
      // The payload exactly as signed, escaped for HTML.
      expect(html).toContain(view.seal.payload.replaceAll('"', '&quot;'));
      expect(html).toContain(
        `vigilance verify report.pdf --seal report.seal.json --jwks ${PUBLIC_URL}/.well-known/jwks.json`,
      );
      expect(html).toContain(`href="/verify/${valid.token}/seal.json"`);
      // No inline script or style: the CSP allows neither.
      expect(html).toContain('<script src="/assets/verify.js" defer></script>');
      expect(html).toContain('<link rel="stylesheet" href="/assets/verify.css">');
      expect(html).not.toMatch(/<script(?![^>]*\ssrc=)/);
      expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    });

    it('speaks English when Accept-Language prefers it or ?lang=en asks, French when ?lang=fr asks', async () => {
      const en = await page(`/verify/${valid.token}`, { 'accept-language': 'en-GB,en;q=0.9,fr;q=0.5' });
      expect(en.body).toContain('<html lang="en">');
      expect(en.body).toContain('Valid report');
      expect(en.headers['content-language']).toBe('en');
      const query = await page(`/verify/${valid.token}?lang=en`, { 'accept-language': 'fr' });
      expect(query.body).toContain('Valid report');
      const fr = await page(`/verify/${valid.token}?lang=fr`, { 'accept-language': 'en' });
      expect(fr.body).toContain('Rapport valide');
      expect(fr.headers.vary).toBe('Accept, Accept-Language');
    });

    it('answers the PublicReportView as JSON when Accept prefers it', async () => {
      const res = await page(`/verify/${valid.token}`, { accept: 'application/json' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.json()).toEqual(await app.useCases.publicVerification.byToken(valid.token));
      expect(res.json()).toMatchObject({ status: 'valid', signature: { valid: true }, supersededBy: null });
      const browser = await page(`/verify/${valid.token}`, {
        accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      });
      expect(browser.headers['content-type']).toBe('text/html; charset=utf-8');
    });

    it('shows a revoked report as revoked, with when and why (escaped)', async () => {
      const res = await page(`/verify/${revoked.token}`);
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('Rapport révoqué');
      expect(res.body).toContain('Sealed on the wrong supplier &lt;b&gt;&amp;&lt;/b&gt;');
      expect(res.body).not.toContain('<b>&</b>');
      const json = await page(`/verify/${revoked.token}`, { accept: 'application/json' });
      expect(json.json()).toMatchObject({
        status: 'revoked',
        reportId: revoked.reportId,
        revocationReason: 'Sealed on the wrong supplier <b>&</b>',
        revokedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) as unknown,
      });
    });

    it('gives the seal that, with the JWKS, verifies the PDF offline', async () => {
      const sealRes = await page(`/verify/${valid.token}/seal.json`);
      expect(sealRes.statusCode).toBe(200);
      expect(sealRes.headers['content-disposition']).toBe('attachment; filename="report.seal.json"');
      expect(sealRes.headers['cache-control']).toBe('no-store');
      const jwks = (await page('/.well-known/jwks.json')).json<{ keys: PublishedKey[] }>();
      const verify = makeVerifySeal({ crypto: createSealCrypto() });
      const verified = verify({ pdf: valid.pdf, seal: sealRes.json(), keys: jwks.keys });
      expect(verified.ok).toBe(true);
      const altered = Uint8Array.from(valid.pdf);
      altered[100] = (altered[100] ?? 0) ^ 1;
      const refused = verify({ pdf: altered, seal: sealRes.json(), keys: jwks.keys });
      expect(refused.ok ? null : refused.error.code).toBe('SEAL_PDF_MISMATCH');
    });
  });

  describe('GET /verify/:token/latest', () => {
    it('shows the newest report of the assessment (the report itself when it was not superseded)', async () => {
      const res = await page(`/verify/${valid.token}/latest`, { accept: 'application/json' });
      expect(res.json()).toMatchObject({ reportId: valid.reportId, status: 'valid' });
      const html = await page(`/verify/${valid.token}/latest`);
      expect(html.body).toContain('Vous consultez le rapport le plus récent de cette évaluation.');
      expect(html.body).toContain(`href="/verify/${valid.token}/latest/seal.json"`);
      const sealRes = await page(`/verify/${valid.token}/latest/seal.json`);
      expect(sealRes.json()).toMatchObject({ kid: expect.any(String) as unknown, alg: 'PS256' });
    });
  });

  describe('unknown, malformed and wrong tokens', () => {
    it('all get the same 404, on every token route', async () => {
      const tokens = [
        wrong(valid.token),
        'A'.repeat(43),
        'abc',
        'x'.repeat(129),
        'y'.repeat(300),
        'not%20a%20token',
        '%E0%A4%A',
        '..%2F..%2Fetc',
      ];
      for (const token of tokens) {
        for (const suffix of ['', '/latest', '/seal.json', '/latest/seal.json']) {
          expectNotFound(await page(`/verify/${token}${suffix}`));
          expectNotFound(await page(`/verify/${token}${suffix}`, { accept: 'application/json' }));
        }
        expectNotFound(await check(token, valid.pdf));
      }
      expectNotFound(await page('/no/such/page'));
      expectNotFound(await page(`/verify/${valid.token}/`));
      expectNotFound(await server.inject({ method: 'DELETE', url: `/verify/${valid.token}` }));
    });
  });

  describe('POST /api/v1/public/verify/:token', () => {
    it('says match for the sealed PDF itself', async () => {
      const res = await check(valid.token, valid.pdf);
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const view = await app.useCases.publicVerification.byToken(valid.token);
      expect(res.json()).toEqual({
        match: true,
        pdfSha256: view?.pdfSha256,
        expectedPdfSha256: view?.pdfSha256,
        status: 'valid',
        reportId: valid.reportId,
        signatureValid: true,
      });
    });

    it('says no match when one byte changed, and gives both hashes', async () => {
      const altered = Uint8Array.from(valid.pdf);
      altered[altered.length - 10] = (altered[altered.length - 10] ?? 0) ^ 0x20;
      const res = await check(valid.token, altered);
      expect(res.statusCode).toBe(200);
      const body = res.json<{ match: boolean; pdfSha256: string; expectedPdfSha256: string }>();
      expect(body.match).toBe(false);
      expect(body.pdfSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(body.pdfSha256).not.toBe(body.expectedPdfSha256);
    });

    it('tells a revoked report by its status', async () => {
      const res = await check(revoked.token, revoked.pdf);
      expect(res.json()).toMatchObject({ match: true, status: 'revoked', reportId: revoked.reportId });
    });

    it('refuses another content type (415), a body that is not a PDF (400) and a missing body (415)', async () => {
      const json = await check(valid.token, '{"pdf":"..."}', 'application/json');
      expect(json.statusCode).toBe(415);
      expect(json.json()).toMatchObject({ status: 415, code: 'MEDIA_TYPE_UNSUPPORTED' });
      expectCommonHeaders(json);
      const form = await check(valid.token, 'a=b', 'multipart/form-data; boundary=x');
      expect(form.statusCode).toBe(415);
      const notPdf = await check(valid.token, 'GIF89a not a pdf');
      expect(notPdf.statusCode).toBe(400);
      expect(notPdf.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(notPdf.json()).toMatchObject({ status: 400, code: 'PDF_INVALID' });
      const empty = await check(valid.token, '');
      expect(empty.json()).toMatchObject({ code: 'PDF_INVALID' });
      const none = await server.inject({ method: 'POST', url: `/api/v1/public/verify/${valid.token}` });
      expect(none.json()).toMatchObject({ status: 415, code: 'MEDIA_TYPE_UNSUPPORTED' });
      // The body is judged before the token: an unknown token with a bad body says nothing about the token.
      expect((await check(wrong(valid.token), 'not a pdf')).body).toBe(notPdf.body);
    });

    it('refuses a PDF over the limit with 413, before looking at the token', async () => {
      const small = await build({ maxPdfBytes: 1024 });
      try {
        for (const token of [valid.token, wrong(valid.token)]) {
          const res = await small.inject({
            method: 'POST',
            url: `/api/v1/public/verify/${token}`,
            headers: { 'content-type': 'application/pdf' },
            payload: Buffer.from(valid.pdf),
          });
          expect(res.statusCode).toBe(413);
          expect(res.json()).toMatchObject({ status: 413, code: 'PDF_TOO_LARGE' });
          expectCommonHeaders(res);
        }
        const fits = await small.inject({
          method: 'POST',
          url: `/api/v1/public/verify/${valid.token}`,
          headers: { 'content-type': 'application/pdf' },
          payload: Buffer.from('%PDF-1.7 small'),
        });
        expect(fits.json()).toMatchObject({ match: false });
      } finally {
        await small.close();
      }
    });
  });

  describe('keys, health and assets', () => {
    it('publishes the signing key as a JWKS, cacheable for five minutes', async () => {
      const res = await page('/.well-known/jwks.json');
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      expectCommonHeaders(res);
      const { keys } = res.json<{ keys: PublishedKey[] }>();
      const view = await app.useCases.publicVerification.byToken(valid.token);
      expect(keys).toEqual(await app.useCases.publicKeys());
      expect(keys.find((k) => k.kid === view?.kid)).toMatchObject({ kty: 'RSA', alg: 'PS256', use: 'sig' });
    });

    it('answers /healthz', async () => {
      const res = await page('/healthz');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok' });
      expectCommonHeaders(res);
    });

    it('serves the page script and style as static files', async () => {
      const script = await page('/assets/verify.js');
      expect(script.statusCode).toBe(200);
      expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(script.body).toContain('crypto.subtle');
      const style = await page('/assets/verify.css');
      expect(style.headers['content-type']).toBe('text/css; charset=utf-8');
      expect(style.body).toContain('.verdict-GREEN');
    });
  });

  describe('the page script', () => {
    /** Runs the served script against a minimal page built from the served HTML, and picks `file`. */
    const pick = async (file: File): Promise<{ state: string; message: string; hash: string }> => {
      const html = (await page(`/verify/${valid.token}`)).body;
      const dataset = Object.fromEntries(
        [...html.matchAll(/data-([a-z0-9-]+)="([^"]*)"/g)].map(([, name = '', value = '']) => [
          name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
          value.replaceAll('&#39;', "'").replaceAll('&amp;', '&'),
        ]),
      );
      const listeners = new Map<string, (event: unknown) => unknown>();
      const output = { textContent: '', className: '' };
      const computed = { hidden: true };
      const computedHash = { textContent: '' };
      const input = {
        files: [file],
        addEventListener: (type: string, fn: (event: unknown) => unknown) =>
          listeners.set(`input:${type}`, fn),
      };
      const form = {
        dataset,
        querySelector: (selector: string) =>
          selector === 'output' ? output : selector === '.computed' ? computed : input,
        addEventListener: (type: string, fn: (event: unknown) => unknown) =>
          listeners.set(`form:${type}`, fn),
      };
      const document = {
        getElementById: (id: string) =>
          id === 'file-check' ? form : id === 'file-check-sha256' ? computedHash : null,
      };
      runInNewContext((await page('/assets/verify.js')).body, { document, crypto: globalThis.crypto });
      await listeners.get('input:change')?.({});
      return { state: output.className, message: output.textContent, hash: computedHash.textContent };
    };

    it('hashes the chosen file in the browser and says whether it is the sealed PDF', async () => {
      const view = await app.useCases.publicVerification.byToken(valid.token);
      const same = await pick(new File([Buffer.from(valid.pdf)], 'report.pdf'));
      expect(same).toEqual({
        state: 'ok',
        message: 'Ce fichier est exactement le rapport scellé.',
        hash: view?.pdfSha256,
      });
      const altered = Uint8Array.from(valid.pdf);
      altered[0] = 0x25 ^ 1;
      const other = await pick(new File([Buffer.from(altered)], 'report.pdf'));
      expect(other.state).toBe('bad');
      expect(other.message).toContain('n’est pas le rapport scellé');
      expect(other.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(other.hash).not.toBe(view?.pdfSha256);
    });
  });

  describe('headers, correlation ids and rate limits', () => {
    it('echoes a well-formed X-Correlation-ID and replaces a malformed one', async () => {
      const kept = await page('/healthz', { 'x-correlation-id': 'req-42.abc_DEF' });
      expect(kept.headers['x-correlation-id']).toBe('req-42.abc_DEF');
      for (const bad of ['has space', 'x'.repeat(129), 'semi;colon', '']) {
        const replaced = await page(`/verify/${wrong(valid.token)}`, { 'x-correlation-id': bad });
        expect(replaced.headers['x-correlation-id']).toMatch(/^generated-\d+$/);
      }
    });

    it('limits token pages and file checks per client address: 429 RATE_LIMITED with Retry-After', async () => {
      const tight = await build({
        rateLimit: { ...GENEROUS, pages: { max: 2, windowMs: 60_000 }, checks: { max: 1, windowMs: 60_000 } },
      });
      try {
        const get = (url: string, remoteAddress = '192.0.2.1') =>
          tight.inject({ method: 'GET', url, remoteAddress });
        expect((await get(`/verify/${valid.token}`)).statusCode).toBe(200);
        expectNotFound(await get(`/verify/${wrong(valid.token)}`));
        for (const url of [`/verify/${valid.token}`, `/verify/${valid.token}/latest`, '/elsewhere']) {
          const limited = await get(url);
          expect(limited.statusCode).toBe(429);
          expect(limited.body).toBe(PROBLEM_BODIES.RATE_LIMITED);
          expect(limited.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
          expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
          expectCommonHeaders(limited);
        }
        // Another address has its own budget; keys and health are not counted with pages.
        expect((await get(`/verify/${valid.token}`, '192.0.2.2')).statusCode).toBe(200);
        expect((await get('/.well-known/jwks.json')).statusCode).toBe(200);
        expect((await get('/healthz')).statusCode).toBe(200);

        const post = (contentType: string, payload: Buffer) =>
          tight.inject({
            method: 'POST',
            url: `/api/v1/public/verify/${valid.token}`,
            headers: { 'content-type': contentType },
            payload,
            remoteAddress: '192.0.2.3',
          });
        expect((await post('application/pdf', Buffer.from(valid.pdf))).statusCode).toBe(200);
        // Limited before the body is even parsed.
        const limited = await post('application/json', Buffer.from('{}'));
        expect(limited.statusCode).toBe(429);
        expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED' });
      } finally {
        await tight.close();
      }
    });
  });

  describe('with a stand-in for the use case', () => {
    const stub = (overrides: Partial<PublicVerification>): PublicVerification => ({
      byToken: () => Promise.resolve(null),
      latestByToken: () => Promise.resolve(null),
      checkFile: () => Promise.resolve(null),
      ...overrides,
    });

    it('shows a superseded report with a link to the newest one', async () => {
      const real = await app.useCases.publicVerification.byToken(valid.token);
      if (real === null) throw new Error('no view');
      const superseded: PublicReportView = {
        ...real,
        status: 'superseded',
        supersededBy: { reportId: 'newer', sealedAt: '2026-12-01T08:30:00.000Z', verdict: 'RED' },
      };
      const s = await build({ publicVerification: stub({ byToken: () => Promise.resolve(superseded) }) });
      try {
        const fr = await s.inject({ method: 'GET', url: `/verify/${valid.token}` });
        expect(fr.body).toContain('Rapport remplacé');
        expect(fr.body).toContain('01/12/2026 à 08:30:00 UTC (verdict ROUGE)');
        expect(fr.body).toContain(`<a href="/verify/${valid.token}/latest">`);
        const en = await s.inject({ method: 'GET', url: `/verify/${valid.token}?lang=en` });
        expect(en.body).toContain('Superseded report');
        expect(en.body).toContain('See the newest report');
      } finally {
        await s.close();
      }
    });

    it('warns when the signature does not verify', async () => {
      const real = await app.useCases.publicVerification.byToken(valid.token);
      if (real === null) throw new Error('no view');
      const broken: PublicReportView = { ...real, signature: { valid: false, code: 'SEAL_KEY_UNKNOWN' } };
      const s = await build({ publicVerification: stub({ byToken: () => Promise.resolve(broken) }) });
      try {
        const res = await s.inject({ method: 'GET', url: `/verify/${valid.token}` });
        expect(res.body).toContain('La signature de ce rapport ne se vérifie pas (SEAL_KEY_UNKNOWN)');
        expect(res.body).toContain('signature-invalid');
      } finally {
        await s.close();
      }
    });

    it('answers a fault with 503 and a bug with 500, saying nothing of either', async () => {
      const s = await build({
        publicVerification: stub({
          byToken: () => Promise.reject(new InfrastructureError('DATABASE_LOCKED', 'secret detail')),
          latestByToken: () => Promise.reject(new Error('secret detail')),
        }),
      });
      try {
        const fault = await s.inject({ method: 'GET', url: `/verify/${valid.token}` });
        expect(fault.statusCode).toBe(503);
        expect(fault.body).toBe(PROBLEM_BODIES.SERVICE_UNAVAILABLE);
        expectCommonHeaders(fault);
        const bug = await s.inject({
          method: 'GET',
          url: `/verify/${valid.token}/latest`,
          headers: { 'accept-language': 'en' },
        });
        expect(bug.statusCode).toBe(500);
        expect(bug.body).toBe(
          '{"type":"about:blank","title":"Internal Server Error","status":500,"code":"INTERNAL"}',
        );
        expect(bug.headers['cache-control']).toBe('no-store');
        expectCommonHeaders(bug);
      } finally {
        await s.close();
      }
    });
  });

  describe('GET /metrics', () => {
    const exposition = { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'up 1\n' };

    it('serves what it is given, never cached, under a budget of its own', async () => {
      const s = await build({
        metrics: () => Promise.resolve(exposition),
        rateLimit: {
          ...GENEROUS,
          pages: { max: 1, windowMs: 60_000 },
          metrics: { max: 2, windowMs: 60_000 },
        },
      });
      try {
        const get = (url: string) => s.inject({ method: 'GET', url, remoteAddress: '192.0.2.9' });
        expectNotFound(await get('/elsewhere'));
        expect((await get('/elsewhere')).statusCode).toBe(429);
        const res = await get('/metrics');
        expect(res.statusCode).toBe(200);
        expect(res.body).toBe('up 1\n');
        expect(res.headers['content-type']).toBe(exposition.contentType);
        expect(res.headers['cache-control']).toBe('no-store');
        expectCommonHeaders(res);
        expect((await get('/metrics')).statusCode).toBe(200);
        const limited = await get('/metrics');
        expect(limited.statusCode).toBe(429);
        expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED' });
      } finally {
        await s.close();
      }
    });

    it('answers a fault reading them with 503, and is no route at all when not given', async () => {
      const s = await build({
        metrics: () => Promise.reject(new InfrastructureError('DATABASE_LOCKED', 'secret detail')),
      });
      const without = await build();
      try {
        const fault = await s.inject({ method: 'GET', url: '/metrics' });
        expect(fault.statusCode).toBe(503);
        expect(fault.body).toBe(PROBLEM_BODIES.SERVICE_UNAVAILABLE);
        expectNotFound(await without.inject({ method: 'GET', url: '/metrics' }));
      } finally {
        await s.close();
        await without.close();
      }
    });
  });

  it('answers a request too broken to reach a route with a problem too', async () => {
    const s = await build();
    try {
      await s.listen({ host: '127.0.0.1', port: 0 });
      const address = s.server.address();
      if (address === null || typeof address === 'string') throw new Error('not listening');
      const socket = connect(address.port, '127.0.0.1');
      let answer = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
      socket.write('NOT HTTP AT ALL\r\n\r\n');
      await once(socket, 'close');
      expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(answer).toContain('content-type: application/problem+json\r\n');
      expect(answer).toContain('referrer-policy: no-referrer\r\n');
      expect(answer).toMatch(/x-correlation-id: generated-\d+\r\n/);
      expect(answer.endsWith(`\r\n\r\n${PROBLEM_BODIES.BAD_REQUEST}`)).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('masks tokens in logged addresses', () => {
    expect(maskToken(`/verify/${valid.token}/latest?lang=en`)).toBe('/verify/[token]/latest?lang=en');
    expect(maskToken(`/api/v1/public/verify/${valid.token}`)).toBe('/api/v1/public/verify/[token]');
    expect(maskToken('/healthz')).toBe('/healthz');
  });
});
