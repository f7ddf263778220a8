import { frenchDate } from './dates.ts';
import type { Assessment, SourceReport } from './assessment.ts';
import type { Verdict } from './policy.ts';
import { ATTACHED_PAYLOAD_NAME } from './seal.ts';
import type { Severity, Signal } from './signals.ts';

/**
 * How a sealed report speaks, whichever renderer draws it (pdfkit or Chromium): its wording in French and in
 * English, the labels of sources and providers, how dates read, and the colours of verdicts and severities.
 */

export type ReportLang = 'fr' | 'en';

export const VERDICT_COLOUR: Readonly<Record<Verdict, string>> = {
  GREEN: '#1e7b34',
  RED: '#b3261e',
  GREY: '#5f6368',
};
export const SEVERITY_COLOUR: Readonly<Record<Severity, string>> = {
  BLOCKING: '#b3261e',
  WARNING: '#a15c00',
  INFO: '#3c5a7a',
};

export interface Wording {
  /** What separates a label from its value: French puts a space before the colon. */
  readonly colon: string;
  readonly title: string;
  readonly sealedOn: (instant: string) => string;
  readonly supplier: string;
  readonly name: string;
  readonly query: string;
  readonly vat: string;
  readonly vatOrigin: { readonly given: string; readonly derived: string };
  readonly country: string;
  readonly verdict: string;
  readonly verdictWord: Readonly<Record<Verdict, string>>;
  readonly verdictMeaning: Readonly<Record<Verdict, string>>;
  readonly verdictCode: (verdict: Verdict, policyVersion: string) => string;
  readonly signals: (count: number) => string;
  readonly noSignal: string;
  readonly severity: Readonly<Record<Severity, string>>;
  readonly references: string;
  readonly dates: string;
  readonly links: string;
  readonly effectiveFrom: string;
  readonly observedAt: string;
  readonly dateKey: Readonly<Record<string, string>>;
  readonly sources: string;
  readonly status: Readonly<Record<SourceReport['status'], string>>;
  readonly provider: string;
  readonly duration: string;
  readonly reason: string;
  readonly retryAfter: (seconds: number) => string;
  readonly seal: string;
  readonly policyVersion: string;
  readonly assessmentId: string;
  readonly assessedAt: string;
  readonly reportId: string;
  readonly sealedAt: string;
  readonly keyId: string;
  readonly algorithm: string;
  readonly requestedBy: string;
  readonly howToVerify: string;
  readonly steps: readonly string[];
  /** The last step, for renderers that attach the signed payload to the PDF. */
  readonly attachmentStep: string;
  readonly qrAlt: (url: string) => string;
  readonly page: (n: number, of: number) => string;
  readonly attachmentDescription: string;
  readonly none: string;
}

