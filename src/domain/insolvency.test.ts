import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BodaccJudgment, BodaccNotice, BodaccRadiation } from './facts.ts';
import {
  classifyJudgment,
  JUDGMENT_RULES,
  readInsolvency,
  type JudgmentReading,
  type ProceedingStatus,
} from './insolvency.ts';

const AS_OF = '2026-11-29';

const judgment = (nature: string, fields: Partial<BodaccJudgment> = {}): BodaccJudgment => ({
  family: 'Jugement prononçant',
  nature,
  date: '2024-01-10',
  complement: null,
  ...fields,
});

const notice = (id: string, fields: Partial<BodaccNotice> = {}): BodaccNotice => ({
  id,
  publishedOn: '2024-01-20',
  type: 'annonce',
  family: 'collective',
  tribunal: 'Greffe du Tribunal de Commerce de Lyon',
  url: `https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:${id}`,
  judgment: null,
  radiation: null,
  previousNoticeId: null,
  ...fields,
});

/** A collective-proceeding notice whose judgment is dated `date` and published ten days later. */
const judged = (
  id: string,
  nature: string,
  date: string,
  fields: Partial<BodaccJudgment> = {},
): BodaccNotice =>
  notice(id, { publishedOn: plusDays(date, 10), judgment: judgment(nature, { date, ...fields }) });

const plusDays = (iso: string, days: number): string => {
  const [y, m, d] = iso.split('-').map(Number);
  return new Date(Date.UTC(y ?? 0, (m ?? 1) - 1, (d ?? 1) + days)).toISOString().slice(0, 10);
};

const radiation = (id: string, publishedOn: string, fields: Partial<BodaccRadiation> = {}): BodaccNotice =>
  notice(id, { family: 'radiation', publishedOn, radiation: { ceasedOn: null, comment: null, ...fields } });

const OPEN_LJ = "Jugement d'ouverture de liquidation judiciaire";
const OPEN_RJ = "Jugement d'ouverture d'une procédure de redressement judiciaire";
const OPEN_SAUVEGARDE = "Jugement d'ouverture d'une procédure de sauvegarde";
const CLOSED_ASSETS = "Jugement de clôture pour insuffisance d'actif";
const DESIGNATION = 'Jugement de désignation des organes de la procédure';

const proceedingOf = (notices: readonly BodaccNotice[], asOf = AS_OF): ProceedingStatus =>
  readInsolvency(notices, asOf).proceeding;

/** The status a reading shows, without the notice and judgment it came from. */
const statusOf = (status: ProceedingStatus): Readonly<Record<string, unknown>> =>
  Object.fromEntries(Object.entries(status).filter(([key]) => key !== 'notice' && key !== 'judgment'));

const LJ = { kind: 'open', procedure: 'liquidation' } as const;
const RJ = { kind: 'open', procedure: 'redressement' } as const;
const SV = { kind: 'open', procedure: 'sauvegarde' } as const;
const ASSETS = { kind: 'closed', reason: 'insufficient_assets' } as const;
const LIABILITIES = { kind: 'closed', reason: 'extinction_of_liabilities' } as const;
const OTHER = { kind: 'closed', reason: 'other' } as const;
const PROC = { kind: 'procedural' } as const;
const CONTINUATION = { kind: 'plan', plan: 'continuation' } as const;

/**
 * Every row of the judgment table with the reading it must give, written out independently of the table, in the
 * table's order (so a reordered, dropped or added row fails the coverage test).
 */
