import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type {
  AuditEntry,
  AuditLog,
  AuditQuery,
  StoredAuditEntry as QueriedAuditEntry,
} from '#app/application/ports/audit-log.ts';
import type { JsonValue } from '#app/application/ports/json.ts';

/** An entry as the adapter keeps it, read around the port so the test does not take the adapter's word. */
export interface StoredAuditEntry extends AuditEntry {
  readonly seq: number;
  readonly id: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** One adapter on one store, with what a test needs beyond the port. */
export interface AuditLogSubject {
  /** Runs `work` in a transaction of its own: what it appends commits when it resolves, and none of it when it throws. */
  transaction<T>(work: (log: AuditLog) => Promise<T>): Promise<T>;
  /** The log outside any transaction, as `vigilance audit verify` uses it. */
  readonly log: AuditLog;
  /** Every kept entry in seq order. */
  stored(): Promise<readonly StoredAuditEntry[]>;
  /** Empties the log and its head, as on a fresh install, so each case starts from an unbroken chain. */
  reset(): Promise<void>;
  /** What a privileged operator can do behind the log's back, bypassing its append-only guard. */
  readonly tamper: {
    setAfter(seq: number, after: JsonValue): Promise<void>;
    remove(seq: number): Promise<void>;
  };
  close(): Promise<void>;
}

const GENESIS_HASH = '0'.repeat(64);

export const auditEntry = (overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  occurredAt: '2026-03-02T10:15:30.250Z',
  accountId: '00000000-0000-4000-8000-000000000001',
  actorId: '00000000-0000-4000-8000-000000000002',
  ip: '203.0.113.7',
  userAgent: 'vigilance-cli/0.1',
  correlationId: 'corr-1',
  action: 'assessment.created',
  entityType: 'assessment',
  entityId: 'a-1',
  before: null,
  after: { verdict: 'GREEN' },
  ...overrides,
});

/**
 * The AuditLog contract: entries are kept exactly, chained, and verify names the first entry a privileged
 * tamper broke. Every AuditLog adapter runs it, on every store it supports.
 */
