import type { BodaccJudgment, BodaccNotice } from './facts.ts';

/** The collective proceeding BODACC shows for a company, read from its latest relevant judgment. */
export type ProceedingStatus =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'open';
      readonly procedure: 'liquidation' | 'redressement' | 'sauvegarde';
      readonly notice: BodaccNotice;
      readonly judgment: BodaccJudgment;
    }
  | {
      /** A plan was adopted: continuation (redressement), sauvegarde plan, or sale of the business (cession). */
      readonly kind: 'plan';
      readonly plan: 'continuation' | 'sauvegarde' | 'cession';
      readonly notice: BodaccNotice;
      readonly judgment: BodaccJudgment;
    }
  | {
      readonly kind: 'closed';
      readonly reason: 'insufficient_assets' | 'extinction_of_liabilities' | 'other';
      readonly notice: BodaccNotice;
      readonly judgment: BodaccJudgment;
    }
  | {
      /**
       * A sauvegarde, redressement or plan whose latest judgment is more than ten years old: a plan cannot last
       * longer (Code de commerce L626-12), so the proceeding is over even though no closing notice was found.
       */
      readonly kind: 'lapsed';
      readonly notice: BodaccNotice;
      readonly judgment: BodaccJudgment;
    };

/** What BODACC tells about a company's solvency and existence, as of a date. */
export interface InsolvencyReading {
  readonly proceeding: ProceedingStatus;
  /** The latest radiation notice still in force (not cancelled, not a mere transfer of the head office). */
  readonly radiation: BodaccNotice | null;
  /** Collective-proceeding notices whose judgment nature no rule recognises: shown, never guessed. */
  readonly unrecognised: readonly BodaccNotice[];
}

/** What a judgment nature does to the proceeding, before the latest judgment is chosen. */
export type JudgmentEffect =
  | { readonly kind: 'open'; readonly procedure: 'liquidation' | 'redressement' | 'sauvegarde' }
  | { readonly kind: 'plan'; readonly plan: 'continuation' | 'sauvegarde' | 'cession' }
  /** Ends the proceeding; the reason is read from the nature's wording. */
  | { readonly kind: 'closed' }
  /** A step inside a proceeding (appointments, claims lists, appeals): it leaves the status as it was. */
  | { readonly kind: 'procedural' };

/** One row of the judgment table: the first row whose nature (and complement, when given) matches wins. */
export interface JudgmentRule {
  /** jugement.nature, matched exactly (Unicode, apostrophes and whitespace normalised; case kept). */
  readonly nature: string;
  /** A case-insensitive substring that jugement.complementJugement must contain, or null. */
  readonly complementContains: string | null;
  readonly effect: JudgmentEffect;
}

const LIQUIDATION: JudgmentEffect = { kind: 'open', procedure: 'liquidation' };
const REDRESSEMENT: JudgmentEffect = { kind: 'open', procedure: 'redressement' };
const SAUVEGARDE: JudgmentEffect = { kind: 'open', procedure: 'sauvegarde' };
const PLAN_CONTINUATION: JudgmentEffect = { kind: 'plan', plan: 'continuation' };
const PLAN_SAUVEGARDE: JudgmentEffect = { kind: 'plan', plan: 'sauvegarde' };
const PLAN_CESSION: JudgmentEffect = { kind: 'plan', plan: 'cession' };
const CLOSED: JudgmentEffect = { kind: 'closed' };
const PROCEDURAL: JudgmentEffect = { kind: 'procedural' };

/**
 * The judgment table: annuaire-entreprises search-infra `rule.yml`, transcribed in its order (its `statut: null`
 * rows split into closing and procedural ones), then the natures seen in BODACC that rule.yml does not list.
 * Order matters only between rows of the same nature ("Autre jugement prononçant": liquidation before redressement
 * before sauvegarde before the bare row).
 */
