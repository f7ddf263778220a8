/**
 * Accounts, roles and what each role may do. Pure: the stores say who is a member of what; this decides.
 *
 * Tenancy modes: INDIVIDUAL (a person's own account), SELF (a company checking its own suppliers) and ON_BEHALF
 * (an agent, such as an accounting firm, acting for client accounts: an assessment made for a client belongs to
 * the client, its actor is the agent's member, and the report says "requested by X on behalf of Y").
 */

export type Role = 'owner' | 'admin' | 'member' | 'viewer';
export type TenancyMode = 'INDIVIDUAL' | 'SELF' | 'ON_BEHALF';

export const ROLES: readonly Role[] = ['owner', 'admin', 'member', 'viewer'];
export const TENANCY_MODES: readonly TenancyMode[] = ['INDIVIDUAL', 'SELF', 'ON_BEHALF'];

const RANK: Readonly<Record<Role, number>> = { viewer: 0, member: 1, admin: 2, owner: 3 };

export const isRole = (value: unknown): value is Role => typeof value === 'string' && value in RANK;
export const isTenancyMode = (value: unknown): value is TenancyMode =>
  typeof value === 'string' && (TENANCY_MODES as readonly string[]).includes(value);

/** True when `role` is at least `minimum`. */
export const atLeast = (role: Role, minimum: Role): boolean => RANK[role] >= RANK[minimum];

/** What a caller may do in an account; each needs a minimum role there. */
export type Permission =
  | 'read'
  | 'assess'
  | 'seal'
  | 'revoke_report'
  | 'read_audit'
  | 'manage_members'
  | 'manage_api_clients'
  | 'manage_client_accounts';

export const MINIMUM_ROLE: Readonly<Record<Permission, Role>> = {
  read: 'viewer',
  assess: 'member',
  seal: 'member',
  revoke_report: 'admin',
  read_audit: 'admin',
  manage_members: 'admin',
  manage_api_clients: 'admin',
  manage_client_accounts: 'admin',
};

export const allows = (role: Role, permission: Permission): boolean =>
  atLeast(role, MINIMUM_ROLE[permission]);

/**
 * How a caller reaches an account: as one of its members (with the membership's role), or as a member of an
 * ON_BEHALF agent account the account is a client of. An agent's members act in a client account as members at
 * most (viewers stay viewers): they assess and seal for the client, and never administer the client's account.
 */
export interface AccountAccess {
  readonly accountId: string;
  readonly role: Role;
  readonly via: 'membership' | 'agent';
  /** The agent account the access goes through (via 'agent'), else null. */
  readonly agentAccountId: string | null;
}

/** The role an agent's member has in a client account. */
export const agentRoleInClient = (agentRole: Role): Role => (agentRole === 'viewer' ? 'viewer' : 'member');

/**
 * Whether an actor with `actorRole` may give `target` the role `next` (null: remove them). Only an owner grants,
 * changes or removes ownership; an admin manages admins, members and viewers.
 */
export const mayChangeMembership = (actorRole: Role, current: Role | null, next: Role | null): boolean => {
  if (!allows(actorRole, 'manage_members')) return false;
  if (actorRole === 'owner') return true;
  return current !== 'owner' && next !== 'owner';
};