const TABLE: readonly (readonly [nature: string, complement: string | null, expected: JudgmentReading])[] = [
  ["Jugement d'ouverture de liquidation judiciaire", null, LJ],
  ["Jugement d'extension de liquidation judiciaire", null, LJ],
  ['Jugement de conversion en liquidation judiciaire', null, LJ],
  ['Jugement de conversion en liquidation judiciaire de la procédure de sauvegarde', null, LJ],
  [
    'Jugement de conversion en liquidation judiciaire de la procédure de sauvegarde financière accélérée',
    null,
    LJ,
  ],
  ['Jugement prononçant la résolution du plan de sauvegarde et la liquidation judiciaire', null, LJ],
  [
    'Jugement prononçant la résolution du plan de sauvegarde accélérée et la liquidation judiciaire',
    null,
    LJ,
  ],
  [
    'Jugement prononçant la résolution du plan de sauvegarde financière accélérée et la liquidation judiciaire',
    null,
    LJ,
  ],
  ['Jugement prononçant la résolution du plan de cession et la liquidation judiciaire', null, LJ],
  [
    'Jugement prononçant la résolution du plan de traitement de sortie de crise et la liquidation judiciaire',
    null,
    LJ,
  ],
  [
    'Jugement mettant fin à la procédure de traitement de sortie de crise et ouvrant une procédure de liquidation judiciaire',
    null,
    LJ,
  ],
  ['Autre jugement prononçant', 'liquidation judiciaire', LJ],
  ["Autre jugement d'ouverture", 'liquidation judiciaire', LJ],
  ["Jugement d'ouverture d'une procédure de redressement judiciaire", null, RJ],
  ["Jugement d'extension d'une procédure de redressement judiciaire", null, RJ],
  ['Jugement prononçant la résolution du plan de sauvegarde et le redressement judiciaire', null, RJ],
  ['Jugement de conversion en redressement judiciaire de la procédure de sauvegarde', null, RJ],
  [
    'Jugement de conversion en redressement judiciaire de la procédure de sauvegarde financière accélérée',
    null,
    RJ,
  ],
  [
    'Jugement mettant fin à la procédure de traitement de sortie de crise et ouvrant une procédure de redressement judiciaire',
    null,
    RJ,
  ],
  ['Autre jugement prononçant', 'redressement judiciaire', RJ],
  ["Autre jugement d'ouverture", 'redressement judiciaire', RJ],
  ["Jugement d'ouverture d'une procédure de sauvegarde", null, SV],
  ["Jugement d'extension d'une procédure de sauvegarde", null, SV],
  ["Jugement d'ouverture d'une procédure de sauvegarde accélérée", null, SV],
  ["Jugement d'ouverture d'une procédure de sauvegarde financière accélérée", null, SV],
  ['Autre jugement prononçant', 'sauvegarde', SV],
  ["Autre jugement d'ouverture", 'sauvegarde', SV],
  ['Jugement de plan de redressement', 'continuation de l’activité', CONTINUATION],
  ["Jugement de clôture pour insuffisance d'actif", null, ASSETS],
  ['Jugement de clôture pour extinction du passif', null, LIABILITIES],
  [
    "Jugement de clôture pour insuffisance d'actif et autorisant la reprise des poursuites individuelles",
    null,
    ASSETS,
  ],
  ["Jugement de clôture de la liquidation des biens pour insuffisance d'actif", null, ASSETS],
  ['Jugement de clôture de la liquidation des biens pour extinction du passif', null, LIABILITIES],
  ['Jugement de clôture de la procédure de sauvegarde', null, OTHER],
  ['Jugement prononçant la clôture de la procédure de rétablissement professionnel', null, OTHER],
  ['Jugement prononçant la résolution du plan de sauvegarde', null, OTHER],
  ['Autre jugement de liquidation des biens', null, OTHER],
  ['Autre jugement de clôture', null, OTHER],
  ["Autre arrêt de la Cour d'Appel", null, PROC],
  ["Arrêt de la cour d'appel infirmant une décision soumise à publicité", null, PROC],
  ["Jugement d'ouverture d'une procédure de traitement de sortie de crise", null, PROC],
  ['Jugement de désignation des organes de la procédure', null, PROC],
  ['Jugement accordant un délai pour déposer la liste des créances', null, PROC],
  ["Dépôt de l'état des créances", null, PROC],
  ["Dépôt de l'état des créances Loi de 1985", null, PROC],
  ["Dépôt de l'état de collocation", null, PROC],
  ['Dépôt du projet de répartition', null, PROC],
  ["Dépôt de l'état des créances et du projet de répartition", null, PROC],
  [
    "Liste des créances nées après le jugement d'ouverture d'une procédure de liquidation judiciaire",
    null,
    PROC,
  ],
  [
    "Liste des créances nées après le jugement d'ouverture d'une procédure de redressement judiciaire",
    null,
    PROC,
  ],
  ['Autre avis de dépôt', null, PROC],
  ['Autre jugement prononçant', null, PROC],
  ["Autre jugement d'ouverture", null, PROC],
  ['Jugement arrêtant le plan de cession', null, { kind: 'plan', plan: 'cession' }],
  ['Jugement arrêtant le plan de redressement', null, CONTINUATION],
  ['Jugement de plan de redressement', null, CONTINUATION],
  ['Jugement arrêtant le plan de sauvegarde', null, { kind: 'plan', plan: 'sauvegarde' }],
  ['Jugement prononçant la reprise de la procédure de liquidation judiciaire', null, LJ],
  ['Jugement prononçant la liquidation judiciaire', null, LJ],
  ['Jugement modifiant la date de cessation des paiements', null, PROC],
  ['Jugement prononçant la faillite personnelle', null, PROC],
];

