/**
 * The store, through the real unit of work: assessments stored per second with N concurrent writers, then the
 * latency of the bitemporal as-of query over a large observation table (1,000,000 rows on PostgreSQL, 100,000 on
 * PGlite). PGlite runs on disk in a temporary directory (the embedded default); PostgreSQL runs in a throwaway
 * database on the server of DATABASE_URL, and is skipped when it is not set. Prints figures, asserts nothing.
 * Usage: npm run bench:store [-- --count 2000 --writers 8 --pg-observations 1000000 --pglite-observations 100000
 *   --queries 2000]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openPgliteDatabase } from '#app/adapters/pglite/database.ts';
import { openPostgresDatabase } from '#app/adapters/postgres/database.ts';
import type { SqlDatabase } from '#app/adapters/sql/database.ts';
import { migrate } from '#app/adapters/sql/migrate.ts';
import { ensurePartitions } from '#app/adapters/sql/partitions.ts';
import { createSqlStores, createSqlUnitOfWork } from '#app/adapters/sql/unit-of-work.ts';
import type { JsonValue } from '#app/application/ports/json.ts';
import type { FactTimeline } from '#app/application/ports/observation-store.ts';
import type { UnitOfWork } from '#app/application/ports/unit-of-work.ts';
import { evaluateAssessment, type Assessment, type SourceOutcome } from '#app/domain/assessment.ts';
import type { CompanyFound, InsolvencyFacts, VatFacts } from '#app/domain/facts.ts';
import {
  formatVat,
  frenchVatFromSiren,
  parseSiren,
  type Siren,
} from '#app/domain/identifiers/identifiers.ts';
import { timelinesOf } from '#app/domain/observations.ts';
import { POLICY_V1 } from '#app/domain/policy.ts';
import { percentile, round, positiveInteger } from './support.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '2000' },
    writers: { type: 'string', default: '8' },
    'pg-observations': { type: 'string', default: '1000000' },
    'pglite-observations': { type: 'string', default: '100000' },
    queries: { type: 'string', default: '2000' },
  },
});

const count = positiveInteger('count', values.count);
const writers = positiveInteger('writers', values.writers);
const pgObservations = positiveInteger('pg-observations', values['pg-observations']);
const pgliteObservations = positiveInteger('pglite-observations', values['pglite-observations']);
const queries = positiveInteger('queries', values.queries);
const warmUp = Math.min(100, count);
const loadStatements = Math.min(8, availableParallelism());
const databaseUrl = process.env.DATABASE_URL?.trim() ?? '';

// Cleanup ------------------------------------------------------------------------------------------------------

interface Cleanup {
  readonly run: () => Promise<void>;
  /** Also run on Ctrl-C, while work may still be in flight (dropping a database, removing a directory). */
  readonly onSignal: boolean;
}
const cleanups: Cleanup[] = [];
const cleanUp = async (signal: boolean): Promise<void> => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    if (signal && !cleanup.onSignal) continue;
    await cleanup.run().catch((error: unknown) => {
      console.error('cleanup failed:', error);
    });
  }
};
/** A Ctrl-C's cleanup: the main flow, failing when the database is dropped under it, waits for it to finish. */
const interrupted: Promise<void>[] = [];
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // Dropping the database ends the connections still in use, whose clients then emit an 'error' nobody listens to.
    process.on('uncaughtException', (error) => {
      if ((error as { code?: unknown }).code !== '57P01') console.error(error);
    });
    interrupted.push(cleanUp(true).finally(() => process.exit(130)));
  });
}

// One assessment's inputs: what the registries would have said about a DANONE-like company -----------------------

/** A Luhn-valid SIREN per index, so every assessment is about another company and records other fact keys. */
const sirenAt = (i: number): Siren => {
  const body = String(80_000_000 + i);
  for (let digit = 0; digit < 10; digit += 1) {
    const parsed = parseSiren(`${body}${String(digit)}`);
    if (parsed.ok) return parsed.value;
  }
  throw new Error(`no Luhn check digit for ${body}`);
};

const ok = <F>(facts: F, observedAt: string): SourceOutcome<F> => ({
  status: 'ok',
  facts,
  observedAt,
  durationMs: 40,
});

