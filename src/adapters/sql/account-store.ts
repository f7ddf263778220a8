import type { Account, AccountStore, Member, User } from '#app/application/ports/account-store.ts';
import {
  agentRoleInClient,
  atLeast,
  type AccountAccess,
  type Role,
  type TenancyMode,
} from '#app/domain/tenancy.ts';
import type { SqlExecutor } from './database.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type AccountRow = {
  readonly id: string;
  readonly name: string;
  readonly tenancy_mode: TenancyMode;
  readonly created_at: string;
};

type UserRow = {
  readonly id: string;
  readonly email: string;
  readonly display_name: string | null;
  readonly created_at: string;
};

type MemberRow = {
  readonly account_id: string;
  readonly user_id: string;
  readonly email: string;
  readonly display_name: string | null;
  readonly role: Role;
  readonly created_at: string;
};

type AccessRow = {
  readonly via: 'membership' | 'agent';
  readonly role: Role;
  readonly agent_account_id: string | null;
};

const ACCOUNT_COLUMNS = 'a.id, a.name, a.tenancy_mode, a.created_at';
const USER_COLUMNS = 'u.id, u.email, u.display_name, u.created_at';
const MEMBER_COLUMNS = 'm.account_id, m.user_id, u.email, u.display_name, m.role, m.created_at';

const accountOf = (row: AccountRow): Account => ({
  id: row.id,
  name: row.name,
  tenancyMode: row.tenancy_mode,
  createdAt: row.created_at,
});

const userOf = (row: UserRow): User => ({
  id: row.id,
  email: row.email,
  displayName: row.display_name,
  createdAt: row.created_at,
});

const memberOf = (row: MemberRow): Member => ({
  accountId: row.account_id,
  userId: row.user_id,
  email: row.email,
  displayName: row.display_name,
  role: row.role,
  createdAt: row.created_at,
});

/** How an address is kept and compared: the one lower-cased form, the same whichever database answers. */
const emailKey = (email: string): string => email.toLowerCase();

/**
 * The access through agents: each agent's role in the client, the highest winning, and of equal roles the one of
 * the agent whose id sorts first (the rows come sorted so).
 */
const bestAgentAccess = (accountId: string, rows: readonly AccessRow[]): AccountAccess | null => {
  let best: AccountAccess | null = null;
  for (const row of rows) {
    const role = agentRoleInClient(row.role);
    if (best === null || !atLeast(best.role, role)) {
      best = { accountId, role, via: 'agent', agentAccountId: row.agent_account_id };
    }
  }
  return best;
};

/**
 * The AccountStore on `customer_accounts`, `users`, `user_identities`, `memberships` and `account_clients`, for
 * PostgreSQL and PGlite alike. E-mail addresses are kept and looked up lower-cased (the schema refuses any other
 * form). Reads by an id that is not a UUID find nothing. Instants come back in canonical ISO form.
 *
 * An identity is never moved from one user to another: linking it to a second user is refused by the database
 * (unique violation 23505), as creating a second user with one e-mail address is.
 */
