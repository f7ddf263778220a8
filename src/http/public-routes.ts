import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import rateLimit from '@fastify/rate-limit';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { PublishedKey } from '#app/application/ports/signer.ts';
import type { PublicReportView, PublicVerification } from '#app/application/use-cases/public-verification.ts';
import { pageLang, prefersJson } from './negotiation.ts';
import {
  PROBLEM_BODIES,
  PROBLEM_CONTENT_TYPE,
  PROBLEMS,
  problemError,
  problemOf,
  type ProblemCode,
} from './problems.ts';
import { ASSET_PATHS, JWKS_PATH, renderVerifyPage } from './verify-page.ts';

/** A request budget per client IP address over a sliding window. */
export interface RateLimit {
  readonly max: number;
  readonly windowMs: number;
}

export interface RateLimits {
  /** Token pages (HTML and JSON), seal downloads and unknown addresses: what guessing tokens goes through. */
  readonly pages: RateLimit;
  /** File checks (`POST /api/v1/public/verify/:token`): each one reads and hashes a PDF. */
  readonly checks: RateLimit;
  /** The JWKS and the page's script and style. */
  readonly assets: RateLimit;
  /** `GET /metrics`: a budget of its own, far above any scrape interval, so a scraper is never refused. */
  readonly metrics: RateLimit;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  pages: { max: 300, windowMs: 60_000 },
  checks: { max: 30, windowMs: 60_000 },
  assets: { max: 1200, windowMs: 60_000 },
  metrics: { max: 600, windowMs: 60_000 },
};

/** The largest PDF a file check accepts by default: 10 MiB. */
export const DEFAULT_MAX_PDF_BYTES = 10 * 1024 * 1024;

export interface PublicServerDeps {
  readonly publicVerification: PublicVerification;
  /** Every published key, current first (the JWKS). */
  readonly publicKeys: () => Promise<readonly PublishedKey[]>;
  /** A correlation id for a request that brings none (or a malformed one). */
  readonly newCorrelationId: () => string;
  /** Where the pages are published (e.g. https://vigilance.example), for the offline command they print. */
  readonly publicBaseUrl?: string;
  readonly rateLimit?: Partial<RateLimits>;
  readonly maxPdfBytes?: number;
  /** Log requests (JSON lines on stdout); tokens in addresses are masked. */
  readonly logger?: boolean;
  /** Behind a reverse proxy: which hops to trust for the client address (Fastify's `trustProxy`). */
  readonly trustProxy?: boolean | string;
  /**
   * Serves `GET /metrics` with what this answers (Prometheus text exposition and its content type); no route when
   * absent. It is on the same listener as the public pages: the reverse proxy keeps it from the outside.
   */
  readonly metrics?: () => Promise<{ readonly contentType: string; readonly body: string }>;
}

/** An incoming `X-Correlation-ID` is taken as is only when it looks like one; otherwise a new one is made. */
const CORRELATION_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Longer than any token the use case accepts (128): a longer path segment opens nothing, answered the same 404. */
const MAX_PARAM_LENGTH = 256;

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'";

/** On every response, errors and rate limits included. Tokens are in addresses: no referrer ever leaves. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'strict-transport-security': 'max-age=31536000',
};

const NO_STORE = 'no-store';
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
 * The public verification server: a third party holding a report's token (the address printed and QR-coded in
 * the PDF) sees what became of the report, checks its file against the signed hash, and gets the keys to verify
 * offline. No account, no cookie: the token is the credential, so every token that opens nothing gets the same
 * 404, token pages are never cached or referred, and requests are rate-limited per client address.
 *
 * Routes: `GET /verify/:token` and `/verify/:token/latest` (HTML, or the PublicReportView as JSON when Accept
 * prefers it), `GET /verify/:token/seal.json` and `/verify/:token/latest/seal.json` (the seal, for offline
 * verification), `POST /api/v1/public/verify/:token` (a PDF body, compared with the sealed one),
 * `GET /.well-known/jwks.json`, `GET /healthz`, the page's script and style under `/assets/`, and `GET /metrics`
 * when given the metrics to serve.
 *
 * The instance is returned ready to `inject()` or `listen()`; it does not listen by itself.
 */
