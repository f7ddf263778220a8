import { randomUUID } from 'node:crypto';
import type { JsonValue } from '#app/application/ports/json.ts';
import type {
  FactTimeline,
  ObservationStore,
  ObservedFact,
  RecordOutcome,
} from '#app/application/ports/observation-store.ts';
import type { SqlExecutor } from './database.ts';

interface ObservationRow {
  readonly [column: string]: unknown;
  readonly id: string;
  readonly subject: string;
  readonly source: string;
  readonly fact_kind: string;
  readonly value: JsonValue;
  readonly valid_from: string;
  readonly valid_to: string | null;
  readonly sys_from: string;
  readonly sys_to: string | null;
  readonly assessment_id: string | null;
}

/** A version about to be inserted: what it says, when it held, and which assessment's answer it comes from. */
interface NewVersion {
  readonly value: JsonValue;
  readonly validFrom: string;
  readonly validTo: string | null;
  readonly assessmentId: string | null;
}

const COLUMNS =
  'id, subject, source, fact_kind, value, valid_from, valid_to, sys_from, sys_to, assessment_id';

/** One spelling per instant, so what we wrote and what the database gives back compare as text. */
const instant = (iso: string): string => new Date(iso).toISOString();

const instantOrNull = (iso: string | null): string | null => (iso === null ? null : instant(iso));

/** JSONB keeps neither key order nor duplicate keys: values are equal when they mean the same JSON. */
const sameJson = (a: JsonValue, b: JsonValue): boolean => {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return false;
    const left: readonly JsonValue[] = a;
    const right: readonly JsonValue[] = b;
    return left.length === right.length && left.every((item, i) => sameJson(item, right[i] ?? null));
  }
  const left = a as { readonly [key: string]: JsonValue };
  const right = b as { readonly [key: string]: JsonValue };
  const keys = Object.keys(left);
  return (
    keys.length === Object.keys(right).length &&
    keys.every((key) => Object.hasOwn(right, key) && sameJson(left[key] ?? null, right[key] ?? null))
  );
};

const toFact = (row: ObservationRow): ObservedFact =>
  Object.freeze({
    subject: row.subject,
    source: row.source,
    factKind: row.fact_kind,
    value: row.value,
    validFrom: row.valid_from,
    validTo: row.valid_to,
    sysFrom: row.sys_from,
    sysTo: row.sys_to,
    assessmentId: row.assessment_id,
  });

const UNCHANGED: RecordOutcome = Object.freeze({ changed: false, inserted: 0, closed: 0 });

/**
 * The `ObservationStore` on the shared SQL layer (PostgreSQL or PGlite), table `source_observations`. It writes
 * through the executor it is given, so a unit of work's transaction makes a record() atomic with the rest. Rows
 * are only ever inserted or closed (sys_to set on a current version): the database's trigger refuses anything
 * else, and its EXCLUDE constraint refuses two current versions of one fact overlapping in business time.
 *
 * Concurrent record() calls on one fact are serialised by a transaction-scoped advisory lock, so the second sees
 * what the first committed (PGlite has one session: the lock is a no-op there, and not needed).
 */
/**
 * System time only moves forward: a recorder whose knownAt was read before another one committed a later version
 * (two assessments of one supplier racing on PostgreSQL) records at that version's sys_from instead, so no system
 * period ever ends before it starts.
 */
const systemTime = (knownAt: string, current: readonly ObservationRow[]): string =>
  current.reduce((latest, row) => (row.sys_from > latest ? row.sys_from : latest), instant(knownAt));

export interface SqlObservationStoreOptions {
  /**
   * Whether concurrent sessions can record the same fact: true on PostgreSQL (the default), false on PGlite,
   * whose one session runs transactions one at a time, so the per-fact lock would be a wasted round trip.
   */
  readonly concurrentSessions?: boolean;
}

