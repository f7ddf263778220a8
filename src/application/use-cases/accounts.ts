import { err, ok, type Result } from '#app/domain/result.ts';
import {
  agentRoleInClient,
  allows,
  atLeast,
  mayChangeMembership,
  type AccountAccess,
  type Permission,
  type Role,
} from '#app/domain/tenancy.ts';
import type { Account, ApiClient, Member } from '../ports/account-store.ts';
import type { AuditEntry, AuditQuery, StoredAuditEntry } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { IdGenerator } from '../ports/id-generator.ts';
import { InfrastructureError } from '../ports/infrastructure-error.ts';
import type { MachineTokens, PublicJwk } from '../ports/machine-tokens.ts';
import type { Stores, UnitOfWork } from '../ports/unit-of-work.ts';
import { actorIdOf, type Principal, type RequestContext } from './access.ts';

export interface AccountUseCasesDeps {
  readonly unitOfWork: UnitOfWork;
  /** For reads outside a transaction. */
  readonly stores: Stores;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly machineTokens: Pick<MachineTokens, 'checkClientKey'>;
}

export type AccountError = {
  readonly code:
    | 'FORBIDDEN'
    | 'NOT_AN_AGENT_ACCOUNT'
    | 'EMAIL_INVALID'
    | 'NAME_INVALID'
    | 'MEMBER_EXISTS'
    | 'MEMBER_NOT_FOUND'
    | 'LAST_OWNER'
    | 'CLIENT_KEY_INVALID'
    | 'CLIENT_NOT_FOUND';
  readonly message: string;
};

/** An account a user can work in, and how they reach it. */
export interface AccountEntry {
  readonly account: Account;
  readonly role: Role;
  readonly via: 'membership' | 'agent';
  /** The agent account the access goes through (via 'agent'), else null. */
  readonly agentAccountId: string | null;
}

/** An audited change: who makes it, from where, in which account (the one resolved for the request). */
export interface AuditedInput {
  readonly access: AccountAccess;
  readonly principal: Principal;
  readonly context: RequestContext;
}

type Outcome<T> = Promise<Result<T, AccountError>>;

export interface AccountUseCases {
  /** The accounts a user is a member of, then the client accounts of the ON_BEHALF accounts among them. */
  myAccounts(userId: string): Outcome<readonly AccountEntry[]>;
  getAccount(access: AccountAccess): Outcome<Account>;
  /**
   * A new account of the caller's (a person), who becomes its owner: a company checking its own suppliers (SELF)
   * or an agent acting for client accounts (ON_BEHALF). NAME_INVALID; FORBIDDEN for an API client.
   */
  createAccount(input: {
    readonly principal: Principal;
    readonly context: RequestContext;
    readonly name: string;
    readonly tenancyMode: 'SELF' | 'ON_BEHALF';
  }): Outcome<Account>;
  /** FORBIDDEN, NOT_AN_AGENT_ACCOUNT, NAME_INVALID. */
  createClientAccount(input: AuditedInput & { readonly name: string }): Outcome<Account>;
  listMembers(access: AccountAccess): Outcome<readonly Member[]>;
  /** FORBIDDEN, EMAIL_INVALID, MEMBER_EXISTS. */
  addMember(input: AuditedInput & { readonly email: string; readonly role: Role }): Outcome<Member>;
  /** FORBIDDEN, MEMBER_NOT_FOUND, LAST_OWNER. */
  changeMemberRole(input: AuditedInput & { readonly userId: string; readonly role: Role }): Outcome<Member>;
  /** FORBIDDEN, MEMBER_NOT_FOUND, LAST_OWNER. Returns the membership as it was. */
  removeMember(input: AuditedInput & { readonly userId: string }): Outcome<Member>;
  /** FORBIDDEN, NAME_INVALID, CLIENT_KEY_INVALID. */
  registerApiClient(
    input: AuditedInput & {
      readonly name: string;
      readonly role: 'member' | 'viewer';
      readonly publicJwk: PublicJwk;
    },
  ): Outcome<ApiClient>;
  listApiClients(access: AccountAccess): Outcome<readonly ApiClient[]>;
  /** FORBIDDEN, CLIENT_NOT_FOUND. */
  revokeApiClient(input: AuditedInput & { readonly clientId: string }): Outcome<ApiClient>;
  /** FORBIDDEN. The account's entries, newest first. */
  readAudit(input: {
    readonly access: AccountAccess;
    readonly query: Omit<AuditQuery, 'accountId'>;
  }): Outcome<readonly StoredAuditEntry[]>;
}

