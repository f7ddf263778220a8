import type { Assessment } from '#app/domain/assessment.ts';
import type { Lang } from './args.ts';

const VERDICT_TEXT = {
  en: {
    GREEN: 'GREEN  no blocking signal, every source answered',
    RED: 'RED    at least one blocking signal',
    GREY: 'GREY   no blocking signal, but a source did not answer',
  },
  fr: {
    GREEN: 'VERT   aucun signal bloquant, toutes les sources ont répondu',
    RED: 'ROUGE  au moins un signal bloquant',
    GREY: 'GRIS   aucun signal bloquant, mais une source n’a pas répondu',
  },
} as const;

const LABELS = {
  en: {
    title: 'Supplier assessment',
    vat: 'VAT',
    derived: 'derived from the SIREN',
    verdict: 'Verdict',
    policy: 'Policy',
    assessedAt: 'Assessed at',
    id: 'Assessment',
    signals: 'Signals',
    none: '(none)',
    sources: 'Sources',
    header: ['SEVERITY', 'SOURCE', 'CODE', 'SUMMARY'],
    sourceHeader: ['SOURCE', 'STATUS', 'TIME', 'DETAIL'],
  },
  fr: {
    title: 'Évaluation fournisseur',
    vat: 'TVA',
    derived: 'calculé depuis le SIREN',
    verdict: 'Verdict',
    policy: 'Politique',
    assessedAt: 'Évalué le',
    id: 'Évaluation',
    signals: 'Signaux',
    none: '(aucun)',
    sources: 'Sources',
    header: ['GRAVITÉ', 'SOURCE', 'CODE', 'RÉSUMÉ'],
    sourceHeader: ['SOURCE', 'ÉTAT', 'DURÉE', 'DÉTAIL'],
  },
} as const;

const table = (rows: readonly (readonly string[])[]): string => {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `  ${line}`)
    .join('\n');
};

/** The human-readable report: verdict, signals, and each source's status and timing. */
export const renderAssessment = (a: Assessment, lang: Lang, assessmentId: string | null = null): string => {
  const l = LABELS[lang];
  const s = a.subject;
  const ids = [
    s.siren === null ? null : `SIREN ${s.siren}`,
    s.siret === null ? null : `SIRET ${s.siret}`,
    s.vat === null ? null : `${l.vat} ${s.vat}${s.vatOrigin === 'derived' ? ` (${l.derived})` : ''}`,
  ].filter((x): x is string => x !== null);
  const signalRows = a.signals.map((sig) => [sig.severity, sig.source, sig.code, sig.summary[lang]]);
  const sourceRows = a.sources.map((src) => [
    src.name,
    src.status,
    src.durationMs === null ? '-' : `${src.durationMs} ms`,
    src.status === 'ok' ? (src.provider ?? '') : (src.reason ?? ''),
  ]);
  return [
    `${l.title}: ${s.name ?? '?'}`,
    `  ${ids.join(' · ')}`,
    '',
    `${l.verdict.padEnd(13)}${VERDICT_TEXT[lang][a.verdict]}`,
    `${l.policy.padEnd(13)}${a.policyVersion}`,
    `${l.assessedAt.padEnd(13)}${a.assessedAt}`,
    ...(assessmentId === null ? [] : [`${l.id.padEnd(13)}${assessmentId}`]),
    '',
    l.signals,
    signalRows.length === 0 ? `  ${l.none}` : table([l.header, ...signalRows]),
    '',
    l.sources,
    table([l.sourceHeader, ...sourceRows]),
    '',
  ].join('\n');
};

/** The machine-readable report: the assessment as it is, with the correlation id that followed it. */
export const assessmentDocument = (a: Assessment, correlationId: string): object => ({
  verdict: a.verdict,
  policyVersion: a.policyVersion,
  assessedAt: a.assessedAt,
  correlationId,
  subject: a.subject,
  signals: a.signals,
  sources: a.sources,
});

export interface HistoryRow {
  readonly id: string;
  readonly createdAt: string;
  readonly verdict: string;
  readonly state: string;
  readonly subject: { readonly name: string | null };
  readonly sources: readonly { readonly name: string; readonly status: string }[];
}

/** Past assessments, newest first, one line each. */
export const renderHistory = (rows: readonly HistoryRow[]): string =>
  rows.length === 0
    ? 'No assessment of this supplier in this account.'
    : table([
        ['DATE', 'VERDICT', 'STATE', 'SOURCES', 'ASSESSMENT'],
        ...rows.map((r) => [
          r.createdAt,
          r.verdict,
          r.state,
          r.sources.map((s) => `${s.name}:${s.status}`).join(' '),
          r.id,
        ]),
      ]);

export interface StateView {
  readonly validAt: string;
  readonly knownAt: string;
  readonly subjects: readonly string[];
  readonly facts: readonly {
    readonly subject: string;
    readonly source: string;
    readonly factKind: string;
    readonly value: unknown;
    readonly validFrom: string;
    readonly validTo: string | null;
    readonly sysFrom: string;
  }[];
}

/** The bitemporal state: each fact true at the legal date, as known then, with its business and system times. */
export const renderState = (state: StateView): string =>
  [
    `State of ${state.subjects.join(', ')}`,
    `  true at  ${state.validAt}`,
    `  known at ${state.knownAt}`,
    '',
    state.facts.length === 0
      ? '  Nothing was known about it then.'
      : table([
          ['SUBJECT', 'SOURCE', 'FACT', 'VALUE', 'VALID FROM', 'VALID TO', 'KNOWN SINCE'],
          ...state.facts.map((f) => [
            f.subject,
            f.source,
            f.factKind,
            JSON.stringify(f.value),
            f.validFrom,
            f.validTo ?? '-',
            f.sysFrom,
          ]),
        ]),
    '',
  ].join('\n');
