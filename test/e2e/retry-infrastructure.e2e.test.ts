import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openPgliteDatabase } from '#app/adapters/pglite/database.ts';
import { createRedisCircuitBreaker } from '#app/adapters/redis/circuit-breaker.ts';
import type { RedisConnection } from '#app/adapters/redis/client.ts';
import { createRedisRateLimiter } from '#app/adapters/redis/rate-limiter.ts';
import { createViesVatRegistry } from '#app/adapters/registries/vies.ts';
import type { SqlDatabase, SqlRow } from '#app/adapters/sql/database.ts';
import { migrate } from '#app/adapters/sql/migrate.ts';
import { ensurePartitions } from '#app/adapters/sql/partitions.ts';
import type { CircuitBreaker } from '#app/application/ports/circuit-breaker.ts';
import { REGISTRY_LIMITS, type Permit, type RateLimiter } from '#app/application/ports/rate-limiter.ts';
import type { VatRegistry } from '#app/application/ports/vat-registry.ts';
import { DEFAULT_LEASE_MS, type JobOutcome } from '#app/application/use-cases/process-jobs.ts';
import { loadConfig, type Config } from '#app/config/config.ts';
import { compose, LOCAL_ACCOUNT_ID, LOCAL_USER_ID, type App, type Overrides } from '#app/main/compose.ts';
import { BUILT_IN_FIXTURES_DIR, startSandbox, type Sandbox } from '#app/sandbox/server.ts';
import { describeOnPostgres, type TestDatabase } from '../support/databases.ts';
import { createManualClock, type ManualClock } from '../support/manual-clock.ts';
import {
  deleteKeys,
  describeOnRedis,
  openTestRedis,
  startRedisProxy,
  uniqueKeyPrefix,
  type RedisProxy,
} from '../support/redis.ts';

/**
 * The retry worker when its own infrastructure fails, end to end: the real app (compose) against the registry
 * sandbox, time driven by a manual clock. Redis stopped and started again under a running worker (the breaker and
 * the limiter carry on in memory, then share their state in Redis again); a PostgreSQL connection terminated in
 * the middle of a retry (the round fails, the job is not lost: it runs again once its lease lapses); the inline
 * worker loop carrying on after a failed round.
 */

/** Suppliers the sandbox says are GREEN once VIES answers (scenarios 1, 5, 6, 18 and 17 of its README). */
const GREEN_SUPPLIERS = ['552032534', '441965308', '382514792', '980471155', '845126390'] as const;

const configFor = (sandbox: Sandbox, dataDir: string, env: Record<string, string> = {}): Config => {
  const config = loadConfig({
    VIGILANCE_RECHERCHE_URL: sandbox.urls.recherche,
    VIGILANCE_BODACC_URL: sandbox.urls.bodacc,
    VIGILANCE_VIES_URL: sandbox.urls.vies,
    VIGILANCE_REGISTRY_TIMEOUT_MS: '2000',
    VIGILANCE_DATA_DIR: dataDir,
    VIGILANCE_PUBLIC_URL: 'https://verify.example',
    ...env,
  });
  if (!config.ok) throw new Error(config.error.message);
  return config.value;
};

const assess = async (app: App, identifier: string) => {
  const result = await app.useCases.assessSupplier({
    identifier,
    correlationId: `retry-infrastructure-${identifier}`,
    accountId: LOCAL_ACCOUNT_ID,
    actorId: LOCAL_USER_ID,
  });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
};

interface JobRow extends SqlRow {
  readonly kind: string;
  readonly source: string | null;
  readonly state: string;
  readonly attempt: number;
  readonly next_attempt_at: string;
  readonly locked_by: string | null;
  readonly locked_until: string | null;
}

const jobsOf = (db: SqlDatabase, assessmentId: string) =>
  db.query<JobRow>(
    `select kind, source, state, attempt, next_attempt_at, locked_by, locked_until from assessment_jobs
      where assessment_id = $1 order by created_at, kind`,
    [assessmentId],
  );

