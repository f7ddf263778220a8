import { frenchDate, yearsBefore } from './dates.ts';
import type { CompanyFacts, CompanyFound, VatFacts } from './facts.ts';
import { formatVat } from './identifiers/identifiers.ts';
import type { InsolvencyReading } from './insolvency.ts';
import type { BodaccNotice } from './facts.ts';
import type { Evidence, LocalisedText, SignalCode, SignalDraft } from './signals.ts';
import type { SourceName } from './facts.ts';

/** When the facts were observed and what "today" is, for rules that depend on age. */
export interface Observation {
  readonly observedAt: string;
  /** The ISO date the assessment is made for. */
  readonly asOf: string;
}

const evidence = (parts: Partial<Evidence>): Evidence =>
  Object.freeze({
    references: Object.freeze([...(parts.references ?? [])]),
    dates: Object.freeze({ ...parts.dates }),
    urls: Object.freeze([...(parts.urls ?? [])]),
  });

const draft = (
  source: SourceName,
  code: SignalCode,
  summary: LocalisedText,
  ev: Partial<Evidence>,
  obs: Observation,
  effectiveFrom: string | null = null,
): SignalDraft =>
  Object.freeze({
    source,
    code,
    summary: Object.freeze(summary),
    evidence: evidence(ev),
    observedAt: obs.observedAt,
    effectiveFrom,
  });

const definedDates = (dates: Readonly<Record<string, string | null>>): Record<string, string> =>
  Object.fromEntries(Object.entries(dates).filter((e): e is [string, string] => e[1] !== null));

const orUnknown = (date: string | null, fr: string, en: string): LocalisedText =>
  date === null ? { fr, en } : { fr: `${fr} le ${frenchDate(date)}`, en: `${en} on ${date}` };

/** SIRENE facts -> signals: existence, state, diffusion, age, and the establishment when a SIRET was asked. */
export const companySignals = (facts: CompanyFacts, obs: Observation): readonly SignalDraft[] => {
  if (facts.kind === 'not_found') {
    return [
      draft(
        'sirene',
        'SIRENE_NOT_FOUND',
        facts.knownToRneOnly
          ? {
              fr: `SIREN ${facts.siren} absent du répertoire SIRENE (connu du seul RNE)`,
              en: `SIREN ${facts.siren} is not in the SIRENE register (known to the RNE only)`,
            }
          : {
              fr: `SIREN ${facts.siren} inconnu du répertoire SIRENE`,
              en: `SIREN ${facts.siren} is not in the SIRENE register`,
            },
        { references: [facts.siren], urls: [facts.sourceUrl] },
        obs,
      ),
    ];
  }
  const out: SignalDraft[] = [];
  const ev = {
    references: [facts.siren],
    dates: definedDates({ createdOn: facts.createdOn, ceasedOn: facts.ceasedOn }),
    urls: [facts.sourceUrl],
  };
  if (facts.duplicateOf !== null) {
    out.push(
      draft(
        'sirene',
        'SIRENE_DUPLICATE',
        {
          fr: `SIREN ${facts.duplicateOf} fermé pour doublon : l'unité active est ${facts.siren}`,
          en: `SIREN ${facts.duplicateOf} was closed as a duplicate: the active unit is ${facts.siren}`,
        },
        { ...ev, references: [facts.duplicateOf, facts.siren] },
        obs,
      ),
    );
  }
  if (facts.state === 'ceased') {
    out.push(
      draft(
        'sirene',
        'SIRENE_CEASED',
        orUnknown(facts.ceasedOn, `Entreprise cessée`, `Company ceased`),
        ev,
        obs,
        facts.ceasedOn,
      ),
    );
  } else if (facts.state === 'active') {
    out.push(
      draft(
        'sirene',
        'SIRENE_ACTIVE',
        facts.createdOn === null
          ? { fr: 'Entreprise active', en: 'Company active' }
          : {
              fr: `Entreprise active, créée le ${frenchDate(facts.createdOn)}`,
              en: `Company active, created on ${facts.createdOn}`,
            },
        ev,
        obs,
        facts.createdOn,
      ),
    );
  }
  if (facts.diffusion !== 'public') {
    out.push(
      draft(
        'sirene',
        'SIRENE_NON_DIFFUSIBLE',
        facts.diffusion === 'restricted'
          ? {
              fr: 'Unité non diffusible : INSEE ne communique aucune donnée (elle existe)',
              en: 'Non-diffusible unit: INSEE discloses nothing about it (it exists)',
            }
          : {
              fr: 'Unité partiellement diffusible : identité ou adresse masquées',
              en: 'Partially diffusible unit: identity or address masked',
            },
        ev,
        obs,
      ),
    );
  }
  if (facts.createdOn !== null && facts.createdOn > yearsBefore(obs.asOf, 1) && facts.state !== 'ceased') {
    out.push(
      draft(
        'sirene',
        'SIRENE_RECENTLY_CREATED',
        {
          fr: `Entreprise créée il y a moins d'un an (le ${frenchDate(facts.createdOn)})`,
          en: `Company created less than a year ago (on ${facts.createdOn})`,
        },
        ev,
        obs,
        facts.createdOn,
      ),
    );
  }
  out.push(...establishmentSignals(facts, obs));
  return out;
};

