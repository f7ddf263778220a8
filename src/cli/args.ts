import { parseArgs } from 'node:util';

export type Lang = 'fr' | 'en';

export type Command =
  | {
      readonly kind: 'assess';
      readonly identifier: string;
      readonly vat: string | null;
      readonly json: boolean;
      /** null: the table in English, the sealed report in French. */
      readonly lang: Lang | null;
      readonly registries: 'live' | 'sandbox' | null;
      readonly sandboxDir: string | null;
      readonly idempotencyKey: string | null;
      /** Where to write the sealed report (and its seal file beside it); null when not sealing. */
      readonly sealOut: string | null;
    }
  | {
      readonly kind: 'seal';
      readonly assessmentId: string;
      readonly out: string;
      readonly lang: Lang;
      readonly json: boolean;
    }
  | {
      readonly kind: 'reports-revoke';
      readonly reportId: string;
      readonly reason: string;
      readonly json: boolean;
    }
  | { readonly kind: 'reports-sweep'; readonly json: boolean }
  | { readonly kind: 'history'; readonly identifier: string; readonly json: boolean; readonly limit: number }
  | {
      readonly kind: 'state';
      readonly identifier: string;
      readonly json: boolean;
      readonly validAt: string | null;
      readonly knownAt: string | null;
    }
  | { readonly kind: 'audit-verify'; readonly json: boolean }
  | {
      readonly kind: 'verify';
      readonly pdf: string;
      readonly seal: string;
      readonly jwks: string | null;
      readonly json: boolean;
    }
  | {
      readonly kind: 'worker';
      readonly once: boolean;
      readonly registries: 'live' | 'sandbox' | null;
      readonly sandboxDir: string | null;
    }
  | { readonly kind: 'keys-export' }
  | { readonly kind: 'keys-rotate'; readonly json: boolean }
  | { readonly kind: 'migrate' }
  | { readonly kind: 'sandbox'; readonly host: string; readonly port: number; readonly dir: string | null }
  | { readonly kind: 'help' };

export interface UsageError {
  readonly code: 'CLI_USAGE';
  readonly message: string;
}

export const USAGE = `Usage:
  vigilance assess <siren|siret|vat> [--vat <number>] [--json] [--lang en|fr]
                   [--registries live|sandbox] [--sandbox-dir <dir>] [--idempotency-key <key>]
                   [--seal [--out report.pdf]]
  vigilance seal <assessment-id> [--out report.pdf] [--lang fr|en] [--json]
  vigilance reports revoke <report-id> --reason <text> [--json]
  vigilance reports sweep [--json]
  vigilance history <siren|siret|vat> [--json] [--limit 20]
  vigilance state <siren|siret|vat> [--valid-at <date>] [--known-at <date|instant>] [--json]
  vigilance audit verify [--json]
  vigilance migrate
  vigilance verify <report.pdf> --seal <report.seal.json> [--jwks <file|url>] [--json]
  vigilance worker [--once] [--registries live|sandbox] [--sandbox-dir <dir>]
  vigilance keys export
  vigilance keys rotate [--json]
  vigilance sandbox [--port 4010] [--host 127.0.0.1] [--dir <fixtures>]
  vigilance help

Exit codes: 0 done (any verdict; a valid report), 1 audit chain broken or report invalid, 2 invalid input,
3 internal error.`;

const usage = (message: string): UsageError => ({ code: 'CLI_USAGE', message });

const DEFAULT_REPORT_FILE = 'report.pdf';

const langOf = (
  value: string | undefined,
): { ok: true; value: Lang | null } | { ok: false; error: UsageError } =>
  value === undefined || value === 'en' || value === 'fr'
    ? { ok: true, value: value ?? null }
    : { ok: false, error: usage(`--lang must be "en" or "fr", not "${value}".`) };

/** The seal file written beside a report: report.pdf -> report.seal.json. */
export const sealFileFor = (pdfPath: string): string =>
  `${pdfPath.toLowerCase().endsWith('.pdf') ? pdfPath.slice(0, -4) : pdfPath}.seal.json`;

