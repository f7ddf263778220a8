import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryCircuitBreaker } from '#app/adapters/memory/circuit-breaker.ts';
import { createMemoryRateLimiter } from '#app/adapters/memory/rate-limiter.ts';
import { openPgliteDatabase } from '#app/adapters/pglite/database.ts';
import type { SqlDatabase } from '#app/adapters/sql/database.ts';
import { migrate } from '#app/adapters/sql/migrate.ts';
import { ensurePartitions } from '#app/adapters/sql/partitions.ts';
import type { AssessmentJob } from '#app/application/ports/job-store.ts';
import type { VatRegistry } from '#app/application/ports/vat-registry.ts';
import { loadConfig } from '#app/config/config.ts';
import { compose, LOCAL_ACCOUNT_ID, LOCAL_USER_ID, type App, type Overrides } from '#app/main/compose.ts';
import { BUILT_IN_FIXTURES_DIR, startSandbox, type Sandbox } from '#app/sandbox/server.ts';
import { createManualClock, type ManualClock } from '../support/manual-clock.ts';

/**
 * The retry worker end to end on the embedded database: the real registry adapters against the sandbox with
 * faults, the real stores, the sealing pipeline, the in-memory breaker and limiter, time driven by a manual clock.
 */
describe('retries, re-evaluation and automatic re-sealing (sandbox, embedded database)', () => {
  let sandbox: Sandbox;
  let db: SqlDatabase;
  let dir: string;
  let clock: ManualClock;
  let app: App;

  beforeAll(async () => {
    sandbox = await startSandbox({ dir: BUILT_IN_FIXTURES_DIR });
    db = await openPgliteDatabase({ dataDir: null });
    await migrate(db);
    dir = mkdtempSync(join(tmpdir(), 'vigilance-retry-'));
  }, 60_000);
  afterAll(async () => {
    await db.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async (overrides: Overrides = {}): Promise<App> => {
    const config = loadConfig({
      VIGILANCE_RECHERCHE_URL: sandbox.urls.recherche,
      VIGILANCE_BODACC_URL: sandbox.urls.bodacc,
      VIGILANCE_VIES_URL: sandbox.urls.vies,
      VIGILANCE_REGISTRY_TIMEOUT_MS: '2000',
      VIGILANCE_DATA_DIR: dir,
      VIGILANCE_PUBLIC_URL: 'https://verify.example',
    });
    if (!config.ok) throw new Error(config.error.message);
    // No rate limit here: the limiter counts real time while these tests jump the clock by hours (it has its own
    // contract suite); everything else is the product's wiring.
    return compose(config.value, { database: db, clock, limiter: createMemoryRateLimiter({}), ...overrides });
  };

  beforeEach(async () => {
    clock = createManualClock('2026-11-29T09:00:00.000Z');
    await ensurePartitions(db, clock.now());
    sandbox.setFaults({});
    app = await open();
  });
  afterEach(async () => {
    await app.close();
  });

  const assess = async (identifier = '552032534') => {
    const result = await app.useCases.assessSupplier({
      identifier,
      correlationId: 'retry-test',
      accountId: LOCAL_ACCOUNT_ID,
      actorId: LOCAL_USER_ID,
    });
    if (!result.ok) throw new Error(result.error.message);
    return result.value;
  };

  const jobsOf = (assessmentId: string) =>
    db.query<{
      kind: string;
      source: string | null;
      state: string;
      attempt: number;
      next_attempt_at: string;
    }>(
      'select kind, source, state, attempt, next_attempt_at from assessment_jobs where assessment_id = $1 order by created_at, kind',
      [assessmentId],
    );

  const stored = async (assessmentId: string) => {
    const [row] = await db.query<{
      version: number;
      verdict: string;
      state: string;
      sources: { name: string; status: string; nextRetryAt?: string; final?: boolean }[];
    }>('select version, verdict, state, sources from assessments where id = $1', [assessmentId]);
    if (row === undefined) throw new Error('no assessment');
    return row;
  };

  /** Moves the clock to the next due job of the assessment and runs one worker round. */
  const nextRound = async (assessmentId: string): Promise<boolean> => {
    const pending = (await jobsOf(assessmentId)).filter((j) => j.state === 'PENDING');
    const due = pending.map((j) => Date.parse(j.next_attempt_at)).sort((a, b) => a - b)[0];
    if (due === undefined) return false;
    if (due > clock.now().getTime()) clock.set(new Date(due).toISOString());
    await app.useCases.processDueJobs();
    return true;
  };

  it('(a) VIES down for three attempts, then up: GREY, then GREEN, and the sealed GREY report is superseded by a GREEN v2', async () => {
    sandbox.setFaults({ vies: [{ status: 503, times: 3 }] });
    const viesBefore = sandbox.calls().vies;
    const first = await assess();
    expect(first.assessment.verdict).toBe('GREY');
    const vies = first.assessment.sources.find((s) => s.name === 'vies');
    expect(vies?.nextRetryAt).toMatch(/^2026-11-29T09:0[01]:/);
    const sealed = await app.useCases.sealReport({
      accountId: LOCAL_ACCOUNT_ID,
      actorId: LOCAL_USER_ID,
      assessmentId: first.assessmentId,
      lang: 'en',
      correlationId: 'seal-v1',
    });
    if (!sealed.ok || sealed.value.verificationUrl === null) throw new Error('seal failed');
    const v1Token = sealed.value.verificationUrl.split('/').pop() ?? '';

    // Two retries fail (the assessment's own call was the first of the three failures), the third answers.
    for (let round = 0; round < 10 && (await stored(first.assessmentId)).verdict === 'GREY'; round += 1) {
      await nextRound(first.assessmentId);
    }
    const after = await stored(first.assessmentId);
    expect(after).toMatchObject({ version: 2, verdict: 'GREEN', state: 'COMPLETE' });
    expect(after.sources.every((s) => s.status === 'ok' && s.nextRetryAt === undefined)).toBe(true);
    expect(sandbox.calls().vies - viesBefore).toBe(4);

    // The re-evaluation enqueued the new seal; the next round seals version 2 in the old report's language.
    await app.useCases.processDueJobs();
    const jobs = await jobsOf(first.assessmentId);
    expect(jobs.map((j) => [j.kind, j.source, j.state, j.attempt])).toEqual([
      ['retry_source', 'vies', 'DONE', 4],
      ['seal', null, 'DONE', 1],
    ]);
    const view = await app.useCases.publicVerification.byToken(v1Token);
    expect(view).toMatchObject({ status: 'superseded', verdict: 'GREY', supersededBy: { verdict: 'GREEN' } });
    const latest = await app.useCases.publicVerification.latestByToken(v1Token);
    expect(latest).toMatchObject({ status: 'valid', verdict: 'GREEN' });
    const reports = await db.query<{ assessment_version: number; lang: string }>(
      'select assessment_version, lang from reports where assessment_id = $1 order by assessment_version',
      [first.assessmentId],
    );
    expect(reports).toEqual([
      { assessment_version: 1, lang: 'en' },
      { assessment_version: 2, lang: 'en' },
    ]);
    const audit = await db.query<{ action: string }>(
      `select action from audit_log where entity_id = $1 or after->>'assessmentId' = $1 order by seq`,
      [first.assessmentId],
    );
    expect(audit.map((a) => a.action)).toEqual([
      'assessment.created',
      'report.sealed',
      'assessment.reevaluated',
      'report.sealed',
    ]);
    expect((await app.useCases.verifyAuditLog()).ok).toBe(true);
  });

  it('(b) BODACC down for good: retried for 48 hours, then final-unavailable (GREY), and never called again', async () => {
    sandbox.setFaults({ bodacc: [{ status: 503 }] });
    const bodaccBefore = sandbox.calls().bodacc;
    const first = await assess();
    expect(first.assessment.verdict).toBe('GREY');
    let rounds = 0;
    // Full jitter under a one-hour cap: about a hundred attempts in 48 hours.
    while (rounds < 2000 && (await nextRound(first.assessmentId))) rounds += 1;
    const [job] = await jobsOf(first.assessmentId);
    expect(job).toMatchObject({ kind: 'retry_source', source: 'bodacc', state: 'FINAL' });
    // The last attempt is at the end of the window, 48 hours after the first failure.
    expect(Date.parse(job?.next_attempt_at ?? '')).toBe(
      Date.parse('2026-11-29T09:00:00.000Z') + 48 * 3_600_000,
    );
    const after = await stored(first.assessmentId);
    expect(after).toMatchObject({ verdict: 'GREY', state: 'COMPLETE', version: 1 });
    expect(after.sources.find((s) => s.name === 'bodacc')).toMatchObject({
      status: 'unavailable',
      final: true,
    });
    const calls = sandbox.calls().bodacc;
    expect(calls - bodaccBefore).toBe(job?.attempt);
    clock.advance(7 * 24 * 3_600_000);
    expect(await app.useCases.processDueJobs()).toBe(0);
    expect(sandbox.calls().bodacc).toBe(calls);
  });

  it('(c) the breaker opens at its threshold, no call reaches the registry while open, then one probe at half-open', async () => {
    await app.close();
    const breaker = createMemoryCircuitBreaker({
      clock,
      settings: {
        failureRateThreshold: 0.5,
        minimumCalls: 3,
        windowMs: 600_000,
        openMs: 600_000,
        halfOpenProbes: 1,
      },
    });
    app = await open({ breaker });
    sandbox.setFaults({ vies: [{ status: 503 }] });
    const assessments = [];
    for (let i = 0; i < 4; i += 1) assessments.push(await assess());
    const before = sandbox.calls().vies;
    // Every retry is due within the first two minutes; the breaker sees the failures and opens.
    clock.advance(2 * 60_000);
    expect(await app.useCases.processDueJobs()).toBe(4);
    expect(sandbox.calls().vies - before).toBe(4);
    expect(await breaker.snapshot('vies')).toMatchObject({ state: 'OPEN' });

    // While open: due jobs are postponed to the end of the open period, not failed, and nothing is called.
    const openCalls = sandbox.calls().vies;
    for (let minute = 0; minute < 9; minute += 1) {
      clock.advance(60_000);
      await app.useCases.processDueJobs();
    }
    expect(sandbox.calls().vies).toBe(openCalls);
    const attempts = (
      await db.query<{ attempt: number }>(
        `select attempt from assessment_jobs where source = 'vies' and state = 'PENDING'`,
      )
    ).map((r) => r.attempt);
    expect(attempts.every((a) => a === 2)).toBe(true);

    // Half-open: VIES is back; exactly one probe goes through, it succeeds, the breaker closes, the rest follow.
    sandbox.setFaults({});
    clock.advance(60_000);
    await app.useCases.processDueJobs();
    expect(sandbox.calls().vies - openCalls).toBe(1);
    expect(await breaker.snapshot('vies')).toMatchObject({ state: 'CLOSED' });
    // The others were told to come back when the probe would have been presumed lost (one open period later).
    for (let round = 0; round < 12; round += 1) {
      clock.advance(60_000);
      await app.useCases.processDueJobs();
    }
    for (const a of assessments) expect((await stored(a.assessmentId)).verdict).toBe('GREEN');
  });

  it('(d) a worker that dies mid-job: the job runs again after its lease, with no duplicate version or report', async () => {
    await app.close();
    // The first VIES answer is held until the test releases it: the "dead" worker stays inside its job.
    let release: () => void = () => undefined;
    let held = true;
    const hung: VatRegistry = {
      check: (vat) => {
        if (!held)
          return Promise.resolve({
            ok: true,
            value: { vat, valid: true, name: 'DANONE', address: null, requestDate: null, sourceUrl: 'v' },
          });
        held = false;
        return new Promise((resolve) => {
          release = () => {
            resolve({
              ok: true,
              value: { vat, valid: true, name: 'DANONE', address: null, requestDate: null, sourceUrl: 'v' },
            });
          };
        });
      },
    };
    sandbox.setFaults({ vies: [{ status: 503, times: 1 }] });
    const live = await open();
    const first = await live.useCases.assessSupplier({
      identifier: '552032534',
      correlationId: 'dies',
      accountId: LOCAL_ACCOUNT_ID,
      actorId: LOCAL_USER_ID,
    });
    await live.close();
    if (!first.ok) throw new Error('assess failed');
    app = await open({ vatRegistry: hung });
    const dying = await open({ vatRegistry: hung });

    clock.advance(2 * 60_000);
    const stuck = dying.useCases.processDueJobs();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The lease (2 minutes) lapses: another worker takes the job and completes it.
    clock.advance(3 * 60_000);
    expect(await app.useCases.processDueJobs()).toBe(1);
    expect(await stored(first.value.assessmentId)).toMatchObject({ version: 2, verdict: 'GREEN' });
    // The first worker comes back to life: its work is refused (its lease is gone), nothing is written twice.
    release();
    await stuck;
    await dying.close();
    expect(await stored(first.value.assessmentId)).toMatchObject({ version: 2, verdict: 'GREEN' });
    const reevaluations = await db.query(
      `select 1 from audit_log where action = 'assessment.reevaluated' and entity_id = $1`,
      [first.value.assessmentId],
    );
    expect(reevaluations).toHaveLength(1);
    const [job] = (await jobsOf(first.value.assessmentId)) as unknown as AssessmentJob[];
    expect(job).toMatchObject({ state: 'DONE' });
  });
});