const establishmentSignals = (facts: CompanyFound, obs: Observation): readonly SignalDraft[] => {
  const est = facts.establishment;
  if (est === null) return [];
  if (est.kind === 'not_found') {
    return [
      draft(
        'sirene',
        'SIRENE_ESTABLISHMENT_NOT_FOUND',
        {
          fr: `Établissement ${est.siret} inconnu de SIRENE (l'entreprise ${facts.siren} existe)`,
          en: `Establishment ${est.siret} is not in SIRENE (company ${facts.siren} exists)`,
        },
        { references: [est.siret], urls: [facts.sourceUrl] },
        obs,
      ),
    ];
  }
  if (est.state !== 'closed') return [];
  return [
    draft(
      'sirene',
      'SIRENE_ESTABLISHMENT_CLOSED',
      orUnknown(est.closedOn, `Établissement ${est.siret} fermé`, `Establishment ${est.siret} closed`),
      { references: [est.siret], dates: definedDates({ closedOn: est.closedOn }), urls: [facts.sourceUrl] },
      obs,
      est.closedOn,
    ),
  ];
};

const noticeEvidence = (notice: BodaccNotice, judgmentDate: string | null): Partial<Evidence> => ({
  references: [notice.id],
  dates: definedDates({ judgmentDate, publishedOn: notice.publishedOn }),
  urls: [notice.url],
});

const PROCEEDING_LABEL = {
  liquidation: { fr: 'Liquidation judiciaire en cours', en: 'Judicial liquidation under way' },
  redressement: {
    fr: 'Redressement judiciaire en cours',
    en: 'Judicial reorganisation (redressement) under way',
  },
  sauvegarde: { fr: 'Procédure de sauvegarde en cours', en: 'Safeguard proceeding (sauvegarde) under way' },
} as const;

const PROCEEDING_CODE = {
  liquidation: 'BODACC_LIQUIDATION_OPEN',
  redressement: 'BODACC_REDRESSEMENT_OPEN',
  sauvegarde: 'BODACC_SAUVEGARDE_OPEN',
} as const;

const PLAN_LABEL = {
  continuation: {
    fr: 'Plan de redressement en cours d’exécution',
    en: 'Reorganisation plan being carried out',
  },
  sauvegarde: { fr: 'Plan de sauvegarde en cours d’exécution', en: 'Safeguard plan being carried out' },
  cession: { fr: 'Plan de cession arrêté', en: 'Sale plan adopted (business sold)' },
} as const;