describe('the judgment table', () => {
  it('has one expected reading per row, in the same order', () => {
    expect(JUDGMENT_RULES.map((rule) => [rule.nature, rule.complementContains])).toEqual(
      TABLE.map(([nature, complement]) => [nature, complement]),
    );
  });

  it('transcribes the 53 rule.yml rows first, then the 8 natures rule.yml lacks', () => {
    expect(JUDGMENT_RULES).toHaveLength(61);
    expect(JUDGMENT_RULES[52]).toMatchObject({
      nature: "Autre jugement d'ouverture",
      complementContains: null,
    });
  });

  it.each(
    TABLE.map(([nature, complement, expected], row) => ({ row: String(row), nature, complement, expected })),
  )('row $row: $nature / $complement', ({ nature, complement, expected }) => {
    const complementText =
      complement === null ? null : `Jugement prononçant la ${complement.toUpperCase()} .`;
    const reading = classifyJudgment(judgment(nature, { complement: complementText }));
    expect(reading).toEqual(expected);

    const status = proceedingOf([judged('A1', nature, '2024-01-10', { complement: complementText })]);
    if (expected.kind === 'procedural') expect(status).toEqual({ kind: 'none' });
    else expect(statusOf(status)).toEqual(expected);
  });

  it('takes the first matching row: liquidation before redressement before sauvegarde', () => {
    const complement =
      'résolution du plan de sauvegarde, redressement judiciaire puis liquidation judiciaire';
    expect(classifyJudgment(judgment('Autre jugement prononçant', { complement }))).toEqual(LJ);
    expect(
      classifyJudgment(
        judgment("Autre jugement d'ouverture", { complement: 'sauvegarde et redressement judiciaire' }),
      ),
    ).toEqual(RJ);
  });

  it('matches complements whatever the case and apostrophe, natures whatever the spacing', () => {
    expect(
      classifyJudgment(
        judgment('Jugement de plan de redressement', {
          complement: "arrête le plan : CONTINUATION DE L'ACTIVITÉ",
        }),
      ),
    ).toEqual(CONTINUATION);
    expect(classifyJudgment(judgment('  Jugement d’ouverture de  liquidation judiciaire '))).toEqual(LJ);
  });

  it('keeps natures case-sensitive: a nature the table does not spell is unrecognised', () => {
    expect(classifyJudgment(judgment("JUGEMENT D'OUVERTURE DE LIQUIDATION JUDICIAIRE"))).toEqual({
      kind: 'unrecognised',
    });
  });
});

describe('closing judgments', () => {
  it('reads any judgment of the family "Jugement de clôture" as closed, its reason from the nature', () => {
    const family = 'Jugement de clôture';
    expect(classifyJudgment(judgment('Une nature jamais vue', { family }))).toEqual(OTHER);
    expect(
      classifyJudgment(judgment('Autre jugement de clôture', { family, complement: "insuffisance d'actif" })),
    ).toEqual(OTHER);
    expect(classifyJudgment(judgment(OPEN_LJ, { family: 'jugement de CLÔTURE' }))).toEqual(OTHER);
  });

  it('reads a nature starting with "Jugement de clôture" as closed even when the table lacks it', () => {
    expect(
      classifyJudgment(judgment('Jugement de clôture pour extinction du passif de la procédure')),
    ).toEqual(LIABILITIES);
    expect(classifyJudgment(judgment('Jugement de clôture de la procédure de redressement'))).toEqual(OTHER);
    expect(classifyJudgment(judgment('Jugement de clôture pour insuffisance d’actif'))).toEqual(ASSETS);
  });

  it('reads a resolution of a sauvegarde plan without a follow-up procedure as closed (other)', () => {
    const status = proceedingOf([
      judged('A1', OPEN_SAUVEGARDE, '2020-01-10'),
      judged('A2', 'Jugement arrêtant le plan de sauvegarde', '2020-09-10'),
      judged('A3', 'Jugement prononçant la résolution du plan de sauvegarde', '2023-03-10'),
    ]);
    expect(status).toMatchObject({ ...OTHER, notice: { id: 'A3' } });
  });

  it('lets a later opening judgment reopen a closed company', () => {
    const status = proceedingOf([
      judged('A1', CLOSED_ASSETS, '2015-01-10'),
      judged('A2', OPEN_RJ, '2024-01-10'),
    ]);
    expect(status).toMatchObject({ ...RJ, notice: { id: 'A2' } });
  });
});