const stored = async (db: SqlDatabase, assessmentId: string) => {
  const [row] = await db.query<{ version: number; verdict: string; state: string }>(
    'select version, verdict, state from assessments where id = $1',
    [assessmentId],
  );
  if (row === undefined) throw new Error('no assessment');
  return row;
};

const auditActions = async (db: SqlDatabase, assessmentId: string) =>
  (
    await db.query<{ action: string }>(
      `select action from audit_log where entity_id = $1 or after->>'assessmentId' = $1 order by seq`,
      [assessmentId],
    )
  ).map((a) => a.action);

/**
 * Moves the clock (forward only, so the monotonic time moves too) to the earliest due job of the given
 * assessments, if it is in the future, and runs one worker round. Returns false when none of them has a job left.
 */
const nextRound = async (
  app: App,
  db: SqlDatabase,
  clock: ManualClock,
  assessmentIds: readonly string[],
): Promise<boolean> => {
  const [row] = await db.query<{ due: string | null }>(
    `select min(next_attempt_at) as due from assessment_jobs where state = 'PENDING' and assessment_id = any($1)`,
    [assessmentIds],
  );
  if (row?.due == null) return false;
  const wait = Date.parse(row.due) - clock.now().getTime();
  if (wait > 0) clock.advance(wait);
  await app.useCases.processDueJobs();
  return true;
};

/** Polls until `done` holds, within a bound of real time (the loops under test run on real timers). */
const eventually = async (what: string, done: () => boolean | Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`Not within ${String(timeoutMs)} ms: ${what}`);
    await sleep(5);
  }
};

