import type { SourceName } from './facts.ts';
import type { Severity, Signal, SignalCode, SignalDraft } from './signals.ts';

export type Verdict = 'GREEN' | 'RED' | 'GREY';

export type SourceStatus = 'ok' | 'unavailable' | 'not_applicable';

/** What the verdict rules look at. */
export interface VerdictInputs {
  readonly signals: readonly Signal[];
  readonly sources: readonly { readonly name: SourceName; readonly status: SourceStatus }[];
}

export interface VerdictRule {
  readonly verdict: Verdict;
  /** The rule in words, printed in reports and docs. */
  readonly when: string;
  readonly applies: (inputs: VerdictInputs) => boolean;
}

export interface VerdictPolicy {
  readonly version: string;
  /** The severity of every signal code: the business judgement, in one place. */
  readonly severity: Readonly<Record<SignalCode, Severity>>;
  /** Tried in order; the first rule that applies decides. */
  readonly rules: readonly VerdictRule[];
}

/**
 * Verdict policy v1 (ARCHITECTURE section 2): RED on any BLOCKING signal, even when other sources are down (a
 * company in liquidation is RED whatever VIES says); else GREY when a source that applies did not answer, since
 * an outage is never a clean bill of health; else GREEN.
 */
export const POLICY_V1: VerdictPolicy = Object.freeze({
  version: 'v1',
  severity: Object.freeze({
    SIRENE_ACTIVE: 'INFO',
    SIRENE_NOT_FOUND: 'BLOCKING',
    SIRENE_CEASED: 'BLOCKING',
    SIRENE_DUPLICATE: 'WARNING',
    SIRENE_NON_DIFFUSIBLE: 'INFO',
    SIRENE_RECENTLY_CREATED: 'WARNING',
    // The legal unit is what the duty of vigilance bears on; an old SIRET on an invoice calls for an update.
    SIRENE_ESTABLISHMENT_NOT_FOUND: 'WARNING',
    SIRENE_ESTABLISHMENT_CLOSED: 'WARNING',
    BODACC_NO_PROCEEDING: 'INFO',
    BODACC_LIQUIDATION_OPEN: 'BLOCKING',
    BODACC_REDRESSEMENT_OPEN: 'BLOCKING',
    BODACC_SAUVEGARDE_OPEN: 'WARNING',
    BODACC_PLAN_IN_PROGRESS: 'WARNING',
    // A sale plan hands the business to a buyer; the legal unit is left to be liquidated.
    BODACC_SALE_PLAN: 'BLOCKING',
    BODACC_CLOSED_INSUFFICIENT_ASSETS: 'BLOCKING',
    BODACC_CLOSED_EXTINCTION_OF_LIABILITIES: 'INFO',
    BODACC_PROCEEDING_CLOSED: 'INFO',
    BODACC_PROCEEDING_LAPSED: 'INFO',
    BODACC_UNRECOGNISED_JUDGMENT: 'WARNING',
    BODACC_RADIATION: 'BLOCKING',
    VIES_VAT_VALID: 'INFO',
    VIES_VAT_INVALID: 'BLOCKING',
    // A number computed from the SIREN is a candidate: many small businesses are not VAT-registered.
    VIES_DERIVED_VAT_NOT_REGISTERED: 'WARNING',
    VIES_NAME_MISMATCH: 'WARNING',
  }),
  rules: Object.freeze<VerdictRule[]>([
    {
      verdict: 'RED',
      when: 'any BLOCKING signal',
      applies: ({ signals }) => signals.some((s) => s.severity === 'BLOCKING'),
    },
    {
      verdict: 'GREY',
      when: 'a source that applies did not answer',
      applies: ({ sources }) => sources.some((s) => s.status === 'unavailable'),
    },
    { verdict: 'GREEN', when: 'otherwise', applies: () => true },
  ]),
});

export const applySeverity = (policy: VerdictPolicy, draft: SignalDraft): Signal =>
  Object.freeze({ ...draft, severity: policy.severity[draft.code] });

export const decideVerdict = (policy: VerdictPolicy, inputs: VerdictInputs): Verdict => {
  for (const rule of policy.rules) if (rule.applies(inputs)) return rule.verdict;
  return 'GREY';
};
