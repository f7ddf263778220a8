/**
 * The retry worker under load, on PostgreSQL: the registry sandbox (its own process) fails 30% of the calls of every
 * source at random; --count assessments are made (--concurrency at a time), then --workers workers (each a composed
 * app with its own connection pool, as separate processes would be) drain the retry jobs. Time is a manual clock
 * moved to the next due job whenever nothing is due, so the 48-hour schedule runs in seconds; the figures are wall
 * time. Prints the time to drain, jobs/s, and the lost and duplicated work found by checking the database
 * afterwards (both must be 0). Needs DATABASE_URL (a throwaway database is created on its server). Asserts nothing.
 * Usage: npm run bench:retry [-- --count 1000 --concurrency 20 --workers 4 --failure-rate 0.3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openPostgresDatabase } from '#app/adapters/postgres/database.ts';
import { migrate } from '#app/adapters/sql/migrate.ts';
import { ensurePartitions } from '#app/adapters/sql/partitions.ts';
import { loadConfig } from '#app/config/config.ts';
import { compose, LOCAL_ACCOUNT_ID, LOCAL_USER_ID, type App } from '#app/main/compose.ts';
import { createManualClock } from '../test/support/manual-clock.ts';
import {
  positiveInteger,
  round,
  startSandboxProcess,
  withThrowawayDatabase,
  type SandboxProcess,
} from './support.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '20' },
    workers: { type: 'string', default: '4' },
    'failure-rate': { type: 'string', default: '0.3' },
  },
});
const count = positiveInteger('count', values.count);
const concurrency = positiveInteger('concurrency', values.concurrency);
const workers = positiveInteger('workers', values.workers);
const failureRate = Number(values['failure-rate']);
const databaseUrl = process.env.DATABASE_URL?.trim() ?? '';
if (databaseUrl === '') {
  console.log('bench:retry needs DATABASE_URL (PostgreSQL).');
  process.exit(2);
}

/** Suppliers of the built-in sandbox, French and foreign, so every source is exercised. */
const SUPPLIERS = [
  '552032534',
  '382514792',
  '402753180',
  '441965308',
  '528437916',
  '845126390',
  'PL7740001454',
];

const main = async (): Promise<void> => {
  const sandbox = await startSandboxProcess();
  try {
    await withThrowawayDatabase(databaseUrl, (url) => drain(sandbox, url));
  } finally {
    await sandbox.stop();
  }
};