const company = (siren: Siren): CompanyFound => ({
  kind: 'found',
  provider: 'recherche',
  siren,
  duplicateOf: null,
  name: 'DANONE',
  diffusion: 'public',
  state: 'active',
  ceasedOn: null,
  createdOn: '1955-01-01',
  legalCategory: '5599',
  activity: '70.10Z',
  headOfficeSiret: `${siren}00703`,
  vatNumbers: [formatVat(frenchVatFromSiren(siren))],
  establishment: null,
  sourceUrl: `https://recherche-entreprises.api.gouv.fr/search?q=${siren}&page=1&per_page=1`,
});

/** A safeguard opened, then its plan adopted: two judgments, so the proceeding's timeline has two versions. */
const insolvency = (siren: Siren): InsolvencyFacts => {
  const notice = (id: string, publishedOn: string, nature: string, date: string) => ({
    id,
    publishedOn,
    type: 'annonce' as const,
    family: 'collective',
    tribunal: 'Greffe du Tribunal de Commerce de Paris',
    url: `https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:${id}`,
    judgment: { family: 'Jugement prononçant', nature, date, complement: null },
    radiation: null,
    previousNoticeId: null,
  });
  return {
    siren,
    notices: [
      notice(
        'A202300561234',
        '2023-03-24',
        "Jugement d'ouverture d'une procédure de sauvegarde",
        '2023-03-14',
      ),
      notice('A202400381122', '2024-02-27', 'Jugement arrêtant le plan de sauvegarde', '2024-02-20'),
    ],
    sourceUrl: `https://bodacc-datadila.opendatasoft.com/api/explore/v2.1/catalog/datasets/annonces-commerciales/records?where=registre:${siren}`,
  };
};

const vatFacts = (siren: Siren, observedAt: string): VatFacts => ({
  vat: frenchVatFromSiren(siren),
  valid: true,
  name: 'DANONE',
  address: '17 BD HAUSSMANN 75009 PARIS',
  requestDate: observedAt,
  sourceUrl: `https://ec.europa.eu/taxation_customs/vies/rest-api/ms/FR/vat/${frenchVatFromSiren(siren).national}`,
});

interface Prepared {
  readonly id: string;
  readonly correlationId: string;
  readonly assessment: Assessment;
  readonly timelines: readonly FactTimeline[];
}

const prepare = (i: number): Prepared => {
  const siren = sirenAt(i);
  const observedAt = new Date().toISOString();
  const answers = {
    assessedAt: observedAt,
    sirene: ok(company(siren), observedAt),
    bodacc: ok(insolvency(siren), observedAt),
    vies: ok(vatFacts(siren, observedAt), observedAt),
    siret: null,
  };
  const assessment = evaluateAssessment(
    {
      id: { kind: 'siren', siren },
      query: siren,
      vat: { number: frenchVatFromSiren(siren), origin: 'derived' },
      ...answers,
    },
    POLICY_V1,
  );
  return {
    id: randomUUID(),
    correlationId: `bench-${String(i)}`,
    assessment,
    timelines: timelinesOf(answers),
  };
};

const LOCAL_ACCOUNT_ID = '00000000-0000-4000-8000-000000000001';
const LOCAL_USER_ID = '00000000-0000-4000-8000-000000000002';

/** What the audit log keeps of a new assessment, shaped as assessSupplier shapes it. */
const auditView = (a: Assessment): JsonValue => ({
  subject: { siren: a.subject.siren, siret: a.subject.siret, vat: a.subject.vat, name: a.subject.name },
  verdict: a.verdict,
  policyVersion: a.policyVersion,
  signals: a.signals.map((s) => `${s.severity} ${s.code}`),
  sources: a.sources.map((s) => `${s.name}:${s.status}`),
});

