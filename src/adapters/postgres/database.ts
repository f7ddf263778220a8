import pg from 'pg';
import {
  DATE_OID,
  INT8_OID,
  normaliseRow,
  parseInt8,
  type SqlDatabase,
  type QueryOptions,
  type SqlExecutor,
  type SqlRow,
} from '#app/adapters/sql/database.ts';

export interface PostgresOptions {
  readonly url: string;
  /** Pool size; the default suits one process on a small machine. */
  readonly maxConnections?: number;
}

const types = new pg.TypeOverrides();
types.setTypeParser(INT8_OID, parseInt8);
// A DATE is a calendar day: pg's default turns it into a local-midnight Date, which shifts it across zones.
types.setTypeParser(DATE_OID, (text: string) => text);

const executor = (client: pg.Pool | pg.PoolClient): SqlExecutor => ({
  query: async <R extends SqlRow>(
    text: string,
    params: readonly unknown[] = [],
    options: QueryOptions = {},
  ) => {
    const result = await client.query<SqlRow>(
      options.name === undefined
        ? { text, values: [...params] }
        : { name: options.name, text, values: [...params] },
    );
    return result.rows.map((row) => normaliseRow(row) as R);
  },
  script: async (text) => {
    await client.query(text);
  },
});

/** Opens a connection pool on PostgreSQL 15+; nothing connects until the first query. */
export const openPostgresDatabase = (options: PostgresOptions): SqlDatabase => {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    types,
  });
  // An idle client losing its connection must not crash the process; the next query gets a fresh one.
  pool.on('error', () => undefined);
  const base = executor(pool);
  return {
    driver: 'postgres',
    query: base.query,
    script: base.script,
    transaction: async (work) => {
      const client = await pool.connect();
      // pg-pool stops listening for a client's errors while it is checked out: without a listener, a connection
      // terminated mid-transaction (server restart, failover, killed session) would crash the process instead of
      // failing this transaction's next query.
      const onError = (): void => undefined;
      client.on('error', onError);
      try {
        await client.query('begin');
        const result = await work(executor(client));
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      } finally {
        client.off('error', onError);
        client.release();
      }
    },
    close: () => pool.end(),
  };
};
