import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';

/** The languages of the HTTP answers: error texts, pages and reports. */
export type Lang = 'fr' | 'en';

/**
 * What the server answers when it does not answer with a resource: RFC 9457 problem details
 * (`application/problem+json`) with a stable `code`. Codes are public API, listed in docs/errors.md. Titles and
 * details are in the request's language (fr or en); the code never changes with it.
 */
export type ProblemCode =
  | 'NOT_FOUND'
  | 'BAD_REQUEST'
  | 'VALIDATION_FAILED'
  | 'PDF_INVALID'
  | 'PDF_TOO_LARGE'
  | 'BODY_TOO_LARGE'
  | 'MEDIA_TYPE_UNSUPPORTED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'CSRF_TOKEN_INVALID'
  | 'CORS_ORIGIN_DENIED'
  | 'MISDIRECTED_REQUEST'
  | 'LOGIN_FAILED'
  | 'RATE_LIMITED'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

export interface Problem {
  readonly type: 'about:blank';
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail?: string;
  /** Schema violations: where (body/identifier, querystring/limit...) and what. */
  readonly errors?: readonly { readonly where: string; readonly message: string }[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

interface Wording {
  readonly title: string;
  readonly detail?: string;
}

/** Status and wording of every fixed problem. A body never carries what the request sent, a stack or an internal code. */
const FIXED: Readonly<
  Record<ProblemCode, { readonly status: number; readonly en: Wording; readonly fr: Wording }>
> = {
  NOT_FOUND: { status: 404, en: { title: 'Not Found' }, fr: { title: 'Introuvable' } },
  BAD_REQUEST: { status: 400, en: { title: 'Bad Request' }, fr: { title: 'Requête invalide' } },
  VALIDATION_FAILED: {
    status: 400,
    en: {
      title: 'Bad Request',
      detail: 'The request does not match the schema of this route (see /api/v1/openapi.json).',
    },
    fr: {
      title: 'Requête invalide',
      detail: 'La requête ne respecte pas le schéma de cette route (voir /api/v1/openapi.json).',
    },
  },
  PDF_INVALID: {
    status: 400,
    en: { title: 'Bad Request', detail: 'The body is not a PDF file: it must start with %PDF-.' },
    fr: {
      title: 'Requête invalide',
      detail: "Le corps n'est pas un fichier PDF : il doit commencer par %PDF-.",
    },
  },
  PDF_TOO_LARGE: {
    status: 413,
    en: { title: 'Content Too Large', detail: 'The file is larger than this server accepts for a check.' },
    fr: {
      title: 'Contenu trop volumineux',
      detail: 'Le fichier dépasse la taille acceptée pour une vérification.',
    },
  },
  BODY_TOO_LARGE: {
    status: 413,
    en: { title: 'Content Too Large', detail: 'The request body is larger than this route accepts.' },
    fr: {
      title: 'Contenu trop volumineux',
      detail: 'Le corps de la requête dépasse la taille acceptée par cette route.',
    },
  },
  MEDIA_TYPE_UNSUPPORTED: {
    status: 415,
    en: {
      title: 'Unsupported Media Type',
      detail: 'This route does not accept a body of this content type.',
    },
    fr: {
      title: 'Type de contenu non pris en charge',
      detail: "Cette route n'accepte pas ce type de contenu.",
    },
  },
  UNAUTHENTICATED: {
    status: 401,
    en: { title: 'Unauthorized', detail: 'Log in, or call with a DPoP-bound access token.' },
    fr: {
      title: 'Non authentifié',
      detail: "Connectez-vous, ou appelez avec un jeton d'accès lié par DPoP.",
    },
  },
  FORBIDDEN: {
    status: 403,
    en: { title: 'Forbidden', detail: 'Your role in this account does not allow this action.' },
    fr: { title: 'Interdit', detail: 'Votre rôle dans ce compte ne permet pas cette action.' },
  },
  CSRF_TOKEN_INVALID: {
    status: 403,
    en: {
      title: 'Forbidden',
      detail: 'Missing or wrong X-CSRF-Token header; get a fresh token from GET /api/v1/auth/csrf.',
    },
    fr: {
      title: 'Interdit',
      detail: 'En-tête X-CSRF-Token absent ou erroné ; obtenez-en un nouveau par GET /api/v1/auth/csrf.',
    },
  },
  CORS_ORIGIN_DENIED: {
    status: 403,
    en: { title: 'Forbidden', detail: 'This origin is not allowed to call the API from a browser.' },
    fr: {
      title: 'Interdit',
      detail: "Cette origine n'est pas autorisée à appeler l'API depuis un navigateur.",
    },
  },
  MISDIRECTED_REQUEST: {
    status: 421,
    en: { title: 'Misdirected Request', detail: 'This server does not answer for that host name.' },
    fr: { title: 'Requête mal dirigée', detail: 'Ce serveur ne répond pas pour ce nom d’hôte.' },
  },
  LOGIN_FAILED: {
    status: 400,
    en: {
      title: 'Bad Request',
      detail: 'The login could not be completed; start again from the login page.',
    },
    fr: {
      title: 'Requête invalide',
      detail: "La connexion n'a pas pu aboutir ; recommencez depuis la page de connexion.",
    },
  },
  RATE_LIMITED: {
    status: 429,
    en: {
      title: 'Too Many Requests',
      detail: 'Too many requests from this address; retry after the number of seconds in Retry-After.',
    },
    fr: {
      title: 'Trop de requêtes',
      detail:
        'Trop de requêtes depuis cette adresse ; réessayez après le nombre de secondes indiqué par Retry-After.',
    },
  },
  REQUEST_TIMEOUT: {
    status: 408,
    en: { title: 'Request Timeout' },
    fr: { title: 'Délai de requête dépassé' },
  },
  HEADERS_TOO_LARGE: {
    status: 431,
    en: { title: 'Request Header Fields Too Large' },
    fr: { title: 'En-têtes de requête trop volumineux' },
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    en: { title: 'Service Unavailable', detail: 'The service cannot answer right now; retry later.' },
    fr: {
      title: 'Service indisponible',
      detail: 'Le service ne peut pas répondre pour le moment ; réessayez plus tard.',
    },
  },
  INTERNAL: { status: 500, en: { title: 'Internal Server Error' }, fr: { title: 'Erreur interne' } },
};

const build = (code: ProblemCode, lang: Lang): Problem => {
  const { status } = FIXED[code];
  const wording = FIXED[code][lang];
  return {
    type: 'about:blank',
    title: wording.title,
    status,
    code,
    ...(wording.detail === undefined ? {} : { detail: wording.detail }),
  };
};

const CODES = Object.keys(FIXED) as ProblemCode[];

/** The English problems, by code. */
export const PROBLEMS: Readonly<Record<ProblemCode, Problem>> = Object.fromEntries(
  CODES.map((code) => [code, build(code, 'en')]),
) as Record<ProblemCode, Problem>;

const IN: Readonly<Record<Lang, Readonly<Record<ProblemCode, Problem>>>> = {
  en: PROBLEMS,
  fr: Object.fromEntries(CODES.map((code) => [code, build(code, 'fr')])) as Record<ProblemCode, Problem>,
};

/** A fixed problem in a language. */
export const problemIn = (code: ProblemCode, lang: Lang): Problem => IN[lang][code];

const serialized = (lang: Lang): Readonly<Record<ProblemCode, string>> =>
  Object.fromEntries(CODES.map((code) => [code, JSON.stringify(IN[lang][code])])) as Record<
    ProblemCode,
    string
  >;

const BODIES: Readonly<Record<Lang, Readonly<Record<ProblemCode, string>>>> = {
  en: serialized('en'),
  fr: serialized('fr'),
};

/** The serialized English bodies, made once: a fixed problem is always exactly these bytes. */
export const PROBLEM_BODIES: Readonly<Record<ProblemCode, string>> = BODIES.en;

/** A fixed problem's body in a language. */
export const problemBody = (code: ProblemCode, lang: Lang): string => BODIES[lang][code];

const TITLES: Readonly<Record<number, Readonly<Record<Lang, string>>>> = {
  400: { en: 'Bad Request', fr: 'Requête invalide' },
  403: { en: 'Forbidden', fr: 'Interdit' },
  404: { en: 'Not Found', fr: 'Introuvable' },
  409: { en: 'Conflict', fr: 'Conflit' },
  422: { en: 'Unprocessable Content', fr: 'Contenu non traitable' },
};

/**
 * The HTTP status of each expected failure a use case answers with (its code is passed through as the problem's
 * code, its message as the detail: use-case messages name what was wrong with the input, never an internal).
 */
export const USE_CASE_STATUS: Readonly<Record<string, number>> = {
  IDENTIFIER_EMPTY: 400,
  IDENTIFIER_UNRECOGNISED: 400,
  IDENTIFIER_BAD_CHECKSUM: 400,
  VAT_UNKNOWN_COUNTRY: 400,
  VAT_BAD_FORMAT: 400,
  VAT_KEY_MISMATCH: 400,
  VAT_SUBJECT_MISMATCH: 400,
  STATE_BAD_DATE: 400,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_IN_PROGRESS: 409,
  IDEMPOTENCY_KEY_INVALID: 400,
  ASSESSMENT_NOT_FOUND: 404,
  REPORT_NOT_FOUND: 404,
  REVOCATION_REASON_REQUIRED: 400,
  FORBIDDEN: 403,
  NOT_AN_AGENT_ACCOUNT: 403,
  EMAIL_INVALID: 400,
  NAME_INVALID: 400,
  MEMBER_EXISTS: 409,
  MEMBER_NOT_FOUND: 404,
  LAST_OWNER: 409,
  CLIENT_KEY_INVALID: 400,
  CLIENT_NOT_FOUND: 404,
  ACCOUNT_NOT_FOUND: 404,
  LOGIN_EMAIL_REQUIRED: 400,
  LOGIN_EMAIL_TAKEN: 409,
};

/** French details of use-case failures; the English one is the use case's own message. */
const FRENCH_DETAILS: Readonly<Record<string, string>> = {
  IDENTIFIER_EMPTY: 'Aucun identifiant fourni.',
  IDENTIFIER_UNRECOGNISED: 'Ni un SIREN (9 chiffres), ni un SIRET (14 chiffres), ni un numéro de TVA.',
  IDENTIFIER_BAD_CHECKSUM: 'La clé de contrôle du SIREN ou du SIRET est fausse.',
  VAT_UNKNOWN_COUNTRY: "Le préfixe de TVA n'est pas celui d'un État membre de VIES.",
  VAT_BAD_FORMAT: "Le numéro de TVA n'a pas le format de son État membre.",
  VAT_KEY_MISMATCH: 'La clé du numéro de TVA français ne correspond pas à son SIREN.',
  VAT_SUBJECT_MISMATCH: "Le numéro de TVA désigne une autre entreprise que l'identifiant.",
  STATE_BAD_DATE: "La date n'est ni une date ni un instant ISO.",
  IDEMPOTENCY_KEY_REUSED: "Cette clé d'idempotence a déjà servi pour une autre requête dans ce compte.",
  IDEMPOTENCY_IN_PROGRESS:
    "Une requête avec cette clé d'idempotence est en cours ; réessayez quand elle sera terminée.",
  IDEMPOTENCY_KEY_INVALID: "La clé d'idempotence doit faire 1 à 255 caractères imprimables.",
  ASSESSMENT_NOT_FOUND: 'Aucune évaluation avec cet identifiant dans ce compte.',
  REPORT_NOT_FOUND: 'Aucun rapport scellé avec cet identifiant dans ce compte.',
  REVOCATION_REASON_REQUIRED: 'Une révocation demande un motif de 1 à 500 caractères.',
  FORBIDDEN: 'Votre rôle dans ce compte ne permet pas cette action.',
  NOT_AN_AGENT_ACCOUNT:
    'Seul un compte agissant pour le compte de clients (ON_BEHALF) peut créer des comptes clients.',
  EMAIL_INVALID: "L'adresse électronique n'est pas valide.",
  NAME_INVALID: 'Le nom doit faire de 1 à 100 caractères.',
  MEMBER_EXISTS: 'Cette personne est déjà membre du compte.',
  MEMBER_NOT_FOUND: "Cette personne n'est pas membre du compte.",
  LAST_OWNER: 'Un compte garde toujours au moins un propriétaire.',
  CLIENT_KEY_INVALID:
    "La clé publique n'est pas acceptée : EC P-256, ou RSA de 2048 bits ou plus, sans partie privée.",
  CLIENT_NOT_FOUND: 'Aucun client API avec cet identifiant dans ce compte.',
  ACCOUNT_NOT_FOUND: 'Aucun compte avec cet identifiant.',
  LOGIN_EMAIL_REQUIRED: "Le fournisseur d'identité n'a pas donné d'adresse électronique.",
  LOGIN_EMAIL_TAKEN:
    "Cette adresse électronique appartient déjà à un autre utilisateur et le fournisseur ne l'a pas vérifiée.",
};

/** The problem for a use case's expected failure, in the request's language. */
export const useCaseProblem = (
  error: { readonly code: string; readonly message: string },
  lang: Lang,
): Problem => {
  const status = USE_CASE_STATUS[error.code] ?? 400;
  const title = TITLES[status]?.[lang] ?? TITLES[400]?.[lang] ?? 'Bad Request';
  const detail = lang === 'fr' ? (FRENCH_DETAILS[error.code] ?? error.message) : error.message;
  return { type: 'about:blank', title, status, code: error.code, detail };
};

const CODE = Symbol('problem code');

/** An error that carries the problem to answer with (thrown from hooks and stages). */
export type ProblemError = Error & {
  readonly [CODE]: ProblemCode;
  readonly statusCode: number;
  /** Response headers the problem comes with (Retry-After, WWW-Authenticate...). */
  readonly headers: Readonly<Record<string, string>>;
};

export const problemError = (
  code: ProblemCode,
  headers: Readonly<Record<string, string>> = {},
): ProblemError =>
  Object.assign(new Error(PROBLEMS[code].title), {
    [CODE]: code,
    statusCode: PROBLEMS[code].status,
    headers,
  });

export const isProblemError = (error: unknown): error is ProblemError =>
  error instanceof Error && CODE in error;

const fieldOf = (error: unknown, name: 'code' | 'statusCode'): unknown =>
  typeof error === 'object' && error !== null && name in error
    ? (error as Record<typeof name, unknown>)[name]
    : undefined;

/**
 * The problem an error is answered with. The framework's own request errors (an unsupported media type, a body
 * over the limit, a schema violation, a malformed request) keep their meaning; an infrastructure fault (the
 * database or the signer unreachable) is a 503; anything else is a bug, answered 500 and nothing more.
 */
export const problemOf = (error: unknown): ProblemCode => {
  if (isProblemError(error)) return error[CODE];
  if (error instanceof InfrastructureError) return 'SERVICE_UNAVAILABLE';
  switch (fieldOf(error, 'code')) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'MEDIA_TYPE_UNSUPPORTED';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'BODY_TOO_LARGE';
    case 'FST_ERR_VALIDATION':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'VALIDATION_FAILED';
    default:
      break;
  }
  const status = fieldOf(error, 'statusCode');
  if (typeof status !== 'number' || status < 400 || status >= 500) return 'INTERNAL';
  switch (status) {
    case 404:
      return 'NOT_FOUND';
    case 408:
      return 'REQUEST_TIMEOUT';
    case 413:
      return 'BODY_TOO_LARGE';
    case 415:
      return 'MEDIA_TYPE_UNSUPPORTED';
    case 429:
      return 'RATE_LIMITED';
    case 431:
      return 'HEADERS_TOO_LARGE';
    default:
      return 'BAD_REQUEST';
  }
};