describe('withdrawn notices', () => {
  it('an annulation removes itself and the notice it cancels', () => {
    const opening = judged('A1', OPEN_LJ, '2024-01-10');
    const cancel = notice('A2', {
      type: 'annulation',
      publishedOn: '2024-02-01',
      judgment: judgment(OPEN_LJ),
      previousNoticeId: 'A1',
    });
    expect(readInsolvency([opening, cancel], AS_OF)).toEqual({
      proceeding: { kind: 'none' },
      radiation: null,
      unrecognised: [],
    });
  });

  it('an annulation leaves the earlier proceeding in place', () => {
    const status = proceedingOf([
      judged('A0', OPEN_SAUVEGARDE, '2023-05-10'),
      judged('A1', 'Jugement de conversion en liquidation judiciaire', '2024-01-10'),
      notice('A2', { type: 'annulation', publishedOn: '2024-02-01', previousNoticeId: 'A1' }),
    ]);
    expect(status).toMatchObject({ ...SV, notice: { id: 'A0' } });
  });

  it('a rectificatif replaces the notice it corrects and is read in its place', () => {
    const wrong = judged('A1', OPEN_LJ, '2024-01-12');
    const corrected = notice('A2', {
      type: 'rectificatif',
      publishedOn: '2024-02-01',
      judgment: judgment(OPEN_RJ, { date: '2024-01-10' }),
      previousNoticeId: 'A1',
    });
    expect(proceedingOf([wrong, corrected])).toMatchObject({ ...RJ, notice: { id: 'A2' } });
  });

  it('a rectificatif pointing at an unknown notice is simply read', () => {
    const corrected = notice('A2', {
      type: 'rectificatif',
      judgment: judgment(OPEN_RJ),
      previousNoticeId: 'A999',
    });
    expect(statusOf(proceedingOf([corrected]))).toEqual(RJ);
  });

  it('a "rétractation sur tierce opposition" removes itself and the judgment it retracts', () => {
    const status = proceedingOf([
      judged('A0', OPEN_SAUVEGARDE, '2023-05-10'),
      judged('A1', OPEN_LJ, '2024-01-10'),
      notice('A2', {
        publishedOn: '2024-04-01',
        judgment: judgment('Autre jugement prononçant', {
          family: 'Jugement de Rétractation sur tierce opposition',
          date: '2024-03-20',
          complement: 'rétracte le jugement ayant prononcé la liquidation judiciaire',
        }),
        previousNoticeId: 'A1',
      }),
    ]);
    expect(status).toMatchObject({ ...SV, notice: { id: 'A0' } });
  });

  it('an initial notice that names a previous notice does not remove it', () => {
    const status = proceedingOf([
      judged('A1', OPEN_RJ, '2024-01-10'),
      notice('A2', { judgment: judgment(DESIGNATION, { date: '2024-02-10' }), previousNoticeId: 'A1' }),
    ]);
    expect(status).toMatchObject({ ...RJ, notice: { id: 'A1' } });
  });
});

describe('exclusions and procedural judgments', () => {
  it.each(['Avis de dépôt', 'Extrait de jugement', 'Loi de 1967', 'AVIS DE DÉPÔT des créances'])(
    'ignores the family "%s", even with an opening nature or an unknown one',
    (family) => {
      const reading = readInsolvency(
        [
          notice('A1', { judgment: judgment(OPEN_LJ, { family }) }),
          notice('A2', { judgment: judgment('Nature inconnue', { family }) }),
        ],
        AS_OF,
      );
      expect(reading.proceeding).toEqual({ kind: 'none' });
      expect(reading.unrecognised).toEqual([]);
    },
  );

  it('reads judgments only from collective-proceeding notices', () => {
    const reading = readInsolvency(
      [
        notice('B1', { family: 'modification', judgment: judgment(OPEN_LJ) }),
        notice('B2', { family: 'divers', judgment: judgment('Nature inconnue') }),
      ],
      AS_OF,
    );
    expect(reading).toEqual({ proceeding: { kind: 'none' }, radiation: null, unrecognised: [] });
  });

  it('skips procedural judgments when looking for the latest status-bearing one', () => {
    const status = proceedingOf([
      judged('A1', OPEN_LJ, '2024-01-10'),
      judged('A2', DESIGNATION, '2024-03-10'),
      judged('A3', "Dépôt de l'état des créances", '2024-06-10', { family: 'Avis de dépôt' }),
      judged('A4', 'Jugement prononçant la faillite personnelle', '2024-07-10'),
      judged('A5', 'Jugement modifiant la date de cessation des paiements', '2024-08-10'),
      judged('A6', "Autre arrêt de la Cour d'Appel", '2024-09-10'),
    ]);
    expect(status).toMatchObject({ ...LJ, notice: { id: 'A1' } });
  });

  it('reads only procedural judgments as no proceeding', () => {
    expect(proceedingOf([judged('A1', DESIGNATION, '2024-01-10')])).toEqual({ kind: 'none' });
  });
});

