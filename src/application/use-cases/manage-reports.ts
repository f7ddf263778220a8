import { err, ok, type Result } from '#app/domain/result.ts';
import type { Clock } from '../ports/clock.ts';
import type { ObjectStorage } from '../ports/object-storage.ts';
import type { ReportStore, StoredReport } from '../ports/report-store.ts';
import type { UnitOfWork } from '../ports/unit-of-work.ts';
import { REPORTS_PREFIX } from './seal-report.ts';

export interface RevokeReportInput {
  readonly accountId: string;
  readonly actorId: string | null;
  readonly reportId: string;
  readonly reason: string;
  readonly correlationId: string;
  readonly origin?: { readonly ip: string | null; readonly userAgent: string | null };
}

export type RevokeReportError =
  | { readonly code: 'REPORT_NOT_FOUND'; readonly message: string }
  | { readonly code: 'REVOCATION_REASON_REQUIRED'; readonly message: string };

export type RevokeReport = (input: RevokeReportInput) => Promise<Result<StoredReport, RevokeReportError>>;

const MAX_REASON_LENGTH = 500;

/**
 * Revokes a sealed report (withdrawn: sealed in error, on the wrong supplier...): its public verification then
 * says "revoked", with the reason and time. The seal itself is untouched, so it still verifies as what was issued.
 * Revoking a revoked report changes nothing and returns it as it is. Audited.
 */
export const makeRevokeReport =
  (deps: { readonly unitOfWork: UnitOfWork; readonly clock: Clock }): RevokeReport =>
  async (input) => {
    const reason = input.reason.trim();
    if (reason === '' || reason.length > MAX_REASON_LENGTH) {
      return err({
        code: 'REVOCATION_REASON_REQUIRED',
        message: `A revocation needs a reason of 1 to ${String(MAX_REASON_LENGTH)} characters; third parties see it.`,
      });
    }
    const at = deps.clock.now().toISOString();
    const revoked = await deps.unitOfWork.run(async (stores) => {
      const before = await stores.reports.get(input.accountId, input.reportId);
      if (before === null || before.revokedAt !== null) return before;
      const after = await stores.reports.revoke(input.accountId, input.reportId, at, reason);
      await stores.audit.append({
        occurredAt: at,
        accountId: input.accountId,
        actorId: input.actorId,
        ip: input.origin?.ip ?? null,
        userAgent: input.origin?.userAgent ?? null,
        correlationId: input.correlationId,
        action: 'report.revoked',
        entityType: 'report',
        entityId: input.reportId,
        before: { revokedAt: null },
        after: { revokedAt: at, reason },
      });
      return after;
    });
    return revoked === null
      ? err({ code: 'REPORT_NOT_FOUND', message: `No report ${input.reportId} in this account.` })
      : ok(revoked);
  };

/** How long an object may exist without its report row before the sweeper takes it for the remains of a failed seal. */
export const ORPHAN_GRACE_MS = 15 * 60 * 1000;

export interface SweepOutcome {
  readonly examined: number;
  readonly removed: readonly string[];
}

/**
 * Removes report objects that no report row refers to and that are older than the grace period: what a seal
 * leaves when its transaction failed and its compensation failed too, or when the process died between the put
 * and the commit. Objects younger than the grace period may belong to a seal still in flight and are left alone.
 */
export const makeSweepReportObjects =
  (deps: {
    readonly storage: ObjectStorage;
    readonly reports: ReportStore;
    readonly clock: Clock;
    readonly graceMs?: number;
  }) =>
  async (): Promise<SweepOutcome> => {
    const cutoff = deps.clock.now().getTime() - (deps.graceMs ?? ORPHAN_GRACE_MS);
    const old = (await deps.storage.list(REPORTS_PREFIX)).filter(
      (o) => new Date(o.modifiedAt).getTime() < cutoff,
    );
    const removed: string[] = [];
    const BATCH = 500;
    for (let i = 0; i < old.length; i += BATCH) {
      const batch = old.slice(i, i + BATCH).map((o) => o.key);
      const referenced = await deps.reports.referencedKeys(batch);
      for (const key of batch) {
        if (referenced.has(key)) continue;
        await deps.storage.delete(key);
        removed.push(key);
      }
    }
    return { examined: old.length, removed };
  };