const CLOSURE = {
  insufficient_assets: {
    code: 'BODACC_CLOSED_INSUFFICIENT_ASSETS',
    fr: 'Procédure clôturée pour insuffisance d’actif',
    en: 'Proceeding closed for insufficient assets',
  },
  extinction_of_liabilities: {
    code: 'BODACC_CLOSED_EXTINCTION_OF_LIABILITIES',
    fr: 'Procédure clôturée pour extinction du passif',
    en: 'Proceeding closed, liabilities extinguished',
  },
  other: {
    code: 'BODACC_PROCEEDING_CLOSED',
    fr: 'Procédure collective clôturée',
    en: 'Collective proceeding closed',
  },
} as const;

const dated = (label: LocalisedText, date: string | null): LocalisedText =>
  date === null
    ? label
    : { fr: `${label.fr} (jugement du ${frenchDate(date)})`, en: `${label.en} (judgment of ${date})` };

/** BODACC reading -> signals: the collective proceeding's state, unrecognised judgments, radiation. */
export const insolvencySignals = (
  reading: InsolvencyReading,
  sourceUrl: string,
  obs: Observation,
): readonly SignalDraft[] => {
  const out: SignalDraft[] = [];
  const p = reading.proceeding;
  switch (p.kind) {
    case 'none':
      out.push(
        draft(
          'bodacc',
          'BODACC_NO_PROCEEDING',
          {
            fr: 'Aucune procédure collective publiée au BODACC',
            en: 'No collective proceeding published in BODACC',
          },
          { urls: [sourceUrl] },
          obs,
        ),
      );
      break;
    case 'open':
      out.push(
        draft(
          'bodacc',
          PROCEEDING_CODE[p.procedure],
          dated(PROCEEDING_LABEL[p.procedure], p.judgment.date),
          noticeEvidence(p.notice, p.judgment.date),
          obs,
          p.judgment.date,
        ),
      );
      break;
    case 'plan':
      out.push(
        draft(
          'bodacc',
          p.plan === 'cession' ? 'BODACC_SALE_PLAN' : 'BODACC_PLAN_IN_PROGRESS',
          dated(PLAN_LABEL[p.plan], p.judgment.date),
          noticeEvidence(p.notice, p.judgment.date),
          obs,
          p.judgment.date,
        ),
      );
      break;
    case 'closed': {
      const closure = CLOSURE[p.reason];
      out.push(
        draft(
          'bodacc',
          closure.code,
          dated({ fr: closure.fr, en: closure.en }, p.judgment.date),
          noticeEvidence(p.notice, p.judgment.date),
          obs,
          p.judgment.date,
        ),
      );
      break;
    }
    case 'lapsed':
      out.push(
        draft(
          'bodacc',
          'BODACC_PROCEEDING_LAPSED',
          dated(
            {
              fr: 'Procédure collective ancienne de plus de dix ans, réputée achevée',
              en: 'Collective proceeding over ten years old, taken as ended',
            },
            p.judgment.date,
          ),
          noticeEvidence(p.notice, p.judgment.date),
          obs,
          p.judgment.date,
        ),
      );
      break;
  }
  for (const notice of reading.unrecognised) {
    const nature = notice.judgment?.nature ?? '?';
    out.push(
      draft(
        'bodacc',
        'BODACC_UNRECOGNISED_JUDGMENT',
        {
          fr: `Jugement non interprété, à lire : « ${nature} »`,
          en: `Judgment not interpreted, to be read: "${nature}"`,
        },
        noticeEvidence(notice, notice.judgment?.date ?? null),
        obs,
        notice.judgment?.date ?? null,
      ),
    );
  }
  if (reading.radiation !== null) {
    const r = reading.radiation;
    const effective = r.radiation?.ceasedOn ?? r.publishedOn;
    out.push(
      draft(
        'bodacc',
        'BODACC_RADIATION',
        {
          fr: `Radiation du registre publiée le ${frenchDate(r.publishedOn)}`,
          en: `Removal from the trade register published on ${r.publishedOn}`,
        },
        noticeEvidence(r, r.radiation?.ceasedOn ?? null),
        obs,
        effective,
      ),
    );
  }
  return out;
};

/** How the VAT number under check came about: typed by the user, or computed from the SIREN. */
export type VatOrigin = 'given' | 'derived';

