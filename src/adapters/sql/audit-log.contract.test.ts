import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { AuditEntry } from '#app/application/ports/audit-log.ts';
import type { JsonValue } from '#app/application/ports/json.ts';
import {
  auditEntry,
  describeAuditLogContract,
  type AuditLogSubject,
  type StoredAuditEntry,
} from '../../../test/contracts/audit-log.contract.ts';
import {
  describeOnEachDatabase,
  describeOnPostgres,
  type TestDatabase,
} from '../../../test/support/databases.ts';
import { auditEntryHash, createSqlAuditLog, GENESIS_HASH, type SqlAuditLogOptions } from './audit-log.ts';
import type { SqlDatabase, SqlExecutor, SqlRow } from './database.ts';
import { ensurePartitions } from './partitions.ts';

const createHashHex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

const sequentialIds = (): { newId: () => string } => {
  let n = 0;
  return {
    newId: () => {
      n += 1;
      return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
    },
  };
};

interface StoredRow {
  readonly [key: string]: unknown;
  readonly seq: number;
  readonly id: string;
  readonly occurred_at: string;
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
  readonly partition: string;
}

const readStored = async (
  db: SqlExecutor,
): Promise<readonly (StoredAuditEntry & { partition: string })[]> => {
  const rows = await db.query<StoredRow>(
    `select seq, id::text as id, occurred_at, account_id::text as account_id, actor_id::text as actor_id, ip,
            user_agent, correlation_id, action, entity_type, entity_id, before, after, prev_hash, hash,
            tableoid::regclass::text as partition
       from audit_log order by seq`,
  );
  return rows.map((r) => ({
    seq: r.seq,
    id: r.id,
    occurredAt: r.occurred_at,
    accountId: r.account_id,
    actorId: r.actor_id,
    ip: r.ip,
    userAgent: r.user_agent,
    correlationId: r.correlation_id,
    action: r.action,
    entityType: r.entity_type,
    entityId: r.entity_id,
    before: r.before,
    after: r.after,
    prevHash: r.prev_hash,
    hash: r.hash,
    partition: r.partition,
  }));
};

/** What a superuser can do: replica mode skips the append-only triggers, for this transaction only. */
const bypassingTriggers = (
  db: SqlDatabase,
  text: string,
  params: readonly unknown[] = [],
): Promise<unknown[]> =>
  db.transaction(async (tx) => {
    await tx.query('set local session_replication_role = replica');
    return tx.query(text, params);
  });

const tamperOne = async (db: SqlDatabase, text: string, params: readonly unknown[]): Promise<void> => {
  const rows = await bypassingTriggers(db, text, params);
  if (rows.length !== 1) throw new Error(`the tamper touched ${String(rows.length)} entries, not one`);
};

const resetLog = async (db: SqlDatabase): Promise<void> => {
  await db.transaction(async (tx) => {
    await tx.query('set local session_replication_role = replica');
    await tx.query('delete from audit_log');
    await tx.query('update audit_chain_head set seq = 0, hash = $1', [GENESIS_HASH]);
  });
};

const sqlSubject = (t: TestDatabase, options: SqlAuditLogOptions = {}): AuditLogSubject => {
  const ids = sequentialIds();
  return {
    transaction: (work) => t.db.transaction((tx) => work(createSqlAuditLog(tx, ids, options))),
    log: createSqlAuditLog(t.db, ids, options),
    stored: () => readStored(t.db),
    reset: () => resetLog(t.db),
    tamper: {
      setAfter: (seq, after) =>
        tamperOne(t.db, 'update audit_log set after = $2::jsonb where seq = $1 returning seq', [
          seq,
          JSON.stringify(after),
        ]),
      remove: (seq) => tamperOne(t.db, 'delete from audit_log where seq = $1 returning seq', [seq]),
    },
    close: () => t.close(),
  };
};

describeOnEachDatabase('SQL audit log', (target) => {
  describeAuditLogContract('SQL', async () => sqlSubject(await target.open()));
  // Pages of two entries put page boundaries between every pair the contract's cases look at.
  describeAuditLogContract('SQL, reading pages of two entries', async () =>
    sqlSubject(await target.open(), { pageSize: 2 }),
  );
});

