import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { danone } from '../../test/support/facts.ts';
import type { SourceOutcome } from './assessment.ts';
import type {
  BodaccJudgment,
  BodaccNotice,
  CompanyFacts,
  EstablishmentFacts,
  InsolvencyFacts,
  VatFacts,
} from './facts.ts';
import type { Siren, Siret } from './identifiers/identifiers.ts';
import { readInsolvency } from './insolvency.ts';
import { timelinesOf, type FactTimeline, type TimelineSources } from './observations.ts';

const SIREN = '552032534' as Siren;
const SIRET = '55203253400703' as Siret;
const OBSERVED = '2026-03-01T10:00:00.000Z';

const ok = <F>(facts: F): SourceOutcome<F> => ({ status: 'ok', facts, observedAt: OBSERVED, durationMs: 12 });
const down = <F>(): SourceOutcome<F> => ({
  status: 'unavailable',
  unavailable: { reason: 'timeout', detail: 'no answer in 5 s', status: null, retryAfterSeconds: null },
  observedAt: OBSERVED,
  durationMs: 5000,
});
const notApplicable = { status: 'not_applicable' } as const;

const sources = (fields: Partial<TimelineSources>): TimelineSources => ({
  sirene: notApplicable,
  bodacc: notApplicable,
  vies: notApplicable,
  siret: null,
  ...fields,
});

const only = (timelines: readonly FactTimeline[], factKind: string): FactTimeline => {
  const found = timelines.filter((t) => t.factKind === factKind);
  expect(found).toHaveLength(1);
  const [timeline] = found;
  if (timeline === undefined) throw new Error(`no ${factKind} timeline`);
  return timeline;
};

const sireneTimelines = (facts: CompanyFacts, siret: string | null = null) =>
  timelinesOf(sources({ sirene: ok(facts), siret }));

const IDENTITY = {
  name: 'DANONE',
  legalCategory: '5599',
  activity: '70.10Z',
  diffusion: 'public',
} as const;

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

const judged = (
  id: string,
  nature: string,
  date: string,
  fields: Partial<BodaccJudgment> = {},
): BodaccNotice =>
  notice(id, {
    publishedOn: `${date.slice(0, 8)}28`,
    judgment: { family: 'Jugement prononçant', nature, date, complement: null, ...fields },
  });

const bodacc = (notices: readonly BodaccNotice[]): TimelineSources =>
  sources({ bodacc: ok<InsolvencyFacts>({ siren: SIREN, notices, sourceUrl: 'https://bodacc.example/' }) });

const OPEN_RJ = "Jugement d'ouverture d'une procédure de redressement judiciaire";
const CONVERSION_LJ = 'Jugement de conversion en liquidation judiciaire';
const CLOSED_ASSETS = "Jugement de clôture pour insuffisance d'actif";
const DESIGNATION = 'Jugement de désignation des organes de la procédure';

describe('timelinesOf: outages are not facts', () => {
  it('gives no timeline for a source that was unavailable or did not apply', () => {
    expect(timelinesOf(sources({ sirene: down(), bodacc: down(), vies: down(), siret: SIRET }))).toEqual([]);
    expect(timelinesOf(sources({ siret: SIRET }))).toEqual([]);
  });

  it('keeps the timelines of the sources that answered', () => {
    const timelines = timelinesOf(sources({ sirene: ok(danone()), bodacc: down(), vies: down() }));
    expect(timelines.map((t) => `${t.source}/${t.factKind}`)).toEqual(['sirene/legal_status']);
  });
});