export const createSqlAccountStore = (db: SqlExecutor): AccountStore => ({
  createAccount: async (account) => {
    await db.query(
      'insert into customer_accounts (id, name, tenancy_mode, created_at) values ($1, $2, $3, $4::timestamptz)',
      [account.id, account.name, account.tenancyMode, account.createdAt],
    );
  },

  getAccount: async (id) => {
    if (!UUID.test(id)) return null;
    const [row] = await db.query<AccountRow>(
      `select ${ACCOUNT_COLUMNS} from customer_accounts a where a.id = $1`,
      [id],
    );
    return row === undefined ? null : accountOf(row);
  },

  createUser: async (user) => {
    await db.query(
      'insert into users (id, email, display_name, created_at) values ($1, $2, $3, $4::timestamptz)',
      [user.id, emailKey(user.email), user.displayName, user.createdAt],
    );
  },

  getUser: async (id) => {
    if (!UUID.test(id)) return null;
    const [row] = await db.query<UserRow>(`select ${USER_COLUMNS} from users u where u.id = $1`, [id]);
    return row === undefined ? null : userOf(row);
  },

  findUserByEmail: async (email) => {
    const [row] = await db.query<UserRow>(`select ${USER_COLUMNS} from users u where u.email = $1`, [
      emailKey(email),
    ]);
    return row === undefined ? null : userOf(row);
  },

  findUserByIdentity: async ({ issuer, subject }) => {
    const [row] = await db.query<UserRow>(
      `select ${USER_COLUMNS} from user_identities i join users u on u.id = i.user_id
        where i.issuer = $1 and i.subject = $2`,
      [issuer, subject],
    );
    return row === undefined ? null : userOf(row);
  },

  linkIdentity: async (userId, { issuer, subject }, at) => {
    // The same link again inserts nothing (an error would abort the caller's transaction); a link of the identity
    // to another user is refused by the primary key (23505), as a second user of one address is.
    await db.query(
      `insert into user_identities (issuer, subject, user_id, created_at)
       select $1::text, $2::text, $3::uuid, $4::timestamptz
        where not exists (
          select 1 from user_identities where issuer = $1::text and subject = $2::text and user_id = $3::uuid
        )`,
      [issuer, subject, userId, at],
    );
  },

  renameUser: async (userId, displayName) => {
    await db.query('update users set display_name = $2 where id = $1', [userId, displayName]);
  },

  putMembership: async (accountId, userId, role, at) => {
    await db.query(
      `insert into memberships (account_id, user_id, role, created_at) values ($1, $2, $3, $4::timestamptz)
       on conflict (account_id, user_id) do update set role = excluded.role`,
      [accountId, userId, role, at],
    );
  },

  removeMembership: async (accountId, userId) => {
    if (!UUID.test(accountId) || !UUID.test(userId)) return false;
    const removed = await db.query(
      'delete from memberships where account_id = $1 and user_id = $2 returning user_id',
      [accountId, userId],
    );
    return removed.length === 1;
  },

  member: async (accountId, userId) => {
    if (!UUID.test(accountId) || !UUID.test(userId)) return null;
    const [row] = await db.query<MemberRow>(
      `select ${MEMBER_COLUMNS} from memberships m join users u on u.id = m.user_id
        where m.account_id = $1 and m.user_id = $2`,
      [accountId, userId],
    );
    return row === undefined ? null : memberOf(row);
  },

  members: async (accountId) => {
    if (!UUID.test(accountId)) return [];
    const rows = await db.query<MemberRow>(
      `select ${MEMBER_COLUMNS} from memberships m join users u on u.id = m.user_id
        where m.account_id = $1
        order by m.role <> 'owner', u.email, u.id`,
      [accountId],
    );
    return rows.map(memberOf);
  },

  accountsOf: async (userId) => {
    if (!UUID.test(userId)) return [];
    const rows = await db.query<AccountRow & { readonly role: Role }>(
      `select ${ACCOUNT_COLUMNS}, m.role from memberships m join customer_accounts a on a.id = m.account_id
        where m.user_id = $1
        order by a.name, a.id`,
      [userId],
    );
    return rows.map((row) => ({ account: accountOf(row), role: row.role }));
  },

  addClient: async (agentAccountId, clientAccountId, at) => {
    await db.query(
      `insert into account_clients (agent_account_id, client_account_id, created_at) values ($1, $2, $3::timestamptz)
       on conflict (agent_account_id, client_account_id) do nothing`,
      [agentAccountId, clientAccountId, at],
    );
  },

  clientsOf: async (agentAccountId) => {
    if (!UUID.test(agentAccountId)) return [];
    const rows = await db.query<AccountRow>(
      `select ${ACCOUNT_COLUMNS} from account_clients c join customer_accounts a on a.id = c.client_account_id
        where c.agent_account_id = $1
        order by a.name, a.id`,
      [agentAccountId],
    );
    return rows.map(accountOf);
  },

  accessOf: async (userId, accountId) => {
    if (!UUID.test(userId) || !UUID.test(accountId)) return null;
    // The agent's mode is read at each request: an agent that stops being ON_BEHALF loses its clients at once.
    const rows = await db.query<AccessRow>(
      `select 'membership' as via, m.role, null::text as agent_account_id
         from memberships m
        where m.account_id = $2 and m.user_id = $1
       union all
       select 'agent' as via, m.role, c.agent_account_id::text as agent_account_id
         from account_clients c
         join customer_accounts agent on agent.id = c.agent_account_id and agent.tenancy_mode = 'ON_BEHALF'
         join memberships m on m.account_id = c.agent_account_id and m.user_id = $1
        where c.client_account_id = $2
       order by via desc, agent_account_id`,
      [userId, accountId],
      // On every API request of a person: planned once per connection.
      { name: 'account_access' },
    );
    const direct = rows.find((row) => row.via === 'membership');
    if (direct !== undefined) {
      return {
        accountId: accountId.toLowerCase(),
        role: direct.role,
        via: 'membership',
        agentAccountId: null,
      };
    }
    return bestAgentAccess(accountId.toLowerCase(), rows);
  },
});
