import type { FastifyInstance } from 'fastify';
import type { JsonValue } from '#app/application/ports/json.ts';
import {
  accountIdOf,
  clearSessionCookies,
  contextOf,
  isUuid,
  principalOf,
  requestUrl,
  startSession,
  type ApiDeps,
} from './api-context.ts';
import { serializeCookie } from './cookies.ts';
import { CSRF_COOKIE, csrfTokenOf, SESSION_IDLE_MS, SESSION_MAX_MS } from './pipeline.ts';
import { problemError, PROBLEM_CONTENT_TYPE } from './problems.ts';
import { NO_STORE, sendProblem, sendUseCaseError } from './replies.ts';

/** How long a login may take between leaving for the provider and coming back: 10 minutes. */
const PENDING_LOGIN_MS = 10 * 60 * 1000;

/** Where a login returns: a path of this site only, never another origin. */
const safeReturnTo = (value: unknown): string =>
  typeof value === 'string' && /^\/(?![/\\])[\x21-\x7e]{0,500}$/.test(value) ? value : '/';

interface PendingLogin {
  readonly providerId: string;
  readonly pending: JsonValue;
  readonly returnTo: string;
}

const pendingLoginOf = (value: JsonValue): PendingLogin | null => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { providerId, pending, returnTo } = value as Record<string, JsonValue>;
  if (typeof providerId !== 'string' || typeof returnTo !== 'string' || pending === undefined) return null;
  return { providerId, pending, returnTo };
};

const tags = ['Login and tokens'];
const providerParams = {
  type: 'object',
  properties: { provider: { type: 'string', pattern: '^[a-z0-9-]{1,40}$' } },
  required: ['provider'],
} as const;

/**
 * People log in with OAuth2 authorization code + PKCE at any configured OpenID provider (backend-for-frontend:
 * the provider's tokens stay in the server-side session; the browser holds a `__Host-` session cookie, httpOnly,
 * Secure, SameSite=Lax, and a CSRF cookie its scripts echo in `X-CSRF-Token`). ERP systems get DPoP-bound access
 * tokens at `POST /oauth/token` with client_credentials and a private_key_jwt client assertion.
 */
