import type { AssessSupplier, AssessSupplierError } from '#app/application/use-cases/assess-supplier.ts';
import { assessmentDocument, renderAssessment } from './assess-output.ts';
import type { Command } from './args.ts';

/** Process exit codes: public API, listed in docs/errors.md. */
export const EXIT = { OK: 0, INVALID_INPUT: 2, INTERNAL: 3 } as const;

/** Every error `assess` can return, mapped to its exit code in one place. */
export const exitCodeOf = (code: AssessSupplierError['code']): number => {
  switch (code) {
    case 'IDENTIFIER_EMPTY':
    case 'IDENTIFIER_UNRECOGNISED':
    case 'IDENTIFIER_BAD_CHECKSUM':
    case 'VAT_UNKNOWN_COUNTRY':
    case 'VAT_BAD_FORMAT':
    case 'VAT_KEY_MISMATCH':
    case 'VAT_SUBJECT_MISMATCH':
      return EXIT.INVALID_INPUT;
  }
};

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Runs `vigilance assess` against the use case and prints the result; returns the exit code. */
export const runAssess = async (
  command: Extract<Command, { kind: 'assess' }>,
  assessSupplier: AssessSupplier,
  correlationId: string,
  io: Output,
): Promise<number> => {
  const result = await assessSupplier({
    identifier: command.identifier,
    ...(command.vat === null ? {} : { vat: command.vat }),
    correlationId,
  });
  if (!result.ok) {
    if (command.json) io.out(JSON.stringify({ error: result.error }, null, 2));
    io.err(`vigilance: ${result.error.code}: ${result.error.message}`);
    return exitCodeOf(result.error.code);
  }
  io.out(
    command.json
      ? JSON.stringify(assessmentDocument(result.value, correlationId), null, 2)
      : renderAssessment(result.value, command.lang),
  );
  return EXIT.OK;
};
