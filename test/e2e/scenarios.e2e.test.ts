import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#app/config/config.ts';
import { compose, LOCAL_ACCOUNT_ID, LOCAL_USER_ID, type App } from '#app/main/compose.ts';
import { openPgliteDatabase } from '#app/adapters/pglite/database.ts';
import type { SqlDatabase } from '#app/adapters/sql/database.ts';
import { migrate } from '#app/adapters/sql/migrate.ts';
import { createManualClock } from '../support/manual-clock.ts';

/**
 * Every built-in sandbox scenario (src/sandbox/fixtures/README.md), assessed through the real HTTP adapters
 * against the sandbox, with each SIRENE provider. The clock is pinned to the day the scenarios are written for.
 */
const SCENARIOS = [
  { id: '552032534', verdict: 'GREEN', codes: ['SIRENE_ACTIVE', 'BODACC_NO_PROCEEDING', 'VIES_VAT_VALID'] },
  { id: '482319076', verdict: 'RED', codes: ['SIRENE_CEASED', 'VIES_DERIVED_VAT_NOT_REGISTERED'] },
  { id: '528437916', verdict: 'RED', codes: ['BODACC_LIQUIDATION_OPEN', 'SIRENE_ACTIVE', 'VIES_VAT_VALID'] },
  { id: '402753180', verdict: 'RED', codes: ['BODACC_REDRESSEMENT_OPEN'] },
  { id: '441965308', verdict: 'GREEN', codes: ['BODACC_SAUVEGARDE_OPEN'] },
  { id: '382514792', verdict: 'GREEN', codes: ['BODACC_PLAN_IN_PROGRESS'] },
  { id: '508972148', verdict: 'RED', codes: ['BODACC_CLOSED_INSUFFICIENT_ASSETS'] },
  { id: '431786524', verdict: 'RED', codes: ['BODACC_RADIATION'] },
  { id: '300025764', verdict: 'GREEN', codes: ['SIRENE_NON_DIFFUSIBLE', 'SIRENE_ACTIVE'] },
  { id: '910522473', verdict: 'RED', codes: ['SIRENE_NOT_FOUND'] },
  { id: '793150624', verdict: 'GREEN', codes: ['VIES_DERIVED_VAT_NOT_REGISTERED'] },
  { id: 'FR77793150624', verdict: 'RED', codes: ['VIES_VAT_INVALID'] },
  { id: '492673108', verdict: 'GREY', codes: ['SIRENE_ACTIVE', 'BODACC_NO_PROCEEDING'] },
  { id: '51240863400032', verdict: 'GREEN', codes: ['SIRENE_ESTABLISHMENT_CLOSED'] },
  { id: '51240863400016', verdict: 'GREEN', codes: ['SIRENE_ACTIVE'] },
  {
    id: '35600000000048',
    verdict: 'GREEN',
    codes: ['SIRENE_ACTIVE', 'BODACC_NO_PROCEEDING', 'VIES_VAT_VALID'],
  },
  { id: '35600000049837', verdict: 'GREEN', codes: ['SIRENE_ACTIVE', 'VIES_VAT_VALID'] },
  { id: 'PL7740001454', verdict: 'GREEN', codes: ['VIES_VAT_VALID'] },
  { id: '845126390', verdict: 'GREEN', codes: ['VIES_NAME_MISMATCH'] },
  { id: '980471155', verdict: 'GREEN', codes: ['SIRENE_RECENTLY_CREATED'] },
] as const;

/** Codes a scenario must not raise, beyond the verdict (a GREEN with a stray blocking signal is not GREEN). */
const ABSENT: Readonly<Record<string, readonly string[]>> = {
  '51240863400016': ['SIRENE_ESTABLISHMENT_CLOSED'],
  '300025764': ['VIES_NAME_MISMATCH'],
  '492673108': ['VIES_VAT_VALID', 'VIES_DERIVED_VAT_NOT_REGISTERED'],
};

for (const provider of ['recherche', 'insee'] as const) {
  describe(`built-in sandbox scenarios, SIRENE from ${provider}`, () => {
    let app: App;
    let db: SqlDatabase;
    beforeAll(async () => {
      const config = loadConfig({ VIGILANCE_REGISTRIES: 'sandbox', VIGILANCE_SIRENE: provider });
      if (!config.ok) throw new Error(config.error.message);
      db = await openPgliteDatabase({ dataDir: null });
      await migrate(db);
      app = await compose(config.value, {
        clock: createManualClock('2026-11-29T10:00:00.000Z'),
        database: db,
      });
    });
    afterAll(async () => {
      await app.close();
      await db.close();
    });
    const who = { accountId: LOCAL_ACCOUNT_ID, actorId: LOCAL_USER_ID };

    it.each(SCENARIOS)('$id -> $verdict', async ({ id, verdict, codes }) => {
      const result = await app.useCases.assessSupplier({
        identifier: id,
        correlationId: `e2e-${id}`,
        ...who,
      });
      if (!result.ok) throw new Error(result.error.message);
      const a = result.value.assessment;
      const got = a.signals.map((s) => s.code);
      expect(a.verdict, got.join(', ')).toBe(verdict);
      expect(got).toEqual(expect.arrayContaining([...codes]));
      for (const code of ABSENT[id] ?? []) expect(got).not.toContain(code);
      const sirene = a.sources.find((s) => s.name === 'sirene');
      if (id.startsWith('PL')) expect(sirene?.status).toBe('not_applicable');
      else expect(sirene).toMatchObject({ status: 'ok', provider });
    });

    it('reports the VIES outage as unavailable, never as an invalid number', async () => {
      const result = await app.useCases.assessSupplier({
        identifier: '492673108',
        correlationId: 'e2e',
        ...who,
      });
      if (!result.ok) throw new Error(result.error.message);
      expect(result.value.assessment.sources.find((s) => s.name === 'vies')).toMatchObject({
        status: 'unavailable',
        reason: 'service_error: VIES userError MS_UNAVAILABLE',
      });
    });
  });
}
