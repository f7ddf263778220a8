import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { SqlDatabase } from './database.ts';

/** The plain-SQL migrations shipped with Vigilance, applied identically to PostgreSQL and PGlite. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));

export interface Migration {
  readonly version: string;
  readonly sql: string;
  readonly checksum: string;
}

export const readMigrations = (dir: string = MIGRATIONS_DIR): readonly Migration[] =>
  readdirSync(dir)
    .filter((name) => /^\d{4}_[a-z0-9_]+\.sql$/.test(name))
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name), 'utf8');
      return {
        version: name.replace(/\.sql$/, ''),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });

// Any fixed number: it names the lock that keeps two processes from migrating one PostgreSQL at once.
const MIGRATION_LOCK = 715_262_019;

/**
 * Applies the migrations not yet applied, each in its own transaction, and returns their versions. A migration
 * already applied whose file changed since is a fault (MIGRATION_CHANGED): history is never rewritten.
 */
export const migrate = async (db: SqlDatabase, migrations = readMigrations()): Promise<readonly string[]> => {
  await db.query(`create table if not exists schema_migrations (
    version text primary key,
    checksum text not null,
    applied_at timestamptz not null default now()
  )`);
  const applied: string[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      // PGlite is one session in one process (and its data directory is locked); on PostgreSQL the advisory lock
      // serialises concurrent migrators, and the check below runs after it is held.
      if (db.driver === 'postgres') await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const [row] = await tx.query<{ checksum: string }>(
        'select checksum from schema_migrations where version = $1',
        [migration.version],
      );
      if (row !== undefined) {
        if (row.checksum !== migration.checksum) {
          throw new InfrastructureError(
            'MIGRATION_CHANGED',
            `Migration ${migration.version} was changed after it was applied; add a new migration instead.`,
          );
        }
        return false;
      }
      await tx.script(migration.sql);
      await tx.query('insert into schema_migrations (version, checksum) values ($1, $2)', [
        migration.version,
        migration.checksum,
      ]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
};