describe('timelinesOf: SIRENE legal status', () => {
  it('replaces the history with an active version from the creation date', () => {
    expect(only(sireneTimelines(danone()), 'legal_status')).toEqual({
      subject: SIREN,
      source: 'sirene',
      factKind: 'legal_status',
      mode: 'replace',
      versions: [
        { value: { state: 'active', ...IDENTITY }, validFrom: '1955-01-01T00:00:00.000Z', validTo: null },
      ],
    });
  });

  it('dates a cessation: active from creation until the cessation, then ceased', () => {
    const t = only(sireneTimelines(danone({ state: 'ceased', ceasedOn: '2026-01-01' })), 'legal_status');
    expect(t.mode).toBe('replace');
    expect(t.versions).toEqual([
      {
        value: { state: 'active', ...IDENTITY },
        validFrom: '1955-01-01T00:00:00.000Z',
        validTo: '2026-01-01T00:00:00.000Z',
      },
      { value: { state: 'ceased', ...IDENTITY }, validFrom: '2026-01-01T00:00:00.000Z', validTo: null },
    ]);
  });

  it('states only the cessation when the creation date is unknown or not before it', () => {
    for (const createdOn of [null, '2026-01-01', '2026-02-01']) {
      const t = only(
        sireneTimelines(danone({ state: 'ceased', ceasedOn: '2026-01-01', createdOn })),
        'legal_status',
      );
      expect(t.mode).toBe('replace');
      expect(t.versions).toEqual([
        { value: { state: 'ceased', ...IDENTITY }, validFrom: '2026-01-01T00:00:00.000Z', validTo: null },
      ]);
    }
  });

  it("says 'from the observation on' when SIRENE gives no date for the state", () => {
    const undated = [
      danone({ createdOn: null }),
      danone({ state: 'ceased', ceasedOn: null }),
      danone({ state: 'unknown', diffusion: 'partial', name: null }),
    ];
    expect(undated.map((facts) => only(sireneTimelines(facts), 'legal_status'))).toEqual([
      expect.objectContaining({
        mode: 'from',
        versions: [{ value: { state: 'active', ...IDENTITY }, validFrom: OBSERVED, validTo: null }],
      }),
      expect.objectContaining({
        mode: 'from',
        versions: [{ value: { state: 'ceased', ...IDENTITY }, validFrom: OBSERVED, validTo: null }],
      }),
      expect.objectContaining({
        mode: 'from',
        versions: [
          {
            value: { state: 'unknown', ...IDENTITY, name: null, diffusion: 'partial' },
            validFrom: OBSERVED,
            validTo: null,
          },
        ],
      }),
    ]);
  });

  it('records an unknown SIREN, and a unit INSEE refuses to show, from the observation on', () => {
    const notFound: CompanyFacts = {
      kind: 'not_found',
      provider: 'recherche',
      siren: SIREN,
      knownToRneOnly: true,
      sourceUrl: 'https://recherche.example/',
    };
    expect(only(sireneTimelines(notFound), 'legal_status')).toEqual({
      subject: SIREN,
      source: 'sirene',
      factKind: 'legal_status',
      mode: 'from',
      versions: [{ value: { state: 'not_found', knownToRneOnly: true }, validFrom: OBSERVED, validTo: null }],
    });
    const restricted = danone({
      provider: 'insee',
      diffusion: 'restricted',
      state: 'unknown',
      name: null,
      createdOn: null,
      legalCategory: null,
      activity: null,
    });
    expect(only(sireneTimelines(restricted), 'legal_status')).toMatchObject({
      mode: 'from',
      versions: [
        { value: { state: 'unknown', diffusion: 'restricted' }, validFrom: OBSERVED, validTo: null },
      ],
    });
    expect(only(sireneTimelines(restricted), 'legal_status').versions[0]?.value).toEqual({
      state: 'unknown',
      diffusion: 'restricted',
    });
  });

  it('records the unit SIRENE answered for when it redirected a duplicate', () => {
    const t = only(
      sireneTimelines(danone({ siren: '732829320' as Siren, duplicateOf: SIREN })),
      'legal_status',
    );
    expect(t.subject).toBe('732829320');
  });
});

