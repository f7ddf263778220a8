import type { AuditVerification } from '#app/application/ports/audit-log.ts';
import type { AssessSupplier, AssessSupplierError } from '#app/application/use-cases/assess-supplier.ts';
import type { ListAssessments } from '#app/application/use-cases/list-assessments.ts';
import type { GetSupplierState, SupplierStateError } from '#app/application/use-cases/supplier-state.ts';
import type { VerifySeal } from '#app/application/use-cases/verify-seal.ts';
import type { SealOutcome, SealReport, SealReportError } from '#app/application/use-cases/seal-report.ts';
import type {
  RevokeReport,
  RevokeReportError,
  SweepOutcome,
} from '#app/application/use-cases/manage-reports.ts';
import type { PublishedKey } from '#app/application/ports/signer.ts';
import { assessmentDocument, renderAssessment, renderHistory, renderState } from './assess-output.ts';
import { sealFileFor, type Command } from './args.ts';

/** Process exit codes: public API, listed in docs/errors.md. */
export const EXIT = { OK: 0, INVALID_PROOF: 1, INVALID_INPUT: 2, INTERNAL: 3 } as const;

type InputErrorCode =
  | AssessSupplierError['code']
  | SupplierStateError['code']
  | SealReportError['code']
  | RevokeReportError['code'];

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
    case 'ASSESSMENT_NOT_FOUND':
    case 'REPORT_NOT_FOUND':
    case 'REVOCATION_REASON_REQUIRED':
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

/** Where sealed reports are written: the PDF, and its seal file beside it. */
export interface ReportFiles {
  write(path: string, bytes: Uint8Array): Promise<void>;
}

/** Writes a sealed report and its `report.seal.json`; returns what `--json` shows of it. */
const writeReport = async (sealed: SealOutcome, pdfPath: string, files: ReportFiles) => {
  const sealPath = sealFileFor(pdfPath);
  await files.write(pdfPath, sealed.pdf);
  await files.write(sealPath, new TextEncoder().encode(`${JSON.stringify(sealed.seal, null, 2)}\n`));
  return {
    reportId: sealed.report.id,
    replayed: sealed.replayed,
    verdict: sealed.report.verdict,
    sealedAt: sealed.report.sealedAt,
    kid: sealed.report.seal.kid,
    pdfSha256: sealed.report.pdfSha256,
    pdf: pdfPath,
    seal: sealPath,
    verificationUrl: sealed.verificationUrl,
  };
};

const reportLine = (written: Awaited<ReturnType<typeof writeReport>>): string =>
  `Sealed report ${written.reportId}${written.replayed ? ' (already sealed)' : ''}: ${written.pdf}, ${written.seal}` +
  (written.verificationUrl === null
    ? ' (the verification URL is printed in the PDF)'
    : `\nVerify at ${written.verificationUrl}`);

/** `vigilance assess`: assesses, stores, prints, and with `--seal` writes the sealed report; returns the exit code. */
export const runAssess = async (
  command: Extract<Command, { kind: 'assess' }>,
  useCases: { readonly assessSupplier: AssessSupplier; readonly sealReport: SealReport },
  files: ReportFiles,
  caller: Caller,
  io: Output,
): Promise<number> => {
  const result = await useCases.assessSupplier({
    identifier: command.identifier,
    ...(command.vat === null ? {} : { vat: command.vat }),
    ...(command.idempotencyKey === null ? {} : { idempotencyKey: command.idempotencyKey }),
    correlationId: caller.correlationId,
    accountId: caller.accountId,
    actorId: caller.actorId,
    origin: CLI_ORIGIN,
  });
  if (!result.ok) return fail(result.error, command.json, io);
  const { assessment, assessmentId, replayed } = result.value;
  let report: Awaited<ReturnType<typeof writeReport>> | null = null;
  if (command.sealOut !== null) {
    const sealed = await useCases.sealReport({
      accountId: caller.accountId,
      actorId: caller.actorId,
      assessmentId,
      lang: command.lang ?? 'fr',
      correlationId: caller.correlationId,
      origin: CLI_ORIGIN,
    });
    if (!sealed.ok) return fail(sealed.error, command.json, io);
    report = await writeReport(sealed.value, command.sealOut, files);
  }
  io.out(
    command.json
      ? JSON.stringify(
          {
            assessmentId,
            replayed,
            ...assessmentDocument(assessment, caller.correlationId),
            ...(report === null ? {} : { report }),
          },
          null,
          2,
        )
      : renderAssessment(assessment, command.lang ?? 'en', assessmentId) +
          (report === null ? '' : `\n\n${reportLine(report)}`),
  );
  return EXIT.OK;
};

