import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PublishedKey } from '#app/application/ports/signer.ts';
import type { PublicReportView, PublicVerification } from '#app/application/use-cases/public-verification.ts';
import { pageLang, prefersJson } from './negotiation.ts';
import { NO_STORE, sendProblem } from './replies.ts';
import { ASSET_PATHS, JWKS_PATH, renderVerifyPage } from './verify-page.ts';

/** The largest PDF a file check accepts by default: 10 MiB. */
export const DEFAULT_MAX_PDF_BYTES = 10 * 1024 * 1024;

export interface PublicRoutesDeps {
  readonly publicVerification: PublicVerification;
  /** Every published key, current first (the JWKS). */
  readonly publicKeys: () => Promise<readonly PublishedKey[]>;
  /** Where the pages are published (e.g. https://vigilance.example), for the offline command they print. */
  readonly publicBaseUrl?: string;
  readonly maxPdfBytes?: number;
  /**
   * Serves `GET /metrics` with what this answers (Prometheus text exposition and its content type); no route when
   * absent. It is on the same listener as the public pages: the reverse proxy keeps it from the outside.
   */
  readonly metrics?: () => Promise<{ readonly contentType: string; readonly body: string }>;
}

const PUBLIC_CACHE = 'public, max-age=300';

const PDF_MAGIC = Buffer.from('%PDF-', 'latin1');

