import type { SourceName } from './facts.ts';
import type { JsonValue } from './json.ts';

/**
 * How a source's statement about a fact relates to what we already know:
 * - `replace`: the source gave the fact's whole history (SIRENE's creation and cessation dates, BODACC's
 *   judgments): it replaces the current history when it differs;
 * - `from`: the source says only that the value holds from `validFrom` (usually the observation time) on
 *   (VIES validity, facts SIRENE gives no date for).
 */
export type TimelineMode = 'replace' | 'from';

export interface FactVersionDraft {
  readonly value: JsonValue;
  /** ISO instant the value became true in the world. */
  readonly validFrom: string;
  /** ISO instant it stopped being true, null while it still is. */
  readonly validTo: string | null;
}

/** What one source says about one fact of one subject (a SIREN, a SIRET, or a VAT number). */
export interface FactTimeline {
  readonly subject: string;
  readonly source: SourceName;
  readonly factKind: string;
  readonly mode: TimelineMode;
  /** Ordered by validFrom, not overlapping; in `from` mode exactly one version, open-ended. */
  readonly versions: readonly FactVersionDraft[];
}