/** VIES facts -> signals: validity (judged by the number's origin) and the trader name against the registry's. */
export const vatSignals = (
  facts: VatFacts,
  origin: VatOrigin,
  registryName: string | null,
  obs: Observation,
): readonly SignalDraft[] => {
  const number = formatVat(facts.vat);
  const ev = {
    references: [number],
    dates: definedDates({ requestDate: facts.requestDate }),
    urls: [facts.sourceUrl],
  };
  if (!facts.valid) {
    return [
      origin === 'given'
        ? draft(
            'vies',
            'VIES_VAT_INVALID',
            {
              fr: `Numéro de TVA ${number} invalide selon VIES`,
              en: `VAT number ${number} is invalid according to VIES`,
            },
            ev,
            obs,
          )
        : draft(
            'vies',
            'VIES_DERIVED_VAT_NOT_REGISTERED',
            {
              fr: `Le numéro de TVA ${number} calculé depuis le SIREN n'est pas valide dans VIES (entreprise non assujettie ?)`,
              en: `VAT number ${number}, computed from the SIREN, is not valid in VIES (not VAT-registered?)`,
            },
            ev,
            obs,
          ),
    ];
  }
  const out: SignalDraft[] = [
    draft(
      'vies',
      'VIES_VAT_VALID',
      facts.name === null
        ? { fr: `Numéro de TVA ${number} valide`, en: `VAT number ${number} is valid` }
        : {
            fr: `Numéro de TVA ${number} valide (${facts.name})`,
            en: `VAT number ${number} is valid (${facts.name})`,
          },
      ev,
      obs,
    ),
  ];
  if (facts.name !== null && registryName !== null && !namesMatch(facts.name, registryName)) {
    out.push(
      draft(
        'vies',
        'VIES_NAME_MISMATCH',
        {
          fr: `Nom VIES « ${facts.name} » différent du nom au registre « ${registryName} »`,
          en: `VIES name "${facts.name}" differs from the registry name "${registryName}"`,
        },
        ev,
        obs,
      ),
    );
  }
  return out;
};

// Legal-form words and particles say nothing about who the trader is: "DANONE SA" is "DANONE".
const NOISE = new Set([
  'SA',
  'SAS',
  'SASU',
  'SARL',
  'EURL',
  'SNC',
  'SCS',
  'SCA',
  'SCI',
  'SCP',
  'SELARL',
  'SEL',
  'GIE',
  'EI',
  'EIRL',
  'SOCIETE',
  'ANONYME',
  'PAR',
  'ACTIONS',
  'SIMPLIFIEE',
  'RESPONSABILITE',
  'LIMITEE',
  'UNIPERSONNELLE',
  'A',
  'EN',
  'NOM',
  'COLLECTIF',
  'CIVILE',
  'IMMOBILIERE',
  'ENTREPRISE',
  'INDIVIDUELLE',
  'ET',
  'DE',
  'DU',
  'DES',
  'LA',
  'LE',
  'LES',
  'L',
  'D',
  'ETS',
  'ETABLISSEMENTS',
  'CIE',
  'GROUPE',
  'HOLDING',
]);

const nameTokens = (name: string): Set<string> =>
  new Set(
    name
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toUpperCase()
      .replace(/[^A-Z0-9]+/g, ' ')
      .trim()
      .split(' ')
      .filter((t) => t !== '' && !NOISE.has(t)),
  );

/**
 * Two trader names match when, legal forms and accents aside, one's words all appear in the other's: VIES often
 * shortens or extends the registered name ("DANONE" / "DANONE SA", "ACME" / "ACME BATIMENT").
 */
export const namesMatch = (a: string, b: string): boolean => {
  const ta = nameTokens(a);
  const tb = nameTokens(b);
  if (ta.size === 0 || tb.size === 0) return true;
  const [small, large] = ta.size <= tb.size ? [ta, tb] : [tb, ta];
  for (const t of small) if (!large.has(t)) return false;
  return true;
};
