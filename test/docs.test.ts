import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { POLICY_V1 } from '#app/domain/policy.ts';
import { SIGNAL_CODES } from '#app/domain/signals.ts';
import { IDENTIFIER_ERROR_CODES } from '#app/domain/identifiers/identifiers.ts';
import { PROBLEMS, USE_CASE_STATUS } from '#app/http/problems.ts';

const doc = (name: string): string => readFileSync(new URL(`../docs/${name}`, import.meta.url), 'utf8');

describe('documentation', () => {
  it('lists every signal code with the severity the policy gives it', () => {
    const signals = doc('signals.md');
    for (const code of SIGNAL_CODES) {
      const row = signals
        .split('\n')
        .map((line) => line.split('|').map((cell) => cell.trim()))
        .find((cells) => cells[1] === `\`${code}\``);
      expect(row, code).toBeDefined();
      expect(row?.[3], code).toBe(POLICY_V1.severity[code]);
    }
  });

  it('lists every fault code the sources throw', () => {
    const errors = doc('errors.md');
    const src = fileURLToPath(new URL('../src/', import.meta.url));
    const codes = new Set<string>();
    for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
      const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
      for (const m of text.matchAll(/InfrastructureError\(\s*'([A-Z_]+)'/g)) codes.add(m[1] ?? '');
      for (const m of text.matchAll(/const [A-Z_]+ = '([A-Z]+_UNAVAILABLE)'/g)) codes.add(m[1] ?? '');
    }
    expect(codes.size).toBeGreaterThan(10);
    for (const code of codes) expect(errors, code).toContain(`| \`${code}\``);
  });

  it('lists every error code', () => {
    const errors = doc('errors.md');
    for (const code of [
      'SEAL_MALFORMED',
      'SEAL_PAYLOAD_NOT_CANONICAL',
      'SEAL_KEY_UNKNOWN',
      'SEAL_SIGNATURE_INVALID',
      'SEAL_PDF_MISMATCH',
      'IDEMPOTENCY_KEY_REUSED',
      'IDEMPOTENCY_IN_PROGRESS',
      'STATE_BAD_DATE',
      ...IDENTIFIER_ERROR_CODES,
      'VAT_SUBJECT_MISMATCH',
      'CLI_USAGE',
      'CONFIG_INVALID',
      'REGISTRY_UNAVAILABLE',
    ]) {
      expect(errors, code).toContain(`\`${code}\``);
    }
  });

  it('lists every problem code of the HTTP API, with its status', () => {
    const errors = doc('errors.md');
    const rows = errors.split('\n').map((line) => line.split('|').map((cell) => cell.trim()));
    for (const problem of Object.values(PROBLEMS)) {
      const row = rows.find((cells) => cells[1] === `\`${problem.code}\``);
      expect(row, problem.code).toBeDefined();
      expect(row?.[2], problem.code).toBe(String(problem.status));
    }
    for (const code of Object.keys(USE_CASE_STATUS)) expect(errors, code).toContain(`\`${code}\``);
  });
});
