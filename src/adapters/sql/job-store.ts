import type { AssessmentJob, JobKind, JobState, JobStore } from '#app/application/ports/job-store.ts';
import type { SourceName } from '#app/domain/facts.ts';
import type { SqlExecutor } from './database.ts';

type JobRow = {
  readonly id: string;
  readonly account_id: string;
  readonly assessment_id: string;
  readonly kind: JobKind;
  readonly source: SourceName | null;
  readonly state: JobState;
  readonly attempt: number;
  readonly first_failed_at: string | null;
  readonly next_attempt_at: string;
  readonly last_reason: string | null;
  readonly locked_by: string | null;
  readonly locked_until: string | null;
};

const COLUMNS = `id, account_id, assessment_id, kind, source, state, attempt, first_failed_at, next_attempt_at,
  last_reason, locked_by, locked_until`;

const fromRow = (r: JobRow): AssessmentJob => ({
  id: r.id,
  accountId: r.account_id,
  assessmentId: r.assessment_id,
  kind: r.kind,
  source: r.source,
  state: r.state,
  attempt: r.attempt,
  firstFailedAt: r.first_failed_at,
  nextAttemptAt: r.next_attempt_at,
  lastReason: r.last_reason,
  lockedBy: r.locked_by,
  lockedUntil: r.locked_until,
});

/** Writes that apply only while the caller holds the job's lease. */
const HELD = `id = $1 and locked_by = $2 and state = 'PENDING'`;

/**
 * The JobStore on `assessment_jobs` (PostgreSQL and PGlite alike). Claiming is one statement: a SKIP LOCKED
 * selection of due, unleased jobs and their lease, so concurrent workers on PostgreSQL never take the same job.
 */
export const createSqlJobStore = (db: SqlExecutor): JobStore => ({
  enqueue: async (job) => {
    await db.query(
      `insert into assessment_jobs (id, account_id, assessment_id, kind, source, state, attempt, first_failed_at,
         next_attempt_at, last_reason, created_at, updated_at)
       values ($1, $2, $3, $4, $5, 'PENDING', $6, $7::timestamptz, $8::timestamptz, $9, $10::timestamptz,
         $10::timestamptz)
       on conflict (assessment_id, kind, coalesce(source, '')) where state = 'PENDING' do nothing`,
      [
        job.id,
        job.accountId,
        job.assessmentId,
        job.kind,
        job.source,
        job.attempt,
        job.firstFailedAt,
        job.nextAttemptAt,
        job.lastReason,
        job.now,
      ],
    );
  },

  claimDue: async ({ now, limit, leaseMs, workerId }) => {
    const rows = await db.query<JobRow>(
      `update assessment_jobs set locked_by = $3,
              locked_until = $1::timestamptz + make_interval(secs => $4::double precision / 1000),
              updated_at = $1::timestamptz
        where id in (
          select id from assessment_jobs
           where state = 'PENDING' and next_attempt_at <= $1::timestamptz
             and (locked_until is null or locked_until <= $1::timestamptz)
           order by next_attempt_at, id
           limit $2
           for update skip locked)
        returning ${COLUMNS}`,
      [now, limit, workerId, leaseMs],
    );
    return rows.map(fromRow).sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt));
  },

  postpone: async (id, workerId, until, now) =>
    (
      await db.query(
        `update assessment_jobs set next_attempt_at = $3::timestamptz, locked_by = null, locked_until = null,
                updated_at = $4::timestamptz
          where ${HELD} returning id`,
        [id, workerId, until, now],
      )
    ).length === 1,

  reschedule: async (id, workerId, next) =>
    (
      await db.query(
        `update assessment_jobs set attempt = $3, next_attempt_at = $4::timestamptz, last_reason = $5,
                first_failed_at = coalesce(first_failed_at, $6::timestamptz),
                locked_by = null, locked_until = null, updated_at = $6::timestamptz
          where ${HELD} returning id`,
        [id, workerId, next.attempt, next.nextAttemptAt, next.lastReason, next.now],
      )
    ).length === 1,

  finish: async (id, workerId, end) =>
    (
      await db.query(
        `update assessment_jobs set state = $3, attempt = $4, last_reason = $5, locked_by = null,
                locked_until = null, updated_at = $6::timestamptz
          where ${HELD} returning id`,
        [id, workerId, end.state, end.attempt, end.lastReason, end.now],
      )
    ).length === 1,

  forAssessment: async (assessmentId) =>
    (
      await db.query<JobRow>(
        `select ${COLUMNS} from assessment_jobs where assessment_id = $1 order by created_at, kind, source`,
        [assessmentId],
      )
    ).map(fromRow),

  depth: async (now) => {
    const [row] = await db.query<{ pending: number; due: number }>(
      `select count(*)::int as pending,
              count(*) filter (where next_attempt_at <= $1::timestamptz)::int as due
         from assessment_jobs where state = 'PENDING'`,
      [now],
    );
    return { pending: row?.pending ?? 0, due: row?.due ?? 0 };
  },
});
