/**
 * The one query layer both drivers serve: plain SQL with positional parameters. PostgreSQL (`pg`) and embedded
 * PGlite hand the repositories in this folder a `SqlDatabase`; rows come back normalised the same way from both.
 */

export type SqlRow = Record<string, unknown>;

export interface QueryOptions {
  /**
   * Names the statement so PostgreSQL parses and plans it once per connection (hot lookups); the same name must
   * always carry the same text. PGlite, in process, has no use for it.
   */
  readonly name?: string;
}

export interface SqlExecutor {
  /**
   * Runs one statement. Parameters are passed as text, numbers, booleans or null: JSON goes in as a string with
   * an explicit `::jsonb` cast, instants as ISO strings with `::timestamptz`. Rows come back with timestamps as
   * ISO strings, dates as YYYY-MM-DD, int8 as numbers (strings beyond 2^53), JSON parsed.
   */
  readonly query: <R extends SqlRow = SqlRow>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ) => Promise<R[]>;
  /** Runs a script of several statements without parameters (migrations). */
  readonly script: (text: string) => Promise<void>;
}

export interface SqlDatabase extends SqlExecutor {
  readonly driver: 'postgres' | 'pglite';
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  readonly transaction: <T>(work: (tx: SqlExecutor) => Promise<T>) => Promise<T>;
  readonly close: () => Promise<void>;
}

/** Type parsers both drivers install, so values read the same whichever answered. */
export const INT8_OID = 20;
export const DATE_OID = 1082;

export const parseInt8 = (text: string): number | string => {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
};

/** Timestamps become ISO strings: a Date is mutable and its local-time methods invite time-zone mistakes. */
export const normaliseRow = (row: SqlRow): SqlRow => {
  const out: SqlRow = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] =
      value instanceof Date
        ? value.toISOString()
        : typeof value === 'bigint'
          ? parseInt8(String(value))
          : value;
  }
  return out;
};

/** The SQLSTATE of a driver error (both drivers expose it as `code`), or null. */
export const sqlState = (error: unknown): string | null => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
};

export const SQLSTATE = {
  UNIQUE_VIOLATION: '23505',
  EXCLUSION_VIOLATION: '23P01',
  INSUFFICIENT_PRIVILEGE: '42501',
  SERIALIZATION_FAILURE: '40001',
  DEADLOCK_DETECTED: '40P01',
} as const;