export const REPORT_WORDING: Readonly<Record<ReportLang, Wording>> = {
  fr: {
    colon: ' : ',
    title: 'Rapport de vigilance fournisseur',
    sealedOn: (instant) => `Rapport scellé le ${instant}`,
    supplier: 'Fournisseur',
    name: 'Dénomination',
    query: 'Identifiant recherché',
    vat: 'N° de TVA intracommunautaire',
    vatOrigin: { given: 'fourni', derived: 'dérivé du SIREN' },
    country: 'Pays',
    verdict: 'Verdict',
    verdictWord: { GREEN: 'VERT', RED: 'ROUGE', GREY: 'GRIS' },
    verdictMeaning: {
      GREEN: 'Aucun signal bloquant, et toutes les sources requises ont répondu.',
      RED: 'Au moins un signal bloquant : ne pas contracter en l’état sans analyse complémentaire.',
      GREY: 'Une source requise n’a pas répondu : le verdict reste indéterminé tant qu’elle n’a pas été consultée à nouveau.',
    },
    verdictCode: (verdict, policy) => `Code ${verdict} · politique de verdict ${policy}`,
    signals: (count) => `Signaux (${count})`,
    noSignal: 'Aucun signal.',
    severity: { BLOCKING: 'BLOQUANT', WARNING: 'AVERTISSEMENT', INFO: 'INFORMATION' },
    references: 'Références',
    dates: 'Dates',
    links: 'Sources',
    effectiveFrom: 'Date d’effet',
    observedAt: 'Observé le',
    dateKey: {
      createdOn: 'création',
      ceasedOn: 'cessation',
      closedOn: 'fermeture',
      judgmentDate: 'jugement',
      publishedOn: 'publication',
      requestDate: 'requête VIES',
    },
    sources: 'Sources consultées',
    status: { ok: 'a répondu', unavailable: 'indisponible', not_applicable: 'sans objet' },
    provider: 'Service',
    duration: 'Durée',
    reason: 'Motif',
    retryAfter: (s) => `nouvel essai possible après ${s} s`,
    seal: 'Scellement',
    policyVersion: 'Politique de verdict',
    assessmentId: 'Évaluation',
    assessedAt: 'Évaluée le',
    reportId: 'Rapport',
    sealedAt: 'Scellé le',
    keyId: 'Clé de signature',
    algorithm: 'Algorithme',
    requestedBy: 'Demandé par',
    howToVerify: 'Comment vérifier ce rapport',
    steps: [
      '1. Scannez le QR code ou ouvrez l’adresse ci-dessous : la page de vérification affiche le verdict, la date de scellement, la clé et la signature, et dit si la signature est valide.',
      '2. Déposez ce fichier PDF sur cette page : son empreinte SHA-256 est calculée dans votre navigateur et comparée à celle du contenu signé. Un seul octet modifié la fait différer.',
      '3. Hors ligne : vigilance verify report.pdf --seal report.seal.json',
    ],
    attachmentStep: `4. Le contenu signé, sans l’empreinte du PDF, est joint à ce fichier (${ATTACHED_PAYLOAD_NAME}).`,
    qrAlt: (url) => `QR code de l’adresse de vérification ${url}`,
    page: (n, of) => `page ${n} / ${of}`,
    attachmentDescription: 'Contenu signé du sceau (JSON canonique, sans l’empreinte du PDF)',
    none: '—',
  },
  en: {
    colon: ': ',
    title: 'Supplier compliance report',
    sealedOn: (instant) => `Report sealed on ${instant}`,
    supplier: 'Supplier',
    name: 'Name',
    query: 'Identifier searched',
    vat: 'EU VAT number',
    vatOrigin: { given: 'given', derived: 'derived from the SIREN' },
    country: 'Country',
    verdict: 'Verdict',
    verdictWord: { GREEN: 'GREEN', RED: 'RED', GREY: 'GREY' },
    verdictMeaning: {
      GREEN: 'No blocking signal, and every required source answered.',
      RED: 'At least one blocking signal: do not contract as things stand without further review.',
      GREY: 'A required source did not answer: the verdict stays undetermined until it has been consulted again.',
    },
    verdictCode: (verdict, policy) => `Code ${verdict} · verdict policy ${policy}`,
    signals: (count) => `Signals (${count})`,
    noSignal: 'No signal.',
    severity: { BLOCKING: 'BLOCKING', WARNING: 'WARNING', INFO: 'INFO' },
    references: 'References',
    dates: 'Dates',
    links: 'Sources',
    effectiveFrom: 'Effective from',
    observedAt: 'Observed at',
    dateKey: {
      createdOn: 'created',
      ceasedOn: 'ceased',
      closedOn: 'closed',
      judgmentDate: 'judgment',
      publishedOn: 'published',
      requestDate: 'VIES request',
    },
    sources: 'Sources consulted',
    status: { ok: 'answered', unavailable: 'unavailable', not_applicable: 'not applicable' },
    provider: 'Service',
    duration: 'Duration',
    reason: 'Reason',
    retryAfter: (s) => `may be retried after ${s} s`,
    seal: 'Seal',
    policyVersion: 'Verdict policy',
    assessmentId: 'Assessment',
    assessedAt: 'Assessed at',
    reportId: 'Report',
    sealedAt: 'Sealed at',
    keyId: 'Signing key',
    algorithm: 'Algorithm',
    requestedBy: 'Requested by',
    howToVerify: 'How to verify this report',
    steps: [
      '1. Scan the QR code or open the address below: the verification page shows the verdict, the seal time, the key and the signature, and says whether the signature is valid.',
      '2. Drop this PDF file on that page: its SHA-256 fingerprint is computed in your browser and compared with the one in the signed payload. A single changed byte makes them differ.',
      '3. Offline: vigilance verify report.pdf --seal report.seal.json',
    ],
    attachmentStep: `4. The signed payload, without the PDF's fingerprint, is attached to this file (${ATTACHED_PAYLOAD_NAME}).`,
    qrAlt: (url) => `QR code of the verification address ${url}`,
    page: (n, of) => `page ${n} / ${of}`,
    attachmentDescription: 'Signed seal payload (canonical JSON, without the PDF fingerprint)',
    none: '—',
  },
};

export const SOURCE_LABEL: Readonly<Record<SourceReport['name'], string>> = {
  sirene: 'SIRENE',
  bodacc: 'BODACC',
  vies: 'VIES',
};

export const PROVIDER_LABEL: Readonly<Record<NonNullable<SourceReport['provider']>, string>> = {
  insee: 'API Sirene (INSEE)',
  recherche: 'API Recherche d’entreprises',
};

const ISO_INSTANT = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A UTC instant the way the report's language writes it; anything else as given. */
export const instantText = (iso: string, lang: ReportLang): string => {
  const match = ISO_INSTANT.exec(iso);
  if (match?.[1] === undefined || match[2] === undefined) return iso;
  return lang === 'fr' ? `${frenchDate(match[1])} à ${match[2]} UTC` : `${match[1]} ${match[2]} UTC`;
};