describe('timelinesOf: SIRENE establishment status', () => {
  const withEstablishment = (establishment: EstablishmentFacts) => danone({ establishment });

  it('replaces the history with a closed version from the closing date', () => {
    const facts = withEstablishment({
      kind: 'found',
      siret: SIRET,
      state: 'closed',
      closedOn: '2025-06-30',
      isHeadOffice: false,
    });
    expect(only(sireneTimelines(facts, SIRET), 'establishment_status')).toEqual({
      subject: SIRET,
      source: 'sirene',
      factKind: 'establishment_status',
      mode: 'replace',
      versions: [
        {
          value: { state: 'closed', isHeadOffice: false },
          validFrom: '2025-06-30T00:00:00.000Z',
          validTo: null,
        },
      ],
    });
  });

  it("says 'from the observation on' for an open, undated or unknown establishment", () => {
    const cases: readonly [EstablishmentFacts, object][] = [
      [
        { kind: 'found', siret: SIRET, state: 'open', closedOn: null, isHeadOffice: true },
        { state: 'open', isHeadOffice: true },
      ],
      [
        { kind: 'found', siret: SIRET, state: 'closed', closedOn: null, isHeadOffice: true },
        { state: 'closed', isHeadOffice: true },
      ],
      [{ kind: 'not_found', siret: SIRET }, { state: 'not_found' }],
    ];
    for (const [establishment, value] of cases) {
      expect(only(sireneTimelines(withEstablishment(establishment), SIRET), 'establishment_status')).toEqual({
        subject: SIRET,
        source: 'sirene',
        factKind: 'establishment_status',
        mode: 'from',
        versions: [{ value, validFrom: OBSERVED, validTo: null }],
      });
    }
  });

  it('gives no establishment timeline when no SIRET was asked or the company is unknown', () => {
    expect(sireneTimelines(danone()).map((t) => t.factKind)).toEqual(['legal_status']);
    const notFound: CompanyFacts = {
      kind: 'not_found',
      provider: 'insee',
      siren: SIREN,
      knownToRneOnly: false,
      sourceUrl: 'https://insee.example/',
    };
    expect(sireneTimelines(notFound, SIRET).map((t) => t.factKind)).toEqual(['legal_status']);
  });
});

