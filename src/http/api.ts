import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { registerAccountRoutes } from './account-routes.ts';
import type { ApiDeps } from './api-context.ts';
import { registerAuthRoutes } from './auth-routes.ts';
import { registerHomePage } from './home-page.ts';
import { registerResourceRoutes } from './resource-routes.ts';

export type { ApiDeps } from './api-context.ts';

export const OPENAPI_PATH = '/api/v1/openapi.json';

/**
 * The authenticated API under /api/v1, login, the token endpoint, and their description: OpenAPI 3.1 generated
 * from the routes' own schemas (what validates a request is what the document says) at /api/v1/openapi.json, and
 * a browsable page at /docs.
 */
export const registerApi = async (app: FastifyInstance, deps: ApiDeps): Promise<void> => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Vigilance API',
        version: '1.0.0',
        description:
          'Know-your-supplier checks against SIRENE, BODACC and VIES, sealed PDF reports, accounts and API clients. ' +
          'People call it with a session cookie (and X-CSRF-Token on unsafe methods); machines with a DPoP-bound ' +
          'access token from POST /oauth/token. Errors are application/problem+json with a stable `code`.',
      },
      servers: [{ url: deps.publicBaseUrl }],
      components: {
        securitySchemes: {
          dpop: {
            type: 'http',
            scheme: 'DPoP',
            description: 'Authorization: DPoP <access token>, with a DPoP proof header (RFC 9449)',
          },
          session: { type: 'apiKey', in: 'cookie', name: '__Host-vigilance_session' },
        },
      },
      security: [{ dpop: [] }, { session: [] }],
    },
  });

  registerHomePage(app, deps);
  registerAuthRoutes(app, deps);
  registerResourceRoutes(app, deps);
  registerAccountRoutes(app, deps);

  app.get(OPENAPI_PATH, { config: { rateClass: 'assets' }, schema: { hide: true } }, (_request, reply) =>
    reply.header('cache-control', 'no-cache').send(app.swagger()),
  );

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // Swagger UI's own files only: no inline code, no other origin (its default policy allows https: styles and
    // upgrades requests to https, which a plain-http laptop install cannot serve).
    staticCSP:
      // One inline style Swagger UI sets by itself is allowed by its hash.
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-hashes' " +
      "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; img-src 'self' data:; connect-src 'self'; " +
      "font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    uiConfig: { url: OPENAPI_PATH, deepLinking: true },
  } as never);
};