export const dateText = (iso: string, lang: ReportLang): string => {
  if (ISO_DATE.test(iso)) return lang === 'fr' ? frenchDate(iso) : iso;
  return instantText(iso, lang);
};

/** What a report states, whichever renderer lays it out. */
export interface ReportFacts {
  readonly lang: ReportLang;
  readonly assessment: Assessment;
  readonly assessmentId: string;
  readonly reportId: string;
  readonly sealedAt: string;
  readonly keyId: string;
  readonly algorithm: string;
  readonly requestedBy: string | null;
}

export type ReportRow = readonly [label: string, value: string];

/** The supplier's identity, label by label. */
export const supplierRows = (report: ReportFacts): readonly ReportRow[] => {
  const t = REPORT_WORDING[report.lang];
  const { subject } = report.assessment;
  const vat =
    subject.vat === null
      ? null
      : subject.vatOrigin === null
        ? subject.vat
        : `${subject.vat} (${t.vatOrigin[subject.vatOrigin]})`;
  return (
    [
      [t.name, subject.name],
      ['SIREN', subject.siren],
      ['SIRET', subject.siret],
      [t.vat, vat],
      [t.country, subject.country],
      [t.query, subject.query],
    ] as const
  ).map(([label, value]) => [label, value ?? t.none] as const);
};

/** The seal block: policy, ids, times, key and algorithm, and who asked on whose behalf. */
export const sealRows = (report: ReportFacts): readonly ReportRow[] => {
  const t = REPORT_WORDING[report.lang];
  return [
    [t.policyVersion, report.assessment.policyVersion],
    [t.assessmentId, report.assessmentId],
    [t.assessedAt, instantText(report.assessment.assessedAt, report.lang)],
    [t.reportId, report.reportId],
    [t.sealedAt, instantText(report.sealedAt, report.lang)],
    [t.keyId, report.keyId],
    [t.algorithm, report.algorithm],
    ...(report.requestedBy === null ? [] : [[t.requestedBy, report.requestedBy] as const]),
  ];
};

/** A signal as text: its heading, its summary, the evidence notes (references, dates, times), and its URLs. */
export interface SignalText {
  readonly heading: string;
  readonly summary: string;
  readonly notes: readonly string[];
  readonly urls: readonly string[];
}

export const signalText = (signal: Signal, lang: ReportLang): SignalText => {
  const t = REPORT_WORDING[lang];
  const { evidence } = signal;
  const notes: string[] = [];
  if (evidence.references.length > 0)
    notes.push(`${t.references}${t.colon}${evidence.references.join(', ')}`);
  const dates = Object.entries(evidence.dates);
  if (dates.length > 0) {
    const listed = dates.map(([key, value]) => `${t.dateKey[key] ?? key} ${dateText(value, lang)}`);
    notes.push(`${t.dates}${t.colon}${listed.join(', ')}`);
  }
  notes.push(
    [
      ...(signal.effectiveFrom === null
        ? []
        : [`${t.effectiveFrom}${t.colon}${dateText(signal.effectiveFrom, lang)}`]),
      `${t.observedAt}${t.colon}${instantText(signal.observedAt, lang)}`,
    ].join(' · '),
  );
  return {
    heading: `${t.severity[signal.severity]} · ${SOURCE_LABEL[signal.source]} · ${signal.code}`,
    summary: signal.summary[lang],
    notes,
    urls: evidence.urls,
  };
};

/** A source as text: its heading (name and status), details (service, duration, time), and why it did not answer. */
export interface SourceText {
  readonly heading: string;
  readonly unavailable: boolean;
  readonly details: string | null;
  readonly reason: string | null;
}

export const sourceText = (source: SourceReport, lang: ReportLang): SourceText => {
  const t = REPORT_WORDING[lang];
  const details = [
    ...(source.provider === null ? [] : [`${t.provider}${t.colon}${PROVIDER_LABEL[source.provider]}`]),
    ...(source.durationMs === null ? [] : [`${t.duration}${t.colon}${String(source.durationMs)} ms`]),
    ...(source.observedAt === null
      ? []
      : [`${t.observedAt}${t.colon}${instantText(source.observedAt, lang)}`]),
  ];
  const reason = [
    ...(source.reason === null ? [] : [`${t.reason}${t.colon}${source.reason}`]),
    ...(source.retryAfterSeconds === null ? [] : [t.retryAfter(source.retryAfterSeconds)]),
  ];
  return {
    heading: `${SOURCE_LABEL[source.name]} — ${t.status[source.status]}`,
    unavailable: source.status === 'unavailable',
    details: details.length === 0 ? null : details.join(' · '),
    reason: reason.length === 0 ? null : reason.join(' · '),
  };
};
