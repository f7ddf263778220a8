import type { AuditLog, AuditVerification } from '../ports/audit-log.ts';

/** Walks the audit log's hash chain and names the first broken entry, if any. */
export const makeVerifyAuditLog = (deps: { readonly audit: AuditLog }) => (): Promise<AuditVerification> =>
  deps.audit.verify();