describeOnEachDatabase('SQL audit log storage', (target) => {
  let t: TestDatabase;
  let subject: AuditLogSubject;
  beforeAll(async () => {
    t = await target.open();
    subject = sqlSubject(t);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await subject.reset();
  });

  const append = (entry: AuditEntry) => subject.transaction((log) => log.append(entry));

  it('refuses UPDATE, DELETE and TRUNCATE on the log, on a month partition and on the default partition (42501)', async () => {
    await ensurePartitions(t.db, new Date('2026-03-01T00:00:00Z'), 0);
    await append(auditEntry({ occurredAt: '2026-03-02T10:00:00.000Z' }));
    await append(auditEntry({ occurredAt: '2041-07-02T10:00:00.000Z' }));
    const stored = await readStored(t.db);
    expect(stored.map((e) => e.partition)).toEqual(['audit_log_y2026m03', 'audit_log_default']);

    for (const table of ['audit_log', 'audit_log_y2026m03', 'audit_log_default']) {
      for (const statement of [
        `update ${table} set after = '{"verdict":"GREEN"}'::jsonb`,
        `update ${table} set prev_hash = hash`,
        `delete from ${table}`,
        `truncate ${table}`,
      ]) {
        await expect(t.db.query(statement), statement).rejects.toMatchObject({ code: '42501' });
      }
    }
    expect(await readStored(t.db)).toEqual(stored);
    expect(await subject.log.verify()).toMatchObject({ ok: true, entries: 2 });
  });

  it('keeps the instant as PostgreSQL gives it back, so a stored entry hashes as it did when appended', async () => {
    const inputs = [
      '2026-03-02T12:15:30+02:00',
      '2026-03-02T10:15:30.123456Z',
      '2026-03-02T10:15:30.5Z',
      '2026-03-02 10:15:30.999999+00',
    ];
    const appended = [];
    for (const occurredAt of inputs) appended.push(await append(auditEntry({ occurredAt })));

    const stored = await readStored(t.db);
    expect(stored.map((e) => e.occurredAt)).toEqual([
      '2026-03-02T10:15:30.000Z',
      '2026-03-02T10:15:30.123Z',
      '2026-03-02T10:15:30.500Z',
      '2026-03-02T10:15:30.999Z',
    ]);
    // What the database holds is the millisecond instant that was hashed, not a finer one.
    const [exact] = await t.db.query<{ micros: number }>(
      `select count(*)::int as micros from audit_log where occurred_at <> date_trunc('milliseconds', occurred_at)`,
    );
    expect(exact?.micros).toBe(0);
    expect(stored.map((e) => auditEntryHash(e))).toEqual(appended.map((a) => a.hash));
    expect(stored.map((e) => e.hash)).toEqual(appended.map((a) => a.hash));
    expect(await subject.log.verify()).toMatchObject({ ok: true, entries: 4 });
  });

  it('hashes uuids in the form the database keeps them', async () => {
    await append(
      auditEntry({
        accountId: '6F1C2A4E-9B3D-4C8E-A7F0-1D2E3F4A5B6C',
        actorId: '{0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d}',
      }),
    );
    const [stored] = await readStored(t.db);
    expect(stored?.accountId).toBe('6f1c2a4e-9b3d-4c8e-a7f0-1d2e3f4a5b6c');
    expect(stored?.actorId).toBe('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
    expect(await subject.log.verify()).toMatchObject({ ok: true, entries: 1 });
  });

  it('hashes exactly the documented fields, canonicalised (RFC 8785)', () => {
    const entry = {
      seq: 7,
      id: '00000000-0000-4000-8000-000000000007',
      occurredAt: '2026-03-02T10:15:30.250Z',
      accountId: null,
      actorId: null,
      ip: null,
      userAgent: null,
      correlationId: 'c',
      action: 'a.b',
      entityType: 't',
      entityId: 'e',
      before: null,
      after: { b: 1, a: 'é' },
      prevHash: GENESIS_HASH,
    };
    // Key order sorted, no spaces, strings as JSON, computed independently of the adapter.
    const canonical =
      '{"accountId":null,"action":"a.b","actorId":null,"after":{"a":"é","b":1},"before":null,' +
      '"correlationId":"c","entityId":"e","entityType":"t","id":"00000000-0000-4000-8000-000000000007",' +
      `"ip":null,"occurredAt":"2026-03-02T10:15:30.250Z","prevHash":"${GENESIS_HASH}","seq":7,"userAgent":null}`;
    const expected = createHashHex(canonical);
    expect(auditEntryHash(entry)).toBe(expected);
    expect(auditEntryHash({ ...entry, extra: 'ignored' } as typeof entry)).toBe(expected);
    expect(auditEntryHash({ ...entry, after: { a: 'é', b: 2 } })).not.toBe(expected);
    expect(() => auditEntryHash({ ...entry, after: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'AUDIT_ENTRY_INVALID' }),
    );
  });

  it('leaves a gap in seq after a rolled-back append, which is not a break', async () => {
    const first = await append(auditEntry({ entityId: 'kept-1' }));
    await expect(
      subject.transaction(async (log) => {
        await log.append(auditEntry({ entityId: 'rolled-back' }));
        throw new Error('rolled back on purpose');
      }),
    ).rejects.toThrow('rolled back on purpose');
    const second = await append(auditEntry({ entityId: 'kept-2' }));

    expect(second.seq).toBe(first.seq + 2);
    expect(await subject.log.verify()).toEqual({ ok: true, entries: 2, headHash: second.hash });
  });

  it('chains entries across a month boundary, each in its month partition', async () => {
    await ensurePartitions(t.db, new Date('2026-11-29T00:00:00Z'));
    await append(auditEntry({ occurredAt: '2026-11-30T23:59:59.999Z' }));
    await append(auditEntry({ occurredAt: '2026-12-01T00:00:00.000Z' }));
    // Entries follow the order they were appended in, not their instants.
    await append(auditEntry({ occurredAt: '2026-11-15T08:00:00.000Z' }));

    expect((await readStored(t.db)).map((e) => e.partition)).toEqual([
      'audit_log_y2026m11',
      'audit_log_y2026m12',
      'audit_log_y2026m11',
    ]);
    expect(await subject.log.verify()).toMatchObject({ ok: true, entries: 3 });
  });

  it('appends to a month with no partition yet through the default partition, and verifies once maintenance moved it', async () => {
    await append(auditEntry({ occurredAt: '2033-05-10T08:00:00.000Z' }));
    const last = await append(auditEntry({ occurredAt: '2033-05-31T23:59:59.999Z' }));
    expect((await readStored(t.db)).map((e) => e.partition)).toEqual([
      'audit_log_default',
      'audit_log_default',
    ]);
    expect(await subject.log.verify()).toEqual({ ok: true, entries: 2, headHash: last.hash });

    expect(await ensurePartitions(t.db, new Date('2033-05-01T00:00:00Z'), 0)).toContain('audit_log_y2033m05');
    expect((await readStored(t.db)).map((e) => e.partition)).toEqual([
      'audit_log_y2033m05',
      'audit_log_y2033m05',
    ]);
    expect(await subject.log.verify()).toEqual({ ok: true, entries: 2, headHash: last.hash });
  });

  it('names a tamper made directly on a month partition', async () => {
    await ensurePartitions(t.db, new Date('2026-03-01T00:00:00Z'), 0);
    await append(auditEntry({ occurredAt: '2026-03-02T10:00:00.000Z', entityId: 'a-1' }));
    await append(auditEntry({ occurredAt: '2026-03-03T10:00:00.000Z', entityId: 'a-2' }));
    const [, second] = await readStored(t.db);
    if (second === undefined) throw new Error('two entries expected');
    await tamperOne(t.db, 'update audit_log_y2026m03 set ip = $2 where seq = $1 returning seq', [
      second.seq,
      '198.51.100.1',
    ]);

    expect(await subject.log.verify()).toEqual({
      ok: false,
      entries: 1,
      firstBroken: { seq: second.seq, id: second.id },
      reason: 'hash_mismatch',
    });
  });

  /** Inserts an entry whose own hash is right (inserts are not refused: the chain is what catches them). */
  const forge = async (seq: number, prevHash: string): Promise<{ seq: number; id: string }> => {
    const id = `00000000-0000-4000-8000-${seq.toString(16).padStart(12, 'f')}`;
    const entry = { ...auditEntry({ action: 'forged' }), seq, id, prevHash };
    await t.db.query(
      `insert into audit_log (seq, id, occurred_at, account_id, actor_id, ip, user_agent, correlation_id, action,
                              entity_type, entity_id, before, after, prev_hash, hash)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14, $15)`,
      [
        seq,
        id,
        entry.occurredAt,
        entry.accountId,
        entry.actorId,
        entry.ip,
        entry.userAgent,
        entry.correlationId,
        entry.action,
        entry.entityType,
        entry.entityId,
        JSON.stringify(entry.before),
        JSON.stringify(entry.after),
        prevHash,
        auditEntryHash(entry),
      ],
    );
    return { seq, id };
  };

  it('names the entry after one inserted into a gap of the chain', async () => {
    const first = await append(auditEntry({ entityId: 'a-1' }));
    await expect(
      subject.transaction(async (log) => {
        await log.append(auditEntry({ entityId: 'rolled-back' }));
        throw new Error('rolled back on purpose');
      }),
    ).rejects.toThrow('rolled back on purpose');
    await append(auditEntry({ entityId: 'a-3' }));
    const [, third] = await readStored(t.db);
    if (third === undefined) throw new Error('two entries expected');
    await forge(first.seq + 1, first.hash);

    expect(await subject.log.verify()).toEqual({
      ok: false,
      entries: 2,
      firstBroken: { seq: third.seq, id: third.id },
      reason: 'broken_link',
    });
  });

  it('reports a head mismatch for an entry forged past the head', async () => {
    const last = await append(auditEntry());
    await forge(last.seq + 1, last.hash);

    expect(await subject.log.verify()).toEqual({
      ok: false,
      entries: 2,
      firstBroken: null,
      reason: 'head_mismatch',
    });
  });

  it('reports a head mismatch when the head was rewritten', async () => {
    await append(auditEntry());
    await t.db.query('update audit_chain_head set hash = $1', ['e'.repeat(64)]);
    expect(await subject.log.verify()).toEqual({
      ok: false,
      entries: 1,
      firstBroken: null,
      reason: 'head_mismatch',
    });
  });

  it('writes nothing when the head moved between its read and the append (no transaction to hold the lock)', async () => {
    await append(auditEntry({ entityId: 'a-1' }));
    // An executor outside a transaction, and another appender committing right after the head was read.
    const interleaved: SqlExecutor = {
      script: (text) => t.db.script(text),
      query: async <R extends SqlRow>(text: string, params?: readonly unknown[]) => {
        const rows = await t.db.query<R>(text, params);
        if (text.includes('for update')) {
          await subject.transaction((log) => log.append(auditEntry({ entityId: 'a-2' })));
        }
        return rows;
      },
    };
    await expect(
      createSqlAuditLog(interleaved, sequentialIds()).append(auditEntry({ entityId: 'a-3' })),
    ).rejects.toMatchObject({
      code: 'AUDIT_CHAIN_CONTENDED',
    });
    expect((await readStored(t.db)).map((e) => e.entityId)).toEqual(['a-1', 'a-2']);
    expect(await subject.log.verify()).toMatchObject({ ok: true, entries: 2 });
  });
});

/** Resolves once `count` callers arrived; later callers pass straight through. */
const barrier = (count: number): (() => Promise<void>) => {
  let arrived = 0;
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return () => {
    arrived += 1;
    if (arrived >= count) open();
    return arrived <= count ? opened : Promise.resolve();
  };
};

describeOnPostgres('SQL audit log under concurrent appends on postgres', (target) => {
  let t: TestDatabase;
  let subject: AuditLogSubject;
  beforeAll(async () => {
    t = await target.open();
    subject = sqlSubject(t);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await subject.reset();
  });

  /** Appends `count` entries, each in a transaction of its own on its own connection, the first ten all open at once. */
  const appendConcurrently = async (count: number) => {
    const allOpen = barrier(10);
    const ids = sequentialIds();
    return Promise.all(
      Array.from({ length: count }, (_, i) =>
        t.db.transaction(async (tx) => {
          const [backend] = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
          await allOpen();
          const appended = await createSqlAuditLog(tx, ids).append(
            auditEntry({ entityId: `c-${String(i)}` }),
          );
          return { ...appended, pid: backend?.pid };
        }),
      ),
    );
  };

  it('keeps one valid chain through 50 concurrent appends from separate transactions', async () => {
    const appended = await appendConcurrently(50);
    expect(new Set(appended.map((a) => a.pid)).size).toBeGreaterThanOrEqual(10);

    const stored = await readStored(t.db);
    expect(stored).toHaveLength(50);
    expect(new Set(stored.map((e) => e.entityId)).size).toBe(50);
    stored.forEach((entry, i) => {
      const previous = stored[i - 1];
      expect(entry.prevHash).toBe(previous === undefined ? GENESIS_HASH : previous.hash);
      if (previous !== undefined) expect(entry.seq).toBeGreaterThan(previous.seq);
    });
    expect(new Set(appended.map((a) => a.hash))).toEqual(new Set(stored.map((e) => e.hash)));
    expect(await subject.log.verify()).toEqual({ ok: true, entries: 50, headHash: stored.at(-1)?.hash });
  });

  it('verifies while appends commit, without reporting a break', async () => {
    const pagedLog = createSqlAuditLog(t.db, sequentialIds(), { pageSize: 3 });
    const progress = { appending: true };
    const appends = appendConcurrently(40).finally(() => {
      progress.appending = false;
    });
    const verifications = [];
    do {
      verifications.push(await pagedLog.verify());
    } while (progress.appending);
    await appends;

    expect(verifications.filter((v) => !v.ok)).toEqual([]);
    expect(await pagedLog.verify()).toMatchObject({ ok: true, entries: 40 });
  });
});
