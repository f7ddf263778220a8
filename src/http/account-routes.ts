import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiClient, Member } from '#app/application/ports/account-store.ts';
import type { PublicJwk } from '#app/application/ports/machine-tokens.ts';
import type { Result } from '#app/domain/result.ts';
import { ROLES, type Permission, type Role } from '#app/domain/tenancy.ts';
import { authorize, contextOf, definedOnly, isUuid, principalOf, type ApiDeps } from './api-context.ts';
import { problemError } from './problems.ts';
import { NO_STORE, sendProblem, sendUseCaseError } from './replies.ts';

const tags = ['Accounts'];

const accountParams = {
  type: 'object',
  properties: { accountId: { type: 'string', maxLength: 64 } },
  required: ['accountId'],
} as const;

const memberParams = {
  type: 'object',
  properties: { accountId: { type: 'string', maxLength: 64 }, userId: { type: 'string', maxLength: 64 } },
  required: ['accountId', 'userId'],
} as const;

const clientParams = {
  type: 'object',
  properties: { accountId: { type: 'string', maxLength: 64 }, clientId: { type: 'string', maxLength: 64 } },
  required: ['accountId', 'clientId'],
} as const;

const ROLE = { type: 'string', enum: ROLES } as const;

const memberView = (m: Member) => ({
  userId: m.userId,
  email: m.email,
  displayName: m.displayName,
  role: m.role,
  createdAt: m.createdAt,
});

const clientView = (c: ApiClient) => ({
  id: c.id,
  accountId: c.accountId,
  name: c.name,
  role: c.role,
  jkt: c.jkt,
  publicJwk: c.publicJwk,
  createdAt: c.createdAt,
  createdBy: c.createdBy,
  revokedAt: c.revokedAt,
});

interface AccountRoute {
  Params: { accountId: string };
}

/** The account of the path, checked: a malformed id opens nothing, like an account that is none of the caller's. */
const inAccount = (
  deps: ApiDeps,
  request: FastifyRequest<AccountRoute>,
  permission: Permission,
): ReturnType<typeof authorize> => {
  if (!isUuid(request.params.accountId)) throw problemError('NOT_FOUND');
  return authorize(deps, request, permission, request.params.accountId);
};

const answer = <T>(
  request: FastifyRequest,
  reply: FastifyReply,
  result: Result<T, { readonly code: string; readonly message: string }>,
  view: (value: T) => unknown,
  status = 200,
): FastifyReply =>
  result.ok
    ? reply.code(status).header('cache-control', NO_STORE).send(view(result.value))
    : sendUseCaseError(request, reply, result.error);

/**
 * Accounts, their members, their API clients and their audit log. Reading an account needs any role in it;
 * administering it (members, API clients, the audit log) needs admin through a membership of it.
 */
