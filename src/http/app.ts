import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { RequestLimiter } from '#app/application/ports/request-limiter.ts';
import type { SessionStore } from '#app/application/ports/session-store.ts';
import { registerApi, type ApiDeps } from './api.ts';
import { localeOf, makePipeline, runPipeline, SECURITY_HEADERS, type StageName } from './pipeline.ts';
import {
  isProblemError,
  problemIn,
  PROBLEM_CONTENT_TYPE,
  PROBLEMS,
  problemBody,
  problemOf,
  type ProblemCode,
} from './problems.ts';
import { NO_STORE, sendProblem, sendProblemObject } from './replies.ts';
import { maskToken, registerPublicRoutes, type PublicRoutesDeps } from './public-routes.ts';

/** The route classes and their default budgets per client address a minute (see RequestLimiter). */
export const ROUTE_CLASSES = [
  'pages',
  'checks',
  'assets',
  'metrics',
  'auth',
  'token',
  'api',
  'api-write',
] as const;
export type RouteClass = (typeof ROUTE_CLASSES)[number];

/** The application and its requests, as the composition root sees them (it names no framework). */
export type HttpApp = FastifyInstance;
export type HttpRequest = FastifyRequest;

/** Raw handlers mounted under a path prefix (the embedded OpenID provider under /oidc). */
export interface Mount {
  readonly prefix: string;
  handle(request: IncomingMessage, response: ServerResponse): void;
}

export interface AppDeps {
  /** A correlation id for a request that brings none (or a malformed one). */
  readonly newCorrelationId: () => string;
  readonly limiter: RequestLimiter;
  readonly sessions: SessionStore;
  /** The time, for sessions' lifetimes; the system's by default. */
  readonly now?: () => Date;
  /** Host names (without port) the server answers for; anything else is 421. `*` for any. */
  readonly trustedHosts: readonly string[];
  /** Origins whose browsers may call the API with credentials (CORS). */
  readonly corsOrigins?: readonly string[];
  /** The public verification routes (always served by `npm start`). */
  readonly publicRoutes?: PublicRoutesDeps;
  /** The authenticated API, login and the token endpoint. */
  readonly api?: ApiDeps;
  readonly mounts?: readonly Mount[];
  /** Log requests (JSON lines on stdout); tokens in addresses are masked. */
  readonly logger?: boolean;
  /** Where the log lines go instead of stdout's synchronous writes (a buffered destination). */
  readonly logStream?: { write(line: string): unknown };
  /** Behind a reverse proxy: which hops to trust for the client address (Fastify's `trustProxy`). */
  readonly trustProxy?: boolean | string | number;
  /** The largest body of a route that sets none of its own: 1 MiB by default. */
  readonly bodyLimit?: number;
  /** Observes each pipeline stage as it runs (tracing, tests). */
  readonly onStage?: (name: StageName, request: FastifyRequest) => void;
  /** Told of every answered request (metrics): the route's pattern, never the address, which may hold a token. */
  readonly onAnswered?: (measure: {
    readonly route: string;
    readonly method: string;
    readonly status: number;
    readonly durationMs: number;
  }) => void;
}

/** An incoming `X-Correlation-ID` is taken as is only when it looks like one; otherwise a new one is made. */
const CORRELATION_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Longer than any token or id the server accepts: a longer path segment opens nothing, answered 404. */
const MAX_PARAM_LENGTH = 256;

/** The largest JSON body: 1 MiB (the PDF file check sets its own, larger limit). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * The HTTP application: the public verification routes, the authenticated API under /api/v1 with its OpenAPI
 * description, login and the token endpoint, behind one request pipeline (logging → rate limiting → CORS →
 * session → trusted host → CSRF → security headers → correlation ID → locale). Every response, early rejections
 * included, carries the correlation id and the security headers; every error is `application/problem+json` with a
 * stable code, in the request's language.
 *
 * The instance is returned ready to `inject()` or `listen()`; it does not listen by itself.
 */
