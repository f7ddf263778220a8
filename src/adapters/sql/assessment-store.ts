import type {
  AssessmentListQuery,
  AssessmentState,
  AssessmentStore,
  StoredAssessment,
  SubjectKey,
} from '#app/application/ports/assessment-store.ts';
import type { Assessment, AssessmentInput, SourceReport, Subject } from '#app/domain/assessment.ts';
import type { Verdict } from '#app/domain/policy.ts';
import type { Signal } from '#app/domain/signals.ts';
import type { SqlExecutor } from './database.ts';

const DEFAULT_HISTORY_LIMIT = 50;
const MAX_LIST_LIMIT = 200;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type AssessmentRow = {
  readonly id: string;
  readonly created_at: string;
  readonly version: number;
  readonly assessed_at: string;
  readonly account_id: string;
  readonly actor_id: string | null;
  readonly agent_account_id: string | null;
  readonly verdict: Verdict;
  readonly policy_version: string;
  readonly state: AssessmentState;
  readonly subject: Subject;
  readonly signals: readonly Signal[];
  readonly sources: readonly SourceReport[];
  readonly idempotency_key: string | null;
  readonly correlation_id: string | null;
  readonly evaluation: AssessmentInput | null;
};

const COLUMNS = `id, created_at, version, assessed_at, account_id, actor_id, agent_account_id, verdict, policy_version, state,
  subject, signals, sources, idempotency_key, correlation_id, evaluation`;

const fromRow = (row: AssessmentRow): StoredAssessment => {
  const assessment: Assessment = {
    subject: row.subject,
    verdict: row.verdict,
    policyVersion: row.policy_version,
    signals: row.signals,
    sources: row.sources,
    assessedAt: row.assessed_at,
  };
  return {
    id: row.id,
    accountId: row.account_id,
    actorId: row.actor_id,
    agentAccountId: row.agent_account_id,
    createdAt: row.created_at,
    version: row.version,
    state: row.state,
    idempotencyKey: row.idempotency_key,
    correlationId: row.correlation_id,
    assessment,
    evaluation: row.evaluation,
  };
};

const historyLimit = (limit: number | undefined): number => {
  const value = limit ?? DEFAULT_HISTORY_LIMIT;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError('A history limit is a positive integer.');
  return value;
};

const listLimit = (limit: number): number => {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT)
    throw new RangeError(`A list limit is an integer from 1 to ${String(MAX_LIST_LIMIT)}.`);
  return limit;
};

const subjectColumn = (subject: SubjectKey): readonly [string, string] =>
  'siren' in subject ? ['siren', subject.siren] : ['vat', subject.vat];

/**
 * The AssessmentStore on the month-partitioned `assessments` table, for PostgreSQL and PGlite alike. Every read is
 * scoped by account. The assessment's subject, signals and per-source reports are kept whole as JSONB, so `get`
 * returns what was saved; `createdAt` comes back in canonical ISO form (`toISOString`), and ids that are not
 * UUIDs find nothing. `history` lists newest first (ties by id), 50 by default. `list` pages an account's
 * assessments newest first (ties by id), each page starting after the cursor's (createdAt, id), so rows saved
 * meanwhile neither repeat nor shift a page; a limit outside 1 to 200 is a RangeError.
 */
export const createSqlAssessmentStore = (db: SqlExecutor): AssessmentStore => ({
  save: async (record) => {
    const { assessment } = record;
    await db.query(
      `insert into assessments (id, created_at, assessed_at, account_id, actor_id, subject_query, siren, siret, vat,
         verdict, policy_version, state, subject, signals, sources, idempotency_key, correlation_id, version, evaluation,
         agent_account_id)
       values ($1, $2::timestamptz, $3::timestamptz, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb,
         $15::jsonb, $16, $17, $18, $19::jsonb, $20)`,
      [
        record.id,
        record.createdAt,
        assessment.assessedAt,
        record.accountId,
        record.actorId,
        assessment.subject.query,
        assessment.subject.siren,
        assessment.subject.siret,
        assessment.subject.vat,
        assessment.verdict,
        assessment.policyVersion,
        record.state,
        JSON.stringify(assessment.subject),
        JSON.stringify(assessment.signals),
        JSON.stringify(assessment.sources),
        record.idempotencyKey,
        record.correlationId,
        record.version,
        record.evaluation === null ? null : JSON.stringify(record.evaluation),
        record.agentAccountId,
      ],
    );
  },

  lockForUpdate: async (id) => {
    if (!UUID.test(id)) return null;
    const [row] = await db.query<AssessmentRow>(
      `select ${COLUMNS} from assessments where id = $1 for update`,
      [id],
    );
    return row === undefined ? null : fromRow(row);
  },

  update: async (record) => {
    const { assessment } = record;
    await db.query(
      `update assessments set version = $3, state = $4, verdict = $5, policy_version = $6, subject = $7::jsonb,
              signals = $8::jsonb, sources = $9::jsonb, evaluation = $10::jsonb
        where id = $1 and created_at = $2::timestamptz`,
      [
        record.id,
        record.createdAt,
        record.version,
        record.state,
        assessment.verdict,
        assessment.policyVersion,
        JSON.stringify(assessment.subject),
        JSON.stringify(assessment.signals),
        JSON.stringify(assessment.sources),
        record.evaluation === null ? null : JSON.stringify(record.evaluation),
      ],
    );
  },

  get: async (accountId, id) => {
    if (!UUID.test(accountId) || !UUID.test(id)) return null;
    const [row] = await db.query<AssessmentRow>(
      `select ${COLUMNS} from assessments where account_id = $1 and id = $2`,
      [accountId, id],
      // The API's most frequent read: planned once per connection.
      { name: 'assessment_by_id' },
    );
    return row === undefined ? null : fromRow(row);
  },

  list: async (query: AssessmentListQuery) => {
    const limit = listLimit(query.limit);
    if (!UUID.test(query.accountId)) return [];
    if (query.after !== undefined && !UUID.test(query.after.id)) return [];
    const params: unknown[] = [query.accountId];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${String(params.length)}`;
    };
    const where = ['account_id = $1'];
    if (query.verdict !== undefined) where.push(`verdict = ${param(query.verdict)}`);
    if (query.state !== undefined) where.push(`state = ${param(query.state)}`);
    if (query.subject !== undefined) {
      const [column, value] = subjectColumn(query.subject);
      where.push(`${column} = ${param(value)}`);
    }
    if (query.from !== undefined) where.push(`created_at >= ${param(query.from)}::timestamptz`);
    if (query.to !== undefined) where.push(`created_at < ${param(query.to)}::timestamptz`);
    if (query.after !== undefined) {
      const { createdAt, id } = query.after;
      where.push(`(created_at, id) < (${param(createdAt)}::timestamptz, ${param(id)}::uuid)`);
    }
    const rows = await db.query<AssessmentRow>(
      `select ${COLUMNS} from assessments
        where ${where.join(' and ')}
        order by created_at desc, id desc
        limit ${param(limit)}`,
      params,
    );
    return rows.map(fromRow);
  },

  history: async (accountId, subject: SubjectKey, options = {}) => {
    const limit = historyLimit(options.limit);
    if (!UUID.test(accountId)) return [];
    const [column, value] = subjectColumn(subject);
    const rows = await db.query<AssessmentRow>(
      `select ${COLUMNS} from assessments
        where account_id = $1 and ${column} = $2
        order by created_at desc, id desc
        limit $3`,
      [accountId, value, limit],
    );
    return rows.map(fromRow);
  },
});
