import { companySignals, insolvencySignals, vatSignals, type VatOrigin } from './derive-signals.ts';
import type { CompanyFacts, InsolvencyFacts, SireneProvider, SourceName, VatFacts } from './facts.ts';
import { formatVat, type SupplierId, type VatNumber } from './identifiers/identifiers.ts';
import { readInsolvency } from './insolvency.ts';
import {
  applySeverity,
  decideVerdict,
  type SourceStatus,
  type Verdict,
  type VerdictPolicy,
} from './policy.ts';
import type { Signal, SignalDraft } from './signals.ts';

/** Why a source gave no facts, as the registry ports report it. */
export interface Unavailability {
  readonly reason: string;
  readonly detail: string;
  readonly status: number | null;
  readonly retryAfterSeconds: number | null;
}

/** What one source did for an assessment. */
export type SourceOutcome<F> =
  | {
      readonly status: 'ok';
      readonly facts: F;
      readonly observedAt: string;
      readonly durationMs: number;
    }
  | {
      readonly status: 'unavailable';
      readonly unavailable: Unavailability;
      readonly observedAt: string;
      readonly durationMs: number;
    }
  | { readonly status: 'not_applicable' };

export interface SourceReport {
  readonly name: SourceName;
  readonly status: SourceStatus;
  /** The service that answered for SIRENE (insee or recherche); null for the others. */
  readonly provider: SireneProvider | null;
  readonly durationMs: number | null;
  readonly observedAt: string | null;
  /** Why the source did not answer, or why it does not apply. */
  readonly reason: string | null;
  readonly retryAfterSeconds: number | null;
  /** An unavailable source's next attempt (the retry worker asks it again then). */
  readonly nextRetryAt?: string;
  /** An unavailable source that is no longer retried: its retry window is over. */
  readonly final?: boolean;
}

export interface Subject {
  /** The identifier as the user gave it, normalised. */
  readonly query: string;
  readonly siren: string | null;
  readonly siret: string | null;
  readonly vat: string | null;
  readonly vatOrigin: VatOrigin | null;
  /** The registered name, or VIES's trader name for a foreign supplier. */
  readonly name: string | null;
  /** ISO country code of the supplier ("FR", or the VIES member-state code). */
  readonly country: string;
}

export interface Assessment {
  readonly subject: Subject;
  readonly verdict: Verdict;
  readonly policyVersion: string;
  readonly signals: readonly Signal[];
  readonly sources: readonly SourceReport[];
  readonly assessedAt: string;
}

export interface AssessmentInput {
  readonly id: SupplierId;
  readonly query: string;
  readonly vat: { readonly number: VatNumber; readonly origin: VatOrigin } | null;
  readonly assessedAt: string;
  readonly sirene: SourceOutcome<CompanyFacts>;
  readonly bodacc: SourceOutcome<InsolvencyFacts>;
  readonly vies: SourceOutcome<VatFacts>;
}

const SEVERITY_ORDER = { BLOCKING: 0, WARNING: 1, INFO: 2 } as const;
const SOURCE_ORDER = { sirene: 0, bodacc: 1, vies: 2 } as const;

const report = <F>(
  name: SourceName,
  outcome: SourceOutcome<F>,
  provider: SireneProvider | null,
  notApplicableReason: string,
): SourceReport => {
  switch (outcome.status) {
    case 'ok':
      return {
        name,
        status: 'ok',
        provider,
        durationMs: outcome.durationMs,
        observedAt: outcome.observedAt,
        reason: null,
        retryAfterSeconds: null,
      };
    case 'unavailable':
      return {
        name,
        status: 'unavailable',
        provider,
        durationMs: outcome.durationMs,
        observedAt: outcome.observedAt,
        reason: `${outcome.unavailable.reason}: ${outcome.unavailable.detail}`,
        retryAfterSeconds: outcome.unavailable.retryAfterSeconds,
      };
    case 'not_applicable':
      return {
        name,
        status: 'not_applicable',
        provider: null,
        durationMs: null,
        observedAt: null,
        reason: notApplicableReason,
        retryAfterSeconds: null,
      };
  }
};

/**
 * Turns what the registries said into an assessment: signals from each answering source, severities from the
 * policy, and the verdict. Pure: the same input always gives the same assessment.
 */