/** The paths that carry a token, as logged: the token is a credential and never reaches a log line. */
const TOKEN_IN_PATH = /^(\/verify\/|\/api\/v1\/public\/verify\/)[^/?#]*/;
export const maskToken = (url: string): string => url.replace(TOKEN_IN_PATH, '$1[token]');

const readAsset = (path: string): Buffer => readFileSync(new URL(`./assets/${path}`, import.meta.url));

interface TokenRoute {
  Params: { token: string };
  Querystring: { lang?: unknown };
}
type TokenRequest = FastifyRequest<TokenRoute>;

/**
 * The public verification routes: a third party holding a report's token (the address printed and QR-coded in
 * the PDF) sees what became of the report, checks its file against the signed hash, and gets the keys to verify
 * offline. No account, no cookie: the token is the credential, so every token that opens nothing gets the same
 * 404, token pages are never cached or referred, and requests count against per-address budgets (route classes
 * `pages`, `checks`, `assets`, `metrics`).
 *
 * Routes: `GET /verify/:token` and `/verify/:token/latest` (HTML, or the PublicReportView as JSON when Accept
 * prefers it), `GET /verify/:token/seal.json` and `/verify/:token/latest/seal.json` (the seal, for offline
 * verification), `POST /api/v1/public/verify/:token` (a PDF body, compared with the sealed one),
 * `GET /.well-known/jwks.json`, `GET /healthz`, the page's script and style under `/assets/`, and `GET /metrics`
 * when given the metrics to serve.
 */
export const registerPublicRoutes = (app: FastifyInstance, deps: PublicRoutesDeps): void => {
  const maxPdfBytes = deps.maxPdfBytes ?? DEFAULT_MAX_PDF_BYTES;
  const assets = { script: readAsset('verify.js'), style: readAsset('verify.css') };
  const pv = deps.publicVerification;
  const pages = { rateClass: 'pages' };
  const tags = ['Public verification'];
  const byToken = (summary: string) => ({
    tags,
    summary,
    params: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] },
  });

  // Only a PDF is accepted as the file check's body; anything else is 415 before it is read.
  app.addContentTypeParser(
    'application/pdf',
    { parseAs: 'buffer', bodyLimit: maxPdfBytes },
    (_request, body, done) => {
      done(null, body);
    },
  );

  const origin = (request: FastifyRequest): string =>
    deps.publicBaseUrl ?? `${request.protocol}://${request.host}`;

  const answerView = (
    request: TokenRequest,
    reply: FastifyReply,
    view: PublicReportView | null,
    latest: boolean,
  ) => {
    if (view === null) return sendProblem(request, reply, 'NOT_FOUND');
    reply.header('cache-control', NO_STORE).header('vary', 'Accept, Accept-Language');
    reply.header('x-robots-tag', 'noindex, nofollow');
    if (prefersJson(request.headers.accept)) return reply.type('application/json; charset=utf-8').send(view);
    const lang = pageLang(request.query.lang, request.headers['accept-language']);
    return reply
      .type('text/html; charset=utf-8')
      .header('content-language', lang)
      .send(renderVerifyPage({ view, lang, token: request.params.token, latest, origin: origin(request) }));
  };

  const answerSeal = (request: FastifyRequest, reply: FastifyReply, view: PublicReportView | null) => {
    if (view === null) return sendProblem(request, reply, 'NOT_FOUND');
    return reply
      .header('cache-control', NO_STORE)
      .header('x-robots-tag', 'noindex, nofollow')
      .header('content-disposition', 'attachment; filename="report.seal.json"')
      .type('application/json; charset=utf-8')
      .send(view.seal);
  };

  app.get<TokenRoute>(
    '/verify/:token',
    { config: pages, schema: byToken('A report by its verification token (HTML page, or JSON)') },
    async (request, reply) => answerView(request, reply, await pv.byToken(request.params.token), false),
  );
  app.get<TokenRoute>(
    '/verify/:token/latest',
    { config: pages, schema: byToken('The newest version of a report') },
    async (request, reply) => answerView(request, reply, await pv.latestByToken(request.params.token), true),
  );
  app.get<TokenRoute>(
    '/verify/:token/seal.json',
    { config: pages, schema: byToken("A report's seal, to verify offline") },
    async (request, reply) => answerSeal(request, reply, await pv.byToken(request.params.token)),
  );
  app.get<TokenRoute>(
    '/verify/:token/latest/seal.json',
    { config: pages, schema: byToken("The newest version's seal") },
    async (request, reply) => answerSeal(request, reply, await pv.latestByToken(request.params.token)),
  );

  app.post<TokenRoute>(
    '/api/v1/public/verify/:token',
    {
      config: { rateClass: 'checks', csrf: false, tooLarge: 'PDF_TOO_LARGE' },
      bodyLimit: maxPdfBytes,
      schema: {
        ...byToken('Checks a PDF file (the body, application/pdf) against the sealed report'),
        // Described for the OpenAPI document; the route checks the body itself (a PDF, at most the limit).
        body: {
          content: {
            'application/pdf': {
              schema: { description: 'The PDF file itself, as sealed (at most 10 MiB)' },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      // Without a body there is no content type to parse it, so none was read.
      if (!(body instanceof Uint8Array)) return sendProblem(request, reply, 'MEDIA_TYPE_UNSUPPORTED');
      // Checked before the token is looked up: a refused body says nothing about the token.
      if (!PDF_MAGIC.equals(body.subarray(0, PDF_MAGIC.length)))
        return sendProblem(request, reply, 'PDF_INVALID');
      const checked = await pv.checkFile(request.params.token, body);
      if (checked === null) return sendProblem(request, reply, 'NOT_FOUND');
      return reply.header('cache-control', NO_STORE).send({
        match: checked.match,
        pdfSha256: checked.pdfSha256,
        expectedPdfSha256: checked.view.pdfSha256,
        status: checked.view.status,
        reportId: checked.view.reportId,
        signatureValid: checked.view.signature.valid,
      });
    },
  );

  app.get(
    JWKS_PATH,
    { config: { rateClass: 'assets' }, schema: { tags, summary: 'The public keys of every seal (JWKS)' } },
    async (_request, reply) => {
      const keys = await deps.publicKeys();
      // Anyone may verify a seal, from any origin: the keys are public.
      return reply
        .header('cache-control', PUBLIC_CACHE)
        .header('access-control-allow-origin', '*')
        .send({ keys });
    },
  );

  app.get(
    ASSET_PATHS.script,
    { config: { rateClass: 'assets' }, schema: { hide: true } },
    (_request, reply) =>
      reply.header('cache-control', PUBLIC_CACHE).type('text/javascript; charset=utf-8').send(assets.script),
  );
  app.get(ASSET_PATHS.style, { config: { rateClass: 'assets' }, schema: { hide: true } }, (_request, reply) =>
    reply.header('cache-control', PUBLIC_CACHE).type('text/css; charset=utf-8').send(assets.style),
  );

  app.get(
    '/healthz',
    { config: { rateClass: 'assets' }, schema: { tags: ['Operations'], summary: 'Liveness' } },
    (_request, reply) => reply.header('cache-control', NO_STORE).send({ status: 'ok' }),
  );

  const metrics = deps.metrics;
  if (metrics !== undefined) {
    app.get(
      '/metrics',
      { config: { rateClass: 'metrics' }, schema: { tags: ['Operations'], summary: 'Prometheus metrics' } },
      async (_request, reply) => {
        const exposition = await metrics();
        return reply.header('cache-control', NO_STORE).type(exposition.contentType).send(exposition.body);
      },
    );
  }
};