describe('the latest judgment', () => {
  it('is the one with the latest judgment date, not the latest publication', () => {
    const status = proceedingOf([
      notice('A1', { publishedOn: '2024-06-01', judgment: judgment(OPEN_RJ, { date: '2024-01-10' }) }),
      notice('A2', { publishedOn: '2024-05-01', judgment: judgment(OPEN_LJ, { date: '2024-04-10' }) }),
    ]);
    expect(status).toMatchObject({ ...LJ, notice: { id: 'A2' } });
  });

  it('breaks a tie on the judgment date by the latest publication', () => {
    const status = proceedingOf([
      notice('A1', { publishedOn: '2024-02-01', judgment: judgment(OPEN_LJ, { date: '2024-01-10' }) }),
      notice('A2', { publishedOn: '2024-02-03', judgment: judgment(OPEN_RJ, { date: '2024-01-10' }) }),
      notice('A3', {
        publishedOn: '2024-01-25',
        judgment: judgment(OPEN_SAUVEGARDE, { date: '2024-01-10' }),
      }),
    ]);
    expect(status).toMatchObject({ ...RJ, notice: { id: 'A2' } });
  });

  it('dates a judgment without a readable date by its publication', () => {
    const status = proceedingOf([
      notice('A1', { publishedOn: '2024-02-01', judgment: judgment(OPEN_RJ, { date: '2024-01-20' }) }),
      notice('A2', { publishedOn: '2024-01-25', judgment: judgment(CLOSED_ASSETS, { date: null }) }),
      notice('A3', {
        publishedOn: '2023-06-01',
        judgment: judgment(OPEN_SAUVEGARDE, { date: '2023-05-20' }),
      }),
    ]);
    expect(status).toMatchObject({ ...ASSETS, notice: { id: 'A2' } });
    const later = proceedingOf([
      notice('A1', { publishedOn: '2024-02-01', judgment: judgment(OPEN_RJ, { date: '2024-01-20' }) }),
      notice('A2', { publishedOn: '2024-01-15', judgment: judgment(CLOSED_ASSETS, { date: null }) }),
    ]);
    expect(later).toMatchObject({ ...RJ, notice: { id: 'A1' } });
  });

  it('carries the notice and the judgment it was read from', () => {
    const opening = judged('A1', OPEN_RJ, '2024-01-10');
    expect(proceedingOf([opening])).toEqual({
      kind: 'open',
      procedure: 'redressement',
      notice: opening,
      judgment: opening.judgment,
    });
  });

  it('follows a company through RJ, conversion to LJ and closure (the 812345676 sample)', () => {
    const notices = [
      notice('A202501182716', {
        publishedOn: '2025-06-20',
        judgment: judgment(CLOSED_ASSETS, { family: 'Jugement de clôture', date: '2025-06-11' }),
      }),
      notice('A202401871543', {
        publishedOn: '2024-09-27',
        judgment: judgment('Jugement de conversion en liquidation judiciaire', { date: '2024-09-18' }),
      }),
      notice('A20240062987', {
        publishedOn: '2024-03-29',
        judgment: judgment(OPEN_RJ, { family: "Jugement d'ouverture", date: '2024-03-20' }),
      }),
      notice('C202301514410', { publishedOn: '2023-08-09', family: 'dpc' }),
    ];
    expect(proceedingOf(notices)).toMatchObject({ ...ASSETS, notice: { id: 'A202501182716' } });
    expect(proceedingOf(notices.slice(1))).toMatchObject({ ...LJ, notice: { id: 'A202401871543' } });
  });

  it('reads a sauvegarde followed by an RJ as an open redressement (the 900000019 sample)', () => {
    const notices = [
      notice('A202601013321', {
        publishedOn: '2026-05-26',
        judgment: judgment(OPEN_RJ, { family: "Jugement d'ouverture", date: '2026-05-13' }),
      }),
      notice('A20250210118', {
        publishedOn: '2025-10-30',
        judgment: judgment(OPEN_SAUVEGARDE, { family: "Jugement d'ouverture", date: '2025-10-21' }),
      }),
    ];
    expect(proceedingOf(notices)).toMatchObject({ ...RJ, notice: { id: 'A202601013321' } });
  });
});

