import { describe, expect, it } from 'vitest';
import type { RegistryCallMeasure } from '#app/application/ports/metrics.ts';
import { unavailable } from '#app/application/ports/registry-call.ts';
import { parseSiren, parseVatNumber } from '#app/domain/identifiers/identifiers.ts';
import { createManualClock } from '../../test/support/manual-clock.ts';
import { instrumentRegistries } from './instrument-registries.ts';

describe('instrumentRegistries', () => {
  it('records each call once, with its source, outcome, reason and duration, and passes the answer on', async () => {
    const clock = createManualClock();
    const measures: RegistryCallMeasure[] = [];
    const down = unavailable('http_status', 'HTTP 503', { status: 503 });
    const seen: string[] = [];
    const registries = instrumentRegistries(
      {
        companyRegistry: {
          provider: 'recherche',
          lookup: (_query, call) => {
            seen.push(call.correlationId);
            clock.advance(120);
            return Promise.resolve({ ok: false, error: down });
          },
        },
        insolvencyRegistry: {
          notices: () => {
            clock.advance(30);
            return Promise.resolve({ ok: true, value: { notices: [], sourceUrl: 'b' } as never });
          },
        },
        vatRegistry: {
          check: () => Promise.resolve({ ok: false, error: unavailable('timeout', 'no answer in 8 s') }),
        },
      },
      { metrics: { registryCall: (m) => measures.push(m) }, clock },
    );

    expect(registries.companyRegistry.provider).toBe('recherche');
    const siren = parseSiren('552032534');
    const vat = parseVatNumber('FR27552032534');
    if (!siren.ok || !vat.ok) throw new Error('fixture identifiers');
    const answer = await registries.companyRegistry.lookup(
      { siren: siren.value, siret: null },
      { correlationId: 'c-1' },
    );
    expect(answer).toEqual({ ok: false, error: down });
    expect(seen).toEqual(['c-1']);
    await registries.insolvencyRegistry.notices(siren.value, { correlationId: 'c-2' });
    await registries.vatRegistry.check(vat.value, { correlationId: 'c-3' });
    expect(measures).toEqual([
      { source: 'sirene', outcome: 'unavailable', reason: 'http_status', durationMs: 120 },
      { source: 'bodacc', outcome: 'ok', reason: null, durationMs: 30 },
      { source: 'vies', outcome: 'unavailable', reason: 'timeout', durationMs: 0 },
    ]);
  });
});
