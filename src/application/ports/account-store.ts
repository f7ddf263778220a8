import type { AccountAccess, Role, TenancyMode } from '#app/domain/tenancy.ts';

export interface Account {
  readonly id: string;
  readonly name: string;
  readonly tenancyMode: TenancyMode;
  readonly createdAt: string;
}

export interface User {
  readonly id: string;
  /** Lower-cased. Unique. */
  readonly email: string;
  readonly displayName: string | null;
  readonly createdAt: string;
}

/** Who proved a user's identity: an OpenID provider's issuer and its stable subject identifier. */
export interface Identity {
  readonly issuer: string;
  readonly subject: string;
}

export interface Member {
  readonly accountId: string;
  readonly userId: string;
  readonly email: string;
  readonly displayName: string | null;
  readonly role: Role;
  readonly createdAt: string;
}

/**
 * Accounts, users, memberships and the agent-to-client links of ON_BEHALF accounts. Reads that take an account
 * id answer for that account only. Writes happen in the caller's transaction (it is one of the Stores).
 */
export interface AccountStore {
  createAccount(account: Account): Promise<void>;
  getAccount(id: string): Promise<Account | null>;

  createUser(user: User): Promise<void>;
  getUser(id: string): Promise<User | null>;
  /** By e-mail address, compared lower-cased. */
  findUserByEmail(email: string): Promise<User | null>;
  findUserByIdentity(identity: Identity): Promise<User | null>;
  /** Links an identity to a user; linking the same identity to the same user again changes nothing. */
  linkIdentity(userId: string, identity: Identity, at: string): Promise<void>;
  /** Updates the display name (what the provider says at each login). */
  renameUser(userId: string, displayName: string | null): Promise<void>;

  /** Inserts or changes a membership's role. */
  putMembership(accountId: string, userId: string, role: Role, at: string): Promise<void>;
  /** Removes a membership; false when there was none. */
  removeMembership(accountId: string, userId: string): Promise<boolean>;
  member(accountId: string, userId: string): Promise<Member | null>;
  /** An account's members, owners first, then by e-mail. */
  members(accountId: string): Promise<readonly Member[]>;
  /** The accounts a user is a member of, with the role there, by account name. */
  accountsOf(userId: string): Promise<readonly { readonly account: Account; readonly role: Role }[]>;

  /** Makes `clientAccountId` a client of the ON_BEHALF account `agentAccountId`. */
  addClient(agentAccountId: string, clientAccountId: string, at: string): Promise<void>;
  /** The client accounts of an agent account, by name. */
  clientsOf(agentAccountId: string): Promise<readonly Account[]>;

  /**
   * How `userId` reaches `accountId`: through a membership of it (its role), else through a membership of an
   * ON_BEHALF agent account that has it as a client (`agentRoleInClient` of the agent role; when several agent
   * accounts do, the highest). Null when neither: the account is none of the user's business.
   */
  accessOf(userId: string, accountId: string): Promise<AccountAccess | null>;
}

/** An ERP's registration: it authenticates with the private key whose public half is `publicJwk`. */
export interface ApiClient {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  /** What the client may do in its account: member (assess, seal, read) or viewer (read). */
  readonly role: 'member' | 'viewer';
  /** The public JWK (EC P-256 or RSA of 2048 bits or more), without private members. */
  readonly publicJwk: Readonly<Record<string, unknown>>;
  /** Its RFC 7638 SHA-256 thumbprint. */
  readonly jkt: string;
  readonly createdAt: string;
  readonly createdBy: string | null;
  readonly revokedAt: string | null;
}

/** API clients. `get` is not scoped (the token endpoint finds a client by its id); the rest are by account. */
export interface ApiClientStore {
  insert(client: ApiClient): Promise<void>;
  get(id: string): Promise<ApiClient | null>;
  list(accountId: string): Promise<readonly ApiClient[]>;
  /** Marks a client revoked (once: a revoked client is returned as it is); null when the account has no such client. */
  revoke(accountId: string, id: string, at: string): Promise<ApiClient | null>;
}
