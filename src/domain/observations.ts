import type { SourceOutcome } from './assessment.ts';
import type {
  BodaccJudgment,
  BodaccNotice,
  CompanyFacts,
  InsolvencyFacts,
  SourceName,
  VatFacts,
} from './facts.ts';
import { formatVat } from './identifiers/identifiers.ts';
import {
  byJudgmentDesc,
  classifyJudgment,
  judgmentDate,
  readInsolvency,
  stillStanding,
  type JudgmentReading,
} from './insolvency.ts';
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

/** The facts `timelinesOf` reads from one assessment's sources; `siret` is the establishment asked for, if any. */
export interface TimelineSources {
  readonly sirene: SourceOutcome<CompanyFacts>;
  readonly bodacc: SourceOutcome<InsolvencyFacts>;
  readonly vies: SourceOutcome<VatFacts>;
  readonly siret: string | null;
}

/** A calendar day (YYYY-MM-DD) as the instant it starts, in UTC: business time is kept as instants. */
const dayStart = (isoDate: string): string => `${isoDate.slice(0, 10)}T00:00:00.000Z`;

const version = (value: JsonValue, validFrom: string, validTo: string | null = null): FactVersionDraft =>
  Object.freeze({ value, validFrom, validTo });

const timeline = (
  subject: string,
  source: SourceName,
  factKind: string,
  mode: TimelineMode,
  versions: readonly FactVersionDraft[],
): FactTimeline => Object.freeze({ subject, source, factKind, mode, versions: Object.freeze([...versions]) });

const fromOn = (
  subject: string,
  source: SourceName,
  factKind: string,
  value: JsonValue,
  validFrom: string,
): FactTimeline => timeline(subject, source, factKind, 'from', [version(value, validFrom)]);

const legalStatus = (facts: CompanyFacts, observedAt: string): FactTimeline => {
  if (facts.kind === 'not_found') {
    return fromOn(
      facts.siren,
      'sirene',
      'legal_status',
      { state: 'not_found', knownToRneOnly: facts.knownToRneOnly },
      observedAt,
    );
  }
  if (facts.state === 'unknown' && facts.diffusion === 'restricted') {
    return fromOn(
      facts.siren,
      'sirene',
      'legal_status',
      { state: 'unknown', diffusion: 'restricted' },
      observedAt,
    );
  }
  const identity = {
    name: facts.name,
    legalCategory: facts.legalCategory,
    activity: facts.activity,
    // Which SIRENE service answered is provenance, not a fact about the company: it stays out of the value, so a
    // change of provider is not mistaken for a change of the company.
    diffusion: facts.diffusion,
  };
  const active = { state: 'active', ...identity };
  const ceased = { state: 'ceased', ...identity };
  const replace = (versions: readonly FactVersionDraft[]): FactTimeline =>
    timeline(facts.siren, 'sirene', 'legal_status', 'replace', versions);
  if (facts.state === 'active' && facts.createdOn !== null) {
    return replace([version(active, dayStart(facts.createdOn))]);
  }
  if (facts.state === 'ceased' && facts.ceasedOn !== null) {
    const ceasedFrom = dayStart(facts.ceasedOn);
    const createdFrom = facts.createdOn === null ? null : dayStart(facts.createdOn);
    // An active period is stated only when SIRENE dates both ends; a creation on or after the cessation is a
    // registry inconsistency, and the cessation is the part that matters.
    return replace(
      createdFrom !== null && createdFrom < ceasedFrom
        ? [version(active, createdFrom, ceasedFrom), version(ceased, ceasedFrom)]
        : [version(ceased, ceasedFrom)],
    );
  }
  return fromOn(facts.siren, 'sirene', 'legal_status', { state: facts.state, ...identity }, observedAt);
};

const establishmentStatus = (facts: CompanyFacts, observedAt: string): FactTimeline | null => {
  if (facts.kind === 'not_found' || facts.establishment === null) return null;
  const est = facts.establishment;
  if (est.kind === 'not_found') {
    return fromOn(est.siret, 'sirene', 'establishment_status', { state: 'not_found' }, observedAt);
  }
  const value = { state: est.state, isHeadOffice: est.isHeadOffice };
  if (est.state === 'closed' && est.closedOn !== null) {
    return timeline(est.siret, 'sirene', 'establishment_status', 'replace', [
      version(value, dayStart(est.closedOn)),
    ]);
  }
  return fromOn(est.siret, 'sirene', 'establishment_status', value, observedAt);
};

const proceedingValue = (
  notice: BodaccNotice,
  judgment: BodaccJudgment,
  reading: StatusReading,
): JsonValue => {
  const origin = { noticeId: notice.id, nature: judgment.nature };
  switch (reading.kind) {
    case 'open':
      return { status: 'open', procedure: reading.procedure, ...origin };
    case 'plan':
      return { status: 'plan', plan: reading.plan, ...origin };
    case 'closed':
      return { status: 'closed', reason: reading.reason, ...origin };
  }
};

type StatusReading = Extract<JudgmentReading, { readonly kind: 'open' | 'plan' | 'closed' }>;

const bearsStatus = (reading: JudgmentReading): reading is StatusReading =>
  reading.kind === 'open' || reading.kind === 'plan' || reading.kind === 'closed';