/** The transaction assessSupplier makes for one assessment (without an idempotency key), statement for statement. */
const storeOne = async (unitOfWork: UnitOfWork, p: Prepared): Promise<void> => {
  const knownAt = new Date().toISOString();
  await unitOfWork.run(async (stores) => {
    const reserved = await stores.uniqueness.reserve('assessment', p.id, p.id);
    if (!reserved.ok) throw new Error('A newly generated assessment id is taken.');
    await stores.assessments.save({
      id: p.id,
      accountId: LOCAL_ACCOUNT_ID,
      actorId: LOCAL_USER_ID,
      agentAccountId: null,
      createdAt: p.assessment.assessedAt,
      version: 1,
      evaluation: null,
      state: p.assessment.sources.some((s) => s.status === 'unavailable') ? 'AWAITING_SOURCES' : 'COMPLETE',
      idempotencyKey: null,
      correlationId: p.correlationId,
      assessment: p.assessment,
    });
    for (const timeline of p.timelines) {
      await stores.observations.record(timeline, knownAt, p.id);
    }
    await stores.audit.append({
      occurredAt: knownAt,
      accountId: LOCAL_ACCOUNT_ID,
      actorId: LOCAL_USER_ID,
      ip: '203.0.113.7',
      userAgent: 'vigilance-bench',
      correlationId: p.correlationId,
      action: 'assessment.created',
      entityType: 'assessment',
      entityId: p.id,
      before: null,
      after: auditView(p.assessment),
    });
  });
};

interface StoreFigures {
  readonly assessmentsPerSecond: number;
  readonly transactionP50Ms: number;
  readonly transactionP95Ms: number;
  readonly transactionP99Ms: number;
  readonly transactionMaxMs: number;
  /** This process's CPU: the client alone on PostgreSQL, the client and the database on PGlite. */
  readonly cpuMsPerAssessment: number;
  readonly observationRowsWritten: number;
}

const storeAssessments = async (db: SqlDatabase): Promise<StoreFigures> => {
  const unitOfWork = createSqlUnitOfWork(db, { newId: () => randomUUID() });
  const run = async (inputs: readonly Prepared[]): Promise<number[]> => {
    const latencies: number[] = [];
    let next = 0;
    const writer = async (): Promise<void> => {
      while (next < inputs.length) {
        const input = inputs[next];
        next += 1;
        if (input === undefined) return;
        const started = performance.now();
        await storeOne(unitOfWork, input);
        latencies.push(performance.now() - started);
        // PGlite answers in microtasks: without the turn of the event loop a server's requests would give it, the
        // writers would queue eight deep behind one another, and a Ctrl-C would wait for the last of them.
        await setImmediate();
      }
    };
    await Promise.all(Array.from({ length: writers }, writer));
    return latencies;
  };
  await run(Array.from({ length: warmUp }, (_, i) => prepare(count + i)));
  const inputs = Array.from({ length: count }, (_, i) => prepare(i));
  const [before] = await db.query<{ n: number }>('select count(*)::int as n from source_observations');
  const cpuBefore = process.cpuUsage();
  const wallStart = performance.now();
  const latencies = (await run(inputs)).sort((a, b) => a - b);
  const wallMs = performance.now() - wallStart;
  const cpu = process.cpuUsage(cpuBefore);
  const [after] = await db.query<{ n: number }>('select count(*)::int as n from source_observations');
  return {
    assessmentsPerSecond: round((count * 1000) / wallMs),
    transactionP50Ms: round(percentile(latencies, 50)),
    transactionP95Ms: round(percentile(latencies, 95)),
    transactionP99Ms: round(percentile(latencies, 99)),
    transactionMaxMs: round(latencies.at(-1) ?? Number.NaN),
    cpuMsPerAssessment: round((cpu.user + cpu.system) / 1000 / count, 2),
    observationRowsWritten: (after?.n ?? 0) - (before?.n ?? 0),
  };
};

// The as-of query over a large table -----------------------------------------------------------------------------

/**
 * Loads observations about companies $1 to $2, $3 rows at most, in one set-based statement. Subjects are the
 * companies' SIRENs (1xxxxxxxx, apart from the writers' 8xxxxxxxx), with a SIRENE legal status and a BODACC
 * proceeding each, and their VAT numbers, with a VIES registration. Each fact has m versions (1 to 4, 13/6 on
 * average, so 10 rows per company) learned one after the other at t1 < ... < tm: the version learned at tj said
 * "from bj on" until t(j+1), when it was closed (sys_to) and restated up to b(j+1), as ObservationStore.record
 * does. So each fact holds m current versions tiling valid time without overlap (the EXCLUDE constraint checks
 * every row) and m - 1 closed ones. SIRENE and BODACC dates are days, learned 1 to 61 days later; VIES's are the
 * instants of observation. Deterministic: the same companies get the same histories on every run.
 */
