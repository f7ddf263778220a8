import { err, ok, type Result } from '#app/domain/result.ts';
import type { Account, User } from '../ports/account-store.ts';
import type { AuditEntry } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { IdGenerator } from '../ports/id-generator.ts';
import type { VerifiedIdentity } from '../ports/identity-provider.ts';
import { InfrastructureError } from '../ports/infrastructure-error.ts';
import type { Stores, UnitOfWork } from '../ports/unit-of-work.ts';
import type { RequestContext } from './access.ts';

export interface LoginUseCasesDeps {
  readonly unitOfWork: UnitOfWork;
  /** For reads outside a transaction. */
  readonly stores: Stores;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export type LoginCompletionError = {
  readonly code: 'LOGIN_EMAIL_REQUIRED' | 'LOGIN_EMAIL_TAKEN';
  readonly message: string;
};

export interface CompletedLogin {
  readonly user: User;
  /** The account the session starts in: the first of the user's accounts by name. */
  readonly accountId: string;
  /** True when this login created the user (and their personal account). */
  readonly created: boolean;
}

export interface LoginUseCases {
  /** LOGIN_EMAIL_REQUIRED, LOGIN_EMAIL_TAKEN. */
  completeLogin(input: {
    readonly identity: VerifiedIdentity;
    readonly context: RequestContext;
  }): Promise<Result<CompletedLogin, LoginCompletionError>>;
  recordLogout(input: {
    readonly userId: string;
    readonly accountId: string | null;
    readonly context: RequestContext;
  }): Promise<void>;
}

/** Rolls a first login back: someone else created the same user between its reading and its audit entry. */
class Stale extends Error {}

const MAX_ATTEMPTS = 3;

const normalisedEmail = (email: string | null): string | null => {
  const normalised = email?.trim().toLowerCase() ?? '';
  return normalised === '' ? null : normalised;
};

const displayNameOf = (identity: VerifiedIdentity): string | null => {
  const name = identity.name?.trim() ?? '';
  return name === '' ? null : name;
};

/**
 * What happens once an OpenID provider has vouched for a person, and when they log out. Both are audited.
 *
 * completeLogin runs in one transaction. The user is the one this identity (issuer and subject) was linked to;
 * failing that, when the provider says the e-mail address is verified, the user with that address (someone added
 * as a member before they ever logged in), and the identity is linked to them (audited `user.identity_linked`).
 * Otherwise a new user is created, with a personal INDIVIDUAL account named after them of which they are the
 * owner: that needs an e-mail address (LOGIN_EMAIL_REQUIRED), and one that no other user has, since an address
 * the provider has not verified proves nothing (LOGIN_EMAIL_TAKEN). The display name follows what the provider
 * says at each login. A user who belongs to no account any more gets a new personal account, so that every
 * login lands somewhere. Two first logins of one person at once create one user: the second finds the first's.
 */
export const makeLoginUseCases = (deps: LoginUseCasesDeps): LoginUseCases => {
  const entryOf = (
    context: RequestContext,
    at: string,
    fields: Omit<AuditEntry, 'occurredAt' | 'ip' | 'userAgent' | 'correlationId'>,
  ): AuditEntry => ({
    occurredAt: at,
    ip: context.ip,
    userAgent: context.userAgent,
    correlationId: context.correlationId,
    ...fields,
  });

  const linkedUser = async (stores: Stores, identity: VerifiedIdentity) => {
    const byIdentity = await stores.accounts.findUserByIdentity(identity);
    if (byIdentity !== null) return { user: byIdentity, link: false };
    const email = normalisedEmail(identity.email);
    if (!identity.emailVerified || email === null) return null;
    const byEmail = await stores.accounts.findUserByEmail(email);
    return byEmail === null ? null : { user: byEmail, link: true };
  };

  /** A personal account of which `user` is the sole owner, audited. */
  const createPersonalAccount = async (
    stores: Stores,
    user: User,
    context: RequestContext,
    at: string,
    id: string,
  ): Promise<Account> => {
    const account: Account = {
      id,
      name: user.displayName ?? user.email,
      tenancyMode: 'INDIVIDUAL',
      createdAt: at,
    };
    await stores.accounts.createAccount(account);
    await stores.accounts.putMembership(account.id, user.id, 'owner', at);
    await stores.audit.append(
      entryOf(context, at, {
        accountId: account.id,
        actorId: user.id,
        action: 'account.created',
        entityType: 'customer_account',
        entityId: account.id,
        before: null,
        after: { ...account, ownerId: user.id },
      }),
    );
    return account;
  };

  const attempt = (
    identity: VerifiedIdentity,
    context: RequestContext,
  ): Promise<Result<CompletedLogin, LoginCompletionError>> => {
    const at = deps.clock.now().toISOString();
    const newUserId = deps.ids.newId();
    const newAccountId = deps.ids.newId();
    const providerIdentity = { issuer: identity.issuer, subject: identity.subject };
    return deps.unitOfWork.run(async (stores) => {
      const found = await linkedUser(stores, identity);
      let user: User;
      let created = false;
      if (found === null) {
        const email = normalisedEmail(identity.email);
        if (email === null) {
          return err({
            code: 'LOGIN_EMAIL_REQUIRED',
            message: 'The identity provider gave no e-mail address; an account needs one.',
          });
        }
        if ((await stores.accounts.findUserByEmail(email)) !== null) {
          return err({
            code: 'LOGIN_EMAIL_TAKEN',
            message:
              'Another user has this e-mail address, and the identity provider has not verified that it is yours.',
          });
        }
        user = { id: newUserId, email, displayName: displayNameOf(identity), createdAt: at };
        // The append waits for any other audited transaction to commit: reading again after it sees a user
        // created by a concurrent first login of the same person.
        await stores.audit.append(
          entryOf(context, at, {
            accountId: newAccountId,
            actorId: user.id,
            action: 'user.created',
            entityType: 'user',
            entityId: user.id,
            before: null,
            after: { email, displayName: user.displayName, issuer: identity.issuer },
          }),
        );
        if (
          (await linkedUser(stores, identity)) !== null ||
          (await stores.accounts.findUserByEmail(email)) !== null
        ) {
          throw new Stale();
        }
        await stores.accounts.createUser(user);
        await stores.accounts.linkIdentity(user.id, providerIdentity, at);
        created = true;
      } else {
        user = found.user;
        if (found.link) await stores.accounts.linkIdentity(user.id, providerIdentity, at);
        const displayName = displayNameOf(identity);
        if (displayName !== null && displayName !== user.displayName) {
          await stores.accounts.renameUser(user.id, displayName);
          user = { ...user, displayName };
        }
      }

      const [first] = await stores.accounts.accountsOf(user.id);
      const accountId =
        first?.account.id ?? (await createPersonalAccount(stores, user, context, at, newAccountId)).id;
      if (found?.link === true) {
        await stores.audit.append(
          entryOf(context, at, {
            accountId,
            actorId: user.id,
            action: 'user.identity_linked',
            entityType: 'user',
            entityId: user.id,
            before: null,
            after: { email: user.email, issuer: identity.issuer, subject: identity.subject },
          }),
        );
      }
      await stores.audit.append(
        entryOf(context, at, {
          accountId,
          actorId: user.id,
          action: 'user.login',
          entityType: 'user',
          entityId: user.id,
          before: null,
          after: { email: user.email, issuer: identity.issuer },
        }),
      );
      return ok({ user, accountId, created });
    });
  };

  return {
    completeLogin: async ({ identity, context }) => {
      for (let tries = 1; tries <= MAX_ATTEMPTS; tries += 1) {
        try {
          return await attempt(identity, context);
        } catch (error) {
          if (!(error instanceof Stale)) throw error;
        }
      }
      throw new InfrastructureError(
        'ACCOUNT_CONTENDED',
        'The same person kept being created concurrently; try again.',
      );
    },

    recordLogout: async ({ userId, accountId, context }) => {
      const at = deps.clock.now().toISOString();
      await deps.unitOfWork.run(async (stores) => {
        await stores.audit.append(
          entryOf(context, at, {
            accountId,
            actorId: userId,
            action: 'user.logout',
            entityType: 'user',
            entityId: userId,
            before: null,
            after: null,
          }),
        );
      });
    },
  };
};
