import type { Clock } from '#app/application/ports/clock.ts';
import type { CompanyRegistry } from '#app/application/ports/company-registry.ts';
import type { IdGenerator } from '#app/application/ports/id-generator.ts';
import type { InsolvencyRegistry } from '#app/application/ports/insolvency-registry.ts';
import type { VatRegistry } from '#app/application/ports/vat-registry.ts';
import { makeAssessSupplier, type AssessSupplier } from '#app/application/use-cases/assess-supplier.ts';
import { BODACC_BASE_URL, createBodaccInsolvencyRegistry } from '#app/adapters/registries/bodacc.ts';
import { createInseeCompanyRegistry, INSEE_BASE_URL } from '#app/adapters/registries/insee-sirene.ts';
import {
  createRechercheCompanyRegistry,
  RECHERCHE_BASE_URL,
} from '#app/adapters/registries/recherche-entreprises.ts';
import { createViesVatRegistry, VIES_BASE_URL } from '#app/adapters/registries/vies.ts';
import { createSystemClock } from '#app/adapters/system/clock.ts';
import { createUuidGenerator } from '#app/adapters/system/id-generator.ts';
import type { Config } from '#app/config/config.ts';
import { BUILT_IN_FIXTURES_DIR, startSandbox } from '#app/sandbox/server.ts';

export interface UseCases {
  readonly assessSupplier: AssessSupplier;
}

export interface App {
  readonly useCases: UseCases;
  readonly ids: IdGenerator;
  /** Where the registries are reached (the sandbox's URLs in sandbox mode), for display. */
  readonly registryUrls: Readonly<Record<'insee' | 'recherche' | 'bodacc' | 'vies', string>>;
  /** Releases what compose opened, in reverse order. */
  close(): Promise<void>;
}

/** Replacements for tests and benchmarks: any port given here is used instead of the configured adapter. */
export interface Overrides {
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  readonly companyRegistry?: CompanyRegistry;
  readonly insolvencyRegistry?: InsolvencyRegistry;
  readonly vatRegistry?: VatRegistry;
}

/** The composition root: builds every adapter from the configuration and wires the use cases. */
export const compose = async (config: Config, overrides: Overrides = {}): Promise<App> => {
  const closers: (() => Promise<void>)[] = [];
  const clock = overrides.clock ?? createSystemClock();
  const ids = overrides.ids ?? createUuidGenerator();
  const reg = config.registries;

  let urls = {
    insee: reg.insee.baseUrl ?? INSEE_BASE_URL,
    recherche: reg.recherche.baseUrl ?? RECHERCHE_BASE_URL,
    bodacc: reg.bodacc.baseUrl ?? BODACC_BASE_URL,
    vies: reg.vies.baseUrl ?? VIES_BASE_URL,
  };
  if (reg.mode === 'sandbox') {
    const sandbox = await startSandbox({ dir: reg.sandboxDir ?? BUILT_IN_FIXTURES_DIR, port: 0 });
    closers.push(() => sandbox.close());
    urls = { ...sandbox.urls };
  }

  const http = (name: 'insee' | 'recherche' | 'bodacc' | 'vies') => ({
    baseUrl: urls[name],
    timeoutMs: reg[name].timeoutMs,
    userAgent: config.userAgent,
  });
  const useInsee = reg.sirene === 'insee' || (reg.sirene === 'auto' && reg.inseeApiKey !== null);
  const companyRegistry =
    overrides.companyRegistry ??
    (useInsee
      ? createInseeCompanyRegistry(
          { clock },
          // The sandbox only checks that a key is sent, like the real API does before it checks the key itself.
          { ...http('insee'), apiKey: reg.inseeApiKey ?? 'sandbox' },
        )
      : createRechercheCompanyRegistry({ clock }, http('recherche')));
  const insolvencyRegistry =
    overrides.insolvencyRegistry ?? createBodaccInsolvencyRegistry({ clock }, http('bodacc'));
  const vatRegistry = overrides.vatRegistry ?? createViesVatRegistry({ clock }, http('vies'));

  return {
    useCases: {
      assessSupplier: makeAssessSupplier({ companyRegistry, insolvencyRegistry, vatRegistry, clock }),
    },
    ids,
    registryUrls: urls,
    close: async () => {
      for (const close of closers.reverse()) await close();
    },
  };
};