describe('timelinesOf: BODACC collective proceeding', () => {
  it('gives RJ -> LJ -> closure as three consecutive versions, each until the next judgment', () => {
    const t = only(
      timelinesOf(
        bodacc([
          judged('A3', CLOSED_ASSETS, '2025-09-15'),
          judged('A1', OPEN_RJ, '2024-01-10'),
          judged('A2', CONVERSION_LJ, '2024-06-05'),
          judged('A9', DESIGNATION, '2024-02-01'),
        ]),
      ),
      'collective_proceeding',
    );
    expect(t).toEqual({
      subject: SIREN,
      source: 'bodacc',
      factKind: 'collective_proceeding',
      mode: 'replace',
      versions: [
        {
          value: { status: 'open', procedure: 'redressement', noticeId: 'A1', nature: OPEN_RJ },
          validFrom: '2024-01-10T00:00:00.000Z',
          validTo: '2024-06-05T00:00:00.000Z',
        },
        {
          value: { status: 'open', procedure: 'liquidation', noticeId: 'A2', nature: CONVERSION_LJ },
          validFrom: '2024-06-05T00:00:00.000Z',
          validTo: '2025-09-15T00:00:00.000Z',
        },
        {
          value: { status: 'closed', reason: 'insufficient_assets', noticeId: 'A3', nature: CLOSED_ASSETS },
          validFrom: '2025-09-15T00:00:00.000Z',
          validTo: null,
        },
      ],
    });
  });

  it('records an adopted plan', () => {
    const plan = 'Jugement arrêtant le plan de redressement';
    const t = only(
      timelinesOf(bodacc([judged('A1', OPEN_RJ, '2024-01-10'), judged('A2', plan, '2024-11-04')])),
      'collective_proceeding',
    );
    expect(t.versions.map((v) => v.value)).toEqual([
      { status: 'open', procedure: 'redressement', noticeId: 'A1', nature: OPEN_RJ },
      { status: 'plan', plan: 'continuation', noticeId: 'A2', nature: plan },
    ]);
  });

  it('states an empty history when BODACC shows no proceeding, so what was current gets closed', () => {
    const timelines = timelinesOf(bodacc([judged('A9', DESIGNATION, '2024-02-01')]));
    expect(only(timelines, 'collective_proceeding')).toMatchObject({ mode: 'replace', versions: [] });
    expect(only(timelines, 'radiation')).toMatchObject({ mode: 'replace', versions: [] });
  });

  it('leaves out what BODACC withdrew and reads a rectificatif in place of what it corrects', () => {
    const t = only(
      timelinesOf(
        bodacc([
          judged('A1', OPEN_RJ, '2024-01-10'),
          judged('A2', CONVERSION_LJ, '2024-06-05'),
          notice('A3', { type: 'annulation', publishedOn: '2024-07-01', previousNoticeId: 'A2' }),
          judged('A4', OPEN_RJ, '2024-01-12'),
          { ...judged('A5', OPEN_RJ, '2024-01-11'), type: 'rectificatif', previousNoticeId: 'A4' },
        ]),
      ),
      'collective_proceeding',
    );
    expect(
      t.versions.map((v) => [(v.value as { noticeId: string }).noticeId, v.validFrom, v.validTo]),
    ).toEqual([
      ['A1', '2024-01-10T00:00:00.000Z', '2024-01-11T00:00:00.000Z'],
      ['A5', '2024-01-11T00:00:00.000Z', null],
    ]);
  });

  it('keeps one version per day: the judgment readInsolvency would read as the latest', () => {
    const notices = [
      judged('A1', OPEN_RJ, '2024-01-10'),
      { ...judged('A2', CONVERSION_LJ, '2024-01-10'), publishedOn: '2024-02-15' },
    ];
    const t = only(timelinesOf(bodacc(notices)), 'collective_proceeding');
    expect(t.versions).toEqual([
      {
        value: { status: 'open', procedure: 'liquidation', noticeId: 'A2', nature: CONVERSION_LJ },
        validFrom: '2024-01-10T00:00:00.000Z',
        validTo: null,
      },
    ]);
    const reading = readInsolvency(notices, '2026-03-01').proceeding;
    expect(reading.kind === 'open' ? reading.notice.id : null).toBe('A2');
  });

  it('dates an undated judgment by its publication, as readInsolvency does', () => {
    const t = only(
      timelinesOf(
        bodacc([{ ...judged('A1', OPEN_RJ, '2024-01-10', { date: null }), publishedOn: '2024-01-28' }]),
      ),
      'collective_proceeding',
    );
    expect(t.versions.map((v) => v.validFrom)).toEqual(['2024-01-28T00:00:00.000Z']);
  });

  describe('agrees with readInsolvency (property)', () => {
    const NATURES = [
      OPEN_RJ,
      CONVERSION_LJ,
      CLOSED_ASSETS,
      DESIGNATION,
      "Jugement d'ouverture d'une procédure de sauvegarde",
      'Jugement arrêtant le plan de cession',
      'Autre jugement prononçant',
      'Nature inconnue',
    ];
    const DATES = ['2012-03-01', '2016-02-29', '2024-01-10', '2024-01-20', '2025-07-07'];
    const noticesArb = fc
      .array(
        fc.record({
          publishedOn: fc.constantFrom(...DATES),
          type: fc.constantFrom(
            'annonce' as const,
            'annonce' as const,
            'rectificatif' as const,
            'annulation' as const,
          ),
          family: fc.constantFrom('collective', 'collective', 'radiation', 'immatriculation'),
          judgment: fc.option(
            fc.record({
              family: fc.constantFrom("Jugement d'ouverture", 'Jugement prononçant', 'Avis de dépôt'),
              nature: fc.constantFrom(...NATURES),
              date: fc.option(fc.constantFrom(...DATES), { nil: null }),
              complement: fc.constantFrom(null, 'liquidation judiciaire', 'sauvegarde'),
            }),
            { nil: null, freq: 5 },
          ),
          radiation: fc.option(
            fc.record({
              ceasedOn: fc.option(fc.constantFrom(...DATES), { nil: null }),
              comment: fc.constant(null),
            }),
            {
              nil: null,
              freq: 3,
            },
          ),
          previous: fc.option(fc.nat(10), { nil: null }),
        }),
        { maxLength: 12 },
      )
      .map((drafts) =>
        drafts.map(({ previous, ...fields }, i) =>
          notice(`N${String(i)}`, {
            ...fields,
            previousNoticeId: previous === null ? null : `N${String(previous)}`,
          }),
        ),
      );

    it('its versions follow one another, and the last is the proceeding readInsolvency reads', () => {
      fc.assert(
        fc.property(noticesArb, (notices) => {
          const timelines = timelinesOf(bodacc(notices));
          const t = only(timelines, 'collective_proceeding');
          for (const [i, v] of t.versions.entries()) {
            const next = t.versions[i + 1];
            expect(v.validTo).toBe(next === undefined ? null : next.validFrom);
            if (v.validTo !== null) expect(v.validFrom < v.validTo).toBe(true);
          }
          const proceeding = readInsolvency(notices, '2026-03-01').proceeding;
          const last = t.versions.at(-1)?.value as { status: string; noticeId: string } | undefined;
          if (proceeding.kind === 'none') {
            expect(last).toBeUndefined();
          } else {
            expect(last?.noticeId).toBe(proceeding.notice.id);
            // A lapse is a reading at a date, not a status BODACC published.
            if (proceeding.kind !== 'lapsed') expect(last?.status).toBe(proceeding.kind);
          }
          const radiation = readInsolvency(notices, '2026-03-01').radiation;
          expect(
            only(timelines, 'radiation').versions.map((v) => (v.value as { noticeId: string }).noticeId),
          ).toEqual(radiation === null ? [] : [radiation.id]);
        }),
        { numRuns: 300 },
      );
    });
  });
});

