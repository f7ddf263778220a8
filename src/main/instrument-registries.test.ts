import { describe, expect, it } from 'vitest';
import type { RegistryCallMeasure } from '#app/application/ports/metrics.ts';
import { unavailable } from '#app/application/ports/registry-call.ts';
import { parseSiren, parseVatNumber } from '#app/domain/identifiers/identifiers.ts';
import { createManualClock } from '../../test/support/manual-clock.ts';
import { createMemoryRateLimiter } from '#app/adapters/memory/rate-limiter.ts';
import { instrumentRegistries, limitRegistries } from './instrument-registries.ts';

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

describe('limitRegistries', () => {
  it('makes no call over the limit: the source is unavailable, rate_limited, with when to try again', async () => {
    let calls = 0;
    const answer = () => {
      calls += 1;
      return Promise.resolve({ ok: true as const, value: { notices: [], sourceUrl: 'b' } as never });
    };
    const registries = limitRegistries(
      {
        companyRegistry: { provider: 'insee', lookup: answer },
        insolvencyRegistry: { notices: answer },
        vatRegistry: { check: answer },
      },
      createMemoryRateLimiter({ bodacc: { kind: 'rate', points: 2, durationMs: 60_000 } }),
    );
    const siren = parseSiren('552032534');
    if (!siren.ok) throw new Error('siren');
    const ask = () => registries.insolvencyRegistry.notices(siren.value, { correlationId: 'c' });
    expect((await ask()).ok).toBe(true);
    expect((await ask()).ok).toBe(true);
    const third = await ask();
    expect(third).toMatchObject({
      ok: false,
      error: { code: 'REGISTRY_UNAVAILABLE', reason: 'rate_limited' },
    });
    expect(!third.ok && third.error.retryAfterSeconds).toBeGreaterThan(0);
    expect(calls).toBe(2);
    // Sources without a rule are not limited.
    for (let i = 0; i < 5; i += 1)
      await registries.companyRegistry.lookup({ siren: siren.value, siret: null }, { correlationId: 'c' });
    expect(calls).toBe(7);
  });
});