/**
 * What an audited change decides from what it reads: a refusal, nothing to do, or a change with its audit entry
 * and the writes that make it.
 */
type Decision<T> =
  | { readonly kind: 'refuse'; readonly error: AccountError }
  | { readonly kind: 'unchanged'; readonly value: T }
  | { readonly kind: 'change'; readonly entry: AuditEntry; readonly apply: () => Promise<T> };

/** Rolls a transaction back: what it decided on changed before its audit entry serialised it. */
class Stale extends Error {}

const MAX_ATTEMPTS = 5;
const MAX_NAME_LENGTH = 100;
const MAX_EMAIL_LENGTH = 254;
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

const refuse = (code: AccountError['code'], message: string): { kind: 'refuse'; error: AccountError } => ({
  kind: 'refuse',
  error: { code, message },
});

const REQUIRED_ROLE_TEXT: Readonly<Record<Permission, string>> = {
  read: 'Reading this account',
  assess: 'Assessing suppliers',
  seal: 'Sealing reports',
  revoke_report: 'Revoking reports',
  read_audit: 'Reading the audit log',
  manage_members: 'Managing members',
  manage_api_clients: 'Managing API clients',
  manage_client_accounts: 'Creating client accounts',
};

/**
 * Administration happens through a membership only: an agent's members reach a client account as members at
 * most, and never administer it.
 */
const permissionError = (access: AccountAccess, permission: Permission): AccountError | null => {
  if (permission !== 'read' && access.via !== 'membership') {
    return {
      code: 'FORBIDDEN',
      message: `${REQUIRED_ROLE_TEXT[permission]} is for the account's own members, not its agent's.`,
    };
  }
  return allows(access.role, permission)
    ? null
    : {
        code: 'FORBIDDEN',
        message: `${REQUIRED_ROLE_TEXT[permission]} needs a higher role in this account.`,
      };
};

const validName = (name: string): string | null => {
  const trimmed = name.trim();
  return trimmed === '' || trimmed.length > MAX_NAME_LENGTH ? null : trimmed;
};

const validEmail = (email: string): string | null => {
  const normalised = email.trim().toLowerCase();
  return normalised.length <= MAX_EMAIL_LENGTH && EMAIL.test(normalised) ? normalised : null;
};

const sameEntry = (a: AuditEntry, b: AuditEntry): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Accounts, members and API clients, for the HTTP API. The account acted on is the one the HTTP layer resolved
 * for the request (`access`), and each operation checks that role's permission first (FORBIDDEN). Every change
 * is written in one transaction together with its audit entry, naming the actor (the user or the API client),
 * the request's address, user agent and correlation id; a refused change writes nothing.
 *
 * Membership rules: managing members needs admin; only an owner grants, changes or removes ownership; an account
 * always keeps at least one owner (LAST_OWNER); an agent's members never administer a client account.
 * Changes are decided twice: once from what the transaction reads, then again after its audit entry is appended.
 * Appends are serialised (each waits for the previous appender to commit), so the second decision sees every
 * audited change committed before it, and no other can commit until this one has: two owners stepping down at
 * once leave one owner, not none. When the second decision differs from the first, the transaction is rolled
 * back and tried again; after 5 tries the change fails with InfrastructureError ACCOUNT_CONTENDED.
 */