export const registerAuthRoutes = (app: FastifyInstance, deps: ApiDeps): void => {
  const auth = { rateClass: 'auth' };

  app.get(
    '/auth/providers',
    { config: auth, schema: { tags, summary: 'The OpenID providers a person can log in with' } },
    (_request, reply) =>
      reply.header('cache-control', NO_STORE).send({
        providers: deps.identityProviders
          .providers()
          .map((p) => ({ id: p.id, name: p.name, loginUrl: `/auth/login/${p.id}` })),
      }),
  );

  app.get<{ Params: { provider: string }; Querystring: { returnTo?: string } }>(
    '/auth/login/:provider',
    {
      config: auth,
      schema: {
        tags,
        summary:
          'Starts a login at a provider (redirects there; PKCE S256, state and nonce kept server-side)',
        params: providerParams,
        querystring: { type: 'object', properties: { returnTo: { type: 'string', maxLength: 500 } } },
      },
    },
    async (request, reply) => {
      const { provider } = request.params;
      const start = await deps.identityProviders.begin(
        provider,
        `${deps.publicBaseUrl}/auth/callback/${provider}`,
      );
      if (start === null) return sendProblem(request, reply, 'NOT_FOUND');
      if (request.session !== null) await deps.sessions.delete(request.session.id);
      const pendingLogin: PendingLogin = {
        providerId: provider,
        pending: start.pending,
        returnTo: safeReturnTo(request.query.returnTo),
      };
      await startSession(
        deps,
        reply,
        {
          userId: null,
          accountId: null,
          csrfSecret: deps.newToken(),
          createdAt: deps.clock.now().toISOString(),
          pendingLogin: pendingLogin as unknown as JsonValue,
          provider: null,
        },
        { ttlMs: PENDING_LOGIN_MS, cookieMs: PENDING_LOGIN_MS },
      );
      return reply.header('cache-control', NO_STORE).redirect(start.authorizationUrl, 303);
    },
  );

  app.get<{ Params: { provider: string } }>(
    '/auth/callback/:provider',
    {
      config: auth,
      schema: { tags, summary: "The provider's redirect back after a login", params: providerParams },
    },
    async (request, reply) => {
      const session = request.session;
      const pending = session === null ? null : pendingLoginOf(session.data.pendingLogin);
      if (session === null || pending?.providerId !== request.params.provider) {
        return sendProblem(request, reply, 'LOGIN_FAILED');
      }
      // A pending login is used once, whatever comes of it.
      await deps.sessions.delete(session.id);
      const callbackUrl = `${deps.publicBaseUrl}${request.url}`;
      const identity = await deps.identityProviders.complete(
        pending.providerId,
        pending.pending,
        callbackUrl,
      );
      if (!identity.ok) {
        request.log.warn({ reason: identity.error.message }, 'login failed');
        clearSessionCookies(reply);
        return sendProblem(request, reply, 'LOGIN_FAILED');
      }
      const login = await deps.login.completeLogin({ identity: identity.value, context: contextOf(request) });
      if (!login.ok) {
        clearSessionCookies(reply);
        return sendUseCaseError(request, reply, login.error);
      }
      await startSession(
        deps,
        reply,
        {
          userId: login.value.user.id,
          accountId: login.value.accountId,
          csrfSecret: deps.newToken(),
          createdAt: deps.clock.now().toISOString(),
          pendingLogin: null,
          provider: { id: pending.providerId, tokens: identity.value.tokens },
        },
        { ttlMs: SESSION_IDLE_MS, cookieMs: SESSION_MAX_MS },
      );
      return reply.header('cache-control', NO_STORE).redirect(pending.returnTo, 303);
    },
  );

  app.post(
    '/auth/logout',
    {
      config: auth,
      schema: {
        tags,
        summary: 'Ends the session (CSRF token required)',
        response: { 204: { type: 'null' } },
      },
    },
    async (request, reply) => {
      const session = request.session;
      if (session !== null) {
        await deps.sessions.delete(session.id);
        if (session.data.userId !== null) {
          await deps.login.recordLogout({
            userId: session.data.userId,
            accountId: session.data.accountId,
            context: contextOf(request),
          });
        }
      }
      clearSessionCookies(reply);
      return reply.header('cache-control', NO_STORE).code(204).send();
    },
  );

  app.get(
    '/api/v1/auth/csrf',
    {
      schema: {
        tags,
        summary: "The session's CSRF token (also set as the __Host-vigilance_csrf cookie)",
        response: {
          200: { type: 'object', properties: { csrfToken: { type: 'string' } }, required: ['csrfToken'] },
        },
      },
    },
    (request, reply) => {
      const session = request.session;
      if (session === null) throw problemError('UNAUTHENTICATED');
      const token = csrfTokenOf(session.data.csrfSecret);
      return reply
        .header('cache-control', NO_STORE)
        .header('set-cookie', serializeCookie(CSRF_COOKIE, token, { httpOnly: false, sameSite: 'Lax' }))
        .send({ csrfToken: token });
    },
  );

  app.get(
    '/api/v1/me',
    { schema: { tags, summary: 'Who is calling, and the accounts they can work in' } },
    async (request, reply) => {
      const principal = await principalOf(deps, request);
      reply.header('cache-control', NO_STORE);
      if (principal.kind === 'client') {
        return reply.send({ client: principal, currentAccountId: principal.accountId, accounts: [] });
      }
      const [user, accounts] = await Promise.all([
        deps.resources.user(principal.userId),
        deps.accounts.myAccounts(principal.userId),
      ]);
      if (user === null) throw problemError('UNAUTHENTICATED');
      return reply.send({
        user: { id: user.id, email: user.email, displayName: user.displayName },
        currentAccountId: accountIdOf(request, principal),
        accounts: accounts.ok
          ? accounts.value.map((a) => ({
              id: a.account.id,
              name: a.account.name,
              tenancyMode: a.account.tenancyMode,
              role: a.role,
              via: a.via,
              agentAccountId: a.agentAccountId,
            }))
          : [],
      });
    },
  );

  app.put<{ Body: { accountId: string } }>(
    '/api/v1/me/account',
    {
      schema: {
        tags,
        summary: "Switches the session's current account",
        body: {
          type: 'object',
          properties: { accountId: { type: 'string', format: 'uuid' } },
          required: ['accountId'],
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const principal = await principalOf(deps, request);
      const session = request.session;
      if (principal.kind !== 'user' || session === null) throw problemError('FORBIDDEN');
      const { accountId } = request.body;
      const access = isUuid(accountId) ? await deps.resolveAccess(principal, accountId) : null;
      if (access === null) return sendProblem(request, reply, 'NOT_FOUND');
      const age = deps.clock.now().getTime() - Date.parse(session.data.createdAt);
      await deps.sessions.set(
        session.id,
        { ...session.data, accountId },
        Math.max(1, Math.min(SESSION_IDLE_MS, SESSION_MAX_MS - age)),
      );
      return reply.header('cache-control', NO_STORE).send({ currentAccountId: accountId, role: access.role });
    },
  );

  app.get(
    '/.well-known/oauth-authorization-server',
    { config: auth, schema: { tags, summary: 'OAuth 2.0 authorization server metadata (RFC 8414)' } },
    (_request, reply) =>
      reply.header('cache-control', 'public, max-age=300').send({
        issuer: deps.publicBaseUrl,
        token_endpoint: `${deps.publicBaseUrl}/oauth/token`,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        token_endpoint_auth_signing_alg_values_supported: ['ES256', 'PS256', 'RS256'],
        dpop_signing_alg_values_supported: ['ES256', 'PS256', 'RS256'],
      }),
  );

  app.post<{ Body: Record<string, string | undefined> }>(
    '/oauth/token',
    {
      config: { rateClass: 'token', csrf: false },
      schema: {
        tags,
        summary:
          'Client credentials with a private_key_jwt assertion and a DPoP proof: a DPoP-bound access token',
        consumes: ['application/x-www-form-urlencoded'],
        body: {
          type: 'object',
          properties: {
            grant_type: { type: 'string', maxLength: 100 },
            client_assertion_type: { type: 'string', maxLength: 200 },
            client_assertion: { type: 'string', maxLength: 8192 },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const proof = request.headers.dpop;
      const issued = await deps.machineAccess.issueToken({
        grantType: body.grant_type,
        clientAssertionType: body.client_assertion_type,
        clientAssertion: body.client_assertion,
        dpopProof: typeof proof === 'string' ? proof : undefined,
        tokenEndpointUrl: requestUrl(request),
      });
      reply.header('cache-control', NO_STORE).header('pragma', 'no-cache');
      if (!issued.ok) {
        const status = issued.error.code === 'invalid_client' ? 401 : 400;
        return reply
          .code(status)
          .type(PROBLEM_CONTENT_TYPE)
          .send({
            type: 'about:blank',
            title: status === 401 ? 'Unauthorized' : 'Bad Request',
            status,
            code: `OAUTH_${issued.error.code.toUpperCase()}`,
            error: issued.error.code,
            error_description: issued.error.message,
          });
      }
      return reply.send({
        access_token: issued.value.accessToken,
        token_type: issued.value.tokenType,
        expires_in: issued.value.expiresIn,
      });
    },
  );
};
