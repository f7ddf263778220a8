import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { POLICY_V1 } from '#app/domain/policy.ts';
import { SIGNAL_CODES } from '#app/domain/signals.ts';
import { IDENTIFIER_ERROR_CODES } from '#app/domain/identifiers/identifiers.ts';

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

  it('lists every error code', () => {
    const errors = doc('errors.md');
    for (const code of [
      ...IDENTIFIER_ERROR_CODES,
      'VAT_SUBJECT_MISMATCH',
      'CLI_USAGE',
      'CONFIG_INVALID',
      'REGISTRY_UNAVAILABLE',
    ]) {
      expect(errors, code).toContain(`\`${code}\``);
    }
  });
});