describeOnRedis(
  'the retry worker through a Redis restart (sandbox, embedded database, Redis behind a proxy)',
  () => {
    // The app's keys live under a prefix of this run's own (the product's is "vigilance:"), so that parallel runs
    // sharing one Redis never share a breaker; everything under it is deleted at the end.
    const keyPrefix = uniqueKeyPrefix('retry-infrastructure');
    const breakerKey = `${keyPrefix}breaker:vies`;
    let sandbox: Sandbox;
    let db: SqlDatabase;
    let dir: string;
    let proxy: RedisProxy;
    let direct: RedisConnection;
    let clock: ManualClock;
    let app: App | undefined;
    /** Another instance's view of the shared state: the breaker and the limiter on the same keys, straight to Redis. */
    let shared: CircuitBreaker;
    let sharedLimiter: RateLimiter;

    beforeAll(async () => {
      sandbox = await startSandbox({ dir: BUILT_IN_FIXTURES_DIR });
      db = await openPgliteDatabase({ dataDir: null });
      await migrate(db);
      dir = mkdtempSync(join(tmpdir(), 'vigilance-retry-redis-'));
      proxy = await startRedisProxy();
      direct = await openTestRedis();
    }, 60_000);
    afterAll(async () => {
      await app?.close();
      await proxy.close();
      await deleteKeys(direct.redis, keyPrefix);
      await direct.close();
      await db.close();
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /** Resolves once the app's breaker reads Redis again: it sees the OPEN breaker another instance left there. */
    const untilAppBreakerOnRedis = async (running: App): Promise<void> => {
      const name = 'e2e-redis-check';
      for (let i = 0; i < 5; i += 1) await shared.record(name, 'failure', { allowed: true, probe: false });
      expect(await shared.snapshot(name)).toMatchObject({ state: 'OPEN' });
      await eventually('the app breaker reads Redis', async () => {
        if ((await running.breaker.snapshot(name)).state !== 'CLOSED') return true;
        // In memory, the breaker asks Redis again once the client is connected and a second (of the Clock) passed.
        clock.advance(1_000);
        return false;
      });
      await direct.redis.del(`${keyPrefix}breaker:${name}`);
    };

    it('(e) carries on in memory while Redis is gone, turns the assessments GREEN, then shares its state in Redis again', async () => {
      clock = createManualClock('2026-11-29T09:00:00.000Z');
      await ensurePartitions(db, clock.now());
      const config = configFor(sandbox, dir, { REDIS_URL: proxy.url });
      expect(config.redis).toEqual({ url: proxy.url, keyPrefix: 'vigilance:' });
      app = await compose({ ...config, redis: { ...config.redis, keyPrefix } }, { database: db, clock });
      const running = app;
      shared = createRedisCircuitBreaker({
        redis: direct.redis,
        clock,
        keyPrefix,
        openFallback: () => {
          throw new Error('the test side of the breaker must stay on Redis');
        },
      });
      sharedLimiter = createRedisRateLimiter({
        redis: direct.redis,
        limits: REGISTRY_LIMITS,
        keyPrefix: `${keyPrefix}limits`,
      });

      // Redis up: three suppliers assessed while VIES is down, GREY with a retry job each.
      sandbox.setFaults({ vies: [{ status: 503 }] });
      const ids: string[] = [];
      const round = () => nextRound(running, db, clock, ids);
      for (const siren of GREEN_SUPPLIERS.slice(0, 3)) {
        const first = await assess(running, siren);
        expect(first.assessment.verdict).toBe('GREY');
        ids.push(first.assessmentId);
      }
      await untilAppBreakerOnRedis(running);
      let vies = sandbox.calls().vies;
      // Every first retry is due within two minutes: one round tries all three, and the failures land in Redis.
      clock.advance(2 * 60_000);
      expect(await running.useCases.processDueJobs()).toBe(3);
      expect(sandbox.calls().vies - vies).toBe(3);
      const inRedis = await shared.snapshot('vies');
      expect(inRedis).toMatchObject({ state: 'CLOSED', calls: 3, failures: 3 });
      expect(await running.breaker.snapshot('vies')).toEqual(inRedis);
      const hashBefore = await direct.redis.hgetall(breakerKey);
      expect(Object.keys(hashBefore).length).toBeGreaterThan(0);

      // Redis gone: rounds keep running, calls keep going out, nothing throws, and nothing is written to Redis.
      await proxy.stop();
      vies = sandbox.calls().vies;
      for (let i = 0; i < 3; i += 1) expect(await round()).toBe(true);
      expect(sandbox.calls().vies).toBeGreaterThan(vies);
      for (const id of ids) expect(await stored(db, id)).toMatchObject({ verdict: 'GREY', version: 1 });
      // VIES answers again: every assessment turns GREEN, still without Redis.
      sandbox.setFaults({});
      for (let i = 0; i < 50 && (await round()); i += 1);
      for (const id of ids) {
        expect(await stored(db, id)).toMatchObject({ verdict: 'GREEN', version: 2, state: 'COMPLETE' });
        expect((await jobsOf(db, id)).map((j) => [j.kind, j.state])).toEqual([['retry_source', 'DONE']]);
      }
      expect(await direct.redis.hgetall(breakerKey)).toEqual(hashBefore);
      // The switch to the in-memory fallback is counted in the metrics.
      expect((await running.metrics()).body).toMatch(
        /vigilance_breaker_backend_changes_total\{backend="memory"\} [1-9]/,
      );

      // Redis back, VIES down again for two new suppliers.
      sandbox.setFaults({ vies: [{ status: 503 }] });
      const later: string[] = [];
      for (const siren of GREEN_SUPPLIERS.slice(3)) later.push((await assess(running, siren)).assessmentId);
      await proxy.start();
      await untilAppBreakerOnRedis(running);
      const laterRound = () => nextRound(running, db, clock, later);
      const [latest] = await db.query<{ due: string }>(
        `select max(next_attempt_at) as due from assessment_jobs where assessment_id = any($1)`,
        [later],
      );
      const dueAt = Date.parse(latest?.due ?? '');
      if (dueAt > clock.now().getTime()) clock.advance(dueAt - clock.now().getTime());

      // Another instance opened the breaker in Redis: the app's worker obeys it, calls nothing, postpones the jobs.
      for (let i = 0; i < 5; i += 1) await shared.record('vies', 'failure', { allowed: true, probe: false });
      const opened = await shared.snapshot('vies');
      expect(opened).toMatchObject({ state: 'OPEN' });
      expect(await running.breaker.snapshot('vies')).toEqual(opened);
      vies = sandbox.calls().vies;
      expect(await running.useCases.processDueJobs()).toBe(2);
      expect(sandbox.calls().vies).toBe(vies);
      for (const id of later) {
        expect(await jobsOf(db, id)).toMatchObject([
          { state: 'PENDING', attempt: 1, next_attempt_at: opened.retryAt, locked_by: null },
        ]);
      }

      // Another instance holds every VIES place of the shared limiter: at half-open, the probe waits for a place.
      sandbox.setFaults({});
      const held: Permit[] = [];
      for (let i = 0; i < 4; i += 1) held.push(await sharedLimiter.tryAcquire('vies'));
      expect(held.every((p) => p.granted)).toBe(true);
      clock.advance(Date.parse(opened.retryAt ?? '') - clock.now().getTime());
      expect(await running.useCases.processDueJobs()).toBe(2);
      expect(sandbox.calls().vies).toBe(vies);
      expect(await shared.snapshot('vies')).toMatchObject({ state: 'HALF_OPEN' });
      for (const permit of held) if (permit.granted) await permit.release();

      // Places free: the probe goes through (the breaker closes in Redis), the other job follows, both GREEN.
      for (let i = 0; i < 50 && (await laterRound()); i += 1);
      for (const id of later) expect(await stored(db, id)).toMatchObject({ verdict: 'GREEN', version: 2 });
      expect(sandbox.calls().vies - vies).toBe(2);
      const closed = await shared.snapshot('vies');
      expect(closed).toMatchObject({ state: 'CLOSED', failures: 0 });
      expect(await running.breaker.snapshot('vies')).toEqual(closed);
      expect(await direct.redis.exists(breakerKey)).toBe(1);
      expect((await running.useCases.verifyAuditLog()).ok).toBe(true);
    });
  },
);

describeOnPostgres('a PostgreSQL connection dropped during a retry (sandbox, PostgreSQL)', (target) => {
  let sandbox: Sandbox;
  let t: TestDatabase;
  let dir: string;
  let admin: pg.Client;
  let clock: ManualClock;
  let app: App | undefined;

  beforeAll(async () => {
    sandbox = await startSandbox({ dir: BUILT_IN_FIXTURES_DIR });
    t = await target.open();
    dir = mkdtempSync(join(tmpdir(), 'vigilance-retry-pg-'));
    admin = new pg.Client({ connectionString: t.url ?? '' });
    await admin.connect();
  }, 60_000);
  afterAll(async () => {
    await admin.end();
    await t.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    clock = createManualClock('2026-11-29T09:00:00.000Z');
    await ensurePartitions(t.db, clock.now());
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  /** Terminates every client connection to the test database but the admin's own; returns their pids. */
  const terminateAppConnections = async (): Promise<number[]> => {
    const { rows } = await admin.query<{ pid: number; terminated: boolean }>(
      `select pid, pg_terminate_backend(pid) as terminated from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`,
    );
    return rows.filter((r) => r.terminated).map((r) => r.pid);
  };

  /**
   * Waits until the terminated sessions have ended on the server (each sent its FATAL first), then lets the event
   * loop turn: the pool has then dropped its dead idle clients, and the test's own next queries get live ones.
   */
  const untilEnded = async (pids: readonly number[]): Promise<void> => {
    await eventually('the terminated sessions end', async () => {
      const { rows } = await admin.query<{ left: number }>(
        'select count(*)::int as left from pg_stat_activity where pid = any($1)',
        [pids],
      );
      return rows[0]?.left === 0;
    });
    await sleep(20);
  };

  /** The real VIES adapter on the sandbox, with `during` run inside the call the test picks (1 = the first). */
  const viesWith = (during: { call: number; run: () => Promise<void> }) => {
    const real = createViesVatRegistry(
      { clock },
      { baseUrl: sandbox.urls.vies, timeoutMs: 2_000, userAgent: 'vigilance-test' },
    );
    let calls = 0;
    const registry: VatRegistry = {
      check: async (vat, call) => {
        calls += 1;
        if (calls === during.call) await during.run();
        return real.check(vat, call);
      },
    };
    return { registry, calls: () => calls };
  };

  const open = async (overrides: Overrides) => {
    app = await compose(configFor(sandbox, dir), { database: t.db, clock, ...overrides });
    return app;
  };

  /** Past the lease, a round runs the job if a failed round still holds it: GREEN v2, re-evaluated exactly once. */
  const expectRecovered = async (running: App, assessmentId: string) => {
    clock.advance(DEFAULT_LEASE_MS + 1_000);
    await running.useCases.processDueJobs();
    expect(await stored(t.db, assessmentId)).toMatchObject({
      verdict: 'GREEN',
      version: 2,
      state: 'COMPLETE',
    });
    expect(await jobsOf(t.db, assessmentId)).toMatchObject([
      { kind: 'retry_source', source: 'vies', state: 'DONE', attempt: 2, locked_by: null },
    ]);
    expect(await auditActions(t.db, assessmentId)).toEqual(['assessment.created', 'assessment.reevaluated']);
    expect((await running.useCases.verifyAuditLog()).ok).toBe(true);
  };

  it('(f) connections terminated while the re-evaluation waits in its transaction: the round fails, the job keeps its lease, then runs again: GREEN v2 once', async () => {
    let assessmentId = '';
    let terminated: Promise<number[]> = Promise.resolve([]);
    // During the retry call, a slow writer holds the assessment's row; once the worker's transaction waits for it,
    // every connection of the app is terminated, then the row is let go. The registry itself answers VALID.
    const vies = viesWith({
      call: 2,
      run: async () => {
        await admin.query('begin');
        await admin.query('select 1 from assessments where id = $1 for update', [assessmentId]);
        terminated = (async () => {
          try {
            await eventually('the worker waits for the row', async () => {
              const { rows } = await admin.query<{ waiting: number }>(
                `select count(*)::int as waiting from pg_stat_activity
                  where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'`,
              );
              return (rows[0]?.waiting ?? 0) > 0;
            });
            return await terminateAppConnections();
          } finally {
            await admin.query('rollback');
          }
        })();
      },
    });
    const running = await open({ vatRegistry: vies.registry });
    sandbox.setFaults({ vies: [{ status: 503, times: 1 }] });
    const first = await assess(running, '552032534');
    assessmentId = first.assessmentId;
    expect(first.assessment.verdict).toBe('GREY');
    expect(first.assessment.sources.find((s) => s.name === 'vies')?.status).toBe('unavailable');

    clock.advance(2 * 60_000);
    const claimedAt = clock.now().getTime();
    await expect(running.useCases.processDueJobs()).rejects.toThrow(/terminat/i);
    const pids = await terminated;
    expect(pids.length).toBeGreaterThanOrEqual(1);
    await untilEnded(pids);
    expect(vies.calls()).toBe(2);

    // Nothing of the re-evaluation was written; the job is still this worker's until its lease lapses.
    expect(await stored(t.db, assessmentId)).toMatchObject({ verdict: 'GREY', version: 1 });
    const [held] = await jobsOf(t.db, assessmentId);
    expect(held).toMatchObject({ kind: 'retry_source', state: 'PENDING', attempt: 1 });
    expect(held?.locked_by).not.toBeNull();
    expect(Date.parse(held?.locked_until ?? '')).toBe(claimedAt + DEFAULT_LEASE_MS);
    expect(await auditActions(t.db, assessmentId)).toEqual(['assessment.created']);
    // Within the lease no round takes it (and the pool has new connections).
    clock.advance(DEFAULT_LEASE_MS - 1_000);
    expect(await running.useCases.processDueJobs()).toBe(0);

    await expectRecovered(running, assessmentId);
    expect(vies.calls()).toBe(3);
  });

  it('(f) connections terminated while idle, during the registry call: whichever way the pool meets it, the job is not lost', async () => {
    let terminated: number[] = [];
    const vies = viesWith({
      call: 2,
      run: async () => {
        terminated = await terminateAppConnections();
      },
    });
    const running = await open({ vatRegistry: vies.registry });
    sandbox.setFaults({ vies: [{ status: 503, times: 1 }] });
    const first = await assess(running, '441965308');
    expect(first.assessment.verdict).toBe('GREY');

    clock.advance(2 * 60_000);
    // The pool either hands the re-evaluation a connection that is already dead (the round fails, the job keeps
    // its lease) or has dropped it and opens a new one (the round succeeds): both must end the same way.
    const fault = await running.useCases.processDueJobs().then(
      () => null,
      (error: unknown) => error,
    );
    expect(fault === null || (fault instanceof Error && /terminat/i.test(fault.message))).toBe(true);
    expect(terminated.length).toBeGreaterThanOrEqual(1);
    await untilEnded(terminated);
    await expectRecovered(running, first.assessmentId);
  });
});

describe('the inline worker loop after a failing round (sandbox, embedded database)', () => {
  let sandbox: Sandbox;
  let db: SqlDatabase;
  let dir: string;

  beforeAll(async () => {
    sandbox = await startSandbox({ dir: BUILT_IN_FIXTURES_DIR });
    db = await openPgliteDatabase({ dataDir: null });
    await migrate(db);
    dir = mkdtempSync(join(tmpdir(), 'vigilance-retry-loop-'));
  }, 60_000);
  afterAll(async () => {
    await db.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the failed round to onError and carries on: the job runs again once its lease lapses', async () => {
    const clock = createManualClock('2026-11-29T09:00:00.000Z');
    await ensurePartitions(db, clock.now());
    // The database fails one transaction (the re-evaluation's), as a connection lost at commit would.
    const lost = new Error('connection lost (injected)');
    let failNextTransaction = false;
    const flaky: SqlDatabase = {
      ...db,
      transaction: (work) => {
        if (failNextTransaction) {
          failNextTransaction = false;
          return Promise.reject(lost);
        }
        return db.transaction(work);
      },
    };
    const app = await compose(configFor(sandbox, dir, { VIGILANCE_WORKER_IDLE_MS: '5' }), {
      database: flaky,
      clock,
    });
    try {
      sandbox.setFaults({ vies: [{ status: 503, times: 1 }] });
      const first = await assess(app, '980471155');
      expect(first.assessment.verdict).toBe('GREY');
      clock.advance(2 * 60_000);
      failNextTransaction = true;

      const errors: unknown[] = [];
      const outcomes: JobOutcome[] = [];
      const worker = app.startWorker({
        onError: (error) => errors.push(error),
        observer: { job: (_job, outcome) => outcomes.push(outcome) },
      });
      await eventually('onError is called', () => errors.length > 0);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBe(lost);
      // The loop goes on idling (the job is leased, nothing else is due) without failing again.
      await sleep(100);
      expect(errors).toHaveLength(1);
      expect(outcomes).toEqual([]);
      expect(await stored(db, first.assessmentId)).toMatchObject({ verdict: 'GREY', version: 1 });

      clock.advance(DEFAULT_LEASE_MS + 1_000);
      await eventually('the job runs again', () => outcomes.length > 0);
      await worker.stop();
      expect(outcomes).toEqual(['answered']);
      expect(errors).toHaveLength(1);
      expect(await stored(db, first.assessmentId)).toMatchObject({ verdict: 'GREEN', version: 2 });
      expect(await jobsOf(db, first.assessmentId)).toMatchObject([{ state: 'DONE', attempt: 2 }]);
    } finally {
      await app.close();
    }
  });
});