export const JUDGMENT_RULES: readonly JudgmentRule[] = Object.freeze(
  (
    [
      // rule.yml: liquidation judiciaire
      ["Jugement d'ouverture de liquidation judiciaire", null, LIQUIDATION],
      ["Jugement d'extension de liquidation judiciaire", null, LIQUIDATION],
      ['Jugement de conversion en liquidation judiciaire', null, LIQUIDATION],
      ['Jugement de conversion en liquidation judiciaire de la procédure de sauvegarde', null, LIQUIDATION],
      [
        'Jugement de conversion en liquidation judiciaire de la procédure de sauvegarde financière accélérée',
        null,
        LIQUIDATION,
      ],
      [
        'Jugement prononçant la résolution du plan de sauvegarde et la liquidation judiciaire',
        null,
        LIQUIDATION,
      ],
      [
        'Jugement prononçant la résolution du plan de sauvegarde accélérée et la liquidation judiciaire',
        null,
        LIQUIDATION,
      ],
      [
        'Jugement prononçant la résolution du plan de sauvegarde financière accélérée et la liquidation judiciaire',
        null,
        LIQUIDATION,
      ],
      [
        'Jugement prononçant la résolution du plan de cession et la liquidation judiciaire',
        null,
        LIQUIDATION,
      ],
      [
        'Jugement prononçant la résolution du plan de traitement de sortie de crise et la liquidation judiciaire',
        null,
        LIQUIDATION,
      ],
      [
        'Jugement mettant fin à la procédure de traitement de sortie de crise et ouvrant une procédure de liquidation judiciaire',
        null,
        LIQUIDATION,
      ],
      ['Autre jugement prononçant', 'liquidation judiciaire', LIQUIDATION],
      ["Autre jugement d'ouverture", 'liquidation judiciaire', LIQUIDATION],
      // rule.yml: redressement judiciaire
      ["Jugement d'ouverture d'une procédure de redressement judiciaire", null, REDRESSEMENT],
      ["Jugement d'extension d'une procédure de redressement judiciaire", null, REDRESSEMENT],
      [
        'Jugement prononçant la résolution du plan de sauvegarde et le redressement judiciaire',
        null,
        REDRESSEMENT,
      ],
      ['Jugement de conversion en redressement judiciaire de la procédure de sauvegarde', null, REDRESSEMENT],
      [
        'Jugement de conversion en redressement judiciaire de la procédure de sauvegarde financière accélérée',
        null,
        REDRESSEMENT,
      ],
      [
        'Jugement mettant fin à la procédure de traitement de sortie de crise et ouvrant une procédure de redressement judiciaire',
        null,
        REDRESSEMENT,
      ],
      ['Autre jugement prononçant', 'redressement judiciaire', REDRESSEMENT],
      ["Autre jugement d'ouverture", 'redressement judiciaire', REDRESSEMENT],
      // rule.yml: sauvegarde
      ["Jugement d'ouverture d'une procédure de sauvegarde", null, SAUVEGARDE],
      ["Jugement d'extension d'une procédure de sauvegarde", null, SAUVEGARDE],
      ["Jugement d'ouverture d'une procédure de sauvegarde accélérée", null, SAUVEGARDE],
      ["Jugement d'ouverture d'une procédure de sauvegarde financière accélérée", null, SAUVEGARDE],
      ['Autre jugement prononçant', 'sauvegarde', SAUVEGARDE],
      ["Autre jugement d'ouverture", 'sauvegarde', SAUVEGARDE],
      // rule.yml: clôtures (a continuation plan is not a closure here: the plan still runs, up to ten years)
      ['Jugement de plan de redressement', 'continuation de l’activité', PLAN_CONTINUATION],
      ["Jugement de clôture pour insuffisance d'actif", null, CLOSED],
      ['Jugement de clôture pour extinction du passif', null, CLOSED],
      [
        "Jugement de clôture pour insuffisance d'actif et autorisant la reprise des poursuites individuelles",
        null,
        CLOSED,
      ],
      ["Jugement de clôture de la liquidation des biens pour insuffisance d'actif", null, CLOSED],
      ['Jugement de clôture de la liquidation des biens pour extinction du passif', null, CLOSED],
      ['Jugement de clôture de la procédure de sauvegarde', null, CLOSED],
      ['Jugement prononçant la clôture de la procédure de rétablissement professionnel', null, CLOSED],
      ['Jugement prononçant la résolution du plan de sauvegarde', null, CLOSED],
      ['Autre jugement de liquidation des biens', null, CLOSED],
      ['Autre jugement de clôture', null, CLOSED],
      // rule.yml: others
      ["Autre arrêt de la Cour d'Appel", null, PROCEDURAL],
      ["Arrêt de la cour d'appel infirmant une décision soumise à publicité", null, PROCEDURAL],
      ["Jugement d'ouverture d'une procédure de traitement de sortie de crise", null, PROCEDURAL],
      ['Jugement de désignation des organes de la procédure', null, PROCEDURAL],
      ['Jugement accordant un délai pour déposer la liste des créances', null, PROCEDURAL],
      ["Dépôt de l'état des créances", null, PROCEDURAL],
      ["Dépôt de l'état des créances Loi de 1985", null, PROCEDURAL],
      ["Dépôt de l'état de collocation", null, PROCEDURAL],
      ['Dépôt du projet de répartition', null, PROCEDURAL],
      ["Dépôt de l'état des créances et du projet de répartition", null, PROCEDURAL],
      [
        "Liste des créances nées après le jugement d'ouverture d'une procédure de liquidation judiciaire",
        null,
        PROCEDURAL,
      ],
      [
        "Liste des créances nées après le jugement d'ouverture d'une procédure de redressement judiciaire",
        null,
        PROCEDURAL,
      ],
      ['Autre avis de dépôt', null, PROCEDURAL],
      ['Autre jugement prononçant', null, PROCEDURAL],
      ["Autre jugement d'ouverture", null, PROCEDURAL],
      // Not in rule.yml: seen in BODACC and other clients.
      ['Jugement arrêtant le plan de cession', null, PLAN_CESSION],
      ['Jugement arrêtant le plan de redressement', null, PLAN_CONTINUATION],
      ['Jugement de plan de redressement', null, PLAN_CONTINUATION],
      ['Jugement arrêtant le plan de sauvegarde', null, PLAN_SAUVEGARDE],
      ['Jugement prononçant la reprise de la procédure de liquidation judiciaire', null, LIQUIDATION],
      ['Jugement prononçant la liquidation judiciaire', null, LIQUIDATION],
      ['Jugement modifiant la date de cessation des paiements', null, PROCEDURAL],
      ['Jugement prononçant la faillite personnelle', null, PROCEDURAL],
    ] as const
  ).map(([nature, complementContains, effect]): JudgmentRule =>
    Object.freeze({ nature, complementContains, effect: Object.freeze(effect) }),
  ),
);