const LOAD_SQL = `
insert into source_observations
  (id, subject, source, fact_kind, value, valid_from, valid_to, sys_from, sys_to, assessment_id)
select gen_random_uuid(), f.subject, f.source, f.fact_kind,
       case f.kind
         when 1 then jsonb_build_object(
           'state', case when v.j = f.m and f.m >= 3 then 'ceased' else 'active' end,
           'name', 'SOCIETE ' || f.n || case when v.j > 1 then ' ' || v.j else '' end,
           'legalCategory', '5710', 'activity', '62.01Z', 'diffusion', 'public')
         when 2 then (array[
           '{"status": "open", "procedure": "sauvegarde", "nature": "Jugement d''ouverture d''une procédure de sauvegarde"}',
           '{"status": "plan", "plan": "sauvegarde", "nature": "Jugement arrêtant le plan de sauvegarde"}',
           '{"status": "open", "procedure": "redressement", "nature": "Jugement de conversion en redressement judiciaire de la procédure de sauvegarde"}',
           '{"status": "closed", "reason": "other", "nature": "Jugement de clôture de la procédure de sauvegarde"}'
         ]::jsonb[])[v.j] || jsonb_build_object('noticeId', 'A' || (200000000 + f.n * 4 + v.j))
         else jsonb_build_object('valid', v.j % 2 = 1, 'name', 'SOCIETE ' || f.n)
       end,
       f.b1 + (v.j - 1) * f.step,
       case when v.current and v.j < f.m then f.b1 + v.j * f.step end,
       case when v.current and v.j < f.m then f.b1 + v.j * f.step else f.b1 + (v.j - 1) * f.step end + f.lag,
       case when not v.current then f.b1 + v.j * f.step + f.lag end,
       gen_random_uuid()
  from (
    select s.n, k.kind, k.source, k.fact_kind, k.subject,
           (array[1, 1, 2, 2, 3, 4])[1 + (hashint8(s.n * 16 + k.kind * 4) & 2147483647) % 6] as m,
           timestamptz '1990-01-01 00:00:00+00'
             + interval '1 day' * ((hashint8(s.n * 16 + k.kind * 4 + 1) & 2147483647) % 10000)
             + case when k.kind = 3
                 then interval '1 second' * ((hashint8(s.n * 16 + k.kind * 4 + 2) & 2147483647) % 86400)
                 else interval '0' end as b1,
           interval '1 day' * (30 + (hashint8(s.n * 16 + k.kind * 4 + 3) & 2147483647) % 700) as step,
           case when k.kind = 3 then interval '0'
             else interval '1 day'
               + interval '1 second' * ((hashint8(s.n * 16 + k.kind * 4 + 2) & 2147483647) % 5184000) end as lag
      from generate_series($1::int, $2::int) as s (n),
           lateral (values
             (1, 'sirene', 'legal_status', (100000000 + s.n)::text),
             (2, 'bodacc', 'collective_proceeding', (100000000 + s.n)::text),
             (3, 'vies', 'vat_registration',
              'FR' || lpad(((12 + 3 * ((100000000 + s.n) % 97)) % 97)::text, 2, '0') || (100000000 + s.n))
           ) as k (kind, source, fact_kind, subject)
  ) as f,
  lateral (
    select j, true as current from generate_series(1, f.m) as j
    union all
    select j, false from generate_series(1, f.m - 1) as j
  ) as v
 limit $3::int`;

interface AsOfFigures {
  readonly observationsLoaded: number;
  /** The loaded rows and those the writers recorded before. */
  readonly observationsInTable: number;
  /** The loaded companies' SIRENs and VAT numbers, which the queries pick from. */
  readonly subjects: number;
  /** Concurrent insert statements, each on its own companies. */
  readonly loadStatements: number;
  readonly loadSeconds: number;
  readonly loadRowsPerSecond: number;
  readonly analyzeSeconds: number;
  readonly tableAndIndexesMb: number;
  readonly queries: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly queriesPerSecond: number;
  readonly factsPerAnswer: number;
}