export const describeAuditLogContract = (name: string, open: () => Promise<AuditLogSubject>): void => {
  describe(`AuditLog contract: ${name}`, () => {
    let subject: AuditLogSubject;
    beforeAll(async () => {
      subject = await open();
    });
    afterAll(async () => {
      await subject.close();
    });
    beforeEach(async () => {
      await subject.reset();
    });

    /** Appends each entry in a transaction of its own and returns them as stored. */
    const appendEach = async (count: number): Promise<readonly StoredAuditEntry[]> => {
      for (let i = 0; i < count; i += 1) {
        await subject.transaction((log) =>
          log.append(auditEntry({ entityId: `a-${String(i)}`, after: { i } })),
        );
      }
      const stored = await subject.stored();
      expect(stored).toHaveLength(count);
      return stored;
    };

    const at = (stored: readonly StoredAuditEntry[], index: number): StoredAuditEntry => {
      const entry = stored[index];
      if (entry === undefined) throw new Error(`no entry at index ${String(index)}`);
      return entry;
    };

    it('verifies an empty log, whose head is the genesis hash', async () => {
      expect(await subject.log.verify()).toEqual({ ok: true, entries: 0, headHash: GENESIS_HASH });
    });

    it('chains appends, one per transaction or several in one, and verifies them with the last hash as head', async () => {
      const first = await subject.transaction((log) => log.append(auditEntry({ entityId: 'a-1' })));
      const [second, third] = await subject.transaction(async (log) => [
        await log.append(auditEntry({ entityId: 'a-2' })),
        await log.append(auditEntry({ entityId: 'a-3' })),
      ]);
      expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(second.seq).toBeGreaterThan(first.seq);
      expect(third.seq).toBeGreaterThan(second.seq);
      expect(new Set([first.hash, second.hash, third.hash]).size).toBe(3);

      const stored = await subject.stored();
      expect(stored.map((e) => [e.seq, e.hash])).toEqual([
        [first.seq, first.hash],
        [second.seq, second.hash],
        [third.seq, third.hash],
      ]);
      expect(stored.map((e) => e.prevHash)).toEqual([GENESIS_HASH, first.hash, second.hash]);
      expect(await subject.log.verify()).toEqual({ ok: true, entries: 3, headHash: third.hash });
    });

    it('keeps every field exactly, JSON with unicode and nesting included', async () => {
      const full = auditEntry({
        occurredAt: '2026-03-02T10:15:30.251Z',
        accountId: '6f1c2a4e-9b3d-4c8e-a7f0-1d2e3f4a5b6c',
        actorId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
        ip: '2001:db8::1',
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) "quoted" \\ back',
        correlationId: '01J9Z3W8Q4K7V2M5N6P8R0S1T3',
        action: 'assessment.re-evaluated',
        entityType: 'assessment',
        entityId: 'b5c0e7a2-3f41-4d8c-9e6a-7b1f2c3d4e5f',
        before: { verdict: 'GREY', sources: [{ name: 'vies', status: 'unavailable' }] },
        after: {
          verdict: 'RED',
          raisonSociale: 'Société Générale des Eaux — Œuvre ✓ 🏭',
          'clé spéciale': { nested: { deeper: [1, 2.5, -3, 1e21, true, false, null, 'x'] } },
          empty: {},
          list: [],
          zero: 0,
          escapes: 'line\nbreak\ttab "quote" \\',
        },
      });
      const bare = auditEntry({
        occurredAt: '2026-03-02T10:15:31.000Z',
        accountId: null,
        actorId: null,
        ip: null,
        userAgent: null,
        correlationId: null,
        action: 'system.started',
        entityType: 'system',
        entityId: '-',
        before: null,
        after: null,
      });
      const scalarJson = auditEntry({ before: 'plain string', after: 42 });
      await subject.transaction(async (log) => {
        await log.append(full);
        await log.append(bare);
        await log.append(scalarJson);
      });

      const stored = await subject.stored();
      const content = stored.map((e): AuditEntry => ({
        occurredAt: e.occurredAt,
        accountId: e.accountId,
        actorId: e.actorId,
        ip: e.ip,
        userAgent: e.userAgent,
        correlationId: e.correlationId,
        action: e.action,
        entityType: e.entityType,
        entityId: e.entityId,
        before: e.before,
        after: e.after,
      }));
      expect(content).toEqual([full, bare, scalarJson]);
      expect(stored.map((e) => e.prevHash)).toEqual([GENESIS_HASH, at(stored, 0).hash, at(stored, 1).hash]);
      expect(new Set(stored.map((e) => e.id)).size).toBe(3);
      expect(await subject.log.verify()).toMatchObject({ ok: true, entries: 3 });
    });

    it.each([
      ['first', 0],
      ['middle', 2],
      ['last', 4],
    ])('names the %s entry when a privileged tamper changed its content', async (_position, index) => {
      const stored = await appendEach(5);
      const target = at(stored, index);
      await subject.tamper.setAfter(target.seq, { verdict: 'GREEN', edited: true });

      expect(await subject.log.verify()).toEqual({
        ok: false,
        entries: index,
        firstBroken: { seq: target.seq, id: target.id },
        reason: 'hash_mismatch',
      });
    });

    it.each([
      ['first', 0],
      ['middle', 2],
    ])('names the entry after the %s one when a privileged tamper removed it', async (_position, index) => {
      const stored = await appendEach(5);
      await subject.tamper.remove(at(stored, index).seq);
      const next = at(stored, index + 1);

      expect(await subject.log.verify()).toEqual({
        ok: false,
        entries: index,
        firstBroken: { seq: next.seq, id: next.id },
        reason: 'broken_link',
      });
    });

    it('reports a head mismatch when a privileged tamper removed the last entry and left the head alone', async () => {
      const stored = await appendEach(5);
      await subject.tamper.remove(at(stored, 4).seq);

      expect(await subject.log.verify()).toEqual({
        ok: false,
        entries: 4,
        firstBroken: null,
        reason: 'head_mismatch',
      });
    });

    it('keeps nothing of a rolled-back append, and the chain still verifies', async () => {
      const kept = await subject.transaction((log) => log.append(auditEntry({ entityId: 'kept-1' })));
      const rollback = new Error('rolled back on purpose');
      await expect(
        subject.transaction(async (log) => {
          await log.append(auditEntry({ entityId: 'rolled-back' }));
          throw rollback;
        }),
      ).rejects.toBe(rollback);
      const after = await subject.transaction((log) => log.append(auditEntry({ entityId: 'kept-2' })));

      const stored = await subject.stored();
      expect(stored.map((e) => e.entityId)).toEqual(['kept-1', 'kept-2']);
      expect(at(stored, 1).prevHash).toBe(kept.hash);
      expect(await subject.log.verify()).toEqual({ ok: true, entries: 2, headHash: after.hash });
    });

    const ACCOUNT = '00000000-0000-4000-8000-000000000001';
    const OTHER_ACCOUNT = '6f1c2a4e-9b3d-4c8e-a7f0-1d2e3f4a5b6c';
    const ACTOR = '00000000-0000-4000-8000-000000000002';
    const OTHER_ACTOR = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

    /** What `query` returns of a stored entry: its content, seq, id and hash. */
    const queried = (e: StoredAuditEntry): QueriedAuditEntry => ({
      seq: e.seq,
      id: e.id,
      hash: e.hash,
      occurredAt: e.occurredAt,
      accountId: e.accountId,
      actorId: e.actorId,
      ip: e.ip,
      userAgent: e.userAgent,
      correlationId: e.correlationId,
      action: e.action,
      entityType: e.entityType,
      entityId: e.entityId,
      before: e.before,
      after: e.after,
    });

    /**
     * Two accounts' entries, interleaved, plus one of no account; returns the first account's as stored, newest
     * first.
     */
    const appendTwoAccounts = async (): Promise<readonly QueriedAuditEntry[]> => {
      const entries: AuditEntry[] = [
        auditEntry({ occurredAt: '2026-03-01T09:00:00.000Z', entityId: 'a-1' }),
        auditEntry({ occurredAt: '2026-03-01T09:30:00.000Z', accountId: OTHER_ACCOUNT, entityId: 'a-1' }),
        auditEntry({
          occurredAt: '2026-03-02T00:00:00.000Z',
          action: 'report.sealed',
          entityType: 'report',
          entityId: 'r-1',
        }),
        auditEntry({ occurredAt: '2026-03-02T10:00:00.000Z', actorId: OTHER_ACTOR, entityId: 'a-2' }),
        auditEntry({
          occurredAt: '2026-03-02T11:00:00.000Z',
          accountId: null,
          actorId: null,
          action: 'system.started',
        }),
        auditEntry({
          occurredAt: '2026-03-03T00:00:00.000Z',
          action: 'member.added',
          entityType: 'user',
          entityId: ACTOR,
        }),
        auditEntry({
          occurredAt: '2026-03-03T08:00:00.000Z',
          accountId: OTHER_ACCOUNT,
          action: 'report.sealed',
          entityType: 'report',
        }),
        // Appended last, though it happened earlier: the log's order is its seq.
        auditEntry({ occurredAt: '2026-02-28T23:59:59.999Z', actorId: null, entityId: 'a-3' }),
      ];
      await subject.transaction(async (log) => {
        for (const entry of entries) await log.append(entry);
      });
      const mine = (await subject.stored()).filter((e) => e.accountId === ACCOUNT).map(queried);
      expect(mine).toHaveLength(5);
      return mine.reverse();
    };

    const query = (filters: Partial<AuditQuery> = {}) =>
      subject.log.query({ accountId: ACCOUNT, limit: 200, ...filters });

    it("answers with one account's entries only, newest first by seq, each as stored with its seq, id and hash", async () => {
      const mine = await appendTwoAccounts();
      expect(await query()).toEqual(mine);
      expect((await query({ accountId: OTHER_ACCOUNT })).map((e) => e.accountId)).toEqual([
        OTHER_ACCOUNT,
        OTHER_ACCOUNT,
      ]);
      expect(await query({ accountId: '11111111-1111-4111-8111-111111111111' })).toEqual([]);
      expect(await query({ accountId: 'not-a-uuid' })).toEqual([]);
    });

    it('filters by action, entity, actor and a time window whose start is in and end is out', async () => {
      const mine = await appendTwoAccounts();
      const where = (keep: (e: QueriedAuditEntry) => boolean) => mine.filter(keep);
      expect(await query({ action: 'report.sealed' })).toEqual(where((e) => e.action === 'report.sealed'));
      expect(await query({ action: 'nothing.happened' })).toEqual([]);
      expect(await query({ entityType: 'user' })).toEqual(where((e) => e.entityType === 'user'));
      expect(await query({ entityType: 'assessment', entityId: 'a-2' })).toEqual(
        where((e) => e.entityId === 'a-2'),
      );
      expect(await query({ actorId: OTHER_ACTOR })).toEqual(where((e) => e.actorId === OTHER_ACTOR));
      expect(await query({ actorId: ACTOR })).toHaveLength(3);
      expect(await query({ actorId: 'not-a-uuid' })).toEqual([]);
      const window = { from: '2026-03-02T00:00:00.000Z', to: '2026-03-03T00:00:00.000Z' };
      expect(await query(window)).toEqual(
        where((e) => e.occurredAt >= window.from && e.occurredAt < window.to),
      );
      expect((await query(window)).map((e) => e.entityId)).toEqual(['a-2', 'r-1']);
      expect(await query({ ...window, action: 'assessment.created' })).toEqual(
        where((e) => e.entityId === 'a-2'),
      );
    });

    it('pages with the last seq of the previous page, without duplicates or gaps', async () => {
      const mine = await appendTwoAccounts();
      for (const limit of [1, 2, 3, 5]) {
        const pages: QueriedAuditEntry[][] = [];
        let beforeSeq: number | undefined;
        for (;;) {
          const page = await query({ limit, ...(beforeSeq === undefined ? {} : { beforeSeq }) });
          expect(page.length).toBeLessThanOrEqual(limit);
          if (page.length === 0) break;
          pages.push([...page]);
          beforeSeq = page.at(-1)?.seq;
          expect(pages.length).toBeLessThanOrEqual(mine.length);
        }
        expect(pages.flat(), `pages of ${String(limit)}`).toEqual(mine);
      }
      const [, second] = mine;
      if (second === undefined) throw new Error('two entries expected');
      expect(await query({ beforeSeq: second.seq, action: 'report.sealed' })).toEqual(
        mine.filter((e) => e.seq < second.seq && e.action === 'report.sealed'),
      );
    });

    it('refuses a page size outside 1 to 200', async () => {
      await expect(query({ limit: 0 })).rejects.toThrow(RangeError);
      await expect(query({ limit: 201 })).rejects.toThrow(RangeError);
      expect(await query({ limit: 200 })).toEqual([]);
    });
  });
};