/** How one judgment reads once the table and the closing and exclusion rules are applied. */
export type JudgmentReading =
  | { readonly kind: 'open'; readonly procedure: 'liquidation' | 'redressement' | 'sauvegarde' }
  | { readonly kind: 'plan'; readonly plan: 'continuation' | 'sauvegarde' | 'cession' }
  | {
      readonly kind: 'closed';
      readonly reason: 'insufficient_assets' | 'extinction_of_liabilities' | 'other';
    }
  | { readonly kind: 'procedural' }
  /** A family that is not a judgment on the proceeding (claims deposits, extracts, 1967 law). */
  | { readonly kind: 'excluded' }
  | { readonly kind: 'unrecognised' };

const EXCLUDED_FAMILIES = ['avis de dépôt', 'extrait de jugement', 'loi de 1967'];
const CLOSING = 'jugement de clôture';
const RETRACTION = 'rétractation sur tierce opposition';
const RADIATION_REPORT = "rapport de radiation d'office";
const HEAD_OFFICE_TRANSFER = 'transfert du siège hors ressort';
/** A plan lasts at most ten years (Code de commerce L626-12). */
const LAPSE_YEARS = 10;

/** Same text whatever the Unicode composition, apostrophe glyph or spacing BODACC used. */
const canonical = (text: string): string =>
  text
    .normalize('NFC')
    .replace(/[\u2018\u2019\u02bc\u00b4`]/g, "'")
    .replace(/\s+/g, ' ')
    .trim();

const folded = (text: string | null): string => (text === null ? '' : canonical(text).toLowerCase());

const closingReason = (nature: string): 'insufficient_assets' | 'extinction_of_liabilities' | 'other' => {
  const text = folded(nature);
  if (text.includes("insuffisance d'actif")) return 'insufficient_assets';
  if (text.includes('extinction du passif')) return 'extinction_of_liabilities';
  return 'other';
};

/**
 * Reads one judgment: excluded families first, then any closing judgment (by family or nature, whatever the
 * table says), then the first matching row of `JUDGMENT_RULES`. A nature no row knows is `unrecognised`, never
 * guessed.
 */
export const classifyJudgment = (judgment: BodaccJudgment): JudgmentReading => {
  const family = folded(judgment.family);
  const nature = canonical(judgment.nature);
  if (EXCLUDED_FAMILIES.some((excluded) => family.includes(excluded))) return { kind: 'excluded' };
  if (family.includes(CLOSING) || nature.toLowerCase().startsWith(CLOSING)) {
    return { kind: 'closed', reason: closingReason(nature) };
  }
  const complement = folded(judgment.complement);
  const rule = JUDGMENT_RULES.find(
    (candidate) =>
      canonical(candidate.nature) === nature &&
      (candidate.complementContains === null || complement.includes(folded(candidate.complementContains))),
  );
  if (rule === undefined) return { kind: 'unrecognised' };
  return rule.effect.kind === 'closed' ? { kind: 'closed', reason: closingReason(nature) } : rule.effect;
};

/**
 * Drops what BODACC itself withdrew: an annulation removes itself and its target, a rectificatif removes its
 * target (it replaces it), a "rétractation sur tierce opposition" judgment removes itself and its target.
 */
export const stillStanding = (notices: readonly BodaccNotice[]): readonly BodaccNotice[] => {
  const removed = new Set<string>();
  for (const notice of notices) {
    const retraction = notice.judgment !== null && folded(notice.judgment.family).includes(RETRACTION);
    if (notice.type === 'annulation' || retraction) removed.add(notice.id);
    if ((notice.type !== 'annonce' || retraction) && notice.previousNoticeId !== null) {
      removed.add(notice.previousNoticeId);
    }
  }
  return notices.filter((notice) => !removed.has(notice.id));
};

/** The judgment's own date; its publication date when BODACC gave none we can read (a judgment precedes it). */
export const judgmentDate = (notice: BodaccNotice, judgment: BodaccJudgment): string =>
  judgment.date ?? notice.publishedOn;

const descending = (a: string, b: string): number => (a < b ? 1 : a > b ? -1 : 0);

const byPublicationDesc = (a: BodaccNotice, b: BodaccNotice): number =>
  descending(a.publishedOn, b.publishedOn) || descending(a.id, b.id);

interface Classified {
  readonly notice: BodaccNotice;
  readonly judgment: BodaccJudgment;
  readonly reading: JudgmentReading;
}

export const byJudgmentDesc = (a: Classified, b: Classified): number =>
  descending(judgmentDate(a.notice, a.judgment), judgmentDate(b.notice, b.judgment)) ||
  byPublicationDesc(a.notice, b.notice);

const lapsed = (date: string, asOf: string): boolean =>
  `${String(Number(date.slice(0, 4)) + LAPSE_YEARS).padStart(4, '0')}${date.slice(4, 10)}` < asOf;

const proceedingOf = (latest: Classified | undefined, asOf: string): ProceedingStatus => {
  if (latest === undefined) return { kind: 'none' };
  const { notice, judgment, reading } = latest;
  switch (reading.kind) {
    case 'closed':
      return { kind: 'closed', reason: reading.reason, notice, judgment };
    case 'open':
      // A liquidation ends only with a closing judgment, however long it takes.
      if (reading.procedure !== 'liquidation' && lapsed(judgmentDate(notice, judgment), asOf)) {
        return { kind: 'lapsed', notice, judgment };
      }
      return { kind: 'open', procedure: reading.procedure, notice, judgment };
    case 'plan':
      if (lapsed(judgmentDate(notice, judgment), asOf)) return { kind: 'lapsed', notice, judgment };
      return { kind: 'plan', plan: reading.plan, notice, judgment };
    case 'procedural':
    case 'excluded':
    case 'unrecognised':
      return { kind: 'none' };
  }
};

const radiationComment = (notice: BodaccNotice): string => folded(notice.radiation?.comment ?? null);

/** A "rapport de radiation d'office" withdraws an ex officio radiation: the company is back on the register. */
const revokesRadiation = (notice: BodaccNotice): boolean =>
  radiationComment(notice).includes(RADIATION_REPORT);

const isRadiation = (notice: BodaccNotice): boolean =>
  (notice.family === 'radiation' || notice.radiation !== null) &&
  !revokesRadiation(notice) &&
  !radiationComment(notice).includes(HEAD_OFFICE_TRANSFER);

const isRegistration = (notice: BodaccNotice): boolean =>
  notice.family === 'immatriculation' || notice.family === 'creation' || revokesRadiation(notice);

const radiationInForce = (notices: readonly BodaccNotice[]): BodaccNotice | null => {
  const latest = notices.filter(isRadiation).sort(byPublicationDesc)[0];
  if (latest === undefined) return null;
  // Same-day registration counts as later: a move between registries publishes both on one day.
  const reRegistered = notices.some(
    (notice) => notice.id !== latest.id && isRegistration(notice) && notice.publishedOn >= latest.publishedOn,
  );
  return reRegistered ? null : latest;
};

/**
 * Reads a company's BODACC notices as of `asOf` (an ISO date, YYYY-MM-DD): its collective proceeding from the
 * latest status-bearing judgment still standing, the radiation still in force, and the collective notices no
 * rule recognises. Pure and total: the answer does not depend on the order of `notices`, and nothing is guessed
 * (an unknown nature leaves the status to the other judgments and is listed in `unrecognised`).
 */
export const readInsolvency = (notices: readonly BodaccNotice[], asOf: string): InsolvencyReading => {
  const standing = stillStanding(notices);
  const day = asOf.slice(0, 10);
  const judged: Classified[] = [];
  const unrecognised: BodaccNotice[] = [];
  for (const notice of standing) {
    if (notice.family !== 'collective') continue;
    if (notice.judgment === null) {
      unrecognised.push(notice);
      continue;
    }
    const reading = classifyJudgment(notice.judgment);
    if (reading.kind === 'unrecognised') unrecognised.push(notice);
    else if (reading.kind === 'open' || reading.kind === 'plan' || reading.kind === 'closed') {
      judged.push({ notice, judgment: notice.judgment, reading });
    }
  }
  return Object.freeze({
    proceeding: Object.freeze(proceedingOf(judged.sort(byJudgmentDesc)[0], day)),
    radiation: radiationInForce(standing),
    unrecognised: Object.freeze(unrecognised.sort(byPublicationDesc)),
  });
};