describe('timelinesOf: BODACC radiation', () => {
  it('gives one open version from the cessation date, else from the publication', () => {
    const radiated = (ceasedOn: string | null) =>
      only(
        timelinesOf(
          bodacc([
            notice('R1', {
              family: 'radiation',
              publishedOn: '2025-04-02',
              radiation: { ceasedOn, comment: null },
            }),
          ]),
        ),
        'radiation',
      );
    expect(radiated('2025-03-31')).toEqual({
      subject: SIREN,
      source: 'bodacc',
      factKind: 'radiation',
      mode: 'replace',
      versions: [
        {
          value: { state: 'radiated', noticeId: 'R1', publishedOn: '2025-04-02', ceasedOn: '2025-03-31' },
          validFrom: '2025-03-31T00:00:00.000Z',
          validTo: null,
        },
      ],
    });
    expect(radiated(null).versions.map((v) => v.validFrom)).toEqual(['2025-04-02T00:00:00.000Z']);
  });

  it('gives none when a later registration brought the company back', () => {
    const t = only(
      timelinesOf(
        bodacc([
          notice('R1', {
            family: 'radiation',
            publishedOn: '2025-04-02',
            radiation: { ceasedOn: null, comment: null },
          }),
          notice('I1', { family: 'immatriculation', publishedOn: '2025-04-02' }),
        ]),
      ),
      'radiation',
    );
    expect(t.versions).toEqual([]);
  });
});

describe('timelinesOf: VIES VAT registration', () => {
  const vat = (fields: Partial<VatFacts> = {}): VatFacts => ({
    vat: { country: 'FR', national: '27552032534' },
    valid: true,
    name: 'DANONE',
    address: '17 BD HAUSSMANN 75009 PARIS',
    requestDate: '2026-03-01T10:00:00.000+01:00',
    sourceUrl: 'https://vies.example/',
    ...fields,
  });

  it("says 'from the observation on' under the VAT number", () => {
    expect(timelinesOf(sources({ vies: ok(vat()) }))).toEqual([
      {
        subject: 'FR27552032534',
        source: 'vies',
        factKind: 'vat_registration',
        mode: 'from',
        versions: [{ value: { valid: true, name: 'DANONE' }, validFrom: OBSERVED, validTo: null }],
      },
    ]);
    expect(
      only(timelinesOf(sources({ vies: ok(vat({ valid: false, name: null })) })), 'vat_registration')
        .versions,
    ).toEqual([{ value: { valid: false, name: null }, validFrom: OBSERVED, validTo: null }]);
  });
});

describe('timelinesOf: one assessment', () => {
  it('gives every kind, frozen, for sources that all answered', () => {
    const timelines = timelinesOf({
      sirene: ok(
        danone({
          establishment: { kind: 'found', siret: SIRET, state: 'open', closedOn: null, isHeadOffice: true },
        }),
      ),
      bodacc: ok<InsolvencyFacts>({ siren: SIREN, notices: [], sourceUrl: 'https://bodacc.example/' }),
      vies: ok<VatFacts>({
        vat: { country: 'FR', national: '27552032534' },
        valid: true,
        name: null,
        address: null,
        requestDate: null,
        sourceUrl: 'https://vies.example/',
      }),
      siret: SIRET,
    });
    expect(timelines.map((t) => `${t.subject} ${t.source}/${t.factKind} ${t.mode}`)).toEqual([
      '552032534 sirene/legal_status replace',
      '55203253400703 sirene/establishment_status from',
      '552032534 bodacc/collective_proceeding replace',
      '552032534 bodacc/radiation replace',
      'FR27552032534 vies/vat_registration from',
    ]);
    expect(Object.isFrozen(timelines)).toBe(true);
    expect(timelines.every((t) => Object.isFrozen(t) && Object.isFrozen(t.versions))).toBe(true);
  });
});