const DAY_MS = 86_400_000;
const EARLIEST_MS = Date.parse('2000-01-01T00:00:00.000Z');

const queryAsOf = async (db: SqlDatabase, rows: number): Promise<AsOfFigures> => {
  const loadStart = performance.now();
  // The EXCLUDE constraint's GiST index costs most of the load, one CPU per statement: on PostgreSQL, one statement
  // per core, each on its own range of companies (10 rows each on average; a margin, and its limit makes the
  // count exact). PGlite is one session.
  const statements = db.driver === 'postgres' ? loadStatements : 1;
  const span = Math.ceil((rows / statements / 10) * 1.1) + 10;
  await Promise.all(
    Array.from({ length: statements }, (_, i) =>
      db.query(LOAD_SQL, [
        i * span + 1,
        (i + 1) * span,
        Math.floor(rows / statements) + (i < rows % statements ? 1 : 0),
      ]),
    ),
  );
  const loadMs = performance.now() - loadStart;
  const analyzeStart = performance.now();
  await db.query('analyze source_observations');
  const analyzeMs = performance.now() - analyzeStart;
  const [stats] = await db.query<{ n: number; mb: number }>(
    `select count(*)::int as n, round(pg_total_relation_size('source_observations') / 1048576.0)::int as mb
       from source_observations`,
  );
  // The loaded companies' SIRENs (1xxxxxxxx) and VAT numbers, not the writers' (8xxxxxxxx): theirs are all of today.
  const subjects = (
    await db.query<{ subject: string }>(
      `select distinct subject from source_observations where subject like '1%' or subject like 'FR__1%'`,
    )
  ).map((r) => r.subject);

  const observations = createSqlStores(db, { newId: () => randomUUID() }).observations;
  const nowMs = Date.now();
  const pick = (): { subject: string; validAt: string; knownAt: string } => {
    // What was true at a date, as known then or any time since: the question a report is defended with.
    const validMs = EARLIEST_MS + Math.random() * (nowMs - EARLIEST_MS);
    const knownMs = validMs + Math.random() * (nowMs - validMs);
    return {
      subject: subjects[Math.floor(Math.random() * subjects.length)] ?? '',
      validAt: new Date(Math.floor(validMs / DAY_MS) * DAY_MS).toISOString(),
      knownAt: new Date(knownMs).toISOString(),
    };
  };
  for (let i = 0; i < Math.min(100, queries); i += 1) {
    const q = pick();
    await observations.asOf(q.subject, q);
  }
  const latencies: number[] = [];
  let facts = 0;
  const wallStart = performance.now();
  for (let i = 0; i < queries; i += 1) {
    const q = pick();
    const started = performance.now();
    const answer = await observations.asOf(q.subject, q);
    latencies.push(performance.now() - started);
    facts += answer.length;
  }
  const wallMs = performance.now() - wallStart;
  latencies.sort((a, b) => a - b);
  return {
    observationsLoaded: rows,
    observationsInTable: stats?.n ?? 0,
    subjects: subjects.length,
    loadStatements: statements,
    loadSeconds: round(loadMs / 1000),
    loadRowsPerSecond: Math.round((rows * 1000) / loadMs),
    analyzeSeconds: round(analyzeMs / 1000, 2),
    tableAndIndexesMb: stats?.mb ?? 0,
    queries,
    p50Ms: round(percentile(latencies, 50), 2),
    p95Ms: round(percentile(latencies, 95), 2),
    p99Ms: round(percentile(latencies, 99), 2),
    maxMs: round(latencies.at(-1) ?? Number.NaN, 2),
    queriesPerSecond: round((queries * 1000) / wallMs),
    factsPerAnswer: round(facts / queries, 2),
  };
};

// The two databases ------------------------------------------------------------------------------------------------

interface DatabaseFigures extends StoreFigures {
  readonly asOf: AsOfFigures;
}

const measure = async (db: SqlDatabase, rows: number): Promise<DatabaseFigures> => {
  await migrate(db);
  await ensurePartitions(db, new Date());
  const store = await storeAssessments(db);
  return { ...store, asOf: await queryAsOf(db, rows) };
};