export const createSqlObservationStore = (
  db: SqlExecutor,
  options: SqlObservationStoreOptions = {},
): ObservationStore => {
  const concurrentSessions = options.concurrentSessions ?? true;
  const lockFact = async (t: FactTimeline): Promise<void> => {
    if (!concurrentSessions) return;
    await db.query(`select pg_advisory_xact_lock(hashtextextended($1, 0))`, [
      JSON.stringify(['source_observations', t.subject, t.source, t.factKind]),
    ]);
  };

  const insert = async (t: FactTimeline, versions: readonly NewVersion[], knownAt: string): Promise<void> => {
    if (versions.length === 0) return;
    const params: unknown[] = [t.subject, t.source, t.factKind, knownAt];
    const rows = versions.map((v) => {
      const at = params.length;
      params.push(randomUUID(), JSON.stringify(v.value), v.validFrom, v.validTo, v.assessmentId);
      return `($${at + 1}::uuid, $1, $2, $3, $${at + 2}::jsonb, $${at + 3}::timestamptz, $${at + 4}::timestamptz, $4::timestamptz, null, $${at + 5}::uuid)`;
    });
    await db.query(`insert into source_observations (${COLUMNS}) values ${rows.join(', ')}`, params);
  };

  const replace = async (
    t: FactTimeline,
    knownAt: string,
    assessmentId: string | null,
  ): Promise<RecordOutcome> => {
    const wanted = t.versions
      .map((v) => ({
        value: v.value,
        validFrom: instant(v.validFrom),
        validTo: instantOrNull(v.validTo),
        assessmentId,
      }))
      .sort((a, b) => (a.validFrom < b.validFrom ? -1 : a.validFrom > b.validFrom ? 1 : 0));
    const current = await db.query<ObservationRow>(
      `select ${COLUMNS} from source_observations
        where subject = $1 and source = $2 and fact_kind = $3 and sys_to is null
        order by valid_from`,
      [t.subject, t.source, t.factKind],
    );
    const same =
      current.length === wanted.length &&
      current.every((row, i) => {
        const w = wanted[i];
        return (
          w !== undefined &&
          row.valid_from === w.validFrom &&
          row.valid_to === w.validTo &&
          sameJson(row.value, w.value)
        );
      });
    if (same) return UNCHANGED;
    const at = systemTime(knownAt, current);
    const closed = await db.query(
      `update source_observations set sys_to = $4::timestamptz
        where subject = $1 and source = $2 and fact_kind = $3 and sys_to is null
        returning id`,
      [t.subject, t.source, t.factKind, at],
    );
    await insert(t, wanted, at);
    return Object.freeze({ changed: true, inserted: wanted.length, closed: closed.length });
  };

  const from = async (
    t: FactTimeline,
    knownAt: string,
    assessmentId: string | null,
  ): Promise<RecordOutcome> => {
    const [draft, ...rest] = t.versions;
    if (draft === undefined || rest.length > 0) {
      throw new TypeError(`A 'from' timeline holds exactly one version (${t.factKind} of ${t.subject}).`);
    }
    const validFrom = instant(draft.validFrom);
    const validTo = instantOrNull(draft.validTo);
    const overlapping = `subject = $1 and source = $2 and fact_kind = $3 and sys_to is null
      and valid_from < coalesce($5::timestamptz, 'infinity') and coalesce(valid_to, 'infinity') > $4::timestamptz`;
    const current = await db.query<ObservationRow>(
      `select ${COLUMNS} from source_observations where ${overlapping}`,
      [t.subject, t.source, t.factKind, validFrom, validTo],
    );
    // Unchanged only when one current version already says it for the whole period. Adjacent versions that say
    // it piecewise are rewritten: the belief is the same, and restating it costs a few rows, never history.
    const [only, ...others] = current;
    if (
      only !== undefined &&
      others.length === 0 &&
      only.valid_from <= validFrom &&
      (only.valid_to === null || (validTo !== null && only.valid_to >= validTo)) &&
      sameJson(only.value, draft.value)
    ) {
      return UNCHANGED;
    }
    const at = systemTime(knownAt, current);
    const closed = await db.query<ObservationRow>(
      `update source_observations set sys_to = $6::timestamptz where ${overlapping} returning ${COLUMNS}`,
      [t.subject, t.source, t.factKind, validFrom, validTo, at],
    );
    // What the closed versions said outside the new period is still believed: it is re-stated, with the
    // assessment that first observed it.
    const kept: NewVersion[] = [];
    for (const row of closed) {
      if (row.valid_from < validFrom) {
        kept.push({
          value: row.value,
          validFrom: row.valid_from,
          validTo: validFrom,
          assessmentId: row.assessment_id,
        });
      }
      if (validTo !== null && (row.valid_to === null || row.valid_to > validTo)) {
        kept.push({
          value: row.value,
          validFrom: validTo,
          validTo: row.valid_to,
          assessmentId: row.assessment_id,
        });
      }
    }
    const inserted = [...kept, { value: draft.value, validFrom, validTo, assessmentId }];
    await insert(t, inserted, at);
    return Object.freeze({ changed: true, inserted: inserted.length, closed: closed.length });
  };

  return {
    record: async (timeline, knownAt, assessmentId) => {
      await lockFact(timeline);
      const at = instant(knownAt);
      switch (timeline.mode) {
        case 'replace':
          return replace(timeline, at, assessmentId);
        case 'from':
          return from(timeline, at, assessmentId);
      }
    },

    asOf: async (subject, { validAt, knownAt }) => {
      const rows = await db.query<ObservationRow>(
        `select ${COLUMNS} from source_observations
          where subject = $1
            and sys_from <= $3::timestamptz and (sys_to is null or sys_to > $3::timestamptz)
            and valid_from <= $2::timestamptz and (valid_to is null or valid_to > $2::timestamptz)
          order by source, fact_kind, valid_from`,
        [subject, instant(validAt), instant(knownAt)],
      );
      return Object.freeze(rows.map(toFact));
    },

    versions: async (subject) => {
      const rows = await db.query<ObservationRow>(
        `select ${COLUMNS} from source_observations
          where subject = $1
          order by sys_from, valid_from, source, fact_kind, id`,
        [subject],
      );
      return Object.freeze(rows.map(toFact));
    },
  };
};
