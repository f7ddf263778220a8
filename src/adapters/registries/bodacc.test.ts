import { describe, expect, it } from 'vitest';
import { unavailable } from '#app/application/ports/registry-call.ts';
import type { BodaccNotice } from '#app/domain/facts.ts';
import { parseSiren, type Siren } from '#app/domain/identifiers/identifiers.ts';
import { readInsolvency } from '#app/domain/insolvency.ts';
import { recorded } from '../../../test/support/fixtures.ts';
import {
  closingAfterEach,
  startStubServer,
  type RecordedRequest,
  type StubReply,
  type StubServer,
} from '../../../test/support/loopback-server.ts';
import { createManualClock } from '../../../test/support/manual-clock.ts';
import { BODACC_BASE_URL, createBodaccInsolvencyRegistry } from './bodacc.ts';

const sirenOf = (input: string): Siren => {
  const parsed = parseSiren(input);
  if (!parsed.ok) throw new Error(`bad test SIREN ${input}`);
  return parsed.value;
};

const ACME = sirenOf('812345676');
const EXEMPLE = sirenOf('900000019');
const DANONE = sirenOf('552032534');
const CALL = { correlationId: 'corr-bodacc-1' };
const RECORDS_PATH = '/api/explore/v2.1/catalog/datasets/annonces-commerciales/records';
const ACME_SAMPLE = 'sample_bodacc_v2.1_records_registre-812345676_RJ-LJ-cloture.json';
const EXEMPLE_SAMPLE = 'sample_bodacc_v2.1_records_registre-900000019_sauvegarde-then-RJ.json';

const track = closingAfterEach();

const serve = async (handler: (request: RecordedRequest) => StubReply): Promise<StubServer> => {
  const server = await startStubServer(handler);
  track(server);
  return server;
};

const stub = (reply: StubReply): Promise<StubServer> => serve(() => reply);

const registryFor = (server: StubServer, clock = createManualClock(), timeoutMs = 2_000) =>
  createBodaccInsolvencyRegistry(
    { clock },
    { baseUrl: server.baseUrl, timeoutMs, userAgent: 'vigilance-test/1.0' },
  );

const pageUrl = (server: StubServer, siren: string, offset = 0): string =>
  `${server.baseUrl}${RECORDS_PATH}?where=registre%3D%22${siren}%22&order_by=dateparution%20desc&limit=100&offset=${offset}`;

const offsetOf = (request: RecordedRequest): number => Number(request.url.searchParams.get('offset'));

/** A minimal v2.1 record for ACME; JSON-in-string fields are given as the test needs them. */
const record = (fields: Readonly<Record<string, unknown>> = {}): Record<string, unknown> => ({
  id: 'A202400010001',
  publicationavis: 'A',
  parution: '20240001',
  dateparution: '2024-01-05',
  numeroannonce: 1,
  typeavis: 'annonce',
  typeavis_lib: 'Avis initial',
  familleavis: 'collective',
  familleavis_lib: 'Procédures collectives',
  tribunal: 'Greffe du Tribunal de Commerce de Lyon',
  registre: ['812345676', '812 345 676'],
  listepersonnes: null,
  jugement: null,
  radiationaurcs: null,
  parutionavisprecedent: null,
  url_complete: 'https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:A202400010001',
  ...fields,
});

const body = (...results: readonly unknown[]) => ({ total_count: results.length, results });

const noticesOf = async (server: StubServer, siren: Siren = ACME): Promise<readonly BodaccNotice[]> => {
  const answer = await registryFor(server).notices(siren, CALL);
  if (!answer.ok) throw new Error(`unexpected outage: ${answer.error.detail}`);
  return answer.value.notices;
};

const onlyNotice = async (fields: Readonly<Record<string, unknown>>): Promise<BodaccNotice> => {
  const notices = await noticesOf(await stub({ body: body(record(fields)) }));
  const [notice] = notices;
  if (notice === undefined || notices.length !== 1) throw new Error('expected exactly one notice');
  return notice;
};

const judgmentJson = (fields: Readonly<Record<string, unknown>>): string =>
  JSON.stringify({
    type: 'initial',
    famille: "Jugement d'ouverture",
    nature: 'Autre jugement prononçant',
    ...fields,
  });