export const evaluateAssessment = (input: AssessmentInput, policy: VerdictPolicy): Assessment => {
  const asOf = input.assessedAt.slice(0, 10);
  const drafts: SignalDraft[] = [];
  const company = input.sirene.status === 'ok' ? input.sirene.facts : null;
  const registryName = company?.kind === 'found' ? company.name : null;
  if (input.sirene.status === 'ok') {
    drafts.push(...companySignals(input.sirene.facts, { observedAt: input.sirene.observedAt, asOf }));
  }
  if (input.bodacc.status === 'ok') {
    drafts.push(
      ...insolvencySignals(readInsolvency(input.bodacc.facts.notices, asOf), input.bodacc.facts.sourceUrl, {
        observedAt: input.bodacc.observedAt,
        asOf,
      }),
    );
  }
  if (input.vies.status === 'ok' && input.vat !== null) {
    drafts.push(
      ...vatSignals(input.vies.facts, input.vat.origin, registryName, {
        observedAt: input.vies.observedAt,
        asOf,
      }),
    );
  }
  const signals = drafts
    .map((d) => applySeverity(policy, d))
    .sort(
      (a, b) =>
        SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
        SOURCE_ORDER[a.source] - SOURCE_ORDER[b.source],
    );
  const foreign = input.id.kind === 'vat' && input.id.siren === null;
  const notApplicable = foreign ? 'French registry; the supplier is not French' : 'no VAT number to check';
  const sources = [
    report('sirene', input.sirene, company?.provider ?? null, notApplicable),
    report('bodacc', input.bodacc, null, notApplicable),
    report('vies', input.vies, null, notApplicable),
  ];
  const vatName = input.vies.status === 'ok' ? input.vies.facts.name : null;
  const subject: Subject = {
    query: input.query,
    siren:
      company?.kind === 'found' ? company.siren : input.id.kind === 'vat' ? input.id.siren : input.id.siren,
    siret: input.id.kind === 'siret' ? input.id.siret : null,
    vat: input.vat === null ? null : formatVat(input.vat.number),
    vatOrigin: input.vat?.origin ?? null,
    name: registryName ?? (foreign ? vatName : null),
    country: input.id.kind === 'vat' ? input.id.vat.country : 'FR',
  };
  return Object.freeze({
    subject: Object.freeze(subject),
    verdict: decideVerdict(policy, { signals, sources }),
    policyVersion: policy.version,
    signals: Object.freeze(signals),
    sources: Object.freeze(sources.map((s) => Object.freeze(s))),
    assessedAt: input.assessedAt,
  });
};

/** What each source did, by source: the evaluation input's outcomes (and the observations' input). */
export interface SourceOutcomes {
  readonly sirene: SourceOutcome<CompanyFacts>;
  readonly bodacc: SourceOutcome<InsolvencyFacts>;
  readonly vies: SourceOutcome<VatFacts>;
}

/** One source's outcome, with the source it belongs to (its facts' type follows). */
export type SourceAnswer =
  | { readonly source: 'sirene'; readonly outcome: SourceOutcome<CompanyFacts> }
  | { readonly source: 'bodacc'; readonly outcome: SourceOutcome<InsolvencyFacts> }
  | { readonly source: 'vies'; readonly outcome: SourceOutcome<VatFacts> };

/** The outcomes with one source's replaced: a retried source's answer in the place of its outage. */
export const withOutcome = <T extends SourceOutcomes>(input: T, answer: SourceAnswer): T => {
  switch (answer.source) {
    case 'sirene':
      return { ...input, sirene: answer.outcome };
    case 'bodacc':
      return { ...input, bodacc: answer.outcome };
    case 'vies':
      return { ...input, vies: answer.outcome };
  }
};

/** Marks each unavailable source with its retry state: the next attempt, or final. */
export const withRetryStates = (
  assessment: Assessment,
  states: Readonly<Partial<Record<SourceName, { readonly nextRetryAt: string } | { readonly final: true }>>>,
): Assessment => ({
  ...assessment,
  sources: assessment.sources.map((s) => {
    const state = s.status === 'unavailable' ? states[s.name] : undefined;
    return state === undefined ? s : { ...s, ...state };
  }),
});
