import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AssessmentListQuery,
  AssessmentStore,
  StoredAssessment,
} from '#app/application/ports/assessment-store.ts';
import { evaluateAssessment, type Assessment, type SourceOutcome } from '#app/domain/assessment.ts';
import type { InsolvencyFacts, VatFacts } from '#app/domain/facts.ts';
import {
  frenchVatFromSiren,
  parseSupplierId,
  parseVatNumber,
  type Siren,
} from '#app/domain/identifiers/identifiers.ts';
import { POLICY_V1 } from '#app/domain/policy.ts';
import { danone } from '../support/facts.ts';

export interface AssessmentStoreHarness {
  readonly store: AssessmentStore;
  /** Two accounts that exist: assessments are saved in the first; the second must never see them. */
  readonly accounts: readonly [string, string];
  close(): Promise<void>;
}

const SIREN = '552032534' as Siren;
const ACTOR = '00000000-0000-4000-8000-000000000002';

const answered = <F>(facts: F, observedAt: string): SourceOutcome<F> => ({
  status: 'ok',
  facts,
  observedAt,
  durationMs: 42,
});

const timedOut = <F>(observedAt: string): SourceOutcome<F> => ({
  status: 'unavailable',
  unavailable: { reason: 'timeout', detail: 'no answer within 8000 ms', status: null, retryAfterSeconds: 30 },
  observedAt,
  durationMs: 8000,
});

