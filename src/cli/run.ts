import type { AuditVerification } from '#app/application/ports/audit-log.ts';
import type { AssessSupplier, AssessSupplierError } from '#app/application/use-cases/assess-supplier.ts';
import type { ListAssessments } from '#app/application/use-cases/list-assessments.ts';
import type { GetSupplierState, SupplierStateError } from '#app/application/use-cases/supplier-state.ts';
import { assessmentDocument, renderAssessment, renderHistory, renderState } from './assess-output.ts';
import type { Command } from './args.ts';

/** Process exit codes: public API, listed in docs/errors.md. */
export const EXIT = { OK: 0, AUDIT_BROKEN: 1, INVALID_INPUT: 2, INTERNAL: 3 } as const;

type InputErrorCode = AssessSupplierError['code'] | SupplierStateError['code'];

/** Every error a command can return, mapped to its exit code in one place. */
export const exitCodeOf = (code: InputErrorCode): number => {
  switch (code) {
    case 'IDENTIFIER_EMPTY':
    case 'IDENTIFIER_UNRECOGNISED':
    case 'IDENTIFIER_BAD_CHECKSUM':
    case 'VAT_UNKNOWN_COUNTRY':
    case 'VAT_BAD_FORMAT':
    case 'VAT_KEY_MISMATCH':
    case 'VAT_SUBJECT_MISMATCH':
    case 'IDEMPOTENCY_KEY_REUSED':
    case 'IDEMPOTENCY_IN_PROGRESS':
    case 'STATE_BAD_DATE':
      return EXIT.INVALID_INPUT;
  }
};

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Who the command acts as: the local account and user until login exists. */
export interface Caller {
  readonly accountId: string;
  readonly actorId: string | null;
  readonly correlationId: string;
}

const fail = (
  error: { readonly code: InputErrorCode; readonly message: string },
  json: boolean,
  io: Output,
): number => {
  if (json) io.out(JSON.stringify({ error }, null, 2));
  io.err(`vigilance: ${error.code}: ${error.message}`);
  return exitCodeOf(error.code);
};

/** `vigilance assess`: assesses, stores, prints; returns the exit code. */
export const runAssess = async (
  command: Extract<Command, { kind: 'assess' }>,
  assessSupplier: AssessSupplier,
  caller: Caller,
  io: Output,
): Promise<number> => {
  const result = await assessSupplier({
    identifier: command.identifier,
    ...(command.vat === null ? {} : { vat: command.vat }),
    ...(command.idempotencyKey === null ? {} : { idempotencyKey: command.idempotencyKey }),
    correlationId: caller.correlationId,
    accountId: caller.accountId,
    actorId: caller.actorId,
    origin: { ip: null, userAgent: 'vigilance-cli' },
  });
  if (!result.ok) return fail(result.error, command.json, io);
  const { assessment, assessmentId, replayed } = result.value;
  io.out(
    command.json
      ? JSON.stringify(
          { assessmentId, replayed, ...assessmentDocument(assessment, caller.correlationId) },
          null,
          2,
        )
      : renderAssessment(assessment, command.lang, assessmentId),
  );
  return EXIT.OK;
};

/** `vigilance history`: the supplier's past assessments in the caller's account. */
export const runHistory = async (
  command: Extract<Command, { kind: 'history' }>,
  listAssessments: ListAssessments,
  caller: Caller,
  io: Output,
): Promise<number> => {
  const result = await listAssessments({
    accountId: caller.accountId,
    identifier: command.identifier,
    limit: command.limit,
  });
  if (!result.ok) return fail(result.error, command.json, io);
  const rows = result.value.map((r) => ({
    id: r.id,
    createdAt: r.createdAt,
    verdict: r.assessment.verdict,
    state: r.state,
    subject: r.assessment.subject,
    sources: r.assessment.sources.map((s) => ({ name: s.name, status: s.status })),
  }));
  io.out(command.json ? JSON.stringify({ assessments: rows }, null, 2) : renderHistory(rows));
  return EXIT.OK;
};

/** `vigilance state`: what was true at a legal date, as known at an instant. */
export const runState = async (
  command: Extract<Command, { kind: 'state' }>,
  getSupplierState: GetSupplierState,
  io: Output,
): Promise<number> => {
  const result = await getSupplierState({
    identifier: command.identifier,
    ...(command.validAt === null ? {} : { validAt: command.validAt }),
    ...(command.knownAt === null ? {} : { knownAt: command.knownAt }),
  });
  if (!result.ok) return fail(result.error, command.json, io);
  io.out(command.json ? JSON.stringify(result.value, null, 2) : renderState(result.value));
  return EXIT.OK;
};

/** `vigilance audit verify`: exit 0 when the chain holds, 1 with the first broken entry otherwise. */
export const runAuditVerify = async (
  command: Extract<Command, { kind: 'audit-verify' }>,
  verify: () => Promise<AuditVerification>,
  io: Output,
): Promise<number> => {
  const result = await verify();
  if (command.json) io.out(JSON.stringify(result, null, 2));
  else if (result.ok) io.out(`Audit log intact: ${String(result.entries)} entries, head ${result.headHash}`);
  else {
    const where =
      result.firstBroken === null
        ? 'the chain head does not match the last entry (entries were removed from the end)'
        : `first broken entry: seq ${String(result.firstBroken.seq)}, id ${result.firstBroken.id}`;
    io.out(`Audit log BROKEN (${result.reason}) after ${String(result.entries)} entries checked; ${where}`);
  }
  return result.ok ? EXIT.OK : EXIT.AUDIT_BROKEN;
};