describe('lapsed proceedings', () => {
  it.each([
    ['an open sauvegarde', OPEN_SAUVEGARDE],
    ['an open redressement', OPEN_RJ],
    ['a continuation plan', 'Jugement arrêtant le plan de redressement'],
    ['a sauvegarde plan', 'Jugement arrêtant le plan de sauvegarde'],
    ['a sale plan', 'Jugement arrêtant le plan de cession'],
  ])('%s lapses more than ten years after its latest judgment, not on the day', (_label, nature) => {
    const notices = [judged('A1', nature, '2014-06-01')];
    expect(proceedingOf(notices, '2024-06-01').kind).not.toBe('lapsed');
    expect(proceedingOf(notices, '2024-06-02')).toEqual({
      kind: 'lapsed',
      notice: notices[0],
      judgment: notices[0]?.judgment,
    });
  });

  it('counts the ten years from the latest status-bearing judgment', () => {
    const notices = [judged('A1', OPEN_SAUVEGARDE, '2010-01-10'), judged('A2', OPEN_RJ, '2020-01-10')];
    expect(statusOf(proceedingOf(notices, '2026-11-29'))).toEqual(RJ);
  });

  it('never lapses an open liquidation: it ends only with a closing judgment', () => {
    expect(statusOf(proceedingOf([judged('A1', OPEN_LJ, '1995-03-01')], '2026-11-29'))).toEqual(LJ);
  });

  it('never turns a closed proceeding into a lapsed one', () => {
    expect(statusOf(proceedingOf([judged('A1', CLOSED_ASSETS, '1995-03-01')], '2026-11-29'))).toEqual(ASSETS);
  });

  it('handles a judgment of 29 February', () => {
    const notices = [judged('A1', OPEN_RJ, '2016-02-29')];
    expect(proceedingOf(notices, '2026-02-28').kind).toBe('open');
    expect(proceedingOf(notices, '2026-03-01').kind).toBe('lapsed');
  });

  it('uses the publication date when the judgment date is unreadable, and accepts a full timestamp', () => {
    const undated = [
      notice('A1', { publishedOn: '2014-06-01', judgment: judgment(OPEN_RJ, { date: null }) }),
    ];
    expect(proceedingOf(undated, '2024-06-01T23:59:59.000Z').kind).toBe('open');
    expect(proceedingOf(undated, '2024-06-02T00:00:00.000Z').kind).toBe('lapsed');
  });
});

describe('unrecognised natures', () => {
  it('lists a collective notice whose nature no rule knows, newest first, and never guesses from it', () => {
    const opening = judged('A1', OPEN_RJ, '2024-01-10');
    const odd = judged('A2', 'Jugement prononçant la liquidation des dettes', '2024-05-10');
    const odder = judged('A3', 'Ordonnance du juge-commissaire', '2024-07-10');
    const reading = readInsolvency([odd, opening, odder], AS_OF);
    expect(reading.proceeding).toMatchObject({ ...RJ, notice: { id: 'A1' } });
    expect(reading.unrecognised).toEqual([odder, odd]);
  });

  it('lists a collective notice whose judgment could not be read', () => {
    const unreadable = notice('A1', { judgment: null });
    expect(readInsolvency([unreadable], AS_OF)).toEqual({
      proceeding: { kind: 'none' },
      radiation: null,
      unrecognised: [unreadable],
    });
  });

  it('does not list an unrecognised notice that was annulled or rectified', () => {
    const reading = readInsolvency(
      [
        judged('A1', 'Nature inconnue', '2024-01-10'),
        notice('A2', { type: 'annulation', previousNoticeId: 'A1' }),
        judged('A3', 'Autre nature inconnue', '2024-02-10'),
        notice('A4', { type: 'rectificatif', previousNoticeId: 'A3', judgment: judgment(OPEN_RJ) }),
      ],
      AS_OF,
    );
    expect(reading.unrecognised).toEqual([]);
    expect(reading.proceeding).toMatchObject({ ...RJ, notice: { id: 'A4' } });
  });
});