const supplierId = (text: string) => {
  const parsed = parseSupplierId(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
};

const vatFacts = (vat: string, name: string | null, requestDate: string): VatFacts => {
  const parsed = parseVatNumber(vat);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return {
    vat: parsed.value,
    valid: true,
    name,
    address: '17 BD HAUSSMANN\n75009 PARIS',
    requestDate,
    sourceUrl: 'https://vies.example/check',
  };
};

const bodacc = (liquidation: boolean): InsolvencyFacts => ({
  siren: SIREN,
  sourceUrl: 'https://bodacc.example/records',
  notices: liquidation
    ? [
        {
          id: 'A202500000001',
          publishedOn: '2025-03-01',
          type: 'annonce',
          family: 'collective',
          tribunal: 'Tribunal de commerce de Paris',
          url: 'https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:A202500000001',
          judgment: {
            family: "Jugement d'ouverture",
            nature: "Jugement d'ouverture de liquidation judiciaire",
            date: '2025-02-20',
            complement: null,
          },
          radiation: null,
          previousNoticeId: null,
        },
      ]
    : [],
});

/** DANONE assessed at `assessedAt`: GREEN, or RED with VIES down (a liquidation, and an unavailable source). */
const danoneAssessment = (assessedAt: string, kind: 'green' | 'red-vies-down' = 'green'): Assessment =>
  evaluateAssessment(
    {
      id: supplierId(SIREN),
      query: SIREN,
      vat: { number: frenchVatFromSiren(SIREN), origin: 'derived' },
      assessedAt,
      sirene: answered(danone(), assessedAt),
      bodacc: answered(bodacc(kind !== 'green'), assessedAt),
      vies:
        kind === 'green'
          ? answered(vatFacts('FR27552032534', 'DANONE', assessedAt), assessedAt)
          : timedOut(assessedAt),
    },
    POLICY_V1,
  );

/** A Polish supplier known by its VAT number only: no SIREN, the French sources do not apply. */
const foreignAssessment = (assessedAt: string): Assessment =>
  evaluateAssessment(
    {
      id: supplierId('PL7740001454'),
      query: 'PL7740001454',
      vat: { number: { country: 'PL', national: '7740001454' }, origin: 'given' },
      assessedAt,
      sirene: { status: 'not_applicable' },
      bodacc: { status: 'not_applicable' },
      vies: answered(vatFacts('PL7740001454', 'ORLEN SPÓŁKA AKCYJNA', assessedAt), assessedAt),
    },
    POLICY_V1,
  );

/**
 * The AssessmentStore contract (ARCHITECTURE section 5, issue 3 items 2 and 9), run once per adapter: a faithful
 * round trip, tenancy, and history.
 */
export const describeAssessmentStoreContract = (
  name: string,
  open: () => Promise<AssessmentStoreHarness>,
): void => {
  describe(`AssessmentStore contract: ${name}`, () => {
    let h: AssessmentStoreHarness;
    let account: string;
    let stranger: string;
    beforeAll(async () => {
      h = await open();
      [account, stranger] = h.accounts;
    });
    afterAll(async () => {
      await h.close();
    });

    const record = (assessment: Assessment, over: Partial<StoredAssessment> = {}): StoredAssessment => ({
      id: randomUUID(),
      accountId: account,
      actorId: ACTOR,
      agentAccountId: null,
      createdAt: assessment.assessedAt,
      version: 1,
      evaluation: null,
      state: assessment.sources.some((s) => s.status === 'unavailable') ? 'AWAITING_SOURCES' : 'COMPLETE',
      idempotencyKey: null,
      correlationId: null,
      assessment,
      ...over,
    });

    it('gives back exactly what was saved, whatever the assessment holds', async () => {
      const cases = [
        record(danoneAssessment('2026-11-29T09:00:00.000Z'), {
          idempotencyKey: 'k1',
          correlationId: 'corr-1',
        }),
        record(danoneAssessment('2026-11-29T09:05:00.000Z', 'red-vies-down'), { actorId: null }),
        // Kept at another instant than it was assessed at: both instants come back.
        record(foreignAssessment('2026-11-29T09:10:00.123Z'), { createdAt: '2026-11-29T10:00:00.000Z' }),
        // Made by a member of an agent account acting for this one.
        record(danoneAssessment('2026-11-29T10:05:00.000Z'), { agentAccountId: stranger }),
      ];
      expect(cases.map((c) => c.assessment.verdict)).toEqual(['GREEN', 'RED', 'GREEN', 'GREEN']);
      for (const saved of cases) {
        await h.store.save(saved);
        expect(await h.store.get(account, saved.id)).toEqual(saved);
      }
    });

    it('finds nothing for an unknown or malformed id', async () => {
      expect(await h.store.get(account, randomUUID())).toBeNull();
      expect(await h.store.get(account, 'not-a-uuid')).toBeNull();
    });

    it("never shows one account's assessment to another", async () => {
      const saved = record(danoneAssessment('2026-11-29T11:00:00.000Z'));
      await h.store.save(saved);
      expect(await h.store.get(stranger, saved.id)).toBeNull();
      expect(await h.store.history(stranger, { siren: SIREN })).toEqual([]);
      expect(await h.store.history(stranger, { vat: 'FR27552032534' })).toEqual([]);
      expect(await h.store.get(account, saved.id)).toEqual(saved);
    });

    it('lists history newest first, by SIREN or by VAT number, up to a limit', async () => {
      const siren = '732829320' as Siren;
      const vat = frenchVatFromSiren(siren);
      const older = record(danoneAssessment('2026-10-31T23:59:59.999Z'));
      const saved = [
        older,
        record(danoneAssessment('2026-11-02T08:00:00.000Z')),
        record(danoneAssessment('2026-11-01T00:00:00.000Z')),
      ].map((r) => ({
        ...r,
        // The same assessment shape, for another SIREN, so the other cases' rows do not interfere.
        assessment: {
          ...r.assessment,
          subject: { ...r.assessment.subject, siren, query: siren, vat: `${vat.country}${vat.national}` },
        },
      }));
      for (const r of saved) await h.store.save(r);
      const newestFirst = [saved[1], saved[2], saved[0]];
      expect(await h.store.history(account, { siren })).toEqual(newestFirst);
      expect(await h.store.history(account, { vat: `${vat.country}${vat.national}` })).toEqual(newestFirst);
      expect(await h.store.history(account, { siren }, { limit: 2 })).toEqual(newestFirst.slice(0, 2));
      expect(await h.store.history(account, { siren: '404833048' })).toEqual([]);
      await expect(h.store.history(account, { siren }, { limit: 0 })).rejects.toThrow(RangeError);
    });

    it('finds a foreign supplier by its VAT number', async () => {
      const saved = record(foreignAssessment('2026-11-20T12:00:00.000Z'));
      await h.store.save(saved);
      const found = await h.store.history(account, { vat: 'PL7740001454' });
      expect(found).toContainEqual(saved);
      expect(found.every((f) => f.assessment.subject.vat === 'PL7740001454')).toBe(true);
    });

    it('returns 50 assessments by default', async () => {
      const siren = '383474814' as Siren;
      const base = Date.parse('2026-09-01T00:00:00.000Z');
      for (let i = 0; i < 51; i += 1) {
        const a = danoneAssessment(new Date(base + i * 60_000).toISOString());
        await h.store.save(record({ ...a, subject: { ...a.subject, siren } }));
      }
      const listed = await h.store.history(account, { siren });
      expect(listed).toHaveLength(50);
      expect(listed[0]?.createdAt).toBe(new Date(base + 50 * 60_000).toISOString());
      expect(listed[49]?.createdAt).toBe(new Date(base + 60_000).toISOString());
    });

    /** Newest first, ties by id: the order `list` promises. */
    const newestFirst = (records: readonly StoredAssessment[]): StoredAssessment[] =>
      [...records].sort((a, b) =>
        a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1,
      );

    /** The same assessment, of another SIREN (and its VAT number), so other cases' rows do not interfere. */
    const about = (a: Assessment, siren: Siren): Assessment => {
      const vat = frenchVatFromSiren(siren);
      return { ...a, subject: { ...a.subject, siren, query: siren, vat: `${vat.country}${vat.national}` } };
    };

    /** `count` assessments of `siren`, one a minute from `start`. */
    const series = (siren: Siren, start: string, count: number, accountId = account): StoredAssessment[] =>
      Array.from({ length: count }, (_, i) =>
        record(about(danoneAssessment(new Date(Date.parse(start) + i * 60_000).toISOString()), siren), {
          accountId,
        }),
      );

    it("lists an account's assessments newest first, and never another account's", async () => {
      // Later than every other case's rows, so they come first in the account's unfiltered list.
      const mine = series('542051180' as Siren, '2039-06-01T00:00:00.000Z', 4);
      const theirs = series('542051180' as Siren, '2039-06-01T00:00:30.000Z', 3, stranger);
      for (const r of [...mine, ...theirs]) await h.store.save(r);

      expect(await h.store.list({ accountId: account, limit: 4 })).toEqual(newestFirst(mine));
      expect(await h.store.list({ accountId: stranger, limit: 3 })).toEqual(newestFirst(theirs));
      expect(
        await h.store.list({ accountId: account, from: '2039-01-01T00:00:00.000Z', limit: 200 }),
      ).toEqual(newestFirst(mine));
      expect(await h.store.list({ accountId: randomUUID(), limit: 10 })).toEqual([]);
      expect(await h.store.list({ accountId: 'not-a-uuid', limit: 10 })).toEqual([]);
    });

    it('pages with the cursor of the last item, without duplicates or gaps, ties at one instant included', async () => {
      const window = { from: '2038-03-01T00:00:00.000Z', to: '2038-04-01T00:00:00.000Z' };
      const spread = series('489394356' as Siren, '2038-03-10T00:00:00.000Z', 5);
      // Four assessments kept at one instant: only their ids order them.
      const tied = series('489394356' as Siren, '2038-03-10T00:02:00.000Z', 4).map((r) => ({
        ...r,
        createdAt: '2038-03-10T00:02:00.000Z',
      }));
      const others = series('489394356' as Siren, '2038-03-10T00:02:00.000Z', 2, stranger);
      for (const r of [...spread, ...tied, ...others]) await h.store.save(r);
      const expected = newestFirst([...spread, ...tied]);

      for (const limit of [1, 2, 3, 4, 9]) {
        const pages: StoredAssessment[][] = [];
        let after: { createdAt: string; id: string } | undefined;
        for (;;) {
          const page = await h.store.list({
            accountId: account,
            ...window,
            limit,
            ...(after === undefined ? {} : { after }),
          });
          expect(page.length).toBeLessThanOrEqual(limit);
          if (page.length === 0) break;
          pages.push([...page]);
          const last = page.at(-1);
          if (last === undefined) break;
          after = { createdAt: last.createdAt, id: last.id };
          expect(pages.length).toBeLessThanOrEqual(expected.length);
        }
        expect(pages.flat(), `pages of ${String(limit)}`).toEqual(expected);
      }
    });

    it('filters by verdict, state, subject and a time window whose start is in and end is out', async () => {
      const window = { from: '2037-05-01T00:00:00.000Z', to: '2037-05-02T00:00:00.000Z' };
      const green = record(danoneAssessment(window.from));
      const red = record(danoneAssessment('2037-05-01T08:00:00.000Z', 'red-vies-down'));
      const greyAssessment = danoneAssessment('2037-05-01T09:00:00.000Z');
      const grey = record({ ...greyAssessment, verdict: 'GREY' });
      const foreign = record(foreignAssessment('2037-05-01T23:59:59.999Z'));
      const atEnd = record(danoneAssessment(window.to));
      const before = record(danoneAssessment('2037-04-30T23:59:59.999Z'));
      const strangers = record(
        about(danoneAssessment('2037-05-01T12:00:00.000Z', 'red-vies-down'), '404833048' as Siren),
        { accountId: stranger },
      );
      for (const r of [green, red, grey, foreign, atEnd, before, strangers]) await h.store.save(r);
      expect(red.state).toBe('AWAITING_SOURCES');

      const list = (filters: Partial<AssessmentListQuery>) =>
        h.store.list({ accountId: account, ...window, limit: 200, ...filters });
      expect(await list({})).toEqual([foreign, grey, red, green]);
      expect(await list({ verdict: 'GREEN' })).toEqual([foreign, green]);
      expect(await list({ verdict: 'RED' })).toEqual([red]);
      expect(await list({ verdict: 'GREY' })).toEqual([grey]);
      expect(await list({ state: 'AWAITING_SOURCES' })).toEqual([red]);
      expect(await list({ state: 'COMPLETE' })).toEqual([foreign, grey, green]);
      expect(await list({ subject: { siren: SIREN } })).toEqual([grey, red, green]);
      expect(await list({ subject: { vat: 'PL7740001454' } })).toEqual([foreign]);
      expect(await list({ subject: { vat: 'FR27552032534' }, verdict: 'RED' })).toEqual([red]);
      expect(await list({ from: '2037-05-01T08:00:00.000Z', to: '2037-05-01T09:00:00.000Z' })).toEqual([red]);
      expect(await list({ from: '2037-04-30T00:00:00.000Z', to: '2037-05-03T00:00:00.000Z' })).toEqual([
        atEnd,
        foreign,
        grey,
        red,
        green,
        before,
      ]);
    });

    it('refuses a page size outside 1 to 200', async () => {
      await expect(h.store.list({ accountId: account, limit: 0 })).rejects.toThrow(RangeError);
      await expect(h.store.list({ accountId: account, limit: 201 })).rejects.toThrow(RangeError);
      await expect(h.store.list({ accountId: account, limit: 1.5 })).rejects.toThrow(RangeError);
      expect((await h.store.list({ accountId: account, limit: 200 })).length).toBeLessThanOrEqual(200);
    });
  });
};
