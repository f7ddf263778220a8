import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NewJob } from '#app/application/ports/job-store.ts';
import { describeOnEachDatabase, type TestDatabase } from '../../../test/support/databases.ts';
import { createSqlJobStore } from './job-store.ts';

const ACCOUNT = '00000000-0000-4000-8000-000000000001';
const T0 = '2026-11-29T09:00:00.000Z';
const at = (ms: number): string => new Date(Date.parse(T0) + ms).toISOString();

describeOnEachDatabase('JobStore', (target) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await target.open();
  }, 60_000);
  afterAll(async () => {
    await t.close();
  });

  const job = (over: Partial<NewJob> = {}): NewJob => ({
    id: randomUUID(),
    accountId: ACCOUNT,
    assessmentId: randomUUID(),
    kind: 'retry_source',
    source: 'vies',
    attempt: 1,
    firstFailedAt: T0,
    nextAttemptAt: at(60_000),
    lastReason: 'timeout',
    now: T0,
    ...over,
  });

  it('keeps one pending job per assessment, kind and source', async () => {
    const jobs = createSqlJobStore(t.db);
    const first = job();
    await jobs.enqueue(first);
    await jobs.enqueue({ ...first, id: randomUUID(), nextAttemptAt: at(1) });
    await jobs.enqueue({ ...first, id: randomUUID(), source: 'bodacc' });
    const listed = await jobs.forAssessment(first.assessmentId);
    expect(listed.map((j) => [j.source, j.nextAttemptAt])).toEqual([
      ['bodacc', at(60_000)],
      ['vies', at(60_000)],
    ]);
  });

  it('claims only due jobs, by the clock it is given, leased to one worker until the lease ends', async () => {
    const jobs = createSqlJobStore(t.db);
    const due = job({ nextAttemptAt: at(10_000_000) });
    const later = job({ nextAttemptAt: at(20_000_000) });
    await jobs.enqueue(due);
    await jobs.enqueue(later);
    const now = at(10_000_000);
    const claimed = await jobs.claimDue({ now, limit: 100, leaseMs: 30_000, workerId: 'w1' });
    expect(claimed.filter((j) => [due.id, later.id].includes(j.id)).map((j) => j.id)).toEqual([due.id]);
    const mine = claimed.find((j) => j.id === due.id);
    expect(mine).toMatchObject({ lockedBy: 'w1', lockedUntil: at(10_030_000) });
    // Leased: nobody else gets it until the lease ends; then it is due again (the worker died).
    expect(
      (await jobs.claimDue({ now, limit: 100, leaseMs: 30_000, workerId: 'w2' })).map((j) => j.id),
    ).not.toContain(due.id);
    const retaken = await jobs.claimDue({ now: at(10_030_000), limit: 100, leaseMs: 30_000, workerId: 'w2' });
    expect(retaken.map((j) => j.id)).toContain(due.id);
    // The first worker lost its lease: its writes no longer apply.
    expect(await jobs.finish(due.id, 'w1', { state: 'DONE', attempt: 2, lastReason: null, now })).toBe(false);
    expect(await jobs.finish(due.id, 'w2', { state: 'DONE', attempt: 2, lastReason: null, now })).toBe(true);
    expect((await jobs.forAssessment(due.assessmentId))[0]).toMatchObject({
      state: 'DONE',
      attempt: 2,
      lockedBy: null,
    });
  });

  it('postpones without spending an attempt, reschedules with one, and ends final', async () => {
    const jobs = createSqlJobStore(t.db);
    const j = job({ nextAttemptAt: at(30_000_000) });
    await jobs.enqueue(j);
    const claim = (now: string) => jobs.claimDue({ now, limit: 100, leaseMs: 30_000, workerId: 'w' });
    await claim(at(30_000_000));
    expect(await jobs.postpone(j.id, 'w', at(30_100_000), at(30_000_000))).toBe(true);
    expect((await jobs.forAssessment(j.assessmentId))[0]).toMatchObject({
      attempt: 1,
      nextAttemptAt: at(30_100_000),
    });
    expect((await claim(at(30_050_000))).map((x) => x.id)).not.toContain(j.id);
    await claim(at(30_100_000));
    expect(
      await jobs.reschedule(j.id, 'w', {
        attempt: 2,
        nextAttemptAt: at(30_200_000),
        lastReason: 'http_status 503',
        now: at(30_100_000),
      }),
    ).toBe(true);
    expect((await jobs.forAssessment(j.assessmentId))[0]).toMatchObject({
      attempt: 2,
      lastReason: 'http_status 503',
      firstFailedAt: T0,
      lockedBy: null,
    });
    await claim(at(30_200_000));
    expect(
      await jobs.finish(j.id, 'w', {
        state: 'FINAL',
        attempt: 3,
        lastReason: 'timeout',
        now: at(30_200_000),
      }),
    ).toBe(true);
    // A finished job is never claimed again, and a new pending job of the same kind may be enqueued.
    expect((await claim(at(99_000_000))).map((x) => x.id)).not.toContain(j.id);
    await jobs.enqueue({ ...j, id: randomUUID() });
    expect((await jobs.forAssessment(j.assessmentId)).map((x) => x.state)).toEqual(['FINAL', 'PENDING']);
  });

  it('reports the queue depth: pending, and due now', async () => {
    const jobs = createSqlJobStore(t.db);
    const before = await jobs.depth(at(50_000_000));
    await jobs.enqueue(job({ nextAttemptAt: at(50_000_000) }));
    await jobs.enqueue(job({ nextAttemptAt: at(60_000_000) }));
    const after = await jobs.depth(at(50_000_000));
    expect(after.pending - before.pending).toBe(2);
    expect(after.due - before.due).toBe(1);
  });
});

describeOnEachDatabase('JobStore under concurrent claimers', (target) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await target.open();
  }, 60_000);
  afterAll(async () => {
    await t.close();
  });

  it('gives each due job to exactly one of 8 concurrent workers', async () => {
    const jobs = createSqlJobStore(t.db);
    const ids: string[] = [];
    for (let i = 0; i < 40; i += 1) {
      const id = randomUUID();
      ids.push(id);
      await jobs.enqueue({
        id,
        accountId: ACCOUNT,
        assessmentId: randomUUID(),
        kind: 'seal',
        source: null,
        attempt: 0,
        firstFailedAt: null,
        nextAttemptAt: T0,
        lastReason: null,
        now: T0,
      });
    }
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, w) =>
        jobs.claimDue({ now: T0, limit: 10, leaseMs: 60_000, workerId: `w${String(w)}` }),
      ),
    );
    const taken = claims.flat().map((j) => j.id);
    expect(new Set(taken).size).toBe(taken.length);
    expect(taken.sort()).toEqual([...ids].sort());
  });
});
