import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '#app/application/ports/clock.ts';
import type { IdentityProviders } from '#app/application/ports/identity-provider.ts';
import type { SessionData, SessionStore } from '#app/application/ports/session-store.ts';
import type { Principal, RequestContext, ResolveAccess } from '#app/application/use-cases/access.ts';
import type { AccountUseCases } from '#app/application/use-cases/accounts.ts';
import type { AssessSupplier } from '#app/application/use-cases/assess-supplier.ts';
import type { LoginUseCases } from '#app/application/use-cases/login.ts';
import type { MachineAccess } from '#app/application/use-cases/machine-access.ts';
import type { RevokeReport } from '#app/application/use-cases/manage-reports.ts';
import type { ReadResources } from '#app/application/use-cases/read-resources.ts';
import type { SealReport } from '#app/application/use-cases/seal-report.ts';
import type { GetSupplierState } from '#app/application/use-cases/supplier-state.ts';
import { allows, type AccountAccess, type Permission } from '#app/domain/tenancy.ts';
import { CSRF_COOKIE, csrfTokenOf, SESSION_COOKIE } from './pipeline.ts';
import { problemError } from './problems.ts';
import { serializeCookie } from './cookies.ts';

/** What the authenticated API, login and the token endpoint need. */
export interface ApiDeps {
  /** The public origin (https://vigilance.example): login redirects and the OpenAPI servers list. */
  readonly publicBaseUrl: string;
  readonly clock: Clock;
  /** A new 256-bit secret (session ids, CSRF secrets). */
  readonly newToken: () => string;
  readonly sessions: SessionStore;
  readonly identityProviders: IdentityProviders;
  readonly login: LoginUseCases;
  readonly machineAccess: MachineAccess;
  readonly resolveAccess: ResolveAccess;
  readonly accounts: AccountUseCases;
  readonly resources: ReadResources;
  readonly assessSupplier: AssessSupplier;
  readonly sealReport: SealReport;
  readonly revokeReport: RevokeReport;
  readonly getSupplierState: GetSupplierState;
  /**
   * Serves a filesystem download link (`/files/<key>?expires=&sig=`): the PDF when the link is authentic and
   * not expired, else null. Absent with S3, whose presigned URLs go to S3 itself.
   */
  readonly serveFile?: (key: string, expires: string, signature: string) => Promise<Uint8Array | null>;
}

/** The header naming the account a request acts in, when not the caller's default one. */
export const ACCOUNT_HEADER = 'vigilance-account';

const DPOP_ALGS = 'ES256 PS256 RS256';

const unauthenticated = (error?: { readonly code: string; readonly message: string }) =>
  problemError('UNAUTHENTICATED', {
    'www-authenticate':
      error === undefined
        ? `DPoP algs="${DPOP_ALGS}"`
        : `DPoP error="${error.code}", error_description="${error.message.replace(/["\\]/g, "'")}", algs="${DPOP_ALGS}"`,
  });

/** The address a request was made to, without its query: what a DPoP proof's htu names. */
export const requestUrl = (request: FastifyRequest): string => {
  const path = request.url.split('?')[0] ?? '/';
  return `${request.protocol}://${request.host}${path}`;
};

/**
 * Who calls: an API client with a DPoP-bound access token (`Authorization: DPoP <token>` and a `DPoP` proof), or
 * a person with a session cookie. Anything else is 401 UNAUTHENTICATED with `WWW-Authenticate: DPoP ...` (an
 * `error=` naming what was wrong with a token or proof). Bearer tokens are refused: tokens are sender-constrained.
 */
export const principalOf = async (deps: ApiDeps, request: FastifyRequest): Promise<Principal> => {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const match = /^DPoP ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization);
    if (match?.[1] === undefined) {
      throw unauthenticated({
        code: 'invalid_request',
        message: 'use Authorization: DPoP <access token> with a DPoP proof',
      });
    }
    const proof = request.headers.dpop;
    const result = await deps.machineAccess.authenticate({
      accessToken: match[1],
      dpopProof: typeof proof === 'string' ? proof : undefined,
      htm: request.method,
      htu: requestUrl(request),
    });
    if (!result.ok) throw unauthenticated(result.error);
    return result.value;
  }
  const userId = request.session?.data.userId ?? null;
  if (userId === null) throw unauthenticated();
  return { kind: 'user', userId };
};

/** The account a request acts in: the `Vigilance-Account` header, else the session's or the client's own. */
export const accountIdOf = (request: FastifyRequest, principal: Principal): string | null => {
  const header = request.headers[ACCOUNT_HEADER];
  if (typeof header === 'string' && header !== '') return header;
  return principal.kind === 'client' ? principal.accountId : (request.session?.data.accountId ?? null);
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);

/**
 * The caller and their access to an account (the one named, or their default), with the permission checked.
 * An account that is none of the caller's business is 404, the same as one that does not exist; a role too low
 * for the action is 403.
 */
export const authorize = async (
  deps: ApiDeps,
  request: FastifyRequest,
  permission: Permission,
  accountId?: string,
): Promise<{ readonly principal: Principal; readonly access: AccountAccess }> => {
  const principal = await principalOf(deps, request);
  const id = accountId ?? accountIdOf(request, principal);
  if (id === null || !isUuid(id)) throw problemError('NOT_FOUND');
  const access = await deps.resolveAccess(principal, id);
  if (access === null) throw problemError('NOT_FOUND');
  if (!allows(access.role, permission)) throw problemError('FORBIDDEN');
  return { principal, access };
};

/** Who acts and from where, for the audit log. */
export const contextOf = (request: FastifyRequest): RequestContext => ({
  correlationId: request.id,
  ip: request.ip,
  userAgent: request.headers['user-agent'] ?? null,
});

export const originOf = (request: FastifyRequest) => ({
  ip: request.ip,
  userAgent: request.headers['user-agent'] ?? null,
});

/**
 * Starts a session: a new id every time (a login never keeps the id it arrived with). The store keeps it `ttlMs`
 * (extended by each request, see the session stage); the cookie lasts `cookieMs`, the session's longest life.
 */
export const startSession = async (
  deps: ApiDeps,
  reply: FastifyReply,
  data: SessionData,
  lifetime: { readonly ttlMs: number; readonly cookieMs: number },
): Promise<string> => {
  const id = deps.newToken();
  await deps.sessions.set(id, data, lifetime.ttlMs);
  const maxAge = Math.floor(lifetime.cookieMs / 1000);
  reply.header('set-cookie', [
    serializeCookie(SESSION_COOKIE, id, { httpOnly: true, sameSite: 'Lax', maxAge }),
    serializeCookie(CSRF_COOKIE, csrfTokenOf(data.csrfSecret), { httpOnly: false, sameSite: 'Lax', maxAge }),
  ]);
  return id;
};

export const clearSessionCookies = (reply: FastifyReply): void => {
  reply.header('set-cookie', [
    serializeCookie(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'Lax', maxAge: 0 }),
    serializeCookie(CSRF_COOKIE, '', { httpOnly: false, sameSite: 'Lax', maxAge: 0 }),
  ]);
};

/** The object without its undefined members (query filters the client did not give). */
export const definedOnly = <T extends object>(value: T): T =>
  Object.fromEntries(
    Object.entries(value as Record<string, unknown>).filter((entry) => entry[1] !== undefined),
  ) as T;
