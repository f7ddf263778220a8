import type { AccountAccess } from '#app/domain/tenancy.ts';
import type { AccountStore } from '../ports/account-store.ts';

/**
 * Who makes a request: a person logged in through a browser session, or an API client (an ERP) authenticated by
 * a DPoP-bound access token. A client belongs to one account and acts there with the role it was registered with.
 */
export type Principal =
  | { readonly kind: 'user'; readonly userId: string }
  | {
      readonly kind: 'client';
      readonly clientId: string;
      readonly accountId: string;
      readonly role: 'member' | 'viewer';
    };

/** Who acts, from where, for the audit log. */
export interface RequestContext {
  readonly correlationId: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

/** How a principal reaches an account, or null when the account is none of its business. */
export type ResolveAccess = (principal: Principal, accountId: string) => Promise<AccountAccess | null>;

/** The actor the audit log names: the user, or the API client. */
export const actorIdOf = (principal: Principal): string =>
  principal.kind === 'user' ? principal.userId : principal.clientId;

/**
 * Resolves a principal's access to an account. An API client reaches its own account only, with its role and as
 * a direct participant (via 'membership'); a user reaches an account through a membership of it, or as a member
 * of an ON_BEHALF agent account that has it as a client (AccountStore.accessOf).
 */
export const makeResolveAccess =
  (deps: { readonly accounts: AccountStore }): ResolveAccess =>
  async (principal, accountId) => {
    if (principal.kind === 'client') {
      return principal.accountId === accountId
        ? { accountId, role: principal.role, via: 'membership', agentAccountId: null }
        : null;
    }
    return deps.accounts.accessOf(principal.userId, accountId);
  };