const onPglite = async (): Promise<DatabaseFigures> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigilance-bench-store-'));
  cleanups.push({
    run: () => {
      rmSync(dataDir, { recursive: true, force: true });
      return Promise.resolve();
    },
    onSignal: true,
  });
  const db = await openPgliteDatabase({ dataDir });
  cleanups.push({ run: () => db.close(), onSignal: false });
  return measure(db, pgliteObservations);
};

const onPostgres = async (url: string): Promise<DatabaseFigures> => {
  const name = `vigilance_bench_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  cleanups.push({ run: () => admin(`drop database if exists ${name} with (force)`), onSignal: true });
  const target = new URL(url);
  target.pathname = `/${name}`;
  const db = openPostgresDatabase({
    url: target.toString(),
    maxConnections: Math.max(writers, loadStatements),
  });
  cleanups.push({ run: () => db.close(), onSignal: false });
  return measure(db, pgObservations);
};

let pglite: DatabaseFigures;
let postgres: DatabaseFigures | null = null;
try {
  pglite = await onPglite();
  await cleanUp(false);
  if (databaseUrl !== '') postgres = await onPostgres(databaseUrl);
} finally {
  await cleanUp(false);
  await Promise.all(interrupted);
}
const postgresSkipped = databaseUrl === '' ? 'DATABASE_URL is not set' : null;

// Report -------------------------------------------------------------------------------------------------------------

const columns = (label: string, a: string, b: string): void => {
  console.log(`  ${label.padEnd(34)} ${a.padEnd(26)} ${b}`);
};
const both = (label: string, show: (f: DatabaseFigures) => string): void => {
  columns(label, show(pglite), postgres === null ? 'skipped' : show(postgres));
};
const n = (x: number): string => x.toLocaleString('en-US');

console.log(
  `Storing ${n(count)} assessments (${String(writers)} writers, after ${String(warmUp)} warm-up), then ${n(queries)} as-of queries one at a time`,
);
columns('', 'pglite (on disk)', 'postgres');
both('assessments stored/s', (f) => `${f.assessmentsPerSecond}`);
both(
  'transaction p50 / p95 / p99 ms',
  (f) => `${f.transactionP50Ms} / ${f.transactionP95Ms} / ${f.transactionP99Ms}`,
);
both('transaction max ms', (f) => `${f.transactionMaxMs}`);
both('observation rows per assessment', (f) => `${round(f.observationRowsWritten / count, 2)}`);
both('CPU ms per assessment (this proc.)', (f) => `${f.cpuMsPerAssessment}`);
both(
  'observations loaded (in table)',
  (f) => `${n(f.asOf.observationsLoaded)} (${n(f.asOf.observationsInTable)})`,
);
both('subjects (SIRENs and VAT numbers)', (f) => n(f.asOf.subjects));
both(
  'load s (rows/s, statements)',
  (f) => `${f.asOf.loadSeconds} (${n(f.asOf.loadRowsPerSecond)}, ${String(f.asOf.loadStatements)})`,
);
both('analyze s', (f) => `${f.asOf.analyzeSeconds}`);
both('table and indexes MB', (f) => `${f.asOf.tableAndIndexesMb}`);
both('as-of p50 / p95 / p99 ms', (f) => `${f.asOf.p50Ms} / ${f.asOf.p95Ms} / ${f.asOf.p99Ms}`);
both('as-of max ms', (f) => `${f.asOf.maxMs}`);
both('as-of queries/s (one at a time)', (f) => `${f.asOf.queriesPerSecond}`);
both('facts per as-of answer', (f) => `${f.asOf.factsPerAnswer}`);
console.log(
  '  (PGlite runs each transaction to the end in this process, one at a time: the writers take turns.)',
);
if (postgresSkipped !== null) {
  console.log(
    `  PostgreSQL part skipped: ${postgresSkipped} (DATABASE_URL=postgres://... npm run bench:store to include it).`,
  );
}
console.log(
  JSON.stringify({
    bench: 'store',
    count,
    writers,
    warmUp,
    queries,
    pglite,
    postgres,
    postgresSkipped,
    node: process.version,
  }),
);
