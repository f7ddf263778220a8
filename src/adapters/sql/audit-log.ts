import { createHash } from 'node:crypto';
import serialize from 'canonicalize';
import type {
  AppendedEntry,
  AuditEntry,
  AuditLog,
  AuditQuery,
  AuditVerification,
  StoredAuditEntry,
} from '#app/application/ports/audit-log.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { JsonValue } from '#app/application/ports/json.ts';
import type { SqlExecutor } from './database.ts';

/** The hash an empty chain starts from: the first entry's `prevHash` and the head of an empty log. */
export const GENESIS_HASH = '0'.repeat(64);

/** An entry as chained: its content, its place in the chain and the hash of the entry before it. */
export interface ChainedAuditEntry extends AuditEntry {
  readonly seq: number;
  readonly id: string;
  readonly prevHash: string;
}

/**
 * The hash of a chained entry: SHA-256, in lowercase hex, of the RFC 8785 canonical JSON of exactly
 * `{seq, id, occurredAt, accountId, actorId, ip, userAgent, correlationId, action, entityType, entityId, before,
 * after, prevHash}`. Appending and verifying both call this function, so the hashed form is defined once.
 *
 * Values must be in the form the database gives back (uuids in lowercase, `occurredAt` as a UTC ISO string with
 * milliseconds), otherwise an entry would not verify once stored. Throws an InfrastructureError
 * AUDIT_ENTRY_INVALID for a value JSON cannot represent (NaN, Infinity, a lone surrogate).
 */
export const auditEntryHash = (entry: ChainedAuditEntry): string => {
  // Built field by field so that nothing else the caller's object carries can slip into the hash.
  const hashed: Record<string, JsonValue> = {
    seq: entry.seq,
    id: entry.id,
    occurredAt: entry.occurredAt,
    accountId: entry.accountId,
    actorId: entry.actorId,
    ip: entry.ip,
    userAgent: entry.userAgent,
    correlationId: entry.correlationId,
    action: entry.action,
    entityType: entry.entityType,
    entityId: entry.entityId,
    before: entry.before,
    after: entry.after,
    prevHash: entry.prevHash,
  };
  let canonical: string | undefined;
  try {
    canonical = serialize(hashed);
  } catch (error) {
    throw new InfrastructureError(
      'AUDIT_ENTRY_INVALID',
      'The audit entry holds a value JSON cannot represent.',
      {
        cause: error,
      },
    );
  }
  if (canonical === undefined) {
    throw new InfrastructureError('AUDIT_ENTRY_INVALID', 'The audit entry has no JSON representation.');
  }
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
};

export interface SqlAuditLogDeps {
  /** The id of each new entry (a UUID). */
  readonly newId: () => string;
}

export interface SqlAuditLogOptions {
  /** How many entries `verify` reads per query, which bounds its memory; a positive integer, 1,000 by default. */
  readonly pageSize?: number;
}

interface HeadRow {
  readonly [key: string]: unknown;
  readonly seq: number;
  readonly hash: string;
}

interface EntryRow {
  readonly [key: string]: unknown;
  readonly seq: unknown;
  readonly id: string;
  readonly occurred_at: unknown;
  readonly account_id: string | null;
  readonly actor_id: string | null;
  readonly ip: string | null;
  readonly user_agent: string | null;
  readonly correlation_id: string | null;
  readonly action: string;
  readonly entity_type: string;
  readonly entity_id: string;
  readonly before: JsonValue;
  readonly after: JsonValue;
  readonly prev_hash: string;
  readonly hash: string;
}

const ENTRY_COLUMNS = `seq, id::text as id, occurred_at, account_id::text as account_id, actor_id::text as actor_id,
  ip, user_agent, correlation_id, action, entity_type, entity_id, before, after, prev_hash, hash`;

/** The entry as stored, without its chain links. */
const entryOf = (row: EntryRow) => ({
  seq: Number(row.seq),
  id: row.id,
  occurredAt: String(row.occurred_at),
  accountId: row.account_id,
  actorId: row.actor_id,
  ip: row.ip,
  userAgent: row.user_agent,
  correlationId: row.correlation_id,
  action: row.action,
  entityType: row.entity_type,
  entityId: row.entity_id,
  before: row.before,
  after: row.after,
});

// A stored value that is not what append writes (a tampered row) must still be hashed, and then fail to match.
const chainedOf = (row: EntryRow): ChainedAuditEntry => ({ ...entryOf(row), prevHash: row.prev_hash });

