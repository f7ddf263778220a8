import type { Clock } from '#app/application/ports/clock.ts';
import type { CompanyRegistry } from '#app/application/ports/company-registry.ts';
import type { InsolvencyRegistry } from '#app/application/ports/insolvency-registry.ts';
import type { Metrics } from '#app/application/ports/metrics.ts';
import type { RegistryAnswer } from '#app/application/ports/registry-call.ts';
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
