import type { AuditVerification } from '#app/application/ports/audit-log.ts';
import type { AssessSupplier, AssessSupplierError } from '#app/application/use-cases/assess-supplier.ts';
import type { ListAssessments } from '#app/application/use-cases/list-assessments.ts';
import type { GetSupplierState, SupplierStateError } from '#app/application/use-cases/supplier-state.ts';
import type { VerifySeal } from '#app/application/use-cases/verify-seal.ts';
import type { PublishedKey } from '#app/application/ports/signer.ts';
import { assessmentDocument, renderAssessment, renderHistory, renderState } from './assess-output.ts';
import type { Command } from './args.ts';

/** Process exit codes: public API, listed in docs/errors.md. */
export const EXIT = { OK: 0, INVALID_PROOF: 1, INVALID_INPUT: 2, INTERNAL: 3 } as const;

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
  return result.ok ? EXIT.OK : EXIT.INVALID_PROOF;
};

/** Reads a JWKS document's RSA signature keys; null when it is not a JWKS. */
export const readJwks = (value: unknown): readonly PublishedKey[] | null => {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys))
    return null;
  const keys: PublishedKey[] = [];
  for (const k of (value as { keys: unknown[] }).keys) {
    if (typeof k !== 'object' || k === null) return null;
    const { kid, kty, n, e } = k as Record<string, unknown>;
    if (typeof kid !== 'string' || kty !== 'RSA' || typeof n !== 'string' || typeof e !== 'string')
      return null;
    keys.push({ kid, kty: 'RSA', n, e, alg: 'PS256', use: 'sig' });
  }
  return keys;
};

/** Where `vigilance verify` gets what it checks: the files, and the published keys. */
export interface VerifySources {
  readFile(path: string): Promise<Uint8Array>;
  /** A JWKS file or URL, or the configured signer's keys when none is given. */
  keys(jwks: string | null): Promise<unknown>;
}

/** `vigilance verify`: exit 0 when the report is the sealed one, 1 with the reason otherwise. */
export const runVerify = async (
  command: Extract<Command, { kind: 'verify' }>,
  verifySeal: VerifySeal,
  sources: VerifySources,
  io: Output,
): Promise<number> => {
  let pdf: Uint8Array;
  let seal: unknown;
  try {
    pdf = await sources.readFile(command.pdf);
    seal = JSON.parse(new TextDecoder().decode(await sources.readFile(command.seal))) as unknown;
  } catch (error) {
    io.err(
      `vigilance: CLI_USAGE: cannot read the report or its seal: ${error instanceof Error ? error.message : ''}`,
    );
    return EXIT.INVALID_INPUT;
  }
  const keys = readJwks(await sources.keys(command.jwks));
  if (keys === null) {
    io.err('vigilance: CLI_USAGE: the published keys are not a JWKS ({"keys": [...]})');
    return EXIT.INVALID_INPUT;
  }
  const result = verifySeal({ pdf, seal, keys });
  if (command.json)
    io.out(
      JSON.stringify(
        result.ok ? { valid: true, payload: result.value } : { valid: false, error: result.error },
        null,
        2,
      ),
    );
  else if (result.ok) {
    const p = result.value;
    io.out(
      `VALID: report ${p.reportId}, ${p.subject.name ?? p.subject.siren ?? p.subject.vat ?? '?'} ${p.verdict}, sealed at ${p.sealedAt} with key ${p.kid}`,
    );
  } else io.out(`INVALID (${result.error.code}): ${result.error.message}`);
  return result.ok ? EXIT.OK : EXIT.INVALID_PROOF;
};