export const buildApp = async (deps: AppDeps): Promise<FastifyInstance> => {
  const correlationIdOf = (header: string | string[] | undefined): string =>
    typeof header === 'string' && CORRELATION_ID.test(header) ? header : deps.newCorrelationId();

  const app = Fastify({
    logger:
      deps.logger === true
        ? {
            level: 'info',
            ...(deps.logStream === undefined ? {} : { stream: deps.logStream }),
            serializers: {
              req: (req) => ({ method: req.method, url: maskToken(req.url), remoteAddress: req.ip }),
            },
          }
        : false,
    // One access-log line per request, written when the response is sent (see the onResponse hook).
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => correlationIdOf(req.headers['x-correlation-id']),
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    // A number is a hop count, which Fastify (proxy-addr) accepts though its types do not list it.
    ...(deps.trustProxy === undefined ? {} : { trustProxy: deps.trustProxy as boolean | string }),
    // Malformed addresses and over-long path segments are unknown addresses like any other.
    frameworkErrors: (error, request, reply) => {
      const code = problemOf(error);
      sendProblem(request, reply, code === 'BAD_REQUEST' ? 'NOT_FOUND' : code);
    },
    // Requests too broken to reach a route (unparsable, headers too large, too slow) still get a problem.
    clientErrorHandler: (error, socket) => {
      answerClientError(error, socket, deps.newCorrelationId());
    },
  });

  app.decorateRequest('session', null);
  app.decorateRequest('locale', 'fr');

  const stages = makePipeline({
    limiter: deps.limiter,
    sessions: deps.sessions,
    now: deps.now ?? (() => new Date()),
    trustedHosts: deps.trustedHosts,
    corsOrigins: deps.corsOrigins ?? [],
  });
  app.addHook('onRequest', async (request, reply) => {
    await runPipeline(stages, request, reply, deps.onStage);
    if (reply.sent) return reply;
    return undefined;
  });

  app.addHook('onResponse', (request, reply, done) => {
    deps.onAnswered?.({
      route: request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched'),
      method: request.method,
      status: reply.statusCode,
      durationMs: reply.elapsedTime,
    });
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

  app.setErrorHandler((error, request, reply) => {
    let code = problemOf(error);
    if (code === 'INTERNAL' || code === 'SERVICE_UNAVAILABLE') {
      request.log.error({ err: error }, 'request failed');
    }
    if (isProblemError(error)) reply.headers(error.headers);
    if (code === 'BODY_TOO_LARGE' && request.routeOptions.config.tooLarge !== undefined) {
      code = request.routeOptions.config.tooLarge;
    }
    const validation = (
      error as {
        validation?: readonly {
          instancePath?: string;
          message?: string;
          params?: { additionalProperty?: unknown };
        }[];
      }
    ).validation;
    if (code === 'VALIDATION_FAILED' && validation !== undefined) {
      const problem = problemIn('VALIDATION_FAILED', localeOf(request));
      const context = (error as { validationContext?: string }).validationContext ?? 'request';
      return sendProblemObject(request, reply, {
        ...problem,
        errors: validation.map((v) => {
          // An unknown member is named by the check, not by the path (which is the object holding it).
          const extra = v.params?.additionalProperty;
          return {
            where: `${context}${v.instancePath ?? ''}${typeof extra === 'string' ? `/${extra}` : ''}`,
            message: v.message ?? 'is not valid',
          };
        }),
      });
    }
    return sendProblem(request, reply, code);
  });

  app.setNotFoundHandler((request, reply) => {
    sendProblem(request, reply, 'NOT_FOUND');
  });

  // JSON bodies (Fastify's own parser) for the API; the file check's PDF and the token endpoint's form are
  // registered by their routes' modules.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16 * 1024 },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );

  for (const mount of deps.mounts ?? []) {
    const forward = (request: FastifyRequest, reply: FastifyReply): void => {
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) reply.raw.setHeader(name, value);
      }
      reply.hijack();
      mount.handle(request.raw, reply.raw);
    };
    app.route({
      method: ['GET', 'POST', 'HEAD'],
      url: `${mount.prefix}/*`,
      config: { rateClass: 'auth', csrf: false },
      onRequest: (request, reply, done) => {
        forward(request, reply);
        done();
      },
      handler: () => undefined,
      schema: { hide: true },
    });
  }

  if (deps.api !== undefined) await registerApi(app, deps.api);
  if (deps.publicRoutes !== undefined) registerPublicRoutes(app, deps.publicRoutes);

  return app;
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The problem a body over this route's limit is answered with (a PDF check says PDF_TOO_LARGE). */
    tooLarge?: ProblemCode;
  }
}

const answerClientError = (error: Error & { code?: string }, socket: Socket, correlationId: string): void => {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ProblemCode =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 'REQUEST_TIMEOUT'
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? 'HEADERS_TOO_LARGE'
        : 'BAD_REQUEST';
  const { status } = PROBLEMS[code];
  const body = problemBody(code, 'en');
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
