import type { Clock } from '#app/application/ports/clock.ts';
import type { CompanyRegistry } from '#app/application/ports/company-registry.ts';
import type { InsolvencyRegistry } from '#app/application/ports/insolvency-registry.ts';
import type { Metrics } from '#app/application/ports/metrics.ts';
import type { RateLimiter } from '#app/application/ports/rate-limiter.ts';
import { unavailable, type RegistryAnswer } from '#app/application/ports/registry-call.ts';
import { err } from '#app/domain/result.ts';
import type { VatRegistry } from '#app/application/ports/vat-registry.ts';
import type { SourceName } from '#app/domain/facts.ts';

export interface Registries {
  readonly companyRegistry: CompanyRegistry;
  readonly insolvencyRegistry: InsolvencyRegistry;
  readonly vatRegistry: VatRegistry;
}

/**
 * The registry ports, each call timed and recorded in the metrics. Applied once, in compose, to the ports that both
 * the assessment and the retry worker use: every call is counted exactly once, whichever path made it. A call
 * that throws (a bug: outages are values) is not counted.
 */
export const instrumentRegistries = (
  registries: Registries,
  deps: { readonly metrics: Pick<Metrics, 'registryCall'>; readonly clock: Clock },
): Registries => {
  const measured = async <F>(
    source: SourceName,
    call: () => Promise<RegistryAnswer<F>>,
  ): Promise<RegistryAnswer<F>> => {
    const started = deps.clock.monotonicMs();
    const answer = await call();
    deps.metrics.registryCall({
      source,
      outcome: answer.ok ? 'ok' : 'unavailable',
      reason: answer.ok ? null : answer.error.reason,
      durationMs: deps.clock.monotonicMs() - started,
    });
    return answer;
  };
  const { companyRegistry, insolvencyRegistry, vatRegistry } = registries;
  return {
    companyRegistry: {
      provider: companyRegistry.provider,
      lookup: (query, call) => measured('sirene', () => companyRegistry.lookup(query, call)),
    },
    insolvencyRegistry: {
      notices: (siren, call) => measured('bodacc', () => insolvencyRegistry.notices(siren, call)),
    },
    vatRegistry: {
      check: (vat, call) => measured('vies', () => vatRegistry.check(vat, call)),
    },
  };
};

/**
 * The registry ports behind the per-source rate limits, for the assessment's own first calls: over the limit, the
 * call is not made and the source is unavailable (`rate_limited`, with when to try again), so the assessment is
 * GREY and the retry worker asks later. The worker acquires the limiter itself (it postpones instead), so it is
 * given the ports without this.
 */
export const limitRegistries = (registries: Registries, limiter: RateLimiter): Registries => {
  const limited = async <F>(
    key: string,
    call: () => Promise<RegistryAnswer<F>>,
  ): Promise<RegistryAnswer<F>> => {
    const permit = await limiter.tryAcquire(key);
    if (!permit.granted) {
      return err(
        unavailable('rate_limited', `Vigilance's own limit for ${key} is reached.`, {
          retryAfterSeconds: Math.ceil(permit.retryAfterMs / 1000),
        }),
      );
    }
    try {
      return await call();
    } finally {
      await permit.release();
    }
  };
  const { companyRegistry, insolvencyRegistry, vatRegistry } = registries;
  return {
    companyRegistry: {
      provider: companyRegistry.provider,
      lookup: (query, call) => limited(companyRegistry.provider, () => companyRegistry.lookup(query, call)),
    },
    insolvencyRegistry: {
      notices: (siren, call) => limited('bodacc', () => insolvencyRegistry.notices(siren, call)),
    },
    vatRegistry: {
      check: (vat, call) => limited('vies', () => vatRegistry.check(vat, call)),
    },
  };
};