const storedOf = (row: EntryRow): StoredAuditEntry => ({ ...entryOf(row), hash: row.hash });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The largest page `query` returns. */
const AUDIT_QUERY_MAX_LIMIT = 200;

const jsonParam = (value: JsonValue): string | null => (value === null ? null : JSON.stringify(value));

/**
 * The audit log on the SQL query layer (PostgreSQL or PGlite), over the `audit_log` table and its one-row
 * `audit_chain_head`.
 *
 * `append` must run on a transaction's executor (the unit of work's): it locks the head row, so appenders are
 * chained one after the other and the lock is held until the caller commits or rolls back. A rolled-back append
 * leaves a gap in `seq`, which is not a break. On PostgreSQL the transaction must be READ COMMITTED (the default):
 * a stricter level gets a serialization failure when another appender moved the head first. An append whose head
 * moved between its read and its write (an executor outside a transaction) writes nothing and throws an
 * InfrastructureError AUDIT_CHAIN_CONTENDED; a missing head row throws AUDIT_CHAIN_HEAD_MISSING.
 *
 * `query` reads one account's entries only, newest first (by `seq`), with each filter the query sets; an account
 * or actor id that is not a UUID finds nothing, and a limit outside 1 to 200 is a RangeError.
 *
 * `verify` needs no transaction: it reads the chain in pages of `pageSize` entries in `seq` order, and follows
 * the head if appends commit while it reads.
 */