/** `vigilance seal`: seals a stored assessment (the same report again when its version was sealed already). */
export const runSeal = async (
  command: Extract<Command, { kind: 'seal' }>,
  sealReport: SealReport,
  files: ReportFiles,
  caller: Caller,
  io: Output,
): Promise<number> => {
  const sealed = await sealReport({
    accountId: caller.accountId,
    actorId: caller.actorId,
    assessmentId: command.assessmentId,
    lang: command.lang,
    correlationId: caller.correlationId,
    origin: CLI_ORIGIN,
  });
  if (!sealed.ok) return fail(sealed.error, command.json, io);
  const report = await writeReport(sealed.value, command.out, files);
  io.out(command.json ? JSON.stringify({ report }, null, 2) : reportLine(report));
  return EXIT.OK;
};

/** `vigilance reports revoke`: the report's public verification then says revoked, with the reason. */
export const runRevoke = async (
  command: Extract<Command, { kind: 'reports-revoke' }>,
  revokeReport: RevokeReport,
  caller: Caller,
  io: Output,
): Promise<number> => {
  const revoked = await revokeReport({
    accountId: caller.accountId,
    actorId: caller.actorId,
    reportId: command.reportId,
    reason: command.reason,
    correlationId: caller.correlationId,
    origin: CLI_ORIGIN,
  });
  if (!revoked.ok) return fail(revoked.error, command.json, io);
  const r = revoked.value;
  io.out(
    command.json
      ? JSON.stringify({ reportId: r.id, revokedAt: r.revokedAt, reason: r.revocationReason }, null, 2)
      : `Report ${r.id} revoked at ${r.revokedAt ?? '?'}: ${r.revocationReason ?? ''}`,
  );
  return EXIT.OK;
};

/** `vigilance reports sweep`: removes stored PDFs that no report refers to (remains of failed seals). */
export const runSweep = async (
  command: Extract<Command, { kind: 'reports-sweep' }>,
  sweep: () => Promise<SweepOutcome>,
  io: Output,
): Promise<number> => {
  const swept = await sweep();
  io.out(
    command.json
      ? JSON.stringify(swept, null, 2)
      : `Examined ${String(swept.examined)} stored report(s) past the grace period; removed ${String(swept.removed.length)} orphan(s).`,
  );
  return EXIT.OK;
};

/** `vigilance keys rotate`: a new signing key; the old ones stay published. */
export const runRotate = async (
  command: Extract<Command, { kind: 'keys-rotate' }>,
  rotate: (input: {
    readonly accountId: string | null;
    readonly actorId: string | null;
    readonly correlationId: string;
    readonly origin: typeof CLI_ORIGIN;
  }) => Promise<{
    readonly previousKeyId: string;
    readonly currentKeyId: string;
    readonly publishedKeyIds: readonly string[];
  }>,
  caller: Caller,
  io: Output,
): Promise<number> => {
  const rotation = await rotate({
    accountId: caller.accountId,
    actorId: caller.actorId,
    correlationId: caller.correlationId,
    origin: CLI_ORIGIN,
  });
  io.out(
    command.json
      ? JSON.stringify(rotation, null, 2)
      : `Signing key rotated: ${rotation.previousKeyId} -> ${rotation.currentKeyId}; ${String(rotation.publishedKeyIds.length)} key(s) published.`,
  );
  return EXIT.OK;
};

const CLI_ORIGIN = { ip: null, userAgent: 'vigilance-cli' } as const;

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