describe('radiation', () => {
  it('is the latest radiation notice', () => {
    const older = radiation('B1', '2020-01-10');
    const newer = radiation('B2', '2022-03-10', { ceasedOn: '2022-01-27' });
    expect(readInsolvency([older, newer], AS_OF).radiation).toBe(newer);
  });

  it('is none without a radiation notice', () => {
    expect(readInsolvency([judged('A1', OPEN_LJ, '2024-01-10')], AS_OF).radiation).toBeNull();
  });

  it('counts a radiation block on a notice of another family', () => {
    const block = notice('B1', {
      family: 'modification',
      radiation: { ceasedOn: '2021-05-01', comment: null },
    });
    expect(readInsolvency([block], AS_OF).radiation).toBe(block);
  });

  it('is cancelled by an annulation', () => {
    const radiated = radiation('B1', '2022-03-10');
    const cancel = notice('B2', { family: 'radiation', type: 'annulation', previousNoticeId: 'B1' });
    expect(readInsolvency([radiated, cancel], AS_OF).radiation).toBeNull();
  });

  it('is cancelled by a rectificatif "Rapport de radiation d\'office", which is no radiation itself', () => {
    const radiated = radiation('B1', '2022-03-10', { comment: "Radiation d'office" });
    const report = notice('B2', {
      family: 'radiation',
      type: 'rectificatif',
      publishedOn: '2022-05-10',
      radiation: { ceasedOn: null, comment: "Rapport de radiation d'office" },
      previousNoticeId: 'B1',
    });
    expect(readInsolvency([radiated, report], AS_OF).radiation).toBeNull();
  });

  it('is withdrawn by a later "Rapport de radiation d\'office" even when it names no notice', () => {
    const radiated = radiation('B1', '2022-03-10');
    const report = radiation('B2', '2022-05-10', { comment: 'RAPPORT DE RADIATION D’OFFICE' });
    expect(readInsolvency([radiated, report], AS_OF).radiation).toBeNull();
  });

  it('is replaced by its rectificatif when that one is an ordinary radiation', () => {
    const radiated = radiation('B1', '2022-03-10', { ceasedOn: '2022-01-01' });
    const corrected = notice('B2', {
      family: 'radiation',
      type: 'rectificatif',
      publishedOn: '2022-04-10',
      radiation: { ceasedOn: '2022-01-27', comment: null },
      previousNoticeId: 'B1',
    });
    expect(readInsolvency([radiated, corrected], AS_OF).radiation).toBe(corrected);
  });

  it("is not a radiation when it is a transfer of the head office out of the registry's area", () => {
    const moved = radiation('B1', '2022-03-10', { comment: 'Transfert du siège hors ressort' });
    expect(readInsolvency([moved], AS_OF).radiation).toBeNull();
    const older = radiation('B0', '2019-03-10');
    expect(readInsolvency([older, moved], AS_OF).radiation).toBe(older);
  });

  it.each(['immatriculation', 'creation'])('is over once a later "%s" notice is published', (family) => {
    const radiated = radiation('B1', '2022-03-10');
    const registered = notice('A2', { family, publishedOn: '2023-01-10' });
    expect(readInsolvency([radiated, registered], AS_OF).radiation).toBeNull();
  });

  it('is over when a registration is published the same day (a move between registries)', () => {
    const radiated = radiation('B1', '2022-03-10');
    const registered = notice('A2', { family: 'immatriculation', publishedOn: '2022-03-10' });
    expect(readInsolvency([radiated, registered], AS_OF).radiation).toBeNull();
  });

  it('stands when the registration came before it, or was annulled', () => {
    const registered = notice('A1', { family: 'immatriculation', publishedOn: '2015-01-10' });
    const radiated = radiation('B1', '2022-03-10');
    const annulledRegistration = notice('A2', { family: 'immatriculation', publishedOn: '2023-01-10' });
    const annulment = notice('A3', { family: 'immatriculation', type: 'annulation', previousNoticeId: 'A2' });
    expect(readInsolvency([registered, radiated, annulledRegistration, annulment], AS_OF).radiation).toBe(
      radiated,
    );
  });
});

