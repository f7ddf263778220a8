import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgliteDatabase } from '#app/adapters/pglite/database.ts';
import type { SqlDatabase } from '#app/adapters/sql/database.ts';
import { migrate } from '#app/adapters/sql/migrate.ts';
import { ensurePartitions } from '#app/adapters/sql/partitions.ts';
import type { JobRun } from '#app/application/use-cases/process-jobs.ts';
import { loadConfig } from '#app/config/config.ts';
import { BUILT_IN_FIXTURES_DIR, startSandbox, type Sandbox } from '#app/sandbox/server.ts';
import { createManualClock } from '../../test/support/manual-clock.ts';
import { compose, LOCAL_ACCOUNT_ID, LOCAL_USER_ID, type App } from './compose.ts';
import { composeWeb } from './web.ts';

/** The samples of a text exposition, by metric name and labels as written, e.g. `x_total{a="1"}`. */
const samples = (body: string): Map<string, number> =>
  new Map(
    body
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const at = line.lastIndexOf(' ');
        return [line.slice(0, at), Number(line.slice(at + 1))] as const;
      }),
  );

const calls = (source: string, outcome: 'ok' | 'unavailable', reason?: string): string =>
  `vigilance_registry_calls_total{source="${source}",outcome="${outcome}"${reason === undefined ? '' : `,reason="${reason}"`}}`;

/**
 * Metrics as `npm start` serves them: the composed application (the real registry adapters against the in-process
 * sandbox, embedded database, manual clock) and `GET /metrics` on the public server, driven with `inject()`.
 */
describe('GET /metrics over the composed application', () => {
  const clock = createManualClock('2026-11-29T09:00:00.000Z');
  let sandbox: Sandbox;
  let db: SqlDatabase;
  let dir: string;
  let app: App;
  let server: Awaited<ReturnType<typeof composeWeb>>;

  beforeAll(async () => {
    sandbox = await startSandbox({ dir: BUILT_IN_FIXTURES_DIR });
    db = await openPgliteDatabase({ dataDir: null });
    await migrate(db);
    await ensurePartitions(db, clock.now());
    dir = mkdtempSync(join(tmpdir(), 'vigilance-metrics-'));
    const config = loadConfig({
      VIGILANCE_RECHERCHE_URL: sandbox.urls.recherche,
      VIGILANCE_BODACC_URL: sandbox.urls.bodacc,
      VIGILANCE_VIES_URL: sandbox.urls.vies,
      VIGILANCE_REGISTRY_TIMEOUT_MS: '2000',
      VIGILANCE_DATA_DIR: dir,
      VIGILANCE_PUBLIC_URL: 'https://verify.example',
    });
    if (!config.ok) throw new Error(config.error.message);
    app = await compose(config.value, { database: db, clock });
    server = await composeWeb(app, { metrics: true });
  }, 60_000);
  afterAll(async () => {
    await server.close();
    await app.close();
    await db.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const scrape = async () => samples((await server.inject({ method: 'GET', url: '/metrics' })).body);

  it('serves the text exposition, never cached, with the headers and correlation id of every route', async () => {
    const res = await server.inject({
      method: 'GET',
      url: '/metrics',
      headers: { 'x-correlation-id': 'scrape-1' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-correlation-id']).toBe('scrape-1');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('# TYPE vigilance_registry_calls_total counter');
  });

  it('counts the requests the server answered by route pattern, never by address (a token stays out)', async () => {
    const token = 'Zk9'.repeat(14) + 'Q';
    await server.inject({ method: 'GET', url: `/verify/${token}` });
    await server.inject({ method: 'GET', url: '/nowhere' });
    await server.inject({ method: 'GET', url: '/api/v1/assessments' });
    const res = await server.inject({ method: 'GET', url: '/metrics' });
    expect(res.body).toContain(
      'vigilance_http_requests_total{route="/verify/:token",method="GET",status="404"} 1',
    );
    expect(res.body).toContain(
      'vigilance_http_requests_total{route="unmatched",method="GET",status="404"} 1',
    );
    expect(res.body).toContain(
      'vigilance_http_requests_total{route="/api/v1/assessments",method="GET",status="401"} 1',
    );
    expect(res.body).not.toContain(token);
  });

  it("counts each registry call once, the assessment's and the worker's retry, and the retry job", async () => {
    sandbox.setFaults({ vies: [{ status: 503, times: 1 }] });
    const sandboxBefore = sandbox.calls();
    const before = await scrape();
    const assessed = await app.useCases.assessSupplier({
      identifier: '552032534',
      correlationId: 'metrics-test',
      accountId: LOCAL_ACCOUNT_ID,
      actorId: LOCAL_USER_ID,
    });
    if (!assessed.ok) throw new Error(assessed.error.message);
    expect(assessed.value.assessment.verdict).toBe('GREY');

    const afterAssessment = await scrape();
    const delta = (after: Map<string, number>, key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
    expect(delta(afterAssessment, calls('sirene', 'ok'))).toBe(1);
    expect(delta(afterAssessment, calls('bodacc', 'ok'))).toBe(1);
    expect(delta(afterAssessment, calls('vies', 'ok'))).toBe(0);
    expect(delta(afterAssessment, calls('vies', 'unavailable', 'http_status'))).toBe(1);
    expect(delta(afterAssessment, 'vigilance_registry_call_duration_seconds_count{source="vies"}')).toBe(1);
    // Read at the scrape: the VIES retry is pending, not yet due by the clock; the breakers are closed.
    expect(afterAssessment.get('vigilance_retry_queue_jobs{state="pending"}')).toBe(1);
    expect(afterAssessment.get('vigilance_retry_queue_jobs{state="due"}')).toBe(0);
    expect(afterAssessment.get('vigilance_breaker_state{source="vies"}')).toBe(0);

    // The worker's retry answers: counted once more, and as a job.
    clock.advance(2 * 60_000);
    const runs: JobRun[] = [];
    expect(await app.workerRound({ job: (_job, _outcome, run) => runs.push(run) })).toBe(1);
    const afterRetry = await scrape();
    expect(delta(afterRetry, calls('vies', 'ok'))).toBe(1);
    expect(delta(afterRetry, calls('vies', 'unavailable', 'http_status'))).toBe(1);
    expect(delta(afterRetry, calls('sirene', 'ok'))).toBe(1);
    expect(delta(afterRetry, 'vigilance_retry_jobs_total{kind="retry_source",outcome="answered"}')).toBe(1);
    expect(afterRetry.get('vigilance_retry_queue_jobs{state="pending"}')).toBe(0);

    // As many calls counted as the registries received.
    const sandboxAfter = sandbox.calls();
    for (const source of ['sirene', 'bodacc', 'vies'] as const) {
      const counted = [...afterRetry]
        .filter(([key]) => key.startsWith(`vigilance_registry_calls_total{source="${source}"`))
        .reduce((sum, [key, value]) => sum + value - (before.get(key) ?? 0), 0);
      const received =
        source === 'sirene'
          ? sandboxAfter.recherche - sandboxBefore.recherche
          : sandboxAfter[source] - sandboxBefore[source];
      expect(counted, source).toBe(received);
    }

    // The job's correlation id is the one its audit entry carries.
    expect(runs).toEqual([{ correlationId: expect.any(String) as unknown, durationMs: 0, reason: null }]);
    const audit = await db.query<{ correlation_id: string }>(
      `select correlation_id from audit_log where action = 'assessment.reevaluated' and entity_id = $1`,
      [assessed.value.assessmentId],
    );
    expect(audit.map((a) => a.correlation_id)).toEqual([runs[0]?.correlationId]);
  });
});