export const buildPublicServer = async (deps: PublicServerDeps): Promise<FastifyInstance> => {
  const limits: RateLimits = { ...DEFAULT_RATE_LIMITS, ...deps.rateLimit };
  const maxPdfBytes = deps.maxPdfBytes ?? DEFAULT_MAX_PDF_BYTES;
  const assets = { script: readAsset('verify.js'), style: readAsset('verify.css') };
  const pv = deps.publicVerification;

  const correlationIdOf = (header: string | string[] | undefined): string =>
    typeof header === 'string' && CORRELATION_ID.test(header) ? header : deps.newCorrelationId();

  const app = Fastify({
    logger:
      deps.logger === true
        ? {
            level: 'info',
            serializers: {
              req: (req) => ({ method: req.method, url: maskToken(req.url), remoteAddress: req.ip }),
            },
          }
        : false,
    // One access-log line per request, written when the response is sent (see the onResponse hook).
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => correlationIdOf(req.headers['x-correlation-id']),
    bodyLimit: maxPdfBytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    ...(deps.trustProxy === undefined ? {} : { trustProxy: deps.trustProxy }),
    // Malformed addresses and over-long path segments are unknown addresses like any other.
    frameworkErrors: (error, request, reply) => {
      const code = problemOf(error);
      withCommonHeaders(reply, request.id);
      sendProblem(reply, code === 'BAD_REQUEST' ? 'NOT_FOUND' : code);
    },
    // Requests too broken to reach a route (unparsable, headers too large, too slow) still get a problem.
    clientErrorHandler: (error, socket) => {
      answerClientError(error, socket, deps.newCorrelationId());
    },
  });

  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: () => problemError('RATE_LIMITED'),
  });
  const limiter = (limit: RateLimit) => app.rateLimit({ max: limit.max, timeWindow: limit.windowMs });
  const pagesLimit = limiter(limits.pages);
  const checksLimit = limiter(limits.checks);
  const assetsLimit = limiter(limits.assets);

  // Only a PDF is ever accepted as a body; anything else is 415 before it is read.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/pdf',
    { parseAs: 'buffer', bodyLimit: maxPdfBytes },
    (_request, body, done) => {
      done(null, body);
    },
  );

  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        method: request.method,
        url: maskToken(request.url),
        statusCode: reply.statusCode,
        responseTimeMs: Math.round(reply.elapsedTime * 10) / 10,
        remoteAddress: request.ip,
      },
      'request',
    );
    done();
  });

  app.addHook('onRequest', (request, reply, done) => {
    withCommonHeaders(reply, request.id);
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const code = problemOf(error);
    if (code === 'INTERNAL' || code === 'SERVICE_UNAVAILABLE') {
      request.log.error({ err: error }, 'request failed');
    }
    sendProblem(reply, code);
  });

  app.setNotFoundHandler({ preHandler: pagesLimit }, (_request, reply) => {
    sendProblem(reply, 'NOT_FOUND');
  });

  const origin = (request: FastifyRequest): string =>
    deps.publicBaseUrl ?? `${request.protocol}://${request.host}`;

  const answerView = (
    request: TokenRequest,
    reply: FastifyReply,
    view: PublicReportView | null,
    latest: boolean,
  ) => {
    if (view === null) return sendProblem(reply, 'NOT_FOUND');
    reply.header('cache-control', NO_STORE).header('vary', 'Accept, Accept-Language');
    reply.header('x-robots-tag', 'noindex, nofollow');
    if (prefersJson(request.headers.accept)) return reply.type('application/json; charset=utf-8').send(view);
    const lang = pageLang(request.query.lang, request.headers['accept-language']);
    return reply
      .type('text/html; charset=utf-8')
      .header('content-language', lang)
      .send(renderVerifyPage({ view, lang, token: request.params.token, latest, origin: origin(request) }));
  };

  const answerSeal = (reply: FastifyReply, view: PublicReportView | null) => {
    if (view === null) return sendProblem(reply, 'NOT_FOUND');
    return reply
      .header('cache-control', NO_STORE)
      .header('x-robots-tag', 'noindex, nofollow')
      .header('content-disposition', 'attachment; filename="report.seal.json"')
      .type('application/json; charset=utf-8')
      .send(view.seal);
  };

  app.get<TokenRoute>('/verify/:token', { onRequest: pagesLimit }, async (request, reply) =>
    answerView(request, reply, await pv.byToken(request.params.token), false),
  );
  app.get<TokenRoute>('/verify/:token/latest', { onRequest: pagesLimit }, async (request, reply) =>
    answerView(request, reply, await pv.latestByToken(request.params.token), true),
  );
  app.get<TokenRoute>('/verify/:token/seal.json', { onRequest: pagesLimit }, async (request, reply) =>
    answerSeal(reply, await pv.byToken(request.params.token)),
  );
  app.get<TokenRoute>('/verify/:token/latest/seal.json', { onRequest: pagesLimit }, async (request, reply) =>
    answerSeal(reply, await pv.latestByToken(request.params.token)),
  );

  app.post<TokenRoute>(
    '/api/v1/public/verify/:token',
    { onRequest: checksLimit, bodyLimit: maxPdfBytes },
    async (request, reply) => {
      const body = request.body;
      // Without a body there is no content type to parse it, so none was read.
      if (!(body instanceof Uint8Array)) return sendProblem(reply, 'MEDIA_TYPE_UNSUPPORTED');
      // Checked before the token is looked up: a refused body says nothing about the token.
      if (!PDF_MAGIC.equals(body.subarray(0, PDF_MAGIC.length))) return sendProblem(reply, 'PDF_INVALID');
      const checked = await pv.checkFile(request.params.token, body);
      if (checked === null) return sendProblem(reply, 'NOT_FOUND');
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

  app.get(JWKS_PATH, { onRequest: assetsLimit }, async (_request, reply) => {
    const keys = await deps.publicKeys();
    // Anyone may verify a seal, from any origin: the keys are public.
    return reply
      .header('cache-control', PUBLIC_CACHE)
      .header('access-control-allow-origin', '*')
      .send({ keys });
  });

  app.get(ASSET_PATHS.script, { onRequest: assetsLimit }, (_request, reply) =>
    reply.header('cache-control', PUBLIC_CACHE).type('text/javascript; charset=utf-8').send(assets.script),
  );
  app.get(ASSET_PATHS.style, { onRequest: assetsLimit }, (_request, reply) =>
    reply.header('cache-control', PUBLIC_CACHE).type('text/css; charset=utf-8').send(assets.style),
  );

  app.get('/healthz', (_request, reply) => reply.header('cache-control', NO_STORE).send({ status: 'ok' }));

  const metrics = deps.metrics;
  if (metrics !== undefined) {
    app.get('/metrics', { onRequest: limiter(limits.metrics) }, async (_request, reply) => {
      const exposition = await metrics();
      return reply.header('cache-control', NO_STORE).type(exposition.contentType).send(exposition.body);
    });
  }

  return app;
};

const withCommonHeaders = (reply: FastifyReply, correlationId: string): void => {
  reply.headers(SECURITY_HEADERS).header('x-correlation-id', correlationId);
};

/** Answers with a problem: its fixed body, never cached. */
const sendProblem = (reply: FastifyReply, code: ProblemCode): FastifyReply =>
  reply
    .code(PROBLEMS[code].status)
    .header('cache-control', NO_STORE)
    .type(PROBLEM_CONTENT_TYPE)
    .send(PROBLEM_BODIES[code]);

const answerClientError = (error: Error & { code?: string }, socket: Socket, correlationId: string): void => {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ProblemCode =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 'REQUEST_TIMEOUT'
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? 'HEADERS_TOO_LARGE'
        : 'BAD_REQUEST';
  const { status } = PROBLEMS[code];
  const body = PROBLEM_BODIES[code];
  const headers = {
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': NO_STORE,
    ...SECURITY_HEADERS,
    'x-correlation-id': correlationId,
    connection: 'close',
  };
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${String(status)} ${STATUS_CODES[status] ?? ''}\r\n` +
        Object.entries(headers)
          .map(([name, value]) => `${name}: ${value}\r\n`)
          .join('') +
        `\r\n${body}`,
    );
  }
  socket.destroy(error);
};
