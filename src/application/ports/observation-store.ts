import type { FactTimeline, TimelineMode } from '#app/domain/observations.ts';
import type { JsonValue } from './json.ts';

/** One version of a fact as stored: business time (valid) and system time (sys). Null upper bounds are open. */
export interface ObservedFact {
  readonly subject: string;
  readonly source: string;
  readonly factKind: string;
  readonly value: JsonValue;
  readonly validFrom: string;
  readonly validTo: string | null;
  readonly sysFrom: string;
  readonly sysTo: string | null;
  readonly assessmentId: string | null;
}

export interface RecordOutcome {
  /** False when what the source said is what we already believed: nothing was written. */
  readonly changed: boolean;
  readonly inserted: number;
  readonly closed: number;
}

/**
 * Bitemporal registry facts. Nothing is updated in place: a correction closes the system period of the versions
 * it replaces (sys_to = knownAt) and inserts the new versions (sys_from = knownAt), in the caller's transaction.
 * The database forbids two current versions of one fact overlapping in business time.
 *
 * Modes (from the domain's timeline): `replace` — the source gave the fact's whole history, which replaces the
 * current one when it differs; `from` — the source says the value holds from `validFrom` on: the current version
 * is kept when it already says so, otherwise it is cut at `validFrom` and the new value follows.
 */
export interface ObservationStore {
  record(timeline: FactTimeline, knownAt: string, assessmentId: string | null): Promise<RecordOutcome>;
  /** What was true at `validAt` (business time), as known at `knownAt` (system time), for a subject. */
  asOf(
    subject: string,
    at: { readonly validAt: string; readonly knownAt: string },
  ): Promise<readonly ObservedFact[]>;
  /** Every version ever recorded for a subject, oldest system time first (for audits and reports). */
  versions(subject: string): Promise<readonly ObservedFact[]>;
}

export type { FactTimeline, TimelineMode };