describe('createBodaccInsolvencyRegistry', () => {
  it('points at the DILA Opendatasoft portal by default', () => {
    expect(BODACC_BASE_URL).toBe('https://bodacc-datadila.opendatasoft.com');
  });

  describe('recorded payloads', () => {
    it('maps every notice of the RJ -> LJ -> clôture sample', async () => {
      const server = await stub({ body: recorded(ACME_SAMPLE) });
      const answer = await registryFor(server).notices(ACME, CALL);
      const url = (id: string) => `https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:${id}`;
      expect(answer).toEqual({
        ok: true,
        value: {
          siren: ACME,
          sourceUrl: pageUrl(server, ACME),
          notices: [
            {
              id: 'A202501182716',
              publishedOn: '2025-06-20',
              type: 'annonce',
              family: 'collective',
              tribunal: 'Greffe du Tribunal des Activités Économiques de Lyon',
              url: url('A202501182716'),
              judgment: {
                family: 'Jugement de clôture',
                nature: "Jugement de clôture pour insuffisance d'actif",
                date: '2025-06-11',
                complement:
                  "Jugement prononçant la clôture de la procédure de liquidation judiciaire pour insuffisance d'actif.",
              },
              radiation: null,
              previousNoticeId: null,
            },
            {
              id: 'A202401871543',
              publishedOn: '2024-09-27',
              type: 'annonce',
              family: 'collective',
              tribunal: 'Greffe du Tribunal de Commerce de Lyon',
              url: url('A202401871543'),
              judgment: {
                family: 'Jugement prononçant',
                nature: 'Jugement de conversion en liquidation judiciaire',
                date: '2024-09-18',
                complement:
                  'Jugement prononçant la liquidation judiciaire, désignant liquidateur SELARL MJ EXEMPLE 1 place Exemple 69003 Lyon.',
              },
              radiation: null,
              previousNoticeId: null,
            },
            {
              id: 'A20240062987',
              publishedOn: '2024-03-29',
              type: 'annonce',
              family: 'collective',
              tribunal: 'Greffe du Tribunal de Commerce de Lyon',
              url: url('A20240062987'),
              judgment: {
                family: "Jugement d'ouverture",
                nature: "Jugement d'ouverture d'une procédure de redressement judiciaire",
                date: '2024-03-20',
                complement: expect.stringMatching(
                  /^Jugement d'ouverture d'une procédure de redressement judiciaire, date de cessation des paiements le 1 mars 2024, .* dans les deux mois à compter de la publication au BODACC\.$/,
                ) as unknown,
              },
              radiation: null,
              previousNoticeId: null,
            },
            {
              id: 'C202301514410',
              publishedOn: '2023-08-09',
              type: 'annonce',
              family: 'dpc',
              tribunal: 'Greffe du Tribunal de Commerce de Lyon',
              url: url('C202301514410'),
              judgment: null,
              radiation: null,
              previousNoticeId: null,
            },
          ],
        },
      });
    });

    it('maps every notice of the sauvegarde -> RJ sample (registre spelt spaced first)', async () => {
      const server = await stub({ body: recorded(EXEMPLE_SAMPLE) });
      const answer = await registryFor(server).notices(EXEMPLE, CALL);
      const url = (id: string) => `https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:${id}`;
      expect(answer).toEqual({
        ok: true,
        value: {
          siren: EXEMPLE,
          sourceUrl: pageUrl(server, EXEMPLE),
          notices: [
            {
              id: 'A202601013321',
              publishedOn: '2026-05-26',
              type: 'annonce',
              family: 'collective',
              tribunal: 'TRIBUNAL DES ACTIVITES ECONOMIQUES DE NANTERRE',
              url: url('A202601013321'),
              judgment: {
                family: "Jugement d'ouverture",
                nature: "Jugement d'ouverture d'une procédure de redressement judiciaire",
                date: '2026-05-13',
                complement:
                  "Jugement d'ouverture d'une procédure de redressement judiciaire, date de cessation des paiements le 30 avril 2026, désignant mandataire judiciaire SELARL MJ EXEMPLE.",
              },
              radiation: null,
              previousNoticeId: null,
            },
            {
              id: 'A20250210118',
              publishedOn: '2025-10-30',
              type: 'annonce',
              family: 'collective',
              tribunal: 'TRIBUNAL DES ACTIVITES ECONOMIQUES DE NANTERRE',
              url: url('A20250210118'),
              judgment: {
                family: "Jugement d'ouverture",
                nature: "Jugement d'ouverture d'une procédure de sauvegarde",
                date: '2025-10-21',
                complement:
                  "Jugement d'ouverture d'une procédure de sauvegarde désignant mandataire judiciaire SELARL MJ EXEMPLE.",
              },
              radiation: null,
              previousNoticeId: null,
            },
          ],
        },
      });
    });

    it('end to end: the RJ -> LJ -> clôture sample reads as closed for insufficient assets', async () => {
      const notices = await noticesOf(await stub({ body: recorded(ACME_SAMPLE) }));
      const reading = readInsolvency(notices, '2026-11-29');
      expect(reading.proceeding).toMatchObject({
        kind: 'closed',
        reason: 'insufficient_assets',
        notice: { id: 'A202501182716' },
      });
      expect(reading.radiation).toBeNull();
      expect(reading.unrecognised).toEqual([]);
    });

    it('end to end: the sauvegarde -> RJ sample reads as an open redressement', async () => {
      const notices = await noticesOf(await stub({ body: recorded(EXEMPLE_SAMPLE) }), EXEMPLE);
      const reading = readInsolvency(notices, '2026-11-29');
      expect(reading.proceeding).toMatchObject({
        kind: 'open',
        procedure: 'redressement',
        notice: { id: 'A202601013321' },
      });
      expect(reading.unrecognised).toEqual([]);
    });
  });

  describe('request', () => {
    it('sends the exact records query with the User-Agent and the correlation id', async () => {
      const server = await stub({ body: recorded(ACME_SAMPLE) });
      await registryFor(server).notices(ACME, CALL);
      expect(server.requests).toHaveLength(1);
      const [sent] = server.requests;
      expect(sent?.method).toBe('GET');
      expect(sent?.url.pathname).toBe(RECORDS_PATH);
      expect(sent?.url.search).toBe(
        '?where=registre%3D%22812345676%22&order_by=dateparution%20desc&limit=100&offset=0',
      );
      expect(Object.fromEntries(sent?.url.searchParams ?? [])).toEqual({
        where: 'registre="812345676"',
        order_by: 'dateparution desc',
        limit: '100',
        offset: '0',
      });
      expect(sent?.headers['user-agent']).toBe('vigilance-test/1.0');
      expect(sent?.headers['x-correlation-id']).toBe('corr-bodacc-1');
    });
  });

  describe('paging', () => {
    const numbered = (i: number) =>
      record({
        id: `A2024${String(i).padStart(8, '0')}`,
        dateparution: `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
      });

    it('reads 250 records over 3 pages, asking offsets 0, 100 and 200', async () => {
      const all = Array.from({ length: 250 }, (_, i) => numbered(i));
      const server = await serve((req) => {
        const offset = offsetOf(req);
        return { body: { total_count: 250, results: all.slice(offset, offset + 100) } };
      });
      const notices = await noticesOf(server);
      expect(server.requests.map(offsetOf)).toEqual([0, 100, 200]);
      expect(server.requests.map((r) => r.url.searchParams.get('limit'))).toEqual(['100', '100', '100']);
      expect(notices.map((n) => n.id)).toEqual(all.map((r) => r['id']));
    });

    it('asks for one page only when total_count fits in it, and none more when it is 0', async () => {
      const empty = await stub({ body: { total_count: 0, results: [] } });
      const answer = await registryFor(empty).notices(ACME, CALL);
      expect(answer).toEqual({
        ok: true,
        value: { siren: ACME, notices: [], sourceUrl: pageUrl(empty, ACME) },
      });
      expect(empty.requests).toHaveLength(1);
    });

    it('reads exactly 10 000 notices (offset + limit stays at 10 000)', async () => {
      const server = await serve((req) => {
        const offset = offsetOf(req);
        return {
          body: {
            total_count: 10_000,
            results: Array.from({ length: 100 }, (_, i) => numbered(offset + i)),
          },
        };
      });
      const notices = await noticesOf(server);
      expect(notices).toHaveLength(10_000);
      expect(server.requests.map(offsetOf).at(-1)).toBe(9_900);
    });

    it('answers unavailable rather than a truncated list beyond 10 000 notices', async () => {
      const server = await stub({
        body: { total_count: 10_001, results: Array.from({ length: 100 }, (_, i) => numbered(i)) },
      });
      const answer = await registryFor(server).notices(ACME, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable(
          'service_error',
          'BODACC lists 10001 notices for this SIREN, more than the 10000 its records API can page through',
        ),
      });
      expect(server.requests).toHaveLength(1);
    });

    it('answers unavailable when the second page fails, whatever the first said', async () => {
      const server = await serve((req) =>
        offsetOf(req) === 0
          ? { body: { total_count: 150, results: Array.from({ length: 100 }, (_, i) => numbered(i)) } }
          : { status: 502, body: '' },
      );
      const answer = await registryFor(server).notices(ACME, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable('http_status', 'BODACC answered HTTP 502', { status: 502 }),
      });
      expect(server.requests.map(offsetOf)).toEqual([0, 100]);
    });

    it('answers unavailable when a page is short of what total_count promised', async () => {
      const server = await serve((req) =>
        offsetOf(req) === 0
          ? { body: { total_count: 150, results: Array.from({ length: 100 }, (_, i) => numbered(i)) } }
          : { body: { total_count: 150, results: [numbered(100)] } },
      );
      const answer = await registryFor(server).notices(ACME, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable('service_error', 'BODACC answered a short page at offset 100'),
      });
    });

    it('answers unavailable when total_count changes between pages', async () => {
      const server = await serve((req) => {
        const offset = offsetOf(req);
        const total = offset === 0 ? 150 : 151;
        return {
          body: { total_count: total, results: Array.from({ length: 100 }, (_, i) => numbered(offset + i)) },
        };
      });
      const answer = await registryFor(server).notices(ACME, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable('service_error', 'BODACC changed its result count while paging'),
      });
    });

    it('keeps a notice that two pages both return only once', async () => {
      const server = await serve((req) =>
        offsetOf(req) === 0
          ? { body: { total_count: 101, results: Array.from({ length: 100 }, (_, i) => numbered(i)) } }
          : { body: { total_count: 101, results: [numbered(99)] } },
      );
      const notices = await noticesOf(server);
      expect(notices).toHaveLength(100);
    });
  });

  describe('SIREN re-filter', () => {
    it('drops a record for another SIREN and keeps those naming it in registre or listepersonnes', async () => {
      const server = await stub({
        body: body(
          record({ id: 'A1', registre: ['812345676', '812 345 676'] }),
          record({ id: 'A2', registre: ['552 032 534', '552032534'] }),
          record({ id: 'A3', registre: '812 345 676,812345676' }),
          record({
            id: 'A4',
            registre: null,
            listepersonnes: JSON.stringify({
              personne: [
                {
                  typePersonne: 'pp',
                  nom: 'AUTRE',
                  inscriptionRM: { numeroIdentificationRM: '552 032 534' },
                },
                {
                  typePersonne: 'pp',
                  nom: 'DUPONT',
                  inscriptionRM: { numeroIdentificationRM: '812 345 676' },
                },
              ],
            }),
          }),
          record({
            id: 'A5',
            registre: [],
            listepersonnes: {
              personne: {
                typePersonne: 'pm',
                numeroImmatriculation: { numeroIdentification: '812.345.676' },
              },
            },
          }),
          record({ id: 'A6', registre: ['8123456760'] }),
          record({
            id: 'A7',
            registre: ['552032534'],
            listepersonnes:
              '{"personne": {"numeroImmatriculation": {"numeroIdentification": "552 032 534"}}}',
          }),
          record({ id: 'A8', registre: null, listepersonnes: '{broken' }),
        ),
      });
      const notices = await noticesOf(server);
      expect(notices.map((n) => n.id)).toEqual(['A1', 'A3', 'A4', 'A5']);
      expect(await noticesOf(server, DANONE).then((ns) => ns.map((n) => n.id))).toEqual(['A2', 'A4', 'A7']);
    });
  });

  describe('JSON-in-string fields', () => {
    const expectedJudgment = {
      family: "Jugement d'ouverture",
      nature: 'Autre jugement prononçant',
      date: '2024-01-02',
      complement: 'liquidation judiciaire',
    };
    const fields = { date: '2024-01-02', complementJugement: 'liquidation judiciaire' };

    it('parses jugement given as a JSON string', async () => {
      const notice = await onlyNotice({ jugement: judgmentJson(fields) });
      expect(notice.judgment).toEqual(expectedJudgment);
    });

    it('reads jugement given already as an object', async () => {
      const notice = await onlyNotice({
        jugement: { famille: "Jugement d'ouverture", nature: 'Autre jugement prononçant', ...fields },
      });
      expect(notice.judgment).toEqual(expectedJudgment);
    });

    it('reads null, broken, non-object and empty jugement as no judgment, without failing', async () => {
      for (const jugement of [
        null,
        '{"famille": "Jugement d',
        'null',
        '[1,2]',
        '"text"',
        42,
        '{}',
        undefined,
      ]) {
        const notice = await onlyNotice({ jugement });
        expect(notice.judgment).toBeNull();
      }
    });

    it('keeps a judgment with a nature but no family, its missing texts as empty or null', async () => {
      const notice = await onlyNotice({
        jugement: '{"nature": "Jugement de conversion en liquidation judiciaire"}',
      });
      expect(notice.judgment).toEqual({
        family: '',
        nature: 'Jugement de conversion en liquidation judiciaire',
        date: null,
        complement: null,
      });
    });

    it('reads radiationaurcs in its three shapes and its comment', async () => {
      const read = async (radiationaurcs: unknown) =>
        (await onlyNotice({ familleavis: 'radiation', jugement: null, radiationaurcs })).radiation;
      expect(await read('{"radiationPM": "O"}')).toEqual({ ceasedOn: null, comment: null });
      expect(await read('{"dateCessationActivitePP": "2022-01-27"}')).toEqual({
        ceasedOn: '2022-01-27',
        comment: null,
      });
      expect(await read({ radiationPP: { dateCessationActivitePP: '27/01/2022' } })).toEqual({
        ceasedOn: '2022-01-27',
        comment: null,
      });
      expect(await read('{"radiationPM": "O", "commentaire": "Rapport de radiation d\'office"}')).toEqual({
        ceasedOn: null,
        comment: "Rapport de radiation d'office",
      });
      expect(await read('{"radiationPM": "N"}')).toBeNull();
      expect(await read('{"radiationPM": ')).toBeNull();
      expect(await read(null)).toBeNull();
    });

    it('builds previousNoticeId from parutionavisprecedent, string or object, number or text', async () => {
      const read = async (parutionavisprecedent: unknown) =>
        (await onlyNotice({ typeavis: 'rectificatif', parutionavisprecedent })).previousNoticeId;
      expect(
        await read('{"nomPublication": "BODACC A", "numeroParution": "20240062", "numeroAnnonce": "987"}'),
      ).toBe('A20240062987');
      expect(await read({ nomPublication: 'BODACC B', numeroParution: '20220227', numeroAnnonce: 446 })).toBe(
        'B20220227446',
      );
      expect(await read('{"nomPublication": "BODACC A", "numeroParution": "20240062"}')).toBeNull();
      expect(await read('not json')).toBeNull();
      expect(await read(null)).toBeNull();
    });
  });

  describe('dates', () => {
    const judgmentDate = async (date: unknown) =>
      (await onlyNotice({ jugement: judgmentJson({ date }) })).judgment?.date;

    it('normalises the three BODACC date formats to ISO', async () => {
      expect(await judgmentDate('2020-11-19')).toBe('2020-11-19');
      expect(await judgmentDate('27/11/2008')).toBe('2008-11-27');
      expect(await judgmentDate('10 décembre 2009')).toBe('2009-12-10');
    });

    it('reads the spelled-out variants: 1er, unaccented or capitalised months, one-digit days', async () => {
      expect(await judgmentDate('1er août 2019')).toBe('2019-08-01');
      expect(await judgmentDate('3 fevrier 2015')).toBe('2015-02-03');
      expect(await judgmentDate('29 Février 2016')).toBe('2016-02-29');
      expect(await judgmentDate('5/3/2012')).toBe('2012-03-05');
    });

    it('reads an unreadable or impossible date as null', async () => {
      for (const date of [
        '31/02/2020',
        '29 février 2015',
        '2020-13-01',
        'bientôt',
        '10 brumaire 2009',
        '',
        20201119,
      ]) {
        expect(await judgmentDate(date)).toBeNull();
      }
    });

    it('refuses a record whose publication date is unreadable', async () => {
      const server = await stub({ body: body(record({ dateparution: 'hier' })) });
      const answer = await registryFor(server).notices(ACME, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable(
          'bad_payload',
          'BODACC answered a body that could not be read: a record lacks its id, date, type or family',
        ),
      });
    });
  });

  describe('mojibake', () => {
    it('repairs UTF-8 read as Latin-1 in the tribunal, the judgment and its date', async () => {
      const notice = await onlyNotice({
        tribunal: 'Tribunal des ActivitÃ©s Ã\u0089conomiques de BÃ©ziers',
        jugement: judgmentJson({
          famille: 'Jugement de clÃ´ture',
          nature: "Jugement de clÃ´ture pour insuffisance d'actif",
          date: '10 dÃ©cembre 2009',
        }),
      });
      expect(notice.tribunal).toBe('Tribunal des Activités Économiques de Béziers');
      expect(notice.judgment).toMatchObject({
        family: 'Jugement de clôture',
        nature: "Jugement de clôture pour insuffisance d'actif",
        date: '2009-12-10',
      });
    });

    it('leaves correct accented text alone, and text that does not round-trip', async () => {
      const notice = await onlyNotice({
        tribunal: 'Tribunal de Béziers — clôture',
        jugement: judgmentJson({ famille: 'Ã la suite' }),
      });
      expect(notice.tribunal).toBe('Tribunal de Béziers — clôture');
      expect(notice.judgment?.family).toBe('Ã la suite');
    });
  });

  describe('record fields', () => {
    it('reads the notice type and family from their labels when the codes are missing', async () => {
      const notice = await onlyNotice({
        typeavis: null,
        typeavis_lib: 'Avis d’annulation',
        familleavis: undefined,
        familleavis_lib: 'Radiations',
      });
      expect(notice.type).toBe('annulation');
      expect(notice.family).toBe('radiation');
    });

    it('builds the id and the notice URL when the record lacks them', async () => {
      const notice = await onlyNotice({
        id: null,
        publicationavis: 'B',
        parution: '20220227',
        numeroannonce: 446,
        url_complete: null,
      });
      expect(notice.id).toBe('B20220227446');
      expect(notice.url).toBe(
        'https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:B20220227446',
      );
    });

    it('reads a blank tribunal as null', async () => {
      expect((await onlyNotice({ tribunal: '  ' })).tribunal).toBeNull();
    });

    it('refuses a record whose notice type cannot be told, rather than guess an annulation away', async () => {
      const server = await stub({ body: body(record({ typeavis: 'autre', typeavis_lib: null })) });
      const answer = await registryFor(server).notices(ACME, CALL);
      expect(answer.ok ? null : answer.error.reason).toBe('bad_payload');
    });
  });

  describe('outages', () => {
    it('reads 429 with Retry-After as rate limited', async () => {
      const server = await stub({ status: 429, headers: { 'retry-after': '120' }, body: '' });
      const answer = await registryFor(server).notices(ACME, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable('rate_limited', 'BODACC answered HTTP 429', {
          status: 429,
          retryAfterSeconds: 120,
        }),
      });
    });

    it('reads 429 with Retry-After as an HTTP date against the clock', async () => {
      const server = await stub({ status: 429, headers: { 'retry-after': 'Sun, 29 Nov 2026 09:01:30 GMT' } });
      const answer = await registryFor(server, createManualClock('2026-11-29T09:00:00.000Z')).notices(
        ACME,
        CALL,
      );
      expect(answer.ok ? null : answer.error.retryAfterSeconds).toBe(90);
    });

    it('reads 503 as an HTTP outage', async () => {
      const server = await stub({ status: 503, body: '<html>maintenance</html>' });
      const answer = await registryFor(server).notices(ACME, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable('http_status', 'BODACC answered HTTP 503', { status: 503 }),
      });
    });

    it('reads a 400 (a query the API refuses) as an HTTP outage, not as "no notice"', async () => {
      const server = await stub({ status: 400, body: { error_code: 'ODSQLError' } });
      const answer = await registryFor(server).notices(ACME, CALL);
      expect(answer.ok ? null : answer.error).toMatchObject({ reason: 'http_status', status: 400 });
    });

    it('reads a reply slower than timeoutMs as a timeout', async () => {
      const server = await stub({ body: body(), delayMs: 2_000 });
      const answer = await registryFor(server, createManualClock(), 100).notices(ACME, CALL);
      expect(answer).toEqual({ ok: false, error: unavailable('timeout', 'no answer within 100 ms') });
    });

    it('reads a body that is not JSON as a bad payload', async () => {
      const server = await stub({ body: '{"total_count": 1, "results": [' });
      const answer = await registryFor(server).notices(ACME, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable(
          'bad_payload',
          'BODACC answered a body that could not be read: no total_count and results',
        ),
      });
    });

    it('reads JSON of the wrong shape as a bad payload', async () => {
      for (const wrong of [
        { results: [] },
        { total_count: -1, results: [] },
        { total_count: 1, results: {} },
        [],
        '',
      ]) {
        const server = await stub({ body: wrong });
        const answer = await registryFor(server).notices(ACME, CALL);
        expect(answer.ok ? null : answer.error.reason).toBe('bad_payload');
      }
    });

    it('reads a record that is not an object as a bad payload', async () => {
      const server = await stub({ body: body('A202400010001') });
      const answer = await registryFor(server).notices(ACME, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable(
          'bad_payload',
          'BODACC answered a body that could not be read: a record is not an object',
        ),
      });
    });
  });
});
