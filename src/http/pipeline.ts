import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RequestLimiter } from '#app/application/ports/request-limiter.ts';
import type { SessionData, SessionStore } from '#app/application/ports/session-store.ts';
import { parseCookies } from './cookies.ts';
import { pageLang } from './negotiation.ts';
import { problemError, type Lang } from './problems.ts';

/** The session a request carries: its id (the cookie's value) and what the store holds for it. */
export interface SessionState {
  readonly id: string;
  readonly data: SessionData;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Loaded by the session stage: null without a session cookie, or with one the store does not know. */
    session: SessionState | null;
    /** Set by the locale stage: the language of error texts, pages and reports. */
    locale: Lang;
  }
  interface FastifyContextConfig {
    /** The request budget a route counts against (see RequestLimiter); `api` by default. */
    rateClass?: string;
    /** False for the routes a cookie cannot abuse (no session authority): the token endpoint, public checks. */
    csrf?: boolean;
  }
}

export const SESSION_COOKIE = '__Host-vigilance_session';
export const CSRF_COOKIE = '__Host-vigilance_csrf';
export const LANG_COOKIE = 'vigilance_lang';
export const CSRF_HEADER = 'x-csrf-token';

/** The stages, in the contractual order (ARCHITECTURE section 9). */
export const PIPELINE_ORDER = [
  'logging',
  'rateLimiting',
  'cors',
  'session',
  'trustedHost',
  'csrf',
  'securityHeaders',
  'correlationId',
  'locale',
] as const;

export type StageName = (typeof PIPELINE_ORDER)[number];

/**
 * One stage of the request pipeline. It runs on every request, before routing's handlers; it rejects by throwing
 * a ProblemError, or answers by itself (a CORS preflight) by sending the reply, which ends the pipeline.
 */
export interface PipelineStage {
  readonly name: StageName;
  run(request: FastifyRequest, reply: FastifyReply): void | Promise<void>;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'";

/** On every response, errors and rejections included. Tokens are in addresses: no referrer ever leaves. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'strict-transport-security': 'max-age=31536000',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

/**
 * Sets the security headers and the correlation id when a stage has not yet (a request rejected before their
 * stages ran): every response carries both.
 */
export const withCommonHeaders = (reply: FastifyReply, correlationId: string): void => {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    if (!reply.hasHeader(name)) reply.header(name, value);
  }
  reply.header('x-correlation-id', correlationId);
};

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const CORS_ALLOWED_HEADERS =
  'authorization, dpop, content-type, idempotency-key, x-csrf-token, x-correlation-id, vigilance-account, accept-language';
const CORS_EXPOSED_HEADERS = 'x-correlation-id, retry-after, www-authenticate, location, idempotent-replayed';

/** The CSRF token of a session: an HMAC of its secret, so the cookie and header prove possession of the session. */
export const csrfTokenOf = (secret: string): string =>
  createHmac('sha256', secret).update('vigilance csrf token v1').digest('base64url');

const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * How long a login lasts: it ends after 2 hours without a request, and 12 hours after it began whatever happens.
 * Each request extends it (at most once every 5 minutes, to spare the store a write per request).
 */
export const SESSION_IDLE_MS = 2 * 60 * 60 * 1000;
export const SESSION_MAX_MS = 12 * 60 * 60 * 1000;
const SESSION_RENEW_AFTER_MS = 5 * 60 * 1000;

export interface PipelineDeps {
  readonly limiter: RequestLimiter;
  readonly sessions: SessionStore;
  /** The time, for sessions' lifetimes. */
  readonly now: () => Date;
  /** Host names (without port) the server answers for, lower-case; `*` answers for any. */
  readonly trustedHosts: readonly string[];
  /** Origins (scheme://host[:port]) whose browsers may call the API with credentials. */
  readonly corsOrigins: readonly string[];
}

/**
 * The request pipeline: logging → rate limiting → CORS → session → trusted host → CSRF → security headers →
 * correlation ID → locale. One list, run by one hook in this order.
 */