/** Reads the command line; never touches the network or the environment. */
export const parseCommand = (
  argv: readonly string[],
): { ok: true; command: Command } | { ok: false; error: UsageError } => {
  const [name, ...rest] = argv;
  try {
    switch (name) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        return { ok: true, command: { kind: 'help' } };
      case 'assess': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          strict: true,
          options: {
            vat: { type: 'string' },
            json: { type: 'boolean', default: false },
            lang: { type: 'string' },
            registries: { type: 'string' },
            'sandbox-dir': { type: 'string' },
            'idempotency-key': { type: 'string' },
            seal: { type: 'boolean', default: false },
            out: { type: 'string' },
          },
        });
        if (positionals.length !== 1 || positionals[0] === undefined) {
          return {
            ok: false,
            error: usage('assess takes exactly one identifier: a SIREN, a SIRET or a VAT number.'),
          };
        }
        const lang = langOf(values.lang);
        if (!lang.ok) return lang;
        if (values.out !== undefined && !values.seal) {
          return { ok: false, error: usage('--out goes with --seal.') };
        }
        const registries = values.registries ?? (values['sandbox-dir'] === undefined ? null : 'sandbox');
        if (registries !== null && registries !== 'live' && registries !== 'sandbox') {
          return {
            ok: false,
            error: usage(`--registries must be "live" or "sandbox", not "${registries}".`),
          };
        }
        if (registries === 'live' && values['sandbox-dir'] !== undefined) {
          return { ok: false, error: usage('--sandbox-dir goes with --registries sandbox.') };
        }
        return {
          ok: true,
          command: {
            kind: 'assess',
            identifier: positionals[0],
            vat: values.vat ?? null,
            json: values.json,
            lang: lang.value,
            registries,
            sandboxDir: values['sandbox-dir'] ?? null,
            idempotencyKey: values['idempotency-key'] ?? null,
            sealOut: values.seal ? (values.out ?? DEFAULT_REPORT_FILE) : null,
          },
        };
      }
      case 'seal': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          strict: true,
          options: {
            out: { type: 'string', default: DEFAULT_REPORT_FILE },
            lang: { type: 'string' },
            json: { type: 'boolean', default: false },
          },
        });
        if (positionals.length !== 1 || positionals[0] === undefined) {
          return {
            ok: false,
            error: usage('seal takes exactly one assessment id (see `vigilance history`).'),
          };
        }
        const lang = langOf(values.lang);
        if (!lang.ok) return lang;
        return {
          ok: true,
          command: {
            kind: 'seal',
            assessmentId: positionals[0],
            out: values.out,
            lang: lang.value ?? 'fr',
            json: values.json,
          },
        };
      }
      case 'reports': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          strict: true,
          options: { reason: { type: 'string' }, json: { type: 'boolean', default: false } },
        });
        const [sub, id, ...extra] = positionals;
        if (sub === 'sweep' && id === undefined) {
          return { ok: true, command: { kind: 'reports-sweep', json: values.json } };
        }
        if (sub !== 'revoke' || id === undefined || extra.length > 0 || values.reason === undefined) {
          return {
            ok: false,
            error: usage('reports takes "revoke <report-id> --reason <text>" or "sweep".'),
          };
        }
        return {
          ok: true,
          command: { kind: 'reports-revoke', reportId: id, reason: values.reason, json: values.json },
        };
      }
      case 'history': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          strict: true,
          options: { json: { type: 'boolean', default: false }, limit: { type: 'string', default: '20' } },
        });
        if (positionals.length !== 1 || positionals[0] === undefined) {
          return { ok: false, error: usage('history takes exactly one identifier.') };
        }
        if (!/^\d+$/.test(values.limit) || Number(values.limit) < 1 || Number(values.limit) > 1000) {
          return {
            ok: false,
            error: usage(`--limit must be a whole number from 1 to 1000, not "${values.limit}".`),
          };
        }
        return {
          ok: true,
          command: {
            kind: 'history',
            identifier: positionals[0],
            json: values.json,
            limit: Number(values.limit),
          },
        };
      }
      case 'state': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          strict: true,
          options: {
            json: { type: 'boolean', default: false },
            'valid-at': { type: 'string' },
            'known-at': { type: 'string' },
          },
        });
        if (positionals.length !== 1 || positionals[0] === undefined) {
          return { ok: false, error: usage('state takes exactly one identifier.') };
        }
        return {
          ok: true,
          command: {
            kind: 'state',
            identifier: positionals[0],
            json: values.json,
            validAt: values['valid-at'] ?? null,
            knownAt: values['known-at'] ?? null,
          },
        };
      }
      case 'audit': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          strict: true,
          options: { json: { type: 'boolean', default: false } },
        });
        if (positionals.length !== 1 || positionals[0] !== 'verify') {
          return { ok: false, error: usage('audit takes one subcommand: verify.') };
        }
        return { ok: true, command: { kind: 'audit-verify', json: values.json } };
      }
      case 'verify': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          strict: true,
          options: {
            seal: { type: 'string' },
            jwks: { type: 'string' },
            json: { type: 'boolean', default: false },
          },
        });
        if (positionals.length !== 1 || positionals[0] === undefined || values.seal === undefined) {
          return { ok: false, error: usage('verify takes the PDF and --seal <report.seal.json>.') };
        }
        return {
          ok: true,
          command: {
            kind: 'verify',
            pdf: positionals[0],
            seal: values.seal,
            jwks: values.jwks ?? null,
            json: values.json,
          },
        };
      }
      case 'worker': {
        const { values } = parseArgs({
          args: rest,
          allowPositionals: false,
          strict: true,
          options: {
            once: { type: 'boolean', default: false },
            registries: { type: 'string' },
            'sandbox-dir': { type: 'string' },
          },
        });
        const registries = values.registries ?? (values['sandbox-dir'] === undefined ? null : 'sandbox');
        if (registries !== null && registries !== 'live' && registries !== 'sandbox') {
          return {
            ok: false,
            error: usage(`--registries must be "live" or "sandbox", not "${registries}".`),
          };
        }
        return {
          ok: true,
          command: {
            kind: 'worker',
            once: values.once,
            registries,
            sandboxDir: values['sandbox-dir'] ?? null,
          },
        };
      }
      case 'keys': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          strict: true,
          options: { json: { type: 'boolean', default: false } },
        });
        if (positionals.length === 1 && positionals[0] === 'export') {
          return { ok: true, command: { kind: 'keys-export' } };
        }
        if (positionals.length === 1 && positionals[0] === 'rotate') {
          return { ok: true, command: { kind: 'keys-rotate', json: values.json } };
        }
        return { ok: false, error: usage('keys takes one subcommand: export or rotate.') };
      }
      case 'migrate': {
        parseArgs({ args: rest, allowPositionals: false, strict: true, options: {} });
        return { ok: true, command: { kind: 'migrate' } };
      }
      case 'sandbox': {
        const { values } = parseArgs({
          args: rest,
          allowPositionals: false,
          strict: true,
          options: {
            port: { type: 'string', default: '4010' },
            host: { type: 'string', default: '127.0.0.1' },
            dir: { type: 'string' },
          },
        });
        if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) {
          return { ok: false, error: usage(`--port must be a port number, not "${values.port}".`) };
        }
        return {
          ok: true,
          command: { kind: 'sandbox', host: values.host, port: Number(values.port), dir: values.dir ?? null },
        };
      }
      default:
        return { ok: false, error: usage(`Unknown command "${name}".`) };
    }
  } catch (error) {
    // parseArgs throws on unknown options and missing values: that is the user's input, not a fault.
    return { ok: false, error: usage(error instanceof Error ? error.message : 'Invalid arguments.') };
  }
};
