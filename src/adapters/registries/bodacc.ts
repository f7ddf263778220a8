import { Buffer } from 'node:buffer';
import type { Clock } from '#app/application/ports/clock.ts';
import type { InsolvencyRegistry } from '#app/application/ports/insolvency-registry.ts';
import {
  unavailable,
  type RegistryCall,
  type RegistryUnavailable,
} from '#app/application/ports/registry-call.ts';
import type { BodaccJudgment, BodaccNotice, BodaccRadiation } from '#app/domain/facts.ts';
import type { Siren } from '#app/domain/identifiers/identifiers.ts';
import { err, ok, type Result } from '#app/domain/result.ts';
import { badPayload, request, statusUnavailable, type HttpClientOptions } from './http.ts';

/** The DILA's Opendatasoft portal. */
export const BODACC_BASE_URL = 'https://bodacc-datadila.opendatasoft.com';

const REGISTRY = 'BODACC';
const RECORDS_PATH = '/api/explore/v2.1/catalog/datasets/annonces-commerciales/records';
/** The records API's largest page. */
const PAGE_SIZE = 100;
/** The records API refuses offset + limit beyond this; only the bulk export goes further. */
const MAX_WINDOW = 10_000;

type Json = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0;

/**
 * Undoes UTF-8 text that was decoded as Latin-1 ("clÃ´ture" -> "clôture"), only when re-encoding it gives the
 * original back: correct text with accents is not valid UTF-8 once read as Latin-1 bytes, so it is left alone.
 */
const fixMojibake = (text: string): string => {
  if (!/[\u00c2-\u00f4]/.test(text)) return text;
  const bytes = Buffer.from(text, 'latin1');
  // Characters beyond Latin-1 cannot come from a Latin-1 misreading (and would not survive the bytes).
  if (bytes.toString('latin1') !== text) return text;
  const fixed = bytes.toString('utf8');
  if (fixed.includes('\ufffd') || Buffer.from(fixed, 'utf8').toString('latin1') !== text) return text;
  return fixed;
};

const text = (value: unknown): string | null => {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return null;
  const trimmed = fixMojibake(value).trim();
  return trimmed === '' ? null : trimmed;
};