export const makePipeline = (deps: PipelineDeps): readonly PipelineStage[] => {
  const hosts = new Set(deps.trustedHosts.map((h) => h.toLowerCase()));
  const anyHost = hosts.has('*');
  const origins = new Set(deps.corsOrigins);

  const stages: Record<StageName, PipelineStage['run']> = {
    // The access line itself is written when the response is sent (every response, rejections included).
    logging: (request) => {
      request.log.debug({ method: request.method }, 'request received');
    },
    rateLimiting: async (request, reply) => {
      // Unknown addresses count with the token pages: guessing either goes through the same budget.
      const routeClass = request.routeOptions.config.rateClass ?? (request.is404 ? 'pages' : 'api');
      const decision = await deps.limiter.consume(routeClass, request.ip);
      if (decision.allowed) {
        reply.header('ratelimit-limit', String(decision.limit));
        reply.header('ratelimit-remaining', String(decision.remaining));
        return;
      }
      throw problemError('RATE_LIMITED', {
        'retry-after': String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))),
      });
    },
    cors: (request, reply) => {
      const origin = request.headers.origin;
      // Same-origin requests are not CORS; `null` is what a browser sends for its own form posts under our
      // no-referrer policy (and from sandboxed frames): it names no origin to allow, and CSRF guards those requests.
      if (origin === undefined || origin === 'null' || origin === `${request.protocol}://${request.host}`)
        return;
      const preflight =
        request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
      if (!origins.has(origin)) {
        // A browser from elsewhere may read nothing and change nothing; its GETs just get no CORS headers.
        if (preflight || UNSAFE_METHODS.has(request.method)) throw problemError('CORS_ORIGIN_DENIED');
        return;
      }
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-allow-credentials', 'true');
      reply.header('vary', 'Origin');
      if (!preflight) {
        reply.header('access-control-expose-headers', CORS_EXPOSED_HEADERS);
        return;
      }
      reply
        .header('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE')
        .header('access-control-allow-headers', CORS_ALLOWED_HEADERS)
        .header('access-control-max-age', '600');
      withCommonHeaders(reply, request.id);
      reply.code(204).send();
    },
    session: async (request) => {
      const id = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
      if (id === undefined || id.length < 32 || id.length > 128) return;
      const data = await deps.sessions.get(id);
      if (data === null) return;
      if (data.userId === null) {
        // A login in progress keeps the short lifetime it was given.
        request.session = { id, data };
        return;
      }
      const now = deps.now().getTime();
      const age = now - Date.parse(data.createdAt);
      if (!(age < SESSION_MAX_MS)) {
        await deps.sessions.delete(id);
        return;
      }
      if (now - Date.parse(data.renewedAt ?? data.createdAt) < SESSION_RENEW_AFTER_MS) {
        request.session = { id, data };
        return;
      }
      const renewed = { ...data, renewedAt: new Date(now).toISOString() };
      await deps.sessions.set(id, renewed, Math.min(SESSION_IDLE_MS, SESSION_MAX_MS - age));
      request.session = { id, data: renewed };
    },
    trustedHost: (request) => {
      if (anyHost || hosts.has(request.hostname.toLowerCase())) return;
      throw problemError('MISDIRECTED_REQUEST');
    },
    csrf: (request) => {
      if (!UNSAFE_METHODS.has(request.method) || request.routeOptions.config.csrf === false) return;
      const session = request.session;
      // Only a session cookie gives a request authority a forged cross-site request could borrow.
      if (session === null || request.headers.authorization !== undefined) return;
      const header = request.headers[CSRF_HEADER];
      const cookie = parseCookies(request.headers.cookie).get(CSRF_COOKIE);
      const expected = csrfTokenOf(session.data.csrfSecret);
      if (
        typeof header !== 'string' ||
        cookie === undefined ||
        !sameText(header, cookie) ||
        !sameText(header, expected)
      ) {
        throw problemError('CSRF_TOKEN_INVALID');
      }
    },
    securityHeaders: (_request, reply) => {
      reply.headers(SECURITY_HEADERS);
    },
    correlationId: (request, reply) => {
      reply.header('x-correlation-id', request.id);
    },
    locale: (request) => {
      request.locale = localeOf(request);
    },
  };

  return PIPELINE_ORDER.map((name) => ({ name, run: stages[name] }));
};

/** The request's language: the `vigilance_lang` cookie, else Accept-Language; French by default. */
export const localeOf = (request: FastifyRequest): Lang =>
  pageLang(parseCookies(request.headers.cookie).get(LANG_COOKIE), request.headers['accept-language']);

/** Runs the stages in order; stops when one has answered. */
export const runPipeline = async (
  stages: readonly PipelineStage[],
  request: FastifyRequest,
  reply: FastifyReply,
  onStage?: (name: StageName, request: FastifyRequest) => void,
): Promise<void> => {
  for (const stage of stages) {
    onStage?.(stage.name, request);
    await stage.run(request, reply);
    if (reply.sent) return;
  }
};
