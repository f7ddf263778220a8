import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '#app/application/ports/json.ts';
import type { ObservationStore, ObservedFact } from '#app/application/ports/observation-store.ts';
import { sqlState, SQLSTATE, type SqlDatabase, type SqlExecutor } from '#app/adapters/sql/database.ts';
import type { SourceOutcome } from '#app/domain/assessment.ts';
import type { CompanyFacts } from '#app/domain/facts.ts';
import { timelinesOf, type FactTimeline, type FactVersionDraft } from '#app/domain/observations.ts';
import { danone } from '../support/facts.ts';

/** What a contract case needs: the store, and the SQL database behind it when it has one. */
export interface ObservationStoreHarness {
  readonly store: ObservationStore;
  /**
   * The store's database and a way to bind a store to one of its transactions, for the cases about what the
   * schema itself guarantees; null for a store with no database (those cases are then skipped, saying why).
   */
  readonly database: {
    readonly db: SqlDatabase;
    readonly bind: (executor: SqlExecutor) => ObservationStore;
  } | null;
  close(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const EPOCH = Date.parse('2026-01-01T00:00:00.000Z');
/** Day n of the scenario (day 1 = 2026-01-01), as an instant. */
const day = (n: number): string => new Date(EPOCH + (n - 1) * DAY_MS).toISOString();
const hoursAfter = (iso: string, hours: number): string =>
  new Date(Date.parse(iso) + hours * 60 * 60 * 1000).toISOString();

let subjectSeq = 0;
/** Cases share one database: each writes under subjects of its own. */
const freshSubject = (): string => {
  subjectSeq += 1;
  return `subject-${randomUUID().slice(0, 8)}-${String(subjectSeq)}`;
};

const replace = (
  subject: string,
  versions: readonly FactVersionDraft[],
  factKind = 'legal_status',
): FactTimeline => ({
  subject,
  source: 'sirene',
  factKind,
  mode: 'replace',
  versions,
});

const from = (
  subject: string,
  value: JsonValue,
  validFrom: string,
  factKind = 'legal_status',
): FactTimeline => ({
  subject,
  source: 'sirene',
  factKind,
  mode: 'from',
  versions: [{ value, validFrom, validTo: null }],
});

const sirene = (facts: CompanyFacts, observedAt: string): SourceOutcome<CompanyFacts> => ({
  status: 'ok',
  facts,
  observedAt,
  durationMs: 0,
});

/** What a version says, without its system time: what a caller compares. */
const said = (facts: readonly ObservedFact[]) =>
  facts.map((f) => ({ factKind: f.factKind, value: f.value, validFrom: f.validFrom, validTo: f.validTo }));

const current = (facts: readonly ObservedFact[]) => facts.filter((f) => f.sysTo === null);

/** The SQLSTATE a statement fails with, or null when it succeeds. */
const failure = async (work: Promise<unknown>): Promise<string | null> => {
  try {
    await work;
    return null;
  } catch (error) {
    return sqlState(error);
  }
};

/**
 * The `ObservationStore` contract: bitemporal recording (replace and from modes), as-of reads, and that history
 * is never rewritten. One suite, run by every adapter's contract test.
 */
export const describeObservationStoreContract = (
  name: string,
  open: () => Promise<ObservationStoreHarness>,
): void => {
  describe(`ObservationStore contract: ${name}`, () => {
    let h: ObservationStoreHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });

    it('answers a retroactive correction as it was known at each time (issue 3)', async () => {
      const siren = '552032534';
      const none = { status: 'not_applicable' } as const;
      const timelines = (facts: CompanyFacts, observedAt: string) =>
        timelinesOf({ sirene: sirene(facts, observedAt), bodacc: none, vies: none, siret: null });
      const dayOne = day(1).slice(0, 10);

      for (const t of timelines(danone({ provider: 'insee' }), day(5))) {
        expect(await h.store.record(t, day(5), null)).toMatchObject({
          changed: true,
          inserted: 1,
          closed: 0,
        });
      }
      // Learned on day 10: the company ceased on day 1.
      for (const t of timelines(danone({ provider: 'insee', state: 'ceased', ceasedOn: dayOne }), day(10))) {
        expect(await h.store.record(t, day(10), null)).toEqual({ changed: true, inserted: 2, closed: 1 });
      }

      const stateAt = async (validAt: string, knownAt: string) =>
        (await h.store.asOf(siren, { validAt, knownAt })).map((f) => [
          f.factKind,
          (f.value as { state: string }).state,
        ]);
      expect(await stateAt(day(3), day(12))).toEqual([['legal_status', 'ceased']]);
      expect(await stateAt(day(3), day(5))).toEqual([['legal_status', 'active']]);
      expect(await stateAt(day(3), hoursAfter(day(10), -1))).toEqual([['legal_status', 'active']]);
      expect(await stateAt('2025-12-31T23:59:59.999Z', day(12))).toEqual([['legal_status', 'active']]);
      expect(await stateAt('1954-12-31T00:00:00.000Z', day(12))).toEqual([]);
      expect(await stateAt(day(3), day(4))).toEqual([]);

      const [ceased] = await h.store.asOf(siren, { validAt: day(3), knownAt: day(12) });
      expect(ceased).toMatchObject({
        subject: siren,
        source: 'sirene',
        validFrom: day(1),
        validTo: null,
        sysFrom: day(10),
        sysTo: null,
      });
      const history = await h.store.versions(siren);
      expect(
        history.map((f) => [
          (f.value as { state: string }).state,
          f.validFrom,
          f.validTo,
          f.sysFrom,
          f.sysTo,
        ]),
      ).toEqual([
        ['active', '1955-01-01T00:00:00.000Z', null, day(5), day(10)],
        ['active', '1955-01-01T00:00:00.000Z', day(1), day(10), null],
        ['ceased', day(1), null, day(10), null],
      ]);
    });

    it('records the same history twice as one: nothing is written the second time', async () => {
      const subject = freshSubject();
      const assessmentId = randomUUID();
      const history = [
        { value: { state: 'active', name: 'ACME', codes: [1, 2] }, validFrom: day(1), validTo: day(4) },
        { value: { state: 'ceased', name: 'ACME', codes: [1, 2] }, validFrom: day(4), validTo: null },
      ];
      expect(await h.store.record(replace(subject, history), day(10), assessmentId)).toEqual({
        changed: true,
        inserted: 2,
        closed: 0,
      });
      // The same JSON with its keys in another order, and the same instants spelt otherwise, is the same history.
      const respelt = history.map((v) => ({
        value: { codes: [1, 2], name: 'ACME', state: v.value.state },
        validFrom: v.validFrom.replace('.000Z', 'Z'),
        validTo: v.validTo === null ? null : v.validTo.replace('T00:00:00.000Z', 'T01:00:00+01:00'),
      }));
      expect(await h.store.record(replace(subject, respelt), day(11), null)).toEqual({
        changed: false,
        inserted: 0,
        closed: 0,
      });
      const versions = await h.store.versions(subject);
      expect(versions).toHaveLength(2);
      expect(
        versions.every((f) => f.sysFrom === day(10) && f.sysTo === null && f.assessmentId === assessmentId),
      ).toBe(true);
      // A different order of the elements of an array is a different value.
      const reordered = history.map((v) => ({ ...v, value: { ...v.value, codes: [2, 1] } }));
      expect(await h.store.record(replace(subject, reordered), day(12), null)).toMatchObject({
        changed: true,
      });
    });

    it('takes a history that differs only by one date as a correction', async () => {
      const subject = freshSubject();
      const history = (start: number, end: number | null) =>
        replace(subject, [
          { value: 'open', validFrom: day(start), validTo: day(8) },
          { value: 'closed', validFrom: day(8), validTo: end === null ? null : day(end) },
        ]);
      const outcomes = [
        await h.store.record(history(1, null), day(10), null),
        await h.store.record(history(2, null), day(11), null),
        await h.store.record(history(2, 12), day(12), null),
        await h.store.record(history(2, null), day(13), null),
        await h.store.record(history(2, null), day(14), null),
      ];
      expect(outcomes.map((o) => o.changed)).toEqual([true, true, true, true, false]);
      expect(said(await h.store.asOf(subject, { validAt: day(1), knownAt: day(10) }))).toMatchObject([
        { value: 'open' },
      ]);
      expect(await h.store.asOf(subject, { validAt: day(1), knownAt: day(11) })).toEqual([]);
      expect(await h.store.asOf(subject, { validAt: day(12), knownAt: day(12) })).toEqual([]);
      expect(said(await h.store.asOf(subject, { validAt: day(12), knownAt: day(13) }))).toMatchObject([
        { value: 'closed' },
      ]);
    });

    it("keeps a 'from' value stated again, and cuts it at the date a new value starts", async () => {
      const subject = freshSubject();
      expect(
        await h.store.record(from(subject, { valid: true, name: 'ACME' }, day(2)), day(2), null),
      ).toEqual({
        changed: true,
        inserted: 1,
        closed: 0,
      });
      expect(
        await h.store.record(from(subject, { name: 'ACME', valid: true }, day(6)), day(6), null),
      ).toEqual({
        changed: false,
        inserted: 0,
        closed: 0,
      });
      expect(await h.store.record(from(subject, { valid: false, name: null }, day(9)), day(9), null)).toEqual(
        {
          changed: true,
          inserted: 2,
          closed: 1,
        },
      );

      expect(said(current(await h.store.versions(subject)))).toEqual([
        {
          factKind: 'legal_status',
          value: { valid: true, name: 'ACME' },
          validFrom: day(2),
          validTo: day(9),
        },
        { factKind: 'legal_status', value: { valid: false, name: null }, validFrom: day(9), validTo: null },
      ]);
      const value = async (validAt: string, knownAt: string) =>
        (await h.store.asOf(subject, { validAt, knownAt })).map((f) => f.value);
      expect(await value(day(5), day(20))).toEqual([{ valid: true, name: 'ACME' }]);
      expect(await value(day(9), day(20))).toEqual([{ valid: false, name: null }]);
      expect(await value(day(1), day(20))).toEqual([]);
      // Before day 9 we believed the first value held on.
      expect(await value(day(15), day(8))).toEqual([{ valid: true, name: 'ACME' }]);
    });

    it("re-states a 'from' value that was only believed up to an end date", async () => {
      const subject = freshSubject();
      await h.store.record(
        replace(subject, [{ value: 'open', validFrom: day(1), validTo: day(5) }]),
        day(10),
        null,
      );
      expect(await h.store.record(from(subject, 'open', day(3)), day(11), null)).toEqual({
        changed: true,
        inserted: 2,
        closed: 1,
      });
      expect(
        said(current(await h.store.versions(subject))).map((f) => [f.value, f.validFrom, f.validTo]),
      ).toEqual([
        ['open', day(1), day(3)],
        ['open', day(3), null],
      ]);
    });

    it('closes every current version when the source no longer shows the fact (empty replace)', async () => {
      const subject = freshSubject();
      const proceeding = [
        { value: { status: 'open', procedure: 'redressement' }, validFrom: day(1), validTo: day(3) },
        { value: { status: 'open', procedure: 'liquidation' }, validFrom: day(3), validTo: null },
      ];
      await h.store.record(replace(subject, proceeding, 'collective_proceeding'), day(5), null);
      expect(await h.store.record(replace(subject, [], 'collective_proceeding'), day(8), null)).toEqual({
        changed: true,
        inserted: 0,
        closed: 2,
      });
      expect(await h.store.record(replace(subject, [], 'collective_proceeding'), day(9), null)).toEqual({
        changed: false,
        inserted: 0,
        closed: 0,
      });
      expect(await h.store.asOf(subject, { validAt: day(4), knownAt: day(8) })).toEqual([]);
      expect(said(await h.store.asOf(subject, { validAt: day(4), knownAt: day(7) }))).toEqual([
        { factKind: 'collective_proceeding', ...proceeding[1] },
      ]);
      expect(current(await h.store.versions(subject))).toEqual([]);
      expect(await h.store.versions(subject)).toHaveLength(2);
    });

    it('never ends a system period before it starts when a late recorder arrives with an earlier knownAt', async () => {
      const subject = freshSubject();
      // Two assessments race: the one that read the clock later commits first.
      await h.store.record(from(subject, { state: 'active' }, day(1)), day(6), null);
      for (const late of [
        from(subject, { state: 'ceased' }, day(2)),
        replace(subject, [{ value: { state: 'radiated' }, validFrom: day(1), validTo: null }]),
      ]) {
        const outcome = await h.store.record(late, day(5), null);
        expect(outcome.changed).toBe(true);
      }
      for (const row of await h.store.versions(subject)) {
        if (row.sysTo !== null) expect(row.sysTo >= row.sysFrom, JSON.stringify(row)).toBe(true);
      }
      expect(said(await h.store.asOf(subject, { validAt: day(3), knownAt: day(7) }))).toEqual([
        { factKind: 'legal_status', value: { state: 'radiated' }, validFrom: day(1), validTo: null },
      ]);
    });

    it('reads business and system periods as half-open, and keeps facts of one subject apart by kind', async () => {
      const subject = freshSubject();
      await h.store.record(
        replace(subject, [{ value: 'a', validFrom: day(2), validTo: day(4) }]),
        day(10),
        null,
      );
      await h.store.record(from(subject, 'b', day(3), 'other_kind'), day(10), null);
      await h.store.record(
        replace(subject, [{ value: 'c', validFrom: day(2), validTo: day(4) }]),
        day(20),
        null,
      );
      const at = async (validAt: string, knownAt: string) =>
        (await h.store.asOf(subject, { validAt, knownAt })).map(
          (f) => `${f.factKind}=${JSON.stringify(f.value)}`,
        );
      expect(await at(day(2), day(10))).toEqual(['legal_status="a"']);
      expect(await at(day(3), day(10))).toEqual(['legal_status="a"', 'other_kind="b"']);
      expect(await at(day(4), day(10))).toEqual(['other_kind="b"']);
      expect(await at(day(3), hoursAfter(day(10), -1))).toEqual([]);
      expect(await at(day(3), hoursAfter(day(20), -1))).toEqual(['legal_status="a"', 'other_kind="b"']);
      expect(await at(day(3), day(20))).toEqual(['legal_status="c"', 'other_kind="b"']);
      expect(await h.store.asOf(`${subject}-other`, { validAt: day(3), knownAt: day(20) })).toEqual([]);
      expect((await h.store.versions(subject)).map((f) => [f.sysFrom, f.validFrom, f.factKind])).toEqual([
        [day(10), day(2), 'legal_status'],
        [day(10), day(3), 'other_kind'],
        [day(20), day(2), 'legal_status'],
      ]);
    });

    describe('what the database itself guarantees', () => {
      const insertRaw = (
        db: SqlExecutor,
        subject: string,
        validFrom: string,
        validTo: string | null,
        sysTo: string | null = null,
      ) =>
        db.query(
          `insert into source_observations (id, subject, source, fact_kind, value, valid_from, valid_to, sys_from, sys_to)
             values ($1, $2, 'sirene', 'legal_status', '"x"'::jsonb, $3::timestamptz, $4::timestamptz, $5::timestamptz, $6::timestamptz)`,
          [randomUUID(), subject, validFrom, validTo, day(1), sysTo],
        );

      it('refuses two current versions of one fact overlapping in business time (23P01)', async (ctx) => {
        if (h.database === null) return ctx.skip('this store has no SQL database');
        const { db } = h.database;
        const subject = freshSubject();
        await insertRaw(db, subject, day(1), day(5));
        expect(await failure(insertRaw(db, subject, day(4), null))).toBe(SQLSTATE.EXCLUSION_VIOLATION);
        // Adjacent versions, and closed versions, may overlap a current one.
        expect(await failure(insertRaw(db, subject, day(5), null))).toBeNull();
        expect(await failure(insertRaw(db, subject, day(2), null, day(2)))).toBeNull();
      });

      it('refuses to update anything but the closing of a current version, and refuses DELETE (42501)', async (ctx) => {
        if (h.database === null) return ctx.skip('this store has no SQL database');
        const { db } = h.database;
        const subject = freshSubject();
        await h.store.record(from(subject, { valid: true }, day(1)), day(2), null);
        const where = `where subject = $1`;
        expect(
          await failure(
            db.query(`update source_observations set value = '{"valid": false}' ${where}`, [subject]),
          ),
        ).toBe(SQLSTATE.INSUFFICIENT_PRIVILEGE);
        expect(
          await failure(
            db.query(`update source_observations set valid_from = $2::timestamptz ${where}`, [
              subject,
              day(3),
            ]),
          ),
        ).toBe(SQLSTATE.INSUFFICIENT_PRIVILEGE);
        expect(await failure(db.query(`delete from source_observations ${where}`, [subject]))).toBe(
          SQLSTATE.INSUFFICIENT_PRIVILEGE,
        );
        expect(
          await failure(
            db.query(`update source_observations set sys_to = $2::timestamptz ${where}`, [subject, day(4)]),
          ),
        ).toBeNull();
        // A closed version stays closed when it was closed.
        expect(
          await failure(
            db.query(`update source_observations set sys_to = $2::timestamptz ${where}`, [subject, day(5)]),
          ),
        ).toBe(SQLSTATE.INSUFFICIENT_PRIVILEGE);
        expect((await h.store.versions(subject)).map((f) => [f.value, f.sysTo])).toEqual([
          [{ valid: true }, day(4)],
        ]);
      });

      it("writes in the caller's transaction: a rolled-back record leaves nothing", async (ctx) => {
        if (h.database === null) return ctx.skip('this store has no SQL database');
        const { db, bind } = h.database;
        const subject = freshSubject();
        await h.store.record(from(subject, 'before', day(1)), day(2), null);
        const rollback = new Error('rolled back on purpose');
        await expect(
          db.transaction(async (tx) => {
            const outcome = await bind(tx).record(from(subject, 'after', day(3)), day(4), null);
            expect(outcome.changed).toBe(true);
            expect(said(await bind(tx).asOf(subject, { validAt: day(5), knownAt: day(5) }))).toMatchObject([
              { value: 'after' },
            ]);
            throw rollback;
          }),
        ).rejects.toBe(rollback);
        expect((await h.store.versions(subject)).map((f) => [f.value, f.sysTo])).toEqual([['before', null]]);
      });
    });

    it('never leaves overlapping current versions, and never rewrites what was known (property)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 6 }), async (ops) => {
          const subject = freshSubject();
          const knownAts: string[] = [];
          const snapshots: Interval[][] = [];
          let model: Interval[] = [];
          let before: readonly ObservedFact[] = [];
          for (const [i, op] of ops.entries()) {
            const knownAt = hoursAfter(day(100), i * 7);
            const outcome = await h.store.record(toTimeline(subject, op), knownAt, null);
            const next = apply(model, op);
            const after = await h.store.versions(subject);

            // History: every row known before is still there, unchanged but for the closing of a current one.
            expect(after.length).toBe(before.length + outcome.inserted);
            for (const [k, old] of before.entries()) {
              const row = after[k];
              expect({ ...row, sysTo: null }).toEqual({ ...old, sysTo: null });
              expect(row?.sysTo === old.sysTo || (old.sysTo === null && row?.sysTo === knownAt)).toBe(true);
            }
            expect(after.filter((f, k) => before[k]?.sysTo === null && f.sysTo === knownAt)).toHaveLength(
              outcome.closed,
            );
            if (!outcome.changed) expect(outcome).toEqual({ changed: false, inserted: 0, closed: 0 });
            if (!sameIntervals(model, next)) expect(outcome.changed).toBe(true);

            // Now: the current versions are the model, in order, and never overlap.
            const now = current(after)
              .map((f) => ({ from: f.validFrom, to: f.validTo, value: f.value }))
              .sort((a, b) => Date.parse(a.from) - Date.parse(b.from));
            for (const [k, v] of now.entries()) {
              const following = now[k + 1];
              if (following !== undefined) expect(v.to !== null && v.to <= following.from).toBe(true);
            }
            expect(sameIntervals(now.map(fromInstants), next)).toBe(true);

            model = next;
            knownAts.push(knownAt);
            snapshots.push(next);
            // As of every earlier system time, the store answers what it answered then.
            for (const [j, known] of knownAts.entries()) {
              for (const d of PROBE_DAYS) {
                const got = (await h.store.asOf(subject, { validAt: day(d), knownAt: known })).map(
                  (f) => f.value,
                );
                const expected = valueAt(snapshots[j] ?? [], d);
                expect(got).toEqual(expected === undefined ? [] : [expected]);
              }
            }
            before = after;
          }
        }),
        { numRuns: 60 },
      );
      // Shrinking a counterexample replays many sequences: give it room to report one.
    }, 120_000);
  });
};