describe('properties', () => {
  const NATURES = [
    ...new Set(JUDGMENT_RULES.map((rule) => rule.nature)),
    'Nature inconnue',
    'Ordonnance du juge-commissaire',
  ];
  const FAMILIES = [
    'collective',
    'collective',
    'collective',
    'radiation',
    'immatriculation',
    'creation',
    'dpc',
  ];
  const JUDGMENT_FAMILIES = [
    "Jugement d'ouverture",
    'Jugement prononçant',
    'Jugement de clôture',
    'Avis de dépôt',
    'Jugement de rétractation sur tierce opposition',
  ];
  const COMPLEMENTS = [
    null,
    'liquidation judiciaire',
    'redressement judiciaire',
    'sauvegarde',
    'continuation de l’activité',
  ];
  const COMMENTS = [null, "Rapport de radiation d'office", 'Transfert du siège hors ressort'];

  const isoDate = fc
    .record({
      y: fc.integer({ min: 2000, max: 2026 }),
      m: fc.integer({ min: 1, max: 12 }),
      d: fc.integer({ min: 1, max: 28 }),
    })
    .map(({ y, m, d }) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
  /** Few dates, ten years apart or the same, so that ties and lapses are common. */
  const noticeDate = fc.constantFrom('2010-05-04', '2016-02-29', '2020-11-19', '2024-01-10', '2024-01-20');

  const judgmentArb: fc.Arbitrary<BodaccJudgment> = fc.record({
    family: fc.constantFrom(...JUDGMENT_FAMILIES),
    nature: fc.constantFrom(...NATURES),
    date: fc.option(noticeDate, { nil: null }),
    complement: fc.constantFrom(...COMPLEMENTS),
  });

  const noticesArb: fc.Arbitrary<BodaccNotice[]> = fc
    .array(
      fc.record({
        publishedOn: noticeDate,
        type: fc.constantFrom('annonce', 'annonce', 'annonce', 'rectificatif', 'annulation'),
        family: fc.constantFrom(...FAMILIES),
        judgment: fc.option(judgmentArb, { nil: null, freq: 5 }),
        radiation: fc.option(
          fc.record({ ceasedOn: fc.option(isoDate, { nil: null }), comment: fc.constantFrom(...COMMENTS) }),
          { nil: null, freq: 2 },
        ),
        previous: fc.option(fc.nat(15), { nil: null }),
      }),
      { maxLength: 15 },
    )
    .map((drafts) =>
      drafts.map(({ previous, ...fields }, i) =>
        notice(`N${i}`, { ...fields, previousNoticeId: previous === null ? null : `N${previous}` }),
      ),
    );

  const withPermutation = noticesArb.chain((notices) =>
    fc
      .shuffledSubarray(notices, { minLength: notices.length, maxLength: notices.length })
      .map((shuffled) => [notices, shuffled] as const),
  );

  it('does not depend on the order of the notices', () => {
    fc.assert(
      fc.property(withPermutation, isoDate, ([notices, shuffled], asOf) => {
        expect(readInsolvency(shuffled, asOf)).toEqual(readInsolvency(notices, asOf));
      }),
      { numRuns: 500 },
    );
  });

  it('is not changed by a later procedural judgment', () => {
    fc.assert(
      fc.property(
        noticesArb,
        isoDate,
        fc.constantFrom(...JUDGMENT_RULES.filter((r) => r.effect.kind === 'procedural')),
        (notices, date, rule) => {
          const procedural = notice('P', {
            publishedOn: '2026-12-31',
            judgment: judgment(rule.nature, { family: "Jugement d'ouverture", date, complement: null }),
          });
          expect(readInsolvency([...notices, procedural], AS_OF)).toEqual(readInsolvency(notices, AS_OF));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads only notices it was given, and lists as unrecognised only collective ones', () => {
    fc.assert(
      fc.property(noticesArb, isoDate, (notices, asOf) => {
        const reading = readInsolvency(notices, asOf);
        if (reading.proceeding.kind !== 'none') expect(notices).toContain(reading.proceeding.notice);
        if (reading.radiation !== null) expect(notices).toContain(reading.radiation);
        for (const listed of reading.unrecognised) {
          expect(notices).toContain(listed);
          expect(listed.family).toBe('collective');
        }
      }),
      { numRuns: 300 },
    );
  });
});