export const registerAccountRoutes = (app: FastifyInstance, deps: ApiDeps): void => {
  const write = { rateClass: 'api-write' };

  app.get(
    '/api/v1/accounts',
    { schema: { tags, summary: 'The accounts the caller can work in' } },
    async (request, reply) => {
      const principal = await principalOf(deps, request);
      if (principal.kind === 'client') {
        const account = await deps.resources.account(principal.accountId);
        return reply.header('cache-control', NO_STORE).send({
          items:
            account === null
              ? []
              : [{ ...account, role: principal.role, via: 'membership', agentAccountId: null }],
        });
      }
      const listed = await deps.accounts.myAccounts(principal.userId);
      return answer(request, reply, listed, (entries) => ({
        items: entries.map((e) => ({
          ...e.account,
          role: e.role,
          via: e.via,
          agentAccountId: e.agentAccountId,
        })),
      }));
    },
  );

  app.post<{ Body: { name: string; tenancyMode: 'SELF' | 'ON_BEHALF' } }>(
    '/api/v1/accounts',
    {
      config: write,
      schema: {
        tags,
        summary:
          'Creates an account owned by the caller: SELF (own suppliers) or ON_BEHALF (an agent for clients)',
        body: {
          type: 'object',
          properties: {
            name: { type: 'string', maxLength: 200 },
            tenancyMode: { type: 'string', enum: ['SELF', 'ON_BEHALF'] },
          },
          required: ['name', 'tenancyMode'],
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const principal = await principalOf(deps, request);
      const created = await deps.accounts.createAccount({
        principal,
        context: contextOf(request),
        name: request.body.name,
        tenancyMode: request.body.tenancyMode,
      });
      if (created.ok) reply.header('location', `/api/v1/accounts/${created.value.id}`);
      return answer(request, reply, created, (account) => account, 201);
    },
  );

  app.post<AccountRoute & { Body: { name: string } }>(
    '/api/v1/accounts/:accountId/clients',
    {
      config: write,
      schema: {
        tags,
        summary: 'Creates a client account of this ON_BEHALF (agent) account',
        params: accountParams,
        body: {
          type: 'object',
          properties: { name: { type: 'string', maxLength: 200 } },
          required: ['name'],
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { principal, access } = await inAccount(deps, request, 'manage_client_accounts');
      const created = await deps.accounts.createClientAccount({
        access,
        principal,
        context: contextOf(request),
        name: request.body.name,
      });
      if (created.ok) reply.header('location', `/api/v1/accounts/${created.value.id}`);
      return answer(request, reply, created, (account) => account, 201);
    },
  );

  app.get<AccountRoute>(
    '/api/v1/accounts/:accountId',
    { schema: { tags, summary: 'One account', params: accountParams } },
    async (request, reply) => {
      const { access } = await inAccount(deps, request, 'read');
      const account = await deps.accounts.getAccount(access);
      return answer(request, reply, account, (a) => ({ ...a, role: access.role, via: access.via }));
    },
  );

  app.get<AccountRoute>(
    '/api/v1/accounts/:accountId/members',
    { schema: { tags, summary: "The account's members", params: accountParams } },
    async (request, reply) => {
      const { access } = await inAccount(deps, request, 'read');
      return answer(request, reply, await deps.accounts.listMembers(access), (members) => ({
        items: members.map(memberView),
      }));
    },
  );

  app.post<AccountRoute & { Body: { email: string; role: Role } }>(
    '/api/v1/accounts/:accountId/members',
    {
      config: write,
      schema: {
        tags,
        summary: 'Adds a member by e-mail address (they join at their first login)',
        params: accountParams,
        body: {
          type: 'object',
          properties: { email: { type: 'string', maxLength: 254 }, role: ROLE },
          required: ['email', 'role'],
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { principal, access } = await inAccount(deps, request, 'manage_members');
      const added = await deps.accounts.addMember({
        access,
        principal,
        context: contextOf(request),
        email: request.body.email,
        role: request.body.role,
      });
      return answer(request, reply, added, memberView, 201);
    },
  );

  app.patch<{ Params: { accountId: string; userId: string }; Body: { role: Role } }>(
    '/api/v1/accounts/:accountId/members/:userId',
    {
      config: write,
      schema: {
        tags,
        summary: "Changes a member's role",
        params: memberParams,
        body: { type: 'object', properties: { role: ROLE }, required: ['role'], additionalProperties: false },
      },
    },
    async (request, reply) => {
      const { principal, access } = await inAccount(deps, request, 'manage_members');
      if (!isUuid(request.params.userId)) return sendProblem(request, reply, 'NOT_FOUND');
      const changed = await deps.accounts.changeMemberRole({
        access,
        principal,
        context: contextOf(request),
        userId: request.params.userId,
        role: request.body.role,
      });
      return answer(request, reply, changed, memberView);
    },
  );

  app.delete<{ Params: { accountId: string; userId: string } }>(
    '/api/v1/accounts/:accountId/members/:userId',
    { config: write, schema: { tags, summary: 'Removes a member', params: memberParams } },
    async (request, reply) => {
      const { principal, access } = await inAccount(deps, request, 'manage_members');
      if (!isUuid(request.params.userId)) return sendProblem(request, reply, 'NOT_FOUND');
      const removed = await deps.accounts.removeMember({
        access,
        principal,
        context: contextOf(request),
        userId: request.params.userId,
      });
      return answer(request, reply, removed, memberView);
    },
  );

  app.get<AccountRoute>(
    '/api/v1/accounts/:accountId/api-clients',
    { schema: { tags, summary: "The account's API clients", params: accountParams } },
    async (request, reply) => {
      const { access } = await inAccount(deps, request, 'manage_api_clients');
      return answer(request, reply, await deps.accounts.listApiClients(access), (clients) => ({
        items: clients.map(clientView),
      }));
    },
  );

  app.post<AccountRoute & { Body: { name: string; role?: 'member' | 'viewer'; publicJwk: PublicJwk } }>(
    '/api/v1/accounts/:accountId/api-clients',
    {
      config: write,
      schema: {
        tags,
        summary: 'Registers an API client with its public key (EC P-256 or RSA ≥ 2048, as a JWK)',
        params: accountParams,
        body: {
          type: 'object',
          properties: {
            name: { type: 'string', maxLength: 200 },
            role: { type: 'string', enum: ['member', 'viewer'] },
            publicJwk: { type: 'object', maxProperties: 20 },
          },
          required: ['name', 'publicJwk'],
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { principal, access } = await inAccount(deps, request, 'manage_api_clients');
      const registered = await deps.accounts.registerApiClient({
        access,
        principal,
        context: contextOf(request),
        name: request.body.name,
        role: request.body.role ?? 'member',
        publicJwk: request.body.publicJwk,
      });
      return answer(request, reply, registered, clientView, 201);
    },
  );

  app.delete<{ Params: { accountId: string; clientId: string } }>(
    '/api/v1/accounts/:accountId/api-clients/:clientId',
    {
      config: write,
      schema: { tags, summary: 'Revokes an API client: its tokens stop working', params: clientParams },
    },
    async (request, reply) => {
      const { principal, access } = await inAccount(deps, request, 'manage_api_clients');
      if (!isUuid(request.params.clientId)) return sendProblem(request, reply, 'NOT_FOUND');
      const revoked = await deps.accounts.revokeApiClient({
        access,
        principal,
        context: contextOf(request),
        clientId: request.params.clientId,
      });
      return answer(request, reply, revoked, clientView);
    },
  );

  app.get<
    AccountRoute & {
      Querystring: {
        action?: string;
        entityType?: string;
        entityId?: string;
        actorId?: string;
        from?: string;
        to?: string;
        limit?: number;
        cursor?: number;
      };
    }
  >(
    '/api/v1/accounts/:accountId/audit',
    {
      schema: {
        tags,
        summary: "The account's audit log, newest first (account admins)",
        params: accountParams,
        querystring: {
          type: 'object',
          properties: {
            action: { type: 'string', maxLength: 100 },
            entityType: { type: 'string', maxLength: 100 },
            entityId: { type: 'string', maxLength: 200 },
            actorId: { type: 'string', format: 'uuid' },
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
            cursor: { type: 'integer', minimum: 1 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { access } = await inAccount(deps, request, 'read_audit');
      const { cursor, limit = 50, ...filters } = request.query;
      const read = await deps.accounts.readAudit({
        access,
        query: {
          limit,
          ...(cursor === undefined ? {} : { beforeSeq: cursor }),
          ...definedOnly(filters),
        },
      });
      return answer(request, reply, read, (entries) => ({
        items: entries,
        nextCursor: entries.length === limit ? (entries.at(-1)?.seq ?? null) : null,
      }));
    },
  );
};