/** The property's model: a fact's current versions, in scenario days; `to` null is open-ended. */
interface Interval {
  readonly from: number;
  readonly to: number | null;
  readonly value: JsonValue;
}

type Operation =
  | { readonly mode: 'replace'; readonly versions: readonly Interval[] }
  | { readonly mode: 'from'; readonly from: number; readonly value: JsonValue };

const VALUES: readonly JsonValue[] = [
  { state: 'active', n: 1 },
  { n: 1, state: 'active' },
  { state: 'ceased', n: 1 },
  'open',
  [1, { a: null }],
  null,
  true,
];
const PROBE_DAYS = [0, 2, 4, 5, 9, 13, 17, 21];

const value = fc.constantFrom(...VALUES);
/** Few boundaries, so successive operations often restate, extend or cut the same versions. */
const boundary = fc.integer({ min: 0, max: 4 }).map((n) => n * 4);

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc
    .tuple(
      fc.uniqueArray(boundary, { maxLength: 4 }),
      fc.array(fc.tuple(value, fc.boolean()), { minLength: 4, maxLength: 4 }),
      fc.boolean(),
    )
    .map(([starts, details, openEnded]): Operation => {
      const sorted = [...starts].sort((a, b) => a - b);
      const versions = sorted.map((start, k): Interval => {
        const [v, gap] = details[k] ?? [null, false];
        const next = sorted[k + 1];
        const to =
          next === undefined ? (openEnded ? null : start + 2) : gap && next > start + 1 ? start + 1 : next;
        return { from: start, to, value: v };
      });
      return { mode: 'replace', versions };
    }),
  fc.record({ mode: fc.constant('from' as const), from: boundary, value }),
);