const drain = async (sandbox: SandboxProcess, url: string): Promise<void> => {
  await sandbox.setFaults({
    recherche: [{ failureRate, status: 503 }],
    bodacc: [{ failureRate, status: 503 }],
    vies: [{ failureRate, status: 503 }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'vigilance-bench-retry-'));
  const clock = createManualClock('2026-11-29T09:00:00.000Z');
  const apps: App[] = [];
  try {
    const setup = openPostgresDatabase({ url });
    await migrate(setup);
    await ensurePartitions(setup, clock.now());
    await setup.close();
    const config = loadConfig({
      DATABASE_URL: url,
      VIGILANCE_DATA_DIR: dir,
      // The sandbox answers on the registries' own paths (src/sandbox/registries.ts).
      VIGILANCE_RECHERCHE_URL: sandbox.baseUrl,
      VIGILANCE_BODACC_URL: sandbox.baseUrl,
      VIGILANCE_VIES_URL: `${sandbox.baseUrl}/taxation_customs/vies/rest-api`,
      VIGILANCE_REGISTRY_TIMEOUT_MS: '5000',
      // The sandbox has no limits to respect: measure the retries, not the registries' published rates.
      VIGILANCE_REGISTRY_LIMITS: 'off',
    });
    if (!config.ok) throw new Error(config.error.message);
    for (let i = 0; i < workers; i += 1) apps.push(await compose(config.value, { clock }));
    const [first] = apps;
    if (first === undefined) throw new Error('--workers must be at least 1');

    // The assessments: the first attempt fails at the sandbox's rate, and the failures become retry jobs.
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const i = next++;
          const result = await first.useCases.assessSupplier({
            identifier: SUPPLIERS[i % SUPPLIERS.length] ?? '552032534',
            correlationId: `bench-${String(i)}`,
            accountId: LOCAL_ACCOUNT_ID,
            actorId: LOCAL_USER_ID,
          });
          if (!result.ok) throw new Error(result.error.message);
        }
      }),
    );
    const assessedMs = performance.now() - started;
    const db = openPostgresDatabase({ url });
    const [initial] = await db.query<{ jobs: number; grey: number }>(
      `select (select count(*)::int from assessment_jobs) as jobs,
              (select count(*)::int from assessments where verdict = 'GREY') as grey`,
    );
    console.log(
      `${String(count)} assessments in ${String(round(assessedMs / 1000, 2))} s; ${String(initial?.grey)} GREY, ` +
        `${String(initial?.jobs)} retry jobs`,
    );

    // The drain: every worker runs rounds; when nothing is due, time jumps to the next due job.
    let jobsRun = 0;
    const drainStart = performance.now();
    for (;;) {
      const claimed = await Promise.all(apps.map((a) => a.useCases.processDueJobs()));
      const total = claimed.reduce((a, b) => a + b, 0);
      jobsRun += total;
      if (total > 0) continue;
      const [due] = await db.query<{ at: string | null }>(
        `select min(next_attempt_at) as at from assessment_jobs where state = 'PENDING'`,
      );
      if (due?.at == null) break;
      clock.set(new Date(Math.max(Date.parse(due.at), clock.now().getTime() + 1)).toISOString());
    }
    const drainMs = performance.now() - drainStart;

    // Lost: an assessment still waiting, or a source unavailable with neither a pending job nor a final one.
    const [lost] = await db.query<{ n: number }>(
      `select count(*)::int as n from assessments a
        where a.state = 'AWAITING_SOURCES'
           or exists (select 1 from jsonb_array_elements(a.sources) s
                       where s->>'status' = 'unavailable'
                         and not exists (select 1 from assessment_jobs j
                                          where j.assessment_id = a.id and j.source = s->>'name'
                                            and j.state in ('PENDING', 'FINAL')))`,
    );
    // Duplicated: more re-evaluations than answered retries, or a version that is not 1 + the answers.
    const [duplicated] = await db.query<{ n: number }>(
      `select count(*)::int as n from assessments a
        where a.version <> 1 + (select count(*) from assessment_jobs j
                                 where j.assessment_id = a.id and j.kind = 'retry_source' and j.state = 'DONE')
           or (select count(*) from audit_log l where l.action = 'assessment.reevaluated' and l.entity_id = a.id::text)
              <> a.version - 1`,
    );
    const [final] = await db.query<{ grey: number; finals: number; attempts: number }>(
      `select (select count(*)::int from assessments where verdict = 'GREY') as grey,
              (select count(*)::int from assessment_jobs where state = 'FINAL') as finals,
              (select coalesce(sum(attempt), 0)::int from assessment_jobs where kind = 'retry_source') as attempts`,
    );
    await db.close();
    const figures = {
      bench: 'retry',
      assessments: count,
      failureRate,
      workers,
      retryJobs: initial?.jobs ?? 0,
      jobRounds: jobsRun,
      registryAttempts: final?.attempts ?? 0,
      drainSeconds: round(drainMs / 1000, 2),
      jobsPerSecond: round(jobsRun / (drainMs / 1000)),
      greyBefore: initial?.grey ?? 0,
      greyAfter: final?.grey ?? 0,
      finalUnavailable: final?.finals ?? 0,
      simulatedHours: round((clock.now().getTime() - Date.parse('2026-11-29T09:00:00.000Z')) / 3_600_000, 1),
      lost: lost?.n ?? -1,
      duplicated: duplicated?.n ?? -1,
    };
    console.log(
      `Drained ${String(jobsRun)} job runs in ${String(figures.drainSeconds)} s (${String(figures.jobsPerSecond)} jobs/s, ` +
        `${String(workers)} workers, ${String(figures.simulatedHours)} simulated hours); GREY ${String(figures.greyBefore)} -> ` +
        `${String(figures.greyAfter)}; final-unavailable ${String(figures.finalUnavailable)}; lost ${String(figures.lost)}, ` +
        `duplicated ${String(figures.duplicated)}`,
    );
    console.log(JSON.stringify(figures));
  } finally {
    for (const a of apps) await a.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

await main();
