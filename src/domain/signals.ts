import type { SourceName } from './facts.ts';

export type Severity = 'BLOCKING' | 'WARNING' | 'INFO';

/** Stable signal codes: public API, listed in docs/signals.md. */
export const SIGNAL_CODES = [
  'SIRENE_ACTIVE',
  'SIRENE_NOT_FOUND',
  'SIRENE_CEASED',
  'SIRENE_DUPLICATE',
  'SIRENE_NON_DIFFUSIBLE',
  'SIRENE_RECENTLY_CREATED',
  'SIRENE_ESTABLISHMENT_NOT_FOUND',
  'SIRENE_ESTABLISHMENT_CLOSED',
  'BODACC_NO_PROCEEDING',
  'BODACC_LIQUIDATION_OPEN',
  'BODACC_REDRESSEMENT_OPEN',
  'BODACC_SAUVEGARDE_OPEN',
  'BODACC_PLAN_IN_PROGRESS',
  'BODACC_SALE_PLAN',
  'BODACC_CLOSED_INSUFFICIENT_ASSETS',
  'BODACC_CLOSED_EXTINCTION_OF_LIABILITIES',
  'BODACC_PROCEEDING_CLOSED',
  'BODACC_PROCEEDING_LAPSED',
  'BODACC_UNRECOGNISED_JUDGMENT',
  'BODACC_RADIATION',
  'VIES_VAT_VALID',
  'VIES_VAT_INVALID',
  'VIES_DERIVED_VAT_NOT_REGISTERED',
  'VIES_NAME_MISMATCH',
] as const;

export type SignalCode = (typeof SIGNAL_CODES)[number];

export interface LocalisedText {
  readonly fr: string;
  readonly en: string;
}

/** What a signal rests on: registry record ids, the dates that matter, and where to read the record. */
export interface Evidence {
  readonly references: readonly string[];
  readonly dates: Readonly<Record<string, string>>;
  readonly urls: readonly string[];
}

/** A compliance signal before the policy gives it a severity. */
export interface SignalDraft {
  readonly source: SourceName;
  readonly code: SignalCode;
  readonly summary: LocalisedText;
  readonly evidence: Evidence;
  /** When the registry told us. */
  readonly observedAt: string;
  /** When it became true in the world (business time), when the registry says. */
  readonly effectiveFrom: string | null;
}

export interface Signal extends SignalDraft {
  readonly severity: Severity;
}
