import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '#app/config/config.ts';
import { compose, LOCAL_ACCOUNT_ID, LOCAL_USER_ID, type App } from '#app/main/compose.ts';
import { BUILT_IN_FIXTURES_DIR, startSandbox, type Sandbox } from '#app/sandbox/server.ts';
import { describeOnPostgres, type TestDatabase } from '../support/databases.ts';

describeOnPostgres('idempotent assessment under 50 concurrent duplicates on PostgreSQL', (target) => {
  let t: TestDatabase;
  let sandbox: Sandbox;
  let app: App;
  beforeAll(async () => {
    t = await target.open();
    // Slow registries keep the first request running while the 49 duplicates arrive.
    sandbox = await startSandbox({
      dir: BUILT_IN_FIXTURES_DIR,
      faults: { recherche: { latencyMs: 300 }, bodacc: { latencyMs: 300 }, vies: { latencyMs: 300 } },
    });
    const config = loadConfig({
      VIGILANCE_RECHERCHE_URL: sandbox.urls.recherche,
      VIGILANCE_BODACC_URL: sandbox.urls.bodacc,
      VIGILANCE_VIES_URL: sandbox.urls.vies,
    });
    if (!config.ok) throw new Error(config.error.message);
    app = await compose(config.value, { database: t.db });
  });
  afterAll(async () => {
    await app.close();
    await sandbox.close();
    await t.close();
  });

  it('makes exactly one assessment and gives 50 identical answers', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        app.useCases.assessSupplier({
          identifier: '552032534',
          idempotencyKey: 'same-key',
          correlationId: `dup-${String(i)}`,
          accountId: LOCAL_ACCOUNT_ID,
          actorId: LOCAL_USER_ID,
        }),
      ),
    );
    const answers = results.map((r) => {
      if (!r.ok) throw new Error(r.error.message);
      return r.value;
    });
    expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
    const first = answers.find((a) => !a.replayed);
    for (const answer of answers) {
      expect({ ...answer, replayed: false }).toEqual(first);
    }
    const [row] = await t.db.query<{ n: number }>('select count(*)::int as n from assessments');
    expect(row?.n).toBe(1);
    expect(sandbox.calls()).toMatchObject({ recherche: 1, bodacc: 1, vies: 1 });
    const [audit] = await t.db.query<{ n: number }>('select count(*)::int as n from audit_log');
    expect(audit?.n).toBe(1);
  });
});