export const makeAccountUseCases = (deps: AccountUseCasesDeps): AccountUseCases => {
  const audited = async <T>(decide: (stores: Stores) => Promise<Decision<T>>): Outcome<T> => {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      try {
        return await deps.unitOfWork.run(async (stores): Outcome<T> => {
          const first = await decide(stores);
          if (first.kind === 'refuse') return err(first.error);
          if (first.kind === 'unchanged') return ok(first.value);
          await stores.audit.append(first.entry);
          const second = await decide(stores);
          if (second.kind !== 'change' || !sameEntry(first.entry, second.entry)) throw new Stale();
          return ok(await second.apply());
        });
      } catch (error) {
        if (!(error instanceof Stale)) throw error;
      }
    }
    throw new InfrastructureError(
      'ACCOUNT_CONTENDED',
      'The account kept changing while this change was being made; try again.',
    );
  };

  const entryOf = (
    input: AuditedInput,
    at: string,
    fields: Pick<AuditEntry, 'action' | 'entityType' | 'entityId' | 'before' | 'after'>,
  ): AuditEntry => ({
    occurredAt: at,
    accountId: input.access.accountId,
    actorId: actorIdOf(input.principal),
    ip: input.context.ip,
    userAgent: input.context.userAgent,
    correlationId: input.context.correlationId,
    ...fields,
  });

  const now = (): string => deps.clock.now().toISOString();

  const accountGone = (accountId: string): AccountError => ({
    code: 'FORBIDDEN',
    message: `Account ${accountId} is not one you can reach.`,
  });

  /** The membership change from `member`'s role to `next` (null: removal), or why it is refused. */
  const membershipRefusal = async (
    stores: Stores,
    access: AccountAccess,
    member: Member,
    next: Role | null,
  ): Promise<AccountError | null> => {
    if (!mayChangeMembership(access.role, member.role, next)) {
      return { code: 'FORBIDDEN', message: 'Only an owner grants, changes or removes ownership.' };
    }
    if (member.role === 'owner' && next !== 'owner') {
      const owners = (await stores.accounts.members(access.accountId)).filter((m) => m.role === 'owner');
      if (owners.length <= 1) {
        return {
          code: 'LAST_OWNER',
          message: 'An account keeps at least one owner: make someone else owner first.',
        };
      }
    }
    return null;
  };

  const memberNotFound = (userId: string): AccountError => ({
    code: 'MEMBER_NOT_FOUND',
    message: `User ${userId} is not a member of this account.`,
  });

  return {
    myAccounts: async (userId) => {
      const memberships = await deps.stores.accounts.accountsOf(userId);
      const entries: AccountEntry[] = memberships.map(({ account, role }) => ({
        account,
        role,
        via: 'membership',
        agentAccountId: null,
      }));
      const seen = new Set(memberships.map((m) => m.account.id));
      const viaAgent = new Map<string, AccountEntry>();
      for (const { account, role } of memberships) {
        if (account.tenancyMode !== 'ON_BEHALF') continue;
        for (const client of await deps.stores.accounts.clientsOf(account.id)) {
          if (seen.has(client.id)) continue;
          const clientRole = agentRoleInClient(role);
          const known = viaAgent.get(client.id);
          if (known !== undefined && atLeast(known.role, clientRole)) continue;
          viaAgent.set(client.id, {
            account: client,
            role: clientRole,
            via: 'agent',
            agentAccountId: account.id,
          });
        }
      }
      const clients = [...viaAgent.values()].sort((a, b) => a.account.name.localeCompare(b.account.name));
      return ok([...entries, ...clients]);
    },

    getAccount: async (access) => {
      const account = await deps.stores.accounts.getAccount(access.accountId);
      return account === null ? err(accountGone(access.accountId)) : ok(account);
    },

    createAccount: async (input) => {
      const { principal } = input;
      if (principal.kind !== 'user') {
        return err({ code: 'FORBIDDEN', message: 'Accounts are created by people, not by API clients.' });
      }
      const name = validName(input.name);
      if (name === null) {
        return err({
          code: 'NAME_INVALID',
          message: `An account name has 1 to ${String(MAX_NAME_LENGTH)} characters.`,
        });
      }
      const at = now();
      const account: Account = { id: deps.ids.newId(), name, tenancyMode: input.tenancyMode, createdAt: at };
      const access: AccountAccess = {
        accountId: account.id,
        role: 'owner',
        via: 'membership',
        agentAccountId: null,
      };
      const userId = principal.userId;
      return audited((stores) =>
        Promise.resolve({
          kind: 'change' as const,
          entry: entryOf({ access, principal, context: input.context }, at, {
            action: 'account.created',
            entityType: 'customer_account',
            entityId: account.id,
            before: null,
            after: { ...account, ownerId: userId },
          }),
          apply: async () => {
            await stores.accounts.createAccount(account);
            await stores.accounts.putMembership(account.id, userId, 'owner', at);
            return account;
          },
        }),
      );
    },

    createClientAccount: async (input) => {
      const refused = permissionError(input.access, 'manage_client_accounts');
      if (refused !== null) return err(refused);
      const name = validName(input.name);
      if (name === null) {
        return err({
          code: 'NAME_INVALID',
          message: `An account name has 1 to ${String(MAX_NAME_LENGTH)} characters.`,
        });
      }
      const at = now();
      const agentAccountId = input.access.accountId;
      const client: Account = { id: deps.ids.newId(), name, tenancyMode: 'SELF', createdAt: at };
      return audited(async (stores) => {
        const agent = await stores.accounts.getAccount(agentAccountId);
        if (agent === null) return { kind: 'refuse', error: accountGone(agentAccountId) };
        if (agent.tenancyMode !== 'ON_BEHALF') {
          return refuse(
            'NOT_AN_AGENT_ACCOUNT',
            'Only an account acting on behalf of others (ON_BEHALF) has client accounts.',
          );
        }
        return {
          kind: 'change',
          entry: entryOf(input, at, {
            action: 'account.client_created',
            entityType: 'customer_account',
            entityId: client.id,
            before: null,
            after: { ...client },
          }),
          apply: async () => {
            await stores.accounts.createAccount(client);
            await stores.accounts.addClient(agentAccountId, client.id, at);
            return client;
          },
        };
      });
    },

    listMembers: async (access) => {
      const refused = permissionError(access, 'read');
      if (refused !== null) return err(refused);
      return ok(await deps.stores.accounts.members(access.accountId));
    },

    addMember: async (input) => {
      const { access } = input;
      const refused = permissionError(access, 'manage_members');
      if (refused !== null) return err(refused);
      const email = validEmail(input.email);
      if (email === null) return err({ code: 'EMAIL_INVALID', message: 'This is not an e-mail address.' });
      if (!mayChangeMembership(access.role, null, input.role)) {
        return err({ code: 'FORBIDDEN', message: 'Only an owner grants, changes or removes ownership.' });
      }
      const at = now();
      const newUserId = deps.ids.newId();
      return audited(async (stores) => {
        const user = await stores.accounts.findUserByEmail(email);
        if (user !== null && (await stores.accounts.member(access.accountId, user.id)) !== null) {
          return refuse('MEMBER_EXISTS', `${email} is already a member of this account.`);
        }
        const userId = user?.id ?? newUserId;
        return {
          kind: 'change',
          entry: entryOf(input, at, {
            action: 'membership.added',
            entityType: 'membership',
            entityId: `${access.accountId}:${userId}`,
            before: null,
            after: { userId, email, role: input.role },
          }),
          apply: async () => {
            if (user === null) {
              await stores.accounts.createUser({ id: userId, email, displayName: null, createdAt: at });
            }
            await stores.accounts.putMembership(access.accountId, userId, input.role, at);
            const added: Member = {
              accountId: access.accountId,
              userId,
              email,
              displayName: user?.displayName ?? null,
              role: input.role,
              createdAt: at,
            };
            return added;
          },
        };
      });
    },

    changeMemberRole: async (input) => {
      const { access, userId, role } = input;
      const refused = permissionError(access, 'manage_members');
      if (refused !== null) return err(refused);
      const at = now();
      return audited(async (stores) => {
        const member = await stores.accounts.member(access.accountId, userId);
        if (member === null) return { kind: 'refuse', error: memberNotFound(userId) };
        const refusal = await membershipRefusal(stores, access, member, role);
        if (refusal !== null) return { kind: 'refuse', error: refusal };
        if (member.role === role) return { kind: 'unchanged', value: member };
        return {
          kind: 'change',
          entry: entryOf(input, at, {
            action: 'membership.changed',
            entityType: 'membership',
            entityId: `${access.accountId}:${userId}`,
            before: { userId, email: member.email, role: member.role },
            after: { userId, email: member.email, role },
          }),
          apply: async () => {
            await stores.accounts.putMembership(access.accountId, userId, role, at);
            const changed: Member = { ...member, role };
            return changed;
          },
        };
      });
    },

    removeMember: async (input) => {
      const { access, userId } = input;
      const refused = permissionError(access, 'manage_members');
      if (refused !== null) return err(refused);
      const at = now();
      return audited(async (stores) => {
        const member = await stores.accounts.member(access.accountId, userId);
        if (member === null) return { kind: 'refuse', error: memberNotFound(userId) };
        const refusal = await membershipRefusal(stores, access, member, null);
        if (refusal !== null) return { kind: 'refuse', error: refusal };
        return {
          kind: 'change',
          entry: entryOf(input, at, {
            action: 'membership.removed',
            entityType: 'membership',
            entityId: `${access.accountId}:${userId}`,
            before: { userId, email: member.email, role: member.role },
            after: null,
          }),
          apply: async () => {
            await stores.accounts.removeMembership(access.accountId, userId);
            return member;
          },
        };
      });
    },

    registerApiClient: async (input) => {
      const { access } = input;
      const refused = permissionError(access, 'manage_api_clients');
      if (refused !== null) return err(refused);
      const name = validName(input.name);
      if (name === null) {
        return err({
          code: 'NAME_INVALID',
          message: `An API client's name has 1 to ${String(MAX_NAME_LENGTH)} characters.`,
        });
      }
      const key = await deps.machineTokens.checkClientKey(input.publicJwk);
      if (!key.ok) return err({ code: 'CLIENT_KEY_INVALID', message: key.error.message });
      const at = now();
      const client: ApiClient = {
        id: deps.ids.newId(),
        accountId: access.accountId,
        name,
        role: input.role,
        publicJwk: input.publicJwk,
        jkt: key.value.jkt,
        createdAt: at,
        createdBy: input.principal.kind === 'user' ? input.principal.userId : null,
        revokedAt: null,
      };
      return audited((stores) =>
        Promise.resolve({
          kind: 'change',
          entry: entryOf(input, at, {
            action: 'api_client.created',
            entityType: 'api_client',
            entityId: client.id,
            before: null,
            after: { id: client.id, name, role: client.role, jkt: client.jkt },
          }),
          apply: async () => {
            await stores.apiClients.insert(client);
            return client;
          },
        }),
      );
    },

    listApiClients: async (access) => {
      const refused = permissionError(access, 'manage_api_clients');
      if (refused !== null) return err(refused);
      return ok(await deps.stores.apiClients.list(access.accountId));
    },

    revokeApiClient: async (input) => {
      const { access, clientId } = input;
      const refused = permissionError(access, 'manage_api_clients');
      if (refused !== null) return err(refused);
      const at = now();
      return audited(async (stores) => {
        const client = await stores.apiClients.get(clientId);
        if (client?.accountId !== access.accountId) {
          return refuse('CLIENT_NOT_FOUND', `No API client ${clientId} in this account.`);
        }
        if (client.revokedAt !== null) return { kind: 'unchanged', value: client };
        return {
          kind: 'change',
          entry: entryOf(input, at, {
            action: 'api_client.revoked',
            entityType: 'api_client',
            entityId: clientId,
            before: { revokedAt: null },
            after: { revokedAt: at },
          }),
          apply: async () => {
            const revoked = await stores.apiClients.revoke(access.accountId, clientId, at);
            if (revoked === null) {
              throw new InfrastructureError(
                'ACCOUNT_CONTENDED',
                'An API client just read cannot be revoked.',
              );
            }
            return revoked;
          },
        };
      });
    },

    readAudit: async ({ access, query }) => {
      const refused = permissionError(access, 'read_audit');
      if (refused !== null) return err(refused);
      return ok(await deps.stores.audit.query({ ...query, accountId: access.accountId }));
    },
  };
};
