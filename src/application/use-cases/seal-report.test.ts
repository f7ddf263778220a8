import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFilesystemObjectStorage } from '#app/adapters/filesystem/object-storage.ts';
import { createLocalSigner } from '#app/adapters/local-crypto/signer.ts';
import { createPdfRenderer } from '#app/adapters/pdf/renderer.ts';
import type { SqlDatabase } from '#app/adapters/sql/database.ts';
import { ensurePartitions } from '#app/adapters/sql/partitions.ts';
import { createSqlStores, createSqlUnitOfWork } from '#app/adapters/sql/unit-of-work.ts';
import { createSystemClock } from '#app/adapters/system/clock.ts';
import { createUuidGenerator } from '#app/adapters/system/id-generator.ts';
import { createSealCrypto } from '#app/adapters/system/seal-crypto.ts';
import type { Assessment } from '#app/domain/assessment.ts';
import { InfrastructureError } from '../ports/infrastructure-error.ts';
import type { ObjectStorage } from '../ports/object-storage.ts';
import type { ReportRenderer } from '../ports/report-renderer.ts';
import type { Signer } from '../ports/signer.ts';
import type { Stores, UnitOfWork } from '../ports/unit-of-work.ts';
import { describeOnEachDatabase, type TestDatabase } from '../../../test/support/databases.ts';
import { createManualClock } from '../../../test/support/manual-clock.ts';
import { AT, green, red } from '../../../test/support/reports.ts';
import { makeRevokeReport, makeSweepReportObjects } from './manage-reports.ts';
import { makePublicVerification } from './public-verification.ts';
import { makeSealReport, type SealReportDeps } from './seal-report.ts';
import { makeVerifySeal } from './verify-seal.ts';

const LOCAL_ACCOUNT = '00000000-0000-4000-8000-000000000001';
const LOCAL_USER = '00000000-0000-4000-8000-000000000002';
const BASE_URL = 'https://vigilance.example';
const crypto = createSealCrypto();
// Stored objects carry the file system's real modification time; the sweeper is run as if later than that.
const systemClock = createSystemClock();

const failing = (code: string) => () => Promise.reject(new InfrastructureError(code, `${code} (injected)`));

