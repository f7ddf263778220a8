import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { err, ok, type Result } from '#app/domain/result.ts';
import { isVatCountry, VAT_FORMATS } from '#app/domain/identifiers/vat-formats.ts';
import type { Source } from './faults.ts';

/** An HTTP answer, ready to send. */
export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What the registry handlers read from a request. */
export interface RegistryRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export const INSEE_PATH = '/api-sirene/3.11';
export const RECHERCHE_PATH = '/search';
export const BODACC_RECORDS_PATH = '/api/explore/v2.1/catalog/datasets/annonces-commerciales/records';
export const VIES_PATH = '/taxation_customs/vies/rest-api';

/** Which registry a path belongs to, by the real APIs' path prefixes; null for any other path. */
export const sourceOf = (pathname: string): Source | null => {
  if (pathname === INSEE_PATH || pathname.startsWith(`${INSEE_PATH}/`)) return 'insee';
  if (pathname === RECHERCHE_PATH) return 'recherche';
  if (pathname.startsWith('/api/explore/v2.1/')) return 'bodacc';
  if (pathname === VIES_PATH || pathname.startsWith(`${VIES_PATH}/`)) return 'vies';
  return null;
};

export const json = (
  status: number,
  value: unknown,
  headers: Readonly<Record<string, string>> = {},
): Reply => ({
  status,
  headers,
  body: JSON.stringify(value),
});

const INSEE_MESSAGES: Readonly<Record<number, string>> = {
  400: 'Nombre incorrect de paramètres ou les paramètres sont mal formatés',
  401: "Jeton d'accès manquant ou invalide",
  403: 'Droits insuffisants pour consulter les données de cette unité',
  404: 'Aucun élément trouvé',
  405: 'Méthode non autorisée',
  429: "Quota d'interrogations de l'API dépassé",
  500: 'Erreur interne',
  503: 'Service indisponible',
};

const VIES_ERRORS: Readonly<Record<number, string>> = {
  400: 'INVALID_INPUT',
  429: 'GLOBAL_MAX_CONCURRENT_REQ',
  500: 'SERVICE_UNAVAILABLE',
  503: 'SERVICE_UNAVAILABLE',
};

/** The body a registry sends with an error status, in that registry's own error format. */
export const errorBody = (source: Source, status: number, message?: string): unknown => {
  switch (source) {
    case 'insee':
      return {
        header: { statut: status, message: message ?? INSEE_MESSAGES[status] ?? `Erreur HTTP ${status}` },
      };
    case 'recherche':
      return { erreur: message ?? (status === 429 ? 'Trop de requêtes.' : `Erreur HTTP ${status}`) };
    case 'bodacc':
      return {
        error_code: status === 429 ? 'TooManyRequests' : status >= 500 ? 'ServerError' : 'BadRequest',
        message: message ?? `HTTP error ${status}`,
      };
    case 'vies':
      return {
        actionSucceed: false,
        errorWrappers: [
          {
            error: VIES_ERRORS[status] ?? (status >= 500 ? 'SERVICE_UNAVAILABLE' : 'INVALID_INPUT'),
            ...(message === undefined ? {} : { message }),
          },
        ],
      };
  }
};

type Fixture =
  | { readonly kind: 'missing' }
  | { readonly kind: 'found'; readonly text: string; readonly value: unknown }
  | { readonly kind: 'broken'; readonly reply: Reply };

const broken = (file: string, problem: string): Fixture => ({
  kind: 'broken',
  reply: json(500, { error: `sandbox: fixture ${file} ${problem}` }),
});

/**
 * Reads a fixture file at request time, so a person can edit fixtures while the sandbox runs. Every caller has
 * checked the segments against a strict pattern (digits, letters) first: no request can name a path outside `dir`.
 */
