import type { ReportStore, StoredReport } from '#app/application/ports/report-store.ts';
import type { Verdict } from '#app/domain/policy.ts';
import type { QueryOptions, SqlExecutor } from './database.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type ReportRow = {
  readonly id: string;
  readonly account_id: string;
  readonly assessment_id: string;
  readonly assessment_version: number;
  readonly token_hash: string;
  readonly payload: string;
  readonly signature: string;
  readonly kid: string;
  readonly verdict: Verdict;
  readonly pdf_sha256: string;
  readonly storage_key: string;
  readonly lang: 'fr' | 'en';
  readonly sealed_at: string;
  readonly actor_id: string | null;
  readonly correlation_id: string | null;
  readonly superseded_by: string | null;
  readonly revoked_at: string | null;
  readonly revocation_reason: string | null;
};

const COLUMNS = `id, account_id, assessment_id, assessment_version, token_hash, payload, signature, kid, alg,
  verdict, pdf_sha256, storage_key, lang, sealed_at, actor_id, correlation_id, superseded_by, revoked_at, revocation_reason`;

const fromRow = (row: ReportRow): StoredReport => ({
  id: row.id,
  accountId: row.account_id,
  assessmentId: row.assessment_id,
  assessmentVersion: row.assessment_version,
  tokenHash: row.token_hash,
  seal: { payload: row.payload, signature: row.signature, kid: row.kid, alg: 'PS256' },
  verdict: row.verdict,
  pdfSha256: row.pdf_sha256,
  storageKey: row.storage_key,
  lang: row.lang,
  sealedAt: row.sealed_at,
  actorId: row.actor_id,
  correlationId: row.correlation_id,
  supersededBy: row.superseded_by,
  revokedAt: row.revoked_at,
  revocationReason: row.revocation_reason,
});

const one = async (
  db: SqlExecutor,
  where: string,
  params: readonly unknown[],
  options: QueryOptions = {},
): Promise<StoredReport | null> => {
  const [row] = await db.query<ReportRow>(`select ${COLUMNS} from reports where ${where}`, params, options);
  return row === undefined ? null : fromRow(row);
};

/**
 * The ReportStore on the `reports` table (PostgreSQL and PGlite alike). The database keeps one report per
 * assessment version (a unique constraint, so concurrent inserts cannot both win) and refuses any change to a
 * sealed report but its successor link and its revocation (a trigger).
 */
export const createSqlReportStore = (db: SqlExecutor): ReportStore => ({
  insert: async (r) => {
    const inserted = await db.query(
      `insert into reports (${COLUMNS})
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::timestamptz, $15, $16, $17, $18::timestamptz,
         $19)
       on conflict (assessment_id, assessment_version) do nothing
       returning id`,
      [
        r.id,
        r.accountId,
        r.assessmentId,
        r.assessmentVersion,
        r.tokenHash,
        r.seal.payload,
        r.seal.signature,
        r.seal.kid,
        r.seal.alg,
        r.verdict,
        r.pdfSha256,
        r.storageKey,
        r.lang,
        r.sealedAt,
        r.actorId,
        r.correlationId,
        r.supersededBy,
        r.revokedAt,
        r.revocationReason,
      ],
    );
    return inserted.length === 1 ? 'inserted' : 'duplicate';
  },

  get: (accountId, id) =>
    UUID.test(accountId) && UUID.test(id)
      ? one(db, 'account_id = $1 and id = $2', [accountId, id])
      : Promise.resolve(null),

  forAssessmentVersion: (accountId, assessmentId, version) =>
    UUID.test(accountId) && UUID.test(assessmentId)
      ? one(db, 'account_id = $1 and assessment_id = $2 and assessment_version = $3', [
          accountId,
          assessmentId,
          version,
        ])
      : Promise.resolve(null),

  // The public verification's lookup, on every page view: a named statement, planned once per connection.
  findByTokenHash: (tokenHash) => one(db, 'token_hash = $1', [tokenHash], { name: 'report_by_token_hash' }),

  latestForAssessment: (accountId, assessmentId) =>
    UUID.test(accountId) && UUID.test(assessmentId)
      ? one(db, 'account_id = $1 and assessment_id = $2 order by assessment_version desc limit 1', [
          accountId,
          assessmentId,
        ])
      : Promise.resolve(null),

  latestSuccessorOf: async (id) => {
    if (!UUID.test(id)) return null;
    // Versions only grow, so the newest report of the same assessment is the end of the successor chain.
    return one(
      db,
      `assessment_id = (select r.assessment_id from reports r where r.id = $1)
         and assessment_version > (select r.assessment_version from reports r where r.id = $1)
       order by assessment_version desc
       limit 1`,
      [id],
    );
  },

  supersede: async (accountId, assessmentId, newReportId, version) => {
    const rows = await db.query<{ id: string }>(
      `update reports set superseded_by = $3
        where account_id = $1 and assessment_id = $2 and assessment_version < $4 and superseded_by is null
        returning id`,
      [accountId, assessmentId, newReportId, version],
    );
    return rows.map((r) => r.id).sort();
  },

  revoke: async (accountId, id, at, reason) => {
    if (!UUID.test(accountId) || !UUID.test(id)) return null;
    await db.query(
      `update reports set revoked_at = $3::timestamptz, revocation_reason = $4
        where account_id = $1 and id = $2 and revoked_at is null`,
      [accountId, id, at, reason],
    );
    return one(db, 'account_id = $1 and id = $2', [accountId, id]);
  },

  referencedKeys: async (keys) => {
    if (keys.length === 0) return new Set();
    const rows = await db.query<{ storage_key: string }>(
      'select storage_key from reports where storage_key in (select jsonb_array_elements_text($1::jsonb))',
      [JSON.stringify(keys)],
    );
    return new Set(rows.map((r) => r.storage_key));
  },
});