/** A JSON-in-string field: a string holding JSON, or already an object; anything else or broken JSON is null. */
const embedded = (value: unknown): Json | null => {
  if (isObject(value)) return value;
  if (typeof value !== 'string') return null;
  try {
    const parsed = JSON.parse(value) as unknown;
    return isObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
};

const FRENCH_MONTHS: Readonly<Record<string, number>> = {
  janvier: 1,
  fevrier: 2,
  mars: 3,
  avril: 4,
  mai: 5,
  juin: 6,
  juillet: 7,
  aout: 8,
  septembre: 9,
  octobre: 10,
  novembre: 11,
  decembre: 12,
};

const isoDate = (year: number, month: number, day: number): string | null => {
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (year < 1800 || month < 1 || month > 12 || day < 1 || day > daysInMonth) return null;
  return `${String(year)}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
};

/** BODACC writes dates as "2020-11-19", "27/11/2008" or "10 décembre 2009"; anything unreadable is null. */
const bodaccDate = (value: unknown): string | null => {
  const raw = text(value);
  if (raw === null) return null;
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/.exec(raw);
  if (iso !== null) return isoDate(Number(iso[1]), Number(iso[2]), Number(iso[3]));
  const slashed = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(raw);
  if (slashed !== null) return isoDate(Number(slashed[3]), Number(slashed[2]), Number(slashed[1]));
  const spelled = /^(\d{1,2})(?:er)?\s+(\p{L}+)\s+(\d{4})$/u.exec(raw);
  if (spelled === null) return null;
  const monthName = (spelled[2] ?? '').normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  const month = FRENCH_MONTHS[monthName];
  return month === undefined ? null : isoDate(Number(spelled[3]), month, Number(spelled[1]));
};

const digits = (value: unknown): string | null =>
  typeof value === 'string' ? value.replace(/\D/g, '') : null;

/** `registre` is an array (v2.1) or a comma-joined string (v1), each SIREN spelt with and without spaces. */
const registreSirens = (value: unknown): readonly string[] => {
  const values = Array.isArray(value) ? value : [value];
  return values
    .filter((entry): entry is string => typeof entry === 'string')
    .flatMap((entry) => entry.split(','))
    .map((entry) => entry.replace(/\s/g, ''));
};

/** Artisans' notices may carry the SIREN only in listepersonnes (Répertoire des Métiers), not in `registre`. */
const personSirens = (value: unknown): readonly string[] => {
  const list = embedded(value);
  const people: unknown = list === null ? null : list['personne'];
  const entries: readonly unknown[] = Array.isArray(people) ? people : [people];
  return entries.filter(isObject).flatMap((person) => {
    const rcs = person['numeroImmatriculation'];
    const rm = person['inscriptionRM'];
    return [
      isObject(rcs) ? digits(rcs['numeroIdentification']) : null,
      isObject(rm) ? digits(rm['numeroIdentificationRM']) : null,
    ].filter((siren): siren is string => siren !== null);
  });
};

const concerns = (record: Json, siren: Siren): boolean =>
  registreSirens(record['registre']).includes(siren) ||
  personSirens(record['listepersonnes']).includes(siren);

const judgmentOf = (value: unknown): BodaccJudgment | null => {
  const judgment = embedded(value);
  if (judgment === null) return null;
  const family = text(judgment['famille']);
  const nature = text(judgment['nature']);
  if (family === null && nature === null) return null;
  return Object.freeze({
    family: family ?? '',
    nature: nature ?? '',
    date: bodaccDate(judgment['date']),
    complement: text(judgment['complementJugement']),
  });
};

const radiationOf = (value: unknown): BodaccRadiation | null => {
  const radiation = embedded(value);
  if (radiation === null) return null;
  const legacy = isObject(radiation['radiationPP']) ? radiation['radiationPP'] : null;
  const ceased = text(radiation['dateCessationActivitePP']) ?? text(legacy?.['dateCessationActivitePP']);
  const comment = text(radiation['commentaire']);
  const radiatedPM = text(radiation['radiationPM'])?.toUpperCase() === 'O';
  if (!radiatedPM && ceased === null && legacy === null && comment === null) return null;
  return Object.freeze({ ceasedOn: bodaccDate(ceased), comment });
};

/** The cancelled or corrected notice's id: last letter of "BODACC A" + parution number + notice number. */
const previousNoticeIdOf = (value: unknown): string | null => {
  const previous = embedded(value);
  if (previous === null) return null;
  const letter = /([A-Za-z])\s*$/.exec(text(previous['nomPublication']) ?? '')?.[1];
  const parution = text(previous['numeroParution']);
  const number = text(previous['numeroAnnonce']);
  if (letter === undefined || parution === null || number === null) return null;
  return `${letter.toUpperCase()}${parution}${number}`;
};

const NOTICE_TYPES: Readonly<Record<string, BodaccNotice['type']>> = {
  annonce: 'annonce',
  rectificatif: 'rectificatif',
  annulation: 'annulation',
};

const typeOf = (record: Json): BodaccNotice['type'] | null => {
  const code = text(record['typeavis'])?.toLowerCase();
  if (code !== undefined && code in NOTICE_TYPES) return NOTICE_TYPES[code] ?? null;
  const label = text(record['typeavis_lib'])?.toLowerCase() ?? '';
  if (label.includes('rectificatif')) return 'rectificatif';
  if (label.includes('annulation')) return 'annulation';
  if (label.includes('initial')) return 'annonce';
  return null;
};

const FAMILY_CODES: Readonly<Record<string, string>> = {
  'procédures collectives': 'collective',
  'ventes et cessions': 'vente',
  immatriculations: 'immatriculation',
  créations: 'creation',
  "créations d'établissement": 'creation',
  'procédures de conciliation': 'conciliation',
  'procédures de rétablissement professionnel': 'retablissement_professionnel',
  'modifications diverses': 'modification',
  radiations: 'radiation',
  'dépôts des comptes': 'dpc',
  'annonces diverses': 'divers',
};

const familyOf = (record: Json): string | null => {
  const code = text(record['familleavis']);
  if (code !== null) return code;
  const label = text(record['familleavis_lib'])?.toLowerCase();
  return label === undefined ? null : (FAMILY_CODES[label] ?? null);
};

const idFromParts = (record: Json): string | null => {
  const parts = [record['publicationavis'], record['parution'], record['numeroannonce']].map(text);
  return parts.every((part) => part !== null) ? parts.join('') : null;
};

/**
 * One record as a notice. A record without the fields every reading depends on (id, publication date, notice
 * type and family) is unreadable: guessing them could turn an annulation into a judgment.
 */
const noticeOf = (record: Json): BodaccNotice | null => {
  const id = text(record['id']) ?? idFromParts(record);
  const publishedOn = bodaccDate(record['dateparution']);
  const type = typeOf(record);
  const family = familyOf(record);
  if (id === null || publishedOn === null || type === null || family === null) return null;
  return Object.freeze({
    id,
    publishedOn,
    type,
    family,
    tribunal: text(record['tribunal']),
    url:
      text(record['url_complete']) ??
      `https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:${id}`,
    judgment: judgmentOf(record['jugement']),
    radiation: radiationOf(record['radiationaurcs']),
    previousNoticeId: previousNoticeIdOf(record['parutionavisprecedent']),
  });
};

const pageUrl = (baseUrl: string, siren: Siren, offset: number): string => {
  const query: Readonly<Record<string, string>> = {
    where: `registre="${siren}"`,
    order_by: 'dateparution desc',
    limit: String(PAGE_SIZE),
    offset: String(offset),
  };
  const encoded = Object.entries(query).map(([name, value]) => `${name}=${encodeURIComponent(value)}`);
  return `${baseUrl}${RECORDS_PATH}?${encoded.join('&')}`;
};

interface Page {
  readonly totalCount: number;
  readonly records: readonly unknown[];
}

const fetchPage = async (
  deps: { readonly clock: Clock },
  options: HttpClientOptions,
  url: string,
  call: RegistryCall,
): Promise<Result<Page, RegistryUnavailable>> => {
  const reply = await request(options, { url, correlationId: call.correlationId });
  if (!reply.ok) return reply;
  if (reply.value.status !== 200) {
    return err(statusUnavailable(REGISTRY, reply.value, deps.clock.now().getTime()));
  }
  const body = reply.value.json;
  if (!isObject(body) || !isCount(body['total_count']) || !Array.isArray(body['results'])) {
    return err(badPayload(REGISTRY, 'no total_count and results'));
  }
  return ok({ totalCount: body['total_count'], records: body['results'] as readonly unknown[] });
};

/**
 * BODACC over the Opendatasoft Explore v2.1 records API. Guarantees: every page is read (a failed, short or
 * shifting page makes the whole answer unavailable, as does a SIREN with more notices than the API can page
 * through); only records naming the SIREN (in `registre` or `listepersonnes`) are kept, once each, in the API's
 * order (newest publication first); JSON-in-string fields that cannot be read become null rather than failing.
 */
export const createBodaccInsolvencyRegistry = (
  deps: { readonly clock: Clock },
  options: HttpClientOptions,
): InsolvencyRegistry => ({
  notices: async (siren, call) => {
    const sourceUrl = pageUrl(options.baseUrl, siren, 0);
    const notices = new Map<string, BodaccNotice>();
    let totalCount: number | null = null;
    for (let offset = 0; totalCount === null || offset < totalCount; offset += PAGE_SIZE) {
      const page = await fetchPage(
        deps,
        options,
        offset === 0 ? sourceUrl : pageUrl(options.baseUrl, siren, offset),
        call,
      );
      if (!page.ok) return page;
      if (totalCount === null) {
        totalCount = page.value.totalCount;
        if (totalCount > MAX_WINDOW) {
          const detail = `${REGISTRY} lists ${totalCount} notices for this SIREN, more than the ${MAX_WINDOW} its records API can page through`;
          return err(unavailable('service_error', detail));
        }
      } else if (page.value.totalCount !== totalCount) {
        return err(unavailable('service_error', `${REGISTRY} changed its result count while paging`));
      }
      if (page.value.records.length < Math.min(PAGE_SIZE, totalCount - offset)) {
        return err(unavailable('service_error', `${REGISTRY} answered a short page at offset ${offset}`));
      }
      for (const record of page.value.records) {
        if (!isObject(record)) return err(badPayload(REGISTRY, 'a record is not an object'));
        if (!concerns(record, siren)) continue;
        const notice = noticeOf(record);
        if (notice === null) return err(badPayload(REGISTRY, 'a record lacks its id, date, type or family'));
        if (!notices.has(notice.id)) notices.set(notice.id, notice);
      }
    }
    return ok(Object.freeze({ siren, notices: Object.freeze([...notices.values()]), sourceUrl }));
  },
});
