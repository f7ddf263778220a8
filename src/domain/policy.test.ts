import { describe, expect, it } from 'vitest';
import { decideVerdict, POLICY_V1 } from './policy.ts';
import { SIGNAL_CODES, type Signal } from './signals.ts';

const signal = (severity: Signal['severity']): Signal => ({
  source: 'bodacc',
  code: 'BODACC_NO_PROCEEDING',
  severity,
  summary: { fr: '', en: '' },
  evidence: { references: [], dates: {}, urls: [] },
  observedAt: '2026-11-29T00:00:00.000Z',
  effectiveFrom: null,
});

describe('verdict policy v1', () => {
  it('gives every signal code a severity', () => {
    expect(Object.keys(POLICY_V1.severity).sort()).toEqual([...SIGNAL_CODES].sort());
  });

  it.each([
    { signals: ['BLOCKING'], unavailable: false, verdict: 'RED' },
    { signals: ['BLOCKING'], unavailable: true, verdict: 'RED' },
    { signals: ['WARNING', 'INFO'], unavailable: true, verdict: 'GREY' },
    { signals: ['WARNING', 'INFO'], unavailable: false, verdict: 'GREEN' },
    { signals: [], unavailable: false, verdict: 'GREEN' },
  ] as const)(
    '$signals with a source down: $unavailable -> $verdict',
    ({ signals, unavailable, verdict }) => {
      expect(
        decideVerdict(POLICY_V1, {
          signals: signals.map(signal),
          sources: [
            { name: 'sirene', status: 'ok' },
            { name: 'bodacc', status: 'ok' },
            { name: 'vies', status: unavailable ? 'unavailable' : 'ok' },
          ],
        }),
      ).toBe(verdict);
    },
  );

  it('ignores sources that do not apply', () => {
    expect(
      decideVerdict(POLICY_V1, {
        signals: [],
        sources: [
          { name: 'sirene', status: 'not_applicable' },
          { name: 'vies', status: 'ok' },
        ],
      }),
    ).toBe('GREEN');
  });
});