const toTimeline = (subject: string, op: Operation): FactTimeline =>
  op.mode === 'replace'
    ? replace(
        subject,
        op.versions.map((v) => ({
          value: v.value,
          validFrom: day(v.from),
          validTo: v.to === null ? null : day(v.to),
        })),
      )
    : from(subject, op.value, day(op.from));

const dayNumber = (iso: string): number => Math.round((Date.parse(iso) - EPOCH) / DAY_MS) + 1;

const fromInstants = (v: { from: string; to: string | null; value: JsonValue }): Interval => ({
  from: dayNumber(v.from),
  to: v.to === null ? null : dayNumber(v.to),
  value: v.value,
});

const sameIntervals = (a: readonly Interval[], b: readonly Interval[]): boolean => isDeepStrictEqual(a, b);

const valueAt = (intervals: readonly Interval[], d: number): JsonValue | undefined =>
  intervals.find((v) => v.from <= d && (v.to === null || d < v.to))?.value;

/** What the store must believe after `op`: replace takes the new history; from keeps what lies before its date. */
const apply = (model: readonly Interval[], op: Operation): Interval[] => {
  if (op.mode === 'replace') return [...op.versions];
  const overlapping = model.filter((v) => v.to === null || v.to > op.from);
  const [only] = overlapping;
  if (
    overlapping.length === 1 &&
    only !== undefined &&
    only.from <= op.from &&
    only.to === null &&
    isDeepStrictEqual(only.value, op.value)
  ) {
    return [...model];
  }
  return [
    ...model.filter((v) => v.to !== null && v.to <= op.from),
    ...overlapping.filter((v) => v.from < op.from).map((v) => ({ ...v, to: op.from })),
    { from: op.from, to: null, value: op.value },
  ];
};
