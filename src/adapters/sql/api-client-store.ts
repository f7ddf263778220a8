import type { ApiClient, ApiClientStore } from '#app/application/ports/account-store.ts';
import type { SqlExecutor } from './database.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type ApiClientRow = {
  readonly id: string;
  readonly account_id: string;
  readonly name: string;
  readonly role: ApiClient['role'];
  readonly public_jwk: Readonly<Record<string, unknown>>;
  readonly jkt: string;
  readonly created_at: string;
  readonly created_by: string | null;
  readonly revoked_at: string | null;
};

const COLUMNS = 'id, account_id, name, role, public_jwk, jkt, created_at, created_by, revoked_at';

const fromRow = (row: ApiClientRow): ApiClient => ({
  id: row.id,
  accountId: row.account_id,
  name: row.name,
  role: row.role,
  publicJwk: row.public_jwk,
  jkt: row.jkt,
  createdAt: row.created_at,
  createdBy: row.created_by,
  revokedAt: row.revoked_at,
});

/**
 * The ApiClientStore on the `api_clients` table, for PostgreSQL and PGlite alike. `list` gives an account's
 * clients, revoked ones included, oldest first. A revocation is kept once: revoking again returns the client with
 * its first `revokedAt`. Ids that are not UUIDs find nothing; instants come back in canonical ISO form.
 */
export const createSqlApiClientStore = (db: SqlExecutor): ApiClientStore => ({
  insert: async (client) => {
    await db.query(
      `insert into api_clients (${COLUMNS})
       values ($1, $2, $3, $4, $5::jsonb, $6, $7::timestamptz, $8, $9::timestamptz)`,
      [
        client.id,
        client.accountId,
        client.name,
        client.role,
        JSON.stringify(client.publicJwk),
        client.jkt,
        client.createdAt,
        client.createdBy,
        client.revokedAt,
      ],
    );
  },

  get: async (id) => {
    if (!UUID.test(id)) return null;
    const [row] = await db.query<ApiClientRow>(`select ${COLUMNS} from api_clients where id = $1`, [id], {
      name: 'api_client_by_id',
    });
    return row === undefined ? null : fromRow(row);
  },

  list: async (accountId) => {
    if (!UUID.test(accountId)) return [];
    const rows = await db.query<ApiClientRow>(
      `select ${COLUMNS} from api_clients where account_id = $1 order by created_at, id`,
      [accountId],
    );
    return rows.map(fromRow);
  },

  revoke: async (accountId, id, at) => {
    if (!UUID.test(accountId) || !UUID.test(id)) return null;
    const [row] = await db.query<ApiClientRow>(
      `update api_clients set revoked_at = coalesce(revoked_at, $3::timestamptz)
        where account_id = $1 and id = $2
        returning ${COLUMNS}`,
      [accountId, id, at],
    );
    return row === undefined ? null : fromRow(row);
  },
});
