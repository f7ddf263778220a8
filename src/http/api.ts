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

const DESCRIBED_PREFIXES = ['/api/v1/', '/auth/', '/oauth/', '/verify/'];

/** application/problem+json, as every error is answered (see docs/errors.md for the codes). */
const PROBLEM_SCHEMA = {
  $id: 'Problem',
  type: 'object',
  description: 'An error (RFC 9457 problem details); `code` is stable, see docs/errors.md',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { where: { type: 'string' }, message: { type: 'string' } } },
    },
    error: { type: 'string', description: 'RFC 6749 error (token endpoint)' },
    error_description: { type: 'string' },
  },
  required: ['type', 'title', 'status', 'code'],
  additionalProperties: true,
} as const;

/**
 * The authenticated API under /api/v1, login, the token endpoint, and their description: OpenAPI 3.1 generated
 * from the routes' own schemas (what validates a request is what the document says) at /api/v1/openapi.json, and
 * a browsable page at /docs.
 */
export const registerApi = async (app: FastifyInstance, deps: ApiDeps): Promise<void> => {
  await app.register(swagger, {
    // Shared schemas keep their own names in components (Problem), not generated ones.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${String(i)}`,
    },
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

  // Every error of the API is a problem (RFC 9457): described once, referenced by every route's 4XX and 5XX.
  app.addSchema(PROBLEM_SCHEMA);
  app.addHook('onRoute', (route) => {
    if (!DESCRIBED_PREFIXES.some((prefix) => route.url.startsWith(prefix))) return;
    const schema = (route.schema ??= {});
    const response = (schema.response ??= {}) as Record<string, unknown>;
    response['4XX'] ??= { $ref: 'Problem#' };
    response['5XX'] ??= { $ref: 'Problem#' };
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