describeOnEachDatabase('sealReport', (target) => {
  let t: TestDatabase;
  let db: SqlDatabase;
  let dir: string;
  let signer: Signer;
  let storage: ObjectStorage;
  const renderer = createPdfRenderer();
  const clock = createManualClock('2026-11-29T09:00:10.000Z');
  const ids = createUuidGenerator();
  let otherAccount: string;

  beforeAll(async () => {
    t = await target.open();
    db = t.db;
    await ensurePartitions(db, new Date(AT));
    dir = mkdtempSync(join(tmpdir(), 'vigilance-seal-'));
    signer = await createLocalSigner({ dir: join(dir, 'keys') });
    otherAccount = randomUUID();
    await db.query(
      `insert into customer_accounts (id, name, tenancy_mode) values ($1, 'Other account', 'SELF')`,
      [otherAccount],
    );
  }, 60_000);
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    // Each case has a storage folder of its own, so "no object left" is about that case only.
    storage = createFilesystemObjectStorage({
      dir: mkdtempSync(join(dir, 'objects-')),
      linkSecret: new Uint8Array(32).fill(7),
      baseUrl: BASE_URL,
    });
  });

  const deps = (over: Partial<SealReportDeps> = {}): SealReportDeps => {
    const storeDeps = { newId: () => ids.newId(), driver: db.driver };
    const stores = createSqlStores(db, storeDeps);
    return {
      assessments: stores.assessments,
      reports: stores.reports,
      unitOfWork: createSqlUnitOfWork(db, storeDeps),
      renderer,
      signer,
      storage,
      crypto,
      clock,
      ids,
      publicBaseUrl: BASE_URL,
      ...over,
    };
  };

  const stored = async (assessment: Assessment = green, accountId = LOCAL_ACCOUNT): Promise<string> => {
    const id = randomUUID();
    await createSqlStores(db, { newId: () => ids.newId() }).assessments.save({
      id,
      accountId,
      actorId: null,
      agentAccountId: null,
      createdAt: assessment.assessedAt,
      version: 1,
      state: 'COMPLETE',
      idempotencyKey: null,
      correlationId: null,
      assessment,
      evaluation: null,
    });
    return id;
  };

  const input = (assessmentId: string) => ({
    accountId: LOCAL_ACCOUNT,
    actorId: LOCAL_USER,
    assessmentId,
    lang: 'fr' as const,
    correlationId: 'corr-seal',
  });

  const rowsFor = async (assessmentId: string) => ({
    reports: await db.query('select id from reports where assessment_id = $1', [assessmentId]),
    audits: await db.query(
      `select entity_id from audit_log where action = 'report.sealed' and after->>'assessmentId' = $1`,
      [assessmentId],
    ),
    objects: await storage.list('reports/'),
  });

  const publicVerification = () =>
    makePublicVerification({
      reports: createSqlStores(db, { newId: () => ids.newId() }).reports,
      crypto,
      publicKeys: () => signer.publicKeys(),
      clock,
    });

  const tokenOf = (url: string | null): string => {
    if (url === null) throw new Error('no verification URL');
    return url.slice(`${BASE_URL}/verify/`.length);
  };

  it('seals: a PDF, a signed canonical payload that verifies offline, one row, one object, one audit entry', async () => {
    const assessmentId = await stored(red);
    const result = await makeSealReport(deps())(input(assessmentId));
    if (!result.ok) throw new Error(result.error.message);
    const sealed = result.value;
    expect(sealed.replayed).toBe(false);
    expect(new TextDecoder().decode(sealed.pdf.slice(0, 5))).toBe('%PDF-');
    const payload = JSON.parse(sealed.seal.payload) as Record<string, unknown>;
    expect(payload).toMatchObject({
      version: 1,
      reportId: sealed.report.id,
      assessmentId,
      subject: { siren: '552032534', name: 'DANONE', country: 'FR' },
      verdict: 'RED',
      policyVersion: red.policyVersion,
      signalsSha256: crypto.sha256Hex(crypto.canonicalize(red.signals as never)),
      pdfSha256: crypto.sha256Hex(sealed.pdf),
      sealedAt: clock.now().toISOString(),
      kid: await signer.currentKeyId(),
      alg: 'PS256',
    });
    expect(sealed.seal.payload).toBe(crypto.canonicalize(payload as never));
    const verified = makeVerifySeal({ crypto })({
      pdf: sealed.pdf,
      seal: sealed.seal,
      keys: await signer.publicKeys(),
    });
    expect(verified.ok).toBe(true);
    // The token: 256 bits in the URL, only its hash in the database.
    const token = tokenOf(sealed.verificationUrl);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [row] = await db.query<{ token_hash: string }>('select token_hash from reports where id = $1', [
      sealed.report.id,
    ]);
    expect(row?.token_hash).toBe(crypto.sha256Hex(token));
    expect(JSON.stringify(await db.query('select * from reports'))).not.toContain(token);
    const rows = await rowsFor(assessmentId);
    expect(rows.reports).toHaveLength(1);
    expect(rows.audits).toEqual([{ entity_id: sealed.report.id }]);
    expect(rows.objects.map((o) => o.key)).toEqual([sealed.report.storageKey]);
    expect(await storage.get(sealed.report.storageKey)).toEqual(new Uint8Array(sealed.pdf));
  });

  it('is idempotent per assessment version: sealing again returns the same report, PDF and seal', async () => {
    const assessmentId = await stored();
    const seal = makeSealReport(deps());
    const first = await seal(input(assessmentId));
    const again = await seal({ ...input(assessmentId), lang: 'en' });
    if (!first.ok || !again.ok) throw new Error('seal failed');
    expect(again.value.replayed).toBe(true);
    expect(again.value.report.id).toBe(first.value.report.id);
    expect(again.value.seal).toEqual(first.value.seal);
    expect(new Uint8Array(again.value.pdf)).toEqual(new Uint8Array(first.value.pdf));
    // The token is shown once; a replay points to the PDF, where the URL is printed.
    expect(again.value.verificationUrl).toBeNull();
    expect((await rowsFor(assessmentId)).reports).toHaveLength(1);
  });

  it('concurrent seals of one version leave one report and one object; the others replay it', async () => {
    const assessmentId = await stored();
    const seal = makeSealReport(deps());
    const results = await Promise.all(Array.from({ length: 5 }, () => seal(input(assessmentId))));
    const ids = new Set(results.map((r) => (r.ok ? r.value.report.id : 'error')));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.ok && !r.value.replayed)).toHaveLength(1);
    const rows = await rowsFor(assessmentId);
    expect(rows.reports).toHaveLength(1);
    expect(rows.audits).toHaveLength(1);
    expect(rows.objects).toHaveLength(1);
  });

  it('refuses an assessment of another account, writing nothing', async () => {
    const assessmentId = await stored(green, otherAccount);
    const result = await makeSealReport(deps())(input(assessmentId));
    expect(result).toEqual({
      ok: false,
      error: { code: 'ASSESSMENT_NOT_FOUND', message: `No assessment ${assessmentId} in this account.` },
    });
    const rows = await rowsFor(assessmentId);
    expect([rows.reports, rows.audits, rows.objects]).toEqual([[], [], []]);
  });

  describe('faults leave nothing half-sealed', () => {
    const expectNothing = async (assessmentId: string) => {
      const rows = await rowsFor(assessmentId);
      expect([rows.reports, rows.audits, rows.objects]).toEqual([[], [], []]);
    };

    it('the renderer fails: nothing written', async () => {
      const assessmentId = await stored();
      const broken: ReportRenderer = { render: failing('RENDERER_UNAVAILABLE') };
      await expect(makeSealReport(deps({ renderer: broken }))(input(assessmentId))).rejects.toMatchObject({
        code: 'RENDERER_UNAVAILABLE',
      });
      await expectNothing(assessmentId);
    });

    it('the signer fails: nothing written', async () => {
      const assessmentId = await stored();
      const broken: Signer = { ...signer, sign: failing('SIGNER_UNAVAILABLE') };
      await expect(makeSealReport(deps({ signer: broken }))(input(assessmentId))).rejects.toMatchObject({
        code: 'SIGNER_UNAVAILABLE',
      });
      await expectNothing(assessmentId);
    });

    it('the key rotates between naming it and signing: refused, nothing written', async () => {
      const assessmentId = await stored();
      const rotated: Signer = {
        ...signer,
        sign: async (digest) => ({ ...(await signer.sign(digest)), keyId: 'another-key' }),
      };
      await expect(makeSealReport(deps({ signer: rotated }))(input(assessmentId))).rejects.toMatchObject({
        code: 'SIGNER_UNAVAILABLE',
      });
      await expectNothing(assessmentId);
    });

    it('storage fails: no database rows', async () => {
      const assessmentId = await stored();
      const broken: ObjectStorage = { ...storage, put: failing('STORAGE_UNAVAILABLE') };
      await expect(makeSealReport(deps({ storage: broken }))(input(assessmentId))).rejects.toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
      });
      await expectNothing(assessmentId);
    });

    /** A unit of work whose transaction fails at its last write (the audit entry), after the report row. */
    const failingAtAudit = (): UnitOfWork => {
      const real = deps().unitOfWork;
      return {
        run: (work) =>
          real.run((stores: Stores) =>
            work({ ...stores, audit: { ...stores.audit, append: failing('AUDIT_CHAIN_CONTENDED') } }),
          ),
      };
    };

    it('the database fails after storage: the transaction rolls back and the object is removed', async () => {
      const assessmentId = await stored();
      await expect(
        makeSealReport(deps({ unitOfWork: failingAtAudit() }))(input(assessmentId)),
      ).rejects.toMatchObject({ code: 'AUDIT_CHAIN_CONTENDED' });
      await expectNothing(assessmentId);
    });

    it('the database fails and so does the removal (or the process died): the sweeper takes the orphan', async () => {
      const assessmentId = await stored();
      const stuck: ObjectStorage = { ...storage, delete: failing('STORAGE_UNAVAILABLE') };
      await expect(
        makeSealReport(deps({ unitOfWork: failingAtAudit(), storage: stuck }))(input(assessmentId)),
      ).rejects.toMatchObject({ code: 'AUDIT_CHAIN_CONTENDED' });
      const orphan = await rowsFor(assessmentId);
      expect(orphan.reports).toEqual([]);
      expect(orphan.objects).toHaveLength(1);

      // A sealed report of the same storage is never swept.
      const kept = await makeSealReport(deps())(input(await stored()));
      if (!kept.ok) throw new Error('seal failed');
      const reports = createSqlStores(db, { newId: () => ids.newId() }).reports;
      const sweepAt = (offsetMs: number) =>
        makeSweepReportObjects({
          storage,
          reports,
          clock: { ...clock, now: () => new Date(systemClock.now().getTime() + offsetMs) },
        })();
      // Within the grace period the object may belong to a seal in flight: left alone.
      expect((await sweepAt(0)).removed).toEqual([]);
      const swept = await sweepAt(16 * 60 * 1000);
      expect(swept.removed).toEqual([orphan.objects[0]?.key]);
      expect((await storage.list('reports/')).map((o) => o.key)).toEqual([kept.value.report.storageKey]);
    });
  });

  describe('public verification', () => {
    it('a token opens its report; wrong, malformed and unknown tokens open nothing', async () => {
      const sealed = await makeSealReport(deps())(input(await stored(red)));
      if (!sealed.ok) throw new Error('seal failed');
      const token = tokenOf(sealed.value.verificationUrl);
      const pv = publicVerification();
      const view = await pv.byToken(token);
      expect(view).toMatchObject({
        status: 'valid',
        reportId: sealed.value.report.id,
        verdict: 'RED',
        signature: { valid: true },
        supersededBy: null,
        seal: sealed.value.seal,
        pdfSha256: sealed.value.payload.pdfSha256,
      });
      const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
      for (const wrong of [flipped, 'short', `${token}!`, '', 'x'.repeat(200)]) {
        expect(await pv.byToken(wrong)).toBeNull();
      }
    });

    it('the file check matches the sealed PDF and fails on one changed byte anywhere', async () => {
      const sealed = await makeSealReport(deps())(input(await stored()));
      if (!sealed.ok) throw new Error('seal failed');
      const token = tokenOf(sealed.value.verificationUrl);
      const pv = publicVerification();
      expect(await pv.checkFile(token, sealed.value.pdf)).toMatchObject({ match: true });
      for (const at of [0, Math.floor(sealed.value.pdf.length / 2), sealed.value.pdf.length - 1]) {
        const changed = sealed.value.pdf.slice();
        changed[at] = (changed[at] ?? 0) ^ 1;
        expect(await pv.checkFile(token, changed)).toMatchObject({ match: false });
      }
    });

    it('a newer version supersedes: the old token shows "superseded by" and reaches the newest report', async () => {
      const assessmentId = await stored(red);
      const seal = makeSealReport(deps());
      const v1 = await seal(input(assessmentId));
      // A re-evaluation makes version 2 (the retry worker does this when a source answers).
      await db.query('update assessments set version = 2 where id = $1', [assessmentId]);
      const v2 = await seal(input(assessmentId));
      if (!v1.ok || !v2.ok) throw new Error('seal failed');
      expect(v2.value.replayed).toBe(false);
      expect(v2.value.report.assessmentVersion).toBe(2);
      const pv = publicVerification();
      const old = await pv.byToken(tokenOf(v1.value.verificationUrl));
      expect(old).toMatchObject({
        status: 'superseded',
        reportId: v1.value.report.id,
        supersededBy: { reportId: v2.value.report.id, sealedAt: v2.value.report.sealedAt },
      });
      expect(await pv.latestByToken(tokenOf(v1.value.verificationUrl))).toMatchObject({
        status: 'valid',
        reportId: v2.value.report.id,
      });
      const audit = await db.query<{ before: unknown }>(
        `select before from audit_log where action = 'report.sealed' and entity_id = $1`,
        [v2.value.report.id],
      );
      expect(audit).toEqual([{ before: { supersedes: [v1.value.report.id] } }]);
    });

    it('revocation: the page says revoked with the reason; audited once; another account cannot revoke', async () => {
      const sealed = await makeSealReport(deps())(input(await stored()));
      if (!sealed.ok) throw new Error('seal failed');
      const revoke = makeRevokeReport({ unitOfWork: deps().unitOfWork, clock });
      const request = {
        accountId: LOCAL_ACCOUNT,
        actorId: LOCAL_USER,
        reportId: sealed.value.report.id,
        reason: 'Sealed on the wrong supplier',
        correlationId: 'corr-revoke',
      };
      expect(await revoke({ ...request, reason: '  ' })).toMatchObject({
        ok: false,
        error: { code: 'REVOCATION_REASON_REQUIRED' },
      });
      expect(await revoke({ ...request, accountId: otherAccount })).toMatchObject({
        ok: false,
        error: { code: 'REPORT_NOT_FOUND' },
      });
      const first = await revoke(request);
      const second = await revoke({ ...request, reason: 'another reason' });
      expect(first.ok && second.ok && second.value).toEqual(first.ok && first.value);
      const view = await publicVerification().byToken(tokenOf(sealed.value.verificationUrl));
      expect(view).toMatchObject({
        status: 'revoked',
        revocationReason: 'Sealed on the wrong supplier',
        revokedAt: clock.now().toISOString(),
        signature: { valid: true },
      });
      const audits = await db.query(
        `select 1 from audit_log where action = 'report.revoked' and entity_id = $1`,
        [sealed.value.report.id],
      );
      expect(audits).toHaveLength(1);
    });
  });

  it('the database keeps a sealed report as it was: no content change, no second successor, no delete', async () => {
    const sealed = await makeSealReport(deps())(input(await stored()));
    if (!sealed.ok) throw new Error('seal failed');
    const id = sealed.value.report.id;
    for (const statement of [
      `update reports set verdict = 'RED' where id = $1`,
      `update reports set pdf_sha256 = repeat('0', 64) where id = $1`,
      `delete from reports where id = $1`,
    ]) {
      await expect(db.query(statement, [id])).rejects.toMatchObject({ code: '42501' });
    }
  });
});
