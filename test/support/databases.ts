import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import pg from 'pg';
import type { SqlDatabase } from '#app/adapters/sql/database.ts';
import { migrate } from '#app/adapters/sql/migrate.ts';
import { openPgliteDatabase } from '#app/adapters/pglite/database.ts';
import { openPostgresDatabase } from '#app/adapters/postgres/database.ts';
import { servicesRequired } from './services.ts';

export interface TestDatabase {
  readonly db: SqlDatabase;
  /** Where a test can open more connections to the same database (PostgreSQL only). */
  readonly url: string | null;
  close(): Promise<void>;
}

export interface DatabaseTarget {
  readonly name: 'pglite' | 'postgres';
  /** A fresh, migrated database of its own. */
  open(options?: { readonly migrated?: boolean }): Promise<TestDatabase>;
}

const databaseUrl = process.env.DATABASE_URL?.trim() ?? '';

const withDatabase = (url: string, name: string): string => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

const pglite: DatabaseTarget = {
  name: 'pglite',
  open: async ({ migrated = true } = {}) => {
    const db = await openPgliteDatabase({ dataDir: null });
    if (migrated) await migrate(db);
    return { db, url: null, close: () => db.close() };
  },
};

/** A throwaway database on the PostgreSQL server of DATABASE_URL, dropped on close. */
const postgres: DatabaseTarget = {
  name: 'postgres',
  open: async ({ migrated = true } = {}) => {
    const name = `vigilance_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      await admin.query(`create database ${name}`);
    } finally {
      await admin.end();
    }
    const url = withDatabase(databaseUrl, name);
    const db = openPostgresDatabase({ url, maxConnections: 20 });
    if (migrated) await migrate(db);
    return {
      db,
      url,
      close: async () => {
        await db.close();
        const dropper = new pg.Client({ connectionString: databaseUrl });
        await dropper.connect();
        try {
          await dropper.query(`drop database if exists ${name} with (force)`);
        } finally {
          await dropper.end();
        }
      },
    };
  },
};

/** Declares the PostgreSQL-only suite, or a visible skip explaining why it did not run. */
export const describeOnPostgres = (name: string, body: (target: DatabaseTarget) => void): void => {
  if (databaseUrl === '') {
    if (servicesRequired) throw new Error('REQUIRE_SERVICES=1 but DATABASE_URL is not set.');
    describe.skip(`${name} (skipped for a known reason: DATABASE_URL is not set, so there is no PostgreSQL to run on)`, () => {
      body(postgres);
    });
    return;
  }
  describe(name, () => {
    body(postgres);
  });
};

/**
 * Declares a suite once per database: PGlite always; PostgreSQL when DATABASE_URL is set, otherwise a visible
 * skip (and a failure under REQUIRE_SERVICES=1, as in CI).
 */
export const describeOnEachDatabase = (name: string, body: (target: DatabaseTarget) => void): void => {
  describe(`${name} on pglite`, () => {
    body(pglite);
  });
  describeOnPostgres(`${name} on postgres`, body);
};
