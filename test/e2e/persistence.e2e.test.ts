import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgliteDatabase } from '#app/adapters/pglite/database.ts';
import { BUILT_IN_FIXTURES_DIR, startSandbox, type Sandbox } from '#app/sandbox/server.ts';
import { cliDataDir, runCli } from '../support/cli.ts';
import { describeOnPostgres, type TestDatabase } from '../support/databases.ts';

interface Assessed {
  assessmentId: string;
  replayed: boolean;
  verdict: string;
}

describe('vigilance keeps what it concluded (embedded database)', () => {
  let sandbox: Sandbox;
  const env = (): Record<string, string> => ({
    VIGILANCE_RECHERCHE_URL: sandbox.urls.recherche,
    VIGILANCE_BODACC_URL: sandbox.urls.bodacc,
    VIGILANCE_VIES_URL: sandbox.urls.vies,
    VIGILANCE_INSEE_URL: sandbox.urls.insee,
  });
  beforeAll(async () => {
    sandbox = await startSandbox({ dir: BUILT_IN_FIXTURES_DIR });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('stores an assessment, and replays it for the same idempotency key without calling the registries', async () => {
    const first = await runCli(['assess', '552032534', '--idempotency-key', 'k1', '--json'], env());
    expect(first.code, first.stderr).toBe(0);
    const one = JSON.parse(first.stdout) as Assessed;
    expect(one).toMatchObject({ replayed: false, verdict: 'GREEN' });
    expect(one.assessmentId).toMatch(/^[0-9a-f-]{36}$/);
    const callsAfterFirst = sandbox.calls();

    const second = await runCli(['assess', '552 032 534', '--idempotency-key', 'k1', '--json'], env());
    const two = JSON.parse(second.stdout) as Assessed;
    expect(two).toMatchObject({ assessmentId: one.assessmentId, replayed: true, verdict: 'GREEN' });
    expect(sandbox.calls()).toEqual(callsAfterFirst);

    const reused = await runCli(['assess', '528437916', '--idempotency-key', 'k1'], env());
    expect(reused.code).toBe(2);
    expect(reused.stderr).toContain('IDEMPOTENCY_KEY_REUSED');
    expect(sandbox.calls()).toEqual(callsAfterFirst);
  });

  it("lists a supplier's past assessments", async () => {
    await runCli(['assess', '482319076'], env());
    const run = await runCli(['history', '482319076', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const { assessments } = JSON.parse(run.stdout) as {
      assessments: { verdict: string; state: string; sources: { name: string; status: string }[] }[];
    };
    expect(assessments).toHaveLength(1);
    expect(assessments[0]).toMatchObject({
      verdict: 'RED',
      state: 'COMPLETE',
      sources: [
        { name: 'sirene', status: 'ok' },
        { name: 'bodacc', status: 'ok' },
        { name: 'vies', status: 'ok' },
      ],
    });
  });

  it('answers what was true at a legal date, as known at a time', async () => {
    const before = await runCli(['state', '482319076', '--valid-at', '2024-01-01', '--json']);
    const facts = (JSON.parse(before.stdout) as { facts: { factKind: string; value: { state?: string } }[] })
      .facts;
    expect(facts.find((f) => f.factKind === 'legal_status')?.value.state).toBe('active');
    const after = await runCli(['state', '482319076', '--valid-at', '2024-07-01', '--json']);
    const later = (JSON.parse(after.stdout) as { facts: { factKind: string; value: { state?: string } }[] })
      .facts;
    expect(later.find((f) => f.factKind === 'legal_status')?.value.state).toBe('ceased');
    const unknown = await runCli(['state', '482319076', '--known-at', '2020-01-01', '--json']);
    expect((JSON.parse(unknown.stdout) as { facts: unknown[] }).facts).toEqual([]);
    const bad = await runCli(['state', '482319076', '--valid-at', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('STATE_BAD_DATE');
  });

  it('verifies the audit chain, and names the entry a superuser tampered with', async () => {
    const intact = await runCli(['audit', 'verify']);
    expect(intact.code, intact.stderr).toBe(0);
    expect(intact.stdout).toMatch(/Audit log intact: 2 entries/);

    const db = await openPgliteDatabase({ dataDir: cliDataDir });
    try {
      await db.script(`set session_replication_role = replica;
        update audit_log set after = '{"verdict":"GREEN"}' where seq = (select min(seq) from audit_log);
        set session_replication_role = default;`);
    } finally {
      await db.close();
    }
    const broken = await runCli(['audit', 'verify', '--json']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({
      ok: false,
      reason: 'hash_mismatch',
      firstBroken: { seq: 1 },
    });
  });

  it('refuses to open the embedded database another process holds', async () => {
    const holder = await openPgliteDatabase({ dataDir: cliDataDir });
    try {
      const run = await runCli(['history', '552032534']);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('DATABASE_LOCKED');
    } finally {
      await holder.close();
    }
  });
});

describeOnPostgres('vigilance on PostgreSQL', (target) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await target.open({ migrated: false });
  });
  afterAll(async () => {
    await t.close();
  });

  it('asks for `vigilance migrate` first, then assesses and lists on PostgreSQL', async () => {
    const env = { DATABASE_URL: t.url ?? '' };
    const early = await runCli(['assess', '552032534', '--registries', 'sandbox'], env);
    expect(early.code).toBe(3);
    expect(early.stderr).toContain('DATABASE_NOT_MIGRATED');

    const migrated = await runCli(['migrate'], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('applied 0001_core');
    expect((await runCli(['migrate'], env)).stdout).toContain('schema up to date');

    const assessed = await runCli(['assess', '552032534', '--registries', 'sandbox', '--json'], env);
    expect(assessed.code, assessed.stderr).toBe(0);
    const { assessmentId } = JSON.parse(assessed.stdout) as Assessed;
    const history = await runCli(['history', '552032534', '--json'], env);
    expect(
      (JSON.parse(history.stdout) as { assessments: { id: string }[] }).assessments.map((a) => a.id),
    ).toEqual([assessmentId]);
    expect((await runCli(['audit', 'verify'], env)).code).toBe(0);
  });
});
