import { createJoseMachineTokens } from '#app/adapters/jose/machine-tokens.ts';
import { loadOrCreateTokenKey } from '#app/adapters/jose/token-key.ts';
import { createMemoryReplayCache } from '#app/adapters/memory/replay-cache.ts';
import { createMemoryRequestLimiter } from '#app/adapters/memory/request-limiter.ts';
import { createMemorySessionStore } from '#app/adapters/memory/session-store.ts';
import { createEmbeddedProvider } from '#app/adapters/oidc/embedded-provider.ts';
import {
  createOidcIdentityProviders,
  type OidcProviderConfig,
} from '#app/adapters/oidc/identity-providers.ts';
import { createRedisReplayCache } from '#app/adapters/redis/replay-cache.ts';
import { createRedisRequestLimiter } from '#app/adapters/redis/request-limiter.ts';
import { createRedisSessionStore } from '#app/adapters/redis/session-store.ts';
import type { RequestBudget } from '#app/application/ports/request-limiter.ts';
import { makeResolveAccess } from '#app/application/use-cases/access.ts';
import { makeAccountUseCases } from '#app/application/use-cases/accounts.ts';
import { makeLoginUseCases } from '#app/application/use-cases/login.ts';
import { makeMachineAccess } from '#app/application/use-cases/machine-access.ts';
import { makeReadResources } from '#app/application/use-cases/read-resources.ts';
import { buildApp, type HttpApp, type HttpRequest, type Mount, type RouteClass } from '#app/http/app.ts';
import type { StageName } from '#app/http/pipeline.ts';
import type { App } from './compose.ts';

/** The embedded provider's client id and login id. */
export const LOCAL_PROVIDER_ID = 'local';
const LOCAL_CLIENT_ID = 'vigilance';

const perMinute = (max: number): RequestBudget => ({ max, windowMs: 60_000 });

export interface WebOptions {
  /** JSON access lines on stdout. */
  readonly logger?: boolean;
  /** Where the log lines go (stdout when absent). */
  readonly logStream?: { write(line: string): unknown };
  /** Serve `GET /metrics`. */
  readonly metrics?: boolean;
  /** Observes each pipeline stage as it runs (tests). */
  readonly onStage?: (name: StageName, request: HttpRequest) => void;
}

/**
 * The HTTP side of the composition root: request budgets, sessions and the DPoP replay cache (Redis when
 * REDIS_URL is set, shared by every instance; memory otherwise), the access-token key, the OpenID providers
 * (and the embedded one under /oidc, in the embedded default), the account and login use cases, and the Fastify
 * application serving all of it with the public verification routes.
 */
export const composeWeb = async (app: App, options: WebOptions = {}): Promise<HttpApp> => {
  const { config, clock, stores, unitOfWork, storage, serveFile, redis } = app.parts;
  const api = config.api;
  const base = config.publicBaseUrl;
  const budgets: Readonly<Record<RouteClass, RequestBudget>> = {
    pages: perMinute(config.server.verifyPagesPerMinute),
    checks: perMinute(config.server.verifyChecksPerMinute),
    assets: perMinute(1200),
    metrics: perMinute(600),
    auth: perMinute(api.perMinute.auth),
    token: perMinute(api.perMinute.token),
    api: perMinute(api.perMinute.api),
    'api-write': perMinute(api.perMinute.apiWrite),
  };
  const prefix = config.redis.keyPrefix;
  const limiter =
    redis === null
      ? createMemoryRequestLimiter({ budgets })
      : createRedisRequestLimiter({ redis: redis.redis, keyPrefix: `${prefix}http:`, budgets });
  const sessions =
    redis === null
      ? createMemorySessionStore({ clock })
      : createRedisSessionStore({ redis: redis.redis, keyPrefix: prefix });
  const replay =
    redis === null
      ? createMemoryReplayCache({ clock })
      : createRedisReplayCache({ redis: redis.redis, keyPrefix: prefix });

  const machineTokens = createJoseMachineTokens({
    clock,
    issuer: base,
    audience: `${base}/api`,
    key: await loadOrCreateTokenKey(api.tokenKeyFile),
  });

  const providers: OidcProviderConfig[] = api.oidcProviders.map((p) => ({
    id: p.id,
    name: p.name,
    issuer: p.issuer,
    clientId: p.clientId,
    ...(p.clientSecret === null ? {} : { clientSecret: p.clientSecret }),
  }));
  const mounts: Mount[] = [];
  if (api.localLogin) {
    const issuer = `${base}/oidc`;
    const embedded = await createEmbeddedProvider({
      issuer,
      clients: [{ clientId: LOCAL_CLIENT_ID, redirectUris: [`${base}/auth/callback/${LOCAL_PROVIDER_ID}`] }],
      keysPath: `${config.database.dataDir}/keys/oidc-provider.json`,
    });
    app.parts.onClose(() => embedded.close());
    mounts.push({
      prefix: new URL(issuer).pathname,
      handle: (req, res) => {
        embedded.handle(req, res);
      },
    });
    providers.unshift({ id: LOCAL_PROVIDER_ID, name: 'Local login', issuer, clientId: LOCAL_CLIENT_ID });
  }
  const identityProviders = createOidcIdentityProviders({
    providers,
    // The embedded provider answers on this server's own (loopback, plain http) address.
    allowInsecureRequests: api.localLogin && base.startsWith('http:'),
  });

  const ids = app.ids;
  return buildApp({
    newCorrelationId: () => ids.newId(),
    limiter,
    sessions,
    now: () => clock.now(),
    trustedHosts: api.trustedHosts,
    corsOrigins: api.corsOrigins,
    logger: options.logger === true,
    ...(options.logStream === undefined ? {} : { logStream: options.logStream }),
    ...(api.trustProxyHops > 0 ? { trustProxy: api.trustProxyHops } : {}),
    ...(options.onStage === undefined ? {} : { onStage: options.onStage }),
    ...(options.metrics === true ? { onAnswered: app.countHttpRequest } : {}),
    mounts,
    publicRoutes: {
      publicVerification: app.useCases.publicVerification,
      publicKeys: app.useCases.publicKeys,
      publicBaseUrl: base,
      ...(options.metrics === true ? { metrics: app.metrics } : {}),
    },
    api: {
      publicBaseUrl: base,
      clock,
      newToken: () => ids.newToken(),
      sessions,
      identityProviders,
      login: makeLoginUseCases({ unitOfWork, stores, clock, ids }),
      machineAccess: makeMachineAccess({
        tokens: machineTokens,
        replay,
        apiClients: stores.apiClients,
        clock,
        issuer: base,
      }),
      resolveAccess: makeResolveAccess({ accounts: stores.accounts }),
      accounts: makeAccountUseCases({ unitOfWork, stores, clock, ids, machineTokens }),
      resources: makeReadResources({ stores, storage, clock }),
      assessSupplier: app.useCases.assessSupplier,
      sealReport: app.useCases.sealReport,
      revokeReport: app.useCases.revokeReport,
      getSupplierState: app.useCases.getSupplierState,
      ...(serveFile === null ? {} : { serveFile }),
    },
  });
};