const readFixture = async (dir: string, segments: readonly string[]): Promise<Fixture> => {
  const file = segments.join('/');
  let text: string;
  try {
    text = await readFile(join(dir, ...segments), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return broken(file, 'cannot be read');
  }
  try {
    return { kind: 'found', text, value: JSON.parse(text) as unknown };
  } catch (error) {
    return broken(file, `is not valid JSON (${error instanceof Error ? error.message : 'parse error'})`);
  }
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const field = (value: unknown, ...path: readonly string[]): unknown => {
  let current = value;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return current;
};

const methodNotAllowed = (source: Source): Reply => ({
  ...json(405, errorBody(source, 405, 'Only GET is served by the sandbox on this path.')),
  headers: { allow: 'GET, HEAD' },
});

/** Answers a request on one registry's paths from the fixtures in `dir`, as that registry would. */
export const answerRegistry = async (
  dir: string,
  source: Source,
  request: RegistryRequest,
): Promise<Reply> => {
  if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(source);
  switch (source) {
    case 'insee':
      return insee(dir, request);
    case 'recherche':
      return recherche(dir, request.url);
    case 'bodacc':
      return bodacc(dir, request.url);
    case 'vies':
      return vies(dir, request.url);
  }
};

// ------------------------------------------------------------------------------------------------ INSEE Sirene 3.11

const INSEE_ROUTE = /^\/(siren|siret)\/([^/]*)$/;

const insee = async (dir: string, { url, headers }: RegistryRequest): Promise<Reply> => {
  const key = headers['x-insee-api-key-integration'];
  if (typeof key !== 'string' || key.trim() === '') return json(401, errorBody('insee', 401));
  const route = INSEE_ROUTE.exec(url.pathname.slice(INSEE_PATH.length));
  if (route === null) return json(404, errorBody('insee', 404, `Ressource non trouvée : ${url.pathname}`));
  const kind = route[1] === 'siren' ? 'siren' : 'siret';
  const id = route[2] ?? '';
  const digits = kind === 'siren' ? 9 : 14;
  if (!new RegExp(`^\\d{${digits}}$`).test(id)) {
    return json(400, errorBody('insee', 400, `Le paramètre ${kind} doit comporter ${digits} chiffres`));
  }
  const fixture = await readFixture(dir, ['insee', kind, `${id}.json`]);
  if (fixture.kind === 'broken') return fixture.reply;
  if (fixture.kind === 'missing') {
    return json(404, errorBody('insee', 404, `Aucun élément trouvé pour le ${kind} ${id}`));
  }
  const file = `insee/${kind}/${id}.json`;
  const statut = field(fixture.value, 'header', 'statut');
  if (statut === undefined) return { status: 200, headers: {}, body: fixture.text };
  if (typeof statut !== 'number' || !Number.isInteger(statut) || statut < 200 || statut > 599) {
    return json(500, { error: `sandbox: fixture ${file} has a header.statut that is not an HTTP status` });
  }
  if (statut !== 301) return { status: statut, headers: {}, body: fixture.text };
  // A unit closed as a duplicate: INSEE redirects to the surviving unit, which the body names.
  const target =
    kind === 'siren'
      ? field(fixture.value, 'uniteLegale', 'siren')
      : field(fixture.value, 'etablissement', 'siret');
  if (typeof target !== 'string' || !new RegExp(`^\\d{${digits}}$`).test(target) || target === id) {
    const where = kind === 'siren' ? 'uniteLegale.siren' : 'etablissement.siret';
    return json(500, {
      error: `sandbox: fixture ${file} is a 301 whose ${where} does not name another ${kind}`,
    });
  }
  return {
    status: 301,
    headers: { location: `${INSEE_PATH}/${kind}/${target}${url.search}` },
    body: fixture.text,
  };
};

// ------------------------------------------------------------------------------------- API Recherche d'entreprises

const EMPTY_SEARCH = { results: [], total_results: 0, page: 1, per_page: 10, total_pages: 0 };

// Letters, digits, spaces and a few name characters: never a dot or a slash, so never a path.
const SAFE_QUERY = /^[\p{L}\p{N}][\p{L}\p{N} _'&-]{0,99}$/u;

const recherche = async (dir: string, url: URL): Promise<Reply> => {
  const q = url.searchParams.get('q')?.trim() ?? '';
  if (q === '')
    return json(400, errorBody('recherche', 400, 'Veuillez indiquer au moins un paramètre de recherche.'));
  if (!SAFE_QUERY.test(q)) return json(200, EMPTY_SEARCH);
  const fixture = await readFixture(dir, ['recherche', `${q}.json`]);
  if (fixture.kind === 'broken') return fixture.reply;
  if (fixture.kind === 'missing') return json(200, EMPTY_SEARCH);
  return { status: 200, headers: {}, body: fixture.text };
};

// ------------------------------------------------------------------------------ BODACC on Opendatasoft Explore v2.1

const MAX_LIMIT = 100;
const MAX_WINDOW = 10_000;
const DEFAULT_LIMIT = 10;

const WHERE_FORMS = [
  /\bregistre\s*(?:=|\blike\b)\s*(["'])\s*[*%]?([\d ]+?)[*%]?\s*\1/gi,
  /\bsearch\s*\(\s*registre\s*,\s*(["'])\s*[*%]?([\d ]+?)[*%]?\s*\1\s*\)/gi,
];

/**
 * The SIREN a BODACC records query selects: `registre="…"`, `registre like "…"` or `search(registre, "…")`, spaces
 * allowed in the number. Other clauses are ignored: the sandbox serves every notice of that SIREN.
 */
export const sirenFromWhere = (where: string): Result<string, string> => {
  const found = new Set<string>();
  for (const form of WHERE_FORMS) {
    for (const match of where.matchAll(form)) found.add((match[2] ?? '').replace(/ /g, ''));
  }
  const sirens = [...found];
  const [siren] = sirens;
  if (siren === undefined) {
    return err(
      'The sandbox answers records queries for one SIREN: where=registre="<siren>", registre like "<siren>" or search(registre, "<siren>").',
    );
  }
  if (sirens.length > 1)
    return err(`The where clause names several SIRENs (${sirens.join(', ')}); the sandbox serves one.`);
  if (!/^\d{9}$/.test(siren)) return err(`"${siren}" is not a SIREN (9 digits).`);
  return ok(siren);
};

const odsParameterError = (message: string): Reply =>
  json(400, { error_code: 'InvalidRESTParameterError', message });

const parseWhole = (raw: string | null, fallback: number): number | null => {
  if (raw === null || raw === '') return fallback;
  return /^-?\d{1,9}$/.test(raw.trim()) ? Number(raw.trim()) : null;
};

const byDate = (direction: 1 | -1) => (a: unknown, b: unknown) => {
  const da = field(a, 'dateparution');
  const db = field(b, 'dateparution');
  return direction * (typeof da === 'string' ? da : '').localeCompare(typeof db === 'string' ? db : '');
};

const bodacc = async (dir: string, url: URL): Promise<Reply> => {
  if (url.pathname !== BODACC_RECORDS_PATH) {
    return json(404, { error_code: 'NotFound', message: `The sandbox serves only ${BODACC_RECORDS_PATH}.` });
  }
  const limitParam = url.searchParams.get('limit');
  const requested = parseWhole(limitParam, DEFAULT_LIMIT);
  if (requested === null || requested < -1 || requested > MAX_LIMIT) {
    return odsParameterError(
      `Invalid value for limit API parameter: ${limitParam ?? ''} was found but -1 <= limit <= ${MAX_LIMIT} is expected.`,
    );
  }
  const limit = requested === -1 ? DEFAULT_LIMIT : requested;
  const offsetParam = url.searchParams.get('offset');
  const offset = parseWhole(offsetParam, 0);
  if (offset === null || offset < 0) {
    return odsParameterError(
      `Invalid value for offset API parameter: ${offsetParam ?? ''} was found but 0 <= offset is expected.`,
    );
  }
  if (offset + limit > MAX_WINDOW) {
    return odsParameterError(
      `Invalid value for offset API parameter: offset + limit must not exceed ${MAX_WINDOW}.`,
    );
  }
  const siren = sirenFromWhere(url.searchParams.get('where') ?? '');
  if (!siren.ok) return json(400, { error_code: 'ODSQLError', message: siren.error });
  const fixture = await readFixture(dir, ['bodacc', `${siren.value}.json`]);
  if (fixture.kind === 'broken') return fixture.reply;
  if (fixture.kind === 'missing') return json(200, { total_count: 0, results: [] });
  const results = field(fixture.value, 'results');
  if (!Array.isArray(results)) {
    return json(500, { error: `sandbox: fixture bodacc/${siren.value}.json has no "results" array` });
  }
  const totalCount = field(fixture.value, 'total_count');
  const order = /^\s*dateparution(?:\s+(asc|desc))?\s*$/i.exec(url.searchParams.get('order_by') ?? '');
  const records: readonly unknown[] = results;
  const ordered =
    order === null ? records : [...records].sort(byDate(order[1]?.toLowerCase() === 'desc' ? -1 : 1));
  return json(200, {
    total_count: typeof totalCount === 'number' ? totalCount : results.length,
    results: ordered.slice(offset, offset + limit),
  });
};

// ----------------------------------------------------------------------------------------------------- VIES REST

const VIES_ROUTE = /^\/ms\/([^/]+)\/vat\/([^/]+)$/;
// VIES also accepts dots; the sandbox does not, so a VAT number can never be a relative path.
const VIES_NUMBER = /^[0-9A-Z+*]{2,12}$/;

const VIES_APPROXIMATE = {
  name: '---',
  street: '---',
  postalCode: '---',
  city: '---',
  companyType: '---',
  matchName: 3,
  matchStreet: 3,
  matchPostalCode: 3,
  matchCity: 3,
  matchCompanyType: 3,
};

/** VIES's answer for a number no member state knows: HTTP 200, isValid false, userError INVALID. */
export const viesInvalid = (vatNumber: string, requestDate: Date): unknown => ({
  isValid: false,
  requestDate: requestDate.toISOString(),
  userError: 'INVALID',
  name: '---',
  address: '---',
  requestIdentifier: '',
  originalVatNumber: vatNumber,
  vatNumber,
  viesApproximate: VIES_APPROXIMATE,
});

const vies = async (dir: string, url: URL): Promise<Reply> => {
  const rest = url.pathname.slice(VIES_PATH.length);
  if (rest === '/check-status') {
    return json(200, {
      vow: { available: true },
      countries: Object.keys(VAT_FORMATS).map((countryCode) => ({ countryCode, availability: 'Available' })),
    });
  }
  const route = VIES_ROUTE.exec(rest);
  if (route === null) return json(404, errorBody('vies', 404, `The sandbox does not serve ${url.pathname}.`));
  const country = (route[1] ?? '').toUpperCase();
  const number = (route[2] ?? '').toUpperCase();
  if (!isVatCountry(country) || !VIES_NUMBER.test(number)) return json(400, errorBody('vies', 400));
  const fixture = await readFixture(dir, ['vies', `${country}${number}.json`]);
  if (fixture.kind === 'broken') return fixture.reply;
  if (fixture.kind === 'missing') return json(200, viesInvalid(number, new Date()));
  return { status: 200, headers: {}, body: fixture.text };
};
