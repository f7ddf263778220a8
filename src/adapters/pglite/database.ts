import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import {
  DATE_OID,
  INT8_OID,
  normaliseRow,
  parseInt8,
  type SqlDatabase,
  type SqlExecutor,
  type SqlRow,
} from '#app/adapters/sql/database.ts';

export interface PgliteOptions {
  /** The data directory, or null for an in-memory database (tests, benchmarks). */
  readonly dataDir: string | null;
}

/** Another process holds the embedded database: PGlite does not lock its data directory itself. */
const locked = (dataDir: string, holderPid: number | null): InfrastructureError =>
  new InfrastructureError(
    'DATABASE_LOCKED',
    `The embedded database in ${dataDir} is in use by another Vigilance process` +
      (holderPid === null ? '' : ` (pid ${String(holderPid)})`) +
      '. Stop it, or point VIGILANCE_DATA_DIR elsewhere.',
  );

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
};

/**
 * Takes the data directory's exclusive lockfile (created with O_EXCL, holding our pid). A lockfile whose process
 * is gone is stale and taken over. Returns the release function.
 */
const lockDataDir = (dataDir: string): (() => void) => {
  mkdirSync(dataDir, { recursive: true });
  const lockFile = join(dataDir, 'vigilance.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(lockFile, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        rmSync(lockFile, { force: true });
      };
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(lockFile, 'utf8').trim(), 10);
      if (Number.isInteger(holder) && holder !== process.pid && processAlive(holder)) {
        throw locked(dataDir, holder);
      }
      if (holder === process.pid) throw locked(dataDir, holder);
      rmSync(lockFile, { force: true });
    }
  }
  throw locked(dataDir, null);
};

const parsers = {
  [INT8_OID]: parseInt8,
  // A DATE is a calendar day, kept as its text so no time zone can shift it.
  [DATE_OID]: (text: string) => text,
};

const executor = (client: PGlite | Transaction): SqlExecutor => ({
  query: async <R extends SqlRow>(text: string, params: readonly unknown[] = []) => {
    const result = await client.query<SqlRow>(text, [...params]);
    return result.rows.map((row) => normaliseRow(row) as R);
  },
  script: async (text) => {
    await client.exec(text);
  },
});

/**
 * Opens embedded PostgreSQL (PGlite, in this process) on a data directory, or in memory. The directory is locked
 * for this process; a second opener gets an InfrastructureError DATABASE_LOCKED. Cold start takes seconds.
 */
export const openPgliteDatabase = async (options: PgliteOptions): Promise<SqlDatabase> => {
  const release = options.dataDir === null ? () => undefined : lockDataDir(options.dataDir);
  try {
    const client = await PGlite.create({
      ...(options.dataDir === null ? {} : { dataDir: options.dataDir }),
      extensions: { btree_gist },
      parsers,
    });
    const base = executor(client);
    return {
      driver: 'pglite',
      query: base.query,
      script: base.script,
      transaction: (work) => client.transaction((tx) => work(executor(tx))),
      close: async () => {
        try {
          await client.close();
        } finally {
          release();
        }
      },
    };
  } catch (error) {
    release();
    throw error;
  }
};