/**
 * The proceeding's history as BODACC shows it today: the judgments `readInsolvency` would weigh (still standing,
 * status-bearing), oldest first, each holding until the next. Of judgments given the same day, the one
 * `readInsolvency` would pick holds: a zero-length version states nothing.
 */
const collectiveProceeding = (facts: InsolvencyFacts): FactTimeline => {
  const judged: { notice: BodaccNotice; judgment: BodaccJudgment; reading: StatusReading }[] = [];
  for (const notice of stillStanding(facts.notices)) {
    if (notice.family !== 'collective' || notice.judgment === null) continue;
    const reading = classifyJudgment(notice.judgment);
    if (bearsStatus(reading)) judged.push({ notice, judgment: notice.judgment, reading });
  }
  judged.sort((a, b) => byJudgmentDesc(b, a));
  const steps: { from: string; value: JsonValue }[] = [];
  for (const { notice, judgment, reading } of judged) {
    const from = dayStart(judgmentDate(notice, judgment));
    const value = proceedingValue(notice, judgment, reading);
    const last = steps.at(-1);
    if (last?.from === from) last.value = value;
    else steps.push({ from, value });
  }
  return timeline(
    facts.siren,
    'bodacc',
    'collective_proceeding',
    'replace',
    steps.map((step, i) => version(step.value, step.from, steps[i + 1]?.from ?? null)),
  );
};

const radiation = (facts: InsolvencyFacts, observedAt: string): FactTimeline => {
  const notice = readInsolvency(facts.notices, observedAt).radiation;
  const ceasedOn = notice?.radiation?.ceasedOn ?? null;
  return timeline(
    facts.siren,
    'bodacc',
    'radiation',
    'replace',
    notice === null
      ? []
      : [
          version(
            { state: 'radiated', noticeId: notice.id, publishedOn: notice.publishedOn, ceasedOn },
            dayStart(ceasedOn ?? notice.publishedOn),
          ),
        ],
  );
};

/**
 * What an assessment's sources say, as bitemporal fact timelines for the `ObservationStore`. Pure. A source that
 * was unavailable or did not apply gives no timeline: an outage is never a fact, and it must not close what we
 * knew. Instants are ISO strings; a registry's calendar date becomes 00:00Z that day.
 *
 * | Subject | Source | Fact kind | Mode | Versions and value |
 * |---|---|---|---|---|
 * | SIREN | sirene | `legal_status` | `replace` when SIRENE dates the state: active with a creation date, or ceased with a cessation date | `{state: 'active', name, legalCategory, activity, diffusion}` from createdOn (to ceasedOn when ceased), then `{state: 'ceased', ...}` from ceasedOn; a ceased unit without a creation date gets the ceased version only |
 * | SIREN | sirene | `legal_status` | `from` observedAt otherwise | the same value (active without creation date, ceased without cessation date, state unknown); `{state: 'not_found', knownToRneOnly}` for an unknown SIREN; `{state: 'unknown', diffusion: 'restricted'}` for a unit INSEE refuses to show |
 * | SIRET | sirene | `establishment_status` (only when a SIRET was asked and the unit was found) | `replace` when closed with a closing date, else `from` observedAt | `{state: 'open' \| 'closed' \| 'unknown', isHeadOffice}` (closed: from closedOn); `{state: 'not_found'}` |
 * | SIREN | bodacc | `collective_proceeding` | `replace` | one version per standing status-bearing judgment, oldest first, each until the next: `{status: 'open', procedure}`, `{status: 'plan', plan}` or `{status: 'closed', reason}`, with `noticeId` and `nature`; none when BODACC shows no proceeding (which closes what was current) |
 * | SIREN | bodacc | `radiation` | `replace` | `{state: 'radiated', noticeId, publishedOn, ceasedOn}` from ceasedOn, else from publication, for the radiation in force; none otherwise |
 * | VAT number (e.g. `FR27552032534`) | vies | `vat_registration` | `from` observedAt | `{valid, name}` |
 *
 * Subjects are those the registry answered for: a SIREN INSEE redirected (duplicate) is recorded under the
 * surviving unit. The ten-year lapse of a plan (`readInsolvency`'s `lapsed`) is a reading of the law at a date, not
 * something BODACC published: it is not recorded.
 */
export const timelinesOf = (input: TimelineSources): readonly FactTimeline[] => {
  const out: FactTimeline[] = [];
  if (input.sirene.status === 'ok') {
    out.push(legalStatus(input.sirene.facts, input.sirene.observedAt));
    if (input.siret !== null) {
      const est = establishmentStatus(input.sirene.facts, input.sirene.observedAt);
      if (est !== null) out.push(est);
    }
  }
  if (input.bodacc.status === 'ok') {
    out.push(
      collectiveProceeding(input.bodacc.facts),
      radiation(input.bodacc.facts, input.bodacc.observedAt),
    );
  }
  if (input.vies.status === 'ok') {
    out.push(
      fromOn(
        formatVat(input.vies.facts.vat),
        'vies',
        'vat_registration',
        { valid: input.vies.facts.valid, name: input.vies.facts.name },
        input.vies.observedAt,
      ),
    );
  }
  return Object.freeze(out);
};