export const createSqlAuditLog = (
  db: SqlExecutor,
  deps: SqlAuditLogDeps,
  options: SqlAuditLogOptions = {},
): AuditLog => {
  const pageSize = options.pageSize ?? 1000;

  const readHead = async (lock: boolean): Promise<HeadRow | undefined> => {
    const [head] = await db.query<HeadRow>(
      `select seq, hash from audit_chain_head${lock ? ' for update' : ''}`,
    );
    return head;
  };

  const append = async (entry: AuditEntry): Promise<AppendedEntry> => {
    const head = await readHead(true);
    if (head === undefined) {
      throw new InfrastructureError('AUDIT_CHAIN_HEAD_MISSING', 'The audit chain head row is missing.');
    }
    // The sequence is read only once the head is locked, so seq order is chain order. The database also gives
    // back the id, the instant and the uuids as it will store them: that stored form is what gets hashed.
    const [stored] = await db.query<{
      seq: unknown;
      id: string;
      occurred_at: unknown;
      account_id: string | null;
      actor_id: string | null;
    }>(
      `select nextval('audit_log_seq') as seq, $1::uuid::text as id,
              date_trunc('milliseconds', $2::timestamptz) as occurred_at,
              $3::uuid::text as account_id, $4::uuid::text as actor_id`,
      [deps.newId(), entry.occurredAt, entry.accountId, entry.actorId],
    );
    if (stored === undefined || typeof stored.seq !== 'number' || typeof stored.occurred_at !== 'string') {
      throw new InfrastructureError(
        'AUDIT_ENTRY_INVALID',
        'The audit entry needs a finite occurredAt and a sequence number within 2^53.',
      );
    }
    const chained: ChainedAuditEntry = {
      seq: stored.seq,
      id: stored.id,
      occurredAt: stored.occurred_at,
      accountId: stored.account_id,
      actorId: stored.actor_id,
      ip: entry.ip,
      userAgent: entry.userAgent,
      correlationId: entry.correlationId,
      action: entry.action,
      entityType: entry.entityType,
      entityId: entry.entityId,
      before: entry.before,
      after: entry.after,
      prevHash: head.hash,
    };
    const hash = auditEntryHash(chained);
    // The head moves only if it is still the one this entry links to, and the entry is written only if it moved:
    // without the row lock (no transaction) a concurrent appender makes this fail instead of forking the chain.
    const inserted = await db.query(
      `with moved as (
         update audit_chain_head set seq = $1, hash = $14 where seq = $15 and hash = $13 returning seq
       )
       insert into audit_log (seq, id, occurred_at, account_id, actor_id, ip, user_agent, correlation_id, action,
                              entity_type, entity_id, before, after, prev_hash, hash)
       select $1::bigint, $2::uuid, $3::timestamptz, $4::uuid, $5::uuid, $6::text, $7::text, $8::text, $9::text,
              $10::text, $11::text, $12::jsonb, $16::jsonb, $13::text, $14::text
         from moved
       returning seq`,
      [
        chained.seq,
        chained.id,
        chained.occurredAt,
        chained.accountId,
        chained.actorId,
        chained.ip,
        chained.userAgent,
        chained.correlationId,
        chained.action,
        chained.entityType,
        chained.entityId,
        jsonParam(chained.before),
        chained.prevHash,
        hash,
        head.seq,
        jsonParam(chained.after),
      ],
    );
    if (inserted.length !== 1) {
      throw new InfrastructureError(
        'AUDIT_CHAIN_CONTENDED',
        'The audit chain head moved during the append; append inside a transaction.',
      );
    }
    return { seq: chained.seq, hash };
  };

  const readPage = (after: EntryRow | null): Promise<EntryRow[]> =>
    after === null
      ? db.query<EntryRow>(`select ${ENTRY_COLUMNS} from audit_log order by seq, occurred_at limit $1`, [
          pageSize,
        ])
      : db.query<EntryRow>(
          `select ${ENTRY_COLUMNS} from audit_log
            where (seq, occurred_at) > ($1::bigint, $2::timestamptz)
            order by seq, occurred_at limit $3`,
          [after.seq, after.occurred_at, pageSize],
        );

  const query = async (q: AuditQuery): Promise<readonly StoredAuditEntry[]> => {
    if (!Number.isSafeInteger(q.limit) || q.limit < 1 || q.limit > AUDIT_QUERY_MAX_LIMIT) {
      throw new RangeError(
        `An audit query's limit is an integer from 1 to ${String(AUDIT_QUERY_MAX_LIMIT)}.`,
      );
    }
    if (!UUID.test(q.accountId) || (q.actorId !== undefined && !UUID.test(q.actorId))) return [];
    const params: unknown[] = [q.accountId];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${String(params.length)}`;
    };
    const where = ['account_id = $1'];
    if (q.action !== undefined) where.push(`action = ${param(q.action)}`);
    if (q.entityType !== undefined) where.push(`entity_type = ${param(q.entityType)}`);
    if (q.entityId !== undefined) where.push(`entity_id = ${param(q.entityId)}`);
    if (q.actorId !== undefined) where.push(`actor_id = ${param(q.actorId)}::uuid`);
    if (q.from !== undefined) where.push(`occurred_at >= ${param(q.from)}::timestamptz`);
    if (q.to !== undefined) where.push(`occurred_at < ${param(q.to)}::timestamptz`);
    if (q.beforeSeq !== undefined) where.push(`seq < ${param(q.beforeSeq)}::bigint`);
    const rows = await db.query<EntryRow>(
      `select ${ENTRY_COLUMNS} from audit_log
        where ${where.join(' and ')}
        order by seq desc
        limit ${param(q.limit)}`,
      params,
    );
    return rows.map(storedOf);
  };

  const verify = async (): Promise<AuditVerification> => {
    let entries = 0;
    let last: EntryRow | null = null;
    let lastSeq = 0;
    let lastHash = GENESIS_HASH;
    // The highest seq a head read has counted: a page read after that head read must reach it.
    let promisedSeq = 0;
    for (;;) {
      const page = await readPage(last);
      for (const row of page) {
        const chained = chainedOf(row);
        const broken = { seq: chained.seq, id: chained.id };
        if (auditEntryHash(chained) !== row.hash) {
          return { ok: false, entries, firstBroken: broken, reason: 'hash_mismatch' };
        }
        if (chained.prevHash !== lastHash || (last !== null && chained.seq <= lastSeq)) {
          return { ok: false, entries, firstBroken: broken, reason: 'broken_link' };
        }
        entries += 1;
        last = row;
        lastSeq = chained.seq;
        lastHash = row.hash;
      }
      if (page.length === pageSize) continue;
      // The head row and its entry commit together, so entries a head read counted are visible to every later
      // read: a short page that stops before them means they are gone.
      if (lastSeq < promisedSeq) break;
      const head = await readHead(false);
      if (head !== undefined && head.seq === lastSeq && head.hash === lastHash) {
        return { ok: true, entries, headHash: lastHash };
      }
      // Appends that committed since the last page was read, or a removed tail: the next page tells which.
      if (head === undefined || head.seq <= lastSeq) break;
      promisedSeq = head.seq;
    }
    return { ok: false, entries, firstBroken: null, reason: 'head_mismatch' };
  };

  return { append, query, verify };
};
